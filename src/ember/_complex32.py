"""complex32 (``chalf``): PyTorch's complex-half type, which NumPy lacks.

Why the storage looks the way it does: a complex32 tensor's array is a NumPy structured
array of ``(real, imag)`` float16 pairs (``dtypes.COMPLEX32_NP``). That keeps what users
can observe exactly as PyTorch has it: 4-byte elements (``element_size()``, strides,
``nbytes``), the bytes a checkpoint holds, and ``view(torch.float16)`` /
``view_as_real`` as true views of the same memory. NumPy cannot compute on such arrays,
so the few ops PyTorch's CPU build runs on complex32 (add, sub, mul, neg, conj, abs, sgn,
comparisons, and the copying ops: cat, index, where, ...) convert to complex64, compute
there, and round the real and imaginary parts back to float16 after every op, which is
what PyTorch's kernels do (they compute each element in ``complex<float>``).
Everything else raises PyTorch's ``"..." not implemented for 'ComplexHalf'`` error.
Only NumPy (CPU) arrays: CuPy has no structured-dtype arithmetic.
"""

from __future__ import annotations

import operator

import numpy as np

from ._backend.dtypes import COMPLEX32_NP

_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)
_C64 = np.dtype(np.complex64)


def to_complex64(array):
    """The complex64 values of a complex32 array (exact)."""
    out = np.empty(array.shape, _C64)
    out.real = array["real"]
    out.imag = array["imag"]
    return out


def to_complex32(values):
    """``values`` (any NumPy numbers) as complex32: each part rounded to float16 from
    float32, as PyTorch converts (a float64 part is first rounded to float32)."""
    values = np.asarray(values)
    if values.dtype is COMPLEX32_NP:
        return values.copy()
    from ._backend.float8 import FLOAT8_NP

    if values.dtype in FLOAT8_NP or values.dtype.kind in "biuV":
        values = values.astype(_F32)
    out = np.empty(values.shape, COMPLEX32_NP)
    if values.dtype.kind == "c":
        out["real"] = values.real.astype(_F32).astype(_F16)
        out["imag"] = values.imag.astype(_F32).astype(_F16)
    else:
        out["real"] = values.astype(_F32).astype(_F16)
        out["imag"] = 0
    return out


def from_complex32(array, np_dtype):
    """A complex32 array converted to ``np_dtype`` (real types take the real part)."""
    values = to_complex64(array)
    if np_dtype.kind == "c":
        return values.astype(np_dtype)
    if np_dtype.kind == "b":
        return values != 0
    from ._backend.float8 import FLOAT8_NP, to_float8

    if np_dtype in FLOAT8_NP:
        return to_float8(values.real, np_dtype)
    return values.real.astype(np_dtype)


def cast(array, np_dtype):
    """``array.astype(np_dtype)`` when one side is complex32, else None."""
    if np_dtype is COMPLEX32_NP:
        return to_complex32(array)
    if array.dtype is COMPLEX32_NP:
        return from_complex32(array, np_dtype)
    return None


def widen(value):
    """An operand for complex64 arithmetic: complex32 arrays widened (exactly), others kept."""
    return to_complex64(value) if getattr(value, "dtype", None) is COMPLEX32_NP else value


def binary(op, x, y):
    """``op`` (an operator) on operands of which one is complex32, computed in complex64 and
    rounded back to complex32, as PyTorch's kernels compute complex<Half>. add and sub
    scale the second operand by alpha = 1 + 0j as a complex product, as PyTorch's kernel
    does (so (inf + 0.2j) + (inf + 0.1j) has a NaN imaginary part there too)."""
    x, y = widen(x), widen(y)
    if op is operator.add or op is operator.sub:
        y = np.asarray(y, dtype=_C64) * np.complex64(1)
    return to_complex32(op(x, y))


def negative(array):
    return to_complex32(-to_complex64(array))


def conjugate(array):
    out = array.copy()
    out["imag"] = -array["imag"]
    return out


def absolute(array):
    """|z| as float16 (PyTorch's complex32 abs gives Half)."""
    return np.abs(to_complex64(array)).astype(_F16)


def sign(array):
    """z / |z| (0 for 0), rounded to complex32: PyTorch's sgn."""
    values = to_complex64(array)
    magnitude = np.abs(values)
    with np.errstate(all="ignore"):
        out = np.where(magnitude == 0, 0, values / np.where(magnitude == 0, 1, magnitude))
    return to_complex32(out)


def as_real_view(array):
    """(real, imag) float16 pairs sharing the complex32 array's memory (view_as_real)."""
    real = array["real"]
    return np.lib.stride_tricks.as_strided(real, array.shape + (2,), real.strides + (2,))
