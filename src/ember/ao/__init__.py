"""``torch.ao``: architecture optimisation; here, quantization."""

from . import nn, quantization

__all__ = ["nn", "quantization"]
