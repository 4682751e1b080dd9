"""``torch.ao.nn``: the quantized modules live in ``ember.nn.quantized`` (PyTorch keeps
both names); fused modules in ``ember.ao.nn.intrinsic``."""

import sys

from ...nn import quantized
from ...nn.quantized import dynamic as _dynamic
from . import intrinsic

sys.modules[__name__ + ".quantized"] = quantized
sys.modules[__name__ + ".quantized.dynamic"] = _dynamic

__all__ = ["intrinsic", "quantized"]
