"""ember.utils.data.datapipes, graph and graph_settings against torch's."""

import warnings

import pytest
import torch.utils.data.datapipes.iter as titer
import torch.utils.data.datapipes.map as tmap
from torch.utils.data import DataLoader as TLoader
from torch.utils.data import graph as tgraph
from torch.utils.data import graph_settings as tsettings

import ember
import ember.utils.data.datapipes.iter as eiter
import ember.utils.data.datapipes.map as emap
from ember.utils.data import DataLoader as ELoader
from ember.utils.data import graph as egraph
from ember.utils.data import graph_settings as esettings

warnings.filterwarnings("ignore", message=".*DataPipe.*deprecat", category=UserWarning)


def _plain(value):
    """Pipe output as plain Python values (DataChunk -> list, tensors -> lists)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value) if isinstance(value, tuple) \
            else [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _both(build):
    """Build the same pipeline with torch's and ember's modules; return both outputs."""
    return [_plain(list(build(mod))) for mod in (titer, eiter)]


ITER_CASES = {
    "map": lambda m: m.IterableWrapper(range(7)).map(lambda x: x * 3),
    "map_col": lambda m: m.IterableWrapper([(1, 2), (3, 4)]).map(lambda x: -x, input_col=1),
    "map_cols": lambda m: m.IterableWrapper([[1, 2, 3]]).map(
        lambda a, b: a + b, input_col=[0, 2], output_col=-1),
    "map_dict": lambda m: m.IterableWrapper([{"a": 1}]).map(
        lambda v: v + 1, input_col="a", output_col="b"),
    "filter": lambda m: m.IterableWrapper(range(10)).filter(lambda x: x % 3 == 0),
    "filter_col": lambda m: m.IterableWrapper([(1, 0), (2, 1)]).filter(bool, input_col=1),
    "batch": lambda m: m.IterableWrapper(range(10)).batch(4),
    "batch_drop": lambda m: m.IterableWrapper(range(10)).batch(4, drop_last=True),
    "unbatch": lambda m: m.IterableWrapper([[[0, 1], [2]], [[3]]]).unbatch(),
    "unbatch_all": lambda m: m.IterableWrapper([[[0, 1], [2]], [[3]]]).unbatch(-1),
    "collate": lambda m: m.IterableWrapper(range(6)).batch(3).collate(),
    "collate_fn": lambda m: m.IterableWrapper(range(6)).batch(3).collate(collate_fn=sum),
    "zip": lambda m: m.IterableWrapper(range(5)).zip(m.IterableWrapper("abc")),
    "concat": lambda m: m.IterableWrapper(range(3)).concat(m.IterableWrapper(range(9, 11))),
    "mux": lambda m: m.IterableWrapper(range(3)).mux(m.IterableWrapper(range(10, 15)),
                                                    m.IterableWrapper(range(20, 24))),
    "groupby": lambda m: m.IterableWrapper(range(20)).groupby(lambda x: x % 3),
    "groupby_size": lambda m: m.IterableWrapper(range(20)).groupby(
        lambda x: x % 3, group_size=3, keep_key=True),
    "groupby_evict": lambda m: m.IterableWrapper(range(20)).groupby(
        lambda x: x % 4, buffer_size=5, keep_key=True),
    "groupby_guaranteed": lambda m: m.IterableWrapper(range(20)).groupby(
        lambda x: x % 4, buffer_size=6, group_size=3, guaranteed_group_size=2,
        drop_remaining=True),
    "shuffle_seed": lambda m: m.IterableWrapper(range(30)).shuffle(buffer_size=7).set_seed(3),
    "shuffle_unbatch": lambda m: m.IterableWrapper([[0, 1], [2, 3, 4]]).shuffle(
        unbatch_level=1).set_seed(5),
    "shuffle_off": lambda m: m.IterableWrapper(range(9)).shuffle().set_shuffle(False),
    "sharding": lambda m: _sharded(m.IterableWrapper(range(11)).sharding_filter(), 3, 1),
}


def _sharded(pipe, n, i):
    pipe.apply_sharding(n, i)
    return pipe


@pytest.mark.parametrize("name", list(ITER_CASES))
def test_iter_pipes_match_torch(name):
    t_out, e_out = _both(ITER_CASES[name])
    assert e_out == t_out


def test_batches_are_datachunks_and_lengths_match():
    for build in ("batch", "batch_drop", "map", "zip", "concat", "mux", "sharding"):
        t_pipe, e_pipe = ITER_CASES[build](titer), ITER_CASES[build](eiter)
        assert len(e_pipe) == len(t_pipe), build
    e_batch = next(iter(eiter.IterableWrapper(range(3)).batch(2)))
    assert type(e_batch).__name__ == "DataChunk" and isinstance(e_batch, list)
    for mod in (titer, eiter):
        with pytest.raises(TypeError, match="IterableWrapperIterDataPipe instance doesn't "
                                            "have valid length"):
            len(mod.IterableWrapper(iter([1])).map(str))


def test_fork_and_demux_match_torch():
    for mod_name in ("fork", "demux"):
        outs = []
        for mod in (titer, eiter):
            source = mod.IterableWrapper(range(9))
            if mod_name == "fork":
                children = source.fork(3)
            else:
                children = source.demux(3, lambda x: x % 3 if x != 4 else None, drop_none=True)
            outs.append([list(child) for child in children])
        assert outs[0] == outs[1]
    single = eiter.IterableWrapper(range(3))
    assert single.fork(1) is single
    # interleaved reading of two children, and a second epoch
    a, b = eiter.IterableWrapper(range(4)).fork(2)
    assert list(zip(a, b)) == [(i, i) for i in range(4)]
    assert list(a) == list(b) == [0, 1, 2, 3]


@pytest.mark.parametrize("case", ["fork_buffer", "demux_buffer", "demux_class", "num"])
def test_fork_demux_errors_match_torch(case):
    errors = []
    for mod in (titer, eiter):
        source = mod.IterableWrapper(range(10))
        with pytest.raises(Exception) as err:
            if case == "fork_buffer":
                list(source.fork(2, buffer_size=3)[0])
            elif case == "demux_buffer":
                list(source.demux(2, lambda x: x % 2, buffer_size=2)[0])
            elif case == "demux_class":
                list(source.demux(2, lambda x: 5)[0])
            else:
                source.fork(0)
        errors.append((type(err.value), str(err.value)))
    assert errors[0] == errors[1]


def test_error_paths_match_torch():
    cases = [
        lambda m: list(m.IterableWrapper(range(3)).filter(lambda x: x)),
        lambda m: list(m.IterableWrapper([1, 2]).unbatch(2)),
        lambda m: list(m.IterableWrapper([[1]]).unbatch(-2)),
        lambda m: m.IterableWrapper(range(3)).batch(0),
        lambda m: m.IterableWrapper(range(3)).map(str, output_col=1),
        lambda m: m.IterableWrapper(range(3)).shuffle(buffer_size=0),
        lambda m: m.IterableWrapper(range(3)).groupby(len, group_size=5, buffer_size=2),
        lambda m: list(m.IterableWrapper(range(8)).groupby(
            lambda x: x % 4, buffer_size=3, group_size=3, guaranteed_group_size=2)),
        lambda m: m.IterableWrapper(range(3)).sharding_filter().apply_sharding(2, 2),
        lambda m: m.IterableWrapper(range(3)).no_such_function,
    ]
    for case in cases:
        errors = []
        for mod in (titer, eiter):
            with pytest.raises(Exception) as err:
                case(mod)
            errors.append((type(err.value), str(err.value.args[0])))
        assert errors[0][0] is errors[1][0]
        # torch's iterator hook appends "This exception is thrown by __iter__ of ..." and
        # its filter error splits its text over two arguments: ember's starts with torch's
        torch_text = errors[0][1].split("\nThis exception is thrown")[0]
        assert errors[1][1].startswith(torch_text), (errors[0][1], errors[1][1])


def test_map_pipes_match_torch():
    builds = [
        lambda m: m.SequenceWrapper(list(range(7))).map(lambda x: x + 1),
        lambda m: m.SequenceWrapper(list(range(7))).batch(3),
        lambda m: m.SequenceWrapper(list(range(7))).batch(3, drop_last=True),
        lambda m: m.SequenceWrapper([1, 2]).concat(m.SequenceWrapper([5, 6, 7])),
        lambda m: m.SequenceWrapper([1, 2, 3]).zip(m.SequenceWrapper("ab")),
    ]
    for build in builds:
        t_pipe, e_pipe = build(tmap), build(emap)
        assert len(e_pipe) == len(t_pipe)
        assert [_plain(e_pipe[i]) for i in range(len(e_pipe))] == \
            [_plain(t_pipe[i]) for i in range(len(t_pipe))]
    t_sh = tmap.SequenceWrapper(list(range(12))).shuffle().set_seed(11)
    e_sh = emap.SequenceWrapper(list(range(12))).shuffle().set_seed(11)
    assert list(e_sh) == list(t_sh)
    assert isinstance(e_sh, ember.utils.data.IterDataPipe)
    for mod in (tmap, emap):
        with pytest.raises(IndexError, match="Index 3 is out of bound."):
            mod.SequenceWrapper([1, 2]).batch(2)[3]
        with pytest.raises(IndexError, match="Index 9 is out of range."):
            mod.SequenceWrapper([1, 2]).concat(mod.SequenceWrapper([3]))[9]


def test_sources_are_deep_copied():
    data = [[1], [2]]
    list(eiter.IterableWrapper(data).map(lambda x: x.append(0)))
    emap.SequenceWrapper(data).map(lambda x: x.append(0))[0]
    assert data == [[1], [2]]
    list(eiter.IterableWrapper(data, deepcopy=False).map(lambda x: x.append(0)))
    assert data == [[1, 0], [2, 0]]


def test_functional_datapipe_registers_a_name():
    @ember.utils.data.functional_datapipe("ember_test_repeat_each")
    class RepeatEach(ember.utils.data.IterDataPipe):
        def __init__(self, source, times):
            self.source, self.times = source, times

        def __iter__(self):
            for item in self.source:
                for _ in range(self.times):
                    yield item

    try:
        pipe = eiter.IterableWrapper(range(3)).ember_test_repeat_each(2)
        assert isinstance(pipe, RepeatEach) and list(pipe) == [0, 0, 1, 1, 2, 2]
        with pytest.raises(Exception, match="ember_test_repeat_each as it is already taken"):
            ember.utils.data.functional_datapipe("ember_test_repeat_each")(RepeatEach)
    finally:
        ember.utils.data.IterDataPipe.functions.pop("ember_test_repeat_each")
    with pytest.raises(TypeError):
        ember.utils.data.functional_datapipe("x")(object)


def _shape(graph):
    """A traverse_dps graph as nested (class name, [inputs]) tuples."""
    return [(type(dp).__name__, _shape(sub)) for dp, sub in graph.values()]


def test_traverse_dps_matches_torch():
    def build(m):
        source = m.IterableWrapper(range(6))
        left, right = source.fork(2)
        return left.map(str).zip(right.filter(bool)).shuffle().sharding_filter()

    t_shape = _shape(tgraph.traverse_dps(build(titer)))
    e_shape = _shape(egraph.traverse_dps(build(eiter)))
    assert e_shape == t_shape
    t_all = tsettings.get_all_graph_pipes(tgraph.traverse_dps(build(titer)))
    e_all = esettings.get_all_graph_pipes(egraph.traverse_dps(build(eiter)))
    assert [type(p).__name__ for p in e_all] == [type(p).__name__ for p in t_all]


def test_apply_sharding_and_shuffle_settings_match_torch():
    outs = []
    for mod, settings in ((titer, tsettings), (eiter, esettings)):
        pipe = mod.IterableWrapper(range(10)).shuffle().sharding_filter()
        settings.apply_sharding(pipe, 3, 2)
        settings.apply_shuffle_settings(pipe, shuffle=False)
        outs.append(list(pipe))
        twice = mod.IterableWrapper(range(4)).sharding_filter().sharding_filter()
        with pytest.raises(RuntimeError, match="Sharding twice on a single pipeline"):
            settings.apply_sharding(twice, 2, 0)
        with pytest.warns(UserWarning, match="does not contain a `Shuffler`"):
            added = settings.apply_shuffle_settings(mod.IterableWrapper(range(3)), shuffle=True)
        assert type(added).__name__ == "ShufflerIterDataPipe"
    assert outs[0] == outs[1] == [2, 5, 8]


def test_apply_random_seed_is_repeatable():
    def run(seed):
        pipe = eiter.IterableWrapper(range(20)).shuffle()
        esettings.apply_random_seed(pipe, ember.Generator().manual_seed(seed))
        return list(pipe)

    assert run(1) == run(1) != run(2)
    assert sorted(run(3)) == list(range(20))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_dataloader_sharding_and_shuffle_flag_match_torch(num_workers):
    outs = []
    for mod, loader in ((titer, TLoader), (eiter, ELoader)):
        pipe = mod.IterableWrapper(range(10)).shuffle().sharding_filter().map(lambda x: x * 2)
        batches = loader(pipe, batch_size=3, shuffle=False, num_workers=num_workers)
        outs.append([_plain(b) for b in batches])
    assert outs[0] == outs[1]


def test_dataloader_shuffle_true_shuffles_repeatably():
    pipe = eiter.IterableWrapper(range(16)).shuffle().sharding_filter()
    ember.manual_seed(0)
    first = [int(x) for x in ELoader(pipe, batch_size=None, shuffle=True)]
    ember.manual_seed(0)
    again = [int(x) for x in ELoader(pipe, batch_size=None, shuffle=True)]
    assert first == again and sorted(first) == list(range(16)) and first != list(range(16))
    # an epoch draws a new seed
    loader = ELoader(pipe, batch_size=None, shuffle=True)
    assert [int(x) for x in loader] != [int(x) for x in loader]
    with pytest.warns(UserWarning, match="does not contain a `Shuffler`"):
        ELoader(eiter.IterableWrapper(range(3)), shuffle=True)
    class Plain(ember.utils.data.IterableDataset):
        def __iter__(self):
            yield from range(3)

    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        ELoader(Plain(), shuffle=True)


def test_map_datapipe_with_dataloader_matches_torch():
    outs = []
    for mod, loader in ((tmap, TLoader), (emap, ELoader)):
        pipe = mod.SequenceWrapper(list(range(7))).map(lambda x: x * 10)
        outs.append([_plain(b) for b in loader(pipe, batch_size=3)])
    assert outs[0] == outs[1]


def test_torchdata_pipes_against_python():
    """header/enumerate/in_batch_shuffle are torchdata's (torch 2.13 has no oracle)."""
    import itertools
    import random

    source = eiter.IterableWrapper(range(12))
    assert list(source.header(5)) == list(itertools.islice(range(12), 5))
    assert len(source.header(5)) == 5 and len(source.header(50)) == 12
    assert list(source.header(None)) == list(range(12))
    with pytest.warns(UserWarning, match="inferred to be equal to its limit"):
        assert len(eiter.IterableWrapper(iter(range(3))).header(7)) == 7
    assert list(source.enumerate(3)) == list(enumerate(range(12), 3))
    assert len(source.enumerate()) == 12
    batches = source.batch(4).in_batch_shuffle().set_seed(9)
    rng = random.Random(9)
    expected = [rng.sample(list(range(i, i + 4)), 4) for i in range(0, 12, 4)]
    got = list(batches)
    assert got == expected and all(type(b).__name__ == "DataChunk" for b in got)
    assert list(source.batch(4).in_batch_shuffle().set_shuffle(False)) == \
        [list(range(i, i + 4)) for i in range(0, 12, 4)]
    # the DataLoader's shuffle flag reaches it as a shuffler
    pipe = source.batch(4).in_batch_shuffle()
    assert [_plain(b) for b in ELoader(pipe, batch_size=None, shuffle=False)] == \
        [list(range(i, i + 4)) for i in range(0, 12, 4)]
