"""QConfig: which observers watch a module's activations and weights."""

from __future__ import annotations

from collections import namedtuple

import ember

from .observer import (
    HistogramObserver,
    ObserverBase,
    PlaceholderObserver,
    default_dynamic_quant_observer,
    default_float_qparams_observer,
    default_observer,
    default_per_channel_weight_observer,
    default_weight_observer,
)

__all__ = [
    "QConfig", "QConfigDynamic", "default_dynamic_qconfig", "default_qconfig",
    "float16_dynamic_qconfig", "float_qparams_weight_only_qconfig", "get_default_qconfig",
    "per_channel_dynamic_qconfig",
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

