"""``torch.ao.quantization`` (also ``ember.quantization``): observers, qconfigs, eager
post-training static quantization (prepare/convert), dynamic quantization and fusion.

``fuse_modules`` and ``quantize`` name both a submodule and a function; the function
wins the attribute, as in PyTorch.
"""

from ..._ops.quantized import (
    fake_quantize_per_channel_affine,
    fake_quantize_per_tensor_affine,
)
from . import observer, qconfig
from .fuse_modules import fuse_known_modules, fuse_modules, get_fuser_method
from .observer import (
    HistogramObserver,
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    NoopObserver,
    ObserverBase,
    PerChannelMinMaxObserver,
    PlaceholderObserver,
    default_debug_observer,
    default_dynamic_quant_observer,
    default_float_qparams_observer,
    default_histogram_observer,
    default_observer,
    default_per_channel_weight_observer,
    default_placeholder_observer,
    default_weight_observer,
)
from .qconfig import (
    QConfig,
    QConfigDynamic,
    default_dynamic_qconfig,
    default_qconfig,
    float16_dynamic_qconfig,
    float_qparams_weight_only_qconfig,
    get_default_qconfig,
    per_channel_dynamic_qconfig,
)
from .quantize import (
    DeQuantStub,
    QuantStub,
    QuantWrapper,
    add_quant_dequant,
    convert,
    get_default_dynamic_quant_module_mappings,
    get_default_qconfig_propagation_list,
    get_default_static_quant_module_mappings,
    prepare,
    propagate_qconfig_,
    quantize,
    quantize_dynamic,
    swap_module,
)

__all__ = [
    "DeQuantStub", "HistogramObserver", "MinMaxObserver", "MovingAverageMinMaxObserver",
    "MovingAveragePerChannelMinMaxObserver", "NoopObserver", "ObserverBase",
    "PerChannelMinMaxObserver", "PlaceholderObserver", "QConfig", "QConfigDynamic",
    "QuantStub", "QuantWrapper", "add_quant_dequant", "convert", "default_debug_observer",
    "default_dynamic_qconfig", "default_dynamic_quant_observer",
    "default_float_qparams_observer", "default_histogram_observer", "default_observer",
    "default_per_channel_weight_observer", "default_placeholder_observer", "default_qconfig",
    "default_weight_observer", "fake_quantize_per_channel_affine",
    "fake_quantize_per_tensor_affine", "float16_dynamic_qconfig",
    "float_qparams_weight_only_qconfig", "fuse_known_modules", "fuse_modules",
    "get_default_dynamic_quant_module_mappings", "get_default_qconfig",
    "get_default_qconfig_propagation_list", "get_default_static_quant_module_mappings",
    "get_fuser_method", "observer", "per_channel_dynamic_qconfig", "prepare",
    "propagate_qconfig_", "qconfig", "quantize", "quantize_dynamic", "swap_module",
]
