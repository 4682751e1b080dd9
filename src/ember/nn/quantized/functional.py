"""Functional quantized ops, as ``torch.ao.nn.quantized.functional``: the activations
MobileNetV3 needs on quantized tensors.

PyTorch's vectorised kernels (qhardswish, qhardsigmoid) dequantize with one fused
multiply-add ``q * scale + (-zero_point * scale)``, apply the float activation as
``x * min(max(x + 3, 0), 6) / 6`` (hardsigmoid without the leading ``x *``) and
quantize as ``nearbyint(x * float(1 / out_scale)) + out_zero_point``. Each rounding
step decides ties on the output grid, so they are reproduced here step for step:
the fused multiply-add runs exactly in float64 (an 8-bit integer times a float32 scale
needs 32 bits) and is rounded to float32 once, as the hardware instruction does.
Hardsigmoid's output grid is fixed at 1/256 (its range [0, 1] in 256 steps).
"""

from __future__ import annotations

import ember

from ..._ops._util import xp_of
from ..._ops.quantized import _QRANGE, _new_qtensor, per_tensor_affine

__all__ = ["hardsigmoid", "hardswish"]

# hardsigmoid's fixed output quantizers (PyTorch's qhardsigmoid): [0, 1] in 256 steps
_HARDSIGMOID_ZERO_POINT = {"quint8": 0, "qint8": -128}


def _refuse_float(input, name):
    if not input.is_quantized:
        raise ValueError(f"Input to 'quantized.{name}' must be quantized!")
    if input.qscheme() is not per_tensor_affine:
        raise RuntimeError(f"quantized.{name} expects a per-tensor quantized input")


def _activation(input, out_scale, out_zero_point, swish):
    """The kernel body shared by both activations (see the module docstring)."""
    xp = xp_of(input._data)
    d = input.__dict__
    scale = xp.float32(d["_scale"])
    premul = xp.float32(-d["_zero_point"] * scale)  # float32 product, as the kernel
    x = (input._data.astype(xp.float64) * xp.float64(scale) + xp.float64(premul)).astype(
        xp.float32)
    gate = xp.minimum(xp.maximum(x + xp.float32(3), xp.float32(0)), xp.float32(6))
    y = (x * gate if swish else gate) / xp.float32(6)
    inv_scale = xp.float32(1.0 / float(out_scale))  # double reciprocal, stored as float
    np_int, qmin, qmax = _QRANGE[input.dtype]
    q = xp.clip(xp.rint(y * inv_scale) + out_zero_point, qmin, qmax).astype(np_int)
    return _new_qtensor(q, input.dtype, per_tensor_affine, float(out_scale),
                        int(out_zero_point))


def hardswish(input, scale, zero_point):
    """x * relu6(x + 3) / 6 of a quantized tensor, re-quantized to ``scale``/``zero_point``
    (the output quantizers a calibrated ``nn.quantized.Hardswish`` holds)."""
    _refuse_float(input, "hardswish")
    ember._ops.quantized.refuse_on_device("quantized::hardswish", input)
    return _activation(input, float(scale), int(zero_point), swish=True)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6 of a quantized tensor on the fixed grid [0, 1] / 256 (no observer:
    PyTorch fixes the output quantizers, so ``prepare`` leaves Hardsigmoid unobserved)."""
    _refuse_float(input, "hardsigmoid")
    ember._ops.quantized.refuse_on_device("aten::hardsigmoid", input)
    zero_point = _HARDSIGMOID_ZERO_POINT["quint8" if input.dtype is ember.quint8 else "qint8"]
    return _activation(input, 1.0 / 256.0, zero_point, swish=False)



