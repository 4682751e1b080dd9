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

# The five levels, in precedence order (a later level wins): the attribute holding the
# level, its key in the legacy ``qconfig_dict`` form (PyTorch's spelling, so old dicts load),
# and how many parts its lookup key has (0: the single global qconfig).
_LEVELS = (
    ("global_qconfig", "", 0),
    ("object_type_qconfigs", "object_type", 1),
    ("module_name_regex_qconfigs", "module_name_regex", 1),
    ("module_name_qconfigs", "module_name", 1),
    ("module_name_object_type_order_qconfigs", "module_name_object_type_order", 3),
)


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
        for attr, _key, parts in _LEVELS:
            setattr(self, attr, OrderedDict() if parts else None)

    def _put(self, attr: str, key, qconfig) -> QConfigMapping:
        """Set one entry of a keyed level; a key set again keeps its first position."""
        getattr(self, attr)[key] = qconfig
        return self

    def set_global(self, global_qconfig) -> QConfigMapping:
        self.global_qconfig = global_qconfig
        return self

    def set_object_type(self, object_type, qconfig) -> QConfigMapping:
        """For every module of this class, call of this function or method name; setting
        one twice replaces it in place (its order stays)."""
        return self._put("object_type_qconfigs", object_type, qconfig)

    def set_module_name_regex(self, module_name_regex: str, qconfig) -> QConfigMapping:
        """For modules whose qualified name matches (``re.match``); the first regex set
        wins among matching ones."""
        return self._put("module_name_regex_qconfigs", module_name_regex, qconfig)

    def set_module_name(self, module_name: str, qconfig) -> QConfigMapping:
        return self._put("module_name_qconfigs", module_name, qconfig)

    def set_module_name_object_type_order(self, module_name: str, object_type, index: int,
                                          qconfig) -> QConfigMapping:
        """For the ``index``-th call of ``object_type`` inside module ``module_name``."""
        return self._put("module_name_object_type_order_qconfigs",
                         (module_name, object_type, index), qconfig)

    def __repr__(self) -> str:
        """Every level in precedence order, one ``key: qconfig`` line per entry; an empty
        level prints its empty container, the global level its qconfig."""
        lines = [type(self).__name__ + " ("]
        for attr, _key, parts in _LEVELS:
            level = getattr(self, attr)
            lines.append(" " + attr)
            if parts and level:
                lines.extend(f"  {key}: {qconfig}" for key, qconfig in level.items())
            else:
                lines.append(f"  {level}")
        return "\n".join(lines) + "\n)"

    def to_dict(self) -> dict[str, Any]:
        """The old ``qconfig_dict`` form: ``""`` for the global qconfig, for the keyed levels
        lists of rows ``(*key parts, qconfig)``."""
        out: dict[str, Any] = {}
        for attr, key, parts in _LEVELS:
            level = getattr(self, attr)
            if not parts:
                out[key] = level
            else:
                out[key] = [(*(k if parts > 1 else (k,)), qconfig)
                            for k, qconfig in level.items()]
        return out

    @classmethod
    def from_dict(cls, qconfig_dict: dict[str, Any]) -> QConfigMapping:
        """Build from a ``qconfig_dict`` (every key optional; unknown keys are ignored)."""
        made = cls()
        for attr, key, parts in _LEVELS:
            if key not in qconfig_dict:
                continue
            if not parts:
                made.set_global(qconfig_dict[key])
                continue
            for *lookup, qconfig in qconfig_dict[key]:
                if len(lookup) != parts:
                    raise ValueError(
                        f"qconfig_dict['{key}'] rows need {parts + 1} items, got {lookup}")
                made._put(attr, lookup[0] if parts == 1 else tuple(lookup), qconfig)
        return made


def _default_mapping(is_qat: bool, backend: str, version: int) -> QConfigMapping:
    """The backend's qconfig globally, then per-op exceptions in PyTorch's order (the order
    shows in ``repr`` and ``to_dict``)."""
    qconfig = (get_default_qat_qconfig if is_qat else get_default_qconfig)(backend, version)
    weight = default_weight_fake_quant if is_qat else default_weight_observer
    activation = qconfig.activation
    # fbgemm/x86 transposed convolutions take per-tensor weights only
    transposed = (QConfig(activation=activation, weight=weight)
                  if backend in ("fbgemm", "x86") else qconfig)
    layer_norm = QConfig(activation=activation, weight=default_placeholder_observer)
    F = nn.functional
    exceptions = [("reshape", default_reuse_input_qconfig)]
    exceptions += [(op, transposed) for op in (
        nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d,
        F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)]
    exceptions += [(F.layer_norm, layer_norm), (nn.LayerNorm, layer_norm),
                   (nn.PReLU, default_quint8_weight_qconfig)]
    # one qconfig object per fixed output range, shared by all of that range's ops
    per_range: dict = {}
    for op, observer in _fixed_qparams_ops().items():
        if observer not in per_range:
            fixed = FixedQParamsFakeQuantize.with_args(observer=observer) if is_qat else observer
            per_range[observer] = QConfig(activation=fixed, weight=weight)
        exceptions.append((op, per_range[observer]))
    mapping = QConfigMapping().set_global(qconfig)
    for op, op_qconfig in exceptions:
        mapping.set_object_type(op, op_qconfig)
    return mapping


def get_default_qconfig_mapping(backend="x86", version=0) -> QConfigMapping:
    """The default mapping for post-training quantization on ``backend`` (``"x86"``,
    ``"fbgemm"``, ``"qnnpack"`` or ``"onednn"``)."""
    return _default_mapping(False, backend, version)


def get_default_qat_qconfig_mapping(backend="x86", version=1) -> QConfigMapping:
    """The default mapping for quantization-aware training on ``backend``."""
    return _default_mapping(True, backend, version)


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
