"""Dynamically quantized modules, as ``torch.ao.nn.quantized.dynamic``."""

from .modules import Linear
from .rnn import GRU, LSTM, GRUCell, LSTMCell, RNNCell

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "Linear", "RNNCell"]
