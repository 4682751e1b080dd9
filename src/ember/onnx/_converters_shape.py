"""Converters for shape ops: views, reshapes, transposes, concatenation, splits, indexing.

Reshapes are written so they do not bake the traced batch size: a dim the output keeps
from the input (the leading ones) is 0 ("copy this dim") and one remaining dim is -1
("whatever is left"); (N, ...) -> (N, rest) is a Flatten. With dynamic_axes on the batch
dim, the exported graph then runs at any batch size, as PyTorch's traced sizes do.
"""

from __future__ import annotations

import numpy as np

from .._ops import copies, index_ops, shape, shape_copy, shape_slices
from .._ops.index import GetItem
from ._trace import converts

_INT64_MAX = np.iinfo(np.int64).max


def reshape_target(in_shape, out_shape, dynamic_sizes=()):
    """Reshape's shape input for ``in_shape`` -> ``out_shape``: 0 for the leading dims
    both share, -1 for one dim after them, the traced sizes for the rest. The -1 goes to
    a dim whose traced size is that of a dynamic input dim (``dynamic_sizes``: the batch
    split back out of a merged dim), else to the first one."""
    prefix = 0
    while (prefix < min(len(in_shape), len(out_shape))
           and in_shape[prefix] == out_shape[prefix]):
        prefix += 1
    if prefix == len(out_shape):  # only trailing dims removed: at most one can be 1 ...
        prefix = max(len(out_shape) - 1, 0)  # ... so let the last kept one be -1
    target = [0] * prefix + list(out_shape[prefix:])
    if prefix < len(out_shape):
        inferred = next((i for i in range(prefix, len(out_shape))
                         if out_shape[i] in dynamic_sizes), prefix)
        target[inferred] = -1
    return target


def reshape(g, name, in_shape, out_shape):
    in_shape, out_shape = tuple(in_shape), tuple(out_shape)
    if in_shape == out_shape:
        return g.op("Identity", name)
    if len(out_shape) == 2 and len(in_shape) > 2 and out_shape[0] == in_shape[0]:
        return g.op("Flatten", name, axis=1, shape=out_shape)
    target = reshape_target(in_shape, out_shape, g.dynamic_sizes)
    # other dims of a dynamic size (a second dynamic axis) follow the input at run time
    pieces = [g.dim_of_input(size) if size > 1 and size in g.dynamic_sizes else None
              for size in target]
    if not any(pieces):
        return g.op("Reshape", name, g.ints(target), shape=out_shape)
    parts = [piece or g.ints([size]) for piece, size in zip(pieces, target)]
    shape = g.op("Concat", *parts, axis=0, dtype=np.int64, shape=(len(target),))
    return g.op("Reshape", name, shape, shape=out_shape)


@converts(shape.View)
def _view(g, op):
    return reshape(g, op.input(0), op.shape(0), op.args[1])


def _squeezed_axes(longer, shorter):
    """The dims of ``longer`` that are not in ``shorter`` (all of size 1)."""
    axes = []
    j = 0
    for i, size in enumerate(longer):
        if j < len(shorter) and shorter[j] == size:
            j += 1
        else:
            axes.append(i)
    return axes


@converts(shape.Squeeze, shape._SqueezeDim, shape._SqueezeDims)
def _squeeze(g, op):
    in_shape, out_shape = op.shape(0), tuple(op.args[1])
    axes = _squeezed_axes(in_shape, out_shape)
    if not axes:
        return g.op("Identity", op.input(0))
    return g.squeeze(op.input(0), axes, shape=out_shape)


@converts(shape.Unsqueeze)
def _unsqueeze(g, op):
    in_shape, out_shape = op.shape(0), tuple(op.args[1])
    return g.unsqueeze(op.input(0), _squeezed_axes(out_shape, in_shape), shape=out_shape)


@converts(shape.Transpose)
def _transpose(g, op):
    perm = list(range(len(op.shape(0))))
    d0, d1 = op.args[1], op.args[2]
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return g.op("Transpose", op.input(0), perm=perm)


@converts(shape.Permute)
def _permute(g, op):
    return g.op("Transpose", op.input(0), perm=list(op.args[1]))


@converts(shape.Expand)
def _expand(g, op):
    """Expand to the target with 1 wherever the input already has the size (ONNX's
    Expand broadcasts both ways), so dims such as the batch are not baked in."""
    in_shape, target = op.shape(0), list(op.args[1])
    lead = len(target) - len(in_shape)
    for i, size in enumerate(in_shape):
        if target[lead + i] == size:
            target[lead + i] = 1
    # a dim broadcast up to a dynamic input's size (a class token expanded to the batch)
    # follows that input at run time
    pieces = [g.dim_of_input(size) if size != 1 else None for size in target]
    if not any(pieces):
        return g.op("Expand", op.input(0), g.ints(target), shape=op.args[1])
    parts = [piece or g.ints([size]) for piece, size in zip(pieces, target)]
    shape = g.op("Concat", *parts, axis=0, dtype=np.int64, shape=(len(target),))
    return g.op("Expand", op.input(0), shape, shape=op.args[1])


@converts(copies.Clone, shape_slices.Copy)
def _identity(g, op):
    return g.op("Identity", op.input(0))


@converts(copies.ToCopy)
def _to_copy(g, op):
    if op.args[1] is None or np.dtype(op.args[1]) == op.args[0].dtype:
        return g.op("Identity", op.input(0))
    return g.cast(op.input(0), op.args[1])


@converts(shape_copy.Cat)
def _cat(g, op):
    dim, dtype = op.args[0], op.out_dtype()
    pieces = [g.cast(op.input(i), dtype) for i in range(2, len(op.args))
              if op.shape(i) != (0,)]  # PyTorch's legacy empty 1-D pieces are skipped
    return g.op("Concat", *pieces, axis=dim, dtype=dtype)


@converts(shape_copy.Stack)
def _stack(g, op):
    dim, dtype = op.args[0], op.out_dtype()
    pieces = [g.unsqueeze(g.cast(op.input(i), dtype), [dim]) for i in range(2, len(op.args))]
    return g.op("Concat", *pieces, axis=dim, dtype=dtype)


@converts(shape_copy.Repeat)
def _repeat(g, op):
    repeats = list(op.args[1])
    x = op.input(0)
    in_shape = op.shape(0)
    lead = len(repeats) - len(in_shape)
    if lead:
        x = g.unsqueeze(x, list(range(lead)))
    return g.op("Tile", x, g.ints(repeats))


@converts(shape_copy.Tri)
def _tri(g, op):
    diagonal = g.const(np.asarray(op.args[1], dtype=np.int64))
    return g.op("Trilu", op.input(0), diagonal, upper=int(bool(op.args[2])))


@converts(shape_slices.Split)
def _split(g, op):
    x = op.input(0)
    in_shape, dim, bounds = op.shape(0), op.args[1], op.args[2]
    starts = [a for a, _ in bounds]
    stops = [b for _, b in bounds]
    if starts == [0] + stops[:-1] and stops[-1] == in_shape[dim]:
        sizes = [b - a for a, b in bounds]
        if len(sizes) == 1:
            return (g.op("Identity", x),)
        return tuple(g.op("Split", x, g.ints(sizes), outputs=len(sizes), axis=dim))
    return tuple(_slice(g, x, [dim], [a], [b], [1]) for a, b in bounds)


@converts(shape_slices.Unbind)
def _unbind(g, op):
    x = op.input(0)
    dim = op.args[1]
    count = op.shape(0)[dim]
    pieces = g.op("Split", x, g.ints([1] * count), outputs=count, axis=dim) if count > 1 \
        else [x]
    return tuple(g.squeeze(piece, [dim]) for piece in pieces)


def _slice(g, x, axes, starts, ends, steps):
    return g.op("Slice", x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps))


def _expand_ellipsis(index, ndim):
    consumed = sum(1 for part in index if part is not None and part is not Ellipsis)
    parts = []
    for part in index:
        if part is Ellipsis:
            parts.extend([slice(None)] * (ndim - consumed))
            consumed = ndim  # a second Ellipsis covers nothing
        else:
            parts.append(part)
    return parts


@converts(GetItem)
def _getitem(g, op):
    """Basic indexing (ints, slices, None, ...) plus at most one integer index array:
    one Slice, then a Gather per int (or for the array), then Unsqueeze for each None."""
    from .errors import UnsupportedOperatorError

    in_shape = op.shape(0)
    index = op.args[1]
    if not isinstance(index, tuple):
        index = (index,)
    parts = _expand_ellipsis(index, len(in_shape))
    slice_axes, starts, ends, steps = [], [], [], []
    selects = []  # (input dim, index value or array)
    new_axes = []  # output positions of None
    dim = out_pos = 0
    arrays = 0
    for part in parts:
        if part is None:
            new_axes.append(out_pos)
            out_pos += 1
        elif isinstance(part, slice):
            size = in_shape[dim]
            start, stop, step = part.indices(size)
            if (start, stop, step) != (0, size, 1):
                slice_axes.append(dim)
                starts.append(start)
                ends.append(_INT64_MAX if stop >= size else stop)
                steps.append(step)
            dim += 1
            out_pos += 1
        elif hasattr(part, "dtype") and hasattr(part, "shape"):
            if part.dtype.kind == "b" or arrays:
                raise UnsupportedOperatorError(
                    f"{op.label} (boolean masks or several index arrays)", g.opset)
            arrays += 1
            selects.append((dim, part))
            dim += 1
            out_pos += part.ndim
        else:
            selects.append((dim, int(part)))
            dim += 1
    if arrays and (new_axes or len(selects) > 1):
        raise UnsupportedOperatorError(f"{op.label} (an index array mixed with ints or None)",
                                       g.opset)
    x = op.input(0)
    if slice_axes:
        x = _slice(g, x, slice_axes, starts, ends, steps)
    for axis, value in sorted(selects, key=lambda item: -item[0]):
        if isinstance(value, int):
            position = g.const(np.asarray(value, dtype=np.int64))
        else:
            position = g.cast(op.value(value), np.int64)
        x = g.op("Gather", x, position, axis=axis)
    if new_axes:
        x = g.unsqueeze(x, new_axes)
    if x == op.input(0):
        x = g.op("Identity", x)
    return x


@converts(index_ops.MaskedFill)
def _masked_fill(g, op):
    x = op.input(0)
    dtype = op.out_dtype()
    value = op.args[2]
    fill = g.cast(op.value(value), dtype) if hasattr(value, "shape") else \
        g.const(np.asarray(value, dtype=dtype))
    return g.op("Where", g.cast(op.input(1), np.bool_), fill, x, dtype=dtype)


@converts(index_ops.Gather)
def _gather_elements(g, op):
    # (x, dim, index array)
    return g.op("GatherElements", op.input(0), g.cast(op.input(2), np.int64), axis=op.args[1])


@converts(index_ops.IndexSelect)
def _index_select(g, op):
    return g.op("Gather", op.input(0), g.cast(op.input(2), np.int64), axis=op.args[1])
