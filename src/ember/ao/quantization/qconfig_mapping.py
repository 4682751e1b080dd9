"""QConfigMapping: which qconfig each part of a model gets in FX graph mode quantization,
as ``torch.ao.quantization.qconfig_mapping``.

Five levels, later ones winning: the global qconfig, one per object type (a module
class, a function such as ``ember.nn.functional.linear``, or a method name such as
``"reshape"``), one per module-name regular expression, one per module name, and one per
(module name, object type, index of that type's call inside the module). The default
mappings are PyTorch's: the backend's qconfig globally, fixed-range observers for
sigmoid/tanh/hardsigmoid/softmax (their output range is known), a reused input observer
for ``reshape``, per-tensor weights for transposed convolutions.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import ember

from ... import nn
from .fake_quantize import FixedQParamsFakeQuantize, default_weight_fake_quant
from .observer import (
    default_fixed_qparams_range_0to1_observer,
    default_fixed_qparams_range_neg1to1_observer,
    default_placeholder_observer,
    default_weight_observer,
)
from .qconfig import (
    QConfig,
    default_quint8_weight_qconfig,
    default_reuse_input_qconfig,
    get_default_qat_qconfig,
    get_default_qconfig,
)

__all__ = ["QConfigMapping", "get_default_qat_qconfig_mapping", "get_default_qconfig_mapping"]

_GLOBAL_DICT_KEY = ""
_OBJECT_TYPE_DICT_KEY = "object_type"
_MODULE_NAME_REGEX_DICT_KEY = "module_name_regex"
_MODULE_NAME_DICT_KEY = "module_name"
_MODULE_NAME_OBJECT_TYPE_ORDER_DICT_KEY = "module_name_object_type_order"

_QCONFIG_STYLE_ORDER = ["global_qconfig", "object_type_qconfigs", "module_name_regex_qconfigs",
                        "module_name_qconfigs", "module_name_object_type_order_qconfigs"]


def _fixed_qparams_ops():
    """Ops whose output range is fixed, with the observer of that range. Built on call:
    ember's functions are looked up at the time (fx tracing swaps them while it runs)."""
    F = nn.functional
    zero_one = default_fixed_qparams_range_0to1_observer
    neg_one_one = default_fixed_qparams_range_neg1to1_observer
    return {
        nn.Hardsigmoid: zero_one, F.hardsigmoid: zero_one, "hardsigmoid": zero_one,
        "hardsigmoid_": zero_one, nn.Sigmoid: zero_one, ember.sigmoid: zero_one,
        "sigmoid": zero_one, "sigmoid_": zero_one, nn.Softmax: zero_one,
        nn.Tanh: neg_one_one, ember.tanh: neg_one_one, "tanh": neg_one_one,
        "tanh_": neg_one_one,
    }


class QConfigMapping:
    """Maps model parts to qconfigs for ``prepare_fx``; setters return ``self`` so calls
    chain::

        qconfig_mapping = (QConfigMapping()
            .set_global(global_qconfig)
            .set_object_type(nn.Linear, qconfig1)
            .set_module_name("foo.bar", qconfig2))

    A qconfig of ``None`` leaves that part in float.
    """

    def __init__(self):
        self.global_qconfig = None
        self.object_type_qconfigs = OrderedDict()
        self.module_name_regex_qconfigs = OrderedDict()
        self.module_name_qconfigs = OrderedDict()
        self.module_name_object_type_order_qconfigs = OrderedDict()

    def set_global(self, global_qconfig) -> QConfigMapping:
        self.global_qconfig = global_qconfig
        return self

    def set_object_type(self, object_type, qconfig) -> QConfigMapping:
        """For every module of this class, call of this function or method name; setting
        one twice replaces it in place (its order stays)."""
        self.object_type_qconfigs[object_type] = qconfig
        return self

    def set_module_name_regex(self, module_name_regex: str, qconfig) -> QConfigMapping:
        """For modules whose qualified name matches (``re.match``); the first regex set
        wins among matching ones."""
        self.module_name_regex_qconfigs[module_name_regex] = qconfig
        return self

    def set_module_name(self, module_name: str, qconfig) -> QConfigMapping:
        self.module_name_qconfigs[module_name] = qconfig
        return self

    def set_module_name_object_type_order(self, module_name: str, object_type, index: int,
                                          qconfig) -> QConfigMapping:
        """For the ``index``-th call of ``object_type`` inside module ``module_name``."""
        self.module_name_object_type_order_qconfigs[(module_name, object_type, index)] = qconfig
        return self

    def __repr__(self) -> str:
        output = type(self).__name__ + " ("
        for style_name in _QCONFIG_STYLE_ORDER:
            output += f"\n {style_name}"
            qconfigs = getattr(self, style_name)
            if isinstance(qconfigs, OrderedDict) and len(qconfigs) > 0:
                for key, qconfig in qconfigs.items():
                    output += f"\n  {key}: {qconfig}"
            else:
                output += f"\n  {qconfigs}"
        return output + "\n)"

    def to_dict(self) -> dict[str, Any]:
        """The old ``qconfig_dict`` form: ``""`` for the global qconfig, lists of tuples
        for the others."""
        return {
            _GLOBAL_DICT_KEY: self.global_qconfig,
            _OBJECT_TYPE_DICT_KEY: list(self.object_type_qconfigs.items()),
            _MODULE_NAME_REGEX_DICT_KEY: list(self.module_name_regex_qconfigs.items()),
            _MODULE_NAME_DICT_KEY: list(self.module_name_qconfigs.items()),
            _MODULE_NAME_OBJECT_TYPE_ORDER_DICT_KEY: [
                (*key, qconfig)
                for key, qconfig in self.module_name_object_type_order_qconfigs.items()],
        }

    @classmethod
    def from_dict(cls, qconfig_dict: dict[str, Any]) -> QConfigMapping:
        """Build from a ``qconfig_dict`` (every key optional; unknown keys are ignored)."""
        conf = cls()
        if _GLOBAL_DICT_KEY in qconfig_dict:
            conf.set_global(qconfig_dict[_GLOBAL_DICT_KEY])
        for object_type, qconfig in qconfig_dict.get(_OBJECT_TYPE_DICT_KEY, []):
            conf.set_object_type(object_type, qconfig)
        for regex, qconfig in qconfig_dict.get(_MODULE_NAME_REGEX_DICT_KEY, []):
            conf.set_module_name_regex(regex, qconfig)
        for module_name, qconfig in qconfig_dict.get(_MODULE_NAME_DICT_KEY, []):
            conf.set_module_name(module_name, qconfig)
        for module_name, object_type, index, qconfig in qconfig_dict.get(
                _MODULE_NAME_OBJECT_TYPE_ORDER_DICT_KEY, []):
            conf.set_module_name_object_type_order(module_name, object_type, index, qconfig)
        return conf


def _get_default_qconfig_mapping(is_qat: bool, backend: str, version: int) -> QConfigMapping:
    qconfig = (get_default_qat_qconfig if is_qat else get_default_qconfig)(backend, version)
    default_weight = default_weight_fake_quant if is_qat else default_weight_observer
    # fbgemm/x86 transposed convolutions take per-tensor weights only
    qconfig_transpose = (QConfig(activation=qconfig.activation, weight=default_weight)
                         if backend in ("fbgemm", "x86") else qconfig)
    qconfig_layernorm = QConfig(activation=qconfig.activation,
                                weight=default_placeholder_observer)
    F = nn.functional
    mapping = (QConfigMapping()
               .set_global(qconfig)
               .set_object_type("reshape", default_reuse_input_qconfig)
               .set_object_type(nn.ConvTranspose1d, qconfig_transpose)
               .set_object_type(nn.ConvTranspose2d, qconfig_transpose)
               .set_object_type(nn.ConvTranspose3d, qconfig_transpose)
               .set_object_type(F.conv_transpose1d, qconfig_transpose)
               .set_object_type(F.conv_transpose2d, qconfig_transpose)
               .set_object_type(F.conv_transpose3d, qconfig_transpose)
               .set_object_type(F.layer_norm, qconfig_layernorm)
               .set_object_type(nn.LayerNorm, qconfig_layernorm)
               .set_object_type(nn.PReLU, default_quint8_weight_qconfig))
    by_observer = {}  # one qconfig object per fixed range, shared by its ops
    for op, observer in _fixed_qparams_ops().items():
        if observer not in by_observer:
            activation = (FixedQParamsFakeQuantize.with_args(observer=observer) if is_qat
                          else observer)
            by_observer[observer] = QConfig(activation=activation, weight=default_weight)
        mapping.set_object_type(op, by_observer[observer])
    return mapping


def get_default_qconfig_mapping(backend="x86", version=0) -> QConfigMapping:
    """The default mapping for post-training quantization on ``backend`` (``"x86"``,
    ``"fbgemm"``, ``"qnnpack"`` or ``"onednn"``)."""
    return _get_default_qconfig_mapping(False, backend, version)


def get_default_qat_qconfig_mapping(backend="x86", version=1) -> QConfigMapping:
    """The default mapping for quantization-aware training on ``backend``."""
    return _get_default_qconfig_mapping(True, backend, version)


def _get_default_qconfig_mapping_with_default_qconfig(is_qat, backend, default_qconfig):
    """The default mapping with ``default_qconfig`` everywhere but the fixed-range ops."""
    mapping = (get_default_qat_qconfig_mapping if is_qat
               else get_default_qconfig_mapping)(backend)
    mapping.set_global(default_qconfig)
    fixed = _fixed_qparams_ops()
    for pattern in mapping.object_type_qconfigs:
        if pattern not in fixed:
            mapping.set_object_type(pattern, default_qconfig)
    return mapping


