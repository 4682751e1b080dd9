"""``torch.ao.quantization`` (also ``ember.quantization``): observers, qconfigs, eager
post-training static quantization (prepare/convert), quantization-aware training (fake
quantizers, prepare_qat, fuse_modules_qat), dynamic quantization and fusion.

``fuse_modules`` and ``quantize`` name both a submodule and a function; the function
wins the attribute, as in PyTorch.
"""

from ..._ops.quantized import (
    fake_quantize_per_channel_affine,
    fake_quantize_per_tensor_affine,
)
from . import fake_quantize, observer, qconfig
from .fake_quantize import (
    FakeQuantize,
    FakeQuantizeBase,
    FixedQParamsFakeQuantize,
    FusedMovingAvgObsFakeQuantize,
    default_fake_quant,
    default_fixed_qparams_range_0to1_fake_quant,
    default_fixed_qparams_range_neg1to1_fake_quant,
    default_fused_act_fake_quant,
    default_fused_per_channel_wt_fake_quant,
    default_fused_wt_fake_quant,
    default_histogram_fake_quant,
    default_per_channel_weight_fake_quant,
    default_weight_fake_quant,
    disable_fake_quant,
    disable_observer,
    enable_fake_quant,
    enable_observer,
)
from .fuse_modules import fuse_known_modules, fuse_modules, fuse_modules_qat, get_fuser_method
from .observer import (
    FixedQParamsObserver,
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
    default_qat_qconfig,
    default_qat_qconfig_v2,
    default_qconfig,
    float16_dynamic_qconfig,
    float_qparams_weight_only_qconfig,
    get_default_qat_qconfig,
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
    get_default_qat_module_mappings,
    get_default_qconfig_propagation_list,
    get_default_static_quant_module_mappings,
    prepare,
    prepare_qat,
    propagate_qconfig_,
    quantize,
    quantize_dynamic,
    quantize_qat,
    swap_module,
)

__all__ = [
    "DeQuantStub",
    "FakeQuantize",
    "FakeQuantizeBase",
    "FixedQParamsFakeQuantize",
    "FixedQParamsObserver",
    "FusedMovingAvgObsFakeQuantize",
    "HistogramObserver",
    "MinMaxObserver",
    "MovingAverageMinMaxObserver",
    "MovingAveragePerChannelMinMaxObserver",
    "NoopObserver",
    "ObserverBase",
    "PerChannelMinMaxObserver",
    "PlaceholderObserver",
    "QConfig",
    "QConfigDynamic",
    "QuantStub",
    "QuantWrapper",
    "add_quant_dequant",
    "convert",
    "default_debug_observer",
    "default_dynamic_qconfig",
    "default_dynamic_quant_observer",
    "default_fake_quant",
    "default_fixed_qparams_range_0to1_fake_quant",
    "default_fixed_qparams_range_neg1to1_fake_quant",
    "default_float_qparams_observer",
    "default_fused_act_fake_quant",
    "default_fused_per_channel_wt_fake_quant",
    "default_fused_wt_fake_quant",
    "default_histogram_fake_quant",
    "default_histogram_observer",
    "default_observer",
    "default_per_channel_weight_fake_quant",
    "default_per_channel_weight_observer",
    "default_placeholder_observer",
    "default_qat_qconfig",
    "default_qat_qconfig_v2",
    "default_qconfig",
    "default_weight_fake_quant",
    "default_weight_observer",
    "disable_fake_quant",
    "disable_observer",
    "enable_fake_quant",
    "enable_observer",
    "fake_quantize",
    "fake_quantize_per_channel_affine",
    "fake_quantize_per_tensor_affine",
    "float16_dynamic_qconfig",
    "float_qparams_weight_only_qconfig",
    "fuse_known_modules",
    "fuse_modules",
    "fuse_modules_qat",
    "get_default_dynamic_quant_module_mappings",
    "get_default_qat_module_mappings",
    "get_default_qat_qconfig",
    "get_default_qconfig",
    "get_default_qconfig_propagation_list",
    "get_default_static_quant_module_mappings",
    "get_fuser_method",
    "observer",
    "per_channel_dynamic_qconfig",
    "prepare",
    "prepare_qat",
    "propagate_qconfig_",
    "qconfig",
    "quantize",
    "quantize_dynamic",
    "quantize_qat",
    "swap_module",
]

# FX graph mode quantization, the QConfigMapping and the remaining eager helpers
from . import qconfig_mapping, quantize_fx  # noqa: E402, F401 - submodules, as in PyTorch
from .fake_quantize import (  # noqa: E402
    default_affine_fixed_qparams_fake_quant,
    default_dynamic_fake_quant,
    default_embedding_fake_quant,
    default_symmetric_fixed_qparams_fake_quant,
    fused_per_channel_wt_fake_quant_range_neg_127_to_127,
    fused_wt_fake_quant_range_neg_127_to_127,
)
from .fuser_method_mappings import (  # noqa: E402
    fuse_conv_bn,
    fuse_conv_bn_relu,
    fuse_convtranspose_bn,
    fuse_linear_bn,
    get_fuser_method_new,
)
from .observer import (  # noqa: E402
    RecordingObserver,
    ReuseInputObserver,
    UniformQuantizationObserverBase,
    default_affine_fixed_qparams_observer,
    default_fixed_qparams_range_0to1_observer,
    default_fixed_qparams_range_neg1to1_observer,
    default_reuse_input_observer,
    default_symmetric_fixed_qparams_observer,
    get_observer_state_dict,
    load_observer_state_dict,
    per_channel_weight_observer_range_neg_127_to_127,
    weight_observer_range_neg_127_to_127,
)
from .qconfig import (  # noqa: E402
    QConfigAny,
    get_default_qat_qconfig_dict,
    get_default_qconfig_dict,
    qconfig_equals,
)
# importable from here as in torch, though not in its __all__
from .qconfig import (  # noqa: E402
    default_debug_qconfig,  # noqa: F401
    default_dynamic_qat_qconfig,  # noqa: F401
    default_embedding_qat_qconfig,  # noqa: F401
    default_per_channel_qconfig,  # noqa: F401
    default_per_channel_symmetric_qnnpack_qat_qconfig,  # noqa: F401
    default_per_channel_symmetric_qnnpack_qconfig,  # noqa: F401
    default_symmetric_qnnpack_qat_qconfig,  # noqa: F401
    default_symmetric_qnnpack_qconfig,  # noqa: F401
    float16_static_qconfig,  # noqa: F401
)
from .qconfig_mapping import (  # noqa: E402
    QConfigMapping,
    get_default_qat_qconfig_mapping,
    get_default_qconfig_mapping,
)
from .quant_type import QuantType  # noqa: E402
from .quantization_mappings import (  # noqa: E402
    get_default_compare_output_module_list,
    get_default_float_to_quantized_operator_mappings,
    get_dynamic_quant_module_class,
    get_quantized_operator,
    get_static_quant_module_class,
)
from .quantize import default_eval_fn  # noqa: E402
from .utils import MatchAllNode, Pattern, get_combined_dict  # noqa: E402

ObserverOrFakeQuantize = ObserverBase | FakeQuantizeBase

__all__ += [
    "MatchAllNode", "ObserverOrFakeQuantize", "Pattern", "QConfigAny", "QConfigMapping",
    "QuantType", "RecordingObserver", "ReuseInputObserver", "UniformQuantizationObserverBase",
    "default_affine_fixed_qparams_fake_quant", "default_affine_fixed_qparams_observer",
    "default_dynamic_fake_quant", "default_embedding_fake_quant", "default_eval_fn",
    "default_fixed_qparams_range_0to1_observer", "default_fixed_qparams_range_neg1to1_observer",
    "default_reuse_input_observer", "default_symmetric_fixed_qparams_fake_quant",
    "default_symmetric_fixed_qparams_observer", "fuse_conv_bn", "fuse_conv_bn_relu",
    "fuse_convtranspose_bn", "fuse_linear_bn",
    "fused_per_channel_wt_fake_quant_range_neg_127_to_127",
    "fused_wt_fake_quant_range_neg_127_to_127", "get_combined_dict",
    "get_default_compare_output_module_list",
    "get_default_float_to_quantized_operator_mappings", "get_default_qat_qconfig_dict",
    "get_default_qat_qconfig_mapping", "get_default_qconfig_dict",
    "get_default_qconfig_mapping", "get_dynamic_quant_module_class", "get_fuser_method_new",
    "get_observer_state_dict", "get_quantized_operator", "get_static_quant_module_class",
    "load_observer_state_dict", "per_channel_weight_observer_range_neg_127_to_127",
    "qconfig_equals", "weight_observer_range_neg_127_to_127",
]
