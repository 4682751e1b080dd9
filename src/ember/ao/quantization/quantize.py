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
from ...nn.quantized import embedding_ops as nnq_embedding
from ...nn.quantized import modules as nnq
from ..nn import intrinsic as nni
from ..nn import qat as nnqat
from ..nn.intrinsic import qat as nniqat
from ..nn.intrinsic import quantized as nniq
from ..nn.intrinsic.quantized import dynamic as nniqd
from . import fake_quantize as _fq
from . import qconfig as _qc
from .observer import ObserverBase

__all__ = [
    "DeQuantStub", "QuantStub", "QuantWrapper", "add_quant_dequant", "convert",
    "default_eval_fn",
    "get_default_dynamic_quant_module_mappings", "get_default_qat_module_mappings",
    "get_default_qconfig_propagation_list", "get_default_static_quant_module_mappings",
    "prepare", "prepare_qat", "propagate_qconfig_", "quantize", "quantize_dynamic",
    "quantize_qat", "swap_module",
]

# the MultiheadAttention projection type; it quantizes like any Linear
_MhaLinear = nn.modules.linear.NonDynamicallyQuantizableLinear


class _Stub(Module):
    """An identity that only marks a boundary; ``convert`` swaps it for a real op."""

    def __init__(self, qconfig=None):
        super().__init__()
        if qconfig:  # absent, the qconfig is inherited in propagate_qconfig_
            self.qconfig = qconfig

    def forward(self, x):
        return x


class QuantStub(_Stub):
    """Marks where float tensors enter the quantized region (becomes ``Quantize``)."""


class DeQuantStub(_Stub):
    """Marks where quantized tensors leave it (becomes ``DeQuantize``)."""


class QuantWrapper(Module):
    """``module`` between a QuantStub and a DeQuantStub, sharing its qconfig and mode."""

    def __init__(self, module):
        super().__init__()
        qconfig = getattr(module, "qconfig", None)
        # registration order quant, dequant, module is PyTorch's (state_dict, repr)
        self.quant = QuantStub(qconfig)
        self.dequant = DeQuantStub(qconfig)
        self.module = module
        self.train(module.training)

    def forward(self, X):
        return self.dequant(self.module(self.quant(X)))


def _rebuild_children(module, replace):
    """Set every direct child to ``replace(child)``. The new children are collected first:
    assigning while iterating ``named_children`` would change the dict being walked."""
    module._modules.update({name: replace(child) for name, child in module.named_children()})
    return module


def add_quant_dequant(module):
    """Wrap every leaf that has a qconfig in a QuantWrapper."""
    if getattr(module, "qconfig", None) and next(module.children(), None) is None:
        return QuantWrapper(module)
    return _rebuild_children(module, add_quant_dequant)


def get_default_static_quant_module_mappings():
    """Float module type -> quantized module type for ``convert``. ember adds
    ``nn.ReLU``: PyTorch keeps the float ReLU, whose kernel accepts quantized tensors;
    ember's float ops do not read quantizers, so the ReLU is swapped for one working on
    the integers (it prints as ``ReLU()`` all the same); the 2-d pools likewise."""
    return {
        QuantStub: nnq.Quantize, DeQuantStub: nnq.DeQuantize,
        nn.Linear: nnq.Linear, _MhaLinear: nnq.Linear,
        nn.Conv1d: nnq.Conv1d, nn.Conv2d: nnq.Conv2d, nn.ReLU6: nnq.ReLU6,
        nn.ReLU: nnq._QuantizedReLU, nni.ConvReLU1d: nniq.ConvReLU1d,
        nn.MaxPool2d: nnq._QuantizedMaxPool2d, nn.AvgPool2d: nnq._QuantizedAvgPool2d,
        nn.AdaptiveAvgPool2d: nnq._QuantizedAdaptiveAvgPool2d,
        nni.LinearReLU: nniq.LinearReLU, nni.ConvReLU2d: nniq.ConvReLU2d,
        nnq.FloatFunctional: nnq.QFunctional, nn.Hardswish: nnqa.Hardswish,
        nn.Hardsigmoid: nnqa._QuantizedHardsigmoid, nn.LeakyReLU: nnqa.LeakyReLU,
        nn.ELU: nnqa.ELU,
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
    ``prepare_qat``. The fused conv kinds map by name (``nni.ConvBn2d`` ->
    ``nniqat.ConvBn2d``)."""
    fused = ("ConvBn1d", "ConvBn2d", "ConvBn3d", "ConvBnReLU1d", "ConvBnReLU2d",
             "ConvBnReLU3d", "ConvReLU2d", "ConvReLU3d", "LinearReLU", "LinearBn1d")
    return {
        nn.Conv2d: nnqat.Conv2d, nn.Conv3d: nnqat.Conv3d, nn.Linear: nnqat.Linear,
        _MhaLinear: nnqat.Linear,
        **{getattr(nni, kind): getattr(nniqat, kind) for kind in fused},
    }


def _fixed_range_fake_quants():
    """Activations whose output range is known: under QAT they get constant-parameter
    fake quantization instead of a range-learning observer."""
    per_range = {
        _fq.default_fixed_qparams_range_0to1_fake_quant: (nn.Hardsigmoid, nn.Sigmoid,
                                                          nn.Softmax),
        _fq.default_fixed_qparams_range_neg1to1_fake_quant: (nn.Tanh,),
    }
    return {kind: fake for fake, kinds in per_range.items() for kind in kinds}


def get_default_dynamic_quant_module_mappings():
    return {nn.GRUCell: nnqd.GRUCell, nn.Linear: nnqd.Linear, _MhaLinear: nnqd.Linear,
            nn.LSTM: nnqd.LSTM, nn.GRU: nnqd.GRU, nn.LSTMCell: nnqd.LSTMCell,
            nn.RNNCell: nnqd.RNNCell, nni.LinearReLU: nniqd.LinearReLU,
            nn.EmbeddingBag: nnq_embedding.EmbeddingBag, nn.Embedding: nnq_embedding.Embedding}


def get_default_qconfig_propagation_list():
    """Module types that receive observers (ReLU and pools do not: their outputs keep
    their input's scale)."""
    same_scale = {nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Hardsigmoid}
    observed = set(get_default_static_quant_module_mappings()) - same_scale
    return observed | set(get_default_dynamic_quant_module_mappings()) | {nn.Sequential}


def propagate_qconfig_(module, qconfig_dict=None, prepare_custom_config_dict=None):
    """Give every submodule a ``qconfig``. Precedence, weakest first: the parent's, the
    module type's entry in ``qconfig_dict``, its dotted name's entry, its own attribute."""
    by_key = qconfig_dict or {}

    def visit(mod, inherited, path):
        chosen = getattr(mod, "qconfig", by_key.get(path, by_key.get(type(mod), inherited)))
        mod.qconfig = chosen
        for name, child in mod.named_children():
            visit(child, chosen, f"{path}.{name}" if path else name)

    visit(module, None, "")


def _run_output_observer(module, inputs, output):
    """Forward hook: the output, through the module's observer or fake quantizer."""
    return module.activation_post_process(output)


def _unique_device(module):
    """The one device of ``module``'s tensors (None when it has none); observers are made
    there, as PyTorch's prepare places them, so cuda calibration stays on cuda."""
    devices = {t.device for t in itertools.chain(module.parameters(), module.buffers())}
    if len(devices) > 1:
        raise AssertionError(
            f"prepare only works with cpu or single-device CUDA modules, but got devices "
            f"{devices}")
    return next(iter(devices), None)


class _ObserverPlacer:
    """Walks a model for ``prepare`` and gives each module that will be quantized an
    ``activation_post_process`` for its output."""

    def __init__(self, propagation_list, whole_modules, device):
        self.propagation_list = propagation_list
        self.whole_modules = whole_modules or ()  # observed as one, never entered
        self.device = device
        self.fixed_range = _fixed_range_fake_quants()

    def _make(self, module, factory=None):
        made = (factory or module.qconfig.activation)()
        return made if self.device is None else made.to(self.device)

    def _attach(self, module, factory=None):
        """Observe the module's output through a forward hook that runs before any other,
        so user hooks see the observed output. Output stubs are not observed."""
        if getattr(module, "qconfig", None) is None or isinstance(module, DeQuantStub):
            return
        module.add_module("activation_post_process", self._make(module, factory))
        module.register_forward_hook(_run_output_observer, prepend=True)

    def _place_child(self, child):
        kind = type(child)
        if kind is nn.Dropout:
            return
        if isinstance(child, (nnq.FloatFunctional, nnq.QFunctional)):
            # its methods call the observer themselves, so no hook
            if getattr(child, "qconfig", None) is not None:
                child.activation_post_process = self._make(child)
        elif isinstance(child, nni._FusedModule) or kind in self.whole_modules:
            self._attach(child)
        elif child.training and kind in self.fixed_range:
            self._attach(child, self.fixed_range[kind])
        else:
            self.place(child)

    def place(self, module):
        children = list(module.children())
        for child in children:
            self._place_child(child)
        if (not children and not isinstance(module, nn.Sequential)
                and type(module) in self.propagation_list):
            self._attach(module)


def prepare(model, inplace=False, allow_list=None, observer_non_leaf_module_list=None,
            prepare_custom_config_dict=None):
    """Attach observers so calibration data records activation ranges."""
    model = model if inplace else copy.deepcopy(model)
    propagate_qconfig_(model)
    if not any(getattr(m, "qconfig", None) for m in model.modules()):
        warnings.warn(
            "None of the submodule got qconfig applied. Make sure you passed correct "
            "configuration through `qconfig_dict` or by assigning the `.qconfig` attribute "
            "directly on submodules", stacklevel=2)
    placer = _ObserverPlacer(allow_list or get_default_qconfig_propagation_list(),
                             observer_non_leaf_module_list, _unique_device(model))
    placer.place(model)
    return model


def _strip_quantization_state(module):
    """Undo what propagate/prepare added: qconfigs, observers and their hooks, everywhere."""
    for sub in list(module.modules()):  # a list: observers are removed on the way
        if hasattr(sub, "qconfig"):
            del sub.qconfig
        if isinstance(getattr(sub, "activation_post_process", None),
                      (ObserverBase, _fq.FakeQuantizeBase)):
            del sub.activation_post_process
        observer_hooks = [k for k, h in sub._forward_hooks.items() if h is _run_output_observer]
        for key in observer_hooks:
            del sub._forward_hooks[key]


def swap_module(mod, mapping, custom_module_class_mapping=None,
                use_precomputed_fake_quant=False):
    """The quantized replacement of ``mod`` when it has a qconfig and a mapping entry,
    keeping its user hooks (the observer hook goes with the observer); otherwise ``mod``
    itself."""
    target = mapping.get(type(mod)) if getattr(mod, "qconfig", None) is not None else None
    if target is None:
        return mod
    swapped = target.from_float(mod)
    for pre_hook in mod._forward_pre_hooks.values():
        swapped.register_forward_pre_hook(pre_hook)
    for hook in mod._forward_hooks.values():
        if hook is not _run_output_observer:
            swapped.register_forward_hook(hook)
    return swapped


def _swap_tree(module, mapping):
    """Swap bottom-up; a fused module is swapped whole, its parts left as they are."""
    def swap(child):
        if not isinstance(child, nni._FusedModule):
            _swap_tree(child, mapping)
        return swap_module(child, mapping)

    return _rebuild_children(module, swap)


def convert(module, mapping=None, inplace=False, remove_qconfig=True, is_reference=False,
            convert_custom_config_dict=None, use_precomputed_fake_quant=False):
    """Swap observed modules for quantized ones (``from_float``)."""
    if is_reference:
        raise NotImplementedError("reference quantized modules are not provided")
    module = module if inplace else copy.deepcopy(module)
    _swap_tree(module, get_default_static_quant_module_mappings() if mapping is None
               else mapping)
    if remove_qconfig:
        _strip_quantization_state(module)
    return module


def quantize(model, run_fn, run_args, mapping=None, inplace=False):
    """prepare, calibrate with ``run_fn(model, *run_args)``, convert."""
    model = model if inplace else copy.deepcopy(model)
    model.eval()
    prepare(model, inplace=True)
    run_fn(model, *run_args)
    return convert(model, mapping, inplace=True)


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
    qat_types = get_default_qat_module_mappings() if mapping is None else mapping
    model = model if inplace else copy.deepcopy(model)
    propagate_qconfig_(model)
    # the QAT modules keep their qconfig: prepare reads it to build their fake quantizers
    convert(model, qat_types, inplace=True, remove_qconfig=False)
    # a QAT module (fused ones included) is observed as a whole
    return prepare(model, inplace=True, observer_non_leaf_module_list=set(qat_types.values()))


def quantize_qat(model, run_fn, run_args, inplace=False):
    """prepare_qat, train with ``run_fn(model, *run_args)``, convert."""
    model = model if inplace else copy.deepcopy(model)
    model.train()
    prepare_qat(model, inplace=True)
    run_fn(model, *run_args)
    return convert(model, inplace=True)


def _dynamic_qconfig_spec(qconfig_spec, dtype):
    """``quantize_dynamic``'s spec as ``{type or name: qconfig}``: None stands for the
    default module types of ``dtype``; a set of types gets ``dtype``'s qconfig for each."""
    if qconfig_spec is None:
        recurrent = (nn.Linear, nn.LSTM, nn.GRU, nn.LSTMCell, nn.RNNCell, nn.GRUCell)
        default_kinds = {ember.qint8: recurrent, ember.float16: recurrent,
                         ember.quint8: (nn.EmbeddingBag, nn.Embedding)}
        if dtype not in default_kinds:
            raise ValueError(
                f"Don't know how to quantize with default settings for {dtype}. Provide full "
                "qconfig please")
        qconfig_spec = default_kinds[dtype]
    elif not isinstance(qconfig_spec, set):
        return qconfig_spec
    per_dtype = {ember.qint8: _qc.default_dynamic_qconfig,
                 ember.float16: _qc.float16_dynamic_qconfig,
                 ember.quint8: _qc.float_qparams_weight_only_qconfig}
    if dtype not in per_dtype:
        raise RuntimeError("Unknown dtype specified for quantize_dynamic: ", str(dtype))
    return dict.fromkeys(qconfig_spec, per_dtype[dtype])


def quantize_dynamic(model, qconfig_spec=None, dtype=None, mapping=None, inplace=False):
    """Swap Linear and recurrent layers (LSTM, GRU and their cells) for dynamically
    quantized ones: int8 weights with activations quantized per batch at run time, or
    float16 weights computed in float32; embeddings for row-wise quint8 ones.

    ``qconfig_spec`` is a set of module types (``{nn.Linear}``) or a dict from types or
    submodule names to qconfigs; None takes PyTorch's default types for ``dtype``
    (qint8 and float16: Linear, LSTM, GRU, LSTMCell, RNNCell, GRUCell; quint8: Embedding
    and EmbeddingBag, their rows weight-only quantized).
    """
    spec = _dynamic_qconfig_spec(qconfig_spec, dtype or ember.qint8)
    model = model if inplace else copy.deepcopy(model)
    model.eval()
    propagate_qconfig_(model, spec)
    return convert(model, get_default_dynamic_quant_module_mappings() if mapping is None
                   else mapping, inplace=True)


def default_eval_fn(model, calib_data):
    """Calibration loop for ``quantize``: run ``model`` on each ``(data, target)`` pair."""
    for inputs, _ in calib_data:
        model(inputs)
