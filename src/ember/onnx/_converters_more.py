"""Converters for the less common ops: sorting, flips and rolls, shrink activations,
addcmul/addcdiv, lerp, pixel shuffles, einsum, one_hot."""

from __future__ import annotations

import numpy as np

from .._ops import _select, activation, binary, einsum, resample, shape_copy, where_clamp
from .._ops import sort as sort_ops
from ..nn import _functional, functional
from ._converters_shape import reshape
from ._trace import converts, converts_call

_INT64_MIN = np.iinfo(np.int64).min
_INT64_MAX = np.iinfo(np.int64).max


@converts_call(sort_ops, "_sort")
def _sort(g, op):
    # _sort(input, dim, descending) -> (values, indices), all of ``dim`` in order
    x, dim, descending = op.input(0), op.args[1], op.args[2]
    size = op.shape(0)[dim]
    return tuple(g.op("TopK", x, g.ints([size]), outputs=2, axis=dim,
                      largest=int(bool(descending)), sorted=1))


@converts_call(sort_ops, "_topk")
def _topk(g, op):
    # _topk(input, dim, k, largest, sorted) -> (values, indices)
    x, dim, k, largest = op.input(0), op.args[1], op.args[2], op.args[3]
    return tuple(g.op("TopK", x, g.ints([k]), outputs=2, axis=dim,
                      largest=int(bool(largest)), sorted=1))


@converts(_select.TakeAlong)
def _take_along(g, op):
    # (x, indices, dim, squeeze, accumulate)
    dim = op.args[2]
    out = g.op("GatherElements", op.input(0), g.cast(op.input(1), np.int64), axis=dim)
    return g.squeeze(out, [dim]) if op.args[3] else out


@converts(shape_copy.Flip)
def _flip(g, op):
    dims = list(op.args[1])
    count = len(dims)
    return g.op("Slice", op.input(0), g.ints([-1] * count), g.ints([_INT64_MIN] * count),
                g.ints(dims), g.ints([-1] * count))


def _slice(g, x, dim, start, end):
    return g.op("Slice", x, g.ints([start]), g.ints([end]), g.ints([dim]))


@converts(shape_copy.Roll)
def _roll(g, op):
    # (x, shifts, dims): dims None rolls the flattened tensor
    x, shifts, dims = op.input(0), op.args[1], op.args[2]
    in_shape = op.shape(0)
    if dims is None:
        flat = g.op("Reshape", x, g.ints([-1]))
        rolled = _roll_dim(g, flat, 0, int(np.prod(in_shape)), shifts)
        return reshape(g, rolled, (int(np.prod(in_shape)),), in_shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    for shift, dim in zip(shifts, dims):
        x = _roll_dim(g, x, dim, in_shape[dim], shift)
    return x


def _roll_dim(g, x, dim, size, shift):
    shift = shift % size if size else 0
    if not shift:
        return g.op("Identity", x)
    tail = _slice(g, x, dim, size - shift, _INT64_MAX)
    head = _slice(g, x, dim, 0, size - shift)
    return g.op("Concat", tail, head, axis=dim)


@converts(activation.Hardshrink)
def _hardshrink(g, op):
    x, lambd = op.input(0), op.args[1]
    outside = g.op("Greater", g.op("Abs", x), g.scalar_like(lambd, x), dtype=np.bool_)
    return g.op("Where", outside, x, g.scalar_like(0, x), dtype=g.dtype[x])


@converts(activation.Softshrink)
def _softshrink(g, op):
    x, lambd = op.input(0), op.args[1]
    above = g.op("Greater", x, g.scalar_like(lambd, x), dtype=np.bool_)
    below = g.op("Less", x, g.scalar_like(-lambd, x), dtype=np.bool_)
    shrunk = g.op("Where", below, g.op("Add", x, g.scalar_like(lambd, x)), g.scalar_like(0, x),
                  dtype=g.dtype[x])
    return g.op("Where", above, g.op("Sub", x, g.scalar_like(lambd, x)), shrunk,
                dtype=g.dtype[x])


@converts(binary._AddC)
def _addc(g, op):
    # (x, t1, t2, value, divide): x + value * t1 * t2 (or t1 / t2)
    x, t1, t2 = (g.cast(op.input(i), op.out_dtype()) for i in range(3))
    term = g.op("Div" if op.args[4] else "Mul", t1, t2)
    if op.args[3] != 1:
        term = g.op("Mul", term, g.scalar_like(op.args[3], term))
    return g.op("Add", x, term)


@converts(where_clamp.Lerp)
def _lerp(g, op):
    start, end = op.input(0), op.input(1)
    weight = op.args[2]
    weight = op.input(2) if hasattr(weight, "shape") else g.scalar_like(weight, start)
    return g.op("Add", start, g.op("Mul", weight, g.op("Sub", end, start)))


@converts(resample.PixelShuffle)
def _pixel_shuffle(g, op):
    if len(op.shape(0)) != 4:
        from .errors import UnsupportedOperatorError

        raise UnsupportedOperatorError(f"{op.label} (a non 4-D input)", g.opset)
    return g.op("DepthToSpace", op.input(0), blocksize=int(op.args[1]), mode="CRD")


@converts(resample.PixelUnshuffle)
def _pixel_unshuffle(g, op):
    """(N, C, H*r, W*r) -> (N, C*r*r, H, W) as reshape, transpose, reshape."""
    n, c, height, width = op.shape(0)
    r = int(op.args[1])
    split = (n, c, height // r, r, width // r, r)
    x = reshape(g, op.input(0), op.shape(0), split)
    x = g.op("Transpose", x, perm=[0, 1, 3, 5, 2, 4])
    return reshape(g, x, (n, c, r, r, height // r, width // r), op.out_shape())


@converts(einsum.Einsum)
def _einsum(g, op):
    # (terms, output, *arrays)
    equation = ",".join(op.args[0]) + "->" + op.args[1]
    operands = [op.input(i) for i in range(2, len(op.args))]
    return g.op("Einsum", *operands, equation=equation)


def _one_hot(g, op):
    # one_hot(tensor, num_classes): int64 (*, num_classes)
    indices = op.input(0)
    depth = op.out_shape()[-1]
    values = g.const(np.asarray([0, 1], dtype=np.int64))
    return g.op("OneHot", indices, g.const(np.asarray(depth, dtype=np.int64)), values, axis=-1,
                dtype=np.int64)


converts_call(_functional, "one_hot")(_one_hot)
converts_call(functional, "one_hot")(_one_hot)


@converts_call(_functional, "_dropout_impl")
def _dropout(g, op):
    """Identity in eval; ONNX's Dropout in training (its mask is drawn at run time, where
    the traced one would be a constant)."""
    # _dropout_impl(input, p, training, inplace, feature, alpha)
    x = op.input(0)
    p, training, feature, alpha = op.args[1], op.args[2], op.args[4], op.args[5]
    if p == 0 or not training or op.args[0].numel() == 0:
        return x if op.outputs[0] is op.args[0] else g.op("Identity", x)
    if feature or alpha:
        from .errors import UnsupportedOperatorError

        kind = "alpha_dropout" if alpha else "feature_dropout"
        raise UnsupportedOperatorError(f"ember::{kind} (in training mode)", g.opset)
    ratio = g.const(np.asarray(p, dtype=g.dtype[x]))
    return g.op("Dropout", x, ratio, g.const(np.asarray(True)))


@converts(resample.ChannelShuffle)
def _channel_shuffle(g, op):
    """(N, g*k, *S) -> (N, k*g, *S) as reshape (N, g, k, *S), swap, reshape back."""
    in_shape = op.shape(0)
    groups = int(op.args[1])
    split = (in_shape[0], groups, in_shape[1] // groups, *in_shape[2:])
    x = reshape(g, op.input(0), in_shape, split)
    perm = [0, 2, 1, *range(3, len(split))]
    swapped = (split[0], split[2], split[1], *split[3:])
    return reshape(g, g.op("Transpose", x, perm=perm), swapped, in_shape)
