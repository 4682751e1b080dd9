"""ember.distributed's collectives, DDP communication hooks, Join and futures against real
PyTorch's gloo: collectives_script.py (with hooks_join_cases.py) runs on 2 processes under
PyTorch and under ember, twice: over MPI (``ember run --nproc-per-node 2``) and over
ember's TCP transport (``python -m ember.distributed.run --transport tcp``). Every case's
values, dtypes, shapes and errors must match. The single-process checks (errors before
init, init arguments) run in this process."""

import os
import socket
from datetime import timedelta

import numpy as np
import pytest

import ember
import ember.distributed as dist

pytestmark = pytest.mark.xdist_group("distributed")  # one worker starts the launches once


@pytest.fixture(scope="module", params=["mpi", "tcp"])
def both(runs, request):
    status = 3 if request.param == "tcp" else 0  # the TCP launch ends with a failing rank
    return runs[request.param].results(status), runs["torch"].results()


def _same(mine, expected) -> bool:
    """Equal records; floats within 1e-12 relative (the trained models are float64)."""
    if isinstance(expected, float) and isinstance(mine, float):
        return abs(mine - expected) <= 1e-12 * max(1.0, abs(expected))
    if isinstance(expected, list) and isinstance(mine, list):
        return len(mine) == len(expected) and all(map(_same, mine, expected))
    if isinstance(expected, dict) and isinstance(mine, dict):
        return mine.keys() == expected.keys() and all(_same(mine[k], expected[k])
                                                      for k in expected)
    return mine == expected


def test_every_case_matches_torch(both):
    ember_results, torch_results = both
    assert sorted(ember_results) == sorted(torch_results) == [0, 1]
    for rank in (0, 1):
        extra = {name for name in ember_results[rank] if name.startswith("extra_")}
        assert sorted(set(ember_results[rank]) - extra) == sorted(torch_results[rank])
        mismatched = {name: (ember_results[rank][name], expected)
                      for name, expected in torch_results[rank].items()
                      if not _same(ember_results[rank][name], expected)}
        assert not mismatched, f"rank {rank}: {mismatched}"


def test_values_are_the_expected_ones(both):
    """Independent of the oracle: a few results written out."""
    results = both[0]
    assert results[0]["all_reduce_SUM"]["values"] == [[1.0, 4.0, 7.0], [10.0, 13.0, 16.0]]
    assert results[1]["all_reduce_AVG"]["values"] == [[0.5, 2.0, 3.5], [5.0, 6.5, 8.0]]
    assert results[0]["all_reduce_int_BXOR"]["values"] == [1 ^ 2, 0, 6, -5 ^ -4]
    assert results[1]["all_reduce_bool"] == {"dtype": "bool", "shape": [4],
                                             "values": [True, False, True, False]}
    assert results[0]["all_reduce_half"]["dtype"] == "float16"
    assert results[0]["all_reduce_view"][0]["values"] == [[3.0, 3.0]] * 3
    assert results[1]["broadcast"]["values"] == [0.0, 3.0, 6.0, 9.0, 12.0]
    assert results[0]["all_gather_into_tensor"]["values"] == [0.0, 1.0, 2.0, 1.0, 2.0, 3.0]
    assert results[1]["gather"][1]["values"] == [0.0, 2.0, 4.0]
    assert results[1]["scatter"]["values"] == [1, 10]
    assert results[0]["reduce_scatter"]["values"] == [1.0, 3.0, 5.0]
    assert results[1]["all_to_all"][0]["values"] == [0.0, 1.0]
    assert results[0]["all_to_all_single_splits"]["values"] == [0.0, 10.0, 11.0, 12.0]
    assert results[1]["all_to_all_single_splits"]["values"] == [1.0, 2.0, 13.0]
    assert results[0]["send_recv"] == [1, {"dtype": "float32", "shape": [3],
                                           "values": [14.0, 16.0, 18.0]}]
    assert results[1]["isend_irecv"][3]["values"] == [0, 5]
    assert results[0]["objects"][0] == [{"rank": 0, "name": "r0"}, {"rank": 1, "name": "r1"}]
    assert results[1]["objects"][3] == [[1, "s"]]
    assert results[0]["groups"][0] == -1 and results[1]["groups"][0] == 0
    assert results[0]["groups"][2]["values"] == [1.0, 1.0]  # outside the group: untouched
    assert results[0]["error_after_destroy"]["error"] == "ValueError"
    assert results[1]["batch_isend_irecv"]["values"] == [0.0, 1.0]
    assert results[1]["object_send_recv"] == [0, ["hello", 3]]


def test_ddp_step_and_launcher(runs):
    """An unmodified PyTorch DDP step under ``ember run --nproc-per-node 2``."""
    ember_results = runs["mpi"].results()
    for rank in (0, 1):
        grad, same_weights, keys = ember_results[rank]["ddp_step"]
        # d(sum of outputs)/dW = sum of the input rows, 4 * (rank + 1), averaged over ranks
        assert grad["values"] == [[6.0, 6.0, 6.0]] and same_weights
        assert keys == ["module.weight", "module.bias"]
        assert ember_results[rank]["extra_module"] == "ember"  # `import torch` gave ember
        assert ember_results[rank]["extra_transport"] == "mpi"
        env = ember_results[rank]["extra_launcher_env"]
        assert (env["RANK"], env["LOCAL_RANK"], env["WORLD_SIZE"]) == (str(rank), str(rank), "2")
        assert (env["LOCAL_WORLD_SIZE"], env["MASTER_ADDR"], env["MASTER_PORT"]) == (
            "2", "127.0.0.1", "29500")
        assert env["TORCHELASTIC_RUN_ID"]


def test_ember_only_cases(both):
    """Cases PyTorch's gloo rejects or leaves unspecified, checked by value."""
    results = both[0]
    assert results[0]["extra_all_gather_into_tensor_stacked"]["values"] == [[0.0, 1.0],
                                                                            [1.0, 2.0]]
    assert results[1]["extra_reduce_non_root_untouched"]["values"] == [2.0, 2.0]
    assert results[0]["extra_reduce_non_root_untouched"]["values"] == [3.0, 3.0]
    # integer AVG truncates toward zero: [3, 7, -1] / 2
    assert results[1]["extra_avg_int"]["values"] == [1, 3, 0]
    assert results[1]["extra_async_broadcast"] == [
        True, {"dtype": "float32", "shape": [2], "values": [5.0, 5.0]}, True]


def test_hooks_join_futures_values(both):
    """Independent of the oracle: the uneven-input and hook results written out."""
    results = both[0]
    # Join: rank 0 ran 3 iterations, rank 1 five; rank 1 joined last and its max_count
    # (2 per shared iteration, 1 per lone one) went everywhere
    assert results[1]["join_counter"][0][2] is True and results[0]["join_counter"][0][2] is False
    assert results[0]["join_counter"][0][1]["values"] == [8.0]
    assert results[0]["join_counter"][0][0]["values"] == [6.0]
    assert results[0]["join_ddp_throw"]["message"] == "Rank 0 exhausted all inputs."
    assert results[1]["join_ddp_throw"]["message"] == (
        "Detected at least one rank that exhausted inputs. Throwing across all ranks.")
    for rank in (0, 1):  # after join every rank holds the last joiner's model
        assert results[rank]["join_ddp"][1] == results[1]["join_ddp"][1]
        assert results[rank]["join_ddp_rank0_longer"][1] == results[0]["join_ddp_rank0_longer"][1]
    assert results[1]["join_ddp"][1] != results[1]["join_ddp_divide_by_current"][1]
    assert results[0]["ddp_hook_allreduce"] == results[0]["ddp_hook_none"]
    assert results[0]["ddp_hook_fp16"] != results[0]["ddp_hook_none"]  # really compressed
    assert results[0]["ddp_hook_by_name"][1] == results[0]["ddp_hook_fp16"]
    assert results[0]["ddp_hook_noop"] != results[1]["ddp_hook_noop"]  # nothing averaged
    calls, seen, _ = results[0]["ddp_hook_bucket"]
    assert calls == 2 and [entry[:4] for entry in seen] == [[0, True, "float64", [23]]] * 2
    assert results[0]["futures_basic"] == [False, True, 5, 5, 60, [5, 8]]
    # ZeRO: largest parameter first, each to the emptier rank (12 elements vs 6 + 3 + 2)
    assert results[0]["zero_sgd"][0] == [[[3, 4]]]
    assert results[1]["zero_sgd"][0] == [[[2, 3], [3], [2]]]
    assert sorted(results[0]["zero_sgd"][1][0]) == ["0", "1", "2", "3"]  # all gathered on 0
    assert results[1]["zero_sgd"][1].startswith("Optimizer state has not been consolidated")
    assert results[0]["zero_sgd"][2][-1] == [1, 2, 3]  # loading kept rank 0's shard only
    for rank in (0, 1):  # every rank ends with the same parameters
        assert results[rank]["zero_join"][2] == results[0]["zero_join"][2]
    assert results[1]["futures_from_work"][2]["values"] == [0.0, 3.0, 6.0]


def test_bf16_hooks(both):
    """PyTorch allows the bfloat16 hooks with NCCL only; ember's are checked by value: the
    same training as without a hook, within bfloat16's rounding of the gradients."""
    results = both[0]
    for rank in (0, 1):
        plain = [np.array(p["values"]) for p in results[rank]["ddp_hook_none"]]
        for name in ("extra_ddp_hook_bf16", "extra_ddp_hook_bf16_wrapper"):
            trained = [np.array(p["values"]) for p in results[rank][name]]
            assert any((a != b).any() for a, b in zip(trained, plain)), name
            for a, b in zip(trained, plain):
                np.testing.assert_allclose(a, b, rtol=0.05, atol=0.05, err_msg=name)
        assert results[rank]["extra_ddp_hook_bf16"] == results[rank]["extra_ddp_hook_bf16_wrapper"]


def test_power_sgd_low_rank(both):
    """Rank-1 PowerSGD draws ember's own random Qs, so it is checked by its properties:
    every rank holds the same model, which moved off the exact average, with the error
    kept for feedback and fewer numbers sent."""
    results = both[0]
    trained, iterations, error_buckets, (rate, before, after) = results[0]["extra_powersgd_rank1"]
    assert trained == results[1]["extra_powersgd_rank1"][0]
    assert trained != results[0]["ddp_hook_none"] and iterations == 4 and error_buckets == [0]
    assert before == 46 and after == 34 and rate == before / after  # 2 compressed steps
    exact = results[0]["ddp_hook_powersgd_full"][0]
    for mine, reference in zip(trained, exact):
        np.testing.assert_allclose(np.array(mine["values"]), np.array(reference["values"]),
                                   rtol=1.0, atol=3.0)  # near the average, not on it


# -- one process, no mpirun ---------------------------------------------------------------

NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                   "init_process_group.")


@pytest.mark.parametrize("call", [
    lambda: dist.get_rank(), lambda: dist.get_world_size(), lambda: dist.barrier(),
    lambda: dist.all_reduce(ember.ones(2)), lambda: dist.broadcast(ember.ones(2), src=0),
    lambda: dist.new_group([0]), lambda: dist.destroy_process_group(),
])
def test_not_initialized(call):
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="^" + NOT_INITIALIZED.replace(".", r"\.") + "$"):
        call()


def test_single_process_group(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert dist.is_available() and dist.is_mpi_available() and dist.is_gloo_available()
    with pytest.raises(RuntimeError, match="Invalid backend: 'bogus'"):
        dist.init_process_group("bogus")
    # PyTorch's env:// errors when the mp.spawn pattern lacks its variables
    with pytest.raises(ValueError, match="environment variable MASTER_ADDR expected, but not "
                                         "set"):
        dist.init_process_group("gloo", rank=1, world_size=2)
    monkeypatch.setenv("WORLD_SIZE", "3")
    with pytest.raises(ValueError, match="environment variable RANK expected, but not set"):
        dist.init_process_group("gloo")
    monkeypatch.setenv("WORLD_SIZE", "1")
    with pytest.raises(ValueError, match=r"Invalid rank 4, rank should be in the interval "
                                         r"\[0, 0\]"):
        dist.init_process_group("gloo", rank=4)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RuntimeError, match="Timed out initializing process group: rank 1 "
                                           "could not connect to 127.0.0.1"):
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}",
                                rank=1, world_size=2, timeout=timedelta(seconds=0.3))
    assert not dist.is_initialized()
    dist.init_process_group("mpi", init_method="env://")
    try:
        assert dist.is_initialized() and dist.get_backend() == "mpi"
        assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
        tensor = ember.arange(4.0)
        version = tensor._version
        assert dist.all_reduce(tensor, op=dist.ReduceOp.MAX, async_op=True).wait()
        assert tensor.tolist() == [0.0, 1.0, 2.0, 3.0] and tensor._version > version
        with pytest.raises(ValueError, match="trying to initialize the default process group "
                                             "twice!"):
            dist.init_process_group("gloo")
        with pytest.raises(TypeError, match="Expected parameter `tensor` of type torch.Tensor"):
            dist.all_reduce([1.0])
        with pytest.raises(RuntimeError, match=r"ProcessGroupGloo::reduce: invalid root rank: "
                                               r"3"):
            dist.reduce(tensor, dst=3)
        model = ember.nn.Linear(2, 1)
        ddp = ember.nn.parallel.DistributedDataParallel(model)
        ddp(ember.ones(3, 2)).sum().backward()
        assert model.weight.grad.tolist() == [[3.0, 3.0]]  # the world of one averages nothing
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()


def test_node_local_rank_and_monitored_barrier(monkeypatch):
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert dist.get_node_local_rank(fallback_rank=3) == 3
    with pytest.raises(RuntimeError, match="LOCAL_RANK is not in the environment"):
        dist.get_node_local_rank()
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert dist.get_node_local_rank(fallback_rank=3) == 1
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    dist.init_process_group("gloo")  # a world of one, no MPI launcher: the TCP transport
    try:
        assert dist.monitored_barrier() is None
    finally:
        dist.destroy_process_group()


def test_reduce_op_and_backend_names():
    assert dist.ReduceOp.SUM == dist.ReduceOp.RedOpType.SUM
    assert dist.ReduceOp(dist.ReduceOp.MAX) == dist.ReduceOp.MAX
    assert list(dist.ReduceOp.RedOpType.__members__) == [
        "SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR", "PREMUL_SUM"]
    assert dist.Backend("GLOO") == "gloo" == dist.Backend.GLOO
    assert dist.GroupMember.NON_GROUP_MEMBER == -100
    assert dist.group.WORLD is None


def test_launcher_refuses_several_nodes(capsys):
    from ember.distributed import run
    assert run.main(["--nnodes", "2", "script.py"]) == 2
    assert "one machine only" in capsys.readouterr().err
    with pytest.raises(ValueError, match="--nproc-per-node must be at least 1"):
        run.launch(["script.py"], 0)
    assert os.path.basename(run.find_mpirun()) in ("mpirun", "mpiexec")
