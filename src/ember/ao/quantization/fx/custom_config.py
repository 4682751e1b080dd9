"""Custom configurations of FX graph mode quantization, as
``torch.ao.quantization.fx.custom_config``: PrepareCustomConfig, ConvertCustomConfig and
FuseCustomConfig, with their chained setters and ``to_dict``/``from_dict`` forms.

ember honours non-traceable modules (traced as leaves, left in float), preserved
attributes (copied onto the GraphModule) and output quantized indexes (those outputs
are returned quantized). Standalone modules, custom module classes and input quantized
indexes are recorded but refused by ``prepare_fx`` / ``convert_fx`` with
NotImplementedError rather than silently ignored.
"""

from __future__ import annotations

from typing import Any

from ..quant_type import QuantType, _get_quant_type_to_str, _quant_type_from_str

__all__ = ["ConvertCustomConfig", "FuseCustomConfig", "PrepareCustomConfig",
           "StandaloneModuleConfigEntry"]

STANDALONE_MODULE_NAME_DICT_KEY = "standalone_module_name"
STANDALONE_MODULE_CLASS_DICT_KEY = "standalone_module_class"
FLOAT_TO_OBSERVED_DICT_KEY = "float_to_observed_custom_module_class"
OBSERVED_TO_QUANTIZED_DICT_KEY = "observed_to_quantized_custom_module_class"
NON_TRACEABLE_MODULE_NAME_DICT_KEY = "non_traceable_module_name"
NON_TRACEABLE_MODULE_CLASS_DICT_KEY = "non_traceable_module_class"
INPUT_QUANTIZED_INDEXES_DICT_KEY = "input_quantized_idxs"
OUTPUT_QUANTIZED_INDEXES_DICT_KEY = "output_quantized_idxs"
PRESERVED_ATTRIBUTES_DICT_KEY = "preserved_attributes"


class StandaloneModuleConfigEntry:
    def __init__(self, qconfig_mapping, example_inputs, prepare_custom_config,
                 backend_config):
        self.qconfig_mapping = qconfig_mapping
        self.example_inputs = example_inputs
        self.prepare_custom_config = prepare_custom_config
        self.backend_config = backend_config


def _nonempty_repr(config):
    nonempty = {k: v for k, v in config.__dict__.items() if len(v) > 0}
    return f"{type(config).__name__}({nonempty})"


class PrepareCustomConfig:
    """Options of ``prepare_fx``::

        prepare_custom_config = PrepareCustomConfig() \\
            .set_non_traceable_module_names(["module1", "module2"]) \\
            .set_output_quantized_indexes([0]) \\
            .set_preserved_attributes(["attr1", "attr2"])
    """

    def __init__(self) -> None:
        self.standalone_module_names: dict[str, StandaloneModuleConfigEntry] = {}
        self.standalone_module_classes: dict[type, StandaloneModuleConfigEntry] = {}
        self.float_to_observed_mapping: dict[QuantType, dict[type, type]] = {}
        self.non_traceable_module_names: list[str] = []
        self.non_traceable_module_classes: list[type] = []
        self.input_quantized_indexes: list[int] = []
        self.output_quantized_indexes: list[int] = []
        self.preserved_attributes: list[str] = []

    def __repr__(self):
        return _nonempty_repr(self)

    def set_standalone_module_name(self, module_name, qconfig_mapping, example_inputs,
                                   prepare_custom_config, backend_config):
        self.standalone_module_names[module_name] = StandaloneModuleConfigEntry(
            qconfig_mapping, example_inputs, prepare_custom_config, backend_config)
        return self

    def set_standalone_module_class(self, module_class, qconfig_mapping, example_inputs,
                                    prepare_custom_config, backend_config):
        self.standalone_module_classes[module_class] = StandaloneModuleConfigEntry(
            qconfig_mapping, example_inputs, prepare_custom_config, backend_config)
        return self

    def set_float_to_observed_mapping(self, float_class, observed_class,
                                      quant_type=QuantType.STATIC):
        if quant_type != QuantType.STATIC:
            raise ValueError(
                "set_float_to_observed_mapping is currently only supported for static "
                f"quantization, got {quant_type}")
        self.float_to_observed_mapping.setdefault(quant_type, {})[float_class] = \
            observed_class
        return self

    def set_non_traceable_module_names(self, module_names):
        self.non_traceable_module_names = module_names
        return self

    def set_non_traceable_module_classes(self, module_classes):
        self.non_traceable_module_classes = module_classes
        return self

    def set_input_quantized_indexes(self, indexes):
        self.input_quantized_indexes = indexes
        return self

    def set_output_quantized_indexes(self, indexes):
        self.output_quantized_indexes = indexes
        return self

    def set_preserved_attributes(self, attributes):
        self.preserved_attributes = attributes
        return self

    @classmethod
    def from_dict(cls, prepare_custom_config_dict: dict[str, Any]) -> PrepareCustomConfig:
        from ..qconfig_mapping import QConfigMapping

        def mapping_of(obj):
            return QConfigMapping.from_dict(obj) if isinstance(obj, dict) else obj

        def config_of(obj):
            return cls.from_dict(obj) if isinstance(obj, dict) else obj

        conf = cls()
        for name, qconfig_dict, example_inputs, custom, backend in \
                prepare_custom_config_dict.get(STANDALONE_MODULE_NAME_DICT_KEY, []):
            conf.set_standalone_module_name(name, mapping_of(qconfig_dict), example_inputs,
                                            config_of(custom), backend)
        for module_class, qconfig_dict, example_inputs, custom, backend in \
                prepare_custom_config_dict.get(STANDALONE_MODULE_CLASS_DICT_KEY, []):
            conf.set_standalone_module_class(module_class, mapping_of(qconfig_dict),
                                             example_inputs, config_of(custom), backend)
        for quant_type_name, mapping in prepare_custom_config_dict.get(
                FLOAT_TO_OBSERVED_DICT_KEY, {}).items():
            for float_class, observed_class in mapping.items():
                conf.set_float_to_observed_mapping(float_class, observed_class,
                                                   _quant_type_from_str(quant_type_name))
        conf.set_non_traceable_module_names(
            prepare_custom_config_dict.get(NON_TRACEABLE_MODULE_NAME_DICT_KEY, []))
        conf.set_non_traceable_module_classes(
            prepare_custom_config_dict.get(NON_TRACEABLE_MODULE_CLASS_DICT_KEY, []))
        conf.set_input_quantized_indexes(
            prepare_custom_config_dict.get(INPUT_QUANTIZED_INDEXES_DICT_KEY, []))
        conf.set_output_quantized_indexes(
            prepare_custom_config_dict.get(OUTPUT_QUANTIZED_INDEXES_DICT_KEY, []))
        conf.set_preserved_attributes(
            prepare_custom_config_dict.get(PRESERVED_ATTRIBUTES_DICT_KEY, []))
        return conf

    def to_dict(self) -> dict[str, Any]:
        def entry(key, e):
            return (key, e.qconfig_mapping.to_dict() if e.qconfig_mapping else None,
                    e.example_inputs,
                    e.prepare_custom_config.to_dict() if e.prepare_custom_config else None,
                    e.backend_config)

        d: dict[str, Any] = {}
        for name, e in self.standalone_module_names.items():
            d.setdefault(STANDALONE_MODULE_NAME_DICT_KEY, []).append(entry(name, e))
        for module_class, e in self.standalone_module_classes.items():
            d.setdefault(STANDALONE_MODULE_CLASS_DICT_KEY, []).append(entry(module_class, e))
        for quant_type, mapping in self.float_to_observed_mapping.items():
            d.setdefault(FLOAT_TO_OBSERVED_DICT_KEY, {})[
                _get_quant_type_to_str(quant_type)] = mapping
        for key, value in ((NON_TRACEABLE_MODULE_NAME_DICT_KEY,
                            self.non_traceable_module_names),
                           (NON_TRACEABLE_MODULE_CLASS_DICT_KEY,
                            self.non_traceable_module_classes),
                           (INPUT_QUANTIZED_INDEXES_DICT_KEY, self.input_quantized_indexes),
                           (OUTPUT_QUANTIZED_INDEXES_DICT_KEY, self.output_quantized_indexes),
                           (PRESERVED_ATTRIBUTES_DICT_KEY, self.preserved_attributes)):
            if len(value) > 0:
                d[key] = value
        return d


class ConvertCustomConfig:
    """Options of ``convert_fx``: custom observed -> quantized module classes and
    attributes to keep on the converted GraphModule."""

    def __init__(self) -> None:
        self.observed_to_quantized_mapping: dict[QuantType, dict[type, type]] = {}
        self.preserved_attributes: list[str] = []

    def __repr__(self):
        return _nonempty_repr(self)

    def set_observed_to_quantized_mapping(self, observed_class, quantized_class,
                                          quant_type=QuantType.STATIC):
        self.observed_to_quantized_mapping.setdefault(quant_type, {})[observed_class] = \
            quantized_class
        return self

    def set_preserved_attributes(self, attributes):
        self.preserved_attributes = attributes
        return self

    @classmethod
    def from_dict(cls, convert_custom_config_dict: dict[str, Any]) -> ConvertCustomConfig:
        conf = cls()
        for quant_type_name, mapping in convert_custom_config_dict.get(
                OBSERVED_TO_QUANTIZED_DICT_KEY, {}).items():
            for observed_class, quantized_class in mapping.items():
                conf.set_observed_to_quantized_mapping(observed_class, quantized_class,
                                                       _quant_type_from_str(quant_type_name))
        conf.set_preserved_attributes(
            convert_custom_config_dict.get(PRESERVED_ATTRIBUTES_DICT_KEY, []))
        return conf

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for quant_type, mapping in self.observed_to_quantized_mapping.items():
            d.setdefault(OBSERVED_TO_QUANTIZED_DICT_KEY, {})[
                _get_quant_type_to_str(quant_type)] = mapping
        if len(self.preserved_attributes) > 0:
            d[PRESERVED_ATTRIBUTES_DICT_KEY] = self.preserved_attributes
        return d


class FuseCustomConfig:
    """Options of ``fuse_fx``: attributes to keep on the fused GraphModule."""

    def __init__(self) -> None:
        self.preserved_attributes: list[str] = []

    def __repr__(self):
        return _nonempty_repr(self)

    def set_preserved_attributes(self, attributes):
        self.preserved_attributes = attributes
        return self

    @classmethod
    def from_dict(cls, fuse_custom_config_dict: dict[str, Any]) -> FuseCustomConfig:
        return cls().set_preserved_attributes(
            fuse_custom_config_dict.get(PRESERVED_ATTRIBUTES_DICT_KEY, []))

    def to_dict(self) -> dict[str, Any]:
        if len(self.preserved_attributes) > 0:
            return {PRESERVED_ATTRIBUTES_DICT_KEY: self.preserved_attributes}
        return {}
