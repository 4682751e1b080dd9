"""Shape ops that return new memory in PyTorch: flip, roll, rot90, tril/triu, repeat,
tile, repeat_interleave and the joining family (cat, stack, hstack, ...).

Re-exported through ``_ops/shape.py`` (its ``__all__`` and ``TENSOR_METHODS``)."""

from __future__ import annotations

import numpy as np

from .._backend.float8 import refuse as refuse_float8
from .._backend.float8 import refuse_complex32 as refuse_special
from .._backend import promote_np
from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._util import Tensor, _make, shape_str, wrap_dim, xp_of


_REVERSED = slice(None, None, -1)
_ALL = slice(None)


def _flipped(x, dims):
    """``x`` reversed along ``dims`` (wrapped), in new C-order memory: a reversed-slice
    view copied once, as np.flip + ascontiguousarray, without np.flip's axis checks."""
    if x.ndim == 0:
        return x.copy()  # a 0-d tensor accepts dim 0/-1 and flips nothing
    if len(dims) == 1:
        flipped = (_ALL,) * dims[0] + (_REVERSED,)
    else:
        flipped = tuple([_REVERSED if d in dims else _ALL for d in range(x.ndim)])
    return x[flipped].copy()


class Flip(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return _flipped(x, dims)

    @staticmethod
    def backward(ctx, grad):
        return Flip.apply(grad, ctx.dims), None


def flip(input, *args, dims=None):
    refuse_special("flip_cpu", input)
    dims = args if dims is None else (dims,)
    ndim = input._data.ndim
    if len(dims) == 1 and type(dims[0]) is int:  # the common x.flip(-1): nothing to de-dup
        wrapped = (wrap_dim(dims[0], ndim),)
    else:
        if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
            dims = tuple(dims[0])
        wrapped = tuple(wrap_dim(d, ndim) for d in dims)
        if len(set(wrapped)) != len(wrapped):
            raise RuntimeError(f"dim {wrapped[0]} appears multiple times in the list of dims")
    if input._requires_grad and _grad_enabled[0]:
        return Flip.apply(input, wrapped)
    if type(input) is not Tensor and input.is_quantized:  # keeps its quantizer
        return input.flip(wrapped)
    return _make(_flipped(input._data, wrapped))  # nothing to record: no Function call


def fliplr(input):
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input):
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, (0,))


class Roll(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.meta = (shifts, dims)
        xp = xp_of(x)
        if dims is None:
            return xp.roll(x.reshape(-1), shifts).reshape(x.shape)
        return xp.roll(x, shifts, dims)

    @staticmethod
    def backward(ctx, grad):
        shifts, dims = ctx.meta
        back = -shifts if isinstance(shifts, int) else tuple(-s for s in shifts)
        return Roll.apply(grad, back, dims), None, None


def roll(input, shifts, dims=None):
    if dims is None:
        if not isinstance(shifts, int) and len(shifts) != 1:
            raise RuntimeError(
                f"`shifts` required to be a tuple of length 1 when dims is not specified, but "
                f"got {len(shifts)}"
            )
        shift = shifts if isinstance(shifts, int) else int(shifts[0])
        return Roll.apply(input, shift, None)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(int(s) for s in shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(
            f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}"
        )
    dims = tuple(wrap_dim(d, input._data.ndim) for d in dims)
    return Roll.apply(input, shifts, dims)


def rot90(input, k=1, dims=(0, 1)):
    dims = tuple(dims)
    ndim = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {ndim}")
    d0, d1 = wrap_dim(dims[0], ndim), wrap_dim(dims[1], ndim)
    if d0 == d1:
        raise RuntimeError(
            f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}"
        )
    k %= 4
    # PyTorch's own composition, so the result's strides match too
    if k == 1:
        return flip(input, (d1,)).transpose(d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return flip(input, (d0,)).transpose(d0, d1)
    return input.clone()


class Tri(Function):
    """tril / triu: keep one triangle of the last two dims, zero the rest."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, diagonal, upper):
        ctx.meta = (diagonal, upper)
        xp = xp_of(x)
        return xp.triu(x, diagonal) if upper else xp.tril(x, diagonal)

    @staticmethod
    def backward(ctx, grad):
        diagonal, upper = ctx.meta
        return (Triu if upper else Tril).apply(grad, diagonal, upper), None, None


class Tril(Tri):
    """tril under PyTorch's node name (``TrilBackward0``)."""


class Triu(Tri):
    """triu under PyTorch's node name (``TriuBackward0``)."""


def tril(input, diagonal=0):
    refuse_float8("tril", input)
    if input._data.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return Tril.apply(input, int(diagonal), False)


def _tril_(self, diagonal=0):
    from ._inplace import apply_inplace

    return apply_inplace(self, tril(self, diagonal))


def _triu_(self, diagonal=0):
    from ._inplace import apply_inplace

    return apply_inplace(self, triu(self, diagonal))


def triu(input, diagonal=0):
    refuse_float8("triu", input)
    if input._data.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return Triu.apply(input, int(diagonal), True)


class Repeat(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, repeats):
        lead = len(repeats) - x.ndim
        shape = (1,) * lead + x.shape
        ctx.meta = (x.shape, shape, repeats)
        return xp_of(x).tile(x.reshape(shape), repeats)

    @staticmethod
    def backward(ctx, grad):
        input_shape, shape, repeats = ctx.meta
        interleaved = []
        for r, s in zip(repeats, shape):
            interleaved += [r, s]
        from .reduce import sum as _sum

        summed = _sum(grad.reshape(tuple(interleaved)), tuple(range(0, len(interleaved), 2)))
        return summed.reshape(input_shape), None


def repeat(self, *sizes, repeats=None):
    if repeats is not None:
        sizes = (repeats,)
    if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)):
        sizes = tuple(sizes[0])
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < self._data.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            "of tensor"
        )
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(sizes)}: "
                           f"{shape_str(sizes)}")
    return Repeat.apply(self, sizes)


def tile(input, dims):
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    dims = (1,) * (input._data.ndim - len(dims)) + dims
    return repeat(input, dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    from .index import index_select

    if repeats is None:  # repeat_interleave(repeats): indices repeated by their counts
        counts = input._data
        xp = xp_of(counts)
        return _tensor_from(xp.repeat(xp.arange(counts.shape[0]), _host_counts(counts)))
    if dim is None:
        input = input.reshape(-1)
        dim = 0
    dim = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[dim]
    xp = xp_of(input._data)
    counts = repeats._data if isinstance(repeats, Tensor) else repeats
    if hasattr(counts, "ndim"):
        if counts.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if counts.ndim == 1 and counts.shape[0] not in (1, size):
            raise RuntimeError(
                "repeats must have the same size as input along dim, but got repeats.size(0) = "
                f"{counts.shape[0]} and input.size({dim}) = {size}"
            )
        if counts.size and int(counts.min()) < 0:
            raise RuntimeError("repeats can not be negative")
        if counts.ndim == 1 and counts.shape[0] == 1:
            counts = counts[0]
    elif counts < 0:
        raise RuntimeError("Repeats must be non-negative")
    index = xp.repeat(xp.arange(size), _host_counts(counts))
    return index_select(input, dim, _tensor_from(index))


def _host_counts(counts):
    """CuPy's repeat takes an int or a list, not a device array."""
    if hasattr(counts, "ndim") and type(counts) is not np.ndarray:
        return int(counts) if counts.ndim == 0 else counts.tolist()
    return counts


def _tensor_from(array):
    from ._util import _make

    return _make(array.astype(np.int64))


class Cat(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, dim, np_dtype, *arrays):
        ctx.meta = (dim, [a.shape for a in arrays])
        xp = xp_of(*arrays)
        kept = [a.astype(np_dtype, copy=False) for a in arrays if not _is_legacy_empty(a)]
        if not kept:
            return xp.empty((0,), np_dtype)
        return xp.concatenate(kept, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        dim, shapes = ctx.meta
        grads, start = [None, None], 0
        from .index import getitem

        for shape in shapes:
            if _is_legacy_empty_shape(shape):
                grads.append(None)
                continue
            stop = start + shape[dim]
            grads.append(getitem(grad, (slice(None),) * dim + (slice(start, stop),)))
            start = stop
        return tuple(grads)


def _is_legacy_empty_shape(shape):
    return len(shape) == 1 and shape[0] == 0


def _is_legacy_empty(array):
    return array.ndim == 1 and array.shape[0] == 0


def _plain_arrays(tensors):
    """The NumPy arrays of ``tensors`` when they are plain Tensors of one dtype with nothing
    to record and none a legacy empty (1-d, size 0); None otherwise."""
    record = _grad_enabled[0]
    arrays = []
    dtype = None
    for tensor in tensors:
        if type(tensor) is not Tensor:
            return None
        array = tensor._data
        if type(array) is not np.ndarray or (record and tensor._requires_grad):
            return None
        if dtype is None:
            dtype = array.dtype
        elif array.dtype != dtype or (array.ndim == 1 and not array.shape[0]):
            return None
        arrays.append(array)
    if arrays and arrays[0].ndim == 1 and not arrays[0].shape[0]:
        return None
    return arrays


def cat(tensors, dim=0, *, out=None):
    if out is None and type(dim) is int and type(tensors) in (list, tuple) and tensors:
        arrays = _plain_arrays(tensors)
        if arrays is not None:
            # Nothing to record or promote: NumPy's concatenate alone. Anything it refuses
            # (shapes, 0-d, dim) takes the general path below for PyTorch's errors.
            try:
                return _make(np.concatenate(arrays, axis=dim))
            except (ValueError, TypeError, IndexError):
                pass
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}"
            )
    kept = [(i, t) for i, t in enumerate(tensors) if not _is_legacy_empty(t._data)]
    np_dtype = tensors[0]._data.dtype
    for t in tensors[1:]:
        np_dtype = promote_np(np_dtype, t._data.dtype)
    if kept:
        first_i, first = kept[0]
        ref = first._data.shape
        if not ref:
            raise RuntimeError(
                f"zero-dimensional tensor (at position {first_i}) cannot be concatenated"
            )
        dim = wrap_dim(dim, len(ref))
        for i, t in kept[1:]:
            shape = t._data.shape
            if len(shape) != len(ref):
                if not shape:
                    raise RuntimeError(
                        f"zero-dimensional tensor (at position {i}) cannot be concatenated"
                    )
                raise RuntimeError(
                    f"Tensors must have same number of dimensions: got {len(ref)} and {len(shape)}"
                )
            for d, (a, b) in enumerate(zip(ref, shape)):
                if d != dim and a != b:
                    raise RuntimeError(
                        f"Sizes of tensors must match except in dimension {dim}. Expected size "
                        f"{a} but got size {b} for tensor number {i} in the list."
                    )
    else:
        dim = 0
    result = Cat.apply(dim, np_dtype, *tensors)
    if out is not None:
        from ._inplace import apply_inplace

        return apply_inplace(out, result) if out.shape == result.shape else \
            _resize_into(out, result)
    return result


def _resize_into(out, result):
    out._data = result._data.copy()
    out._vc[0] += 1
    return out


def stack(tensors, dim=0, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = tensors[0]._data.shape
    for i, t in enumerate(tensors[1:], 1):
        if t._data.shape != ref:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {shape_str(ref)} at entry 0 "
                f"and {shape_str(t._data.shape)} at entry {i}"
            )
    dim = wrap_dim(dim, len(ref) + 1)
    np_dtype = tensors[0]._data.dtype
    for t in tensors[1:]:
        if t._data.dtype != np_dtype:
            np_dtype = promote_np(np_dtype, t._data.dtype)
    if out is None and _host_unrecorded(tensors):
        return _make(_stacked([t._data for t in tensors], dim, np_dtype))
    result = Stack.apply(dim, np_dtype, *tensors)
    if out is not None:
        from ._inplace import apply_inplace

        return apply_inplace(out, result) if out.shape == result.shape else \
            _resize_into(out, result)
    return result


def _stacked(arrays, dim, np_dtype):
    xp = xp_of(*arrays)
    if dim == 0 and xp is np:
        # Equal shapes (checked by stack): np.array copies each array into its row,
        # cast to np_dtype, without np.stack's per-array Python steps (32 0-d
        # tensors: 1 us instead of 12, as default_collate stacks labels).
        return np.array(arrays, np_dtype)
    return xp.stack([a.astype(np_dtype, copy=False) for a in arrays], axis=dim)


def _host_unrecorded(tensors):
    """Whether ``tensors`` all hold NumPy arrays and autograd records none of them."""
    record = _grad_enabled[0]
    for tensor in tensors:
        if type(tensor._data) is not np.ndarray or (record and tensor._requires_grad) \
                or tensor.is_quantized:  # Stack.apply: torch's quantized stack
            return False
    return True


class Stack(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, dim, np_dtype, *arrays):
        ctx.dim = dim
        return _stacked(arrays, dim, np_dtype)

    @staticmethod
    def backward(ctx, grad):
        return (None, None) + tuple(grad.unbind(ctx.dim))


def hstack(tensors, *, out=None):
    from .shape import atleast_1d

    tensors = atleast_1d(tuple(tensors))
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1, out=out)


def vstack(tensors, *, out=None):
    from .shape import atleast_2d

    return cat(atleast_2d(tuple(tensors)), 0, out=out)


def dstack(tensors, *, out=None):
    from .shape import atleast_3d

    return cat(atleast_3d(tuple(tensors)), 2, out=out)


def column_stack(tensors, *, out=None):
    columns = [t.reshape(-1, 1) if t._data.ndim <= 1 else t for t in tensors]
    return hstack(columns, out=out)


concat = cat
concatenate = cat
row_stack = vstack

__all__ = [
    "flip", "fliplr", "flipud", "roll", "rot90", "tril", "triu", "tile", "repeat_interleave",
    "cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack",
    "column_stack",
]

TENSOR_METHODS = {
    "flip": flip, "fliplr": fliplr, "flipud": flipud, "roll": roll, "rot90": rot90,
    "tril": tril, "triu": triu, "tril_": _tril_, "triu_": _triu_, "repeat": repeat, "tile": tile,
    "repeat_interleave": repeat_interleave,
}
