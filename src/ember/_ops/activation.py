"""Activation functions and the softmax family, as ``torch.nn.functional`` has them.

Piecewise-linear activations (relu, hardtanh, leaky_relu, threshold, shrinks, ...) share
one Function: the forward kernel returns the output and the local slope, and backward is
``grad * slope``. Saving the slope (a constant array) rather than the input is what lets
the in-place variants (``relu_``, ``inplace=True``) write over their input and still
back-propagate. Smooth activations whose naive formula overflows (softplus, logsigmoid,
elu family), which need erf (gelu) or which are hot in real models (silu) are fused
Functions; so are mish, glu and prelu (_activation_fused.py), which PyTorch records as
one node each; the rest are compositions. The softmax family's Functions live in
_softmax.py.
"""

from __future__ import annotations

import math

import numpy as np

from .._backend.float8 import refuse as refuse_float8
from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from . import _special
from ._activation_cuda import relu_with_mask
from ._activation_fused import Glu, Mish, PreluKernel
from .unary import _REDUCED_FLOATS
from ._inplace import apply_inplace
from ._quantized_dispatch import quantized_inplace, refuse, require_float_or_quantized
from ._select import named
from ._softmax import LogSoftmax, Softmax, _prepare_softmax, _require_float, _unrecorded_softmax
from ._util import Tensor, _make, np_clip, type_name, wrap_dim, xp_of

# ---------------------------------------------------------------------------
# Piecewise-linear activations: one Function, a kernel per op
# ---------------------------------------------------------------------------


class _Piecewise(Function):
    """Subclasses give ``kernel(xp, x, *params) -> (out, slope)``; backward is
    grad * slope, exact for piecewise-linear functions (second derivative zero)."""

    _array_io = True

    value = None  # optional ``value(xp, x, *params) -> out``: the output alone

    @classmethod
    def forward(cls, ctx, x, *params):
        ctx.num_params = len(params)
        if cls.value is not None and not ctx.needs_input_grad[0]:
            return cls.value(xp_of(x), x, *params)  # no graph: the slope is never read
        out, slope = cls.kernel(xp_of(x), x, *params)
        ctx.save_for_backward(slope)
        return out

    @staticmethod
    def backward(ctx, grad):
        (slope,) = ctx.saved_tensors
        if _grad_enabled[0]:  # create_graph: a recorded op, so double backward sees it
            return (grad * slope,) + (None,) * ctx.num_params
        g = grad._data
        return (_make((g * slope._data).astype(g.dtype, copy=False)),) + (None,) * ctx.num_params


class Relu(_Piecewise):
    @staticmethod
    def value(xp, x):
        """clip(x, 0, inf) for floats: NumPy's maximum with a scalar operand runs an
        unvectorised loop (3x slower than clip, measured 50 vs 17 us on 256x512 float32),
        and clip keeps -0.0 as PyTorch's relu does."""
        if x.dtype.char in "efd":
            return (np_clip if xp is np else xp.clip)(x, 0, math.inf)
        return xp.maximum(x, 0)

    @classmethod
    def kernel(cls, xp, x):
        fused = relu_with_mask(xp, x)  # one launch on a GPU
        if fused is not None:
            return fused
        out = cls.value(xp, x)
        return out, ~(out <= 0)  # PyTorch passes the gradient through at NaN


class Threshold(_Piecewise):
    @staticmethod
    def kernel(xp, x, threshold, value):
        keep = x > threshold
        return xp.where(keep, x, xp.asarray(value, dtype=x.dtype)), keep


class Hardtanh(_Piecewise):
    @staticmethod
    def kernel(xp, x, min_val, max_val):
        out = xp.clip(x, min_val, max_val).astype(x.dtype, copy=False)
        return out, ~((x <= min_val) | (x >= max_val))  # NaN passes the gradient, as in PyTorch


class LeakyRelu(_Piecewise):
    @staticmethod
    def kernel(xp, x, negative_slope):
        # mask arithmetic, not where(): a data-dependent where mispredicts per element
        slope = (x > 0).astype(x.dtype)
        slope *= 1 - negative_slope
        slope += negative_slope
        return x * slope, slope


class RreluWithNoise(_Piecewise):
    @staticmethod
    def kernel(xp, x, uniform, lower, upper):
        noise = (uniform * (upper - lower) + lower).astype(x.dtype, copy=False)
        slope = xp.where(x >= 0, xp.asarray(1, x.dtype), noise)
        return x * slope, slope


# In-place forms under PyTorch's names for them (elu_ records EluBackward1, ...); rrelu in
# eval is a leaky relu recorded as RreluWithNoise.
_ThresholdInplace = named(Threshold, "ThresholdBackward1")
_LeakyReluInplace = named(LeakyRelu, "LeakyReluBackward1")
_RreluInplace = named(RreluWithNoise, "RreluWithNoiseBackward1")
_RreluEval = named(LeakyRelu, "RreluWithNoiseBackward0")
_RreluEvalInplace = named(LeakyRelu, "RreluWithNoiseBackward1")


class Hardsigmoid(_Piecewise):
    @staticmethod
    def kernel(xp, x):
        # PyTorch's order, min(max(x + 3, 0), 6) / 6 (x / 6 + 0.5 differs in the last ulp),
        # in float32 for half-precision inputs as PyTorch's kernels compute them
        work = x.astype(np.float32) if x.dtype.itemsize == 2 else x
        out = (xp.clip(work + 3, 0, 6) / 6).astype(x.dtype, copy=False)
        slope = ((x > -3) & (x < 3)) * xp.asarray(1 / 6, x.dtype)
        return out, slope


class Softshrink(_Piecewise):
    @staticmethod
    def kernel(xp, x, lambd):
        upper = x > lambd
        lower = x < -lambd
        # x * 0 inside the band, as PyTorch's float32/bfloat16 kernels: -0.0 for negatives
        # (its float64 kernel gives +0.0), and a nan stays nan
        out = xp.where(upper, x - lambd, xp.where(lower, x + lambd, x * 0))
        # bfloat16 (ml_dtypes) minus a Python float is float32 in NumPy: round back once
        return out.astype(x.dtype, copy=False), upper | lower


class Hardshrink(_Piecewise):
    @staticmethod
    def kernel(xp, x, lambd):
        keep = (x < -lambd) | (x > lambd)
        # zero only inside the band (PyTorch's test), so a nan passes through
        band = (x >= -lambd) & (x <= lambd)
        return xp.where(band, xp.zeros((), x.dtype), x), keep


# ---------------------------------------------------------------------------
# Smooth activations, fused for stability
# ---------------------------------------------------------------------------


class Elu(Function):
    """scale * (x if x > 0 else alpha * expm1(x * input_scale)): elu, selu and celu."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale):
        xp = xp_of(x)
        positive = x > 0
        # max(x, 0) and expm1(min(x, 0)) are each zero on the other side: their sum is the
        # piecewise function without a data-dependent where (and without overflow)
        out = xp.expm1(xp.minimum(x, 0) * input_scale)
        out *= scale * alpha
        out += xp.maximum(x, 0) * scale
        out = out.astype(x.dtype, copy=False)
        ctx.save_for_backward(out, positive)
        ctx.params = (alpha, scale, input_scale)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, positive = ctx.saved_tensors
        alpha, scale, input_scale = ctx.params
        if not _grad_enabled[0]:
            g = grad._data
            negative = (out._data + scale * alpha) * input_scale
            slope = negative + (scale - negative) * positive._data
            return _make((g * slope).astype(g.dtype, copy=False)), None, None, None
        negative_slope = (out + scale * alpha) * input_scale
        return _where(positive, grad * scale, grad * negative_slope), None, None, None


class Celu(Elu):
    """celu as elu with ``input_scale = 1 / alpha``, under PyTorch's node name."""


_EluInplace = named(Elu, "EluBackward1")
_CeluInplace = named(Celu, "CeluBackward1")


class Softplus(Function):
    """log(1 + exp(beta * x)) / beta, linear above ``threshold``; computed as
    max(z, 0) + log1p(exp(-|z|)) so it never overflows."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, beta, threshold):
        xp = xp_of(x)
        z = x * beta
        smooth = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
        linear = z > threshold
        ctx.save_for_backward(x, linear)
        ctx.params = (beta, threshold)
        return xp.where(linear, x, smooth).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, linear = ctx.saved_tensors
        beta, _ = ctx.params
        if not _grad_enabled[0]:
            g = grad._data
            xp = xp_of(g)
            gate = 0.5 + 0.5 * xp.tanh(x._data * (0.5 * beta))  # sigmoid, overflow-free
            gate = xp.where(linear._data, 1, gate)
            return _make((g * gate).astype(g.dtype, copy=False)), None, None
        return _where(linear, grad, grad * (x * beta).sigmoid()), None, None


class LogSigmoid(Function):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), stable for large |x|."""

    _array_io = True

    @staticmethod
    def forward(ctx, x):
        xp = xp_of(x)
        ctx.save_for_backward(x)
        return (xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if not _grad_enabled[0]:
            g = grad._data
            gate = 0.5 - 0.5 * xp_of(g).tanh(x._data * 0.5)  # sigmoid(-x)
            return _make((g * gate).astype(g.dtype, copy=False))
        return grad * (-x).sigmoid()


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_CUBIC = 0.044715


class Gelu(Function):
    """x * Phi(x) (erf form) or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, approximate):
        xp = xp_of(x)
        if approximate == "tanh":
            gate = xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x))  # tanh(inner)
            out = 0.5 * x * (1 + gate)
        else:
            gate = 0.5 * (1 + _special.erf_any(xp, x * _INV_SQRT_2))  # the normal cdf
            out = x * gate
        ctx.save_for_backward(x, gate.astype(x.dtype, copy=False))
        ctx.approximate = approximate
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, gate = ctx.saved_tensors
        return GeluBackward.apply(grad, x, gate._data, ctx.approximate), None


def _gelu_derivatives(xp, x, gate, approximate, second=False):
    """gelu'(x) (and gelu''(x) when asked) from x and the forward's saved gate."""
    if approximate == "tanh":
        d_inner = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x)
        sech2 = 1 - gate * gate
        first = 0.5 * (1 + gate) + 0.5 * x * sech2 * d_inner
        if not second:
            return first
        d2_inner = _SQRT_2_OVER_PI * 6 * _GELU_CUBIC * x
        return first, sech2 * d_inner + 0.5 * x * (
            -2 * gate * sech2 * d_inner * d_inner + sech2 * d2_inner)
    pdf = xp.exp(-0.5 * x * x) * _INV_SQRT_2PI
    first = gate + x * pdf
    return (first, pdf * (2 - x * x)) if second else first


class GeluBackward(Function):
    """grad * gelu'(x), a Function of its own so double backward works (erf is not
    needed again: the forward's cdf / tanh is passed in)."""

    _array_io = True

    @staticmethod
    def forward(ctx, grad, x, gate, approximate):
        ctx.save_for_backward(grad, x)
        ctx.gate = gate
        ctx.approximate = approximate
        return (grad * _gelu_derivatives(xp_of(x), x, gate, approximate)).astype(
            x.dtype, copy=False)

    @staticmethod
    def backward(ctx, gg):
        grad, x = ctx.saved_tensors
        first, second = _gelu_derivatives(xp_of(x._data), x._data, ctx.gate, ctx.approximate,
                                          second=True)
        dtype = x._data.dtype
        return (gg * _make(first.astype(dtype, copy=False)),
                gg * grad * _make(second.astype(dtype, copy=False)), None, None)


class Silu(Function):
    """x * sigmoid(x), fused: one sigmoid forward, none recomputed backward."""

    _array_io = True

    @staticmethod
    def forward(ctx, x):
        # half/bfloat16 through float32, rounded once (bfloat16 * 0.5 is float32 in NumPy)
        values = x.astype(np.float32) if x.dtype in _REDUCED_FLOATS else x
        gate = xp_of(x).tanh(values * 0.5)  # sigmoid via tanh: no overflow for large |x|
        gate *= 0.5
        gate += 0.5
        out = values * gate
        if values is not x:
            gate, out = gate.astype(x.dtype), out.astype(x.dtype)
        ctx.save_for_backward(x, gate)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, gate = ctx.saved_tensors
        if not _grad_enabled[0]:
            s, v = gate._data, x._data
            return _make(grad._data * (s * (1 + v * (1 - s))))
        s = x.sigmoid()  # recomputed as an op so double backward reaches x
        return grad * (s * (1 + x * (1 - s)))


class Hardswish(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x):
        xp = xp_of(x)
        ctx.save_for_backward(x)
        return (x * xp.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        middle = _where(x <= 3, x / 3 + 0.5, 1.0)
        return grad * _where(x < -3, 0.0, middle)


def _where(condition, a, b):
    from .pointwise import where

    return where(condition, a, b)


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------


def _inplace_or_not(input, result, inplace):
    return apply_inplace(input, result) if inplace else result


_NEGATIVE_SLOPE_INPLACE = {
    "elu": "In-place elu backward calculation is triggered with a negative slope which is not "
           "supported. This is caused by calling in-place forward function with a negative "
           "slope, please call out-of-place version instead.",
    "leaky_relu": "In-place leakyReLu backward calculation is triggered with a negative slope "
                  "which is not supported. This is caused by calling in-place forward function "
                  "with a negative slope, please call out-of-place version instead. File an "
                  "issue at https://github.com/pytorch/pytorch if you do require supporting "
                  "in-place leakRelu backward calculation with negative slope",
}


class _RefuseBackward(Function):
    """Identity whose backward raises: PyTorch cannot invert an in-place elu/leaky_relu
    with a negative slope, and says so when the gradient is requested."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, message):
        ctx.message = message
        return x

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(ctx.message)


def _negative_slope_inplace(input, result, slope, inplace, kind):
    if inplace and slope < 0 and result.requires_grad:
        result = _RefuseBackward.apply(result, _NEGATIVE_SLOPE_INPLACE[kind])
    return _inplace_or_not(input, result, inplace)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    if inplace and input.is_quantized:  # torch has no in-place quantized kernel
        refuse("threshold.out")
    node = _ThresholdInplace if inplace else Threshold
    return _inplace_or_not(input, node.apply(input, threshold, value), inplace)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    if type(input) is not Tensor and input.is_quantized:
        refuse("threshold.out")
    return apply_inplace(input, _ThresholdInplace.apply(input, threshold, value))


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0). Keeps integer dtypes, as PyTorch does."""
    refuse_float8("clamp_min_scalar_cpu", input)
    if input._data.dtype.kind == "c":  # complex numbers have no order
        raise NotImplementedError("clamp is not supported for complex types")
    return _inplace_or_not(input, Relu.apply(input), inplace)


def relu_(input: Tensor) -> Tensor:
    return apply_inplace(input, relu(input))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _inplace_or_not(input, Hardtanh.apply(input, min_val, max_val), inplace)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    require_float_or_quantized(input, "leaky_relu_cpu")  # torch's qleaky_relu
    node = _LeakyReluInplace if inplace else LeakyRelu
    return _negative_slope_inplace(input, node.apply(input, negative_slope),
                                   negative_slope, inplace, "leaky_relu")


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else weight * x, with one weight per channel (dim 1) or one shared."""
    channels = input.shape[1] if input.dim() >= 2 else 1
    count = weight.numel()
    if count != 1 and count != channels:
        raise RuntimeError(
            "Mismatch of parameter numbers and input channel size. Found parameter "
            f"numbers = {count} and channel size = {channels}.")
    ndim = input.dim()
    if ndim == 0:
        weight = weight.reshape(())
    elif ndim == 1 and weight.dim() > 1:
        weight = weight.reshape(count)
    elif ndim >= 2:  # a view that broadcasts over dims 2.. (PyTorch's ViewBackward0)
        weight = weight.reshape((count,) + (1,) * (ndim - 2))
    return PreluKernel.apply(input, weight)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomised leaky relu: a slope drawn from U(lower, upper) per element while
    training, their mean in eval."""
    if training:
        from .random import rand  # the default generator, so manual_seed reproduces it

        uniform = rand(input.shape, dtype=input.dtype, device=input.device)._data
        node = _RreluInplace if inplace else RreluWithNoise
        return _inplace_or_not(input, node.apply(input, uniform, lower, upper), inplace)
    _require_float(input._data, "leaky_relu_cpu")
    node = _RreluEvalInplace if inplace else _RreluEval
    slope = (lower + upper) / 2
    return _negative_slope_inplace(input, node.apply(input, slope), slope, inplace, "leaky_relu")


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, inplace=True)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    require_float_or_quantized(input, "elu_cpu")
    node = _EluInplace if inplace else Elu
    return _negative_slope_inplace(input, node.apply(input, alpha, 1.0, 1.0), alpha, inplace,
                                   "elu")


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    require_float_or_quantized(input, "elu_cpu")
    node = _EluInplace if inplace else Elu
    return _inplace_or_not(input, node.apply(input, _SELU_ALPHA, _SELU_SCALE, 1.0), inplace)


def selu_(input: Tensor) -> Tensor:
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    require_float_or_quantized(input, "elu_cpu")
    node = _CeluInplace if inplace else Celu
    return _negative_slope_inplace(input, node.apply(input, alpha, 1.0, 1.0 / alpha), alpha,
                                   inplace, "elu")


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    require_float_or_quantized(input, "GeluKernelImpl")  # torch's qgelu
    return Gelu.apply(input, approximate)


def _saved_source(input, inplace):
    """Compositions save their input; in place they must compute from a copy, or the
    write-back would invalidate what backward reads."""
    return input.clone() if inplace and input.requires_grad else input


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    require_float_or_quantized(input, "silu_cpu")
    return _inplace_or_not(input, Silu.apply(_saved_source(input, inplace)), inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    require_float_or_quantized(input, "mish_cpu")
    return _inplace_or_not(input, Mish.apply(_saved_source(input, inplace)), inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    require_float_or_quantized(input, "hardsigmoid_cpu")  # torch's qhardsigmoid
    if inplace and input.is_quantized:  # takes the fixed [0, 1] / 256 output grid
        return quantized_inplace(input, Hardsigmoid.apply(input))
    return _inplace_or_not(input, Hardsigmoid.apply(input), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    require_float_or_quantized(input, "hardswish_cpu")
    return _inplace_or_not(input, Hardswish.apply(_saved_source(input, inplace)), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    require_float_or_quantized(input, "softplus_cpu")
    return Softplus.apply(input, beta, threshold)


def softsign(input: Tensor) -> Tensor:
    return input / (input.abs() + 1)


def logsigmoid(input: Tensor) -> Tensor:
    _require_float(input._data, "log_sigmoid_cpu")
    return LogSigmoid.apply(input)


def tanhshrink(input: Tensor) -> Tensor:
    return input - input.tanh()


def _check_lambd(input, lambd):
    if lambd < 0:
        raise RuntimeError(
            f"lambda must be in range [0, 3.40282e+38] for input dtype "
            f"{type_name(input._data.dtype)}, but found {lambd:g}")


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    _require_float(input._data, "softshrink_check")
    _check_lambd(input, lambd)
    return Softshrink.apply(input, lambd)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    _require_float(input._data, "hardshrink_cpu")
    return Hardshrink.apply(input, lambd)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """First half of ``dim`` gated by the sigmoid of the second half."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    dim = wrap_dim(dim, input.dim())
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {dim} is size {size}")
    _require_float(input._data, "glu_cpu")
    return Glu.apply(input, dim)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    refuse_float8("softmax_lastdim_kernel_impl", input)
    input, dim = _prepare_softmax(input, dim, dtype, "softmax", _stacklevel)
    plain = _unrecorded_softmax(input, dim, False)
    return plain if plain is not None else Softmax.apply(input, dim)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    input, dim = _prepare_softmax(input, dim, dtype, "softmin", _stacklevel)
    return Softmax.apply(-input, dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    input, dim = _prepare_softmax(input, dim, dtype, "log_softmax", _stacklevel)
    plain = _unrecorded_softmax(input, dim, True)
    return plain if plain is not None else LogSoftmax.apply(input, dim)


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def _softmax_method(self, dim, dtype=None):
    return softmax(self, dim, dtype=dtype)


def _log_softmax_method(self, dim, dtype=None):
    return log_softmax(self, dim, dtype=dtype)


# ``tanh`` and ``sigmoid`` stay out of __all__: ``ember.tanh`` is the pointwise op (with
# ``out=``); nn.functional picks these two up from _FUNCTIONAL_EXTRA.
__all__ = [
    "threshold", "threshold_", "relu", "relu_", "hardtanh", "hardtanh_", "relu6",
    "leaky_relu", "leaky_relu_", "prelu", "rrelu", "rrelu_", "elu", "elu_", "selu", "selu_",
    "celu", "celu_", "gelu", "silu", "mish", "hardsigmoid", "hardswish", "softplus",
    "softsign", "logsigmoid", "tanhshrink", "softshrink", "hardshrink", "glu", "softmax",
    "softmin", "log_softmax",
]

TENSOR_METHODS = {
    "relu": relu, "relu_": relu_, "prelu": prelu, "hardshrink": hardshrink,
    "softmax": _softmax_method, "log_softmax": _log_softmax_method,
}
