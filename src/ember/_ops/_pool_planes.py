"""Shared pieces of the pooling family: the per-plane gather/scatter Functions every
max-type pool and max_unpool use (flat ``h * W + w`` indices per (n, c) plane), and
argument helpers."""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ._kept import strided_arange
from ._util import xp_of


# ---------------------------------------------------------------------------
# per-plane gather / scatter (max pools and unpooling)
# ---------------------------------------------------------------------------


def _planes(array):
    return array.reshape(array.shape[0], array.shape[1], math.prod(array.shape[2:]))


def _gather_planes(x, index):
    """out[n, c, *O] = x[n, c].flat[index[n, c, *O]]."""
    xp = xp_of(x)
    picked = xp.take_along_axis(_planes(x), _planes(index), axis=2)
    return picked.reshape(index.shape)


def _scatter_planes(values, index, shape, accumulate):
    """An array of ``shape`` (N, C, *S), zero except at the flat per-plane ``index``."""
    xp = xp_of(values)
    n, c = shape[:2]
    plane = math.prod(shape[2:])
    out = xp.zeros(n * c * plane, dtype=values.dtype)
    base = strided_arange(xp, values, n * c, plane).reshape(n, c, 1)  # kept per shape
    flat = (_planes(index) + base).ravel()
    if accumulate:
        if xp is np:
            np.add.at(out, flat, values.ravel())
        else:
            import cupyx

            cupyx.scatter_add(out, flat, values.ravel())
    else:
        out[flat] = values.ravel()
    return out.reshape(shape)


class _GatherPlanes(Function):
    """Values at per-plane indices; ``values`` may carry the already-computed result.
    ``node`` is the name PyTorch gives the pool this node stands for."""

    _array_io = True

    def name(self):
        return self.__dict__.get("node") or "GatherBackward0"

    @staticmethod
    def forward(ctx, x, index, values=None, unique=False, node=None, shape=None):
        # ``shape``: x's (N, C, ...) shape when x is one unbatched sample (C, ...)
        ctx.index, ctx.shape, ctx.unique = index, x.shape if shape is None else shape, unique
        if node is not None:
            ctx.node = node
        return _gather_planes(x, index) if values is None else values

    @staticmethod
    def backward(ctx, grad):
        # indices that never repeat (non-overlapping windows) need no accumulation
        node = ctx.__dict__.get("node")
        scattered = _ScatterPlanes.apply(grad, ctx.index, ctx.shape, not ctx.unique,
                                         node=node and node[:-1] + "Backward0")
        x_shape = ctx._input_meta[0][0]
        if scattered.shape != x_shape:  # an unbatched input: drop the batch of one
            scattered = scattered.reshape(x_shape)
        return scattered, None, None, None


class _ScatterPlanes(Function):
    _array_io = True

    def name(self):
        return self.__dict__.get("node") or "ScatterBackward0"

    @staticmethod
    def forward(ctx, values, index, shape, accumulate, node=None):
        ctx.index = index
        if node is not None:
            ctx.node = node
        return _scatter_planes(values, index, shape, accumulate)

    @staticmethod
    def backward(ctx, grad):
        node = ctx.__dict__.get("node")
        picked = _GatherPlanes.apply(grad, ctx.index, node=node and node[:-1] + "Backward0")
        values_shape = ctx._input_meta[0][0]
        if picked.shape != values_shape:  # unbatched values: drop the batch of one
            picked = picked.reshape(values_shape)
        return picked, None, None, None


def _with_indices(fn):
    def variant(*args, **kwargs):
        kwargs["return_indices"] = True
        return fn(*args, **kwargs)

    variant.__name__ = fn.__name__ + "_with_indices"
    variant.__doc__ = f"{fn.__name__} returning (output, indices)."
    return variant
