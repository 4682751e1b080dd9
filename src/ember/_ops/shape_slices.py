"""Views that slice a tensor: select, narrow, the split family, unbind, diagonal,
unfold (strided windows); plus diag/diag_embed/trace built on the diagonal view.

Re-exported through ``_ops/shape.py`` (its ``__all__`` and ``TENSOR_METHODS``)."""

from __future__ import annotations

import numpy as np

from .._backend.strided import strided_view
from ..autograd.function import Function
from ._util import Tensor, _make, shape_str, wrap_dim, xp_of
from .shape import mark_multi_output_views, view_of


def _diagonal_view(x, offset, dim1, dim2):
    """The diagonal of dims (dim1, dim2) as a strided view, moved to the last dim."""
    shape, strides = x.shape, x.strides
    n1, n2 = shape[dim1], shape[dim2]
    if offset >= 0:
        length = max(0, min(n1, n2 - offset))
        start_dim, start = dim2, min(offset, n2)
    else:
        length = max(0, min(n1 + offset, n2))
        start_dim, start = dim1, min(-offset, n1)
    if length:  # slice so the view's first element is the diagonal's first element
        x = x[(slice(None),) * start_dim + (slice(start, None),)]
    keep = [i for i in range(len(shape)) if i not in (dim1, dim2)]
    new_shape = tuple(shape[i] for i in keep) + (length,)
    new_strides = tuple(strides[i] for i in keep) + (strides[dim1] + strides[dim2],)
    return strided_view(x, new_shape, new_strides)


class Diagonal(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.meta = (x.shape, offset, dim1, dim2)
        return _diagonal_view(x, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, grad):
        shape, offset, dim1, dim2 = ctx.meta
        return DiagonalScatter.apply(grad, shape, offset, dim1, dim2), None, None, None


class DiagonalScatter(Function):
    """zeros(shape) with ``src`` written on a diagonal (diagonal's backward, diag_embed)."""

    _array_io = True

    @staticmethod
    def forward(ctx, src, shape, offset, dim1, dim2):
        ctx.meta = (offset, dim1, dim2)
        out = xp_of(src).zeros(shape, src.dtype)
        _diagonal_view(out, offset, dim1, dim2)[...] = src
        return out

    @staticmethod
    def backward(ctx, grad):
        offset, dim1, dim2 = ctx.meta
        return Diagonal.apply(grad, offset, dim1, dim2), None, None, None, None


def diagonal(input, offset=0, dim1=0, dim2=1):
    ndim = input._data.ndim
    d1, d2 = wrap_dim(dim1, ndim), wrap_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return view_of(Diagonal.apply(input, int(offset), d1, d2), input)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    ndim = input._data.ndim + 1
    d1, d2 = wrap_dim(dim1, ndim), wrap_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    size = input._data.shape[-1] + abs(int(offset)) if input._data.ndim else 1 + abs(int(offset))
    rest = list(input._data.shape[:-1])
    shape = [0] * ndim
    others = iter(rest)
    for i in range(ndim):
        shape[i] = size if i in (d1, d2) else next(others)
    source = input if input._data.ndim else input.reshape(1)
    return DiagonalScatter.apply(source, tuple(shape), int(offset), d1, d2)


_diagonal = diagonal  # diag's argument is named ``diagonal``, as PyTorch's


def diag(input, diagonal=0):
    ndim = input._data.ndim
    if ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if ndim == 2:
        return Copy.apply(_diagonal(input, diagonal, 0, 1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {ndim}D")


class Trace(Function):
    """Sum of a matrix's main diagonal, one node as PyTorch's (``TraceBackward0``);
    integer inputs sum to int64, as ``sum``."""

    _array_io = True

    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        diag = x.diagonal()
        if diag.dtype.kind == "b":
            raise NotImplementedError('"trace" not implemented for \'Bool\'')
        if diag.dtype.kind in "iu":
            diag = diag.astype(np.int64)
        elif diag.dtype.itemsize == 2:  # float16 / bfloat16 accumulate in float32
            return diag.astype(np.float32).sum().astype(diag.dtype)
        return diag.sum()

    @staticmethod
    def backward(ctx, grad):
        rows, cols = ctx.shape
        eye = xp_of(grad._data).eye(rows, cols, dtype=grad._data.dtype)
        return grad * _make(eye)


def trace(input):
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input._data.ndim}")
    return Trace.apply(input)


class Copy(Function):
    """A contiguous copy (the ops that return new memory in PyTorch)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x):
        return xp_of(x).ascontiguousarray(x).copy() if x.flags.c_contiguous else \
            xp_of(x).ascontiguousarray(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


# -- select, narrow and the splitting family: basic-index views ------------------------------


def _slice_dim(input, dim, index):
    """input[..., index, ...] at ``dim`` through basic indexing (a view)."""
    from .index import getitem

    return getitem(input, (slice(None),) * dim + (index,))


def select(input, dim, index):
    if type(input) is not Tensor and input.is_quantized:  # keeps its quantizer
        return input.select(dim, index)
    ndim = input._data.ndim
    if ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, ndim)
    size = input._data.shape[dim]
    index = int(index)
    if not -size <= index < size:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size "
            f"{shape_str(input._data.shape)} at dimension {dim}"
        )
    return _slice_dim(input, dim, index % size if size else index)


def narrow(input, dim, start, length):
    if type(input) is not Tensor and input.is_quantized:  # keeps its quantizer
        return input.narrow(dim, start, length)
    dim = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[dim]
    start = int(start)
    if not -size <= start <= size:
        raise IndexError(
            f"start out of range (expected to be in range of [{-size}, {size}], but got {start})"
        )
    if start < 0:
        start += size
    if start + length > size:
        raise RuntimeError(
            f"start ({start}) + length ({length}) exceeds dimension size ({size})."
        )
    return _slice_dim(input, dim, slice(start, start + length))


def split(tensor, split_size_or_sections=None, dim=0, *, split_size=None):
    if split_size is not None:  # Tensor.split's own parameter name
        split_size_or_sections = split_size
    dim = wrap_dim(dim, tensor._data.ndim)
    size = tensor._data.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and not (step == 0 and size == 0):
            raise RuntimeError(
                "split_size can only be 0 if dimension size is 0, but got dimension size of "
                f"{size}"
            )
        bounds = list(range(0, size, step)) if step else [0]
        sections = [min(step, size - b) for b in bounds]
    else:
        sections = [int(s) for s in split_size_or_sections]
        if sum(sections) != size:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                f"size at dimension {dim}), but got split_sizes={sections}"
            )
    bounds, start = [], 0
    for length in sections:
        bounds.append((start, start + length))
        start += length
    return _split_views(tensor, dim, bounds)


class Split(Function):
    """Slices along one dim as views, one graph node (split, chunk, tensor_split)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, dim, bounds):
        ctx.meta = (x.shape, dim, bounds)
        lead = (slice(None),) * dim
        return tuple(x[lead + (slice(a, b),)] for a, b in bounds)

    @staticmethod
    def backward(ctx, *grads):
        shape, dim, bounds = ctx.meta
        stops = [0] + [b for _, b in bounds]
        if all(a == stop for (a, _), stop in zip(bounds, stops)) and stops[-1] == shape[dim]:
            from .shape_copy import cat

            return cat(list(grads), dim), None, None
        from .index import IndexPutZeros

        lead = (slice(None),) * dim
        total = None
        for (a, b), grad in zip(bounds, grads):  # overlapping or gapped pieces
            piece = IndexPutZeros.apply(grad, shape, lead + (slice(a, b), Ellipsis))
            total = piece if total is None else total + piece
        return total, None, None


class Unbind(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        lead = (slice(None),) * dim
        return tuple(x[lead + (i, Ellipsis)] for i in range(x.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        from .shape_copy import stack

        return stack(list(grads), ctx.dim), None


def _split_views(input, dim, bounds):
    if not bounds:
        return ()
    outs = Split.apply(input, dim, tuple(bounds))
    return mark_multi_output_views(tuple(view_of(out, input) for out in outs))


def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    dim = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[dim]
    step = -(-size // chunks) if size else 1
    return split(input, step, dim) if size else split(input, [0] * chunks, dim)


def tensor_split(input, indices_or_sections, dim=0):
    dim = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[dim]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        if n <= 0:
            raise RuntimeError(
                f"number of sections must be larger than 0, got {n}"
            )
        base, extra = divmod(size, n)
        bounds, start = [], 0
        for i in range(n):
            stop = start + base + (1 if i < extra else 0)
            bounds.append((start, stop))
            start = stop
    else:
        cuts = [0] + [int(i) for i in indices_or_sections] + [size]
        bounds = [
            (max(0, min(a, size)), max(0, min(max(a, b), size))) for a, b in zip(cuts, cuts[1:])
        ]
    return _split_views(input, dim, bounds)


def _sections_split(fn_name, input, indices_or_sections, dim, min_ndim):
    if input._data.ndim < min_ndim:
        raise RuntimeError(
            f"torch.{fn_name} requires a tensor with at least {min_ndim} dimension, but got a "
            f"tensor with {input._data.ndim} dimensions!"
        )
    if isinstance(indices_or_sections, int):
        size = input._data.shape[dim]
        if indices_or_sections == 0 or size % indices_or_sections:
            raise RuntimeError(
                f"torch.{fn_name} attempted to split along dimension {dim}, but the size of the "
                f"dimension {size} is not divisible by the split_size {indices_or_sections}!"
            )
    return tensor_split(input, indices_or_sections, dim)


def hsplit(input, indices_or_sections):
    dim = 0 if input._data.ndim == 1 else 1
    return _sections_split("hsplit", input, indices_or_sections, dim, 1)


def vsplit(input, indices_or_sections):
    return _sections_split("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input, indices_or_sections):
    return _sections_split("dsplit", input, indices_or_sections, 2, 3)


def unbind(input, dim=0):
    dim = wrap_dim(dim, input._data.ndim)
    if input._data.shape[dim] == 0:
        return ()
    return mark_multi_output_views(tuple(view_of(out, input) for out in Unbind.apply(input, dim)))


class Unfold(Function):
    """``Tensor.unfold(dim, size, step)``: sliding windows as a strided view."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, dim, size, step):
        ctx.meta = (x.shape, dim, size, step)
        count = (x.shape[dim] - size) // step + 1
        shape = x.shape[:dim] + (count,) + x.shape[dim + 1:] + (size,)
        strides = (x.strides[:dim] + (x.strides[dim] * step,) + x.strides[dim + 1:]
                   + (x.strides[dim],))
        return strided_view(x, shape, strides)

    @staticmethod
    def backward(ctx, grad):
        shape, dim, size, step = ctx.meta
        return UnfoldBackward.apply(grad, shape, dim, size, step), None, None, None


class UnfoldBackward(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, grad, shape, dim, size, step):
        ctx.meta = (dim, size, step)
        xp = xp_of(grad)
        out = xp.zeros(shape, grad.dtype)
        count = grad.shape[dim]
        # windows may overlap: add each window offset separately (size iterations, not elements)
        moved = xp.moveaxis(grad, -1, dim + 1)
        target = xp.moveaxis(out, dim, -1)
        for k in range(size):
            piece = xp.moveaxis(moved[(slice(None),) * (dim + 1) + (k,)], dim, -1)
            target[..., k:k + step * (count - 1) + 1:step] += piece
        return out

    @staticmethod
    def backward(ctx, grad):
        dim, size, step = ctx.meta
        return Unfold.apply(grad, dim, size, step), None, None, None, None


def unfold(self, dimension, size, step):
    ndim = self._data.ndim
    dim = wrap_dim(dimension, ndim) if ndim else 0
    length = self._data.shape[dim] if ndim else 1
    if size > length:
        raise RuntimeError(
            f"maximum size for tensor at dimension {dim} is {length} but size is {size}"
        )
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    source = self if ndim else self.reshape(1)
    return view_of(Unfold.apply(source, dim, int(size), int(step)), self)


__all__ = [
    "select", "narrow", "split", "chunk", "tensor_split", "hsplit", "vsplit", "dsplit",
    "unbind", "diagonal", "diag_embed", "diag", "trace",
]
