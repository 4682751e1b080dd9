"""Choosing between operands elementwise: ``where``, ``clamp``, ``maximum``/``minimum``,
``fmax``/``fmin`` and ``lerp`` (re-exported through pointwise.py)."""

from __future__ import annotations

import numpy as np

from .._backend.float8 import refuse as refuse_float8
from .._backend import autocast_state, from_numpy_dtype, result_np
from .._grad_assign import _CPP_TYPE_NAMES
from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._blas_dtypes import kernel_scalar
from ._elementwise import _out, _promote, inplace_of
from ._inplace import check_cast
from ._util import Tensor, _make, np_clip, type_name, xp_of

_autocast = autocast_state.ACTIVE



class Where(Function):
    """where(condition, x, y): gradient flows to the chosen branch only."""

    _array_io = True

    @staticmethod
    def forward(ctx, condition, x, y):
        ctx.save_for_backward(condition)
        x, y, dt = _promote(x, y)
        xp = xp_of(condition, x, y)
        if xp is not np and dt.kind == "V" and dt.fields is None:  # bfloat16
            # CuPy's where gave float32 for bfloat16 (and a bfloat16 scalar): 0-d arrays
            # for the numbers, and the picked values (exact in float32) cast back
            x, y = (v if isinstance(v, xp.ndarray) else xp.asarray(v, dtype=dt) for v in (x, y))
            return xp.where(condition, x, y).astype(dt, copy=False)
        return xp.where(condition, x, y)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        grad_x = where(condition, grad, 0.0) if ctx.needs_input_grad[1] else None
        grad_y = where(condition, 0.0, grad) if ctx.needs_input_grad[2] else None
        return None, grad_x, grad_y


class Clamp(Function):
    """clamp(x, min, max) with scalar or tensor bounds; min > max gives max everywhere."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, low, high):
        xp = xp_of(x)
        dt = result_np(*(v for v in (x, low, high) if v is not None))
        if dt.kind == "c":  # no order on complex numbers
            raise NotImplementedError("clamp is not supported for complex types")
        x_cast = x.astype(dt, copy=False)
        out = x_cast
        if low is not None and high is not None and xp is np and dt.kind in "fiu":
            # one ufunc, and PyTorch's signed zeros (maximum(-0.0, 0.0) gives 0.0)
            out = np_clip(out, _cast_operand(low, dt), _cast_operand(high, dt))
        else:
            if low is not None:
                out = xp.maximum(out, _cast_operand(low, dt))
            if high is not None:
                out = xp.minimum(out, _cast_operand(high, dt))
        if out is x:
            out = out.copy()
        ctx.save_for_backward(x, low, high)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, low, high = ctx.saved_tensors
        keep = None
        if low is not None:
            keep = x >= low
        if high is not None:
            keep = (x <= high) if keep is None else keep & (x <= high)
        grad_x = where(keep, grad, 0.0) if ctx.needs_input_grad[0] else None
        grad_low = grad_high = None
        if ctx.needs_input_grad[1]:
            below = x < low
            if high is not None:
                below = below & (low < high)
            grad_low = where(below, grad, 0.0)
        if ctx.needs_input_grad[2]:
            above = x > high
            if low is not None:
                above = above | (high < low)
            grad_high = where(above, grad, 0.0)
        return grad_x, grad_low, grad_high


def _zero_where(mask, values):
    """``values`` with zeros where ``mask`` holds (masked_fill, differentiable)."""
    return where(mask, 0.0, values)


class _ClampScalar(Clamp):
    _node_name = "ClampBackward1"  # number bounds, as PyTorch names it


# clamp_min / clamp_max under PyTorch's names: Backward0 for a number bound, 1 for a tensor
_CLAMP_ONE_SIDED = {
    (side, tensor_bound): type(
        f"_Clamp{side}", (Clamp,),
        {"_node_name": f"Clamp{side}Backward{int(tensor_bound)}", "__module__": __name__},
    )
    for side in ("Min", "Max") for tensor_bound in (False, True)
}
_CLAMP_MIN_NUMBER = _CLAMP_ONE_SIDED["Min", False]


def _cast_operand(value, dt):
    if hasattr(value, "dtype"):
        return value.astype(dt, copy=False)
    return dt.type(value) if dt.kind == "V" else value  # bfloat16 would go float32


class _MinMax(Function):
    """maximum/minimum (NaN propagates; ties split the gradient in half, as PyTorch) and
    fmax/fmin (NaN ignored; the gradient goes to the operand that was picked)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, y, kind):
        ctx.kind = kind
        ctx.save_for_backward(x, y)
        a, b, dt = _promote(x, y)
        if dt.kind == "c":  # no order on complex numbers
            raise RuntimeError(f"{kind} not implemented for complex tensors.")
        refuse_float8(f"{kind}_cpu", a)
        return getattr(xp_of(a, b), kind)(a, b)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        kind = ctx.kind
        if kind in ("fmax", "fmin"):
            picks_x = (x >= y) if kind == "fmax" else (x <= y)
            picks_x = picks_x | y.isnan()
            grad_x = _zero_where(picks_x.logical_not(), grad)
            grad_y = _zero_where(picks_x, grad)
            return grad_x, grad_y, None
        half = where(x == y, grad / 2, grad)
        x_loses = (x < y) if kind == "maximum" else (x > y)
        y_loses = (x > y) if kind == "maximum" else (x < y)
        return _zero_where(x_loses, half), _zero_where(y_loses, half), None


# one subclass per op so grad_fn prints as PyTorch's (MaximumBackward0, FminBackward0, ...)
_MINMAX = {
    kind: type(kind.capitalize(), (_MinMax,), {"__module__": __name__})
    for kind in ("maximum", "minimum", "fmax", "fmin")
}


class Lerp(Function):
    """start + weight * (end - start), evaluated from the nearer end as PyTorch does."""

    _array_io = True

    @staticmethod
    def forward(ctx, start, end, weight):
        if start.dtype.kind not in "fcV":
            raise NotImplementedError(
                f'"lerp_kernel_scalar" not implemented for \'{type_name(start.dtype)}\''
            )
        ctx.save_for_backward(start, end, weight)
        w = weight
        if hasattr(w, "dtype"):
            xp = xp_of(start)
            diff = end - start
            near_start = xp.abs(w) < 0.5
            return xp.where(near_start, start + w * diff, end - diff * (1 - w)).astype(start.dtype)
        if start.dtype.itemsize == 2 and start.dtype.kind in "fV":
            # 16-bit floats compute in float32 (torch's opmath), rounded once at the end
            wide = _lerp_number(start.astype(np.float32), end.astype(np.float32), w)
            return wide.astype(start.dtype)
        return _lerp_number(start, end, w)

    @staticmethod
    def backward(ctx, grad):
        start, end, weight = ctx.saved_tensors
        grad_start = grad * (1 - weight) if ctx.needs_input_grad[0] else None
        grad_end = grad * weight if ctx.needs_input_grad[1] else None
        grad_weight = grad * (end - start) if ctx.needs_input_grad[2] else None
        return grad_start, grad_end, grad_weight


def _lerp_number(start, end, weight):
    """The number-weight formula, from the nearer end."""
    diff = end - start
    if abs(weight) < 0.5:
        return start + weight * diff
    return end - diff * (1 - weight)


class _LerpTensor(Lerp):
    _node_name = "LerpBackward1"


def where(condition, input=None, other=None, *, out=None):
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (either may be
    a Python number); ``where(condition)`` is ``nonzero(condition, as_tuple=True)``."""
    if input is None and other is None:
        from .index import nonzero

        return nonzero(condition, as_tuple=True)
    cond = condition._data if isinstance(condition, Tensor) else condition
    if cond.dtype.kind != "b":
        raise RuntimeError(
            "where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{type_name(cond.dtype)}"
        )
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        dt = result_np(input, other)
        xp = xp_of(cond)
        input, other = _make(xp.asarray(input, dtype=dt)), _make(xp.asarray(other, dtype=dt))
    return _out(Where.apply(condition, input, other), out)


def clamp(input, min=None, max=None, *, out=None):  # noqa: A002 - PyTorch's names
    """Limit input to [min, max]; bounds are numbers or tensors; min > max gives max."""
    refuse_float8("clamp_scalar_cpu", input)
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if out is None:
        plain = _unrecorded_clamp(input, min, max)
        if plain is not None:
            return plain
    scalar_bounds = not isinstance(min, Tensor) and not isinstance(max, Tensor)
    return _out((_ClampScalar if scalar_bounds else Clamp).apply(input, min, max), out)


clip = clamp

_NUMBER_BOUND = (int, float, type(None))


def _unrecorded_clamp(input, low, high):
    """clamp of a float NumPy tensor between Python numbers with nothing to record, as
    one ufunc call (the numbers keep the tensor's dtype); None for every other case."""
    if (type(low) not in _NUMBER_BOUND or type(high) not in _NUMBER_BOUND
            or not isinstance(input, Tensor) or _autocast[0] is not None
            or (input._requires_grad and _grad_enabled[0])):
        return None
    x = input._data
    if type(x) is not np.ndarray or x.dtype.kind != "f":
        return None
    if low is None:
        return _make(np.minimum(x, high))
    if high is None:
        return _make(np.maximum(x, low))
    return _make(np_clip(x, low, high))


def clamp_min(input, min):  # noqa: A002
    refuse_float8("clamp_min_scalar_cpu", input)
    if isinstance(min, Tensor):
        return _CLAMP_ONE_SIDED["Min", True].apply(input, min, None)
    return _CLAMP_MIN_NUMBER.apply(input, min, None)


def clamp_max(input, max):  # noqa: A002
    return _CLAMP_ONE_SIDED["Max", isinstance(max, Tensor)].apply(input, None, max)


def _binary_tensor_op(kind):
    def op(input, other, *, out=None):
        if not isinstance(other, Tensor):
            raise TypeError(
                f"{kind}(): argument 'other' (position 2) must be Tensor, not "
                f"{type(other).__name__}"
            )
        return _out(_MINMAX[kind].apply(input, other, kind), out)

    op.__name__ = kind
    return op


maximum = _binary_tensor_op("maximum")
minimum = _binary_tensor_op("minimum")
fmax = _binary_tensor_op("fmax")
fmin = _binary_tensor_op("fmin")


def lerp(input, end, weight, *, out=None):
    """input + weight * (end - input); weight is a number or a tensor. As PyTorch's, no
    promotion: ``end`` (and a weight tensor with dims) must have ``input``'s dtype, and
    only floating and complex inputs have a kernel."""
    dtype = input._data.dtype
    if end._data.dtype != dtype:
        _lerp_dtype_error(dtype, end, "end")
    if isinstance(weight, Tensor):
        if weight._data.ndim and weight._data.dtype != dtype:
            _lerp_dtype_error(dtype, weight, "weight")
        promoted = result_np(input._data, weight._data)
        if promoted != dtype:  # a 0-d weight joins type promotion (a complex one wins)
            dtype = promoted
            input, end = (t.to(from_numpy_dtype(dtype)) for t in (input, end))
        if dtype.kind not in "fcV":
            raise NotImplementedError(
                f'"lerp_kernel_tensor" not implemented for \'{type_name(dtype)}\'')
        return _out(_LerpTensor.apply(input, end, weight), out)
    if dtype.kind in "fcV":  # the weight becomes the kernel's (opmath) scalar type
        kernel_scalar(weight, dtype, opmath=True)
    return _out(Lerp.apply(input, end, weight), out)


def _lerp_dtype_error(dtype, other, name):
    raise RuntimeError(f"expected dtype {_CPP_TYPE_NAMES[str(dtype)]} for `{name}` but got "
                       f"dtype {_CPP_TYPE_NAMES[str(other._data.dtype)]}")


_lerp_written_back = inplace_of(lerp)


def lerp_(self, end, weight):
    """``self.lerp_``: a 0-d weight tensor joins type promotion, and PyTorch checks that
    the promoted type casts back to ``self``'s before the kernel's dtype check (a bool
    ``self`` with an int weight is a cast error, not a missing kernel)."""
    if (isinstance(weight, Tensor) and not weight._data.ndim and isinstance(end, Tensor)
            and end._data.dtype == self._data.dtype):
        check_cast(result_np(self._data, weight._data), self._data.dtype)
    return _lerp_written_back(self, end, weight)


def _where_method(self, condition, other):
    return where(condition, self, other)


__all__ = [
    "where", "clamp", "clip", "clamp_min", "clamp_max", "maximum", "minimum", "fmax", "fmin",
    "lerp",
]

_OUT_OF_PLACE = {
    "clamp": clamp, "clip": clip, "clamp_min": clamp_min, "clamp_max": clamp_max,
    "maximum": maximum, "minimum": minimum, "fmax": fmax, "fmin": fmin, "lerp": lerp,
    "where": _where_method,
}

TENSOR_METHODS = {
    **_OUT_OF_PLACE,
    **{name + "_": inplace_of(_OUT_OF_PLACE[name])
       for name in ("clamp", "clip", "clamp_min", "clamp_max")},
    "lerp_": lerp_,
}
