"""Dynamically quantized modules, as ``torch.ao.nn.quantized.dynamic``."""

from .modules import Linear
from .rnn import LSTM

__all__ = ["LSTM", "Linear"]
