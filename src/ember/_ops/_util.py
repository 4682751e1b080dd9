"""Small helpers shared by the op families: promotion, dims, argument checks."""

from __future__ import annotations

import numpy as np

from .._backend import array_module, from_numpy_dtype, get_default_dtype, result_np, to_dtype
from .._backend.dtypes import SPECIAL_TYPE_NAMES as _SPECIAL_TYPE_NAMES
from .._tensor import Tensor, _make, _wrap_dim

try:  # the clip ufunc itself: np.clip's Python wrapper costs ~3 us per call, and
    # maximum/minimum with a scalar operand run an unvectorised loop (3x slower)
    from numpy._core.umath import clip as np_clip
except ImportError:  # NumPy 1.x
    from numpy.core.umath import clip as np_clip  # noqa: F401 - re-exported

__all__ = [
    "Tensor", "_make", "array_module", "promote_arrays", "wrap_dim", "normalize_dims",
    "as_tensor_arg", "np_dtype_of", "float_np", "is_float_array", "xp_of", "type_name",
    "inplace_check", "shape_str",
]

wrap_dim = _wrap_dim
_ndarray = np.ndarray


def xp_of(*operands):
    """The array module of the first array among the operands."""
    for op in operands:
        if type(op) is _ndarray:
            return np
        if hasattr(op, "dtype") and hasattr(op, "shape"):
            return array_module(op)
    return np


def promote_arrays(a, b):
    """Cast array operands to PyTorch's result dtype; Python scalars pass through (NumPy
    treats them as weak, so they adopt the array's dtype)."""
    a_arr = hasattr(a, "dtype")
    b_arr = hasattr(b, "dtype")
    if a_arr and b_arr:
        if a.dtype == b.dtype:
            return a, b, a.dtype
        target = result_np(a, b)
        if a.dtype != target:
            a = _astype(a, target)
        if b.dtype != target:
            b = _astype(b, target)
        return a, b, target
    array = a if a_arr else b
    scalar = b if a_arr else a
    kind = array.dtype.kind
    # Fast paths for the common cases: a float scalar with a float array, an int scalar
    # with an int or float array. NumPy keeps Python scalars weak, as PyTorch does.
    scalar_type = type(scalar)
    if (scalar_type is float and kind in "fc") or (scalar_type is int and kind in "fciu"):
        return a, b, array.dtype
    target = result_np(a, b)
    if array.dtype != target:
        array = _astype(array, target)
    if a_arr:
        return array, _scalar_as(b, target), target
    return _scalar_as(a, target), array, target


def _astype(array, np_dtype):
    """astype, by PyTorch's rules where one side is complex32 (a structured array NumPy
    would fill field by field) or float8."""
    if array.dtype.fields is None and np_dtype.fields is None:
        return array.astype(np_dtype)
    from .._backend.float8 import convert

    return convert(array, np_dtype)


def _scalar_as(value, np_dtype):
    # Keep Python scalars weak unless NumPy would reject them (bool into int ops is fine).
    if np_dtype.kind == "b" and not isinstance(value, bool):
        return np_dtype.type(value)
    return value


def float_np(array_dtype):
    """The dtype an op that always returns floats (exp, sqrt, true division) computes in:
    the input's own float dtype, or the default float dtype for integer/bool inputs."""
    if array_dtype.kind in "fcV":
        return array_dtype
    return get_default_dtype().np


def is_float_array(array) -> bool:
    return array.dtype.kind in "fcV"


def normalize_dims(dim, ndim):
    """dim=None -> all dims; int or sequence -> sorted tuple of non-negative dims."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        return (wrap_dim(int(dim), ndim),)
    dims = tuple(wrap_dim(int(d), ndim) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims")
    if not dims:
        return tuple(range(ndim))
    return tuple(sorted(dims))


def as_tensor_arg(value, like=None):
    """Turn a scalar/list argument into a Tensor (for ops that require tensors)."""
    if isinstance(value, Tensor):
        return value
    from .creation import tensor

    if like is not None and isinstance(value, (int, float, bool)):
        return tensor(value, dtype=from_numpy_dtype(result_np(like._data, value)),
                      device=like.device)
    return tensor(value)


def np_dtype_of(dtype):
    return None if dtype is None else to_dtype(dtype).numpy_dtype


def type_name(np_dtype) -> str:
    """PyTorch's ScalarType name as used in error messages: Float, Long, Bool, ..."""
    return {
        "float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
        "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
        "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble",
    }.get(str(np_dtype)) or _SPECIAL_TYPE_NAMES.get(np_dtype, str(np_dtype))


def shape_str(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def inplace_check(tensor):
    """In-place ops on a leaf that requires grad are an error while grad mode is on."""
    from ..autograd.grad_mode import _grad_enabled

    if (tensor._requires_grad and tensor.grad_fn is None and _grad_enabled[0]
            and not getattr(tensor, "_fw_hidden_grad", False)):  # forward AD's dual tensors
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )


def outside(index, bound):
    """Where the integer array ``index`` falls outside [0, bound): for int64 one unsigned
    compare covers both ends (a negative index read as unsigned is huge), so a bounds
    check is two launches and one device read on a GPU, where it runs every step of an
    embedding or a classification loss."""
    if index.dtype == np.int64:
        return index.view(np.uint64) >= bound
    return (index < 0) | (index >= bound)
