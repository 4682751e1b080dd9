"""Reductions: sum, mean, ... (each with dim, keepdim and dtype as PyTorch has them)."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ._util import Tensor, np_dtype_of, normalize_dims, xp_of


def _expand_grad(grad, input_shape, dims, keepdim):
    """Broadcast a reduced gradient back over the reduced dims."""
    if not keepdim and dims:
        shape = list(input_shape)
        for d in dims:
            shape[d] = 1
        grad = grad.reshape(tuple(shape))
    return grad.expand(input_shape)


class Sum(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype):
        ctx.meta = (x.shape, dims, keepdim)
        if np_dtype is None and x.dtype.kind in "biu":
            np_dtype = np.dtype(np.int64)
        return xp_of(x).sum(x, axis=dims, keepdims=keepdim, dtype=np_dtype)

    @staticmethod
    def backward(ctx, grad):
        shape, dims, keepdim = ctx.meta
        return _expand_grad(grad, shape, dims, keepdim), None, None, None


class Mean(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype):
        if np_dtype is None and x.dtype.kind not in "fcV":
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {_type_name(x.dtype)}"
            )
        count = 1
        for d in dims:
            count *= x.shape[d]
        ctx.meta = (x.shape, dims, keepdim, count)
        return xp_of(x).mean(x, axis=dims, keepdims=keepdim, dtype=np_dtype)

    @staticmethod
    def backward(ctx, grad):
        shape, dims, keepdim, count = ctx.meta
        return _expand_grad(grad, shape, dims, keepdim) / count, None, None, None


def _type_name(np_dtype):
    from ._util import type_name

    return type_name(np_dtype)


def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001 - PyTorch's name
    dims = normalize_dims(dim, input._data.ndim)
    return Sum.apply(input, dims, keepdim, np_dtype_of(dtype))


def mean(input, dim=None, keepdim=False, *, dtype=None):
    dims = normalize_dims(dim, input._data.ndim)
    return Mean.apply(input, dims, keepdim, np_dtype_of(dtype))


__all__ = ["sum", "mean"]

TENSOR_METHODS = {"sum": sum, "mean": mean}
