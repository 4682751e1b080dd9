"""ember.distributed.checkpoint in one process against real PyTorch: directories written
by one library load in the other (nested dicts, lists, non-tensor values, several dtypes),
in-place loading, Stateful objects, planners and their hooks, async_save, format_utils,
and the errors. The multi-rank checks are in test_checkpoint_dist.py."""

import warnings

import pytest
import torch
import torch.distributed.checkpoint as tdcp
from torch.distributed.checkpoint import format_utils as tformat

import ember
import ember.distributed.checkpoint as dcp
from ember.distributed.checkpoint import format_utils


@pytest.fixture(autouse=True)
def _quiet():
    """Both libraries warn that no process group is initialized on every call."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        yield


def _state(lib, fill):
    """A nested state dict; ``fill`` True gives the values to save, False zeros to load into."""
    def make(values, dtype):
        tensor = lib.tensor(values, dtype=dtype)
        return tensor if fill else lib.zeros_like(tensor)

    return {
        "weight": make([[0.5, -1.0, 2.0], [3.0, 4.25, -6.0]], lib.float32),
        "half": make([1.5, -2.0], lib.float16),
        "count": make(5, lib.int64),
        "mask": make([True, False, True], lib.bool),
        "empty": make([[], []], lib.float32),
        "transposed": make([[1, 2, 3], [4, 5, 6]], lib.int16).t(),  # not contiguous
        "nested": {"double": make([[1e-3], [7.0]], lib.float64),
                   "list": [make([9, 8], lib.int32), "tag" if fill else "x"],
                   "epoch": 3 if fill else 0,
                   "lrs": [0.1, 0.01] if fill else []},
        "blob": b"\x00ember" if fill else None,
    }


def _as_lists(value):
    if isinstance(value, (torch.Tensor, ember.Tensor)):
        return (str(value.dtype), value.tolist())
    if isinstance(value, dict):
        return {k: _as_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_lists(v) for v in value]
    return value


@pytest.mark.parametrize("writer, reader", [(torch, ember), (ember, torch), (ember, ember)])
def test_directories_load_across_libraries(tmp_path, writer, reader):
    (dcp if writer is ember else tdcp).save(_state(writer, True), checkpoint_id=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".metadata", "__0_0.distcp"]
    target = _state(reader, False)
    weight = target["weight"]
    (dcp if reader is ember else tdcp).load(target, checkpoint_id=tmp_path)
    assert _as_lists(target) == _as_lists(_state(torch, True))
    assert target["weight"] is weight  # filled in place, as torch does


def test_metadata_matches_torch(tmp_path):
    """The metadata of the same state dict, written by each library and read by each."""
    dcp.save(_state(ember, True), checkpoint_id=tmp_path / "e")
    tdcp.save(_state(torch, True), checkpoint_id=tmp_path / "t")

    def summary(metadata):
        table = {}
        for key, md in metadata.state_dict_metadata.items():
            if type(md).__name__ == "BytesStorageMetadata":
                table[key] = "bytes"
            else:
                table[key] = (str(md.properties.dtype), list(md.size),
                              [(list(c.offsets), list(c.sizes)) for c in md.chunks])
        return table, metadata.planner_data, metadata.version, sorted(
            (i.fqn, None if i.offset is None else list(i.offset), i.index)
            for i in metadata.storage_data)

    expected = summary(tdcp.FileSystemReader(tmp_path / "t").read_metadata())
    assert summary(dcp.FileSystemReader(tmp_path / "e").read_metadata()) == expected
    assert summary(dcp.FileSystemReader(tmp_path / "t").read_metadata()) == expected
    assert summary(tdcp.FileSystemReader(tmp_path / "e").read_metadata()) == expected
    metadata = dcp.FileSystemReader(tmp_path / "t").read_metadata()
    assert isinstance(metadata, dcp.Metadata)
    assert isinstance(metadata.state_dict_metadata["weight"], dcp.TensorStorageMetadata)
    assert isinstance(metadata.state_dict_metadata["blob"], dcp.BytesStorageMetadata)
    assert isinstance(metadata.state_dict_metadata["weight"].chunks[0], dcp.ChunkStorageMetadata)
    assert metadata.state_dict_metadata["weight"].properties.dtype is ember.float32
    assert metadata.state_dict_metadata["weight"].properties.layout is ember.strided


def _trained(lib, scale=1.0, lr=0.1):
    """A model and Adam after one step, with the same fixed weights in both libraries."""
    # BatchNorm first: after it, Adam would magnify round-off in near-zero gradients
    model = lib.nn.Sequential(lib.nn.BatchNorm1d(3), lib.nn.Linear(3, 4), lib.nn.Tanh(),
                              lib.nn.Linear(4, 2))
    with lib.no_grad():
        for param in model.parameters():
            param.copy_(lib.linspace(-scale, scale, param.numel()).reshape(param.shape))
    optim = lib.optim.Adam(model.parameters(), lr=lr)
    model(lib.arange(6.0).reshape(2, 3)).pow(2).sum().backward()
    optim.step()
    return model, optim


@pytest.mark.parametrize("writer, reader", [(ember, torch), (torch, ember)])
def test_stateful_model_and_optimizer(tmp_path, writer, reader):
    """Modules and optimizers in the state dict are Stateful: their state_dict is saved,
    and load calls their load_state_dict; the restored pair trains on as the original."""
    model, optim = _trained(writer)
    (dcp if writer is ember else tdcp).save({"model": model, "optim": optim, "epoch": 4},
                                           checkpoint_id=tmp_path)
    # a stepped optimizer: one without state has no entries to load into (as in torch)
    fresh_model, fresh_optim = _trained(reader, scale=0.3, lr=0.5)
    state = {"model": fresh_model, "optim": fresh_optim, "epoch": 0}
    (dcp if reader is ember else tdcp).load(state, checkpoint_id=tmp_path)
    assert state["model"] is fresh_model and state["epoch"] == 4
    assert fresh_optim.param_groups[0]["lr"] == 0.1
    reference, reference_optim = _trained(reader)
    for lib_model, lib_optim in ((fresh_model, fresh_optim), (reference, reference_optim)):
        lib_optim.zero_grad()
        lib_model(reader.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])).sum().backward()
        lib_optim.step()
    for mine, expected in zip(fresh_model.state_dict().values(),
                              reference.state_dict().values()):
        torch.testing.assert_close(torch.tensor(mine.tolist()), torch.tensor(expected.tolist()))


def test_errors_match_torch(tmp_path):
    """Same exception types and messages as torch for the usual mistakes."""
    for lib, module in ((ember, dcp), (torch, tdcp)):
        folder = tmp_path / lib.__name__
        module.save({"a": lib.zeros(2, 3)}, checkpoint_id=folder)
        outcomes = []
        for call in (
                lambda: module.load({"a": lib.zeros(2, 3), "b": lib.zeros(1)},
                                    checkpoint_id=folder),
                lambda: module.load({"a": lib.zeros(3, 2)}, checkpoint_id=folder),
                lambda: module.save({"a": lib.zeros(1)}),
                lambda: module.load({"a": lib.zeros(1)}, checkpoint_id=folder / "none"),
                lambda: module.save({"a": lib.zeros(1)}, storage_writer=module.FileSystemWriter(
                    folder, overwrite=False))):
            try:
                call()
                outcomes.append(None)
            except BaseException as error:  # noqa: BLE001 - the outcome is compared
                inner = getattr(error, "failures", {0: (error, None)})[0][0]
                outcomes.append((type(error).__name__, type(inner).__name__,
                                 str(inner).replace("torch", "ember")))
        if lib is ember:
            mine = outcomes
    expected = outcomes
    assert [m[:2] for m in mine] == [e[:2] for e in expected]
    for index in (0, 1, 2, 4):
        assert mine[index][2] == expected[index][2]
    assert mine[0][2] == "Missing key in checkpoint state_dict: b."


def test_partial_load_and_keys(tmp_path):
    dcp.save(_state(ember, True), checkpoint_id=tmp_path)
    state = {"weight": ember.zeros(2, 3), "absent": ember.ones(2)}
    dcp.load(state, checkpoint_id=tmp_path,
             planner=dcp.DefaultLoadPlanner(allow_partial_load=True))
    assert state["weight"].tolist() == [[0.5, -1.0, 2.0], [3.0, 4.25, -6.0]]
    assert state["absent"].tolist() == [1.0, 1.0]
    from ember.distributed.checkpoint.state_dict_loader import _load_state_dict_from_keys

    loaded = _load_state_dict_from_keys({"nested.list", "count"}, checkpoint_id=tmp_path)
    assert _as_lists(loaded) == {"count": ("torch.int64", 5),
                                 "nested": {"list": [("torch.int32", [9, 8]), "tag"]}}


def test_async_save_returns_a_future(tmp_path):
    state = _state(ember, True)
    future = dcp.async_save(state, checkpoint_id=tmp_path)
    state["weight"].add_(100.0)  # staged before: the checkpoint has the old values
    metadata = future.result(timeout=30)
    assert isinstance(metadata, dcp.Metadata) and "weight" in metadata.state_dict_metadata
    target = _state(torch, False)
    tdcp.load(target, checkpoint_id=tmp_path)
    assert _as_lists(target) == _as_lists(_state(torch, True))


def test_legacy_names_and_planner_hooks(tmp_path):
    """save_state_dict/load_state_dict warn as torch does; a planner subclass renames keys
    through set_up_planner and sees every hook in PyTorch's order."""
    calls = []

    class Renaming(dcp.DefaultSavePlanner):
        def set_up_planner(self, state_dict, storage_meta=None, is_coordinator=False):
            calls.append("set_up_planner")
            super().set_up_planner({"foo_" + k: v for k, v in state_dict.items()},
                                   storage_meta, is_coordinator)

        def create_local_plan(self):
            calls.append("create_local_plan")
            return super().create_local_plan()

        def create_global_plan(self, all_plans):
            calls.append("create_global_plan")
            return super().create_global_plan(all_plans)

        def finish_plan(self, new_plan):
            calls.append("finish_plan")
            return super().finish_plan(new_plan)

        def resolve_data(self, write_item):
            calls.append("resolve_data")
            return super().resolve_data(write_item)

    with pytest.warns(FutureWarning, match="`save_state_dict` is deprecated"):
        dcp.save_state_dict({"w": ember.arange(3.0)}, dcp.FileSystemWriter(tmp_path),
                            planner=Renaming(), no_dist=True)
    assert calls == ["set_up_planner", "create_local_plan", "create_global_plan",
                     "finish_plan", "resolve_data"]
    state = {"foo_w": torch.zeros(3)}
    tdcp.load(state, checkpoint_id=tmp_path)
    assert state["foo_w"].tolist() == [0.0, 1.0, 2.0]
    state = {"foo_w": ember.zeros(3)}
    with pytest.warns(FutureWarning, match="`load_state_dict` is deprecated"):
        dcp.load_state_dict(state, dcp.FileSystemReader(tmp_path), no_dist=True)
    assert state["foo_w"].tolist() == [0.0, 1.0, 2.0]


def test_format_utils_both_ways(tmp_path):
    tdcp.save(_state(torch, True), checkpoint_id=tmp_path / "t")
    format_utils.dcp_to_torch_save(tmp_path / "t", tmp_path / "t.pt")
    tformat.dcp_to_torch_save(tmp_path / "t", tmp_path / "reference.pt")
    assert (_as_lists(torch.load(tmp_path / "t.pt", weights_only=False))
            == _as_lists(torch.load(tmp_path / "reference.pt", weights_only=False)))
    torch.save(_state(torch, True), tmp_path / "plain.pt")
    format_utils.torch_save_to_dcp(tmp_path / "plain.pt", tmp_path / "e")
    target = _state(torch, False)
    tdcp.load(target, checkpoint_id=tmp_path / "e")
    assert _as_lists(target) == _as_lists(_state(torch, True))


@pytest.mark.parametrize("writer, reader", [(torch, ember), (ember, torch)])
def test_without_collectives_each_rank_writes_its_own_metadata(tmp_path, writer, reader):
    (dcp if writer is ember else tdcp).save(_state(writer, True), checkpoint_id=tmp_path,
                                           use_collectives=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["__0.metadata", "__0_0.distcp"]
    target = _state(reader, False)
    (dcp if reader is ember else tdcp).load(target, checkpoint_id=tmp_path)
    assert _as_lists(target) == _as_lists(_state(torch, True))


def test_sharded_tensor_pieces_are_staged_and_written_piecewise(tmp_path):
    """A ShardedTensor (what FSDP's sharded state dicts hold) with two local shards: each
    is a chunk of the checkpoint, copied at staging, and torch reads the whole."""
    from ember.distributed._shard.sharded_tensor import Shard, init_from_local_shards

    whole = ember.arange(12.0).reshape(4, 3)
    shards = [Shard.from_tensor_and_offsets(whole[:1].clone(), [0, 0], 0),
              Shard.from_tensor_and_offsets(whole[1:].clone(), [1, 0], 0)]
    sharded = init_from_local_shards(shards, 4, 3)
    future = dcp.async_save({"s": [sharded, 1]}, checkpoint_id=tmp_path)
    shards[1].tensor.zero_()  # after staging: not in the checkpoint
    future.result(timeout=30)
    chunks = tdcp.FileSystemReader(tmp_path).read_metadata().state_dict_metadata["s.0"].chunks
    assert [(list(c.offsets), list(c.sizes)) for c in chunks] == [([0, 0], [1, 3]),
                                                                  ([1, 0], [3, 3])]
    state = {"s": [torch.zeros(4, 3), 0]}
    tdcp.load(state, checkpoint_id=tmp_path)
    assert state["s"][0].tolist() == whole.tolist() and state["s"][1] == 1
    target = init_from_local_shards([Shard.from_tensor_and_offsets(ember.zeros(2, 3), [2, 0],
                                                                   0)], 4, 3)
    dcp.load({"s": [target, 0]}, checkpoint_id=tmp_path)
    assert target.local_tensor().tolist() == whole[2:].tolist()


def test_old_positional_storage_argument_warns_as_torch(tmp_path):
    for lib, module in ((torch, tdcp), (ember, dcp)):
        folder = tmp_path / lib.__name__
        with pytest.warns(UserWarning, match="The argument order of save has been changed"):
            module.save({"a": lib.ones(2)}, module.FileSystemWriter(folder))
        state = {"a": lib.zeros(2)}
        with pytest.warns(UserWarning, match="The argument order of load has been changed"):
            module.load(state, module.FileSystemReader(folder))
        assert state["a"].tolist() == [1.0, 1.0]


def test_resharding_reads_match_torch():
    """The boxes read to fill local chunks from saved chunks (a row cut saved, column cuts
    and a small box loaded) are torch's, as a set."""
    from torch.distributed.checkpoint import metadata as tmeta
    from torch.distributed.checkpoint.planner_helpers import (
        create_read_items_for_chunk_list as torch_reads,
    )

    from ember.distributed.checkpoint import metadata as emeta
    from ember.distributed.checkpoint.planner_helpers import create_read_items_for_chunk_list

    saved = [((0, 0), (3, 6)), ((3, 0), (2, 6))]
    local = [((0, 0), (5, 2)), ((0, 2), (5, 3)), ((1, 5), (3, 1))]

    def reads(meta, lib, make):
        def chunk(offsets, sizes):
            return meta.ChunkStorageMetadata(lib.Size(offsets), lib.Size(sizes))

        md = meta.TensorStorageMetadata(meta.TensorProperties(dtype=lib.float32),
                                        lib.Size((5, 6)), [chunk(*c) for c in saved])
        items = make("w", md, [chunk(*c) for c in local])
        return {(tuple(i.dest_index.offset), i.dest_index.index, tuple(i.dest_offsets),
                 tuple(i.storage_index.offset), i.storage_index.index,
                 tuple(i.storage_offsets), tuple(i.lengths), i.type.name) for i in items}

    expected = reads(tmeta, torch, torch_reads)
    assert reads(emeta, ember, create_read_items_for_chunk_list) == expected
    assert len(expected) == 6  # every local chunk crosses the saved row cut


def test_checkpointing_plain_state_imports_neither_dtensor_nor_fsdp():
    """Defining DTensor turns the __torch_function__ protocol on for the whole process, so
    saving and loading plain state must not import it (nor FSDP)."""
    import subprocess
    import sys

    script = """if True:
        import sys, tempfile, warnings
        warnings.simplefilter("ignore")
        import ember, ember.distributed.checkpoint as dcp
        from ember.distributed.checkpoint import state_dict as dsd
        model = ember.nn.Linear(2, 2)
        optim = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        model_sd, optim_sd = dsd.get_state_dict(model, optim)
        folder = tempfile.mkdtemp()
        dcp.async_save({"m": model_sd, "o": optim_sd}, checkpoint_id=folder).result()
        dcp.load({"m": model_sd, "o": optim_sd}, checkpoint_id=folder)
        dsd.set_state_dict(model, optim, model_state_dict=model_sd, optim_state_dict=optim_sd)
        print(sorted(m for m in ("ember.distributed.tensor._api", "ember.distributed.fsdp")
                     if m in sys.modules))
    """
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
