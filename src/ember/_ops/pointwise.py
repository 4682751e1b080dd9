"""Pointwise ops: arithmetic (+ - * / ** and their in-place forms) and the Python
operators. Comparisons, logical/bitwise ops and closeness tests live in compare.py;
where, clamp, maximum/minimum and lerp in where_clamp.py; both are re-exported here.

Each differentiable op is one Function: forward on backend arrays, backward with Tensor
ops (so double backward works). Broadcast gradients are reduced by the engine. Forward
saves the *original* operands (before dtype promotion) so saved inputs stay connected
to the graph for higher-order gradients. The unary math functions live in unary.py.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..autograd.function import Function, apply_binary, same_float, saved_arrays
from .._backend.dtypes import _BF16 as _BF16_NP
from .._backend.dtypes import COMPLEX32_NP
from .._backend.dtypes import SPECIAL_TYPE_NAMES as _SPECIAL
from .._backend.float8 import FLOAT8_NP, float8_mul, not_implemented
from .._complex32 import binary as complex32_binary
from .._complex32 import negative as complex32_negative
from ._elementwise import _IEEE, _arr, _binary_slot, _out, _promote, _slot, _wrap_int, inplace_of
from ._inplace import apply_inplace, ufunc_inplace
from ._util import Tensor, float_np, promote_arrays, type_name, xp_of
from . import compare, where_clamp
from .compare import *  # noqa: F401,F403 - comparisons, logical, bitwise (re-exported)
from .where_clamp import *  # noqa: F401,F403 - where, clamp, maximum, lerp (re-exported)
from .where_clamp import _zero_where, where


# ---------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------

_ndarray = np.ndarray


def _special_binary(kernel, op, x, y, dt):
    """add/sub on a float8 type (PyTorch has no kernel) or complex32 (computed)."""
    if dt is COMPLEX32_NP:
        return complex32_binary(op, x, y)
    raise not_implemented(kernel, dt)


# half and bfloat16 times (or over) a Python number: PyTorch's CPU kernels take the number
# as a float32 "opmath" scalar, unrounded, compute in float32 and round once; NumPy (and
# ml_dtypes) would round the number to the tensor's dtype first. (Addition rounds the
# number first in PyTorch too, so add/sub keep NumPy's arithmetic.)
_REDUCED = tuple(d for d in (np.dtype(np.float16), _BF16_NP) if d is not None)
_NUMBERS = (float, int)


def _as_number(v):
    """A Python number, or a 0-d floating array (a CPU scalar tensor, which PyTorch reads
    as an opmath scalar too) as a float; None for anything else (float8 included)."""
    if type(v) in _NUMBERS:
        return v
    if type(v) is _ndarray and v.ndim == 0 and (
            (v.dtype.kind == "f" and v.dtype.itemsize >= 2) or v.dtype in _REDUCED):
        return float(v)
    return None


def _reduced_number_op(op, x, y):
    """``op(x, y)`` in float32 when one side is a half/bfloat16 array (not 0-d) and the
    other a Python float or int, or ``y`` a 0-d floating array; None otherwise (the
    caller's usual arithmetic applies)."""
    if type(x) is _ndarray and x.dtype in _REDUCED and x.ndim:
        number = _as_number(y)
        if number is not None:
            return op(x.astype(np.float32), number).astype(x.dtype)
    # a number first (3.3 * t is t * 3.3 in PyTorch); a 0-d tensor first is no scalar
    # operand for PyTorch's kernel, it is rounded to the common dtype like any tensor
    if type(x) in _NUMBERS and type(y) is _ndarray and y.dtype in _REDUCED and y.ndim:
        return op(x, y.astype(np.float32)).astype(y.dtype)
    return None


def _same_float(x, y):
    """The arithmetic fast path: a float NumPy array with a same-dtype array or a Python
    float needs no promotion (the NumPy result already has PyTorch's dtype)."""
    return type(x) is _ndarray and x.dtype.char in _IEEE and (
        type(y) is float or (type(y) is _ndarray and y.dtype is x.dtype))


class Add(Function):
    """x + y, broadcasting."""

    _array_io = True
    _same_float_op = operator.add  # what forward computes for _same_float operands

    @staticmethod
    def forward(ctx, x, y):
        if _same_float(x, y):
            return x + y
        x, y, dt = _promote(x, y)
        if dt in _SPECIAL:  # float8: no kernel; complex32: computed in complex64
            return _special_binary("add_stub", operator.add, x, y, dt)
        return x + y

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class AddScalar(Add):
    """tensor + number where PyTorch's own composites call add(Tensor, Scalar)
    (``AddBackward1``); Python's ``x + 1`` records AddBackward0, as in PyTorch."""

    _node_name = "AddBackward1"


class Sub(Function):
    """x - y, broadcasting."""

    _array_io = True
    _same_float_op = operator.sub  # what forward computes for _same_float operands

    @staticmethod
    def forward(ctx, x, y):
        if _same_float(x, y):
            return x - y
        x, y, dt = _promote(x, y)
        if dt in _SPECIAL:
            return _special_binary("add_stub", operator.sub, x, y, dt)
        if dt.kind == "b":
            raise RuntimeError(
                "Subtraction, the `-` operator, with two bool tensors is not supported. "
                "Use the `^` or `logical_xor()` operator instead."
            )
        return x - y

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)

    @staticmethod
    def _array_backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """x * y, broadcasting."""

    _array_io = True
    _same_float_op = operator.mul  # what forward computes for _same_float operands

    @staticmethod
    def forward(ctx, x, y):
        needs = ctx.needs_input_grad
        if needs[0] or needs[1]:  # (save_for_backward, without the call)
            ctx._to_save = (x if needs[1] else None, y if needs[0] else None)
        if _same_float(x, y) and x.dtype.char != "e":
            return x * y
        reduced = _reduced_number_op(operator.mul, x, y)
        if reduced is not None:
            return reduced
        a, b, dt = _promote(x, y)
        if dt.kind == "b":
            return a & b
        if dt in _SPECIAL:
            if dt is COMPLEX32_NP:
                return complex32_binary(operator.mul, a, b)
            return float8_mul(x, y, dt)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        if grad._data.dtype.kind == "c":  # d(xy) passes grad * conj(other) back
            x, y = _conj(x), _conj(y)
        return (grad * y if y is not None else None), (grad * x if x is not None else None)

    @staticmethod
    def _array_backward(ctx, grad):
        x, y = saved_arrays(ctx)
        if not same_float(grad, x, y):
            return NotImplemented
        return (grad * y if y is not None else None), (grad * x if x is not None else None)


class Div(Function):
    """x / y (true division: integer inputs give the default float dtype)."""

    _array_io = True
    _same_float_op = operator.truediv  # what forward computes for _same_float operands

    @staticmethod
    def forward(ctx, x, y):
        needs = ctx.needs_input_grad
        if needs[0] or needs[1]:  # (save_for_backward, without the call)
            ctx._to_save = (x if needs[1] else None, y)
        if _same_float(x, y) and x.dtype.char != "e":
            return x / y
        reduced = _reduced_number_op(operator.truediv, x, y)
        if reduced is not None:
            return reduced
        x, y, dt = _promote(x, y)
        if dt in _SPECIAL:  # neither float8 nor complex32 has a CPU division kernel
            raise not_implemented("div_cpu", dt)
        if dt.kind != "f":
            target = float_np(dt)
            if dt != target:
                x = x.astype(target) if hasattr(x, "dtype") else x
                y = y.astype(target) if hasattr(y, "dtype") else y
        return x / y  # operands are float (or complex) now: true division

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        if grad._data.dtype.kind == "c":  # grad / conj(y), -grad * conj(x / y^2)
            x, y = _conj(x), _conj(y)
        grad_x = grad / y if ctx.needs_input_grad[0] else None
        grad_y = -grad * x / (y * y) if ctx.needs_input_grad[1] else None
        return grad_x, grad_y

    @staticmethod
    def _array_backward(ctx, grad):
        x, y = saved_arrays(ctx)
        if not same_float(grad, x, y):
            return NotImplemented
        grad_x = grad / y if ctx.needs_input_grad[0] else None
        grad_y = -grad * x / (y * y) if ctx.needs_input_grad[1] else None
        return grad_x, grad_y


def _int_zero_check(y):
    zero = (y == 0).any() if hasattr(y, "dtype") else y == 0
    if zero:
        raise RuntimeError("ZeroDivisionError")


class _RoundedDiv(Function):
    """div with rounding_mode 'trunc' or 'floor': piecewise constant, zero gradient."""

    _array_io = True
    _node_name = "DivBackward2"

    @staticmethod
    def forward(ctx, x, y, mode):
        x, y, dt = promote_arrays(x, y)
        if dt.kind == "c":
            raise NotImplementedError(
                f'"div_{mode}_cpu" not implemented for \'{type_name(dt)}\'')
        xp = xp_of(x, y)
        if dt.kind in "iu":
            _int_zero_check(y)
            if mode == "floor":
                return xp.floor_divide(x, y)
            q = xp.floor_divide(x, y)
            fix = (xp.remainder(x, y) != 0) & ((x < 0) ^ (y < 0))
            return q + fix.astype(q.dtype)
        if dt.kind == "b":
            x, y = x.astype(float_np(dt)), y
        q = xp.true_divide(x, y)
        return xp.floor(q) if mode == "floor" else xp.trunc(q)

    @staticmethod
    def backward(ctx, grad):
        zeros = _zeros_like(grad)
        return zeros, zeros if ctx.needs_input_grad[1] else None, None


class Neg(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind in "bV" or x.dtype.itemsize == 1:  # bool, float8, complex32
            if x.dtype is COMPLEX32_NP:
                return complex32_negative(x)
            _refuse_neg(x.dtype)
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


def _refuse_neg(np_dtype):
    if np_dtype in FLOAT8_NP:
        raise not_implemented("neg_cpu", np_dtype)
    if np_dtype.kind == "b":
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )

    @staticmethod
    def backward(ctx, grad):
        return -grad


def _int_pow(xp, x, y):
    """Integer power with PyTorch's results for negative tensor exponents (NumPy raises):
    1 ** -n = 1, (-1) ** -n = +-1, anything else truncates to 0."""
    negative = y < 0
    if not negative.any():
        return xp.power(x, y)
    out = xp.power(x, xp.where(negative, 0, y))
    odd = (y % 2) != 0
    special = xp.where(x == 1, 1, xp.where(x == -1, xp.where(odd, -1, 1), 0)).astype(out.dtype)
    return xp.where(negative, special, out)


class Pow(Function):
    """x ** y for tensor or scalar exponent and base."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, y):
        x_in, y_in = x, y
        x, y, dt = _promote(x, y)
        if dt in _SPECIAL:
            raise not_implemented("pow", dt)
        xp = xp_of(x, y)
        if dt.kind in "iub":
            if not hasattr(y, "dtype"):
                if y < 0:
                    raise RuntimeError("Integers to negative integer powers are not allowed.")
                out = xp.power(x, y)
            elif dt.kind == "b":
                out = xp.power(x.astype(np.uint8), y.astype(np.uint8)).astype(dt)
            else:
                out = _int_pow(xp, xp.asarray(x, dtype=dt), y)
        else:
            out = xp.power(x, y)
        ctx.save_for_backward(x_in, y_in, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, y, out = ctx.saved_tensors
        grad_x = grad_y = None
        if grad._data.dtype.kind == "c":
            # holomorphic in each operand: the conjugated derivatives, i.e. the same
            # formulas on conjugated values; y >= 0 tests the exponent's real part
            return _complex_pow_backward(ctx, grad, _conj(x), _conj(y), _conj(out))
        if ctx.needs_input_grad[0]:
            if isinstance(y, Tensor):
                grad_x = grad * _zero_where(y == 0, y * x ** (y - 1))
            elif y == 0:
                grad_x = _zeros_like(grad)
            else:
                grad_x = grad * (y * x ** (y - 1))
        if ctx.needs_input_grad[1]:
            if isinstance(x, Tensor):
                safe_log = where((x == 0) & (y >= 0), 0.0, x.log())
                grad_y = grad * out * safe_log
            elif x == 0:
                grad_y = _zero_where(y >= 0, grad * out)
            else:
                grad_y = grad * out * math.log(x)
        return grad_x, grad_y


def _conj(value):
    """The complex conjugate of a saved operand (a Tensor, a Python number or None)."""
    if isinstance(value, Tensor):
        return value.conj_physical() if value._data.dtype.kind == "c" else value
    if type(value) is complex:
        return value.conjugate()
    return value


def _complex_pow_backward(ctx, grad, x, y, out):
    import cmath

    grad_x = grad_y = None
    if ctx.needs_input_grad[0]:
        if isinstance(y, Tensor):
            grad_x = grad * _zero_where(y == 0, y * x ** (y - 1))
        elif y == 0:
            grad_x = _zeros_like(grad)
        else:
            grad_x = grad * (y * x ** (y - 1))
    if ctx.needs_input_grad[1]:
        y_real = y.real if isinstance(y, Tensor) else y
        if isinstance(x, Tensor):
            grad_y = grad * out * where((x == 0) & (y_real >= 0), 0.0, x.log())
        elif x == 0:
            grad_y = _zero_where(y_real >= 0, grad * out)
        else:
            grad_y = grad * out * cmath.log(x)
    return grad_x, grad_y


class _PowTensor(Pow):
    _node_name = "PowBackward1"  # tensor exponent, as PyTorch names it


class _PowScalarBase(Pow):
    _node_name = "PowBackward2"


def _pow_apply(base, exponent):
    """Pow with PyTorch's node name for each overload."""
    if isinstance(exponent, Tensor):
        return (_PowTensor if isinstance(base, Tensor) else _PowScalarBase).apply(base, exponent)
    return Pow.apply(base, exponent)


def _zeros_like(grad):
    from .creation import zeros_like

    return zeros_like(grad)


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------


def _dense_of_sparse(other, compressed=False):
    """A sparse operand of a dense add/sub stands for its dense tensor: PyTorch adds a
    sparse tensor into a dense one (``state_sum.add_(sparse_update)`` in sparse Adagrad).
    COO for add and sub; compressed layouts (CSR...) for add only, as PyTorch refuses
    ``dense.sub_(csr)``."""
    if type(other) is Tensor or not isinstance(other, Tensor):
        return other
    if other.is_sparse or (compressed and other.layout in _compressed_layouts()):
        return other.to_dense()
    return other


def _compressed_layouts():
    from ..sparse._layout import sparse_bsc, sparse_bsr, sparse_csc, sparse_csr

    return (sparse_csr, sparse_csc, sparse_bsr, sparse_bsc)


def _scaled(input, other, alpha):
    """``alpha * other`` with PyTorch's checks on alpha's type."""
    if isinstance(alpha, bool):
        if not (input._data.dtype.kind == "b" and getattr(_arr(other), "dtype", None) == bool):
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
        return other if alpha else other * False
    if isinstance(alpha, float) and input._data.dtype.kind in "iub" and (
        not isinstance(other, Tensor) or other._data.dtype.kind in "iub"
    ):
        raise RuntimeError(
            "For integral input tensors, argument alpha must not be a floating point number."
        )
    if isinstance(other, Tensor) and other.dtype != input.dtype:
        # PyTorch scales in the dtype the sum computes in, not in other's own dtype
        from .._misc import result_type

        common = result_type(input, other)
        if common != other.dtype:
            other = other.to(common)
    data = _arr(other)
    if type(alpha) in _NUMBERS and getattr(data, "dtype", None) in _REDUCED:
        # PyTorch rounds alpha to half/bfloat16 here (unlike a plain product, see
        # _reduced_number_op); its sum then rounds once where this rounds twice
        alpha = float(np.asarray(alpha, dtype=data.dtype).astype(np.float32))
    return other * alpha


def add(input, other, *, alpha=1, out=None):
    """input + alpha * other, broadcasting, with PyTorch's type promotion."""
    other = _dense_of_sparse(other, compressed=True)
    if type(alpha) is not int or alpha != 1:
        other = _scaled(input, other, alpha)
    result = apply_binary(Add, input, other)
    return result if out is None else _out(result, out)


def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other (two bool tensors are refused, as in PyTorch)."""
    other = _dense_of_sparse(other)
    if type(alpha) is not int or alpha != 1:
        other = _scaled(input, other, alpha)
    result = apply_binary(Sub, input, other)
    return result if out is None else _out(result, out)


subtract = sub


class _RSub(Sub):
    _node_name = "RsubBackward1"  # number - tensor, as PyTorch names it


def rsub(input, other, *, alpha=1):
    """other - alpha * input."""
    if isinstance(other, Tensor):
        return sub(other, input, alpha=alpha)
    return _RSub.apply(other, input * alpha if alpha != 1 else input)


def _reflected_div(number, tensor):
    """number / tensor as PyTorch computes it: tensor.reciprocal() * number."""
    if isinstance(number, Tensor):
        return Div.apply(number, tensor)
    return Mul.apply(tensor.reciprocal(), number)


def mul(input, other, *, out=None):
    """input * other, broadcasting (bool * bool is logical and)."""
    result = apply_binary(Mul, input, other)
    return result if out is None else _out(result, out)


multiply = mul


def div(input, other, *, rounding_mode=None, out=None):
    """True division (integers give the default float dtype), or rounded division with
    ``rounding_mode`` 'trunc' or 'floor' (integer results stay integer)."""
    if rounding_mode is None:
        result = apply_binary(Div, input, other)
        return result if out is None else _out(result, out)
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"'{rounding_mode}'"
        )
    return _out(_RoundedDiv.apply(input, other, rounding_mode), out)


divide = div


def neg(input, *, out=None):
    """-input (refused for bool tensors: use ``~`` or ``logical_not``)."""
    return _out(Neg.apply(input), out)


negative = neg


def positive(input):
    if input._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def pow(input, exponent, *, out=None):  # noqa: A001 - PyTorch's name
    """input ** exponent; either side may be a Python number. Integer tensors to
    negative integer powers follow PyTorch (scalar exponent: error)."""
    return _out(_pow_apply(input, exponent), out)


# ---------------------------------------------------------------------------
# In-place variants and operator slots
# ---------------------------------------------------------------------------


def _int_operand(self, other):
    """Wrap an out-of-range Python int for an integer tensor (NumPy would raise); refuse a
    Python complex for a real tensor (NumPy would drop its imaginary part)."""
    kind = type(other)
    if kind is int and self._data.dtype.kind in "iu":
        return _wrap_int(other, self._data.dtype)
    if kind is complex and self._data.dtype.kind != "c":
        from .._backend import result_np

        raise RuntimeError(
            f"result type {type_name(result_np(self._data, other))} can't be cast to the "
            f"desired output type {type_name(self._data.dtype)}")
    return other


def _iadd(self, other):
    other = _dense_of_sparse(other, compressed=True)
    other = _int_operand(self, other)
    return ufunc_inplace(self, xp_of(self._data).add, other, Add.apply)


def _isub(self, other):
    other = _dense_of_sparse(other)
    other = _int_operand(self, other)
    if isinstance(other, Tensor) and self._data.dtype.kind == "b" and other._data.dtype.kind == "b":
        Sub.apply(self, other)  # raises PyTorch's bool subtraction error
    return ufunc_inplace(self, xp_of(self._data).subtract, other, Sub.apply)


def _mul_cloned(self, other):
    from .creation import clone

    return Mul.apply(clone(self), other)


def _imul(self, other):
    other = _int_operand(self, other)
    if self._data.dtype.kind == "b":
        return apply_inplace(self, Mul.apply(self, other))
    if type(other) in _NUMBERS and self._data.dtype.char == "e":  # float32 opmath, as Mul
        return apply_inplace(self, _mul_cloned(self, other))
    return ufunc_inplace(self, xp_of(self._data).multiply, other, _mul_cloned)


def _div_cloned(self, other):
    from .creation import clone

    return Div.apply(clone(self), other)


def _idiv(self, other):
    other = _int_operand(self, other) if type(other) is complex else other
    if self._data.dtype.kind not in "fcV":
        return apply_inplace(self, Div.apply(self, other))
    if type(other) in _NUMBERS and self._data.dtype.char == "e":  # float32 opmath, as Div
        return apply_inplace(self, _div_cloned(self, other))
    return ufunc_inplace(self, xp_of(self._data).true_divide, other, _div_cloned)


def _add_(self, other, *, alpha=1):
    other = _dense_of_sparse(other, compressed=True)
    if type(alpha) is not int or alpha != 1:
        other = _scaled(self, other, alpha)
    return _iadd(self, other)


def _sub_(self, other, *, alpha=1):
    other = _dense_of_sparse(other)
    if type(alpha) is not int or alpha != 1:
        other = _scaled(self, other, alpha)
    return _isub(self, other)


def _div_(self, other, *, rounding_mode=None):
    if rounding_mode is None:
        return _idiv(self, other)
    return apply_inplace(self, div(self, other, rounding_mode=rounding_mode))


def _pos(self):
    return positive(self)


__all__ = [
    "add", "sub", "subtract", "rsub", "mul", "multiply", "div", "divide", "neg", "negative",
    "positive", "pow",
] + where_clamp.__all__ + compare.__all__

_OUT_OF_PLACE = {
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div,
    "divide": div, "neg": neg, "negative": neg, "positive": positive, "pow": pow,
}

# add_/sub_/mul_/div_ have ufunc fast paths below; neg's backward never reads ``self``,
# so its in-place variant skips the clone.
TENSOR_METHODS = {
    **compare.TENSOR_METHODS, **where_clamp.TENSOR_METHODS, **_OUT_OF_PLACE,
    "pow_": inplace_of(pow), "neg_": inplace_of(neg, saves_self=False),
    "negative_": inplace_of(neg, saves_self=False),
    "add_": _add_, "sub_": _sub_, "subtract_": _sub_, "mul_": _imul, "multiply_": _imul,
    "div_": _div_, "divide_": _div_,
    "__add__": _binary_slot(Add), "__radd__": _binary_slot(Add, reflected=True),
    "__iadd__": _iadd,
    "__sub__": _binary_slot(Sub), "__rsub__": _slot(rsub),
    "__isub__": _isub,
    "__mul__": _binary_slot(Mul), "__rmul__": _binary_slot(Mul, reflected=True),
    "__imul__": _imul,
    "__truediv__": _binary_slot(Div), "__rtruediv__": _slot(_reflected_div, reflected=True),
    "__itruediv__": _idiv, "__div__": _binary_slot(Div),
    "__pow__": _slot(_pow_apply), "__rpow__": _slot(_pow_apply, reflected=True),
    "__ipow__": inplace_of(pow),
    "__neg__": neg, "__pos__": _pos,
}
