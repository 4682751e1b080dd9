"""FullyShardedDataParallel against PyTorch's: fsdp_script.py runs on 2 ranks under real
PyTorch (gloo, mpirun) and under ember (``ember run``) at the same time, two launches in
all. Training cases must match single-process PyTorch training on the whole batch (the
script's "reference" records, computed by real PyTorch) and PyTorch's own FSDP; layouts,
state dicts (FULL, SHARDED, LOCAL), optimizer state dicts, summon_full_params and error
paths must match PyTorch's records. A few checks need no process group and run here."""

import functools

import pytest
import torch

import ember

from .conftest import free_port, run_mpirun_and_ember

pytestmark = pytest.mark.xdist_group("distributed")

SCRIPT = "fsdp_script.py"


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    folders = {name: tmp_path_factory.mktemp(f"fsdp_{name}") for name in ("torch", "ember")}
    return run_mpirun_and_ember(SCRIPT, "FSDP", folders)


def _tensor(record):
    return torch.tensor(record["values"], dtype=torch.float64)


def _same(expected, got, path="", **tolerance):
    """Records equal: tensors by assert_close (float32 tolerances unless given; the
    records hold float64 copies), everything else exactly, ember's names read as torch's."""
    if isinstance(expected, dict) and "values" in expected:
        assert (got["dtype"], got["shape"]) == (expected["dtype"], expected["shape"]), path
        torch.testing.assert_close(_tensor(got), _tensor(expected),
                                   **(tolerance or {"rtol": 1.3e-6, "atol": 1e-5}), msg=path)
    elif isinstance(expected, dict):
        assert list(got) == list(expected), path
        for key in expected:
            _same(expected[key], got[key], f"{path}/{key}", **tolerance)
    elif isinstance(expected, list):
        assert len(got) == len(expected), path
        for index, (e, g) in enumerate(zip(expected, got)):
            _same(e, g, f"{path}[{index}]", **tolerance)
    elif isinstance(expected, str):
        assert got.replace("ember", "torch") == expected, path
    else:
        assert got == expected, path


def _both(records, name):
    return [(records["torch"][rank][name], records["ember"][rank][name]) for rank in (0, 1)]


TRAINING = {"full_shard": "reference_mlp_sgd", "shard_grad_op": "reference_mlp_sgd",
            "no_shard": "reference_mlp_sgd", "hybrid": "reference_mlp_sgd",
            "orig_params": "reference_mlp_sgd", "tiny_module_policy": "reference_tiny_adam",
            "tiny_transformer_policy_orig": "reference_tiny_adam", "clip": "reference_clip"}


@pytest.mark.parametrize("name", sorted(TRAINING))
def test_training_matches_single_process_torch(records, name):
    """Two ranks, half the batch each: the averaged losses and the final full state dict
    are single-process PyTorch's on the whole batch."""
    for rank in (0, 1):
        reference = records["torch"][rank][TRAINING[name]]
        got = records["ember"][rank][name]
        assert "error" not in got, got
        _same(reference["losses"], got["losses"], "losses")
        _same(reference["state"], got["state"], "state")


@pytest.mark.parametrize("name", sorted(TRAINING) + [
    "size_policy", "enable_wrap", "summon", "summon_orig", "state_dicts", "optim_state",
    "local_no_shard", "missing_key", "ignored_modules", "sync_module_states", "optim_sharded",
    "summon_with_grads", "gathers", "checkpointed", "frozen_orig", "error_frozen",
    "error_dtypes", "error_config", "error_inner", "error_summon",
    "error_no_device", "error_cpu_offload", "error_hybrid_manual"])
def test_matches_torch_fsdp(records, name):
    """Losses, state dicts (keys and values), module and parameter names and shapes
    (flat parameters included), clip norms, and error types and messages as PyTorch's."""
    for expected, got in _both(records, name):
        _same(expected, got, name)


def test_no_sync_accumulates_locally(records):
    """A micro-batch under no_sync plus one outside give the whole batch's step."""
    for rank in (0, 1):
        reference = records["torch"][rank]["reference_one_step"]
        for name in ("no_sync", "no_sync_orig"):
            _same(reference, records["ember"][rank][name], name)
            _same(records["torch"][rank][name], records["ember"][rank][name], name)


def test_mixed_precision(records):
    """float16 compute, float32 reduction: float32 parameters and gradients. numpy's and
    PyTorch's float16 matmuls round differently (float16 epsilon is 1e-3), so values are
    compared to 1e-4 absolute."""
    for expected, got in _both(records, "mixed_precision"):
        assert got["grad_dtype"].replace("ember", "torch") == expected["grad_dtype"]
        assert got["param_dtype"].replace("ember", "torch") == expected["param_dtype"]
        _same(expected["losses"], got["losses"], "losses", rtol=1e-3, atol=1e-4)
        _same(expected["state"], got["state"], "state", rtol=1e-3, atol=1e-4)


def test_mixed_precision_batchnorm(records):
    """With an auto-wrap policy, BatchNorm becomes its own unit in full precision (inputs
    cast to float32 and back), buffers are kept in float32 there and saved as float32;
    float16 tolerances as in test_mixed_precision."""
    for expected, got in _both(records, "mixed_batchnorm"):
        _same(expected, got, "mixed_batchnorm", rtol=1e-3, atol=1e-4)


def test_optim_state_dict_use_orig_params(records):
    """Keys, steps, exp_avg_sq and the continued training as PyTorch's. PyTorch 2.13 on
    gloo returns exp_avg_sq's values under exp_avg here (both keys hold the same list in
    its record, so its resumed run differs too); ember's exp_avg is the one PyTorch gives
    without use_orig_params, and ember's resumed run is checked against its continued run
    in test_resumed_training_matches."""
    for rank in (0, 1):
        expected = records["torch"][rank]["optim_state_orig"]
        got = records["ember"][rank]["optim_state_orig"]
        flat_params = records["torch"][rank]["optim_state"]["saved"]["state"]
        for key in ("continued", "rank0_only_keys"):
            _same(expected[key], got[key], key)
        assert list(got["saved"]["state"]) == list(expected["saved"]["state"])
        _same(expected["saved"]["param_groups"], got["saved"]["param_groups"])
        for fqn, state in expected["saved"]["state"].items():
            mine = got["saved"]["state"][fqn]
            assert list(mine) == list(state)
            _same(state["step"], mine["step"], fqn)
            _same(state["exp_avg_sq"], mine["exp_avg_sq"], fqn)
            _same(flat_params[fqn]["exp_avg"], mine["exp_avg"], fqn)
            assert state["exp_avg"] == state["exp_avg_sq"]  # PyTorch's quirk, see above


def test_rank0_only_full_state_dict(records):
    """rank0_only: rank 0 gets every key, the others an empty dict (PyTorch 2.13's own
    rank0_only crashes on CPU tensors, so the script runs it under ember only)."""
    keys = records["ember"][0]["rank0_only"]
    assert keys == list(records["torch"][0]["state_dicts"]["after_full_load"])
    assert records["ember"][1]["rank0_only"] == []


def test_resumed_training_matches(records):
    """A model and optimizer rebuilt from the saved state dicts train on as the original."""
    for rank in (0, 1):
        for name in ("optim_state", "optim_state_orig"):
            record = records["ember"][rank][name]
            _same(record["continued"], record["resumed"], name)


# -- without a process group -------------------------------------------------------------------

def test_no_process_group_error():
    for library in (torch, ember):
        from importlib import import_module
        fsdp = import_module(f"{library.__name__}.distributed.fsdp")
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            fsdp.FullyShardedDataParallel(library.nn.Linear(2, 2),
                                          device_id=library.device("cpu"))


def test_policy_functions_match_torch():
    """The callable policies answer as PyTorch's for every (module, recurse, numel)."""
    from torch.distributed.fsdp import wrap as torch_wrap

    from ember.distributed.fsdp import wrap as ember_wrap
    pairs = [(torch.nn.Linear(2, 2), ember.nn.Linear(2, 2)),
             (torch.nn.ModuleList(), ember.nn.ModuleList()),
             (torch.nn.MultiheadAttention(4, 2), ember.nn.MultiheadAttention(4, 2))]
    for torch_module, ember_module in pairs:
        for recurse in (True, False):
            for numel in (0, 10, 100):
                kwargs = {"recurse": recurse, "nonwrapped_numel": numel}
                assert (ember_wrap.size_based_auto_wrap_policy(ember_module, min_num_params=10,
                                                               **kwargs)
                        == torch_wrap.size_based_auto_wrap_policy(torch_module,
                                                                  min_num_params=10, **kwargs))
                ember_policy = functools.partial(ember_wrap.transformer_auto_wrap_policy,
                                                 transformer_layer_cls={ember.nn.Linear})
                torch_policy = functools.partial(torch_wrap.transformer_auto_wrap_policy,
                                                 transformer_layer_cls={torch.nn.Linear})
                assert ember_policy(ember_module, **kwargs) == torch_policy(torch_module,
                                                                            **kwargs)
                assert (ember_wrap.ModuleWrapPolicy({ember.nn.ModuleList})(ember_module,
                                                                           **kwargs)
                        == torch_wrap.ModuleWrapPolicy({torch.nn.ModuleList})(torch_module,
                                                                              **kwargs))
    assert ember_wrap.wrap(ember.nn.Linear(2, 2)).__class__ is ember.nn.Linear  # no context


def test_config_types_match_torch():
    import torch.distributed.fsdp as theirs

    import ember.distributed.fsdp as ours
    fsdp1 = ["BackwardPrefetch", "CPUOffload", "FullOptimStateDictConfig", "FullStateDictConfig",
             "FullyShardedDataParallel", "LocalOptimStateDictConfig", "LocalStateDictConfig",
             "MixedPrecision", "OptimStateDictConfig", "OptimStateKeyType",
             "ShardedOptimStateDictConfig", "ShardedStateDictConfig", "ShardingStrategy",
             "StateDictConfig", "StateDictSettings", "StateDictType"]
    assert set(fsdp1) <= set(theirs.__all__) and set(fsdp1) <= set(ours.__all__)
    for name in ("ShardingStrategy", "BackwardPrefetch", "StateDictType", "OptimStateKeyType"):
        assert [m.name for m in getattr(ours, name)] == [m.name for m in getattr(theirs, name)]
    for name in ("MixedPrecision", "CPUOffload", "FullStateDictConfig", "ShardedStateDictConfig",
                 "LocalStateDictConfig", "FullOptimStateDictConfig",
                 "ShardedOptimStateDictConfig", "LocalOptimStateDictConfig"):
        mine, expected = vars(getattr(ours, name)()), vars(getattr(theirs, name)())
        mine.pop("_module_classes_to_ignore", None)
        expected.pop("_module_classes_to_ignore", None)
        assert mine == expected, name


@pytest.fixture
def single_rank_group(monkeypatch):
    """A one-process ember group for this test only (destroyed after it)."""
    import ember.distributed as dist
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    dist.init_process_group("gloo", rank=0, world_size=1)
    yield dist
    dist.destroy_process_group()


def test_retain_graph_backward_twice(single_rank_group):
    """A second backward through the same graph adds the same gradient again, as the
    unwrapped PyTorch model does."""
    from ember.distributed.fsdp import FullyShardedDataParallel
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.Linear(4, 2))
    model.load_state_dict({k: ember.tensor(v.numpy()) for k, v in reference.state_dict().items()})
    wrapped = FullyShardedDataParallel(model, device_id=ember.device("cpu"),
                                       use_orig_params=True)
    x = torch.randn(5, 3)
    out = wrapped(ember.tensor(x.numpy())).sum()
    out.backward(retain_graph=True)
    out.backward()
    expected = reference(x).sum()
    expected.backward(retain_graph=True)
    expected.backward()
    names = [n.replace("_fsdp_wrapped_module.", "") for n, _ in wrapped.named_parameters()]
    assert names == [n for n, _ in reference.named_parameters()]
    for p, q in zip(wrapped.parameters(), reference.parameters()):
        torch.testing.assert_close(torch.from_numpy(p.grad.numpy().copy()), q.grad)
