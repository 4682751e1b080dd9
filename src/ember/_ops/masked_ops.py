"""masked_fill, masked_scatter and masked_select (with their in-place variants through
``index_ops``): a boolean mask picks the elements; the backward of each is written with
the other two, so double backward works."""

from __future__ import annotations

import numpy as np

from .._backend.float8 import convert
from .._backend.float8 import refuse as refuse_float8
from ..autograd.function import Function
from ._util import Tensor, _make, xp_of


def _bool_mask(name, mask):
    if mask._data.dtype.kind != "b":
        raise RuntimeError(
            f"{name} only supports boolean masks, but got mask with dtype "
            f"{_c_type(mask._data.dtype)}"
        )
    return mask


def _c_type(np_dtype):
    return {"int64": "long int", "int32": "int", "uint8": "unsigned char", "float32": "float",
            "float64": "double"}.get(str(np_dtype), str(np_dtype))


class MaskedFill(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.mask = mask
        ctx.tensor_value = hasattr(value, "dtype")
        xp = xp_of(x)
        if x.dtype.kind == "V" and x.dtype.fields is not None:  # complex32: value + 0j
            fill = convert(value, x.dtype)
        elif hasattr(value, "dtype"):
            fill = value.astype(x.dtype)
        elif xp is np:
            fill = np.asarray(value, x.dtype)
        else:  # a scalar kernel argument: no 0-d device array (a host-to-device copy) a call
            fill = x.dtype.type(value)
        out = xp.where(mask, fill, x)
        # contiguous whatever x's strides, as PyTorch's (where keeps a transposed layout)
        return out if out.flags.c_contiguous else xp.ascontiguousarray(out)

    @staticmethod
    def backward(ctx, grad):
        mask = _make(ctx.mask)
        grad_x = MaskedFill.apply(grad, ctx.mask, 0.0) if ctx.needs_input_grad[0] else None
        grad_value = None
        if ctx.needs_input_grad[2]:
            from .reduce import sum as _sum

            grad_value = _sum(MaskedFill.apply(grad, ~mask._data, 0.0))
        return grad_x, None, grad_value


def masked_fill(input, mask, value):
    refuse_float8("masked_fill", input)
    _bool_mask("masked_fill_", mask)
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s)."
            )
    from .shape import _broadcast_shape_of

    _broadcast_shape_of((input, mask))
    return MaskedFill.apply(input, mask._data, value)


class MaskedScatter(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, mask, source):
        xp = xp_of(x)
        shape = np.broadcast_shapes(x.shape, mask.shape)
        out = xp.array(xp.broadcast_to(x, shape))
        full_mask = xp.broadcast_to(mask, shape)
        count = int(full_mask.sum())
        if count > source.size:
            raise RuntimeError("Number of elements of source < number of ones in mask")
        out[full_mask] = source.reshape(-1)[:count]
        ctx.meta = (full_mask, source.shape, count)
        return out

    @staticmethod
    def backward(ctx, grad):
        full_mask, source_shape, count = ctx.meta
        grad_x = MaskedFill.apply(grad, full_mask, 0.0)
        grad_source = None
        if ctx.needs_input_grad[2]:
            from .index import getitem
            from .shape import cat

            picked = getitem(grad, _make(full_mask))
            size = int(np.prod(source_shape))
            pad = grad.new_zeros((size - count,))
            grad_source = cat([picked, pad]).reshape(source_shape)
        return grad_x, None, grad_source


def masked_scatter(input, mask, source):
    _bool_mask("masked_scatter_", mask)
    return MaskedScatter.apply(input, mask._data, source)


class MaskedSelect(Function):
    """The elements of ``x`` where ``mask`` holds (both broadcast), as a 1-D tensor."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, mask):
        if x.shape != mask.shape:
            xp = xp_of(x)
            shape = np.broadcast_shapes(x.shape, mask.shape)
            x, mask = xp.broadcast_to(x, shape), xp.broadcast_to(mask, shape)
        ctx.mask = mask
        return x[mask]

    @staticmethod
    def backward(ctx, grad):
        mask = ctx.mask
        zeros = _make(xp_of(mask).zeros(mask.shape, grad._data.dtype))
        return MaskedScatter.apply(zeros, mask, grad), None


def masked_select(input, mask, *, out=None):
    if mask._data.dtype.kind != "b":
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    from .shape import _broadcast_shape_of

    _broadcast_shape_of((mask, input))  # PyTorch names the mask as tensor a
    return MaskedSelect.apply(input, mask._data)
