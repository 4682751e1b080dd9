"""Functional quantized ops, as ``torch.ao.nn.quantized.functional``: activations of
quantized tensors with the output parameters the caller (a converted module) gives.

The arithmetic is PyTorch's kernels', step for step (``ember._ops.quantized_activations``:
fused multiply-add dequantize, float32 activation, ``nearbyint(y * (1 / scale)) +
zero_point``), so ties on the output grid round as torch's do. Each function first
checks, as torch's does, that its input is quantized.
"""

from __future__ import annotations

import ember

from ..._ops import quantized_activations as _qa

__all__ = ["celu", "clamp", "elu", "hardsigmoid", "hardswish", "hardtanh", "leaky_relu",
           "threshold"]


def _require_quantized(input, name):
    if not input.is_quantized:
        raise ValueError(f"Input to 'quantized.{name}' must be quantized!")


def hardswish(input, scale, zero_point):
    """x * relu6(x + 3) / 6 of a quantized tensor, re-quantized to ``scale``/``zero_point``
    (the output quantizers a calibrated ``nn.quantized.Hardswish`` holds)."""
    _require_quantized(input, "hardswish")
    ember._ops.quantized.refuse_on_device("quantized::hardswish", input)
    return _qa.hardswish(input, float(scale), int(zero_point))


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6 of a quantized tensor on the fixed grid [0, 1] / 256 (no observer:
    PyTorch fixes the output quantizers, so ``prepare`` leaves Hardsigmoid unobserved)."""
    _require_quantized(input, "hardsigmoid")
    ember._ops.quantized.refuse_on_device("aten::hardsigmoid", input)
    return ember.nn.functional.hardsigmoid(input, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False, scale=None, zero_point=None):
    """leaky_relu of a quantized tensor; with ``scale``/``zero_point`` the result is
    quantized to them (not in place), else it keeps the input's."""
    if scale is not None and zero_point is not None:
        if inplace:
            raise AssertionError("Cannot rescale with `inplace`")
        return _qa.leaky_relu(input, negative_slope, float(scale), int(zero_point))
    return ember.nn.functional.leaky_relu(input, negative_slope, inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp to [min_val, max_val] on the input's grid."""
    _require_quantized(input, "hardtanh")
    return ember.nn.functional.hardtanh(input, min_val, max_val, inplace)


def threshold(input, threshold, value):
    """x if x > threshold else value, on the input's grid."""
    _require_quantized(input, "threshold")
    if threshold is None:
        raise ValueError("Input to 'threshold' must be specified!")
    if value is None:
        raise ValueError("Input to 'value' must be specified!")
    return _qa.threshold(input, threshold, value)


def elu(input, scale, zero_point, alpha=1.0):
    """ELU of a quantized tensor, quantized to ``scale``/``zero_point``."""
    _require_quantized(input, "elu")
    return _qa.elu(input, float(scale), int(zero_point), alpha)


def celu(input, scale, zero_point, alpha=1.0):
    """CELU (ELU with the exponent's input scaled by 1 / alpha), quantized to
    ``scale``/``zero_point``."""
    _require_quantized(input, "celu")
    return _qa.elu(input, float(scale), int(zero_point), alpha, 1.0, 1.0 / alpha)


def clamp(input, min_, max_):
    """clamp on the input's grid."""
    _require_quantized(input, "clamp")
    return ember.clamp(input, min_, max_)
