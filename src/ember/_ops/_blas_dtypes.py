"""dtype rules of the BLAS-style products, as PyTorch's CPU kernels apply them.

Each product compares its operands' dtypes in its own order and words (addmm: self with
mat2, then mat1 with mat2; addmv: all three at once; baddbmm: input with batch1, and
batch2 only inside the kernel). The kernels then refuse bool ("not implemented for
'Bool'") and convert ``beta``/``alpha`` to their scalar type with c10's checked
conversion: a float is truncated for integer tensors, and a value out of the type's range
(or a complex with an imaginary part, for a real type) is an error naming the C++ type.
addmm, baddbmm and addbmm convert to the "opmath" type (float for 16-bit floats); addmv
and addr to the tensor's own type. Only addr refuses float scalars for integer tensors.

NumPy would instead raise its own UFuncTypeError (or silently promote) for all of these.
"""

from __future__ import annotations

import math

import numpy as np

from .._grad_assign import _CPP_TYPE_NAMES
from ._inplace import check_cast
from ._util import Tensor, shape_str, type_name

_BOOL = np.dtype(np.bool_)

# c10's C++ names, as "value cannot be converted to type ... without overflow" spells them
_C_NAMES = {
    "uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int",
    "int64": "int64_t", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
    "float32": "float", "float64": "double", "complex64": "c10::complex<float>",
    "complex128": "c10::complex<double>",
}
# the largest finite value of each narrower float type (wider values overflow)
_FLOAT_MAX = {"float16": 65504.0, "bfloat16": 3.3895313892515355e38,
              "float32": float(np.finfo(np.float32).max)}


def not_implemented(kernel, np_dtype):
    raise NotImplementedError(f'"{kernel}" not implemented for \'{type_name(np_dtype)}\'')


def _overflow(name):
    raise RuntimeError(f"value cannot be converted to type {_C_NAMES[name]} without overflow")


def python_number(value):
    """A beta/alpha as a Python number (a 0-d tensor or NumPy scalar gives its item)."""
    kind = type(value)
    if kind is float or kind is bool or kind is complex:
        return value
    if isinstance(value, (bool, int, float, complex)):
        if kind is int and not -2**63 <= value < 2**64:
            raise OverflowError("int too big to convert")
        return value
    if isinstance(value, (Tensor, np.generic)):
        return value.item()
    raise TypeError(f"argument must be a number, not {type(value).__name__}")


# the products whose Python binding has a second (deprecated) signature: a bad beta/alpha
# matches neither, and PyTorch's parser names the whole call instead of the argument
_OVERLOADED = {"addmm", "baddbmm"}


def check_scalar_args(op, tensors, beta, alpha):
    """PyTorch's argument-parser TypeError for a ``beta``/``alpha`` that is not a number
    (``beta="a"``, ``beta=None``); the caller checks ``type(...) is int`` first.
    ``tensors`` is None for the Tensor methods, which have one signature each."""
    for name, value in (("beta", beta), ("alpha", alpha)):
        if isinstance(value, (bool, int, float, complex, Tensor, np.generic)):
            continue
        if op not in _OVERLOADED or tensors is None:
            raise TypeError(f"{op}(): argument '{name}' must be Number, not "
                            f"{type(value).__name__}")
        got = ["Tensor" if isinstance(t, Tensor) else type(t).__name__ for t in tensors]
        got += [f"{key}={type(v).__name__}" for key, v in (("beta", beta), ("alpha", alpha))
                if not (type(v) is int and v == 1)]
        raise TypeError(f"{op}() received an invalid combination of arguments - got "
                        f"({', '.join(got)}), but expected one of:")


_TARGETS = {}


def _target(np_dtype, opmath):
    """(kind, C++ name, finite limit, integer bounds) of the type a scalar converts to;
    cached per dtype (``str(dtype)`` alone costs microseconds)."""
    key = (np_dtype, opmath)
    found = _TARGETS.get(key)
    if found is None:
        name = str(np_dtype)
        kind = np_dtype.kind if name != "bfloat16" else "f"  # ml_dtypes' kind is "V"
        if opmath and name in ("float16", "bfloat16"):
            name = "float32"
        if kind == "c":
            limit = _FLOAT_MAX["float32"] if name == "complex64" else None
        else:
            limit = _FLOAT_MAX.get(name)
        bounds = (int(np.iinfo(np_dtype).min), int(np.iinfo(np_dtype).max)) if kind in "iu" \
            else None
        found = _TARGETS[key] = (kind, name, limit, bounds)
    return found


def kernel_scalar(value, np_dtype, opmath=False):
    """``value`` converted as the kernel's ``Scalar.to<T>()``: T is the tensor's type, or
    float for float16/bfloat16 tensors when the kernel computes in ``opmath``."""
    kind, name, limit, bounds = _target(np_dtype, opmath)
    if type(value) is float and kind == "f" and (limit is None or not abs(value) > limit):
        return value  # the common call: a float (or nan) for a float tensor
    value = python_number(value)
    if kind == "b":
        return bool(value)
    if kind == "c":
        if limit is not None and isinstance(value, (float, complex)):
            parts = (value.real, value.imag)
            if any(math.isfinite(p) and abs(p) > limit for p in parts):
                _overflow(name)
        return value
    if isinstance(value, complex):
        if value.imag != 0:
            _overflow(name)
        value = value.real
    if kind == "f":
        if limit is not None and abs(value) > limit and math.isfinite(value):
            _overflow(name)
        return float(value)
    if type(value) is float and not math.isfinite(value):
        _overflow(name)
    low, high = bounds
    if low <= value <= high:
        return int(value)  # truncated toward zero, as C++'s conversion
    if kind == "u" and not isinstance(value, float) and -high <= value < 0:
        return int(value) % (high + 1)  # a negative integer wraps into unsigned
    return _overflow(name)


def kernel_scalars(kernel, np_dtype, beta, alpha, opmath):
    """The bool refusal, then beta and alpha converted (beta first, as the kernels do)."""
    if np_dtype is _BOOL:
        not_implemented(kernel, np_dtype)
    return kernel_scalar(beta, np_dtype, opmath), kernel_scalar(alpha, np_dtype, opmath)


def scaled_input_check(input, beta):
    """``result.mul_(beta)``: the kernels' path for an empty inner dimension. ``beta``
    is not converted there, so a float beta on an integer (or any number on a bool)
    input is the in-place cast error."""
    if python_number(beta) != 0:
        from .._backend import result_np

        check_cast(result_np(input._data, python_number(beta)), input._data.dtype)


# -- each product's dtype checks, in its order and words -----------------------------------


def check_self_mat2(self, mat1, mat2):
    """addmm (and addbmm's per-batch addmm_): self against mat2, then the two factors."""
    if self._data.dtype != mat2._data.dtype:
        raise RuntimeError(
            f"self and mat2 must have the same dtype, but got {type_name(self._data.dtype)} "
            f"and {type_name(mat2._data.dtype)}")
    if mat1._data.dtype != mat2._data.dtype:
        raise RuntimeError(
            f"mat1 and mat2 must have the same dtype, but got {type_name(mat1._data.dtype)} "
            f"and {type_name(mat2._data.dtype)}")


def check_addmv(self, mat, vec):
    dtypes = (self._data.dtype, mat._data.dtype, vec._data.dtype)
    if dtypes[0] != dtypes[1] or dtypes[1] != dtypes[2]:
        raise RuntimeError(
            f"addmv input tensors must have the same dtype, but got {type_name(dtypes[0])}, "
            f"{type_name(dtypes[1])}, and {type_name(dtypes[2])}")


def _cpp(np_dtype):
    name = str(np_dtype)
    return _CPP_TYPE_NAMES.get(name, name)


def check_baddbmm_input(self, batch1, batch2):
    if self._data.dtype != batch1._data.dtype:
        raise RuntimeError(
            f"Input dtypes must be the same, got: input {_cpp(self._data.dtype)}, batch1: "
            f"{_cpp(batch1._data.dtype)}, batch2: {_cpp(batch2._data.dtype)}")


def check_bmm_kernel(batch1, batch2, kernel):
    """bmm's kernel: bool refused for batch1's type, then batch2 must share it."""
    first, second = batch1._data.dtype, batch2._data.dtype
    if first is _BOOL:
        not_implemented(kernel, first)
    if first != second:
        raise RuntimeError(
            f"expected scalar type {type_name(first)} but found {type_name(second)}")


def size_of(tensor, dim):
    """``tensor.size(dim)`` with PyTorch's IndexError for a dim the tensor lacks."""
    shape = tensor._data.shape
    if dim < len(shape):
        return shape[dim]
    if not shape:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    raise IndexError(f"Dimension out of range (expected to be in range of [{-len(shape)}, "
                     f"{len(shape) - 1}], but got {dim})")


def check_expand(tensor, target):
    """``expand_size(self, target)``: the input must broadcast to the product's shape."""
    shape = tensor._data.shape
    if shape == target:
        return
    if len(shape) > len(target):
        raise RuntimeError(
            f"expand({tensor.type()}{{{shape_str(shape)}}}, size={shape_str(target)}): the "
            f"number of sizes provided ({len(target)}) must be greater or equal to the number "
            f"of dimensions in the tensor ({len(shape)})")
    lead = len(target) - len(shape)
    for i, size in enumerate(shape):
        if size != 1 and size != target[lead + i]:
            raise RuntimeError(
                f"The expanded size of the tensor ({target[lead + i]}) must match the existing "
                f"size ({size}) at non-singleton dimension {lead + i}.  Target sizes: "
                f"{shape_str(target)}.  Tensor sizes: {shape_str(shape)}")


def check_addr_scalar(np_dtype, value, name):
    """addr's own rule: no bool scalar unless the result is bool, no float scalar for an
    integral result."""
    if isinstance(value, bool) and np_dtype is not _BOOL:
        raise RuntimeError(f"Boolean {name} only supported for Boolean results.")
    if np_dtype.kind in "biu" and isinstance(python_number(value), (float, complex)):
        raise RuntimeError(f"For integral input tensors, argument {name} must not be a "
                           "floating point number.")


# matmul's dispatch: the kernel each operand-rank pair reaches, on the CPU and on CUDA
# (CUDA's GEMM, GEMV and dot kernels dispatch floating and complex types only)
_KERNELS = {"dot": ("dot", "dot"), "mv": ("addmv_impl_cpu", "addmv_impl_cuda"),
            "mm": ("addmm_impl_cpu_", "addmm_cuda"), "bmm": ("bmm", "baddbmm_cuda")}


def matmul_dtype_error(a, b):
    """Raise the refusal of ``a``'s dtype by the kernel matmul reaches, when it runs
    (empty products never reach it): bool everywhere; on a device (where CuPy would
    compute it) integers too, with CUDA's kernel names."""
    on_device = type(a) is not np.ndarray
    if not (a.dtype is _BOOL or (on_device and a.dtype.kind in "iu")):
        return
    if a.ndim == 1 and b.ndim == 1:
        form = "dot"
    elif a.size == 0 or b.size == 0:
        return
    else:
        form = "mv" if b.ndim == 1 else "mm" if b.ndim == 2 else "bmm"
    not_implemented(_KERNELS[form][on_device], a.dtype)


def plain_cast(value, np_dtype):
    """``scalar_tensor(value, dtype)``: a plain C cast without range checks (addmv's path
    for an empty matrix scales the input this way)."""
    value = python_number(value)
    kind = np_dtype.kind if str(np_dtype) != "bfloat16" else "f"
    if kind == "b":
        return bool(value)
    if kind == "c":
        return value
    value = value.real if isinstance(value, complex) else value
    return int(value) if kind in "iu" else float(value)


def product_scalars(kernel, input, product_dtype, beta, alpha, target, inner, opmath=True):
    """What runs between a product's shape checks and its GEMM (``input`` already checked
    to expand to ``target``): an empty product is left alone; an empty inner dimension
    only scales the input (``result.mul_(beta)``); else the kernel refuses bool and
    converts the scalars. Returns the (beta, alpha) to compute with."""
    if (product_dtype is not _BOOL and type(beta) is int and type(alpha) is int
            and alpha == 1 and (beta == 1 or beta == 0)):
        return beta, alpha  # the common call: nothing to convert or refuse
    if 0 in target:
        return 0, 1
    if inner == 0:
        scaled_input_check(input, beta)
        return python_number(beta), 1
    return kernel_scalars(kernel, product_dtype, beta, alpha, opmath)
