"""DistributedDataParallel on 2 processes (ddp_script.py, run after the collectives in the
``ember run --nproc-per-node 2`` launch) against single-process training on the full
batches, and the torchrun-like launcher's exit handling (the TCP launch)."""

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.xdist_group("distributed")  # one worker starts the launches once


@pytest.fixture(scope="module")
def report(runs):
    return runs["mpi"].results(tag="DDP_RESULT")[0]


def test_training_matches_single_process(report):
    # as PyTorch: one bucket in the first round, then rebuilt at the tiny cap (several)
    assert report["buckets"][0] == 1 and report["buckets"][1] > 1
    assert report["grads_equal_across_ranks"] and report["params_equal_across_ranks"]
    assert report["no_sync_kept_local"] and report["forward_in_no_sync_stays_local"]
    for name, expected in report["single"].items():
        # float64 throughout: the two ranks' means averaged vs one mean over 16 samples
        torch.testing.assert_close(torch.tensor(report["ddp"][name]), torch.tensor(expected),
                                   msg=name)
        moved = np.abs(np.array(expected) - np.array(report["initial_rank0"][name])).max()
        assert moved > 1e-3, f"{name} did not train"


def test_state_dict_keys_have_module_prefix(report):
    assert report["state_dict_keys"] == ["module.0.weight", "module.0.bias"]


def test_find_unused_parameters(report):
    assert report["never_grad_is_none"]
    assert report["sometimes_equal_across_ranks"]
    assert report["sometimes_is_half_of_rank0"]  # rank 1 contributed zeros
    assert report["second_round_ok"]


def test_buffers_follow_rank_zero(report):
    assert report["buffer_after_init"] == [1.0] * 4
    assert report["buffers_differ_after_forward"]
    assert report["buffers_are_rank0s_at_next_forward"]


def test_errors(report):
    assert report["unfinished_error"].startswith(
        "Expected to have finished reduction in the prior iteration before starting a new one.")
    assert ("\nParameter indices which did not receive grad for rank 0: 2 3 4 5\n In addition"
            in report["unfinished_error"])  # PyTorch's format (test_ddp_parity compares it)
    assert report["no_params_error"] == ("DistributedDataParallel is not needed when a module "
                                         "doesn't have any parameter that requires a gradient.")


def test_started_by_the_launcher(report):
    """``ember run --nproc-per-node 2`` set torchrun's variables."""
    env = report["env"]
    assert (env["RANK"], env["LOCAL_RANK"], env["WORLD_SIZE"], env["LOCAL_WORLD_SIZE"]) == (
        "0", "0", "2", "2")
    assert (env["MASTER_ADDR"], env["MASTER_PORT"]) == ("127.0.0.1", "29500")


def test_explicit_ranks(report):
    assert report["permuted"] == [1, 1.0]  # MPI rank 0 became rank 1 and got rank 0's value
    assert report["duplicate_rank_error"] == ("the ranks passed to init_process_group by the 2 "
                                              "processes are [0, 0], not a permutation of 0..1")
    assert report["initialized_after_refusal"] is False
    assert report["world_size_error"] == ("world_size=3 was requested but this MPI job has 2 "
                                          "processes")


def test_launcher_without_mpirun(runs):
    """``python -m ember.distributed.run --transport tcp``: torchrun's variables, no MPI,
    and the first failing rank's status (3) ends the job instead of rank 0's minute of
    sleep."""
    results = runs["tcp"].results(expected_status=3)
    assert runs["tcp"].seconds < 55  # rank 0 was stopped, not waited for
    assert sorted(results) == [0, 1]
    for rank, record in results.items():
        assert record["extra_transport"] == "tcp"
        env = record["extra_launcher_env"]
        assert (env["RANK"], env["LOCAL_RANK"], env["WORLD_SIZE"], env["LOCAL_WORLD_SIZE"]) == (
            str(rank), str(rank), "2", "2")
