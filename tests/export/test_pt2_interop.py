"""ember.export.save/load and PyTorch's .pt2 archives (torch 2.13): programs exported and
saved by torch run in ember as they run in torch, programs saved by ember load and run in
torch, the archive API (pt2_archive, package_pt2/load_pt2), extra files, the old ember
format, and the errors naming an op neither side can express. Every archive is written
at test time in tmp_path."""

import io
import json
import math
import zipfile

import numpy as np
import pytest
import torch

import ember
from ember.export.pt2_archive import PT2ArchiveReader, is_pt2_package
from ember.export.pt2_archive._package import load_pt2, package_pt2


# -- the programs, written once for both libraries -------------------------------------------

def _mlp(lib):
    nn = lib.nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1, self.l2 = nn.Linear(4, 8), nn.Linear(8, 3)

        def forward(self, x):
            return self.l2(lib.relu(self.l1(x)))

    return MLP().eval()


def _cnn(lib, train=False):
    nn = lib.nn

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(64, 5)

        def forward(self, x):
            return self.fc(lib.flatten(self.pool(lib.relu(self.bn(self.conv(x)))), 1))

    return CNN().train(train)


def _kwargs_model(lib):
    class Scaled(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(4, 4)

        def forward(self, x, *, scale=None, shift=None):
            return self.lin(x) * scale + shift

    return Scaled()


def _nested(lib):
    class Nested(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(4, 4)
            self.register_buffer("offset", lib.ones(4), persistent=False)

        def forward(self, x):
            y = self.lin(x)
            return {"y": y, "pair": (y.sum(1), [x + self.offset, lib.tensor([1.0, 2.0]) * 2])}

    return Nested()


def _encoder(lib):
    return lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).eval()


def _arrays(*shapes):
    rng = np.random.default_rng(7)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


# name -> (model factory, positional input shapes, keyword input shapes, dynamic batch)
CASES = {
    "mlp": (_mlp, [(2, 4)], {}, False),
    "cnn": (_cnn, [(2, 3, 8, 8)], {}, False),
    "bn_train": (lambda lib: _cnn(lib, train=True), [(2, 3, 8, 8)], {}, False),
    "encoder": (_encoder, [(2, 5, 8)], {}, False),
    "dynamic_batch": (_mlp, [(3, 4)], {}, True),
    "kwargs": (_kwargs_model, [(2, 4)], {"scale": (4,), "shift": (2, 4)}, False),
    "nested": (_nested, [(2, 4)], {}, False),
}


def _inputs(lib, case, batch=None):
    _, shapes, kw_shapes, _ = CASES[case]
    if batch is not None:
        shapes = [(batch, *shapes[0][1:])]
    arrays = _arrays(*shapes, *kw_shapes.values())
    args = tuple(lib.tensor(a) for a in arrays[:len(shapes)])
    kwargs = {k: lib.tensor(a) for k, a in zip(kw_shapes, arrays[len(shapes):])}
    return args, kwargs


def _export(lib, case):
    factory, _, _, dynamic = CASES[case]
    args, kwargs = _inputs(lib, case)
    dims = ({0: lib.export.Dim("batch", min=1, max=64)},) if dynamic else None
    return lib.export.export(factory(lib), args, kwargs, dynamic_shapes=dims)


def _assert_same(ember_result, torch_result):
    got = ember.utils._pytree.tree_flatten(ember_result)
    want = torch.utils._pytree.tree_flatten(torch_result)
    assert len(got[0]) == len(want[0])
    assert ember.utils._pytree.treespec_dumps(got[1]) == \
        torch.utils._pytree.treespec_dumps(want[1])
    for g, w in zip(got[0], want[0]):
        assert str(g.dtype) == str(w.dtype)
        torch.testing.assert_close(torch.from_numpy(g.detach().numpy().copy()), w.detach())


def _torch_file(tmp_path, case, decompose=False):
    program = _export(torch, case)
    if decompose:
        program = program.run_decompositions()
    path = tmp_path / f"{case}.pt2"
    torch.export.save(program, path)
    return program, path


# -- torch writes, ember reads ----------------------------------------------------------------

@pytest.mark.parametrize("case", list(CASES))
def test_torch_program_runs_in_ember(case, tmp_path):
    t_ep, path = _torch_file(tmp_path, case)
    e_ep = ember.export.load(path)
    assert str(e_ep.graph_signature) == str(t_ep.graph_signature)
    assert list(e_ep.state_dict) == list(t_ep.state_dict)
    for key, value in t_ep.state_dict.items():
        np.testing.assert_array_equal(e_ep.state_dict[key].detach().numpy(),
                                      value.detach().numpy())
        assert isinstance(e_ep.state_dict[key], ember.nn.Parameter) == \
            isinstance(value, torch.nn.Parameter)
    assert sorted(e_ep.constants) == sorted(t_ep.constants)
    t_module, e_module = t_ep.module(), e_ep.module()
    t_args, t_kwargs = _inputs(torch, case)
    e_args, e_kwargs = _inputs(ember, case)
    _assert_same(e_module(*e_args, **e_kwargs), t_module(*t_args, **t_kwargs))
    t_buffers, e_buffers = dict(t_module.named_buffers()), dict(e_module.named_buffers())
    assert sorted(e_buffers) == sorted(t_buffers)
    for key, value in t_buffers.items():  # BatchNorm in training updates its buffers
        torch.testing.assert_close(torch.from_numpy(e_buffers[key].numpy().copy()), value)


def test_torch_decomposed_program_runs_in_ember(tmp_path):
    """Core ATen IR: convolution, _native_batch_norm_legit_functional with its buffer
    mutations written back, max_pool2d_with_indices, addmm."""
    case = "bn_train"
    t_ep, path = _torch_file(tmp_path, case, decompose=True)
    e_ep = ember.export.load(path)
    assert str(e_ep.graph_signature) == str(t_ep.graph_signature)
    t_module, e_module = t_ep.module(), e_ep.module()
    _assert_same(e_module(*_inputs(ember, case)[0]), t_module(*_inputs(torch, case)[0]))
    for key, value in t_module.named_buffers():
        torch.testing.assert_close(
            torch.from_numpy(dict(e_module.named_buffers())[key].numpy().copy()), value)


def test_dynamic_batch_from_torch(tmp_path):
    t_ep, path = _torch_file(tmp_path, "dynamic_batch")
    e_ep = ember.export.load(path)
    assert [(r.lower, r.upper) for r in e_ep.range_constraints.values()] == [(1, 64)]
    x_meta = next(n for n in e_ep.graph.nodes if n.name == "x").meta["val"]
    assert isinstance(x_meta.shape[0], ember.SymInt) and x_meta.shape[1] == 4
    for batch in (1, 5, 64):
        _assert_same(e_ep.module()(*_inputs(ember, "dynamic_batch", batch)[0]),
                     t_ep.module()(*_inputs(torch, "dynamic_batch", batch)[0]))
    for bad in (np.zeros((65, 4), np.float32), np.zeros((2, 5), np.float32)):
        with pytest.raises(Exception) as expected:
            t_ep.module()(torch.tensor(bad))
        with pytest.raises(Exception) as got:
            e_ep.module()(ember.tensor(bad))
        assert type(got.value) is type(expected.value)


def test_sym_size_nodes_from_torch(tmp_path):
    """``x.view(x.size(0), -1)`` under a dynamic batch: sym_size.int feeding view, a
    Tensor[] result (split) and a two-result op (max_pool2d_with_indices), .to(dtype)."""

    class Net(torch.nn.Module):
        def forward(self, x):
            y = x.view(x.size(0), -1)
            a, b = y.split(8, dim=1)
            pooled = torch.nn.functional.max_pool2d(x, 2, return_indices=True)[0]
            return a * b.shape[0], pooled, x.to(torch.float64), torch.cat([b, a], 1).mean(0)

    x = _arrays((3, 4, 2, 2))[0]
    t_ep = torch.export.export(Net(), (torch.tensor(x),),
                               dynamic_shapes=({0: torch.export.Dim("b")},))
    torch.export.save(t_ep, tmp_path / "sym.pt2")
    e_ep = ember.export.load(tmp_path / "sym.pt2")
    x6 = np.concatenate([x, x]) * 0.5
    _assert_same(e_ep.module()(ember.tensor(x6)), t_ep.module()(torch.tensor(x6)))


# -- ember writes, torch reads ----------------------------------------------------------------

def _sym_sizes(lib):
    class Sizes(lib.nn.Module):
        def forward(self, x):
            return lib.zeros(lib.sym_max(x.size(0), 4)) + x.view(x.size(0), -1).sum()

    return Sizes()


@pytest.mark.parametrize("case", ["mlp", "cnn", "bn_train", "encoder", "dynamic_batch", "kwargs",
                                  "nested"])
def test_ember_program_runs_in_torch(case, tmp_path):
    e_ep = _export(ember, case)
    ember.export.save(e_ep, tmp_path / "e.pt2")
    t_ep = torch.export.load(tmp_path / "e.pt2")
    assert list(t_ep.state_dict) == list(e_ep.state_dict)
    assert t_ep.graph_signature.user_inputs == e_ep.graph_signature.user_inputs
    batch = 6 if CASES[case][3] else None
    e_args, e_kwargs = _inputs(ember, case, batch)
    t_args, t_kwargs = _inputs(torch, case, batch)
    e_module, t_module = e_ep.module(), t_ep.module()
    _assert_same(e_module(*e_args, **e_kwargs), t_module(*t_args, **t_kwargs))
    for key, value in t_module.named_buffers():
        torch.testing.assert_close(
            value, torch.from_numpy(dict(e_module.named_buffers())[key].numpy().copy()))
    if CASES[case][3]:
        assert [(int(r.lower), int(r.upper)) for r in t_ep.range_constraints.values()] == \
            [(1, 64)]


def test_ember_symbolic_sizes_run_in_torch(tmp_path):
    x = _arrays((2, 3))[0]
    e_ep = ember.export.export(_sym_sizes(ember), (ember.tensor(x),),
                               dynamic_shapes=({0: ember.export.Dim("n")},))
    ember.export.save(e_ep, tmp_path / "sizes.pt2")
    t_ep = torch.export.load(tmp_path / "sizes.pt2")
    for rows in (2, 6):
        x = _arrays((rows, 3))[0]
        _assert_same(e_ep.module()(ember.tensor(x)), t_ep.module()(torch.tensor(x)))


def test_round_trip_torch_ember_torch(tmp_path):
    t_ep, path = _torch_file(tmp_path, "cnn")
    ember.export.save(ember.export.load(path), tmp_path / "again.pt2")
    again = torch.export.load(tmp_path / "again.pt2")
    assert str(again.graph_signature) == str(t_ep.graph_signature)
    assert [str(n.target) for n in again.graph.nodes] == [str(n.target) for n in t_ep.graph.nodes]
    args = _inputs(torch, "cnn")[0]
    torch.testing.assert_close(again.module()(*args), t_ep.module()(*args))


def test_extra_files_both_ways(tmp_path):
    t_ep, _ = _torch_file(tmp_path, "mlp")
    torch.export.save(t_ep, tmp_path / "t.pt2", extra_files={"note.txt": "from torch"})
    found = {"note.txt": ""}
    ember.export.load(tmp_path / "t.pt2", extra_files=found)
    assert found == {"note.txt": "from torch"}
    buffer = io.BytesIO()
    ember.export.save(_export(ember, "mlp"), buffer, extra_files={"note.txt": "from ember"})
    buffer.seek(0)
    found = {"note.txt": ""}
    torch.export.load(buffer, extra_files=found)
    assert found == {"note.txt": "from ember"}


# -- the archive API ----------------------------------------------------------------------------

def test_pt2_archive_api(tmp_path):
    t_ep, path = _torch_file(tmp_path, "mlp")
    assert is_pt2_package(str(path)) and is_pt2_package(path.read_bytes())
    ember.save({"a": ember.ones(1)}, tmp_path / "plain.pt")
    assert not is_pt2_package(str(tmp_path / "plain.pt"))
    with PT2ArchiveReader(str(path)) as reader:
        assert reader.read_string("archive_format") == "pt2"
        assert reader.archive_version() == 0
        assert "models/model.json" in reader.get_file_names()
    # torch packages two programs; ember reads both, and the reverse
    t_kw = _export(torch, "kwargs")
    torch.export.pt2_archive._package.package_pt2(
        str(tmp_path / "two.pt2"), exported_programs={"first": t_ep, "second": t_kw},
        extra_files={"info": "two"})
    contents = load_pt2(str(tmp_path / "two.pt2"))
    assert sorted(contents.exported_programs) == ["first", "second"]
    assert contents.extra_files == {"info": "two"} and contents.aoti_runners == {}
    e_args, e_kwargs = _inputs(ember, "kwargs")
    t_args, t_kwargs = _inputs(torch, "kwargs")
    _assert_same(contents.exported_programs["second"].module()(*e_args, **e_kwargs),
                 t_kw.module()(*t_args, **t_kwargs))
    package_pt2(str(tmp_path / "mine.pt2"),
                exported_programs={"a": _export(ember, "mlp"), "b": _export(ember, "nested")},
                extra_files={"info": "mine"})
    loaded = torch.export.pt2_archive._package.load_pt2(str(tmp_path / "mine.pt2"))
    assert sorted(loaded.exported_programs) == ["a", "b"]
    assert loaded.extra_files == {"info": "mine"}
    with pytest.raises(AssertionError, match="do not plan on saving anything"):
        package_pt2(io.BytesIO())


def test_listed_schemas_are_torch_schemas():
    """ember's table of ATen schemas (used when torch is absent) says what torch says."""
    from ember.export._pt2_schemas import _table

    for name, schema in _table().items():
        op_name, overload = name.split(".")
        expected = getattr(getattr(torch.ops.aten, op_name), overload)._schema
        assert [a.name for a in schema.arguments] == [a.name for a in expected.arguments]
        assert [a.kwarg_only for a in schema.arguments] == \
            [a.kwarg_only for a in expected.arguments]
        assert len(schema.returns) == len(expected.returns), name


# -- errors and the old format ------------------------------------------------------------------

def test_masked_attention_with_dynamic_batch_runs_in_torch(tmp_path):
    """ember keeps F.multi_head_attention_forward as one node; save lowers it to ATen ops
    (an attention mask, float or bool, and a dynamic batch included)."""
    layer = _encoder(ember)

    class Masked(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, x, mask):
            return self.layer(x, src_mask=mask)

    x = ember.tensor(_arrays((3, 5, 8))[0])
    causal = ember.nn.Transformer.generate_square_subsequent_mask(5)
    for mask in (causal, ember.isinf(causal)):
        e_ep = ember.export.export(Masked(), (x, mask),
                                   dynamic_shapes=({0: ember.export.Dim("b")}, None))
        ember.export.save(e_ep, tmp_path / "masked.pt2")
        t_ep = torch.export.load(tmp_path / "masked.pt2")
        x4 = _arrays((4, 5, 8))[0]
        _assert_same(e_ep.module()(ember.tensor(x4), mask),
                     t_ep.module()(torch.tensor(x4), torch.tensor(mask.numpy())))


def test_save_names_an_op_torch_cannot_express(tmp_path, monkeypatch):
    attention = ember.nn.MultiheadAttention(8, 2)

    class Weights(ember.nn.Module):  # the attention weights used: not lowered
        def __init__(self):
            super().__init__()
            self.attention = attention

        def forward(self, x):
            return self.attention(x, x, x)

    e_ep = ember.export.export(Weights(), (ember.tensor(_arrays((5, 2, 8))[0]),))
    with pytest.raises(RuntimeError, match="multi_head_attention_forward.*cannot be written"):
        ember.export.save(e_ep, tmp_path / "weights.pt2")
    # without torch installed, an op outside ember's schema table is refused by name
    import ember.export._pt2_schemas as schemas

    monkeypatch.setattr(schemas, "_torch_schema", lambda name, overload: None)
    x = ember.tensor(_arrays((2, 3))[0])
    prelu = ember.export.export(ember.nn.PReLU(), (x,))
    with pytest.raises(RuntimeError, match=r"aten\.prelu\.default.*_pt2_schemas"):
        ember.export.save(prelu, tmp_path / "prelu.pt2")


def test_load_names_an_op_ember_lacks(tmp_path):
    _, path = _torch_file(tmp_path, "mlp")
    with zipfile.ZipFile(path) as archive:
        records = {info.filename: archive.read(info) for info in archive.infolist()}
    model = next(name for name in records if name.endswith("models/model.json"))
    program = json.loads(records[model])
    relu = next(n for n in program["graph_module"]["graph"]["nodes"] if "relu" in n["target"])
    relu["target"] = "torch.ops.aten.not_an_op.default"
    records[model] = json.dumps(program).encode()
    with zipfile.ZipFile(tmp_path / "edited.pt2", "w") as archive:
        for name, data in records.items():
            archive.writestr(name, data)
    with pytest.raises(RuntimeError, match=r"torch\.ops\.aten\.not_an_op\.default \(node relu\)"):
        ember.export.load(tmp_path / "edited.pt2")


def test_old_ember_format_still_loads(tmp_path):
    """Files written by ember.export.save before it wrote .pt2 archives."""
    ep = _export(ember, "dynamic_batch")
    ember.save({"format": "ember.export/1", "graph": ep.graph, "signature": ep.graph_signature,
                "state_dict": dict(ep.state_dict), "constants": dict(ep.constants),
                "range_constraints": ep.range_constraints, "in_spec": ep._in_spec,
                "out_spec": ep._out_spec, "guards": ep._input_guards,
                "extra_files": {"note": "old"}}, tmp_path / "old.pt2")
    found = {"note": ""}
    loaded = ember.export.load(tmp_path / "old.pt2", extra_files=found)
    assert found == {"note": "old"} and str(loaded) == str(ep)
    args = _inputs(ember, "dynamic_batch", 5)[0]
    np.testing.assert_allclose(loaded.module()(*args).detach().numpy(),
                               ep.module()(*args).detach().numpy())
    ember.save({"not": "a program"}, tmp_path / "other.pt")
    with pytest.raises(RuntimeError, match="not a program written by ember.export.save"):
        ember.export.load(tmp_path / "other.pt")


def test_non_finite_floats_cross_both_ways(tmp_path):
    """torch writes inf / nan floats as the strings "Infinity" / "NaN" in the JSON."""

    class Fill(torch.nn.Module):
        def forward(self, x):
            return x.masked_fill(x > 0, float("-inf")).clamp(max=math.inf)

    x = _arrays((2, 3))[0]
    t_ep = torch.export.export(Fill(), (torch.tensor(x),))
    torch.export.save(t_ep, tmp_path / "fill.pt2")
    e_ep = ember.export.load(tmp_path / "fill.pt2")
    _assert_same(e_ep.module()(ember.tensor(x)), t_ep.module()(torch.tensor(x)))
    ember.export.save(e_ep, tmp_path / "back.pt2")
    back = torch.export.load(tmp_path / "back.pt2")
    torch.testing.assert_close(back.module()(torch.tensor(x)), t_ep.module()(torch.tensor(x)))


def test_unflatten_both_ways(tmp_path):
    """nn_module_stack crosses (``key,path,type`` entries), so unflatten rebuilds the
    submodule hierarchy of a loaded program on either side."""
    t_ep, path = _torch_file(tmp_path, "cnn")
    e_unflat = ember.export.unflatten(ember.export.load(path))
    assert [name for name, _ in e_unflat.named_children()] == ["conv", "bn", "pool", "fc"]
    args = _inputs(ember, "cnn")[0]
    _assert_same(e_unflat(*args), t_ep.module()(*_inputs(torch, "cnn")[0]))
    ember.export.save(_export(ember, "cnn"), tmp_path / "e.pt2")
    t_unflat = torch.export.unflatten(torch.export.load(tmp_path / "e.pt2"))
    assert [name for name, _ in t_unflat.named_children()] == ["conv", "bn", "pool", "fc"]


def test_constant_inputs_both_ways(tmp_path):
    """int / bool arguments are specialized into the program (``constant_input`` specs)."""

    def scaled(lib):
        class Scaled(lib.nn.Module):
            def forward(self, x, n, flag=True):
                return x * n if flag else x

        return Scaled()

    t_ep = torch.export.export(scaled(torch), (torch.ones(2), 3), {"flag": True})
    torch.export.save(t_ep, tmp_path / "t.pt2")
    e_loaded = ember.export.load(tmp_path / "t.pt2")
    assert str(e_loaded.graph_signature) == str(t_ep.graph_signature)
    _assert_same(e_loaded.module()(ember.ones(2), 3, flag=True),
                 t_ep.module()(torch.ones(2), 3, flag=True))
    e_ep = ember.export.export(scaled(ember), (ember.ones(2), 3), {"flag": True})
    ember.export.save(e_ep, tmp_path / "e.pt2")
    t_loaded = torch.export.load(tmp_path / "e.pt2")
    assert str(t_loaded.graph_signature) == str(t_ep.graph_signature)
    _assert_same(e_ep.module()(ember.ones(2), 3, flag=True),
                 t_loaded.module()(torch.ones(2), 3, flag=True))
