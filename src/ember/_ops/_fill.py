"""In-place fills and copies: ``zero_``, ``fill_``, ``fill_diagonal_``, ``copy_``,
``resize_``.

Bound onto Tensor through ``creation.TENSOR_METHODS``. Without a graph they write into
the tensor's own memory (views see it); under autograd they go through ``apply_inplace``
so the overwritten history gets a zero gradient, as PyTorch's Fill/Zero/Copy backward.
"""

from __future__ import annotations

from .._backend.dtypes import SPECIAL_TYPE_NAMES as _SPECIAL
from .._backend.float8 import check_fill, convert
from .._backend.strided import storage_root
from ..autograd.function import Function
from ._util import Tensor, _make, array_module, inplace_check
from ._factory import fill_uninitialized
from .creation import ToCopy, _size, zeros_like


class Fill(Function):
    """``self.fill_(value)`` under autograd: self's old history gets a zero gradient,
    a tensor ``value`` gets the sum of the gradient."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, value):
        out = array_module(x).empty_like(x)
        out[...] = convert(value, x.dtype)
        return out

    @staticmethod
    def backward(ctx, grad):
        overwritten = zeros_like(grad) if ctx.needs_input_grad[0] else None
        return overwritten, (grad.sum() if ctx.needs_input_grad[1] else None)

    def name(self):
        return "FillBackward3" if self.needs_input_grad[1] else "FillBackward2"


class Zero(Fill):
    def name(self):
        return "ZeroBackward0"


class CopyFrom(Function):
    """``self.copy_(src)`` under autograd: the gradient flows to ``src`` only (the engine
    sums it over broadcast dims and casts it to src's dtype)."""

    _array_io = True
    _node_name = "torch::autograd::CopyBackwards"

    @staticmethod
    def forward(ctx, x, src):
        out = array_module(x).empty_like(x)
        out[...] = convert(src, x.dtype)
        return out

    @staticmethod
    def backward(ctx, grad):
        return (zeros_like(grad) if ctx.needs_input_grad[0] else None), grad


def _fill_value(value):
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                "fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value.ndim} dimensions."
            )
    return value


def fill_(self, value) -> Tensor:
    from ._inplace import apply_inplace, needs_graph

    value = _fill_value(value)
    if needs_graph(self, value):
        return apply_inplace(self, Fill.apply(self, value))
    inplace_check(self)
    data = self._data
    if isinstance(value, Tensor):
        if value.device.type == "cuda" and self.device.type != "cuda":
            value = value.cpu()  # CuPy arrays refuse NumPy's implicit conversion
        value = value._data
    if data.dtype in _SPECIAL:  # float8, complex32: PyTorch's checks and rounding
        check_fill(value, data.dtype, data.size)
        value = convert(value, data.dtype)
    data[...] = value
    self._vc[0] += 1
    return self


def zero_(self) -> Tensor:
    from ._inplace import apply_inplace, needs_graph

    if needs_graph(self):
        return apply_inplace(self, Zero.apply(self, 0))
    inplace_check(self)
    data = self._data
    data[...] = 0 if data.dtype not in _SPECIAL else convert(0, data.dtype)  # e8m0: 2**-127
    self._vc[0] += 1
    return self


def _diagonal_positions(shape, wrap, xp):
    """Index tuple of the main diagonal's elements, as ``numpy.fill_diagonal``: every
    ``step``-th element of the row-major layout; a tall matrix restarts the diagonal
    below the square part when ``wrap``."""
    if len(shape) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    total = 1
    for size in shape:
        total *= size
    if len(shape) == 2:
        step = shape[1] + 1
        end = total if wrap else min(total, shape[1] * shape[1])
    else:
        step = sum(shape[0] ** k for k in range(len(shape)))
        end = total
    return xp.unravel_index(xp.arange(0, end, step), shape)


class FillDiagonal(Function):
    """``self.fill_diagonal_(value)`` under autograd: the overwritten diagonal gets a zero
    gradient, the rest passes through."""

    _array_io = True
    _node_name = "torch::autograd::CopySlices"

    @staticmethod
    def forward(ctx, x, value, wrap):
        xp = array_module(x)
        ctx.positions = _diagonal_positions(x.shape, wrap, xp)
        out = x.copy()
        out[ctx.positions] = value
        return out

    @staticmethod
    def backward(ctx, grad):
        keep = array_module(grad._data).ones(grad.shape, dtype=grad._data.dtype)
        keep[ctx.positions] = 0
        return grad * _make(keep), None, None


def fill_diagonal_(self, fill_value, wrap=False) -> Tensor:
    from ._inplace import apply_inplace, needs_graph

    if needs_graph(self):
        return apply_inplace(self, FillDiagonal.apply(self, fill_value, wrap))
    inplace_check(self)
    self._data[_diagonal_positions(self._data.shape, wrap, array_module(self._data))] = fill_value
    self._vc[0] += 1
    return self


def _check_copy_shape(dst_shape, src_shape):
    if len(src_shape) > len(dst_shape):
        full = _broadcast_shapes(dst_shape, src_shape)
        raise RuntimeError(
            f"output with shape {list(dst_shape)} doesn't match the broadcast shape {full}"
        )
    for i, (d, s) in enumerate(zip(dst_shape[::-1], src_shape[::-1])):
        if s != d and s != 1:
            dim = len(dst_shape) - 1 - i
            raise RuntimeError(
                f"The size of tensor a ({d}) must match the size of tensor b ({s}) at "
                f"non-singleton dimension {dim}"
            )


def _broadcast_shapes(a, b):
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    return [max(x, y) for x, y in zip(a, b)]


def copy_(self, src, non_blocking=False) -> Tensor:
    """Copy ``src`` into self: broadcasting, casting to self's dtype, across devices."""
    from ._inplace import apply_inplace, needs_graph

    if not isinstance(src, Tensor):
        raise TypeError(
            f"copy_(): argument 'other' (position 1) must be Tensor, not {type(src).__name__}"
        )
    _check_copy_shape(self._data.shape, src._data.shape)
    if src.device != self.device:
        src = ToCopy.apply(src, None, self.device)
    if needs_graph(self, src):
        return apply_inplace(self, CopyFrom.apply(self, src))
    inplace_check(self)
    source = src._data
    if (source.dtype.kind == "c" and self._data.dtype.kind != "c"
            and self._data.dtype.fields is None):  # (fields: complex32's pairs)
        source = source.real  # PyTorch discards the imaginary part too
    self._data[...] = convert(source, self._data.dtype)  # float8, complex32
    self._vc[0] += 1
    return self


def resize_(self, *sizes, memory_format=None) -> Tensor:
    """Reinterpret the tensor's storage with a new shape, as PyTorch does: elements are
    taken in storage order from ``storage_offset``; growing past the storage allocates
    new memory that keeps the old elements first (the rest zero, PyTorch leaves it unset;
    under deterministic algorithms both write NaN there, see fill_uninitialized)."""
    if self._requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    shape = _size(sizes)
    count = 1
    for s in shape:
        count *= s
    array = self._data
    root = storage_root(array)
    offset = self.storage_offset() if root is not array else 0
    if root.flags.c_contiguous and root.dtype == array.dtype and offset + count <= root.size:
        self._data = root.reshape(-1)[offset:offset + count].reshape(shape)
    else:
        xp = array_module(array)
        grown = xp.zeros(count, array.dtype)
        flat = array.reshape(-1)
        keep = min(count, flat.size)
        fill_uninitialized(grown[keep:])  # the new part, as PyTorch's deterministic mode
        grown[:keep] = flat[:keep]
        self._data = grown.reshape(shape)
    self._vc[0] += 1
    return self
