"""PyTorch's float8 types on ml_dtypes arrays: casts with PyTorch's rounding and saturation,
and the refusal PyTorch's CPU build gives for most ops on them.

ml_dtypes rounds to nearest-even as PyTorch does, but three of its conversions differ
from PyTorch's, bit for bit (checked against torch over every float8 pattern and random
float32 values):

- ``float8_e4m3fn``: PyTorch saturates values beyond the finite range (infinities too)
  to +-448; ml_dtypes gives NaN.
- ``float8_e5m2``: PyTorch writes NaN as 0x7F (sign kept); ml_dtypes as 0x7E.
- ``float8_e8m0fnu`` (exponent only, no sign): PyTorch takes the float32 exponent of
  ``|x|`` rounded to nearest-even on the mantissa, so 0 and negatives become powers of two;
  ml_dtypes gives NaN for both.

PyTorch converts to float8 from float32 (a float64 value is rounded to float32 first),
and from float8 to integers through float32. ``cast`` applies these rules whenever one
side of a conversion is a float8 type; every other conversion is NumPy's ``astype``.
Only NumPy (CPU) arrays: CuPy has no float8 types.
"""

from __future__ import annotations

import numpy as np

from . import dtypes as _dt

# NumPy dtype of each float8 type -> its ember dtype (empty without ml_dtypes)
FLOAT8_NP = {d.np: d for d in _dt.FLOAT8_DTYPES if d.np is not None}
_E4M3FN = _dt.float8_e4m3fn.np
_E5M2 = _dt.float8_e5m2.np
_E8M0 = _dt.float8_e8m0fnu.np
_F32 = np.dtype(np.float32)
# the NaN-only types (no inf, one NaN pattern): PyTorch converts their NaN to integer 0
_NAN_TO_ZERO = {d.np for d in (_dt.float8_e4m3fnuz, _dt.float8_e5m2fnuz, _dt.float8_e8m0fnu)}


def is_float8(np_dtype) -> bool:
    return np_dtype in FLOAT8_NP


def type_name(np_dtype) -> str:
    """PyTorch's ScalarType name (``Float8_e4m3fn``), as its error messages print it."""
    return _dt.SPECIAL_TYPE_NAMES.get(np_dtype) or _dt._type_name(np_dtype)


def not_implemented(kernel: str, np_dtype):
    """The error PyTorch's dispatch raises for a kernel without this dtype."""
    return NotImplementedError(f'"{kernel}" not implemented for \'{type_name(np_dtype)}\'')


def refuse(kernel: str, value, refused=FLOAT8_NP) -> None:
    """Raise PyTorch's missing-kernel error if ``value`` (a tensor or an array) holds a
    float8 type (a NumPy dtype in ``refused``); anything else passes (the op's own checks
    then apply), a Python number or a sparse layout included (no dense array; its own
    kernels check dtypes)."""
    try:
        np_dtype = value._data.dtype
    except AttributeError:  # an array, or a Python number
        np_dtype = getattr(value, "dtype", None)
    except NotImplementedError:  # a sparse layout
        return
    if np_dtype is not None and np_dtype.__class__ is not type and np_dtype in refused:
        raise not_implemented(kernel, np_dtype)


def refuse_complex32(kernel: str, value) -> None:
    """``refuse`` for the ops PyTorch's CPU build runs on neither float8 nor complex32."""
    refuse(kernel, value, _dt.SPECIAL_TYPE_NAMES)


def _to_float32(array):
    """The float32 values PyTorch converts from (complex: the real part)."""
    if array.dtype.kind == "c":
        array = array.real
    return array.astype(_F32)


def _e8m0_from_float32(values):
    """PyTorch's fp8e8m0fnu_from_fp32_value: the biased exponent of |x|, rounded to
    nearest-even on the mantissa's guard/round/sticky bits; NaN and inf give NaN (0xFF)."""
    bits = np.ascontiguousarray(values, dtype=_F32).view(np.uint32)
    exponent = (bits >> 23) & 0xFF
    guard = (bits & 0x400000) != 0
    rest = (bits & 0x3FFFFF) != 0  # round and sticky bits together
    round_up = guard & (rest | (exponent > 0))
    out = np.where(exponent == 0xFF, 0xFF, exponent + round_up).astype(np.uint8)
    return out.view(_E8M0)


def to_float8(array, np_dtype):
    """``array`` (any NumPy dtype) converted to the float8 type ``np_dtype`` as PyTorch."""
    array = np.asarray(array)
    if array.dtype == np_dtype:
        return array.copy()
    values = _to_float32(array)
    if np_dtype == _E8M0:
        return _e8m0_from_float32(values)
    if np_dtype == _E4M3FN:
        values = np.clip(values, -448.0, 448.0)  # saturate; NaN stays NaN
    out = values.astype(np_dtype)
    if np_dtype == _E5M2:
        nan = np.isnan(values)
        if nan.any():
            sign = np.signbit(values).astype(np.uint8) << 7
            bits = out.view(np.uint8)
            bits[nan] = (0x7F | sign)[nan]
    return out


def from_float8(array, np_dtype):
    """A float8 ``array`` converted to ``np_dtype``: floats exactly, integers and complex
    through float32 (PyTorch's path, which also gives its results for NaN and inf)."""
    if np_dtype.kind in "fV" and np_dtype not in FLOAT8_NP and np_dtype.fields is None:
        return array.astype(np_dtype)
    if np_dtype.kind == "b":
        return array.astype(np_dtype)
    values = array.astype(_F32)
    if np_dtype in FLOAT8_NP:
        return to_float8(values, np_dtype)
    if np_dtype.fields is not None:  # complex32
        from .._complex32 import to_complex32

        return to_complex32(values)
    if np_dtype.kind in "iu" and array.dtype in _NAN_TO_ZERO:
        values[np.isnan(values)] = 0  # these types' NaN converts to integer 0 in PyTorch
    return values.astype(np_dtype)


def cast(array, np_dtype):
    """``array.astype(np_dtype)`` with PyTorch's float8 rules (see the module docstring);
    None when neither side is a float8 type (the caller's own astype then applies)."""
    if np_dtype in FLOAT8_NP:
        return to_float8(array, np_dtype)
    if array.dtype in FLOAT8_NP:
        return from_float8(array, np_dtype)
    return None


def scalar_as(value, np_dtype):
    """A Python number as a 0-d array of the float8 type ``np_dtype`` (fill_, full)."""
    return to_float8(np.asarray(value, dtype=np.float64), np_dtype)


def convert(value, np_dtype):
    """``value`` (a Python number or an array) ready to be written into an array of
    ``np_dtype`` by PyTorch's rules, when either side is float8 or complex32 (fill_,
    copy_, full, tensor(data, dtype=)); ``value`` unchanged otherwise."""
    source = getattr(value, "dtype", None)
    if np_dtype not in _dt.SPECIAL_TYPE_NAMES and source not in _dt.SPECIAL_TYPE_NAMES:
        return value
    if source is None:
        value = np.asarray(value)
    if source == np_dtype:
        return value
    from .._complex32 import cast as cast_complex32

    out = cast_complex32(value, np_dtype)
    return cast(value, np_dtype) if out is None else out


def check_fill(value, np_dtype, numel) -> None:
    """PyTorch's vectorised fill (``fill_``/``full`` of more than one element) checks the
    value as c10's ``checked_convert``: a finite value past the type's range, an infinity
    for a type without one, and (e8m0, unsigned) zero or a negative overflow."""
    if numel <= 1 or np_dtype not in FLOAT8_NP or isinstance(value, bool) or (
            hasattr(value, "dtype")):  # a tensor's value: converted, not checked
        return
    value = complex(value).real if isinstance(value, complex) else float(value)
    if value != value:  # NaN converts
        return
    info = _finfo(np_dtype)
    if value in (float("inf"), float("-inf")):
        bad = np_dtype != _E5M2
    else:
        bad = not (float(info.min) <= value <= float(info.max)) if np_dtype != _E8M0 else (
            not (float(info.tiny) <= value <= float(info.max)))
    if bad:
        raise RuntimeError(f"value cannot be converted to type c10::{type_name(np_dtype)} "
                           "without overflow")


def _finfo(np_dtype):
    import ml_dtypes

    return ml_dtypes.finfo(np_dtype)


def float8_mul(x, y, np_dtype):
    """PyTorch's CPU mul of two float8 tensors of one dtype: the float32 product rounded
    back as a cast rounds. A number or a tensor of another dtype as the other operand
    (a 0-d one promotes to float8 too) has no kernel."""
    if getattr(x, "dtype", None) != np_dtype or getattr(y, "dtype", None) != np_dtype:
        raise not_implemented("mul_cpu_reduced_float", np_dtype)
    return to_float8(x.astype(_F32) * y.astype(_F32), np_dtype)


def matmul(a, b):
    """PyTorch's CPU build multiplies float8 matrices (not batches: bmm, dot and mv have
    no kernel, nor does e8m0) in float32, rounding the result as a cast to float8 does."""
    if b.ndim > 2 or (a.ndim > 2 and b.ndim == 1):
        raise not_implemented("bmm", a.dtype)
    if a.ndim == 1 and b.ndim == 1:
        raise not_implemented("dot", a.dtype)
    if a.ndim == 2 and b.ndim == 1:
        raise not_implemented("addmv_impl_cpu", a.dtype)
    if a.dtype == _E8M0:
        raise not_implemented("addmm_impl_cpu_", a.dtype)
    # a batched ``a`` against a matrix folds into one mm, as PyTorch's matmul does
    out = np.matmul(a.reshape(-1, a.shape[-1]).astype(_F32), b.astype(_F32))
    return to_float8(out, a.dtype).reshape(a.shape[:-1] + b.shape[1:])
