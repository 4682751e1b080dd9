"""Quantized modules, as ``torch.ao.nn.quantized`` (``torch.nn.quantized``)."""

import sys

from . import dynamic, functional
from .activation import (  # noqa: F401 (convert maps to _QuantizedHardsigmoid)
    ELU,
    Hardswish,
    LeakyReLU,
    Sigmoid,
    Softmax,
    _QuantizedHardsigmoid,
)
from .embedding_ops import Embedding, EmbeddingBag
from .modules import (
    Conv1d,
    Conv2d,
    DeQuantize,
    Dropout,
    FloatFunctional,
    Linear,
    LinearPackedParams,
    QFunctional,
    Quantize,
    ReLU6,
)

__all__ = [
    "ELU",
    "Conv1d",
    "Conv2d",
    "DeQuantize",
    "Dropout",
    "Embedding",
    "EmbeddingBag",
    "FloatFunctional",
    "Hardswish",
    "LeakyReLU",
    "Linear",
    "LinearPackedParams",
    "QFunctional",
    "Quantize",
    "ReLU6",
    "Sigmoid",
    "Softmax",
    "dynamic",
    "functional",
]

# torch.ao.nn.quantized.functional names this same module (ember.ao.nn aliases the package)
sys.modules["ember.ao.nn.quantized.functional"] = functional
