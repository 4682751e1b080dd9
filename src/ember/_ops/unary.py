"""Unary math functions (exp, log, trig, erf, gamma family, rounding, ...), each with
its backward written in Tensor ops. The binary math ops beyond + - * / (atan2, hypot,
fmod, remainder, floor_divide, float_power, xlogy, ...) live in binary.py and are
re-exported from here.

Most unary ops are one row in a table: the array computation, what backward reads
(the input or the output) and the derivative. ``_unary`` turns a row into a Function
subclass named as PyTorch names it (``SinBackward0``).
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from .._backend.float8 import refuse as refuse_float8
from .._backend import dtypes as _dt
from ..autograd.function import Function, apply_unary, saved_arrays
from . import _special
from . import binary
from .binary import *  # noqa: F401,F403 - binary math, re-exported
from ._elementwise import _out, inplace_of
from .pointwise import pow
from ._inplace import apply_inplace, needs_graph
from ._util import Tensor, float_np, type_name, xp_of

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0


def _zeros(grad):
    from .creation import zeros_like

    return zeros_like(grad)


# half and bfloat16: computed through float32 (PyTorch's opmath type for them on CPU)
_REDUCED_FLOATS = tuple(d for d in (np.dtype(np.float16), _dt.bfloat16.np) if d is not None)


def _unary(name, compute, derivative, save="input", ints="float", torch_kernel=None):
    """Build the Function for one unary op.

    ints: 'float' computes integer/bool inputs in the default float dtype; 'same' keeps
    integer dtypes (abs); 'keep' returns integers unchanged (floor, ceil, ...);
    'none' refuses them (frac). ``derivative(grad, saved)`` is written in Tensor ops.
    """
    kernel = torch_kernel or f"{name.lower()}_cpu"
    saves = save in ("input", "output")
    # A holomorphic f passes grad * conj(f'(z)) back (PyTorch's convention): the formula
    # run on conj(grad), conjugated (exact on branch cuts too, where f'(conj z) is not
    # conj(f'(z))). abs is not holomorphic: its formula (grad * sgn) is already complex-ready.
    holomorphic = name != "Abs"
    refuses_complex = _NO_COMPLEX.get(name)

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
            if kind == "c" and refuses_complex is not None:
                _refuse_complex(refuses_complex, x.dtype)
            if x.dtype.itemsize == 1:  # float8: PyTorch's CPU build has abs alone
                _refuse_float8(name, kernel, x.dtype)
            elif kind == "V" and x.dtype.fields is not None:  # complex32: abs alone, too
                return _complex32_unary(name, kernel, x)
            values = x
        reduced = x.dtype in _REDUCED_FLOATS
        if reduced:  # PyTorch's CPU kernels compute half/bfloat16 in float, round once
            values = x.astype(np.float32)
        xp = np if type(x) is np.ndarray else xp_of(x)
        out = compute(xp, values)  # NumPy's inf/nan warnings are filtered
        if reduced:
            out = out.astype(x.dtype)
        elif out.dtype is not values.dtype and out.dtype != values.dtype and not (
                out.dtype.kind == "f" and values.dtype.kind == "c"):
            out = out.astype(values.dtype)  # complex abs stays real, as PyTorch
        if saves and ctx.needs_input_grad[0]:
            ctx._to_save = (x if save == "input" else out,)  # save_for_backward
        return out

    def backward(ctx, grad):
        if save is None:
            return _zeros(grad)
        (saved,) = ctx.saved_tensors
        if holomorphic and saved._data.dtype.kind == "c":
            return derivative(grad.conj_physical(), saved).conj_physical()
        return derivative(grad, saved)

    def array_backward(ctx, grad):
        (saved,) = saved_arrays(ctx)
        if saved.dtype is not grad.dtype and saved.dtype != grad.dtype:
            return NotImplemented
        return (derivative(grad, saved),)

    body = {
        "_array_io": True, "forward": staticmethod(forward), "backward": staticmethod(backward),
        "__doc__": f"Elementwise {name.lower()}.", "__module__": __name__,
    }
    if name in _ARRAY_SAFE:
        body["_array_backward"] = staticmethod(array_backward)
    if name == "Log1p":
        body["_node_name"] = "Log1PBackward0"  # PyTorch's spelling (derivatives.yaml)
    return type(name, (Function,), body)


# Ops whose derivative uses only arithmetic operators and Python floats, so the same
# lambda runs on backend arrays when no graph is built (see Function._array_backward).
_ARRAY_SAFE = frozenset({
    "Exp", "Exp2", "Expm1", "Log", "Log2", "Log10", "Log1p", "Sqrt", "Rsqrt", "Reciprocal",
    "Tan", "Atan", "Tanh", "Atanh", "Sigmoid",
})


# Ops PyTorch does not define for complex inputs: the message it raises ({} is the dtype).
_NO_COMPLEX = {
    "Erf": '"erf_vml_cpu" not implemented for \'{}\'',
    "Erfc": '"erfc_vml_cpu" not implemented for \'{}\'',
    "Erfinv": '"erfinv_vml_cpu" not implemented for \'{}\'',
    "Lgamma": '"lgamma_vml_cpu" not implemented for \'{}\'',
    "Digamma": '"digamma" not implemented for \'{}\'',
    "Floor": "floor is not supported for complex inputs",
    "Ceil": "ceil is not supported for complex inputs",
    "Trunc": "trunc is not supported for complex inputs",
    "Frac": '"frac_cpu" not implemented for \'{}\'',
    "Round": '"round_vml_cpu" not implemented for \'{}\'',
    "Logit": '"logit_cpu" not implemented for \'{}\'',
    "Polygamma": '"trigamma" not implemented for \'{}\'',
}


# PyTorch's kernel names for float8 inputs, where they differ from the ``<op>_cpu`` default
_FLOAT8_KERNELS = {name: f"{name.lower()}_vml_cpu" for name in (
    "Exp", "Exp2", "Expm1", "Log", "Log2", "Log10", "Log1p", "Sqrt", "Sin", "Cos", "Tan",
    "Asin", "Acos", "Atan", "Sinh", "Cosh", "Tanh", "Erf", "Erfc", "Erfinv", "Lgamma",
    "Floor", "Ceil", "Trunc")}
_FLOAT8_KERNELS["Sigmoid"] = "sigmoid_cpu_reduced_float"
_FLOAT8_KERNELS["Digamma"] = "digamma"


def _refuse_float8(name, kernel, np_dtype):
    """abs runs on every float8 type but e8m0 (which has no sign); the rest on none."""
    from .._backend.float8 import FLOAT8_NP, not_implemented

    if np_dtype in FLOAT8_NP and (name != "Abs" or np_dtype == _dt.float8_e8m0fnu.np):
        raise not_implemented(_FLOAT8_KERNELS.get(name, kernel), np_dtype)


def _complex32_unary(name, kernel, x):
    from .._backend.float8 import not_implemented
    from .._complex32 import absolute

    if name == "Abs":
        return absolute(x)
    raise not_implemented(_FLOAT8_KERNELS.get(name, kernel) if name != "Sigmoid" else kernel,
                          x.dtype)


def _refuse_complex(message, np_dtype):
    raise NotImplementedError(message.format(type_name(np_dtype)))


def _sigmoid(xp, x):
    """1 / (1 + exp(-x)) from exp(-|x|): no overflow, full relative accuracy for x << 0."""
    if x.dtype.kind == "c":  # no order on complex numbers: the plain formula
        return 1 / (1 + xp.exp(-x))
    decay = xp.exp(-xp.abs(x))
    # one division into the selected numerator: the same values as choosing between
    # 1 / (1 + decay) and decay / (1 + decay), two ufunc calls and a temporary fewer
    out = xp.where(x >= 0, 1, decay)
    out /= decay + 1
    return out


def _acosh_derivative(g, x):
    if x._data.dtype.kind == "c":
        return g * ((x - 1).rsqrt() * (x + 1).rsqrt())
    return g * (x * x - 1).rsqrt()


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
    # (x - 1)^-1/2 (x + 1)^-1/2, not (x^2 - 1)^-1/2: the same for real x > 1, and the
    # principal branch for complex x (as PyTorch)
    "Acosh": (lambda xp, x: xp.arccosh(x), "input", _acosh_derivative, "float"),
    "Atanh": (lambda xp, x: xp.arctanh(x), "input", lambda g, x: g / (1 - x * x), "float"),
    "Sigmoid": (_sigmoid, "output",
                lambda g, o: g * o * (1 - o), "float"),
    "Erf": (_special.erf, "input",
            lambda g, x: g * _TWO_OVER_SQRT_PI * (-x * x).exp(), "float"),
    "Erfc": (_special.erfc, "input",
             lambda g, x: g * -_TWO_OVER_SQRT_PI * (-x * x).exp(), "float"),
    "Erfinv": (_special.erfinv, "output",
               lambda g, o: g * _SQRT_PI_OVER_TWO * (o * o).exp(), "float"),
    "Lgamma": (_special.lgamma, "input", lambda g, x: g * x.digamma(), "float"),
    "Digamma": (_special.digamma, "input", lambda g, x: g * polygamma(1, x), "float"),
    "Abs": (lambda xp, x: xp.abs(x), "input", lambda g, x: g * x.sgn(), "same"),
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

    def fn(input, *, out=None):
        if out is None:
            return apply_unary(cls, input)
        return _out(cls.apply(input), out)

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
    """sign (and sgn, which also takes complex): piecewise constant, zero gradient."""

    _array_io = True
    complex_ok = False

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind == "b":
            return x.copy()
        if x.dtype.kind == "c" and not ctx.complex_ok:
            raise NotImplementedError(
                "Unlike NumPy, torch.sign is not intended to support complex numbers. Please "
                "use torch.sgn instead."
            )
        if x.dtype.kind == "V" and x.dtype.fields is not None:  # complex32
            from .._complex32 import sign as complex32_sign

            if not ctx.complex_ok:
                raise NotImplementedError(
                    f'"sign_cpu" not implemented for \'{type_name(x.dtype)}\'')
            return complex32_sign(x)
        return xp_of(x).sign(x)  # x / |x| for complex (NumPy 2), as torch.sgn

    @staticmethod
    def backward(ctx, grad):
        return _zeros(grad)


def sign(input, *, out=None):
    refuse_float8("sign_cpu", input)
    return _out(Sign.apply(input), out)


class Sgn(Sign):
    """z / |z| (0 at 0). For complex z it has a gradient: sgn moves only along the circle,
    so the incoming g loses its component along sgn(z) and is scaled by 1 / |z|."""

    complex_ok = True

    @staticmethod
    def forward(ctx, x):
        out = Sign.forward(ctx, x)
        if x.dtype.kind == "c" and ctx.needs_input_grad[0]:
            ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        if not ctx.saved_tensors:
            return _zeros(grad)
        from .pointwise import where

        x, direction = ctx.saved_tensors
        magnitude = x.abs()
        zero = magnitude == 0
        tangent = grad - (grad * direction.conj_physical()).real * direction
        return where(zero, 0.0, tangent / where(zero, 1.0, magnitude))


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
        if x.dtype.kind == "c":
            _refuse_complex(_NO_COMPLEX["Round"] if decimals == 0 else
                            '"round_cpu" not implemented for \'{}\'', x.dtype)
        xp = xp_of(x)
        if decimals == 0:
            return xp.rint(x)
        scale = x.dtype.type(10.0 ** builtins.abs(decimals))
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
        if x.dtype.kind == "c":
            _refuse_complex(_NO_COMPLEX["Logit"], x.dtype)
        ctx.eps = eps
        ctx.save_for_backward(x)
        values = x.astype(float_np(x.dtype), copy=False)
        xp = xp_of(x)
        if eps is not None:  # PyTorch's order (x < lo ? lo : x > hi ? hi : x), not clip's
            low, high = eps, 1 - eps
            values = xp.where(values < low, low, xp.where(values > high, high, values))
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
        if x.dtype.kind == "c":
            _refuse_complex(_NO_COMPLEX["Polygamma"], x.dtype)
        ctx.n = n
        ctx.save_for_backward(x)
        values = x.astype(float_np(x.dtype), copy=False)
        return _special.polygamma(xp_of(x), n, values).astype(values.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * Polygamma.apply(x, ctx.n + 1), None


def polygamma(n, input, *, out=None):
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return _out(Polygamma.apply(input, int(n)), out)


class Sinc(Function):
    """sin(pi x) / (pi x), 1 at x == 0."""

    _array_io = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        reduced = x.dtype in _REDUCED_FLOATS  # through float32, rounded once (as PyTorch)
        values = x.astype(np.float32 if reduced else float_np(x.dtype), copy=False)
        xp = xp_of(x)
        scaled = values * math.pi
        safe = xp.where(values == 0, 1.0, scaled)
        out = xp.where(values == 0, 1.0, xp.sin(safe) / safe)
        return xp.asarray(out, dtype=x.dtype if reduced else values.dtype)

    @staticmethod
    def backward(ctx, grad):
        from .pointwise import where

        (x,) = ctx.saved_tensors
        safe = where(x == 0, 1.0, x) * math.pi
        slope = (safe * safe.cos() - safe.sin()) / (safe * safe) * math.pi
        if slope._data.dtype.kind == "c":  # holomorphic: grad * conj(sinc'(x))
            slope = slope.conj_physical()
        return grad * where(x == 0, 0.0, slope)


def sinc(input, *, out=None):
    return _out(Sinc.apply(input), out)


def deg2rad(input, *, out=None):
    if input._data.dtype.kind == "c":
        raise RuntimeError("deg2rad is not supported for complex tensors.")
    return _out(input * (math.pi / 180.0), out)


def rad2deg(input, *, out=None):
    if input._data.dtype.kind == "c":
        raise RuntimeError("rad2deg is not supported for complex tensors.")
    return _out(input * (180.0 / math.pi), out)


class NanToNum(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        if x.dtype.kind not in "fcV":
            return x.copy()
        ctx.save_for_backward(x)
        xp = xp_of(x)
        info = np.finfo(x.dtype) if x.dtype.kind != "V" else _bf16_info()
        posinf = info.max if posinf is None else posinf
        neginf = info.min if neginf is None else neginf
        out = xp.where(xp.isnan(x), nan, x)
        out = xp.where(out == np.inf, posinf, out)
        return xp.where(out == -np.inf, neginf, out).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.isfinite(), None, None, None


def _bf16_info():
    import ml_dtypes

    return ml_dtypes.finfo(ml_dtypes.bfloat16)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    """Replace NaN and infinities (by default with 0 and the dtype's extreme finite
    values)."""
    refuse_float8("nan_to_num", input)
    return _out(NanToNum.apply(input, nan, posinf, neginf), out)


def _polygamma_method(self, n):
    return polygamma(n, self)


_UNARY_NAMES = [
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal",
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
    "atanh", "sigmoid", "erf", "erfc", "erfinv", "lgamma", "digamma", "polygamma", "abs",
    "sign", "sgn", "square", "floor", "ceil", "trunc", "frac", "round", "logit", "absolute",
    "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "fix", "sinc", "deg2rad",
    "rad2deg", "nan_to_num",
]
__all__ = _UNARY_NAMES + binary.__all__

absolute, fix = abs, trunc
arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh

_OUT_OF_PLACE = {name: globals()[name] for name in _UNARY_NAMES if name != "polygamma"}
_OUT_OF_PLACE["polygamma"] = _polygamma_method

# Ops whose backward reads only the output (or nothing) need no clone of self in-place.
_SAVES_INPUT = {name.lower() for name, row in _TABLE.items() if row[1] == "input"} | {
    "logit", "polygamma", "absolute", "arcsin", "arccos", "arctan", "arcsinh", "arccosh",
    "arctanh", "sinc", "nan_to_num",
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


def _no_complex_abs_(method):
    def abs_(self):
        if self._data.dtype.kind == "c":  # |z| is real: it cannot be stored in z
            raise RuntimeError("In-place abs is not supported for complex tensors.")
        return method(self)

    return abs_


TENSOR_METHODS = {
    **binary.TENSOR_METHODS,
    **_OUT_OF_PLACE,
    **{name + "_": inplace_of(fn, saves_self=name in _SAVES_INPUT)
       for name, fn in _OUT_OF_PLACE.items()},
    **{name + "_": _no_inplace_derivative(name) for name in ("asinh", "acosh", "atanh")},
    "__abs__": abs,
}
TENSOR_METHODS["abs_"] = TENSOR_METHODS["absolute_"] = _no_complex_abs_(TENSOR_METHODS["abs_"])
