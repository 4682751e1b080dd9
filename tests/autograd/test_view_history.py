"""Views whose base is written in place after the view was taken: their gradient must
follow the base's new history (PyTorch regenerates the view's grad_fn), never the stale one."""

import numpy as np
import oracle
import pytest
import torch
from oracle import as_numpy

import ember

DEVICE = oracle.DEVICE  # pytest --device cuda: ember's tensors live there


def _grads(lib, program):
    """x's gradient, with every tensor the program builds on the library's oracle device."""
    with oracle.on_device(lib):
        x = lib.tensor(np.arange(1.0, 7.0), requires_grad=True)
        program(lib, x).backward()
    assert x.grad.device == x.device
    return as_numpy(x.grad)


def _base_mul_then_views(lib, x):
    a = x.clone()
    row, grid = a[:2], a.view(2, 3)
    a.mul_(3)
    return row.sum() + (grid[1] * grid[1]).sum()


def _write_through_other_view(lib, x):
    a = x.clone()
    left, middle = a[:3], a[1:4]
    middle.mul_(5)
    return (left * left).sum()


def _setitem_on_base(lib, x):
    a = x.clone()
    tail = a[3:]
    a[4] = x[0] * 10
    return (tail * lib.arange(3.0)).sum()


def _view_of_view(lib, x):
    a = x.clone()
    inner = a.view(2, 3)[:, 1:]
    a.add_(a.detach())  # history changes: AddBackward
    a.exp_()
    return inner.sum()


def _transpose_then_inplace(lib, x):
    a = x.clone().view(2, 3)
    t = a.t()
    a.pow_(2)
    return (t * lib.arange(6.0).view(3, 2)).sum()


def _backward_on_stale_view_itself(lib, x):
    a = x.clone()
    v = a[1:5]
    a.mul_(2.0)
    a.add_(x)
    return v[0] * v[3]


PROGRAMS = [_base_mul_then_views, _write_through_other_view, _setitem_on_base, _view_of_view,
            _transpose_then_inplace, _backward_on_stale_view_itself]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__.strip("_"))
def test_gradient_follows_new_base_history(program):
    np.testing.assert_allclose(_grads(ember, program), _grads(torch, program))


def test_backward_called_on_stale_view():
    def run(lib):
        with oracle.on_device(lib):
            x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
            a = x * 1
            v = a[:2]
            a.mul_(4)
            v.backward(lib.ones(2))
        return as_numpy(x.grad)

    np.testing.assert_array_equal(run(ember), run(torch))


def test_leaf_written_under_no_grad_keeps_view_history():
    """An optimizer-style no_grad update of a leaf does not change any history: a view
    taken before keeps its own node (no regeneration needed) and its gradient."""
    w = ember.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, device=DEVICE)
    wt = w.t()
    with ember.no_grad():
        w.add_(1.0)
    (wt * ember.tensor([[1.0, 0.0], [0.0, 2.0]], device=DEVICE)).sum().backward()
    assert wt.grad_fn.name() == "TBackward0"
    np.testing.assert_array_equal(as_numpy(w.grad), [[1.0, 0.0], [0.0, 2.0]])


def test_values_of_views_are_current():
    a = ember.tensor([1.0, 2.0, 3.0], requires_grad=True, device=DEVICE).clone()
    v = a[1:]
    a.mul_(2)
    np.testing.assert_array_equal(as_numpy(v.detach()), [4.0, 6.0])
    assert v.device == a.device
