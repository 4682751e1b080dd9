"""Comparisons, logical and bitwise ops, float predicates and closeness tests.

None of these is differentiable: bool or integer outputs carry no grad_fn. Comparisons
and logical ops follow PyTorch's type promotion; bitwise ops and shifts accept only
integer and bool tensors.
"""

from __future__ import annotations

import numpy as np

from .._backend import dtypes as _dt
from .._backend.device import retry_with_host_scalars
from .._backend.float8 import FLOAT8_NP, not_implemented
from .._complex32 import widen
from .._backend.float8 import refuse as refuse_float8
from ._elementwise import _arr, _check_operand, _out, _promote, _slot, inplace_of
from ._util import _make, type_name, xp_of

_E5M2, _E8M0 = _dt.float8_e5m2.np, _dt.float8_e8m0fnu.np


def _binary(ufunc_name, a, b):
    """``xp.<ufunc_name>(a, b)`` on the operands' device. Where CuPy refuses a host array
    (TypeError): a 0-d cpu operand is a scalar, uploaded to the GPU as PyTorch takes it;
    operands on two devices raise PyTorch's error."""
    try:
        return getattr(xp_of(a, b), ufunc_name)(a, b)
    except TypeError as error:
        return retry_with_host_scalars(
            lambda *moved: getattr(xp_of(*moved), ufunc_name)(*moved), [a, b], error)


def _compare(ufunc_name, torch_name):
    ordered = torch_name not in ("eq", "ne")

    def op(input, other, *, out=None):
        a, b, dt = _promote(_arr(input), _arr(_check_operand(torch_name, other)))
        if dt.kind == "V" and dt.fields is not None:  # complex32: compared exactly, widened
            a, b, dt = widen(a), widen(b), np.dtype(np.complex64)
        if ordered and (dt.kind == "c" or dt.itemsize == 1 and dt in FLOAT8_NP):
            # complex numbers have no order (NumPy's is lexical); float8 has no kernel
            raise NotImplementedError(
                f'"{torch_name}_cpu" not implemented for \'{type_name(dt)}\'')
        return _out(_make(_binary(ufunc_name, a, b)), out)

    op.__name__ = torch_name
    op.__doc__ = f"Elementwise ``{torch_name}`` after type promotion; returns bool."
    return op


eq = _compare("equal", "eq")
ne = _compare("not_equal", "ne")
lt = _compare("less", "lt")
le = _compare("less_equal", "le")
gt = _compare("greater", "gt")
ge = _compare("greater_equal", "ge")


def _logical(ufunc_name, torch_name):
    def op(input, other, *, out=None):
        a, b = _arr(input), _arr(_check_operand(torch_name, other))
        return _out(_make(_binary(ufunc_name, a, b)), out)

    op.__name__ = torch_name
    return op


logical_and = _logical("logical_and", "logical_and")
logical_or = _logical("logical_or", "logical_or")
logical_xor = _logical("logical_xor", "logical_xor")


def logical_not(input, *, out=None):
    return _out(_make(xp_of(input._data).logical_not(input._data)), out)


def _integral_operands(torch_name, input, other, kernel=None):
    a, b, dt = _promote(_arr(input), _arr(_check_operand(torch_name, other)))
    if dt.kind not in "iub":
        kernel = kernel or f"{torch_name}_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{type_name(dt)}\'')
    return a, b, dt


def _bitwise(ufunc_name, torch_name):
    def op(input, other, *, out=None):
        a, b, _ = _integral_operands(torch_name, input, other)
        return _out(_make(_binary(ufunc_name, a, b)), out)

    op.__name__ = torch_name
    return op


bitwise_and = _bitwise("bitwise_and", "bitwise_and")
bitwise_or = _bitwise("bitwise_or", "bitwise_or")
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor")


def bitwise_not(input, *, out=None):
    data = input._data
    if data.dtype.kind not in "iub":
        raise TypeError(
            "~ (operator.invert) is only implemented on integer and Boolean-type tensors"
        )
    return _out(_make(xp_of(data).invert(data)), out)


def _shift(left):
    name = "bitwise_left_shift" if left else "bitwise_right_shift"

    def op(input, other, *, out=None):
        a, b, dt = _integral_operands(name, input, other, "lshift_cpu" if left else "rshift_cpu")
        xp = xp_of(a, b)
        if dt.kind == "b":
            dt = np.dtype(np.int64)
            a, b = xp.asarray(a, dtype=dt), xp.asarray(b, dtype=dt)
        bits = dt.itemsize * 8
        a = xp.asarray(a, dtype=dt)
        b = xp.asarray(b, dtype=dt)
        # Shifting by >= the bit width is undefined in C; PyTorch gives 0 (or the sign).
        too_far = (b >= bits) | (b < 0)
        safe = xp.where(too_far, 0, b).astype(dt)
        if left:
            result = xp.where(too_far, 0, xp.left_shift(a, safe)).astype(dt)
        else:
            result = xp.where(too_far, xp.where(a < 0, -1, 0), xp.right_shift(a, safe)).astype(dt)
        return _out(_make(result), out)

    op.__name__ = name
    return op


bitwise_left_shift = _shift(True)
bitwise_right_shift = _shift(False)


def isnan(input):
    data = input._data
    if data.dtype.fields is not None:  # complex32
        data = widen(data)
    return _make(xp_of(data).isnan(data))


def isinf(input):
    if input._data.dtype.itemsize == 1 and input._data.dtype != _E5M2:  # e5m2 has inf
        refuse_float8("isinf", input)
    return _make(xp_of(input._data).isinf(input._data))


def isfinite(input):
    np_dtype = input._data.dtype
    if np_dtype.itemsize == 1 and np_dtype != _E5M2 and np_dtype in FLOAT8_NP:
        if np_dtype == _E8M0:  # PyTorch's isfinite for e8m0 is true everywhere, NaN too
            return _make(np.ones(input._data.shape, np.bool_))
        refuse_float8("isfinite", input)
    data = input._data
    if np_dtype.fields is not None:  # complex32
        data = widen(data)
    return _make(xp_of(data).isfinite(data))


def isposinf(input, *, out=None):
    refuse_float8("isposinf_cpu", input)
    return _out(_make(input._data == np.inf), out)


def isneginf(input, *, out=None):
    refuse_float8("isneginf_cpu", input)
    return _out(_make(input._data == -np.inf), out)


def signbit(input, *, out=None):
    refuse_float8("signbit_cpu", input)
    return _out(_make(xp_of(input._data).signbit(input._data)), out)


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol * |other|; equal values (including infs) match."""
    a, b = input._data, _arr(other)
    if hasattr(b, "dtype") and a.dtype != b.dtype:
        raise RuntimeError(f"{type_name(a.dtype)} did not match {type_name(b.dtype)}")
    refuse_float8("mul_cpu_reduced_float", a)  # PyTorch's float8 isclose has no kernel
    if a.dtype.fields is not None:  # complex32: compared in complex64 (exact)
        a, b = widen(a), widen(b)
    xp = xp_of(a)
    close = a == b
    if a.dtype.kind in "fcV":
        work = np.complex128 if a.dtype.kind == "c" else np.float64  # (complex: both parts)
        af, bf = a.astype(work), xp.asarray(b).astype(work)
        close = close | (xp.abs(af - bf) <= atol + rtol * xp.abs(bf)) & xp.isfinite(af - bf)
        if equal_nan:
            close = close | (xp.isnan(af) & xp.isnan(bf))
    elif a.dtype.kind != "b":
        diff = xp.abs(a.astype(np.float64) - xp.asarray(b).astype(np.float64))
        close = close | (diff <= atol + rtol * xp.abs(xp.asarray(b).astype(np.float64)))
    return _make(xp.asarray(close))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def _check_equal_devices(input, other):
    """PyTorch's device check of ``equal``: a cuda operand sends the call to the CUDA kernel,
    whose generated wrapper takes the first argument's device as the common one and names
    the other (``check_and_update_common_device``); CuPy would refuse the host array with
    a bare TypeError."""
    first, second = input.device, other.device
    if first != second and "cuda" in (first.type, second.type):
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but got other is on {second}, "
            f"different from other tensors on {first} (when checking argument in method "
            f"wrapper_CUDA__equal)")


def equal(input, other) -> bool:
    """True when shapes match and every element is equal (after type promotion)."""
    _check_equal_devices(input, other)
    a, b = input._data, other._data
    if a.dtype.kind == "V" and a.dtype.fields is not None:
        raise not_implemented("equal_cpu", a.dtype)  # complex32
    if a.shape != b.shape:
        return False
    return bool(xp_of(a).array_equal(a, b))


def _invert(self):
    return bitwise_not(self)


__all__ = [
    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",
    "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "bitwise_left_shift", "bitwise_right_shift", "isnan", "isinf", "isfinite", "isposinf",
    "isneginf", "signbit", "isclose", "allclose", "equal",
]

_OUT_OF_PLACE = {name: globals()[name] for name in __all__}
_OUT_OF_PLACE.update(greater=gt, greater_equal=ge, less=lt, less_equal=le, not_equal=ne)

# In-place variants write the (bool or integer) result back into self, cast as PyTorch.
_INPLACE = {
    name + "_": inplace_of(fn, saves_self=False)
    for name, fn in _OUT_OF_PLACE.items()
    if name not in ("isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit",
                    "isclose", "allclose", "equal")
}

TENSOR_METHODS = {
    **_OUT_OF_PLACE, **_INPLACE,
    "__invert__": _invert,
    "__and__": _slot(bitwise_and), "__rand__": _slot(bitwise_and, reflected=True),
    "__iand__": _INPLACE["bitwise_and_"],
    "__or__": _slot(bitwise_or), "__ror__": _slot(bitwise_or, reflected=True),
    "__ior__": _INPLACE["bitwise_or_"],
    "__xor__": _slot(bitwise_xor), "__rxor__": _slot(bitwise_xor, reflected=True),
    "__ixor__": _INPLACE["bitwise_xor_"],
    "__lshift__": _slot(bitwise_left_shift),
    "__rlshift__": _slot(bitwise_left_shift, reflected=True),
    "__ilshift__": _INPLACE["bitwise_left_shift_"],
    "__rshift__": _slot(bitwise_right_shift),
    "__rrshift__": _slot(bitwise_right_shift, reflected=True),
    "__irshift__": _INPLACE["bitwise_right_shift_"],
    "__eq__": _slot(eq), "__ne__": _slot(ne), "__lt__": _slot(lt), "__le__": _slot(le),
    "__gt__": _slot(gt), "__ge__": _slot(ge),
}
