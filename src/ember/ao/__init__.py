"""``torch.ao``: architecture optimisation; here, quantization and pruning."""

from . import nn, pruning, quantization

__all__ = ["nn", "pruning", "quantization"]
