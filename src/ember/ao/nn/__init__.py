"""``torch.ao.nn``: the quantized modules live in ``ember.nn.quantized`` (PyTorch keeps
both names); fused modules in ``ember.ao.nn.intrinsic``; quantization-aware-training
modules in ``ember.ao.nn.qat`` and ``ember.ao.nn.intrinsic.qat``."""

import sys

from ...nn import quantized
from ...nn.quantized import dynamic as _dynamic
from . import intrinsic, qat
from .intrinsic import qat as _intrinsic_qat  # noqa: F401 (registers the submodule)

sys.modules[__name__ + ".quantized"] = quantized
sys.modules[__name__ + ".quantized.dynamic"] = _dynamic

__all__ = ["intrinsic", "qat", "quantized"]
