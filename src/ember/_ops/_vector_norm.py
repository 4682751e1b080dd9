"""``torch.norm``: vector p-norms over any dims (with PyTorch's subgradients), 'fro' and
'nuc'. Exported from ``reduce.py``."""

from __future__ import annotations

import math

from ..autograd.function import Function
from ._select import (
    Quiet, acc, const, expand_grad, reduce_dims, reduced_shape, write_out,
)
from ._util import type_name, xp_of


class VectorNorm(Function):
    """``sum(|x|^p)^(1/p)`` over dims, with PyTorch's subgradients (0 at the origin, the
    inf-norm's gradient split among tied maxima)."""

    _array_io = True
    _node_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        if x.dtype.kind not in "fcV":
            raise RuntimeError(
                "linalg.vector_norm: Expected a floating point or complex tensor as input. "
                f"Got {type_name(x.dtype)}"
            )
        if p in (math.inf, -math.inf) and 0 in x.shape:
            _check_inf_norm(p, x.shape, dims)
        xp = xp_of(x)
        work, back = acc(x, "norm_cpu")
        magnitude = work if (p == 2 and work.dtype.kind == "f") else xp.abs(work)
        with Quiet():
            if p == math.inf:
                out = xp.amax(magnitude, axis=dims, keepdims=True)
            elif p == -math.inf:
                out = xp.amin(magnitude, axis=dims, keepdims=True)
            elif p == 0:
                out = (magnitude != 0).sum(axis=dims, keepdims=True).astype(magnitude.dtype)
            elif p == 1:
                out = magnitude.sum(axis=dims, keepdims=True)
            elif p == 2:
                out = xp.sqrt((magnitude * magnitude).sum(axis=dims, keepdims=True))
            else:
                out = (magnitude ** p).sum(axis=dims, keepdims=True) ** (1.0 / p)
        real_dtype = x.dtype if x.dtype.kind != "c" else magnitude.dtype  # |complex| is real
        out = out.astype(back) if back is not None else out.astype(real_dtype, copy=False)
        if not keepdim:
            out = out.reshape(reduced_shape(x.shape, dims, False))
        ctx.meta = (p, dims, keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, norm = ctx.saved_tensors
        p, dims, keepdim = ctx.meta
        norm_k = expand_grad(norm, x.shape, dims, keepdim)
        grad = expand_grad(grad, x.shape, dims, keepdim)
        if p == 0:
            return grad * 0, None, None, None
        if p == 1:
            return grad * x.sgn(), None, None, None
        if p in (math.inf, -math.inf):
            tied = x._data.__abs__() == norm_k._data
            weight = tied / tied.sum(axis=dims, keepdims=True)
            return grad * x.sgn() * const(weight, grad), None, None, None
        zero = norm_k._data == 0
        safe_norm = norm_k + const(zero, norm_k)
        mask = const(~zero, norm_k)
        if p == 2:
            return grad * x / safe_norm * mask, None, None, None
        scale = x.abs() ** (p - 2) if p >= 2 else None
        if scale is None:  # p < 2: write |x|^(p-1) sign(x) to avoid 0^(negative)
            direction = x.sgn() * x.abs() ** (p - 1)
        else:
            direction = x * scale
        return grad * direction / safe_norm ** (p - 1) * mask, None, None, None


def _check_inf_norm(p, shape, dims):
    """The +-inf norms have no identity: PyTorch's errors for empty reductions."""
    which = "inf" if p > 0 else "-inf"
    if len(dims) == len(shape) and 0 in shape:
        raise RuntimeError(
            f"linalg.vector_norm cannot compute the {which} norm on an empty tensor because "
            "the operation does not have an identity")
    for d in dims:
        if shape[d] == 0:
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {which} norm on the dimension {d}because "
                "this dimension is empty and the operation does not have an identity")


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """``torch.norm``: vector p-norms over ``dim`` (all dims by default), 'fro' (the
    2-norm over the dims) and 'nuc' (sum of singular values of a matrix)."""
    if dtype is not None:
        input = input.to(dtype)
    ndim = input._data.ndim
    if isinstance(dim, int):
        dim = (dim,)
    if p == "nuc":
        return write_out(_nuclear_norm(input, dim, keepdim), out, "norm")
    if p == "fro" or p is None:
        if dim is not None and len(dim) > 2:
            raise RuntimeError(_two_tuple_message(dim))
        p = 2
    if isinstance(p, str):
        raise RuntimeError(f"linalg.vector_norm: Unsupported ord {p}")
    result = VectorNorm.apply(input, float(p), reduce_dims(dim, ndim), keepdim)
    return write_out(result, out, "norm")


def _two_tuple_message(dim):
    return f"linalg.matrix_norm: dim must be a 2-tuple. Got {', '.join(map(str, dim))}"


def _nuclear_norm(input, dim, keepdim):
    """Sum of singular values over two dims (moved last)."""
    ndim = input._data.ndim
    if dim is None:
        if ndim != 2:
            raise RuntimeError(
                "linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
        dim = (0, 1)
    if len(dim) != 2:
        raise RuntimeError(_two_tuple_message(dim))
    d0, d1 = (reduce_dims(d, ndim)[0] for d in dim)
    rest = [d for d in range(ndim) if d not in (d0, d1)]
    from ..linalg import svdvals  # the SVD and its (double) backward live in linalg

    value = svdvals(input.permute(*rest, d0, d1)).sum(-1)
    if keepdim:
        shape = list(input._data.shape)
        shape[d0] = shape[d1] = 1
        value = value.reshape(tuple(shape))
    return value
