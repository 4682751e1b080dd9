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


# -- tensors in shared memory ---------------------------------------------------------------

def _hogwild_train(rank, model, steps):
    optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
    x = ember.ones(8, 4) * (rank + 1)
    y = ember.zeros(8, dtype=ember.long)
    for _ in range(steps):
        optimizer.zero_grad()
        ember.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()


def _write_into(tensor, value):
    tensor.fill_(value)


def test_share_memory_like_torch():
    facts = []
    for lib in (ember, torch):
        t = lib.arange(6.0).view(2, 3)
        before = t.is_shared()
        same = t.share_memory_() is t
        model = lib.nn.Linear(2, 2)
        returned = model.share_memory() is model
        facts.append([before, same, t.is_shared(), t.tolist(), returned,
                      all(p.is_shared() for p in model.parameters()),
                      type(model.weight).__name__])
    assert facts[0] == facts[1]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_children_write_into_shared_tensors(method):
    context = multiprocessing.get_context(method)
    shared = ember.zeros(4).share_memory_()
    private = ember.zeros(4)
    for tensor, value in ((shared, 3.0), (private, 5.0)):
        process = context.Process(target=_write_into, args=(tensor, value))
        process.start()
        process.join()
        assert process.exitcode == 0
    assert shared.tolist() == [3.0] * 4  # the child wrote into the parent's memory
    assert private.tolist() == [0.0] * 4  # pickled as a copy


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_hogwild_updates_the_parents_parameters(method):
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))
    model.share_memory()
    before = model[2].bias.clone()
    context = multiprocessing.get_context(method)
    processes = [context.Process(target=_hogwild_train, args=(rank, model, 5))
                 for rank in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    assert [process.exitcode for process in processes] == [0, 0]
    assert not ember.equal(before, model[2].bias)
    assert model[2].bias[0].item() > model[2].bias[1].item()  # both ranks push class 0 up
    assert isinstance(model[2].bias, ember.nn.Parameter) and model[2].bias.is_shared()
