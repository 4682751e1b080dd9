"""QConfig: which observers watch a module's activations and weights."""

from __future__ import annotations

import warnings
from collections import namedtuple

import ember

from .observer import (
    HistogramObserver,
    MinMaxObserver,
    NoopObserver,
    ObserverBase,
    PlaceholderObserver,
    RecordingObserver,
    ReuseInputObserver,
    default_dynamic_quant_observer,
    default_float_qparams_observer,
    default_observer,
    default_per_channel_weight_observer,
    default_weight_observer,
    per_channel_weight_observer_range_neg_127_to_127,
    weight_observer_range_neg_127_to_127,
)

__all__ = [
    "QConfig",
    "QConfigAny",
    "QConfigDynamic",
    "default_activation_only_qconfig",
    "default_debug_qconfig",
    "default_dynamic_qat_qconfig",
    "default_embedding_qat_qconfig",
    "default_per_channel_qconfig",
    "default_per_channel_symmetric_qnnpack_qat_qconfig",
    "default_per_channel_symmetric_qnnpack_qconfig",
    "default_symmetric_qnnpack_qat_qconfig",
    "default_symmetric_qnnpack_qconfig",
    "default_dynamic_qconfig",
    "default_qat_qconfig",
    "default_qat_qconfig_v2",
    "default_qconfig",
    "default_weight_only_qconfig",
    "float16_dynamic_qconfig",
    "float16_static_qconfig",
    "float_qparams_weight_only_qconfig",
    "get_default_qat_qconfig",
    "get_default_qat_qconfig_dict",
    "get_default_qconfig",
    "get_default_qconfig_dict",
    "per_channel_dynamic_qconfig",
    "qconfig_equals",
]


class QConfig(namedtuple("QConfig", ["activation", "weight"])):
    """A pair of observer factories (``MinMaxObserver.with_args(...)``), not instances:
    every module gets observers of its own."""

    __slots__ = ()

    def __new__(cls, activation, weight):
        if isinstance(activation, ObserverBase) or isinstance(weight, ObserverBase):
            raise ValueError(  # noqa: TRY004 - PyTorch's type
                "QConfig received observer instance, please pass observer class instead. "
                "Use MyObserver.with_args(x=1) to override arguments to constructor if needed"
            )
        return super().__new__(cls, activation, weight)


QConfigDynamic = QConfig

default_qconfig = QConfig(activation=default_observer, weight=default_weight_observer)
default_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                  weight=default_weight_observer)
per_channel_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                      weight=default_per_channel_weight_observer)
float16_dynamic_qconfig = QConfig(
    activation=PlaceholderObserver.with_args(dtype=ember.float16, is_dynamic=True),
    weight=PlaceholderObserver.with_args(dtype=ember.float16))
float_qparams_weight_only_qconfig = QConfig(activation=PlaceholderObserver,
                                            weight=default_float_qparams_observer)


def get_default_qconfig(backend="x86", version=0):
    """PyTorch's default post-training qconfig per backend: histogram-calibrated
    activations (7-bit on x86/fbgemm), symmetric int8 weights (per channel but on
    qnnpack)."""
    supported = ("fbgemm", "x86", "qnnpack", "onednn")
    if backend not in supported:
        raise AssertionError(
            f"backend: {backend} not supported. backend must be one of {list(supported)}")
    if version != 0:
        raise AssertionError(f"Version number: {version} in get_default_qconfig is not "
                             "supported. Version number must be 0")
    if backend in ("fbgemm", "x86"):
        return QConfig(activation=HistogramObserver.with_args(reduce_range=True),
                       weight=default_per_channel_weight_observer)
    if backend == "qnnpack":
        return QConfig(activation=HistogramObserver.with_args(reduce_range=False),
                       weight=default_weight_observer)
    return QConfig(activation=HistogramObserver.with_args(reduce_range=False),
                   weight=default_per_channel_weight_observer)


# fake_quantize imports the observers above; qconfig is imported after both exist
from . import fake_quantize as _fq

default_qat_qconfig = QConfig(activation=_fq.default_fake_quant,
                              weight=_fq.default_weight_fake_quant)
default_qat_qconfig_v2 = QConfig(activation=_fq.default_fused_act_fake_quant,
                                 weight=_fq.default_fused_wt_fake_quant)
default_weight_only_qconfig = QConfig(activation=ember.nn.Identity,
                                      weight=_fq.default_weight_fake_quant)
default_activation_only_qconfig = QConfig(activation=_fq.default_fake_quant,
                                          weight=ember.nn.Identity)


def get_default_qat_qconfig(backend="x86", version=1):
    """PyTorch's default quantization-aware-training qconfig per backend: moving-average
    fake quantization of activations (7-bit on x86/fbgemm), symmetric int8 weights (per
    channel but on qnnpack); version 1 uses the fused observer + fake-quant modules."""
    supported = ["fbgemm", "x86", "qnnpack", "onednn"]
    if backend not in supported:
        raise AssertionError(f"backend: {backend} not supported. backend must be one of "
                             f"{supported}")
    if version not in (0, 1):
        raise AssertionError(f"Version number: {version}in get_default_qat_qconfig is not "
                             "supported. Version number must be 0 or 1")
    fused = version == 1
    act_class = _fq.FusedMovingAvgObsFakeQuantize if fused else _fq.FakeQuantize
    activation = act_class.with_args(
        observer=_fq.MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
        reduce_range=backend in ("fbgemm", "x86"))
    if backend == "onednn":
        activation = act_class.with_args(observer=_fq.MovingAverageMinMaxObserver,
                                         quant_min=0, quant_max=255)
    if backend == "qnnpack":
        weight = _fq.default_fused_wt_fake_quant if fused else _fq.default_weight_fake_quant
    else:
        weight = (_fq.default_fused_per_channel_wt_fake_quant if fused
                  else _fq.default_per_channel_weight_fake_quant)
    return QConfig(activation=activation, weight=weight)


QConfigAny = QConfig | None

default_reuse_input_qconfig = QConfig(activation=ReuseInputObserver,
                                      weight=NoopObserver)
default_quint8_weight_qconfig = QConfig(activation=HistogramObserver,
                                        weight=MinMaxObserver)


def _factory_parts(factory):
    """(callable, keyword arguments) of an observer factory, through nested with_args."""
    inner = getattr(factory, "p", factory)
    keywords = {}
    while hasattr(inner, "func"):  # functools.partial, possibly of a partial
        keywords = {**inner.keywords, **keywords}
        inner = inner.func
    return inner, keywords


def _factory_equals(a, b):
    if a is b:
        return True
    fa, ka = _factory_parts(a)
    fb, kb = _factory_parts(b)
    if fa is not fb or ka.keys() != kb.keys():
        return False
    for key, value in ka.items():  # a FakeQuantize's observer argument is itself a factory
        other = kb[key]
        if callable(value) and callable(other):
            if not _factory_equals(value, other):
                return False
        elif value != other:
            return False
    return True


def qconfig_equals(q1, q2):
    """Whether two qconfigs build the same observers: factories compare by class and
    bound arguments (two separately made ``with_args`` partials are equal), not identity."""
    if q1 is None or q2 is None:
        return q1 == q2
    return _factory_equals(q1.activation, q2.activation) and \
        _factory_equals(q1.weight, q2.weight)


def get_default_qconfig_dict(backend="x86", version=0):
    """``get_default_qconfig_mapping(...).to_dict()``: the legacy ``qconfig_dict``."""
    from .qconfig_mapping import get_default_qconfig_mapping

    warnings.warn(
        "`torch.ao.quantization.get_default_qconfig_dict` is deprecated and will be removed "
        "in a future version. Please use `torch.ao.quantization.get_default_qconfig_mapping` "
        "instead.", FutureWarning, stacklevel=2)
    return get_default_qconfig_mapping(backend, version).to_dict()


def get_default_qat_qconfig_dict(backend="x86", version=1):
    """``get_default_qat_qconfig_mapping(...).to_dict()``."""
    from .qconfig_mapping import get_default_qat_qconfig_mapping

    warnings.warn(
        "`torch.ao.quantization.get_default_qat_qconfig_dict` is deprecated and will be "
        "removed in a future version. Please use "
        "`torch.ao.quantization.get_default_qat_qconfig_mapping` instead.",
        FutureWarning, stacklevel=2)
    return get_default_qat_qconfig_mapping(backend, version).to_dict()


# the remaining named qconfigs of torch.ao.quantization.qconfig (the 4-bit ones need
# torch.quint4x2, which ember does not have)
default_debug_qconfig = QConfig(weight=default_weight_observer,
                                activation=RecordingObserver)
default_per_channel_qconfig = QConfig(activation=default_observer,
                                      weight=default_per_channel_weight_observer)
float16_static_qconfig = QConfig(activation=PlaceholderObserver.with_args(dtype=ember.float16),
                                 weight=PlaceholderObserver.with_args(dtype=ember.float16))
default_dynamic_qat_qconfig = QConfig(activation=_fq.default_dynamic_fake_quant,
                                      weight=_fq.default_weight_fake_quant)
_SYMMETRIC_EPS = 2**-12  # qnnpack's symmetric kernels need scales of at least 2**-12
default_symmetric_qnnpack_qconfig = QConfig(
    activation=HistogramObserver.with_args(dtype=ember.qint8, reduce_range=False,
                                           eps=_SYMMETRIC_EPS),
    weight=weight_observer_range_neg_127_to_127)
default_per_channel_symmetric_qnnpack_qconfig = QConfig(
    activation=HistogramObserver.with_args(dtype=ember.qint8, reduce_range=False,
                                           eps=_SYMMETRIC_EPS),
    weight=per_channel_weight_observer_range_neg_127_to_127)
default_symmetric_qnnpack_qat_qconfig = QConfig(
    activation=_fq.FusedMovingAvgObsFakeQuantize.with_args(
        observer=_fq.MovingAverageMinMaxObserver, quant_min=-128, quant_max=127,
        dtype=ember.qint8, reduce_range=False, eps=_SYMMETRIC_EPS),
    weight=_fq.fused_wt_fake_quant_range_neg_127_to_127)
default_per_channel_symmetric_qnnpack_qat_qconfig = QConfig(
    activation=_fq.FusedMovingAvgObsFakeQuantize.with_args(
        observer=_fq.MovingAverageMinMaxObserver, quant_min=-128, quant_max=127,
        dtype=ember.qint8, reduce_range=False, eps=_SYMMETRIC_EPS),
    weight=_fq.fused_per_channel_wt_fake_quant_range_neg_127_to_127)
default_embedding_qat_qconfig = QConfig(activation=NoopObserver.with_args(dtype=ember.float32),
                                        weight=_fq.default_embedding_fake_quant)
