"""Activations of quantized tensors, as PyTorch's QuantizedCPU kernels compute them.

Those kernels (qleaky_relu, qgelu, qthreshold, qelu, qhardsigmoid, qhardswish) share one
shape: dequantize with a fused multiply-add ``q * scale + (-zero_point * scale)``, apply
the float activation in float32, quantize as ``nearbyint(y * float(1 / out_scale)) +
out_zero_point``. Each rounding step decides ties on the output grid, so they are
reproduced step by step: the multiply-add runs exactly in float64 (an 8-bit integer
times a float32 scale fits) and is rounded to float32 once, as the instruction does.
Transcendentals (erf, exp) are NumPy's, correctly rounded; PyTorch's vectorised ones are
within an ulp, so a value on a rounding tie can land one integer apart.

Output parameters are torch's: the input's for leaky_relu/threshold/gelu (gelu's scale
as a float32), the fixed grid [0, 1] / 256 for hardsigmoid, the caller's for the module
forms (nn.quantized.LeakyReLU, ELU, Hardswish, Sigmoid).
"""

from __future__ import annotations

import math

from ._util import xp_of
from .quantized import _QRANGE, _new_qtensor, per_tensor_affine

__all__: list[str] = []

# hardsigmoid's and sigmoid's fixed output grid: [0, 1] in 256 steps
_UNIT_ZERO_POINT = {"quint8": 0, "qint8": -128}


def _split(n):
    """How many leading elements take the vectorised path: whole steps of ATen's
    vectorised loop, two AVX2 vectors of 32 8-bit values (torch registers these
    quantized kernels for AVX2 only, so an AVX-512 machine runs them too; measured
    against torch 2.13 at sizes around the step). The rest go through the scalar path."""
    return n // 64 * 64


def requantize(q, fn, out_scale, out_zero_point, double_inverse=False):
    """``fn(xp, dequantized)`` (float32 in, float32 out) quantized to the given output
    parameters, in ``q``'s quantized dtype, with ATen's two paths: the vectorised one
    (fused multiply-add dequantize, ``nearbyint(y * float(1 / scale)) + zero_point``)
    for whole steps, the scalar one (``float((q - zp) * scale)``, ``nearbyint(
    float(zp + y * (1.0f / float(scale))))``) for the rest, as cpu_kernel_vec splits
    a contiguous tensor (below ATen's parallel grain of 32768 elements)."""
    if q.__dict__["_qscheme"] is not per_tensor_affine:
        q._expect_scheme(per_tensor_affine)  # torch's kernels: per-tensor only
    xp = xp_of(q._data)
    d = q.__dict__
    ints_in = q._data.reshape(-1)
    vec = _split(ints_in.size)
    scale32 = xp.float32(d["_scale"])
    premul = xp.float32(-d["_zero_point"] * scale32)  # a float32 product, as the kernel's
    x = xp.empty(ints_in.size, xp.float32)
    x[:vec] = (ints_in[:vec].astype(xp.float64) * xp.float64(scale32)
               + xp.float64(premul)).astype(xp.float32)
    x[vec:] = ((ints_in[vec:].astype(xp.float64) - d["_zero_point"])
               * xp.float64(scale32)).astype(xp.float32)
    y = fn(xp, x).astype(xp.float32, copy=False)
    np_int, qmin, qmax = _QRANGE[q.dtype]
    out = xp.empty(ints_in.size, xp.float64)
    inv32 = xp.float32(1) / xp.float32(out_scale)  # 1.0f / (float) scale
    # the vectorised quantize's inverse: most kernels take it from the float scale,
    # qhardswish / qsigmoid from the double one (1.0 / scale, then stored as float)
    inv_vec = xp.float32(1.0 / float(out_scale)) if double_inverse else inv32
    out[:vec] = xp.rint(y[:vec] * inv_vec) + out_zero_point
    out[vec:] = xp.rint((y[vec:] * inv32 + xp.float32(out_zero_point)).astype(xp.float32))
    ints = xp.clip(out, qmin, qmax).astype(np_int).reshape(q._data.shape)
    return _new_qtensor(ints, q.dtype, per_tensor_affine, float(out_scale),
                        int(out_zero_point))


def _same_params(q):
    d = q.__dict__
    return d["_scale"], d["_zero_point"]


def leaky_relu(q, negative_slope, out_scale=None, out_zero_point=None):
    """x if x > 0 else negative_slope * x; the input's parameters unless given."""
    slope = float(negative_slope)
    if out_scale is None:
        out_scale, out_zero_point = _same_params(q)
    return requantize(q, lambda xp, x: xp.where(x > 0, x, x * xp.float32(slope)),
                      out_scale, out_zero_point)


def threshold(q, threshold_value, value):
    """x if x > threshold else value, on the input's grid."""
    limit, fill = float(threshold_value), float(value)
    return requantize(q, lambda xp, x: xp.where(x > xp.float32(limit), x, xp.float32(fill)),
                      *_same_params(q))


def _gelu_exact(xp, x):
    wide = x.astype(xp.float64)
    erf = xp.frompyfunc(math.erf, 1, 1) if xp.__name__ == "numpy" else None
    values = erf(wide * (0.5 ** 0.5)).astype(xp.float64) if erf is not None else \
        _erf_device(xp, wide * (0.5 ** 0.5))
    return (wide * 0.5 * (1.0 + values)).astype(xp.float32)


def _erf_device(xp, x):
    """erf on the device backend (CuPy's special functions)."""
    from cupyx.scipy.special import erf

    return erf(x)


def _gelu_tanh(xp, x):
    wide = x.astype(xp.float64)
    cube = (x * x * x).astype(xp.float64)  # a float cube, as the kernel's
    inner = (2.0 / math.pi) ** 0.5 * (wide + 0.044715 * cube)
    return (0.5 * wide * (1.0 + xp.tanh(inner))).astype(xp.float32)


def gelu(q, approximate="none"):
    """GELU on the input's grid; the output scale is the input's as a float32 value, as
    torch's qgelu stores it."""
    scale, zero_point = _same_params(q)
    fn = _gelu_tanh if approximate == "tanh" else _gelu_exact
    return requantize(q, fn, float(xp_of(q._data).float32(scale)), zero_point)


def elu(q, out_scale, out_zero_point, alpha=1.0, scale=1.0, input_scale=1.0):
    """x * scale if x >= 0 else (exp(x * input_scale) - 1) * alpha * scale (elu, celu),
    quantized to the given output parameters."""
    alpha, scale, input_scale = float(alpha), float(scale), float(input_scale)

    def fn(xp, x):
        negative = (xp.exp(x * xp.float32(input_scale)) - xp.float32(1)) \
            * xp.float32(alpha) * xp.float32(scale)
        return xp.where(x >= 0, x * xp.float32(scale), negative)

    return requantize(q, fn, out_scale, out_zero_point)


def _hardsigmoid_array(xp, x):
    return xp.minimum(xp.maximum(x + xp.float32(3), xp.float32(0)), xp.float32(6)) \
        / xp.float32(6)


def hardsigmoid(q):
    """relu6(x + 3) / 6 on the fixed grid [0, 1] / 256."""
    return requantize(q, _hardsigmoid_array, 1.0 / 256.0, _UNIT_ZERO_POINT[q.dtype.name])


def hardswish(q, out_scale, out_zero_point):
    """x * relu6(x + 3) / 6, quantized to the given output parameters."""
    def fn(xp, x):
        gate = xp.minimum(xp.maximum(x + xp.float32(3), xp.float32(0)), xp.float32(6))
        return x * gate / xp.float32(6)

    return requantize(q, fn, out_scale, out_zero_point, double_inverse=True)


def sigmoid(q, out_scale, out_zero_point):
    """1 / (1 + exp(-x)) quantized to the given output parameters (nn.quantized.Sigmoid)."""
    return requantize(q, lambda xp, x: xp.float32(1) / (xp.float32(1) + xp.exp(-x)),
                      out_scale, out_zero_point, double_inverse=True)
