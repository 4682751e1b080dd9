"""Unary math functions (exp, log, trig, erf, gamma family, rounding, ...) and the
binary math ops beyond + - * / (atan2, hypot, fmod, remainder, floor_divide,
float_power), each with its backward written in Tensor ops.

Most unary ops are one row in a table: the array computation, what backward reads
(the input or the output) and the derivative. ``_unary`` turns a row into a Function
subclass named as PyTorch names it (``SinBackward0``).
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from ..autograd.function import Function
from . import _special
from ._elementwise import _out, _promote, _quiet, _slot, inplace_of
from .pointwise import _RoundedDiv, _int_zero_check, div, pow
from ._inplace import apply_inplace, needs_graph
from ._util import Tensor, float_np, type_name, xp_of

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0


def _zeros(grad):
    from .creation import zeros_like

    return zeros_like(grad)


def _unary(name, compute, derivative, save="input", ints="float", torch_kernel=None):
    """Build the Function for one unary op.

    ints: 'float' computes integer/bool inputs in the default float dtype; 'same' keeps
    integer dtypes (abs); 'keep' returns integers unchanged (floor, ceil, ...);
    'none' refuses them (frac). ``derivative(grad, saved)`` is written in Tensor ops.
    """
    kernel = torch_kernel or f"{name.lower()}_cpu"
    saves = save in ("input", "output")

    def forward(ctx, x):
        kind = x.dtype.kind
        if kind in "iub":
            if ints == "none" or (kind == "b" and ints in ("keep", "same")):
                raise NotImplementedError(
                    f'"{kernel}" not implemented for \'{type_name(x.dtype)}\''
                )
            if ints == "keep":
                return x.copy()
            values = x if ints == "same" else x.astype(float_np(x.dtype))
        else:
            values = x
        xp = np if type(x) is np.ndarray else xp_of(x)
        out = compute(xp, values)  # NumPy's inf/nan warnings are filtered
        if out.dtype != values.dtype:
            out = out.astype(values.dtype)
        if saves and ctx.needs_input_grad[0]:
            ctx.save_for_backward(x if save == "input" else out)
        return out

    def backward(ctx, grad):
        if save is None:
            return _zeros(grad)
        (saved,) = ctx.saved_tensors
        return derivative(grad, saved)

    return type(name, (Function,), {
        "_array_io": True, "forward": staticmethod(forward), "backward": staticmethod(backward),
        "__doc__": f"Elementwise {name.lower()}.", "__module__": __name__,
    })


def _sigmoid(xp, x):
    """1 / (1 + exp(-x)) from exp(-|x|): no overflow, full relative accuracy for x << 0."""
    decay = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + decay), decay / (1 + decay))


_TABLE = {
    # name: (array computation, saved, derivative(grad, saved), int handling)
    "Exp": (lambda xp, x: xp.exp(x), "output", lambda g, o: g * o, "float"),
    "Exp2": (lambda xp, x: xp.exp2(x), "output", lambda g, o: g * o * _LN2, "float"),
    "Expm1": (lambda xp, x: xp.expm1(x), "output", lambda g, o: g * (o + 1), "float"),
    "Log": (lambda xp, x: xp.log(x), "input", lambda g, x: g / x, "float"),
    "Log2": (lambda xp, x: xp.log2(x), "input", lambda g, x: g / (x * _LN2), "float"),
    "Log10": (lambda xp, x: xp.log10(x), "input", lambda g, x: g / (x * _LN10), "float"),
    "Log1p": (lambda xp, x: xp.log1p(x), "input", lambda g, x: g / (x + 1), "float"),
    "Sqrt": (lambda xp, x: xp.sqrt(x), "output", lambda g, o: g / (2 * o), "float"),
    "Rsqrt": (lambda xp, x: 1 / xp.sqrt(x), "output", lambda g, o: -0.5 * g * o * o * o, "float"),
    "Reciprocal": (lambda xp, x: 1 / x, "output", lambda g, o: -g * o * o, "float"),
    "Sin": (lambda xp, x: xp.sin(x), "input", lambda g, x: g * x.cos(), "float"),
    "Cos": (lambda xp, x: xp.cos(x), "input", lambda g, x: g * -x.sin(), "float"),
    "Tan": (lambda xp, x: xp.tan(x), "output", lambda g, o: g * (o * o + 1), "float"),
    "Asin": (lambda xp, x: xp.arcsin(x), "input", lambda g, x: g * (1 - x * x).rsqrt(), "float"),
    "Acos": (lambda xp, x: xp.arccos(x), "input", lambda g, x: -g * (1 - x * x).rsqrt(), "float"),
    "Atan": (lambda xp, x: xp.arctan(x), "input", lambda g, x: g / (x * x + 1), "float"),
    "Sinh": (lambda xp, x: xp.sinh(x), "input", lambda g, x: g * x.cosh(), "float"),
    "Cosh": (lambda xp, x: xp.cosh(x), "input", lambda g, x: g * x.sinh(), "float"),
    "Tanh": (lambda xp, x: xp.tanh(x), "output", lambda g, o: g * (1 - o * o), "float"),
    "Asinh": (lambda xp, x: xp.arcsinh(x), "input", lambda g, x: g * (x * x + 1).rsqrt(), "float"),
    "Acosh": (lambda xp, x: xp.arccosh(x), "input", lambda g, x: g * (x * x - 1).rsqrt(), "float"),
    "Atanh": (lambda xp, x: xp.arctanh(x), "input", lambda g, x: g / (1 - x * x), "float"),
    "Sigmoid": (lambda xp, x: _sigmoid(xp, x), "output",
                lambda g, o: g * o * (1 - o), "float"),
    "Erf": (_special.erf, "input",
            lambda g, x: g * _TWO_OVER_SQRT_PI * (-x * x).exp(), "float"),
    "Erfc": (_special.erfc, "input",
             lambda g, x: g * -_TWO_OVER_SQRT_PI * (-x * x).exp(), "float"),
    "Erfinv": (_special.erfinv, "output",
               lambda g, o: g * _SQRT_PI_OVER_TWO * (o * o).exp(), "float"),
    "Lgamma": (_special.lgamma, "input", lambda g, x: g * x.digamma(), "float"),
    "Digamma": (_special.digamma, "input", lambda g, x: g * polygamma(1, x), "float"),
    "Abs": (lambda xp, x: xp.abs(x), "input", lambda g, x: g * x.sign(), "same"),
    "Floor": (lambda xp, x: xp.floor(x), None, None, "keep"),
    "Ceil": (lambda xp, x: xp.ceil(x), None, None, "keep"),
    "Trunc": (lambda xp, x: xp.trunc(x), None, None, "keep"),
    "Frac": (lambda xp, x: x - xp.trunc(x), "none", lambda g, _: g, "none"),
}

_KERNELS = {"Floor": "floor_vml_cpu", "Ceil": "ceil_vml_cpu", "Trunc": "trunc_vml_cpu"}

_FUNCTIONS = {}
for _name, (_compute, _save, _derivative, _ints) in _TABLE.items():
    _FUNCTIONS[_name] = _unary(_name, _compute, _derivative, None if _save is None else _save,
                               _ints, _KERNELS.get(_name))
# frac's derivative needs nothing saved (grad passes through)
_FUNCTIONS["Frac"].backward = staticmethod(lambda ctx, grad: grad)


def _public(cls_name):
    cls = _FUNCTIONS[cls_name]

    apply = cls.apply

    def fn(input, *, out=None):
        if out is None:
            return apply(input)
        return _out(apply(input), out)

    fn.__name__ = cls_name.lower()
    fn.__doc__ = f"Elementwise ``{cls_name.lower()}`` (PyTorch's ``torch.{cls_name.lower()}``)."
    return fn


exp = _public("Exp")
exp2 = _public("Exp2")
expm1 = _public("Expm1")
log = _public("Log")
log2 = _public("Log2")
log10 = _public("Log10")
log1p = _public("Log1p")
sqrt = _public("Sqrt")
rsqrt = _public("Rsqrt")
reciprocal = _public("Reciprocal")
sin = _public("Sin")
cos = _public("Cos")
tan = _public("Tan")
asin = _public("Asin")
acos = _public("Acos")
atan = _public("Atan")
sinh = _public("Sinh")
cosh = _public("Cosh")
tanh = _public("Tanh")
asinh = _public("Asinh")
acosh = _public("Acosh")
atanh = _public("Atanh")
sigmoid = _public("Sigmoid")
erf = _public("Erf")
erfc = _public("Erfc")
erfinv = _public("Erfinv")
lgamma = _public("Lgamma")
digamma = _public("Digamma")
abs = _public("Abs")  # noqa: A001 - PyTorch's name
floor = _public("Floor")
ceil = _public("Ceil")
trunc = _public("Trunc")
frac = _public("Frac")


class Sign(Function):
    """sign (and sgn for real tensors): piecewise constant, zero gradient."""

    _array_io = True

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind == "b":
            return x.copy()
        return xp_of(x).sign(x)

    @staticmethod
    def backward(ctx, grad):
        return _zeros(grad)


def sign(input, *, out=None):
    return _out(Sign.apply(input), out)


class Sgn(Sign):
    pass


def sgn(input, *, out=None):
    return _out(Sgn.apply(input), out)


def square(input, *, out=None):
    """input ** 2 (bool inputs give int64, as in PyTorch)."""
    return _out(pow(input, 2), out)


class Round(Function):
    """Round half to even, optionally at ``decimals`` places (as PyTorch: scale,
    nearbyint, unscale in the input's dtype)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, decimals):
        if x.dtype.kind in "iub":
            if decimals != 0 or x.dtype.kind == "b":
                raise NotImplementedError(
                    f'"round_cpu" not implemented for \'{type_name(x.dtype)}\''
                )
            return x.copy()
        xp = xp_of(x)
        if decimals == 0:
            return xp.rint(x)
        scale = x.dtype.type(10.0 ** builtins.abs(decimals))
        with _quiet(xp):
            if decimals > 0:
                return (xp.rint(x * scale) / scale).astype(x.dtype)
            return (xp.rint(x / scale) * scale).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return _zeros(grad), None


class _RoundDecimals(Round):
    _node_name = "RoundBackward1"


def round(input, *, decimals=0, out=None):  # noqa: A001 - PyTorch's name
    return _out((Round if decimals == 0 else _RoundDecimals).apply(input, decimals), out)


class Logit(Function):
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when eps is given."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, eps):
        ctx.eps = eps
        ctx.save_for_backward(x)
        values = x.astype(float_np(x.dtype), copy=False)
        xp = xp_of(x)
        if eps is not None:
            values = xp.clip(values, eps, 1 - eps)
        with _quiet(xp):
            return xp.log(values / (1 - values)).astype(values.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        from .pointwise import where

        (x,) = ctx.saved_tensors
        eps = ctx.eps
        slope = grad / (x * (1 - x))
        if eps is None:
            return where((x < 0) | (x > 1), math.nan, slope), None
        return where((x < eps) | (x > 1 - eps), 0.0, slope), None


def logit(input, eps=None, *, out=None):
    return _out(Logit.apply(input, eps), out)


class Polygamma(Function):
    """The n-th derivative of digamma; its own derivative is polygamma(n + 1)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, n):
        ctx.n = n
        ctx.save_for_backward(x)
        values = x.astype(float_np(x.dtype), copy=False)
        return _special.polygamma(xp_of(x), n, values).astype(values.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * Polygamma.apply(x, ctx.n + 1), None


def polygamma(n, input, *, out=None):
    return _out(Polygamma.apply(input, int(n)), out)


# ---------------------------------------------------------------------------
# Binary math
# ---------------------------------------------------------------------------


def _float_operands(x, y):
    """Promote, then move integer results to the default float dtype."""
    a, b, dt = _promote(x, y)
    target = float_np(dt)
    if target != dt:
        a = a.astype(target) if hasattr(a, "dtype") else a
        b = b.astype(target) if hasattr(b, "dtype") else b
    return a, b


def _require_tensor(name, other):
    if not isinstance(other, Tensor):
        raise TypeError(
            f"{name}(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}"
        )


class Atan2(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, y, x):
        ctx.save_for_backward(y, x)
        a, b = _float_operands(y, x)
        return xp_of(a, b).arctan2(a, b)

    @staticmethod
    def backward(ctx, grad):
        y, x = ctx.saved_tensors
        scaled = grad / (x * x + y * y)
        return scaled * x, scaled * -y


def atan2(input, other, *, out=None):
    _require_tensor("atan2", other)
    return _out(Atan2.apply(input, other), out)


arctan2 = atan2


class Hypot(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, y):
        a, b, dt = _promote(x, y)
        if dt.kind not in "fV":
            raise NotImplementedError(f'"hypot_cpu" not implemented for \'{type_name(dt)}\'')
        out = xp_of(a, b).hypot(a, b)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, y, out = ctx.saved_tensors
        return grad * x / out, grad * y / out


def hypot(input, other, *, out=None):
    _require_tensor("hypot", other)
    return _out(Hypot.apply(input, other), out)


class _Modulo(Function):
    """fmod (C's sign of the dividend) and remainder (Python's sign of the divisor)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, y, floored):
        ctx.floored = floored
        ctx.save_for_backward(x, y)
        a, b, dt = _promote(x, y)
        xp = xp_of(a, b)
        if dt.kind in "iub":
            _int_zero_check(b)
            if dt.kind == "b":
                a, b = xp.asarray(a, dtype=np.int64), xp.asarray(b, dtype=np.int64)
                return (xp.remainder(a, b) if floored else xp.fmod(a, b)).astype(dt)
        with _quiet(xp):
            if floored:
                if dt.kind in "fV":
                    # PyTorch's rule: fmod, then shift by b when the signs disagree
                    # (NumPy's remainder differs for infinite b).
                    mod = xp.fmod(a, b)
                    shift = (mod != 0) & ((b < 0) != (mod < 0))
                    return xp.asarray(xp.where(shift, mod + b, mod), dtype=dt)
                return xp.remainder(a, b)
            return xp.fmod(a, b)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        grad_y = None
        if ctx.needs_input_grad[1]:
            mode = "floor" if ctx.floored else "trunc"
            grad_y = -grad * _RoundedDiv.apply(x, y, mode)
        return (grad if ctx.needs_input_grad[0] else None), grad_y, None


# PyTorch's node names: Backward0 for a number divisor, Backward1 for a tensor one
_MODULO = {
    (floored, tensor_divisor): type(
        "Remainder" if floored else "Fmod", (_Modulo,),
        {"_node_name": f"{'Remainder' if floored else 'Fmod'}Backward{int(tensor_divisor)}",
         "__module__": __name__},
    )
    for floored in (False, True) for tensor_divisor in (False, True)
}


def fmod(input, other, *, out=None):
    return _out(_MODULO[False, isinstance(other, Tensor)].apply(input, other, False), out)


def remainder(input, other, *, out=None):
    return _out(_MODULO[True, isinstance(other, Tensor)].apply(input, other, True), out)


class FloorDivide(_RoundedDiv):
    """floor_divide: same values as div(rounding_mode='floor'), but PyTorch defines no
    derivative for it, so backward raises as PyTorch does."""

    _node_name = "torch::autograd::NotImplemented"

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")


def floor_divide(input, other, *, out=None):
    return _out(FloorDivide.apply(input, other, "floor"), out)


def true_divide(input, other, *, out=None):
    return div(input, other, out=out)


def _to_double(value):
    from .._backend.dtypes import complex128, float64

    if isinstance(value, Tensor):
        wanted = complex128 if value._data.dtype.kind == "c" else float64
        return value if value.dtype is wanted else value.to(wanted)
    return complex(value) if isinstance(value, complex) else float(value)


def float_power(input, exponent, *, out=None):
    """pow computed in double precision (float64, or complex128 for complex operands)."""
    return _out(pow(_to_double(input), _to_double(exponent)), out)


def _float_power_(self, exponent):
    if self._data.dtype != np.float64:
        raise RuntimeError(
            f"the base given to float_power_ has dtype {type_name(self._data.dtype)} but the "
            "operation's result requires dtype Double"
        )
    return inplace_of(float_power)(self, exponent)


class Xlogy(Function):
    """x * log(y), defined as 0 where x == 0 (unless y is NaN)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        a, b = _float_operands(x, y)
        xp = xp_of(a, b)
        out = xp.where(a == 0, 0.0, a * xp.log(b))
        return xp.asarray(xp.where(b != b, b, out), dtype=xp.result_type(a, b))

    @staticmethod
    def backward(ctx, grad):
        from .pointwise import where

        x, y = ctx.saved_tensors
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            log_y = y.log() if isinstance(y, Tensor) else _scalar_log(y)
            grad_x = grad * where(x == 0, 0.0, log_y)
        if ctx.needs_input_grad[1]:
            grad_y = grad * x / y
        return grad_x, grad_y


def _scalar_log(value):
    if value > 0:
        return math.log(value)
    return -math.inf if value == 0 else math.nan


def xlogy(input, other, *, out=None):
    return _out(Xlogy.apply(input, other), out)


class _LogAddExp(Function):
    """log(exp(a) + exp(b)) (or base 2), computed from the larger operand: no overflow."""

    _array_io = True

    @staticmethod
    def forward(ctx, a, b, base2):
        ctx.base2 = base2
        ctx.save_for_backward(a, b)
        x, y, dt = _promote(a, b)
        if dt.kind not in "fV":
            name = "logaddexp2" if base2 else "logaddexp"
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{type_name(dt)}\'')
        xp = xp_of(x, y)
        larger = xp.maximum(x, y)
        gap = -xp.abs(x - y)
        if base2:
            out = larger + xp.log1p(xp.exp2(gap)) / _LN2
        else:
            out = larger + xp.log1p(xp.exp(gap))
        # equal infinities: the gap is NaN, the answer is the infinity itself
        return xp.asarray(xp.where(xp.isinf(x) & (x == y), x, out), dtype=dt)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        scale = _LN2 if ctx.base2 else 1.0
        grad_a = grad * ((a - b) * scale).sigmoid() if ctx.needs_input_grad[0] else None
        grad_b = grad * ((b - a) * scale).sigmoid() if ctx.needs_input_grad[1] else None
        return grad_a, grad_b, None


_LOGADDEXP = {
    base2: type("Logaddexp2" if base2 else "Logaddexp", (_LogAddExp,), {"__module__": __name__})
    for base2 in (False, True)
}


def logaddexp(input, other, *, out=None):
    _require_tensor("logaddexp", other)
    return _out(_LOGADDEXP[False].apply(input, other, False), out)


def logaddexp2(input, other, *, out=None):
    _require_tensor("logaddexp2", other)
    return _out(_LOGADDEXP[True].apply(input, other, True), out)


class Copysign(Function):
    """|a| with the sign of b; d/da is +-1 (0 at a == 0, as PyTorch), d/db is 0."""

    _array_io = True

    @staticmethod
    def forward(ctx, a, b):
        x, y = _float_operands(a, b)
        out = xp_of(x, y).copysign(x, y)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        from .pointwise import where

        a, out = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            safe_a = where(a == 0, 1.0, a)
            grad_a = grad * where(a == 0, 0.0, out / safe_a)
        if ctx.needs_input_grad[1]:
            grad_b = _zeros(grad)
        return grad_a, grad_b


def copysign(input, other, *, out=None):
    return _out(Copysign.apply(input, other), out)


class Sinc(Function):
    """sin(pi x) / (pi x), 1 at x == 0."""

    _array_io = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        values = x.astype(float_np(x.dtype), copy=False)
        xp = xp_of(x)
        scaled = values * math.pi
        safe = xp.where(values == 0, 1.0, scaled)
        return xp.asarray(xp.where(values == 0, 1.0, xp.sin(safe) / safe), dtype=values.dtype)

    @staticmethod
    def backward(ctx, grad):
        from .pointwise import where

        (x,) = ctx.saved_tensors
        safe = where(x == 0, 1.0, x) * math.pi
        slope = (safe * safe.cos() - safe.sin()) / (safe * safe) * math.pi
        return grad * where(x == 0, 0.0, slope)


def sinc(input, *, out=None):
    return _out(Sinc.apply(input), out)


def deg2rad(input, *, out=None):
    return _out(input * (math.pi / 180.0), out)


def rad2deg(input, *, out=None):
    return _out(input * (180.0 / math.pi), out)


class Heaviside(Function):
    """0 for x < 0, ``values`` at x == 0, 1 for x > 0; PyTorch defines no derivative."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, values):
        a, b, dt = _promote(x, values)
        xp = xp_of(a, b)
        return xp.asarray(xp.where(a == 0, b, a > 0), dtype=dt)

    _node_name = "torch::autograd::NotImplemented"

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::heaviside is not implemented")


def heaviside(input, values, *, out=None):
    if not isinstance(values, Tensor):
        raise TypeError(
            "heaviside(): argument 'values' (position 2) must be Tensor, not "
            f"{type(values).__name__}"
        )
    return _out(Heaviside.apply(input, values), out)


def _polygamma_method(self, n):
    return polygamma(n, self)


__all__ = [
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal",
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
    "atanh", "sigmoid", "erf", "erfc", "erfinv", "lgamma", "digamma", "polygamma", "abs",
    "sign", "sgn", "square", "floor", "ceil", "trunc", "frac", "round", "logit", "atan2",
    "arctan2", "hypot", "fmod", "remainder", "floor_divide", "true_divide", "float_power",
    "absolute", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "fix",
    "xlogy", "logaddexp", "logaddexp2", "copysign", "sinc", "deg2rad", "rad2deg", "heaviside",
]

absolute, fix = abs, trunc
arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh

_OUT_OF_PLACE = {name: globals()[name] for name in __all__ if name != "polygamma"}
_OUT_OF_PLACE["polygamma"] = _polygamma_method

# Ops whose backward reads only the output (or nothing) need no clone of self in-place.
_SAVES_INPUT = {name.lower() for name, row in _TABLE.items() if row[1] == "input"} | {
    "logit", "atan2", "arctan2", "hypot", "fmod", "remainder", "float_power", "polygamma",
    "absolute", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh",
    "xlogy", "logaddexp", "logaddexp2", "copysign", "sinc",
}

class _NoInplaceDerivative(Function):
    """asinh_/acosh_/atanh_ while recording: PyTorch computes them but defines no
    derivative, so backward raises."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, name):
        ctx.op_name = name
        return _FUNCTIONS[name.capitalize()].forward(ctx, x)

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError(
            f"the derivative for 'inplace version of {ctx.op_name}' is not implemented."
        )


def _no_inplace_derivative(name):
    method = inplace_of(globals()[name], saves_self=False)

    def guarded(self):
        if needs_graph(self):
            return apply_inplace(self, _NoInplaceDerivative.apply(self, name))
        return method(self)

    return guarded


TENSOR_METHODS = {
    **_OUT_OF_PLACE,
    **{name + "_": inplace_of(fn, saves_self=name in _SAVES_INPUT)
       for name, fn in _OUT_OF_PLACE.items() if name != "float_power"},
    "float_power_": _float_power_,
    **{name + "_": _no_inplace_derivative(name) for name in ("asinh", "acosh", "atanh")},
    "__abs__": abs,
    "__mod__": _slot(remainder), "__rmod__": _slot(remainder, reflected=True),
    "__imod__": inplace_of(remainder),
    "__floordiv__": _slot(floor_divide), "__rfloordiv__": _slot(floor_divide, reflected=True),
    "__ifloordiv__": inplace_of(floor_divide, saves_self=False),
}
