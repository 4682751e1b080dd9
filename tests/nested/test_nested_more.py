"""nested.narrow and nested.masked_select against torch.nested (2.13): entries, offsets,
lengths, memory sharing, gradients and PyTorch's errors."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

import ember
from ember import overrides
from ember.nested import _nested_tensor


@pytest.fixture(autouse=True, scope="module")
def _protocol_off_afterwards():
    """Building a NestedTensor installs the __torch_function__ dispatch; undo it."""
    yield
    overrides._uninstall()
    _nested_tensor._DISPATCH_ON[0] = False


def _np(t):
    return np.asarray(t.detach().numpy())


def _same_entries(e_nt, t_nt):
    e_entries, t_entries = e_nt.unbind(), t_nt.unbind()
    assert len(e_entries) == len(t_entries)
    for e, t in zip(e_entries, t_entries):
        np.testing.assert_array_equal(_np(e), _np(t))


def _both(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: nested tensors are a prototype
        return fn(torch), fn(ember)


BASE = np.arange(5 * 6 * 2, dtype=np.float32).reshape(5, 6, 2)


@pytest.mark.parametrize("start,length", [
    ([0, 1, 2, 3, 4], [3, 2, 2, 1, 2]), (1, 3), (2, [1, 2, 3, 4, 0]), ([4, 0, 0, 0, 0], 2),
])
def test_jagged_narrow(start, length):
    def build(lib):
        wrap = lambda v: lib.tensor(v) if isinstance(v, list) else v  # noqa: E731
        base = lib.tensor(BASE)
        return base, lib.nested.narrow(base, 1, wrap(start), wrap(length), layout=lib.jagged)

    (t_base, t_nt), (e_base, e_nt) = _both(build)
    _same_entries(e_nt, t_nt)
    assert e_nt.offsets().tolist() == t_nt.offsets().tolist()
    assert e_nt.lengths().tolist() == t_nt.lengths().tolist()
    assert e_nt.is_contiguous() is t_nt.is_contiguous() is False
    assert tuple(e_nt.values().shape) == tuple(t_nt.values().shape)
    assert e_nt.values().data_ptr() == e_base.data_ptr()  # a view, as torch's
    e_base[1, 2, 0] = -5.0
    t_base[1, 2, 0] = -5.0
    _same_entries(e_nt, t_nt)


def test_jagged_narrow_across_rows_and_2d_base():
    def build(lib):
        base = lib.arange(12.0).reshape(2, 6)
        crossing = lib.nested.narrow(base, 1, lib.tensor([4, 0]), lib.tensor([5, 2]),
                                     layout=lib.jagged)
        flat = lib.nested.narrow(lib.arange(6.0).reshape(2, 3), 1, 1, 1, layout=lib.jagged)
        return crossing, flat

    (t_cross, t_flat), (e_cross, e_flat) = _both(build)
    _same_entries(e_cross, t_cross)
    _same_entries(e_flat, t_flat)


def test_jagged_narrow_gradient_reaches_the_base():
    def grad(lib):
        base = lib.tensor(BASE, requires_grad=True)
        nt = lib.nested.narrow(base, 1, lib.tensor([0, 1, 2, 3, 4]), lib.tensor([3, 2, 2, 1, 2]),
                               layout=lib.jagged)
        (nt.unbind()[1] * lib.tensor([2.0, 3.0])).sum().backward()
        return base.grad

    t_grad, e_grad = _both(grad)
    np.testing.assert_array_equal(_np(e_grad), _np(t_grad))


def test_strided_narrow_copies_along_the_batch():
    def build(lib):
        base = lib.tensor(BASE)
        nt = lib.nested.narrow(base, 0, 1, 3)
        base[1, 0, 0] = 100.0
        return nt

    t_nt, e_nt = _both(build)
    assert e_nt.layout is ember.strided
    _same_entries(e_nt, t_nt)


@pytest.mark.parametrize("call", [
    lambda lib: lib.nested.narrow(lib.zeros(2, 3), 0, 1, 1, layout=lib.jagged),
    lambda lib: lib.nested.narrow(lib.zeros(2, 3), 1, 1.0, 1, layout=lib.jagged),
    lambda lib: lib.nested.narrow(lib.zeros(2, 3), 1, 1, 1.0, layout=lib.jagged),
    lambda lib: lib.nested.narrow(lib.zeros(2, 3), 1, lib.tensor([0, 1]), 1),
    lambda lib: lib.nested.narrow(lib.zeros(2, 3), 1, 1, 1),
    lambda lib: lib.nested.narrow(lib.zeros(2, 3), 1, 1, 1, layout=lib.sparse_coo),
    lambda lib: lib.nested.narrow(lib.zeros(2, 6), 1, lib.tensor([4, 5]), lib.tensor([5, 2]),
                                  layout=lib.jagged).unbind(),
])
def test_narrow_errors(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError) as expected:
            call(torch)
        with pytest.raises(RuntimeError, match=re.escape(str(expected.value))):
            call(ember)


def test_narrow_with_holes_refuses_padding():
    def call(lib):
        nt = lib.nested.narrow(lib.zeros(2, 3), 1, 1, 1, layout=lib.jagged)
        nt.to_padded_tensor(0.0)

    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="not supported for nested tensors with holes"):
            call(lib)


@pytest.mark.parametrize("data,mask", [
    (np.arange(9.0).reshape(3, 3),
     np.array([[False, False, True], [True, False, True], [False, False, True]])),
    (np.arange(30.0).reshape(6, 5), np.array([False])),
    (np.arange(24.0).reshape(2, 3, 4), np.arange(24).reshape(2, 3, 4) % 3 == 0),
    (np.arange(3.0), np.array([True, False, True])),
    (np.arange(6.0).reshape(2, 3), np.array([True, False, True])),
])
def test_masked_select(data, mask):
    def build(lib):
        x = lib.tensor(data, requires_grad=True)
        nt = lib.nested.masked_select(x, lib.tensor(mask))
        (nt.values() * lib.arange(float(nt.values().shape[0]))).sum().backward()
        return nt, x.grad

    (t_nt, t_grad), (e_nt, e_grad) = _both(build)
    assert e_nt.layout is ember.jagged and e_nt.is_contiguous()
    assert e_nt.offsets().tolist() == t_nt.offsets().tolist()
    np.testing.assert_array_equal(_np(e_nt.values()), _np(t_nt.values()))
    np.testing.assert_array_equal(_np(e_grad), _np(t_grad))


@pytest.mark.parametrize("call", [
    lambda lib: lib.nested.masked_select(lib.arange(3.0).to_sparse(), lib.tensor([True] * 3)),
    lambda lib: lib.nested.masked_select(lib.arange(3.0), lib.tensor([True, False]).to_sparse()),
    lambda lib: lib.nested.masked_select(lib.arange(6.0).reshape(2, 3), lib.tensor([1, 0, 1])),
    lambda lib: lib.nested.masked_select(lib.arange(6.0).reshape(2, 3),
                                         lib.tensor([True, False])),
])
def test_masked_select_errors(call):
    with pytest.raises(RuntimeError) as expected:
        call(torch)
    with pytest.raises(RuntimeError, match=re.escape(str(expected.value))):
        call(ember)
