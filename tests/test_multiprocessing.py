"""ember.multiprocessing (torch.multiprocessing): Python's multiprocessing under PyTorch's
name, spawn/start_processes with PyTorch's error reporting, sharing strategies."""

import multiprocessing

import pytest
import torch

import ember
import ember.multiprocessing as mp


def _square_into(rank, queue, x):
    queue.put((rank, (x * x * (rank + 1)).sum().item()))


def _fails_on_one(rank):
    if rank == 1:
        raise ValueError("rank one refuses")


def _exits_on_zero(rank):
    if rank == 0:
        raise SystemExit(3)


def test_reexports_python_multiprocessing_like_torch():
    for name in ["Process", "Queue", "SimpleQueue", "Pool", "get_context", "set_start_method",
                 "cpu_count", "Manager", "spawn", "start_processes"]:
        assert hasattr(mp, name) and hasattr(torch.multiprocessing, name), name
    assert mp.Process is multiprocessing.Process
    assert ember.multiprocessing is mp


def test_spawn_runs_each_rank_and_passes_tensors():
    queue = multiprocessing.get_context("spawn").SimpleQueue()
    mp.spawn(_square_into, args=(queue, ember.tensor([1.0, 2.0])), nprocs=2)
    assert sorted(queue.get() for _ in range(2)) == [(0, 5.0), (1, 10.0)]


def test_spawn_raises_the_child_error_like_torch():
    with pytest.raises(mp.ProcessRaisedException,
                       match="-- Process 1 terminated with the following error:") as info:
        mp.spawn(_fails_on_one, nprocs=2)
    assert "ValueError: rank one refuses" in str(info.value)
    assert info.value.error_index == 1


def test_exit_code_and_join_false():
    context = mp.start_processes(_exits_on_zero, nprocs=1, join=False, start_method="fork")
    with pytest.raises(mp.ProcessExitedException, match="process 0 terminated with exit code 3"):
        while not context.join():
            pass


def test_sharing_strategies_like_torch():
    assert mp.get_all_sharing_strategies() == torch.multiprocessing.get_all_sharing_strategies()
    assert mp.get_sharing_strategy() == torch.multiprocessing.get_sharing_strategy()
    mp.set_sharing_strategy("file_system")
    assert mp.get_sharing_strategy() == "file_system"
    mp.set_sharing_strategy("file_descriptor")
