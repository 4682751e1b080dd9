"""nn.parallel's replicate, scatter, gather and parallel_apply.

On the CPU PyTorch refuses them (they are CUDA-only), so the public functions are
compared with PyTorch's CPU errors. The work itself is device-agnostic in ember
(``_replicate``, ``_scatter``, ``_gather``, ``_parallel_apply``, which the public
functions call after the device checks); it runs here with CPU "devices" and is
compared with what PyTorch's definitions give: torch.chunk for scatter, torch.cat for
gather, the original module for each replica, gradients summed into the original
parameters."""

import collections

import numpy as np
import pytest
import torch
import torch.nn.parallel as tparallel

import ember
import ember.nn.parallel as parallel
from ember.nn.parallel.parallel_apply import _parallel_apply
from ember.nn.parallel.replicate import _replicate
from ember.nn.parallel.scatter_gather import _gather, _scatter

CPU2 = [ember.device("cpu")] * 2
Pair = collections.namedtuple("Pair", "left right")


def _outcome(call):
    try:
        value = call()
    except Exception as error:  # noqa: BLE001 - the outcome is what is compared
        return type(error).__name__, str(error)
    return "ok", value


def _torch_and_ember(seed=0):
    """A small torch module and the ember copy of it, and a batch for both."""
    torch.manual_seed(seed)
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4),
                                    torch.nn.Tanh(), torch.nn.Linear(4, 2))
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.BatchNorm1d(4),
                                ember.nn.Tanh(), ember.nn.Linear(4, 2))
    model.load_state_dict({key: ember.tensor(value.numpy())
                           for key, value in reference.state_dict().items()})
    batch = torch.randn(5, 3)
    return reference, model, batch, ember.tensor(batch.numpy())


def test_cpu_devices_raise_as_torch(monkeypatch):
    # what these do depends on whether a GPU is there: ember sees the one torch sees (a
    # CuPy double gives ember a GPU that torch has not)
    monkeypatch.setattr(ember.cuda, "is_available", torch.cuda.is_available)
    linear, x = torch.nn.Linear(2, 2), torch.randn(4, 2)
    mine_linear, mine_x = ember.nn.Linear(2, 2), ember.tensor(x.numpy())
    mine_linear.load_state_dict({k: ember.tensor(v.detach().numpy())
                                 for k, v in linear.state_dict().items()})
    cases = [
        (lambda lib, m, t: lib.replicate(m, ["cpu"])),
        (lambda lib, m, t: lib.replicate(m, [])),
        (lambda lib, m, t: lib.scatter(t, ["cpu", "cpu"])),
        (lambda lib, m, t: lib.scatter((t, 3), ["cpu"])),
        (lambda lib, m, t: lib.scatter((3, "a"), ["cpu", "cpu"])),
        (lambda lib, m, t: lib.scatter({"a": 1}, ["cpu", "cpu"])),
        (lambda lib, m, t: lib.gather([t, t], "cpu")),
        (lambda lib, m, t: lib.gather([(t, t), (t, t)], -1)),
        (lambda lib, m, t: lib.gather([None, None], "cpu")),
        (lambda lib, m, t: lib.gather([3, 3], "cpu")),
        (lambda lib, m, t: lib.parallel_apply([m], [t, t])),
        (lambda lib, m, t: lib.parallel_apply([m, m], [t, t], devices=["cpu", "cpu"])),
        (lambda lib, m, t: lib.parallel_apply([m, m], [t, t])),
    ]
    for case in cases:
        expected = _outcome(lambda: case(tparallel, linear, x))
        mine = _outcome(lambda: case(parallel, mine_linear, mine_x))
        if expected[0] == "TypeError":  # the wording is Python's own (zip over an int)
            assert mine[0] == "TypeError"
        elif expected[0] == "ok" and expected[1] and all(
                isinstance(v, torch.Tensor) for v in expected[1]):
            # with a GPU, parallel_apply runs the replicas of cpu inputs on the cpu
            assert mine[0] == "ok" and len(mine[1]) == len(expected[1]), mine
            for got, want in zip(mine[1], expected[1]):
                np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(),
                                           rtol=1e-6)
        else:
            assert mine == expected


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_chunks_as_torch_chunk(dim):
    array = np.arange(30.0, dtype=np.float32).reshape(5, 6)
    expected = torch.tensor(array).chunk(2, dim)
    pieces = _scatter(ember.tensor(array), CPU2, dim)
    assert len(pieces) == len(expected)
    for mine, theirs in zip(pieces, expected):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_scatter_and_gather_recurse_into_containers():
    x, y = ember.arange(8.0).reshape(4, 2), ember.arange(4)
    pieces = _scatter((x, [y, y], {"k": y}, Pair(x, 7)), CPU2)
    assert len(pieces) == 2 and isinstance(pieces[0], tuple)
    first = pieces[0]
    assert first[0].tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert isinstance(first[1], list) and first[1][1].tolist() == [0, 1]
    assert first[2]["k"].tolist() == [0, 1] and type(first[3]) is Pair and first[3].right == 7
    assert _scatter(("tag", x), CPU2)[1][0] == "tag"
    pieces = [(a, b, c, Pair(d.left, d.left)) for a, b, c, d in pieces]  # ints do not gather
    joined = _gather(pieces, ember.device("cpu"))
    assert joined[0].tolist() == x.tolist() and joined[2]["k"].tolist() == y.tolist()
    assert type(joined[3]) is Pair and joined[3].left.tolist() == x.tolist()
    assert _scatter(ember.arange(1.0), CPU2)[0].tolist() == [0.0]  # one row: one piece
    assert len(_scatter(ember.arange(1.0), CPU2)) == 1
    with pytest.warns(UserWarning, match="all input tensors were scalars"):
        assert _gather([ember.tensor(1.0), ember.tensor(2.0)], ember.device("cpu")).tolist() \
            == [1.0, 2.0]
    with pytest.raises(ValueError, match="same number of keys"):
        _gather([{"a": x}, {"a": x, "b": x}], ember.device("cpu"))


def test_scatter_gather_round_trip_carries_gradients():
    x = ember.randn(4, 3, requires_grad=True)
    pieces = _scatter(x, CPU2)
    joined = _gather([piece * (index + 1) for index, piece in enumerate(pieces)],
                     ember.device("cpu"))
    joined.sum().backward()
    assert x.grad.tolist() == [[1.0] * 3] * 2 + [[2.0] * 3] * 2


def test_replicas_compute_as_the_module_and_send_gradients_home():
    reference, model, batch, mine_batch = _torch_and_ember()
    replicas = _replicate(model, CPU2)
    assert len(replicas) == 2 and all(r is not model for r in replicas)
    assert list(replicas[0].parameters()) == []  # as PyTorch's replicas: plain tensors
    assert replicas[0][0] is not model[0] and replicas[0][0] is not replicas[1][0]
    expected = reference(batch)
    halves = batch.chunk(2)
    outputs = _parallel_apply(replicas, _scatter(mine_batch, CPU2))
    joined = _gather(outputs, ember.device("cpu"))
    torch.testing.assert_close(torch.tensor(joined.detach().numpy()),
                               torch.cat([reference(h) for h in halves]))
    assert expected.shape == tuple(joined.shape)
    joined.sum().backward()
    torch.cat([reference(h) for h in halves]).sum().backward()
    for (name, mine), theirs in zip(model.named_parameters(), reference.parameters()):
        torch.testing.assert_close(torch.tensor(mine.grad.numpy()), theirs.grad, msg=name)
    detached = _replicate(model, CPU2, detach=True)
    assert detached[0][0].weight.requires_grad and detached[0][0].weight.grad_fn is None
    assert detached[0][1].running_mean is not model[1].running_mean


def test_parallel_apply_keeps_order_kwargs_and_raises_the_replica_error():
    class Scale(ember.nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    class Broken(ember.nn.Module):
        def forward(self, x):
            raise KeyError("no such thing")

    x = ember.ones(2)
    outputs = _parallel_apply([Scale(), Scale(), Scale()], [x, (x,), [x]],
                              [{"factor": 2.0}, {}, {"factor": -1.0}])
    assert [o.tolist() for o in outputs] == [[2.0, 2.0], [1.0, 1.0], [-1.0, -1.0]]
    with pytest.raises(KeyError, match="in replica 1"):
        _parallel_apply([Scale(), Broken()], [x, x])
    with ember.no_grad():
        assert not _parallel_apply([Scale(), Scale()], [x.requires_grad_(), x])[0].requires_grad
