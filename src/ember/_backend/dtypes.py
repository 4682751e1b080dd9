"""ember's dtype objects, their NumPy counterparts, and PyTorch's promotion rules.

NumPy's own promotion differs from PyTorch's in several places (int64 + float16 gives
float64 in NumPy, float16 in PyTorch; Python floats upcast integer arrays to float64),
so ember computes result dtypes here and casts explicitly. The float8 types (ml_dtypes'
one-byte arrays) promote with nothing but themselves, as in PyTorch; complex32 is an array
of float16 (real, imag) pairs (see ember/_complex32.py for why).
"""

from __future__ import annotations

import numpy as np

try:  # bfloat16 has no NumPy dtype of its own; ml_dtypes provides one.
    import ml_dtypes as _ml_dtypes

    _BF16 = np.dtype(_ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - the test extras install ml_dtypes
    _ml_dtypes = None
    _BF16 = None


def _ml(name):
    """An ml_dtypes type by name (None without the package)."""
    return None if _ml_dtypes is None else np.dtype(getattr(_ml_dtypes, name))


class dtype:
    """A tensor element type, printed as PyTorch prints it (``torch.float32``)."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_complex", "is_signed")

    def __init__(self, name, np_dtype, is_floating_point, is_complex, is_signed, itemsize=None):
        self.name = name
        self.np = np_dtype
        self.itemsize = itemsize or (np_dtype.itemsize if np_dtype is not None else 2)
        self.is_floating_point = is_floating_point
        self.is_complex = is_complex
        self.is_signed = is_signed

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))

    @property
    def numpy_dtype(self):
        if self.np is None:
            raise RuntimeError(f"{self.name} needs the ml_dtypes package (pip install ml_dtypes)")
        return self.np

    def to_real(self):
        return {"complex64": float32, "complex128": float64, "complex32": float16}.get(
            self.name, self)

    def to_complex(self):
        return {"float32": complex64, "float64": complex128, "float16": complex32}.get(
            self.name, self
        )


float16 = dtype("float16", np.dtype(np.float16), True, False, True)
bfloat16 = dtype("bfloat16", _BF16, True, False, True)
float32 = dtype("float32", np.dtype(np.float32), True, False, True)
float64 = dtype("float64", np.dtype(np.float64), True, False, True)
complex64 = dtype("complex64", np.dtype(np.complex64), False, True, True)
complex128 = dtype("complex128", np.dtype(np.complex128), False, True, True)
uint8 = dtype("uint8", np.dtype(np.uint8), False, False, False)
uint16 = dtype("uint16", np.dtype(np.uint16), False, False, False)
uint32 = dtype("uint32", np.dtype(np.uint32), False, False, False)
uint64 = dtype("uint64", np.dtype(np.uint64), False, False, False)
int8 = dtype("int8", np.dtype(np.int8), False, False, True)
int16 = dtype("int16", np.dtype(np.int16), False, False, True)
int32 = dtype("int32", np.dtype(np.int32), False, False, True)
int64 = dtype("int64", np.dtype(np.int64), False, False, True)
bool_ = dtype("bool", np.dtype(np.bool_), False, False, False)
# The float8 family, stored in ml_dtypes' one-byte types (see _backend/float8.py for
# PyTorch's cast rules and the few ops PyTorch's CPU build runs on them).
float8_e4m3fn = dtype("float8_e4m3fn", _ml("float8_e4m3fn"), True, False, True, 1)
float8_e4m3fnuz = dtype("float8_e4m3fnuz", _ml("float8_e4m3fnuz"), True, False, True, 1)
float8_e5m2 = dtype("float8_e5m2", _ml("float8_e5m2"), True, False, True, 1)
float8_e5m2fnuz = dtype("float8_e5m2fnuz", _ml("float8_e5m2fnuz"), True, False, True, 1)
float8_e8m0fnu = dtype("float8_e8m0fnu", _ml("float8_e8m0fnu"), True, False, False, 1)
FLOAT8_DTYPES = (float8_e4m3fn, float8_e4m3fnuz, float8_e5m2, float8_e5m2fnuz, float8_e8m0fnu)
# complex32 (chalf): NumPy has no complex-half, so its arrays hold (real, imag) float16
# pairs in a structured dtype: PyTorch's bytes and element size, no NumPy arithmetic
# (ember/_complex32.py computes the few ops PyTorch's CPU build has, in complex64).
COMPLEX32_NP = np.dtype([("real", "<f2"), ("imag", "<f2")])
complex32 = dtype("complex32", COMPLEX32_NP, False, True, True)

ALL_DTYPES = (
    float16, bfloat16, float32, float64, complex64, complex128,
    uint8, uint16, uint32, uint64, int8, int16, int32, int64, bool_,
) + (FLOAT8_DTYPES + (complex32,) if _ml_dtypes is not None else (complex32,))


class _QuantizedDtype(dtype):
    """qint8/quint8/qint32: ``np`` is the integer representation's type; factories
    (which read ``numpy_dtype``) refuse them, as PyTorch's do: quantized tensors come
    from quantize_per_tensor/quantize_per_channel, which carry a scale."""

    __slots__ = ()

    @property
    def numpy_dtype(self):
        raise RuntimeError(
            f"empty_strided not supported on quantized tensors yet ({self!r}): create "
            "quantized tensors with torch.quantize_per_tensor or quantize_per_channel")


# Quantized dtypes: their arrays hold the integer representation, but they are kept out
# of ALL_DTYPES and the NumPy lookup so an int8 array still reads as torch.int8.
qint8 = _QuantizedDtype("qint8", np.dtype(np.int8), False, False, True)
quint8 = _QuantizedDtype("quint8", np.dtype(np.uint8), False, False, False)
qint32 = _QuantizedDtype("qint32", np.dtype(np.int32), False, False, True)
QUANTIZED_DTYPES = (qint8, quint8, qint32)
_BY_NAME = {d.name: d for d in ALL_DTYPES + QUANTIZED_DTYPES}
# PyTorch's aliases: torch.half, torch.float, torch.double, torch.long, ...
ALIASES = {
    "half": float16, "float": float32, "double": float64, "cfloat": complex64,
    "cdouble": complex128, "short": int16, "int": int32, "long": int64, "chalf": complex32,
}

_FROM_NP = {d.np: d for d in ALL_DTYPES if d.np is not None}
# NumPy dtype -> PyTorch's ScalarType name, for the float8 types and complex32 (their
# "not implemented for 'Float8_e4m3fn'" errors and promotion messages)
SPECIAL_TYPE_NAMES = {d.np: d.name.capitalize() for d in FLOAT8_DTYPES if d.np is not None}
SPECIAL_TYPE_NAMES[COMPLEX32_NP] = "ComplexHalf"


def _dtype_by_name(name):
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The ember dtype of a NumPy dtype; TypeError for types PyTorch lacks."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        pass
    np_dtype = np.dtype(np_dtype)
    if np_dtype in _FROM_NP:
        return _FROM_NP[np_dtype]
    if np_dtype.fields is not None and np_dtype == COMPLEX32_NP:  # same fields, other flags
        return complex32
    raise TypeError(
        f"can't convert np.ndarray of type numpy.{np_dtype.type.__name__}. The only supported "
        "types are: "
        "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, "
        "uint64, uint32, uint16, uint8, and bool."
    )


def to_dtype(d) -> dtype:
    """Accept an ember dtype, a Python type (float, int, bool) or a NumPy dtype."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    if d is complex:
        return complex128
    if isinstance(d, str):
        name = d[6:] if d.startswith("torch.") else d
        if name in _BY_NAME:
            return _BY_NAME[name]
        if name in ALIASES:
            return ALIASES[name]
    try:
        return from_numpy_dtype(np.dtype(d))
    except Exception:
        raise TypeError(f"dtype must be a torch.dtype (got {type(d).__name__})") from None


# ---------------------------------------------------------------------------
# Default dtype
# ---------------------------------------------------------------------------

_default = [float32]


def get_default_dtype() -> dtype:
    return _default[0]


def set_default_dtype(d) -> None:
    d = to_dtype(d)
    if d not in (float16, bfloat16, float32, float64):
        raise TypeError("only floating-point types are supported as the default type")
    _default[0] = d


def default_complex():
    return complex128 if _default[0] is float64 else complex64


# ---------------------------------------------------------------------------
# Promotion (torch.promote_types / torch.result_type), on NumPy dtypes
# ---------------------------------------------------------------------------

_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "V": 2, "c": 3}  # V: ml_dtypes bfloat16


def category(np_dtype) -> int:
    """0 bool, 1 integer, 2 floating, 3 complex."""
    if np_dtype is _BF16:
        return 2
    if np_dtype is COMPLEX32_NP:
        return 3
    return _KIND_RANK[np_dtype.kind]


def _refuse_float8(a, b):
    """PyTorch promotes a float8 type with nothing but itself (called for two different
    dtypes of which one has one byte, so bool and the 8-bit integers pass)."""
    if a in SPECIAL_TYPE_NAMES or b in SPECIAL_TYPE_NAMES:
        names = [SPECIAL_TYPE_NAMES.get(d) or _type_name(d) for d in (a, b)]
        if any(n.startswith("Float8") for n in names):
            raise RuntimeError("Promotion for Float8 Types is not supported, attempted to "
                               f"promote {names[0]} and {names[1]}")


def _type_name(np_dtype):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
            "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble",
            "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64",
            }.get(str(np_dtype), str(np_dtype))


def _promote_complex32(a, b):
    """complex32 with another dtype: complex32 while the other fits in float16 (bool,
    integers, float16), else the complex type of the other's width (PyTorch's table)."""
    other = b if a is COMPLEX32_NP else a
    if other is COMPLEX32_NP or other.kind in "biu" or other == np.dtype(np.float16):
        return COMPLEX32_NP
    if other.kind == "c":
        return other
    return np.dtype(np.complex128) if other.itemsize == 8 else np.dtype(np.complex64)


def promote_np(a, b):
    """torch.promote_types on NumPy dtypes (None means 'no operand of this kind yet')."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    if a.itemsize == 1 or b.itemsize == 1:
        _refuse_float8(a, b)
    if a is COMPLEX32_NP or b is COMPLEX32_NP:
        return _promote_complex32(a, b)
    ca, cb = category(a), category(b)
    if ca != cb:
        if ca < cb:
            a, b, ca, cb = b, a, cb, ca
        # a is of the higher category
        if ca == 3 and cb == 2 and b.itemsize * 2 > a.itemsize:
            return np.dtype(np.complex128)
        return a
    if ca == 2:
        if a is _BF16 or b is _BF16:
            # float16 and bfloat16 meet at float32; otherwise the wider wins
            other = b if a is _BF16 else a
            return other if other.itemsize > 2 else np.dtype(np.float32)
        return a if a.itemsize >= b.itemsize else b
    return np.promote_types(a, b)


def _wrapped_np(value):
    if isinstance(value, bool):
        return np.dtype(np.bool_)
    if isinstance(value, int):
        return np.dtype(np.int64)
    if isinstance(value, float):
        return _default[0].np
    if isinstance(value, complex):
        return default_complex().np
    return None


_F16, _C64 = np.dtype(np.float16), np.dtype(np.complex64)


def _combine(higher, lower):
    """PyTorch's combine_categories: a higher-priority operand keeps its dtype unless a
    lower-priority one brings a higher category."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    ch, cl = category(higher), category(lower)
    if ch == 3:
        return higher
    if cl == 3:
        if ch == 2:  # the complex type of higher's float width: half gives complex32
            return COMPLEX32_NP if higher == _F16 else promote_np(higher, _C64)
        return lower
    if ch == 2:
        return higher
    if ch == 0 or cl == 2:
        return promote_np(higher, lower)
    return higher


def result_np(*operands):
    """Result NumPy dtype for operands that are arrays or Python scalars.

    Arrays with ndim > 0 outrank 0-d arrays, which outrank Python scalars, exactly as
    torch.result_type ranks tensors, zero-dim tensors and wrapped numbers.
    """
    dim = zero = wrapped = None
    for op in operands:
        np_dtype = getattr(op, "dtype", None)
        if np_dtype is None:
            wrapped = promote_np(wrapped, _wrapped_np(op))
        elif op.ndim:
            dim = promote_np(dim, np_dtype)
        else:
            zero = promote_np(zero, np_dtype)
    return _combine(dim, _combine(zero, wrapped))
