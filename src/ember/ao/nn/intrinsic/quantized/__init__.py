"""Quantized fused modules (``torch.ao.nn.intrinsic.quantized``): the ReLU is applied to
the float result before re-quantization, so no separate pass over the integers."""

from __future__ import annotations

from .....nn.quantized import modules as _nnq

__all__ = ["ConvReLU1d", "ConvReLU2d", "LinearReLU"]


class LinearReLU(_nnq.Linear):
    """Quantized Linear with a fused ReLU."""

    _relu = True

    def _get_name(self):
        return "QuantizedLinearReLU"


class ConvReLU2d(_nnq.Conv2d):
    """Quantized Conv2d with a fused ReLU."""

    _relu = True

    def _get_name(self):
        return "QuantizedConvReLU2d"


class ConvReLU1d(_nnq.Conv1d):
    """Quantized Conv1d with a fused ReLU."""

    _relu = True

    def _get_name(self):
        return "QuantizedConvReLU1d"


from . import dynamic  # noqa: E402,F401 (torch.ao.nn.intrinsic.quantized.dynamic)
