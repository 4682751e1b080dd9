"""``torch.ao.quantization`` (also ``ember.quantization``): observers, qconfigs, eager
post-training static quantization (prepare/convert), quantization-aware training (fake
quantizers, prepare_qat, fuse_modules_qat), dynamic quantization and fusion.

The package re-exports about a hundred names from its submodules. They are listed once, in
``_EXPORTS`` (submodule -> names), and both the module attributes and ``__all__`` are
derived from that table, so the two can never drift apart as names are added.

``fuse_modules`` and ``quantize`` name both a submodule and a function; the function wins
the attribute, as in PyTorch. That is why every submodule is imported before any name is
bound: importing a submodule for the first time would rebind the package attribute.
"""

import importlib as _importlib

# submodule (relative to this package) -> names re-exported here and listed in __all__
_EXPORTS = {
    "..._ops.quantized": "fake_quantize_per_channel_affine fake_quantize_per_tensor_affine",
    ".fake_quantize": """
        FakeQuantize FakeQuantizeBase FixedQParamsFakeQuantize FusedMovingAvgObsFakeQuantize
        default_fake_quant default_fixed_qparams_range_0to1_fake_quant
        default_fixed_qparams_range_neg1to1_fake_quant default_fused_act_fake_quant
        default_fused_per_channel_wt_fake_quant default_fused_wt_fake_quant
        default_histogram_fake_quant default_per_channel_weight_fake_quant
        default_weight_fake_quant disable_fake_quant disable_observer enable_fake_quant
        enable_observer default_affine_fixed_qparams_fake_quant default_dynamic_fake_quant
        default_embedding_fake_quant default_symmetric_fixed_qparams_fake_quant
        fused_per_channel_wt_fake_quant_range_neg_127_to_127
        fused_wt_fake_quant_range_neg_127_to_127""",
    ".fuse_modules": "fuse_known_modules fuse_modules fuse_modules_qat get_fuser_method",
    ".fuser_method_mappings": """
        fuse_conv_bn fuse_conv_bn_relu fuse_convtranspose_bn fuse_linear_bn
        get_fuser_method_new""",
    ".observer": """
        FixedQParamsObserver HistogramObserver MinMaxObserver MovingAverageMinMaxObserver
        MovingAveragePerChannelMinMaxObserver NoopObserver ObserverBase
        PerChannelMinMaxObserver PlaceholderObserver RecordingObserver ReuseInputObserver
        UniformQuantizationObserverBase default_debug_observer default_dynamic_quant_observer
        default_float_qparams_observer default_histogram_observer default_observer
        default_per_channel_weight_observer default_placeholder_observer
        default_weight_observer default_affine_fixed_qparams_observer
        default_fixed_qparams_range_0to1_observer default_fixed_qparams_range_neg1to1_observer
        default_reuse_input_observer default_symmetric_fixed_qparams_observer
        get_observer_state_dict load_observer_state_dict
        per_channel_weight_observer_range_neg_127_to_127 weight_observer_range_neg_127_to_127""",
    ".qconfig": """
        QConfig QConfigDynamic QConfigAny default_dynamic_qconfig default_qat_qconfig
        default_qat_qconfig_v2 default_qconfig float16_dynamic_qconfig
        float_qparams_weight_only_qconfig get_default_qat_qconfig get_default_qconfig
        per_channel_dynamic_qconfig get_default_qat_qconfig_dict get_default_qconfig_dict
        qconfig_equals""",
    ".qconfig_mapping": """
        QConfigMapping get_default_qat_qconfig_mapping get_default_qconfig_mapping""",
    ".quant_type": "QuantType",
    ".quantization_mappings": """
        get_default_compare_output_module_list get_default_float_to_quantized_operator_mappings
        get_dynamic_quant_module_class get_quantized_operator get_static_quant_module_class""",
    ".quantize": """
        DeQuantStub QuantStub QuantWrapper add_quant_dequant convert
        get_default_dynamic_quant_module_mappings get_default_qat_module_mappings
        get_default_qconfig_propagation_list get_default_static_quant_module_mappings prepare
        prepare_qat propagate_qconfig_ quantize quantize_dynamic quantize_qat swap_module
        default_eval_fn""",
    ".utils": "MatchAllNode Pattern get_combined_dict",
}

# importable from here as in torch, though torch's __all__ leaves them out
_UNLISTED = {
    ".qconfig": """
        default_debug_qconfig default_dynamic_qat_qconfig default_embedding_qat_qconfig
        default_per_channel_qconfig default_per_channel_symmetric_qnnpack_qat_qconfig
        default_per_channel_symmetric_qnnpack_qconfig default_symmetric_qnnpack_qat_qconfig
        default_symmetric_qnnpack_qconfig float16_static_qconfig""",
}

# submodules that are attributes of the package; the first three are also in __all__
_LISTED_SUBMODULES = ("fake_quantize", "observer", "qconfig")
_OTHER_SUBMODULES = ("qconfig_mapping", "quantize_fx")


def _bind_exports() -> list[str]:
    """Import every submodule, then bind the table's names; returns the listed names."""
    for sub in _LISTED_SUBMODULES + _OTHER_SUBMODULES:
        globals()[sub] = _importlib.import_module("." + sub, __name__)
    modules = {sub: _importlib.import_module(sub, __name__) for sub in {*_EXPORTS, *_UNLISTED}}
    listed = []
    for table, public in ((_EXPORTS, True), (_UNLISTED, False)):
        for sub, names in table.items():
            for name in names.split():
                globals()[name] = getattr(modules[sub], name)
                if public:
                    listed.append(name)
    return listed


__all__ = sorted([*_bind_exports(), *_LISTED_SUBMODULES, "ObserverOrFakeQuantize"])

# the union torch spells out for "anything prepare may insert"
ObserverOrFakeQuantize = globals()["ObserverBase"] | globals()["FakeQuantizeBase"]
