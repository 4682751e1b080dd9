"""Pointwise ops: arithmetic, the math functions, comparisons, and Python operators.

Each differentiable op is one Function: forward on backend arrays, backward with Tensor
ops (so double backward works). Broadcast gradients are reduced by the engine.
"""

from __future__ import annotations

import math

from ..autograd.function import Function
from ._inplace import apply_inplace, ufunc_inplace
from ._util import Tensor, _make, float_np, promote_arrays, xp_of


def _arr(x):
    return x._data if isinstance(x, Tensor) else x


# ---------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------


class Add(Function):
    """x + y, broadcasting."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, y):
        x, y, _ = promote_arrays(x, y)
        return x + y

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    """x - y, broadcasting."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, y):
        x, y, dt = promote_arrays(x, y)
        if dt.kind == "b":
            raise RuntimeError(
                "Subtraction, the `-` operator, with two bool tensors is not supported. "
                "Use the `^` or `logical_xor()` operator instead."
            )
        return x - y

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


class Mul(Function):
    """x * y, broadcasting."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, y):
        x, y, dt = promote_arrays(x, y)
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None,
                              y if ctx.needs_input_grad[0] else None)
        if dt.kind == "b":
            return x & y
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return (grad * y if y is not None else None), (grad * x if x is not None else None)


class Div(Function):
    """x / y (true division: integer inputs give the default float dtype)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, y):
        x, y, dt = promote_arrays(x, y)
        target = float_np(dt)
        if dt != target:
            x = x.astype(target) if hasattr(x, "dtype") else x
            y = y.astype(target) if hasattr(y, "dtype") else y
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, y)
        xp = xp_of(x, y)
        with _quiet(xp):
            return xp.true_divide(x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        grad_x = grad / y if ctx.needs_input_grad[0] else None
        grad_y = -grad * x / (y * y) if ctx.needs_input_grad[1] else None
        return grad_x, grad_y


class _RoundedDiv(Function):
    """div with rounding_mode 'trunc' or 'floor': piecewise constant, zero gradient."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, y, mode):
        x, y, dt = promote_arrays(x, y)
        xp = xp_of(x, y)
        ctx.shape_dtype = None
        if dt.kind in "iu":
            if (hasattr(y, "dtype") and (y == 0).any()) or (not hasattr(y, "dtype") and y == 0):
                raise RuntimeError("ZeroDivisionError")
            if mode == "floor":
                return xp.floor_divide(x, y)
            q = xp.floor_divide(x, y)
            fix = (xp.remainder(x, y) != 0) & ((x < 0) ^ (y < 0))
            return q + fix.astype(q.dtype)
        with _quiet(xp):
            q = xp.true_divide(x, y)
            return xp.floor(q) if mode == "floor" else xp.trunc(q)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0, None


class Neg(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind == "b":
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead."
            )
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    """x ** y for tensor or scalar exponent and base."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, y):
        x, y, dt = promote_arrays(x, y)
        xp = xp_of(x, y)
        if dt.kind in "iu" and not hasattr(y, "dtype") and y < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        with _quiet(xp):
            out = xp.power(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, y, out = ctx.saved_tensors
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            if isinstance(y, Tensor):
                grad_x = grad * y * where(y == 0, 0.0, x ** (y - 1))
            elif y == 0:
                grad_x = grad * 0
            else:
                grad_x = grad * y * x ** (y - 1)
        if ctx.needs_input_grad[1]:
            safe_log = where((x == 0) & (y >= 0), 0.0, x.log()) if isinstance(x, Tensor) else math.log(x)
            grad_y = grad * out * safe_log
        return grad_x, grad_y


class _Quiet:
    __slots__ = ("xp", "state")

    def __init__(self, xp):
        self.xp = xp

    def __enter__(self):
        if self.xp.__name__ == "numpy":
            self.state = self.xp.seterr(all="ignore")

    def __exit__(self, *exc):
        if self.xp.__name__ == "numpy":
            self.xp.seterr(**self.state)


def _quiet(xp):
    """Silence NumPy's divide/overflow warnings: PyTorch returns inf/nan silently."""
    return _Quiet(xp)


# ---------------------------------------------------------------------------
# Unary math
# ---------------------------------------------------------------------------


class Exp(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x):
        xp = xp_of(x)
        with _quiet(xp):
            out = xp.exp(x, dtype=float_np(x.dtype)) if x.dtype.kind not in "fcV" else xp.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x):
        xp = xp_of(x)
        ctx.save_for_backward(x)
        with _quiet(xp):
            return xp.log(x.astype(float_np(x.dtype), copy=False))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class Sqrt(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x):
        xp = xp_of(x)
        with _quiet(xp):
            out = xp.sqrt(x.astype(float_np(x.dtype), copy=False))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (2 * out)


class Tanh(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x):
        out = xp_of(x).tanh(x.astype(float_np(x.dtype), copy=False))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


class Sigmoid(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x):
        xp = xp_of(x)
        x = x.astype(float_np(x.dtype), copy=False)
        # 0.5 * (1 + tanh(x / 2)) is sigmoid without overflow for large |x|.
        out = xp.tanh(x * 0.5)
        out *= 0.5
        out += 0.5
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


class Abs(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp_of(x).abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.sign()


class Sign(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind == "b":
            return x.copy()
        return xp_of(x).sign(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0


class Where(Function):
    """where(condition, x, y): gradient flows to the chosen branch only."""

    _array_io = True

    @staticmethod
    def forward(ctx, condition, x, y):
        x, y, _ = promote_arrays(x, y)
        ctx.save_for_backward(condition)
        return xp_of(condition, x, y).where(condition, x, y)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        zero = grad * 0
        return None, where(condition, grad, zero), where(condition, zero, grad)


# ---------------------------------------------------------------------------
# Comparisons (not differentiable: bool outputs carry no grad_fn)
# ---------------------------------------------------------------------------


def _compare(ufunc_name):
    def op(x, y):
        a, b, _ = promote_arrays(_arr(x), _arr(y))
        return _make(getattr(xp_of(a, b), ufunc_name)(a, b))

    op.__name__ = ufunc_name
    return op


eq = _compare("equal")
ne = _compare("not_equal")
lt = _compare("less")
le = _compare("less_equal")
gt = _compare("greater")
ge = _compare("greater_equal")


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------


def add(input, other, *, alpha=1, out=None):
    if alpha != 1:
        other = other * alpha
    return _out(Add.apply(input, other), out)


def sub(input, other, *, alpha=1, out=None):
    if alpha != 1:
        other = other * alpha
    return _out(Sub.apply(input, other), out)


def mul(input, other, *, out=None):
    return _out(Mul.apply(input, other), out)


def div(input, other, *, rounding_mode=None, out=None):
    if rounding_mode is None:
        return _out(Div.apply(input, other), out)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"'{rounding_mode}'"
        )
    return _out(_RoundedDiv.apply(input, other, rounding_mode), out)


def neg(input, *, out=None):
    return _out(Neg.apply(input), out)


def pow(input, exponent, *, out=None):  # noqa: A001 - PyTorch's name
    return _out(Pow.apply(input, exponent), out)


def exp(input, *, out=None):
    return _out(Exp.apply(input), out)


def log(input, *, out=None):
    return _out(Log.apply(input), out)


def sqrt(input, *, out=None):
    return _out(Sqrt.apply(input), out)


def tanh(input, *, out=None):
    return _out(Tanh.apply(input), out)


def sigmoid(input, *, out=None):
    return _out(Sigmoid.apply(input), out)


def abs(input, *, out=None):  # noqa: A001
    return _out(Abs.apply(input), out)


def sign(input, *, out=None):
    return _out(Sign.apply(input), out)


def where(condition, input=None, other=None, *, out=None):
    if input is None and other is None:
        from .index import nonzero

        return nonzero(condition, as_tuple=True)
    cond = condition._data if isinstance(condition, Tensor) else condition
    if cond.dtype.kind != "b":
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype {condition.dtype}")
    return _out(Where.apply(condition, input, other), out)


def _out(result, out):
    """Honour ``out=``: write the result into ``out`` (resized as PyTorch does)."""
    if out is None:
        return result
    if out._data.shape != result._data.shape:
        out._data = result._data.astype(out._data.dtype, copy=True)
        out._vc[0] += 1
        return out
    with _no_grad():
        apply_inplace(out, result.detach())
    return out


def _no_grad():
    from ..autograd.grad_mode import no_grad

    return no_grad()


def _rsub(self, other):
    return Sub.apply(other, self)


def _rdiv(self, other):
    return Div.apply(other, self)


def _rpow(self, other):
    return Pow.apply(other, self)


def _floordiv(self, other):
    return div(self, other, rounding_mode="floor")


def _rfloordiv(self, other):
    return div(other, self, rounding_mode="floor")


def _iadd(self, other):
    return ufunc_inplace(self, xp_of(self._data).add, other, Add.apply)


def _isub(self, other):
    return ufunc_inplace(self, xp_of(self._data).subtract, other, Sub.apply)


def _imul(self, other):
    return ufunc_inplace(self, xp_of(self._data).multiply, other, Mul.apply)


def _idiv(self, other):
    if self._data.dtype.kind not in "fcV":
        return apply_inplace(self, Div.apply(self, other))
    return ufunc_inplace(self, xp_of(self._data).true_divide, other, Div.apply)


def _add_(self, other, *, alpha=1):
    return _iadd(self, other * alpha if alpha != 1 else other)


def _sub_(self, other, *, alpha=1):
    return _isub(self, other * alpha if alpha != 1 else other)


def _div_(self, other, *, rounding_mode=None):
    if rounding_mode is None:
        return _idiv(self, other)
    return apply_inplace(self, div(self, other, rounding_mode=rounding_mode))


def _bound(cls):
    """A plain function for an operator slot (a bound classmethod would not get self)."""

    def method(self, *args):
        return cls.apply(self, *args)

    method.__name__ = cls.__name__.lower()
    return method


__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "tanh", "sigmoid",
    "abs", "sign", "where", "eq", "ne", "lt", "le", "gt", "ge",
]

TENSOR_METHODS = {
    "add": add, "sub": sub, "mul": mul, "div": div, "neg": neg, "pow": pow, "exp": exp,
    "log": log, "sqrt": sqrt, "tanh": tanh, "sigmoid": sigmoid, "abs": abs, "sign": sign,
    "where": lambda self, condition, other: where(condition, self, other),
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge,
    "add_": _add_, "sub_": _sub_, "mul_": _imul, "div_": _div_,
    "__add__": _bound(Add), "__radd__": _bound(Add), "__iadd__": _iadd,
    "__sub__": _bound(Sub), "__rsub__": _rsub, "__isub__": _isub,
    "__mul__": _bound(Mul), "__rmul__": _bound(Mul), "__imul__": _imul,
    "__truediv__": _bound(Div), "__rtruediv__": _rdiv, "__itruediv__": _idiv,
    "__floordiv__": _floordiv, "__rfloordiv__": _rfloordiv,
    "__pow__": _bound(Pow), "__rpow__": _rpow, "__neg__": _bound(Neg), "__abs__": _bound(Abs),
    "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
}
