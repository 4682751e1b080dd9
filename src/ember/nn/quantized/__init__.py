"""Quantized modules, as ``torch.ao.nn.quantized`` (``torch.nn.quantized``)."""

from . import dynamic
from .modules import (
    Conv2d,
    DeQuantize,
    FloatFunctional,
    Linear,
    LinearPackedParams,
    QFunctional,
    Quantize,
    ReLU6,
)

__all__ = [
    "Conv2d", "DeQuantize", "FloatFunctional", "Linear", "LinearPackedParams", "QFunctional",
    "Quantize", "ReLU6", "dynamic",
]
