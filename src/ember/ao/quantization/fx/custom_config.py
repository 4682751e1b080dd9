"""Custom configurations of FX graph mode quantization, as
``torch.ao.quantization.fx.custom_config``: PrepareCustomConfig, ConvertCustomConfig and
FuseCustomConfig, with their chained setters and ``to_dict``/``from_dict`` forms.

ember honours non-traceable modules (traced as leaves, left in float), preserved
attributes (copied onto the GraphModule) and output quantized indexes (those outputs
are returned quantized). Standalone modules, custom module classes and input quantized
indexes are recorded but refused by ``prepare_fx`` / ``convert_fx`` with
NotImplementedError rather than silently ignored.

The three classes differ only in which options they carry, so each declares its options
in two tables (plain lists, and per-QuantType class mappings) and one base class gives
them storage, chained setters, ``repr`` and the dict round trip. The dict keys are
PyTorch's, so dicts written for ``prepare_fx(prepare_custom_config=...)`` carry over.
"""

from __future__ import annotations

from typing import Any

from ..quant_type import QuantType, _get_quant_type_to_str, _quant_type_from_str

__all__ = ["ConvertCustomConfig", "FuseCustomConfig", "PrepareCustomConfig",
           "StandaloneModuleConfigEntry"]

# attribute -> key of the dict form (PyTorch's spelling)
_KEY_OF = {
    "standalone_module_names": "standalone_module_name",
    "standalone_module_classes": "standalone_module_class",
    "float_to_observed_mapping": "float_to_observed_custom_module_class",
    "observed_to_quantized_mapping": "observed_to_quantized_custom_module_class",
    "non_traceable_module_names": "non_traceable_module_name",
    "non_traceable_module_classes": "non_traceable_module_class",
    "input_quantized_indexes": "input_quantized_idxs",
    "output_quantized_indexes": "output_quantized_idxs",
    "preserved_attributes": "preserved_attributes",
}


class StandaloneModuleConfigEntry:
    """What ``prepare_fx`` would need to prepare one standalone submodule on its own."""

    def __init__(self, qconfig_mapping, example_inputs, prepare_custom_config,
                 backend_config):
        self.qconfig_mapping = qconfig_mapping
        self.example_inputs = example_inputs
        self.prepare_custom_config = prepare_custom_config
        self.backend_config = backend_config


class _CustomConfig:
    """Storage, repr and dict round trip for the options a subclass lists.

    ``_LISTS`` are list options stored as given; ``_CLASS_MAPPINGS`` are
    ``{QuantType: {class: class}}`` options, keyed by the QuantType's name in dict form.
    """

    _CLASS_MAPPINGS: tuple[str, ...] = ()
    _LISTS: tuple[str, ...] = ()

    def __init__(self) -> None:
        for attr in self._CLASS_MAPPINGS:
            setattr(self, attr, {})
        for attr in self._LISTS:
            setattr(self, attr, [])

    def _set(self, attr: str, value):
        """Store an option as given (no copy, as PyTorch); returns self for chaining."""
        setattr(self, attr, value)
        return self

    def _map_class(self, attr: str, source_class, target_class, quant_type):
        """Add ``source_class -> target_class`` under ``quant_type`` in option ``attr``."""
        getattr(self, attr).setdefault(quant_type, {})[source_class] = target_class
        return self

    def __repr__(self):
        shown = {k: v for k, v in self.__dict__.items() if len(v) > 0}
        return f"{type(self).__name__}({shown})"

    def _fill_from(self, d: dict[str, Any]) -> None:
        for attr in self._CLASS_MAPPINGS:
            add = getattr(self, "set_" + attr)
            for type_name, classes in d.get(_KEY_OF[attr], {}).items():
                for source, target in classes.items():
                    add(source, target, _quant_type_from_str(type_name))
        for attr in self._LISTS:
            self._set(attr, d.get(_KEY_OF[attr], []))

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any]):
        """The config a PyTorch-style dict describes (absent keys keep their defaults)."""
        made = cls()
        made._fill_from(config_dict)
        return made

    def to_dict(self) -> dict[str, Any]:
        """The dict form, holding only options that were set."""
        out: dict[str, Any] = {}
        for attr in self._CLASS_MAPPINGS:
            by_type = getattr(self, attr)
            if by_type:
                out[_KEY_OF[attr]] = {_get_quant_type_to_str(t): m for t, m in by_type.items()}
        for attr in self._LISTS:
            if len(getattr(self, attr)) > 0:
                out[_KEY_OF[attr]] = getattr(self, attr)
        return out


class PrepareCustomConfig(_CustomConfig):
    """Options of ``prepare_fx``::

        prepare_custom_config = PrepareCustomConfig() \\
            .set_non_traceable_module_names(["module1", "module2"]) \\
            .set_output_quantized_indexes([0]) \\
            .set_preserved_attributes(["attr1", "attr2"])
    """

    _CLASS_MAPPINGS = ("float_to_observed_mapping",)
    _LISTS = ("non_traceable_module_names", "non_traceable_module_classes",
              "input_quantized_indexes", "output_quantized_indexes", "preserved_attributes")
    # standalone entries: by module name, then by module class
    _STANDALONE = ("standalone_module_names", "standalone_module_classes")

    def __init__(self) -> None:
        for attr in self._STANDALONE:  # first, so repr lists them first as PyTorch does
            setattr(self, attr, {})
        super().__init__()

    def _add_standalone(self, attr, key, qconfig_mapping, example_inputs,
                        prepare_custom_config, backend_config):
        getattr(self, attr)[key] = StandaloneModuleConfigEntry(
            qconfig_mapping, example_inputs, prepare_custom_config, backend_config)
        return self

    def set_standalone_module_name(self, module_name, qconfig_mapping, example_inputs,
                                   prepare_custom_config, backend_config):
        return self._add_standalone("standalone_module_names", module_name, qconfig_mapping,
                                    example_inputs, prepare_custom_config, backend_config)

    def set_standalone_module_class(self, module_class, qconfig_mapping, example_inputs,
                                    prepare_custom_config, backend_config):
        return self._add_standalone("standalone_module_classes", module_class,
                                    qconfig_mapping, example_inputs, prepare_custom_config,
                                    backend_config)

    def set_float_to_observed_mapping(self, float_class, observed_class,
                                      quant_type=QuantType.STATIC):
        if quant_type != QuantType.STATIC:  # custom module swaps exist only for static
            raise ValueError(
                "set_float_to_observed_mapping is currently only supported for static "
                f"quantization, got {quant_type}")
        return self._map_class("float_to_observed_mapping", float_class, observed_class,
                               quant_type)

    def set_non_traceable_module_names(self, module_names):
        return self._set("non_traceable_module_names", module_names)

    def set_non_traceable_module_classes(self, module_classes):
        return self._set("non_traceable_module_classes", module_classes)

    def set_input_quantized_indexes(self, indexes):
        return self._set("input_quantized_indexes", indexes)

    def set_output_quantized_indexes(self, indexes):
        return self._set("output_quantized_indexes", indexes)

    def set_preserved_attributes(self, attributes):
        return self._set("preserved_attributes", attributes)

    def _fill_from(self, d: dict[str, Any]) -> None:
        """Standalone entries come as ``(key, qconfig dict, inputs, custom dict, backend)``
        tuples; the nested dicts become a QConfigMapping and a PrepareCustomConfig."""
        from ..qconfig_mapping import QConfigMapping

        for attr in self._STANDALONE:
            for key, mapping, inputs, custom, backend in d.get(_KEY_OF[attr], []):
                if isinstance(mapping, dict):
                    mapping = QConfigMapping.from_dict(mapping)
                if isinstance(custom, dict):
                    custom = type(self).from_dict(custom)
                self._add_standalone(attr, key, mapping, inputs, custom, backend)
        super()._fill_from(d)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for attr in self._STANDALONE:
            entries = [
                (key, e.qconfig_mapping.to_dict() if e.qconfig_mapping else None,
                 e.example_inputs,
                 e.prepare_custom_config.to_dict() if e.prepare_custom_config else None,
                 e.backend_config)
                for key, e in getattr(self, attr).items()
            ]
            if entries:
                out[_KEY_OF[attr]] = entries
        return {**out, **super().to_dict()}


class ConvertCustomConfig(_CustomConfig):
    """Options of ``convert_fx``: custom observed -> quantized module classes and
    attributes to keep on the converted GraphModule."""

    _CLASS_MAPPINGS = ("observed_to_quantized_mapping",)
    _LISTS = ("preserved_attributes",)

    def set_observed_to_quantized_mapping(self, observed_class, quantized_class,
                                          quant_type=QuantType.STATIC):
        return self._map_class("observed_to_quantized_mapping", observed_class,
                               quantized_class, quant_type)

    def set_preserved_attributes(self, attributes):
        return self._set("preserved_attributes", attributes)


class FuseCustomConfig(_CustomConfig):
    """Options of ``fuse_fx``: attributes to keep on the fused GraphModule."""

    _LISTS = ("preserved_attributes",)

    def set_preserved_attributes(self, attributes):
        return self._set("preserved_attributes", attributes)
