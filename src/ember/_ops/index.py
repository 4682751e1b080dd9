"""Indexing: ``__getitem__``/``__setitem__`` (basic indexing is a view; advanced copies),
gather/scatter, masked ops, nonzero."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ._inplace import apply_inplace, check_cast
from ._util import Tensor, _make, inplace_check, xp_of
from .shape import view_of


def _convert_index(index, shape):
    """Tensor/list parts become arrays; returns (numpy index, is_basic)."""
    if not isinstance(index, tuple):
        index = (index,)
    parts = []
    basic = True
    for item in index:
        if isinstance(item, Tensor):
            array = item._data
            if array.dtype.kind not in "biu":
                raise IndexError(
                    "tensors used as indices must be long, int, byte or bool tensors"
                )
            parts.append(array)
            basic = False
        elif isinstance(item, (list, np.ndarray)):
            array = np.asarray(item)
            if array.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            parts.append(array)
            basic = False
        elif isinstance(item, slice):
            if item.step is not None and item.step <= 0:
                raise ValueError("step must be greater than zero")
            parts.append(item)
        elif item is None or item is Ellipsis or isinstance(item, (int, np.integer)):
            parts.append(item)
        elif isinstance(item, bool):
            parts.append(item)
            basic = False
        else:
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                "are valid indices (got {})".format(type(item).__name__)
            )
    return tuple(parts), basic


def _index_error(exc):
    message = str(exc).replace("axis", "dimension")
    return IndexError(message)


class GetItem(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, index):
        ctx.meta = (x.shape, index)
        try:
            out = x[index]
        except IndexError as exc:
            raise _index_error(exc) from None
        return out if hasattr(out, "shape") and out.ndim else xp_of(x).asarray(out)

    @staticmethod
    def backward(ctx, grad):
        shape, index = ctx.meta
        return IndexPutZeros.apply(grad, shape, index), None


class IndexPutZeros(Function):
    """zeros(shape) with ``grad`` accumulated at ``index`` (repeated indices add up)."""

    _array_io = True

    @staticmethod
    def forward(ctx, grad, shape, index):
        ctx.index = index
        xp = xp_of(grad)
        out = xp.zeros(shape, grad.dtype)
        if _is_basic(index):
            out[index] = grad
        else:
            xp.add.at(out, index, grad)
        return out

    @staticmethod
    def backward(ctx, grad):
        return GetItem.apply(grad, ctx.index), None, None


def _is_basic(index):
    return all(not hasattr(i, "dtype") and not isinstance(i, bool) for i in index)


class SetItem(Function):
    """Out-of-place ``x[index] = value`` used when autograd records the assignment."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, value, index):
        ctx.index = index
        out = x.copy()
        out[index] = value
        return out

    @staticmethod
    def backward(ctx, grad):
        index = ctx.index
        grad_x = SetItem.apply(grad, 0.0, index) if ctx.needs_input_grad[0] else None
        grad_value = GetItem.apply(grad, index) if ctx.needs_input_grad[1] else None
        return grad_x, grad_value, None


def getitem(self, index):
    parts, basic = _convert_index(index, self._data.shape)
    out = GetItem.apply(self, parts)
    if basic:
        view_of(out, self)
    return out


def setitem(self, index, value):
    parts, _ = _convert_index(index, self._data.shape)
    inplace_check(self)
    from ..autograd.grad_mode import _grad_enabled

    if _grad_enabled[0] and (self._requires_grad or (isinstance(value, Tensor) and value._requires_grad)):
        if isinstance(value, Tensor) and value._data.dtype != self._data.dtype:
            value = value.to(self.dtype)
        apply_inplace(self, SetItem.apply(self, value, parts))
        return
    data = value._data if isinstance(value, Tensor) else value
    if hasattr(data, "dtype"):
        check_cast(data.dtype, self._data.dtype)
    try:
        self._data[parts] = data
    except IndexError as exc:
        raise _index_error(exc) from None
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None
    self._vc[0] += 1


def view_dtype(self, dtype):
    from .._backend import to_dtype

    np_dtype = to_dtype(dtype).numpy_dtype
    return view_of(_make(self._data.view(np_dtype)), self)


__all__ = []

TENSOR_METHODS = {"__getitem__": getitem, "__setitem__": setitem}
