"""Dynamically quantized modules, as ``torch.ao.nn.quantized.dynamic``."""

from .modules import Linear

__all__ = ["Linear"]
