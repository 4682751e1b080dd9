"""Eager-mode quantization: stubs, prepare (observers), convert (module swaps),
quantize_dynamic, and the default module mappings, as ``torch.ao.quantization``.

The flow is PyTorch's: ``propagate_qconfig_`` gives every module a ``qconfig``;
``prepare`` attaches an ``activation_post_process`` observer (run by a forward hook) to
each leaf that will be quantized; calibration data flows through; ``convert`` replaces
each observed module by its quantized counterpart's ``from_float``.

Quantization-aware training (``prepare_qat``) first swaps float and fused modules for
their QAT forms (``get_default_qat_module_mappings``: fake-quantized weights, conv-bn
folded at each step), then attaches fake quantizers to outputs the same way (fixed-range
ones to Hardsigmoid/Sigmoid/Tanh/Softmax in training); ``convert`` takes the trained
fake quantizers' observers for the quantized modules' parameters.
"""

from __future__ import annotations

import copy
import itertools
import warnings

import ember

from ... import nn
from ...nn.modules.module import Module
from ...nn.quantized import activation as nnqa
from ...nn.quantized import dynamic as nnqd
from ...nn.quantized import modules as nnq
from ..nn import intrinsic as nni
from ..nn import qat as nnqat
from ..nn.intrinsic import qat as nniqat
from ..nn.intrinsic import quantized as nniq
from ..nn.intrinsic.quantized import dynamic as nniqd
from .fake_quantize import (
    FakeQuantizeBase,
    default_fixed_qparams_range_0to1_fake_quant,
    default_fixed_qparams_range_neg1to1_fake_quant,
)
from .observer import ObserverBase
from .qconfig import (
    default_dynamic_qconfig,
    float16_dynamic_qconfig,
    float_qparams_weight_only_qconfig,
)

__all__ = [
    "DeQuantStub", "QuantStub", "QuantWrapper", "add_quant_dequant", "convert",
    "default_eval_fn",
    "get_default_dynamic_quant_module_mappings", "get_default_qat_module_mappings",
    "get_default_qconfig_propagation_list", "get_default_static_quant_module_mappings",
    "prepare", "prepare_qat", "propagate_qconfig_", "quantize", "quantize_dynamic",
    "quantize_qat", "swap_module",
]


class QuantStub(Module):
    """Marks where float tensors enter the quantized region (becomes ``Quantize``)."""

    def __init__(self, qconfig=None):
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x):
        return x


class DeQuantStub(Module):
    """Marks where quantized tensors leave it (becomes ``DeQuantize``)."""

    def __init__(self, qconfig=None):
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x):
        return x


class QuantWrapper(Module):
    """``module`` between a QuantStub and a DeQuantStub."""

    def __init__(self, module):
        super().__init__()
        qconfig = getattr(module, "qconfig", None)
        self.add_module("quant", QuantStub(qconfig))
        self.add_module("dequant", DeQuantStub(qconfig))
        self.add_module("module", module)
        self.train(module.training)

    def forward(self, X):
        return self.dequant(self.module(self.quant(X)))


def add_quant_dequant(module):
    """Wrap every leaf that has a qconfig in a QuantWrapper."""
    if not list(module.children()) and getattr(module, "qconfig", None):
        return QuantWrapper(module)
    for name, child in module.named_children():
        module._modules[name] = add_quant_dequant(child)
    return module


def get_default_static_quant_module_mappings():
    """Float module type -> quantized module type for ``convert``. ember adds
    ``nn.ReLU``: PyTorch keeps the float ReLU, whose kernel accepts quantized tensors;
    ember's float ops do not read quantizers, so the ReLU is swapped for one working on
    the integers (it prints as ``ReLU()`` all the same); the 2-d pools likewise."""
    return {
        QuantStub: nnq.Quantize, DeQuantStub: nnq.DeQuantize,
        nn.Linear: nnq.Linear, nn.modules.linear.NonDynamicallyQuantizableLinear: nnq.Linear,
        nn.Conv1d: nnq.Conv1d, nn.Conv2d: nnq.Conv2d, nn.ReLU6: nnq.ReLU6,
        nn.ReLU: nnq._QuantizedReLU, nni.ConvReLU1d: nniq.ConvReLU1d,
        nn.MaxPool2d: nnq._QuantizedMaxPool2d, nn.AvgPool2d: nnq._QuantizedAvgPool2d,
        nn.AdaptiveAvgPool2d: nnq._QuantizedAdaptiveAvgPool2d,
        nni.LinearReLU: nniq.LinearReLU, nni.ConvReLU2d: nniq.ConvReLU2d,
        nnq.FloatFunctional: nnq.QFunctional,
        nn.Hardswish: nnqa.Hardswish, nn.Hardsigmoid: nnqa._QuantizedHardsigmoid,
        nn.LeakyReLU: nnqa.LeakyReLU, nn.ELU: nnqa.ELU,
        # quantization-aware-training modules: their trained fake-quantizers give the
        # weight and output parameters, conv-bn folds its BatchNorm first
        nnqat.Linear: nnq.Linear, nnqat.Conv2d: nnq.Conv2d,
        nniqat.ConvBn1d: nnq.Conv1d, nniqat.ConvBnReLU1d: nniq.ConvReLU1d,
        nniqat.ConvBn2d: nnq.Conv2d, nniqat.ConvBnReLU2d: nniq.ConvReLU2d,
        nniqat.ConvReLU2d: nniq.ConvReLU2d, nniqat.LinearReLU: nniq.LinearReLU,
        nniqat.LinearBn1d: nnq.Linear,
    }


def get_default_qat_module_mappings():
    """Float (or fused float) module type -> its quantization-aware-training module, for
    ``prepare_qat``."""
    return {
        nn.Conv2d: nnqat.Conv2d, nn.Conv3d: nnqat.Conv3d, nn.Linear: nnqat.Linear,
        nn.modules.linear.NonDynamicallyQuantizableLinear: nnqat.Linear,
        nni.ConvBn1d: nniqat.ConvBn1d, nni.ConvBn2d: nniqat.ConvBn2d,
        nni.ConvBn3d: nniqat.ConvBn3d, nni.ConvBnReLU1d: nniqat.ConvBnReLU1d,
        nni.ConvBnReLU2d: nniqat.ConvBnReLU2d, nni.ConvBnReLU3d: nniqat.ConvBnReLU3d,
        nni.ConvReLU2d: nniqat.ConvReLU2d, nni.ConvReLU3d: nniqat.ConvReLU3d,
        nni.LinearReLU: nniqat.LinearReLU, nni.LinearBn1d: nniqat.LinearBn1d,
    }


def _special_act_post_process():
    """Activations whose output range is fixed: under QAT they get constant-parameter
    fake quantization instead of an observer."""
    return {
        nn.Hardsigmoid: default_fixed_qparams_range_0to1_fake_quant,
        nn.Sigmoid: default_fixed_qparams_range_0to1_fake_quant,
        nn.Softmax: default_fixed_qparams_range_0to1_fake_quant,
        nn.Tanh: default_fixed_qparams_range_neg1to1_fake_quant,
    }


def get_default_dynamic_quant_module_mappings():
    return {
        nn.Linear: nnqd.Linear, nn.modules.linear.NonDynamicallyQuantizableLinear: nnqd.Linear,
        nn.LSTM: nnqd.LSTM, nni.LinearReLU: nniqd.LinearReLU,
    }


def get_default_qconfig_propagation_list():
    """Module types that receive observers (ReLU and pools do not: their outputs keep
    their input's scale)."""
    types = set(get_default_static_quant_module_mappings()) - {
        nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Hardsigmoid}
    return types | set(get_default_dynamic_quant_module_mappings()) | {nn.Sequential}


def propagate_qconfig_(module, qconfig_dict=None, prepare_custom_config_dict=None):
    """Give every submodule a ``qconfig``: its own, else its type's or name's entry in
    ``qconfig_dict``, else its parent's."""
    _propagate(module, qconfig_dict or {}, None, "")


def _propagate(module, qconfig_dict, parent_qconfig, prefix):
    qconfig = qconfig_dict.get(type(module), parent_qconfig)
    qconfig = qconfig_dict.get(prefix, qconfig)
    qconfig = getattr(module, "qconfig", qconfig)
    module.qconfig = qconfig
    for name, child in module.named_children():
        _propagate(child, qconfig_dict, qconfig, f"{prefix}.{name}" if prefix else name)


def _observer_forward_hook(self, input, output):
    """Run the module's output through its observer (registered first among hooks)."""
    return self.activation_post_process(output)


def _needs_observation(module):
    return getattr(module, "qconfig", None) is not None


def _new_observer(qconfig, device, special=None):
    """An activation observer on the model's device, as PyTorch's prepare places it: a
    model calibrated on cuda keeps its statistics there."""
    observer = qconfig.activation() if special is None else special()
    return observer if device is None else observer.to(device)


def _unique_device(module):
    devices = {p.device for p in module.parameters()} | {b.device for b in module.buffers()}
    if len(devices) > 1:
        raise AssertionError(
            f"prepare only works with cpu or single-device CUDA modules, but got devices "
            f"{devices}")
    return next(iter(devices)) if devices else None


def _insert_observer(module, device=None, special=None):
    if _needs_observation(module) and not isinstance(module, DeQuantStub):
        module.add_module("activation_post_process",
                          _new_observer(module.qconfig, device, special))
        module.register_forward_hook(_observer_forward_hook, prepend=True)


def _add_observer_(module, propagation_list, non_leaf_module_list=None, device=None):
    for child in module.children():
        if type(child) is nn.Dropout:
            continue
        if isinstance(child, (nnq.FloatFunctional, nnq.QFunctional)):
            if _needs_observation(child):  # observed through its methods, not a hook
                child.activation_post_process = _new_observer(child.qconfig, device)
        elif isinstance(child, nni._FusedModule) or (
                non_leaf_module_list is not None and type(child) in non_leaf_module_list):
            _insert_observer(child, device)
        elif child.training and type(child) in _special_act_post_process():
            _insert_observer(child, device, _special_act_post_process()[type(child)])
        else:
            _add_observer_(child, propagation_list, non_leaf_module_list, device)
    is_leaf = not list(module.children())
    if is_leaf and not isinstance(module, nn.Sequential) and type(module) in propagation_list:
        _insert_observer(module, device)


def prepare(model, inplace=False, allow_list=None, observer_non_leaf_module_list=None,
            prepare_custom_config_dict=None):
    """Attach observers so calibration data records activation ranges."""
    if not inplace:
        model = copy.deepcopy(model)
    propagation_list = allow_list or get_default_qconfig_propagation_list()
    propagate_qconfig_(model)
    if not any(getattr(m, "qconfig", None) for m in model.modules()):
        warnings.warn(
            "None of the submodule got qconfig applied. Make sure you passed correct "
            "configuration through `qconfig_dict` or by assigning the `.qconfig` attribute "
            "directly on submodules", stacklevel=2)
    _add_observer_(model, propagation_list, observer_non_leaf_module_list,
                   _unique_device(model))
    return model


def _remove_activation_post_process(module):
    if isinstance(getattr(module, "activation_post_process", None),
                  (ObserverBase, FakeQuantizeBase)):
        del module.activation_post_process
    for key, hook in list(module._forward_hooks.items()):
        if hook is _observer_forward_hook:
            del module._forward_hooks[key]


def _remove_qconfig(module):
    for child in module.children():
        _remove_qconfig(child)
    if hasattr(module, "qconfig"):
        del module.qconfig
    _remove_activation_post_process(module)


def swap_module(mod, mapping, custom_module_class_mapping=None,
                use_precomputed_fake_quant=False):
    """The quantized replacement of ``mod`` when it has a qconfig and a mapping entry,
    keeping its user hooks; otherwise ``mod`` itself."""
    if getattr(mod, "qconfig", None) is None or type(mod) not in mapping:
        return mod
    new_mod = mapping[type(mod)].from_float(mod)
    for pre_hook in mod._forward_pre_hooks.values():
        new_mod.register_forward_pre_hook(pre_hook)
    for hook in mod._forward_hooks.values():
        if hook is not _observer_forward_hook:
            new_mod.register_forward_hook(hook)
    return new_mod


def _convert(module, mapping):
    swapped = {}
    for name, child in module.named_children():
        if not isinstance(child, nni._FusedModule):
            _convert(child, mapping)
        swapped[name] = swap_module(child, mapping)
    for name, child in swapped.items():
        module._modules[name] = child
    return module


def convert(module, mapping=None, inplace=False, remove_qconfig=True, is_reference=False,
            convert_custom_config_dict=None, use_precomputed_fake_quant=False):
    """Swap observed modules for quantized ones (``from_float``)."""
    if is_reference:
        raise NotImplementedError("reference quantized modules are not provided")
    if mapping is None:
        mapping = get_default_static_quant_module_mappings()
    if not inplace:
        module = copy.deepcopy(module)
    _convert(module, mapping)
    if remove_qconfig:
        _remove_qconfig(module)
    return module


def quantize(model, run_fn, run_args, mapping=None, inplace=False):
    """prepare, calibrate with ``run_fn(model, *run_args)``, convert."""
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    prepare(model, inplace=True)
    run_fn(model, *run_args)
    convert(model, mapping, inplace=True)
    return model


def prepare_qat(model, mapping=None, inplace=False):
    """Swap float (and fused) modules for their quantization-aware-training forms and
    attach fake-quantizers to their outputs; the model then trains as usual.

    Args:
        model: a model in training mode whose modules (or itself) carry ``qconfig``.
        mapping: float type -> QAT type (default ``get_default_qat_module_mappings()``).
        inplace: modify ``model`` instead of a deep copy.
    """
    if not model.training:
        raise AssertionError("prepare_qat only works on models in training mode")
    if mapping is None:
        mapping = get_default_qat_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model, qconfig_dict=None)
    convert(model, mapping=mapping, inplace=True, remove_qconfig=False)
    prepare(model, observer_non_leaf_module_list=set(mapping.values()), inplace=True)
    return model


def quantize_qat(model, run_fn, run_args, inplace=False):
    """prepare_qat, train with ``run_fn(model, *run_args)``, convert."""
    if not inplace:
        model = copy.deepcopy(model)
    model.train()
    prepare_qat(model, inplace=True)
    run_fn(model, *run_args)
    convert(model, inplace=True)
    return model


def quantize_dynamic(model, qconfig_spec=None, dtype=None, mapping=None, inplace=False):
    """Swap Linear layers for dynamically quantized ones: int8 weights, activations
    quantized per batch at run time.

    ``qconfig_spec`` is a set of module types (``{nn.Linear}``) or a dict from types or
    submodule names to qconfigs.
    """
    dtype = dtype or ember.qint8
    if qconfig_spec is None:
        if dtype is ember.qint8:
            qconfig_spec = {nn.Linear: default_dynamic_qconfig, nn.LSTM: default_dynamic_qconfig}
        elif dtype is ember.float16:
            qconfig_spec = {nn.Linear: float16_dynamic_qconfig}
        else:
            raise ValueError(
                f"Don't know how to quantize with default settings for {dtype}. Provide full "
                "qconfig please")
    elif isinstance(qconfig_spec, set):
        if dtype is ember.qint8:
            default = default_dynamic_qconfig
        elif dtype is ember.float16:
            default = float16_dynamic_qconfig
        elif dtype is ember.quint8:
            default = float_qparams_weight_only_qconfig
        else:
            raise RuntimeError("Unknown dtype specified for quantize_dynamic: ", str(dtype))
        qconfig_spec = dict(zip(qconfig_spec, itertools.repeat(default)))
    if mapping is None:
        mapping = get_default_dynamic_quant_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    propagate_qconfig_(model, qconfig_spec)
    convert(model, mapping, inplace=True)
    return model


def default_eval_fn(model, calib_data):
    """Calibration loop for ``quantize``: run ``model`` on each ``(data, target)`` pair."""
    for data, _target in calib_data:
        model(data)
