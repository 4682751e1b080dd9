"""ember.distributed.rpc, distributed.autograd, DistributedOptimizer and RemoteModule on
three processes (and ember.distributed.nn.functional's differentiable collectives):
rpc_script.py runs every case in one launch (a trainer, a parameter
server and an aux worker the server calls in turn) and prints its results; this process
computes the same training with real PyTorch locally and compares. PyTorch's RPC texts
for errors are written out here (they were read from torch 2.13; launching torch's RPC
workers in CI would cost more than the whole check)."""

import sys

import pytest
import torch

from .conftest import Run, free_port


@pytest.fixture(scope="module")
def results():
    ports = [str(free_port()), str(free_port())]
    workers = [Run([sys.executable, "rpc_script.py", str(rank), *ports]) for rank in range(3)]
    for worker in workers:
        worker.output()
    stderrs = [worker.stderr[-4000:] for worker in workers]
    found = workers[0].results()
    assert found, stderrs[0]
    found = found[0]
    for name, value in found.items():
        assert "failed" not in value, (name, value, stderrs[0])
    for rank, value in enumerate(found["collectives"]):
        assert "failed" not in value, (rank, value, stderrs[rank])
    return found


def _initial(shape, offset):
    count = 1
    for size in shape:
        count *= size
    return ((torch.arange(count, dtype=torch.float64) * 0.37 + offset) % 1.0 - 0.5) \
        .reshape(shape)


def test_calls_and_rrefs(results):
    basics = results["basics"]
    assert basics["sync_add"] == torch.add(torch.ones(2, 3), 2).tolist()
    assert basics["async_mul"] == ["ember.futures", [0.0, 3.0, 6.0, 9.0]]
    assert basics["worker_info"] == ["WorkerInfo(id=1, name=ps)", "trainer", "aux"]
    assert basics["remote"][:5] == [[1.0, 1.0], "ps", "WorkerInfo(id=1, name=ps)", False, True]
    assert basics["remote"][5][0] == "RuntimeError"
    assert basics["remote"][5][1].startswith("Cannot call localValue() on a non-local")
    assert basics["local_rref"] == [True, [1.0, 2.0], [1.0, 2.0], [1.0, 2.0]]
    assert basics["proxies"] == [8, 9, 10]
    # (torch.ones(2) + 1) * 10 through a Future the callee answered with
    assert basics["async_execution"] == [20.0, 20.0]


def test_errors_as_torch(results):
    errors = results["basics"]["errors"]
    unknown = ["RuntimeError", "name:trainer,rank:0 could not find destination name nobody"]
    assert errors["unknown"] == errors["unknown_info"] == unknown
    text = "RPCErr:1:RPC ran for more than set timeout ({} ms) and will now be marked with an error"
    assert errors["timeout"] == ["RuntimeError", text.format(200)]
    assert errors["timeout_async"] == ["RuntimeError", text.format(100)]
    assert errors["remote_raise"] == ["ValueError", "On WorkerInfo(id=1, name=ps):"]
    assert errors["no_context"] == ["RuntimeError",
                                    "Could not find autograd context with id: 12345"]


def test_parameter_server_training_matches_torch(results):
    """The tutorial's loop across three workers equals the same model trained locally."""
    trained = results["training"]
    local, remote = torch.nn.Linear(4, 5).double(), torch.nn.Linear(5, 3).double()
    scale = torch.nn.Parameter(_initial((3,), 0.9))
    with torch.no_grad():
        local.weight.copy_(_initial((5, 4), 0.1))
        local.bias.copy_(_initial((5,), 0.3))
        remote.weight.copy_(_initial((3, 5), 0.2))
        remote.bias.copy_(_initial((3,), 0.6))
    params = [*local.parameters(), *remote.parameters(), scale]
    optimizer = torch.optim.SGD(params, lr=0.5, momentum=0.9)
    inputs, targets = _initial((6, 4), 0.05), _initial((6, 3), 0.7)
    losses = []
    for step in range(3):
        optimizer.zero_grad()
        out = torch.tanh(remote(torch.relu(local(inputs))) * scale)
        loss = ((out - targets) ** 2).mean()
        loss.backward()
        if step == 0:
            torch.testing.assert_close(torch.tensor(trained["first_grads"][0],
                                                    dtype=torch.float64), local.weight.grad)
            torch.testing.assert_close(torch.tensor(trained["first_grads"][1],
                                                    dtype=torch.float64), local.bias.grad)
        optimizer.step()
        losses.append(loss.item())
    assert trained["first_grads"][2] is True  # distributed backward leaves .grad alone
    torch.testing.assert_close(trained["losses"], losses)
    for mine, expected in zip(trained["finals"], params):
        torch.testing.assert_close(torch.tensor(mine, dtype=torch.float64), expected.detach())
    assert trained["released"] == 0  # leaving each context freed it


def test_remote_module(results):
    found = results["remote_module"]
    assert found["out_requires_grad"] is True
    for key in ("forward", "async", "weight_step", "bias_step"):
        assert found[key] < 1e-12, (key, found[key])


def test_differentiable_collectives_match_torch(results):
    """Each rank's gradients equal those of the sum of every rank's loss, which torch
    computes here with the three ranks' tensors in one graph."""
    xs = [(_initial((3,), 0.1 * rank) + rank).requires_grad_() for rank in range(3)]
    reduced = sum(x * x for x in xs)
    gathered = [x * (rank + 1) for rank, x in enumerate(xs)]
    sent = xs[1].exp()
    losses = []
    for rank in range(3):
        scattered = sum(x * (rank + 1) for x in xs)
        loss = (reduced * (rank + 1)).sum() + sum((g * (rank + s + 1)).sum()
                                                 for s, g in enumerate(gathered))
        loss = loss + (sent * (rank + 2)).sum() + (scattered.sin() * (rank + 3)).sum()
        reduced_to_0 = sum(x * 2 for x in xs) if rank == 0 else xs[rank] * 2
        loss = loss + (reduced_to_0 * (1.0 if rank == 0 else 0.0)).cos().sum()
        exchanged = [xs[j] * (j + 1 + rank) for j in range(3)]
        losses.append(loss + sum((out * (rank + j + 1)).sum() for j, out in enumerate(exchanged)))
        found = results["collectives"][rank]
        torch.testing.assert_close(torch.tensor(found["scattered"], dtype=torch.float64),
                                   scattered.detach())
        torch.testing.assert_close(torch.tensor(found["reduced"], dtype=torch.float64),
                                   reduced.detach())
        torch.testing.assert_close(found["loss"], losses[-1].item())
    sum(losses).backward()
    for rank, x in enumerate(xs):
        torch.testing.assert_close(torch.tensor(results["collectives"][rank]["grad"],
                                                dtype=torch.float64), x.grad)
