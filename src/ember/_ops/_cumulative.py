"""Cumulative reductions along one dim: cumsum, cumprod, cummax, cummin.

Re-exported by ``reduce.py`` (``ember.cumsum``, ``Tensor.cumsum``, ...). Backward
formulas use Tensor ops, so second derivatives work; cumprod's is exact with zeros.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ._select import RETURN_TYPES, Flip, const, positions, take_along
from ._util import _make, np_dtype_of, wrap_dim, xp_of


def _reverse_cumsum(t, dim):
    """sum over j >= k along ``dim`` (cumsum's adjoint)."""
    return Flip.apply(CumSum.apply(Flip.apply(t, dim), dim, None), dim)


class CumSum(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, dim, np_dtype):
        ctx.dim = dim
        if np_dtype is None and x.dtype.kind in "biu":
            np_dtype = np.dtype(np.int64)
        return xp_of(x).cumsum(x, axis=dim, dtype=np_dtype)

    @staticmethod
    def backward(ctx, grad):
        return _reverse_cumsum(grad, ctx.dim), None, None


class CumProd(Function):
    """Running product. Backward: for k before the first zero of a slice,
    sum_{j>=k} grad_j out_j / x_k; at the first zero, the same sum with that zero
    replaced by one; after it, nothing (every product there contains the zero)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, dim, np_dtype):
        ctx.dim = dim
        if np_dtype is None and x.dtype.kind in "biu":
            np_dtype = np.dtype(np.int64)
        out = xp_of(x).cumprod(x, axis=dim, dtype=np_dtype)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dim = ctx.dim
        zero = x._data == 0
        if not zero.any():
            return _reverse_cumsum(grad * out, dim) / x, None, None
        xp = xp_of(zero)
        zeros_so_far = xp.cumsum(zero, axis=dim)
        first_zero = zero & (zeros_so_far == 1)
        safe_x = x * const(~zero, x) + const(zero, x)
        before = _reverse_cumsum(grad * out, dim) / safe_x * const(zeros_so_far == 0, x)
        filled = x * const(~first_zero, x) + const(first_zero, x)
        after_zero = grad * CumProd.apply(filled, dim, None) * const(zeros_so_far >= 1, x)
        at_zero = after_zero.sum(dim, keepdim=True) * const(first_zero, x)
        return before + at_zero, None, None


def _scan(cls, input, dim, dtype):
    x = input._data
    if x.ndim == 0:
        wrap_dim(dim, 0)
        return cls.apply(input.reshape(1), 0, np_dtype_of(dtype)).reshape(())
    return cls.apply(input, wrap_dim(dim, x.ndim), np_dtype_of(dtype))


def cumsum(input, dim, *, dtype=None, out=None):
    return _scan(CumSum, input, dim, dtype)


def cumprod(input, dim, *, dtype=None, out=None):
    return _scan(CumProd, input, dim, dtype)


def _running_extreme(name, input, dim, largest):
    """(values, indices): the running max/min and where it was last attained (ties and
    NaN move the index forward, as PyTorch's loop does)."""
    x = input._data
    if x.ndim == 0:
        wrap_dim(dim, 0)
        values, indices = _running_extreme(name, input.reshape(1), 0, largest)
        return RETURN_TYPES[name](values.reshape(()), indices.reshape(()))
    d = wrap_dim(dim, x.ndim)
    xp = xp_of(x)
    if x.shape[d] == 0:
        return RETURN_TYPES[name](input * 1, _make(xp.zeros(x.shape, np.int64)))
    data = x.view(np.uint8) if x.dtype.kind == "b" else x
    running = (xp.maximum if largest else xp.minimum).accumulate(data, axis=d)
    hit = data == running
    if data.dtype.kind in "fc":
        hit |= xp.isnan(data)
    candidates = xp.where(hit, positions(x.shape[d], d, x.ndim, xp), 0)
    indices = xp.maximum.accumulate(candidates, axis=d).astype(np.int64)
    values = take_along(input, indices, d, accumulate=True)
    return RETURN_TYPES[name](values, _make(indices))


def cummax(input, dim):
    return _running_extreme("cummax", input, dim, True)


def cummin(input, dim):
    return _running_extreme("cummin", input, dim, False)
