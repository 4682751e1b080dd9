"""DistributedDataParallel on 2 processes (ddp_script.py) against single-process training
on the full batches, and the launcher running an unmodified PyTorch DDP script."""

import numpy as np
import pytest
import torch


@pytest.fixture(scope="module")
def report(runs):
    return runs["ddp"].results()[0]


def test_training_matches_single_process(report):
    assert report["buckets"] > 1  # the tiny bucket cap splits the gradients
    assert report["grads_equal_across_ranks"] and report["params_equal_across_ranks"]
    assert report["no_sync_kept_local"]
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
    assert report["unfinished_error"].endswith(
        "Parameter indices which did not receive grad for rank 0: [2, 3, 4, 5]")
    assert report["no_params_error"] == ("DistributedDataParallel is not needed when a module "
                                         "doesn't have any parameter that requires a gradient.")


def test_ember_run_nproc_per_node(runs):
    results = runs["launcher"].results()
    assert sorted(results) == [0, 1]
    for rank, record in results.items():
        assert record["module"] == "ember"  # `import torch` gave ember
        assert record["world_size"] == 2
        env = record["env"]
        assert (env["RANK"], env["LOCAL_RANK"], env["WORLD_SIZE"]) == (str(rank), str(rank), "2")
        assert (env["LOCAL_WORLD_SIZE"], env["MASTER_ADDR"], env["MASTER_PORT"]) == (
            "2", "127.0.0.1", "29500")
        assert env["TORCHELASTIC_RUN_ID"]
        # d(sum of outputs)/dW = sum of the rows: 4 * (rank + 1), averaged over the ranks
        assert record["weight_grad"] == [[6.0, 6.0, 6.0]]
    assert results[0]["weight"] == results[1]["weight"]
