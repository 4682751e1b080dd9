"""Dynamically quantized fused modules (``torch.ao.nn.intrinsic.quantized.dynamic``):
``LinearReLU``, the dynamic quantized Linear (int8 or float16 weights, activations
quantized per call) with the ReLU applied to its float result."""

from __future__ import annotations

from ......nn.quantized.dynamic import Linear as _DynamicLinear
from ... import LinearReLU as _FusedLinearReLU

__all__ = ["LinearReLU"]


class LinearReLU(_DynamicLinear):
    """A LinearReLU fused from Linear and ReLU for dynamic quantization (qint8 or
    float16 weights), with the interface of ``nn.quantized.dynamic.Linear``.

    Example::

        >>> m = ember.ao.nn.intrinsic.quantized.dynamic.LinearReLU(20, 30)
        >>> m(ember.randn(128, 20)).size()
        torch.Size([128, 30])
    """

    _FLOAT_MODULE = _FusedLinearReLU

    def forward(self, x):
        return super().forward(x).relu()

    def _get_name(self):
        return "DynamicQuantizedLinearReLU"

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """From a fused float LinearReLU: quantize its Linear (whose qconfig, set by
        ``propagate_qconfig_`` on every submodule, is used, as in PyTorch)."""
        if isinstance(mod, _FusedLinearReLU):
            mod = mod[0]
        return super().from_float(mod, use_precomputed_fake_quant)
