"""ops family: combine. Combinatoric and structural functions built from existing ops
(cartesian_prod, combinations, block_diag, diagflat, unravel_index), the strided-memory
functions (as_strided, empty_strided, empty_permuted, frombuffer, the ``*_copy`` and
``*_scatter`` forms of the view ops) and small Tensor methods PyTorch users call
(ravel, sum_to_size, split_with_sizes, new, storage).

Most are compositions of differentiable ops, so autograd comes for free. ``as_strided``
is the one new primitive: a real view onto the tensor's storage, whose backward
scatters the gradient into a storage-sized buffer and reads back the input's elements
(PyTorch's AsStridedBackward geometry).
"""

from __future__ import annotations

import itertools

import numpy as np

from .._backend import get_default_dtype
from .._backend.strided import storage_offset as storage_offset_of
from .._backend.strided import storage_root, strided_view
from ..autograd.function import Function
from . import creation as _creation
from . import shape as _shape
from . import shape_copy as _shape_copy
from . import shape_slices as _slices
from ._util import Tensor, _make, wrap_dim, xp_of
from .index import PutFlatZeros, TakeFlat, _data_ptr, _element_offsets

__all__ = [
    "alias_copy",
    "as_strided",
    "as_strided_copy",
    "as_strided_scatter",
    "block_diag",
    "cartesian_prod",
    "combinations",
    "detach_copy",
    "diagflat",
    "diagonal_copy",
    "diagonal_scatter",
    "empty_permuted",
    "empty_strided",
    "expand_copy",
    "frombuffer",
    "narrow_copy",
    "permute_copy",
    "put",
    "ravel",
    "select_copy",
    "select_scatter",
    "slice_copy",
    "slice_scatter",
    "split_copy",
    "split_with_sizes",
    "split_with_sizes_copy",
    "squeeze_copy",
    "t_copy",
    "transpose_copy",
    "unbind_copy",
    "unfold_copy",
    "unravel_index",
    "unsafe_chunk",
    "unsafe_split",
    "unsqueeze_copy",
    "view_copy",
]


def _shape_str(shape):
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


# -- storage geometry ---------------------------------------------------------------------------


def storage_flat(array):
    """The whole storage of ``array`` as a 1-D array in memory order (a view)."""
    root = storage_root(array)
    if root.flags.c_contiguous:
        return root.reshape(-1)
    if root.flags.f_contiguous:
        return root.T.reshape(-1)
    raise RuntimeError("as_strided: the tensor's storage is not one contiguous block")




def _check_geometry(size, stride, offset, itemsize, storage_elements):
    if len(size) != len(stride):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality "
                           f"of strides ({len(stride)})")
    if any(s < 0 for s in stride):
        raise RuntimeError(
            f"as_strided: Negative strides are not supported at the moment, got strides: "
            f"{_shape_str(stride)}")
    if any(s < 0 for s in size):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={_shape_str(size)} "
                           f"and strides={_shape_str(stride)}")
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    if 0 in size:
        return
    needed = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
    if needed > storage_elements:
        raise RuntimeError(
            f"setStorage: sizes {_shape_str(size)}, strides {_shape_str(stride)}, storage "
            f"offset {offset}, and itemsize {itemsize} requiring a storage size of "
            f"{needed * itemsize} are out of bounds for storage of size "
            f"{storage_elements * itemsize}")


def _strided_positions(xp, size, stride, offset):
    """Storage position of every element of the (size, stride, offset) view."""
    positions = xp.full(tuple(size), offset, np.int64)
    for axis, (n, s) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[axis] = n
        positions = positions + (xp.arange(n, dtype=np.int64) * s).reshape(shape)
    return positions


class AsStrided(Function):
    """A (size, stride, offset) window onto the input's storage. Backward: the gradient is
    summed into a storage-sized buffer (overlapping windows add up) and each input element
    reads its storage position back."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, size, stride, offset):
        flat = storage_flat(x)
        itemsize = x.dtype.itemsize
        xp = xp_of(x)
        start = flat[offset:] if offset < flat.size else flat[flat.size:]
        out = strided_view(start, tuple(size), tuple(s * itemsize for s in stride))
        if ctx.needs_input_grad[0]:  # the geometry backward needs, built only then
            base_shift = _data_ptr(x) - _data_ptr(flat)
            ctx.meta = (flat.size, _element_offsets(x, base_shift) // itemsize,
                        _strided_positions(xp, size, stride, offset))
        return out

    @staticmethod
    def backward(ctx, grad):
        storage_size, input_positions, output_positions = ctx.meta
        storage_grad = PutFlatZeros.apply(grad, (storage_size,), output_positions)
        return TakeFlat.apply(storage_grad, input_positions), None, None, None


def as_strided(input, size, stride, storage_offset=None) -> Tensor:
    """A view of ``input``'s storage with the given sizes, strides (in elements) and
    storage offset (default: the input's own). Shares memory with ``input``."""
    size = tuple(int(s) for s in size)
    stride = tuple(int(s) for s in stride)
    data = input._data
    flat = storage_flat(data)
    offset = storage_offset_of(data) if storage_offset is None else int(storage_offset)
    _check_geometry(size, stride, offset, data.dtype.itemsize, flat.size)
    return _shape.view_of(AsStrided.apply(input, size, stride, offset), input)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, pin_memory=False,
                  requires_grad=False) -> Tensor:
    """An uninitialised tensor with the given strides, over a storage just large enough."""
    size = tuple(int(s) for s in size)
    stride = tuple(int(s) for s in stride)
    if len(size) == len(stride):  # the factory's own checks come before as_strided's
        negative = [n for n in size if n < 0]
        if negative:
            raise RuntimeError(f"Trying to create tensor with negative dimension {negative[0]}: "
                               f"{list(size)}")
        if any(s < 0 for s in stride):
            raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} "
                               f"and strides={list(stride)}")
    needed = 0 if 0 in size else sum((n - 1) * s for n, s in zip(size, stride)) + 1
    storage = _creation.empty(needed, dtype=dtype, device=device)
    _check_geometry(size, stride, 0, storage._data.dtype.itemsize, needed)
    if requires_grad and storage._data.dtype.kind not in "fcV":
        raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                           "gradients")
    out = _make(strided_view(storage._data, size,
                             tuple(s * storage._data.dtype.itemsize for s in stride)))
    return out.requires_grad_(True) if requires_grad else out


def _new_empty_strided(self, size, stride, *, dtype=None, layout=None, device=None,
                       pin_memory=False, requires_grad=False) -> Tensor:
    """``x.new_empty_strided(size, stride)``: ``empty_strided`` with ``x``'s dtype and
    device as the defaults."""
    return empty_strided(size, stride, dtype=dtype or self.dtype, device=device or self.device,
                         requires_grad=requires_grad)


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None,
                   pin_memory=False, requires_grad=False) -> Tensor:
    """An uninitialised tensor of ``size`` whose dims are laid out in memory in the order
    ``physical_layout`` (outermost first)."""
    size = tuple(int(s) for s in size)
    physical_layout = tuple(int(d) for d in physical_layout)
    if len(size) != len(physical_layout):
        raise RuntimeError(
            f"Number of dimensions in size does not match the length of the physical_layout; "
            f"i.e. len(size) = {len(size)} is not equal to len(physical_layout) = "
            f"{len(physical_layout)}")
    if len(set(physical_layout)) != len(physical_layout):
        raise RuntimeError("Duplicate dim not allowed")
    physical_layout = tuple(wrap_dim(d, len(size)) for d in physical_layout)
    physical = _creation.empty([size[d] for d in physical_layout], dtype=dtype, device=device)
    inverse = [0] * len(size)
    for position, dim in enumerate(physical_layout):
        inverse[dim] = position
    out = _make(physical._data.transpose(inverse))
    return out.requires_grad_(True) if requires_grad else out


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False) -> Tensor:
    """A 1-D tensor over a Python buffer's memory (no copy: writes show in the buffer)."""
    import warnings

    np_dtype = np.dtype(dtype.np)
    view = memoryview(buffer)
    length = view.nbytes
    if length == 0 or count == 0:
        raise ValueError(f"both buffer length ({length}) and count ({count}) must not be 0")
    if not 0 <= offset < length:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than "
                         f"buffer length ({length} bytes) minus 1")
    if count < 0 and (length - offset) % np_dtype.itemsize:
        raise ValueError(f"buffer length ({length - offset} bytes) after offset ({offset} "
                         f"bytes) must be a multiple of element size ({np_dtype.itemsize})")
    if count > 0 and count * np_dtype.itemsize > length - offset:
        raise ValueError(f"requested buffer length ({count} * {np_dtype.itemsize} bytes) "
                         f"after offset ({offset} bytes) must not be greater than actual "
                         f"buffer length ({length} bytes)")
    if view.readonly:
        warnings.warn("The given buffer is not writable, and PyTorch does not support "
                      "non-writable tensors. This means you can write to the underlying "
                      "(supposedly non-writable) buffer using the tensor. You may want to copy "
                      "the buffer to protect its data or make it writable before converting it "
                      "to a tensor. This type of warning will be suppressed for the rest of "
                      "this program.", UserWarning, stacklevel=2)
    out = _make(np.frombuffer(buffer, dtype=np_dtype, count=count, offset=offset))
    return out.requires_grad_(True) if requires_grad else out


# -- splits and flattening ----------------------------------------------------------------------


def ravel(input) -> Tensor:
    """The elements as 1-D, in C order: a view when the layout allows, else a copy."""
    return _shape.reshape(input, -1)


def split_with_sizes(input, split_sizes, dim=0):
    sizes = [int(s) for s in split_sizes]
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative "
                           f"entries, but got split_sizes={_shape_str(sizes)}")
    return _slices.split(input, sizes, dim)


def unsafe_split(input, split_size, dim=0):
    """``split``; PyTorch's "unsafe" forms only skip view tracking, which costs ember nothing."""
    return _slices.split(input, split_size, dim)


def unsafe_chunk(input, chunks, dim=0):
    return _slices.chunk(input, chunks, dim)


def sum_to_size(self, *size) -> Tensor:
    """Sum ``self`` down to ``size`` (which ``self`` must be expandable from)."""
    size = _shape._shape_arg(size)
    shape = tuple(self.shape)
    lead = len(shape) - len(size)
    if lead < 0 or any(t != 1 and t != s for t, s in zip(size, shape[lead:])):
        raise RuntimeError(f"size {{{_shape_str(size)}}} is not expandable to size "
                           f"{{{_shape_str(shape)}}}.")
    out = self
    if lead:
        out = out.sum(tuple(range(lead)))
    dims = tuple(i for i, (t, s) in enumerate(zip(size, shape[lead:])) if t == 1 and s != 1)
    if dims:
        out = out.sum(dims, keepdim=True)
    return out


def put(input, index, source, accumulate=False) -> Tensor:
    """Out-of-place ``put_``: ``input`` with ``source`` written at flat ``index``."""
    return input.put(index, source, accumulate)


# -- the *_copy forms of the view ops: the view, then its own contiguous memory -----------------


def _copy(view):
    return view.clone().contiguous()


def alias_copy(input):
    return _copy(input)


def detach_copy(input):
    return _copy(input.detach())


def as_strided_copy(input, size, stride, storage_offset=None):
    return _copy(as_strided(input, size, stride, storage_offset))


def diagonal_copy(input, offset=0, dim1=0, dim2=1):
    return _copy(_slices.diagonal(input, offset, dim1, dim2))


def expand_copy(input, size, *, implicit=False):
    return _copy(input.expand(*size))


def narrow_copy(input, dim, start, length):
    return _copy(_slices.narrow(input, dim, start, length))


def permute_copy(input, dims):
    return _copy(input.permute(*dims))


def select_copy(input, dim, index):
    return _copy(_slices.select(input, dim, index))


def _slice_view(input, dim, start, end, step):
    dim = wrap_dim(dim, input.dim())
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    key = [slice(None)] * input.dim()
    key[dim] = slice(start, end, step)
    return input[tuple(key)]


def slice_copy(input, dim=0, start=None, end=None, step=1):
    return _copy(_slice_view(input, dim, start, end, step))


def split_copy(input, split_size, dim=0):
    return tuple(_copy(part) for part in _slices.split(input, split_size, dim))


def split_with_sizes_copy(input, split_sizes, dim=0):
    return tuple(_copy(part) for part in split_with_sizes(input, split_sizes, dim))


def squeeze_copy(input, dim=None):
    return _copy(input.squeeze() if dim is None else input.squeeze(dim))


def t_copy(input):
    return _copy(input.t())


def transpose_copy(input, dim0, dim1):
    return _copy(input.transpose(dim0, dim1))


def unbind_copy(input, dim=0):
    return tuple(_copy(part) for part in _slices.unbind(input, dim))


def unfold_copy(input, dimension, size, step):
    return _copy(input.unfold(dimension, size, step))


def unsqueeze_copy(input, dim):
    return _copy(input.unsqueeze(dim))


def view_copy(input, size):
    if isinstance(size, (tuple, list)):
        return _copy(input.view(*size))
    return _copy(input.view(size))


# -- the *_scatter forms: a copy of input with src written where the view would read ------------


def _embed(input, src, view_of_copy):
    """``input`` copied, with ``src`` written into one view of the copy. The write goes
    through ember's in-place-on-a-view path, so both inputs get their gradients."""
    out = input.clone().contiguous()
    region = view_of_copy(out)
    if tuple(src.shape) != tuple(region.shape):
        raise RuntimeError(
            f"expected src to have a size equal to the slice of self. src size = "
            f"{_shape_str(src.shape)}, slice size = {_shape_str(region.shape)}")
    region.copy_(src)
    return out


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    return _embed(input, src, lambda out: _slice_view(out, dim, start, end, step))


def select_scatter(input, src, dim, index):
    return _embed(input, src, lambda out: _slices.select(out, dim, index))


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    return _embed(input, src, lambda out: _slices.diagonal(out, offset, dim1, dim2))


def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """``input`` with ``src`` written at ``input.as_strided(size, stride, offset)``. The
    input's gradient is the upstream gradient off the written positions (PyTorch 2.13's
    AsStridedScatterBackward gives it *on* them instead; its composition
    ``clone().as_strided(...).copy_(src)`` agrees with ember)."""
    offset = 0 if storage_offset is None else storage_offset
    return _embed(input, src, lambda out: as_strided(out, size, stride, offset))


# -- combinatorics ------------------------------------------------------------------------------


def _require_1d(tensors):
    for tensor in tensors:
        if tensor.dim() != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {_shape_str(tensor.shape)}")


def cartesian_prod(*tensors) -> Tensor:
    """Every tuple (a, b, ...) with a from the first tensor, b from the second, ...: a
    (N1*N2*..., k) tensor (the 1-D input itself for one tensor)."""
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    _require_1d(tensors)
    if any(t.dtype != tensors[0].dtype for t in tensors):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    if len(tensors) == 1:
        return tensors[0]
    grids = _grid_of(tensors)
    return _shape_copy.stack([grid.reshape(-1) for grid in grids], 1)


def _grid_of(tensors):
    from .. import meshgrid

    return meshgrid(*tensors, indexing="ij")


def combinations(input, r=2, with_replacement=False) -> Tensor:
    """Length-``r`` combinations of a 1-D tensor's elements, in itertools' order."""
    _require_1d((input,))
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return _creation.empty(0, dtype=input.dtype, device=input.device)
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    picks = list(pick(range(input.shape[0]), r))
    xp = xp_of(input._data)
    index = xp.asarray(np.array(picks, dtype=np.int64).reshape(len(picks), r))
    return input[_make(index)]


def block_diag(*tensors) -> Tensor:
    """The tensors (0-d as 1x1, 1-D as one row) placed along the diagonal of a zero
    matrix, in the promoted dtype: one row band per block, joined by ``cat``."""
    from .. import promote_types

    blocks = []
    for i, tensor in enumerate(tensors):
        if tensor.dim() > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {tensor.dim()} dimensions")
        blocks.append(tensor.reshape(1, -1) if tensor.dim() < 2 else tensor)
    if not blocks:
        return _creation.empty(1, 0, dtype=get_default_dtype())
    dtype = blocks[0].dtype
    for block in blocks[1:]:
        dtype = promote_types(dtype, block.dtype)
    device = blocks[0].device
    cols = sum(b.shape[1] for b in blocks)
    bands = []
    col = 0
    for block in blocks:
        height, width = block.shape
        left = _creation.zeros(height, col, dtype=dtype, device=device)
        right = _creation.zeros(height, cols - col - width, dtype=dtype, device=device)
        bands.append(_shape_copy.cat([left, block.to(dtype), right], 1))
        col += width
    return _shape_copy.cat(bands, 0)


def diagflat(input, offset=0) -> Tensor:
    """The flattened input on the ``offset`` diagonal of a square matrix."""
    return _slices.diag(input.reshape(-1), offset)


def unravel_index(indices, shape):
    """Coordinates of flat ``indices`` in a tensor of ``shape`` (wrapping as PyTorch's
    does: -1 is the last element)."""
    if not isinstance(indices, Tensor):
        indices = _creation.tensor(indices)
    if indices._data.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    flat = indices.long()
    coords = []
    stride = 1
    for size in reversed(shape):
        coords.append((flat // stride) % size if size else flat * 0)
        stride *= size
    return tuple(reversed(coords))


# -- Tensor.new, storages ----------------------------------------------------------------------


def new(self, *args, device=None, dtype=None):
    """Legacy ``self.new(...)``: data or sizes in ``self``'s dtype and device; a tensor of
    the same dtype is returned as an alias."""
    from .from_data import _legacy_new

    device = self.device if device is None else device
    dtype = self.dtype if dtype is None else dtype
    if len(args) == 1 and isinstance(args[0], Tensor):
        if args[0].dtype != self.dtype:
            raise TypeError(f"expected {self.dtype} (got {args[0].dtype})")
        return args[0].detach()
    return _make(_legacy_new(args, device, dtype))


def _storage(self):
    from .._storage import TypedStorage

    return TypedStorage._of(self)


def _untyped_storage(self):
    from .._storage import UntypedStorage

    return UntypedStorage._of(self)


def _is_same_size(self, other) -> bool:
    return tuple(self.shape) == tuple(other.shape)


def _is_inference(self) -> bool:
    return False


def _is_nonzero(self) -> bool:
    return bool(self)


TENSOR_METHODS: dict = {
    "as_strided": as_strided, "ravel": ravel, "split_with_sizes": split_with_sizes,
    "unsafe_split": unsafe_split, "unsafe_chunk": unsafe_chunk, "sum_to_size": sum_to_size,
    "narrow_copy": narrow_copy, "slice_scatter": slice_scatter,
    "select_scatter": select_scatter, "diagonal_scatter": diagonal_scatter,
    "as_strided_scatter": as_strided_scatter, "diagflat": diagflat, "new": new,
    "storage": _storage, "untyped_storage": _untyped_storage, "is_same_size": _is_same_size,
    "is_inference": _is_inference, "is_nonzero": _is_nonzero,
    "new_empty_strided": _new_empty_strided,
}
