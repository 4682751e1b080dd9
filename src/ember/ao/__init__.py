"""``torch.ao``: architecture optimisation; here, quantization, pruning and the numeric
suite."""

from . import nn, ns, pruning, quantization

__all__ = ["nn", "ns", "pruning", "quantization"]
