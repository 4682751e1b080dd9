"""FX graph mode quantization internals (``torch.ao.quantization.fx``): op tables and
fusion (``_patterns``), observer insertion (``prepare``) and lowering (``convert``).
The public entry points live in ``ember.ao.quantization.quantize_fx``."""

from . import custom_config
from .convert import convert
from .prepare import prepare

__all__ = ["convert", "custom_config", "prepare"]
