"""What ``tensor[index] = value`` accepts as a value, checked as PyTorch's ``__setitem__``
does before it looks at the index: the value's type (a TypeError naming it), then a
scalar's range for the tensor's dtype (c10's checked conversion). Only reached off the
fast path of ``index.setitem``, so the checks may be thorough.
"""

from __future__ import annotations

import math

import numpy as np

from .._backend.dtypes import SPECIAL_TYPE_NAMES
from .._backend.float8 import convert
from ._util import Tensor

# What PyTorch's ``__setitem__`` takes as a value: a tensor, a Python number (bool, int,
# float, complex and their subclasses, so NumPy's float64/complex128) or a NumPy integer
# scalar. Arrays, lists, None and other NumPy scalars are a TypeError, checked before
# the index.
_VALUE_TYPES = (Tensor, int, float, complex, np.integer)


def check_value_type(self, value):
    """PyTorch's TypeError for a value ``self[index] = value`` does not take."""
    if isinstance(value, _VALUE_TYPES) and type(value) is not np.bool_:
        return
    kind = type(value)
    # CPython's tp_name: a class defined in Python shows its bare name, a builtin or
    # extension type (numpy.ndarray, decimal.Decimal) its dotted one.
    heap = kind.__flags__ & (1 << 9) or kind.__module__ == "builtins"
    name = kind.__name__ if heap else f"{kind.__module__}.{kind.__name__}"
    raise TypeError(f"can't assign a {name} to a {self.type()}")


# c10's names in "value cannot be converted to type ... without overflow" (16-bit floats
# are converted through double, and only a complex value's imaginary part is checked)
_C_TYPES = {"float32": "float", "float64": "double", "float16": "double", "bfloat16": "double",
            "int64": "int64_t", "int32": "int", "int16": "int16_t", "int8": "int8_t",
            "uint8": "uint8_t", "complex64": "c10::complex<float>",
            "complex128": "c10::complex<double>"}
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def checked_scalar(np_dtype, value):
    """A Python/NumPy scalar checked as PyTorch's ``checked_convert`` does before a fill
    (ints past int64, a complex with an imaginary part into a real dtype, values out of an
    integer's or float32's range are errors), returned as the value NumPy should store."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = int(value)
        if not -2**63 <= value < 2**63:
            raise ValueError("Overflow when unpacking long long")
    if np_dtype in SPECIAL_TYPE_NAMES:  # float8, complex32: PyTorch's rounding, as an array
        return convert(value, np_dtype)
    kind = "f" if np_dtype.name == "bfloat16" else np_dtype.kind  # ml_dtypes' kind is "V"
    if kind == "b" or kind not in "fciu" or isinstance(value, bool):
        return value
    real, imag = (value.real, value.imag) if isinstance(value, complex) else (value, 0)
    if kind == "c":
        ok = str(np_dtype) != "complex64" or not any(
            math.isfinite(part) and abs(part) > _FLOAT32_MAX for part in (real, imag))
        return value if ok else _raise_overflow(np_dtype)
    if imag != 0:
        _raise_overflow(np_dtype)
    if kind == "f":
        if str(np_dtype) == "float32" and math.isfinite(real) and abs(real) > _FLOAT32_MAX:
            _raise_overflow(np_dtype)
        return real
    info = np.iinfo(np_dtype)
    if info.min <= real <= info.max:
        return real
    if kind == "u" and isinstance(real, int) and -info.max <= real < 0:
        return real % (info.max + 1)  # a negative int wraps into an unsigned type
    return _raise_overflow(np_dtype)


def _raise_overflow(np_dtype):
    raise RuntimeError(f"value cannot be converted to type "
                       f"{_C_TYPES.get(str(np_dtype), str(np_dtype))} without overflow")
