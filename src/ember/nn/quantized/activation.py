"""Quantized activations MobileNetV3 needs: ``Hardswish`` (``torch.ao.nn.quantized``,
calibrated output quantizers saved as buffers) and the Hardsigmoid that ``convert``
swaps in (PyTorch keeps the float module, whose kernel reads quantized tensors; ember's
float ops do not, so a subclass that does replaces it and prints as ``Hardsigmoid()``).
"""

from __future__ import annotations

import ember

from ...nn.modules.module import Module
from . import functional as qF

__all__ = ["Hardswish"]


class Hardswish(Module):
    """x * relu6(x + 3) / 6 on a quantized tensor, re-quantized to ``scale`` and
    ``zero_point`` (observed at calibration: the output range differs from the input's)."""

    def __init__(self, scale, zero_point, device=None, dtype=None):
        super().__init__()
        self.register_buffer("scale", ember.tensor(scale, device=device, dtype=dtype))
        self.register_buffer("zero_point", ember.tensor(zero_point, device=device,
                                                        dtype=dtype))

    def _get_name(self):
        return "QuantizedHardswish"

    def forward(self, input):
        return qF.hardswish(input, self.scale, self.zero_point)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return cls(float(scale), int(zero_point))

    @classmethod
    def from_reference(cls, mod, scale, zero_point):
        return cls(float(scale), int(zero_point))


class _QuantizedHardsigmoid(ember.nn.Hardsigmoid):
    """Hardsigmoid that also takes quantized tensors (fixed 1/256 output grid); a float
    input (outside the quantized region) goes through the float op."""

    def _get_name(self):
        return "Hardsigmoid"

    def forward(self, input):
        if not input.is_quantized:
            return super().forward(input)
        return qF.hardsigmoid(input)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        return cls(getattr(mod, "inplace", False))
