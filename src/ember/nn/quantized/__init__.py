"""Quantized modules, as ``torch.ao.nn.quantized`` (``torch.nn.quantized``)."""

import sys

from . import dynamic, functional
from .activation import Hardswish, _QuantizedHardsigmoid  # noqa: F401 (convert maps to it)
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
    "Conv2d",
    "DeQuantize",
    "FloatFunctional",
    "Hardswish",
    "Linear",
    "LinearPackedParams",
    "QFunctional",
    "Quantize",
    "ReLU6",
    "dynamic",
    "functional",
]

# torch.ao.nn.quantized.functional names this same module (ember.ao.nn aliases the package)
sys.modules["ember.ao.nn.quantized.functional"] = functional
