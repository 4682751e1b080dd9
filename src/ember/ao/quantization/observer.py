"""Observers: modules that watch tensors pass and turn their range into (scale, zero_point).

Same classes, buffers (``eps``, ``min_val``, ``max_val``, ``histogram``), defaults and
``calculate_qparams`` arithmetic as ``torch.ao.quantization.observer``, so a calibrated
ember model gets the scales PyTorch would give it and its ``state_dict`` keys match.
The arithmetic runs on float32 ember tensors, as PyTorch's does, since the scales are
float32 values whose last bit decides quantized integers at rounding ties.
"""

from __future__ import annotations

import functools
import warnings

import ember

from ...nn.modules.module import Module

__all__ = [
    "FixedQParamsObserver",
    "HistogramObserver",
    "MinMaxObserver",
    "MovingAverageMinMaxObserver",
    "MovingAveragePerChannelMinMaxObserver",
    "NoopObserver",
    "ObserverBase",
    "PerChannelMinMaxObserver",
    "PlaceholderObserver",
    "RecordingObserver",
    "ReuseInputObserver",
    "UniformQuantizationObserverBase",
    "default_affine_fixed_qparams_observer",
    "default_debug_observer",
    "default_dynamic_quant_observer",
    "default_fixed_qparams_range_0to1_observer",
    "default_fixed_qparams_range_neg1to1_observer",
    "default_float_qparams_observer",
    "default_histogram_observer",
    "default_observer",
    "default_per_channel_weight_observer",
    "default_placeholder_observer",
    "default_reuse_input_observer",
    "default_symmetric_fixed_qparams_observer",
    "default_weight_observer",
    "get_observer_state_dict",
    "load_observer_state_dict",
    "per_channel_weight_observer_range_neg_127_to_127",
    "weight_observer_range_neg_127_to_127",
]

_EPS = 1.1920928955078125e-07  # torch.finfo(torch.float32).eps


class _PartialWrapper:
    """A factory with bound keyword arguments, printed as PyTorch prints its own."""

    def __init__(self, p):
        self.p = p
        self.callable_args = {}

    def __call__(self, *args, **keywords):
        return self.p(*args, **keywords)

    def __repr__(self):
        return repr(self.p) + repr(self.callable_args)

    with_args = None  # set below (a partial of a partial binds more arguments)


def _with_args(cls_or_self, **kwargs):
    """``Observer.with_args(dtype=...)``: a factory that builds configured observers."""
    return _PartialWrapper(functools.partial(cls_or_self, **kwargs))


_PartialWrapper.with_args = _with_args


def _calculate_qmin_qmax(quant_min, quant_max, has_customized_qrange, dtype, reduce_range):
    """The integer range of ``dtype``, halved by ``reduce_range`` (PyTorch's rules)."""
    if has_customized_qrange:
        if reduce_range:
            quant_min, quant_max = quant_min // 2, quant_max // 2
        return quant_min, quant_max
    if dtype in (ember.qint8, ember.int8):
        return (-64, 63) if reduce_range else (-128, 127)
    if dtype in (ember.quint8, ember.uint8):
        return (0, 127) if reduce_range else (0, 255)
    if dtype in (ember.qint32, ember.int32):
        return -(2**31), 2**31 - 1
    if dtype is ember.uint16:
        return 0, 2**16 - 1
    if dtype is ember.int16:
        return -(2**15), 2**15 - 1
    return 0, 15


class ObserverBase(Module):
    """Base of every observer: records ``dtype`` and whether it is dynamic."""

    with_args = classmethod(_with_args)

    def __init__(self, dtype, is_dynamic=False):
        super().__init__()
        self.dtype = dtype
        self.is_dynamic = is_dynamic


class UniformQuantizationObserverBase(ObserverBase):
    """An observer for affine or symmetric uniform quantization."""

    def __init__(self, dtype=None, qscheme=None, reduce_range=False, quant_min=None,
                 quant_max=None, factory_kwargs=None, eps=_EPS, is_dynamic=False, **kwargs):
        dtype = dtype or ember.quint8
        qscheme = qscheme or ember.per_tensor_affine
        super().__init__(dtype=dtype, is_dynamic=is_dynamic)
        self.qscheme = qscheme
        if reduce_range:
            warnings.warn(
                "Please use quant_min and quant_max to specify the range for observers. "
                "reduce_range will be deprecated in a future release of PyTorch.",
                stacklevel=2,
            )
        self.reduce_range = reduce_range
        self.register_buffer("eps", ember.tensor([eps]))
        if qscheme not in (ember.per_tensor_affine, ember.per_tensor_symmetric,
                           ember.per_channel_affine, ember.per_channel_symmetric,
                           ember.per_channel_affine_float_qparams):
            raise AssertionError(
                "Default Observer only works for per_tensor_affine, per_tensor_symmetric, "
                "per_channel_affine, per_channel_symmetric and per_channel_float_qparams "
                "quantization scheme"
            )
        self.has_customized_qrange = quant_min is not None and quant_max is not None
        if self.has_customized_qrange:
            span = quant_max - quant_min + 1
            limit = 2**32 if dtype in (ember.qint32, ember.int32) else 256
            if not 0 < span <= limit:
                raise AssertionError(
                    "quantization range should be positive and not exceed the maximum bit "
                    "range (=256)." if limit == 256 else
                    "quantization range should be positive and not exceed the maximum bit "
                    "range (=4294967296)."
                )
        self.quant_min, self.quant_max = _calculate_qmin_qmax(
            quant_min, quant_max, self.has_customized_qrange, dtype, reduce_range)

    def _calculate_qparams(self, min_val, max_val):
        """(scale, zero_point) from a float32 range, as PyTorch's observers compute it."""
        device = min_val.device  # the parameters live where the statistics do
        eps = self.eps.to(device)  # a per-channel observer's stats follow its input
        if not _min_max_valid(min_val, max_val):
            return ember.tensor([1.0], device=device), ember.tensor([0], device=device)
        quant_min, quant_max = self.quant_min, self.quant_max
        zeros = ember.zeros_like(min_val)
        min_val_neg = ember.minimum(min_val, zeros)
        max_val_pos = ember.maximum(max_val, zeros)
        zero_point = ember.zeros(min_val_neg.shape, dtype=ember.int64, device=device)
        symmetric = self.qscheme in (ember.per_tensor_symmetric, ember.per_channel_symmetric)
        if symmetric:
            max_val_pos = ember.maximum(-min_val_neg, max_val_pos)
            scale = max_val_pos / (float(quant_max - quant_min) / 2)
            scale = ember.maximum(scale, eps)
            if self.dtype in (ember.quint8, ember.uint8):
                middle = (quant_min + quant_max) // 2 if self.has_customized_qrange else 128
                zero_point = ember.full(zero_point.shape, middle, dtype=ember.int64, device=device)
            elif self.dtype is ember.uint16:
                middle = (quant_min + quant_max) // 2 if self.has_customized_qrange else 2**15
                zero_point = ember.full(zero_point.shape, middle, dtype=ember.int64, device=device)
        elif self.qscheme is ember.per_channel_affine_float_qparams:
            scale = (max_val - min_val) / float(quant_max - quant_min)
            scale = ember.where(scale > eps, scale, ember.ones_like(scale))
            zero_point = -1 * min_val / scale
        else:
            scale = (max_val_pos - min_val_neg) / float(quant_max - quant_min)
            scale = ember.maximum(scale, eps)
            zero_point = quant_min - ember.round(min_val_neg / scale).to(ember.int32)
            zero_point = ember.clamp(zero_point, quant_min, quant_max)
        if scale.dim() == 0:
            scale = ember.tensor([float(scale)], dtype=scale.dtype, device=device)
        if zero_point.dim() == 0:
            zero_point = ember.tensor([int(zero_point)], dtype=zero_point.dtype, device=device)
            if self.qscheme is ember.per_channel_affine_float_qparams:
                zero_point = ember.tensor([float(zero_point)], dtype=zero_point.dtype,
                                          device=device)
        return scale, zero_point

    def reset_min_max_vals(self):
        raise NotImplementedError("Cannot reset min/max values in the given observer.")


def _min_max_valid(min_val, max_val):
    """False (with PyTorch's warning) for an observer that has seen nothing."""
    if min_val.numel() == 0 or max_val.numel() == 0:
        warnings.warn(
            "must run observer before calling calculate_qparams. Returning default values.",
            stacklevel=3,
        )
        return False
    if min_val.dim() == 0 or max_val.dim() == 0:
        if float(min_val) == float("inf") and float(max_val) == float("-inf"):
            warnings.warn(
                "must run observer before calling calculate_qparams. Returning default values.",
                stacklevel=3,
            )
            return False
        if not float(min_val) <= float(max_val):
            raise AssertionError(f"min {min_val} should be less than max {max_val}")
    elif not bool((min_val <= max_val).all()):
        raise AssertionError(f"min {min_val} should be less than max {max_val}")
    return True


class MinMaxObserver(UniformQuantizationObserverBase):
    """Running minimum and maximum of everything seen."""

    def __init__(self, dtype=None, qscheme=None, reduce_range=False, quant_min=None,
                 quant_max=None, factory_kwargs=None, eps=_EPS, is_dynamic=False, **kwargs):
        dtype = dtype or ember.quint8
        qscheme = qscheme or ember.per_tensor_affine
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max, eps=eps,
                         is_dynamic=is_dynamic)
        self.register_buffer("min_val", ember.tensor(float("inf")))
        self.register_buffer("max_val", ember.tensor(float("-inf")))
        if (self.qscheme is ember.per_tensor_symmetric and self.reduce_range
                and self.dtype is ember.quint8):
            raise NotImplementedError(
                "Cannot reduce range for symmetric quantization for quint8")

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach().to(self.min_val.dtype)
        self.min_val.copy_(ember.minimum(x.min(), self.min_val))
        self.max_val.copy_(ember.maximum(x.max(), self.max_val))
        return x_orig

    def calculate_qparams(self):
        return self._calculate_qparams(self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"

    def reset_min_max_vals(self):
        self.min_val.copy_(ember.tensor(float("inf")))
        self.max_val.copy_(ember.tensor(float("-inf")))


class MovingAverageMinMaxObserver(MinMaxObserver):
    """Exponential moving average of each batch's minimum and maximum."""

    def __init__(self, averaging_constant=0.01, dtype=None, qscheme=None,
                 reduce_range=False, quant_min=None, quant_max=None, eps=_EPS,
                 is_dynamic=False, **kwargs):
        self.averaging_constant = averaging_constant
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max, eps=eps,
                         is_dynamic=is_dynamic)

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach().to(self.min_val.dtype)
        min_val, max_val = self.min_val, self.max_val
        if float(min_val) == float("inf") and float(max_val) == float("-inf"):
            min_val, max_val = x.min(), x.max()
        else:
            c = self.averaging_constant
            min_val = min_val + c * (x.min() - min_val)
            max_val = max_val + c * (x.max() - max_val)
        self.min_val.copy_(min_val)
        self.max_val.copy_(max_val)
        return x_orig


class PerChannelMinMaxObserver(UniformQuantizationObserverBase):
    """Minimum and maximum per slice along ``ch_axis`` (for weights)."""

    def __init__(self, ch_axis=0, dtype=None, qscheme=None, reduce_range=False,
                 quant_min=None, quant_max=None, factory_kwargs=None, eps=_EPS,
                 is_dynamic=False, **kwargs):
        dtype = dtype or ember.quint8
        qscheme = qscheme or ember.per_channel_affine
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max, eps=eps,
                         is_dynamic=is_dynamic)
        self.ch_axis = ch_axis
        self.register_buffer("min_val", ember.tensor([]))
        self.register_buffer("max_val", ember.tensor([]))
        if (self.qscheme is ember.per_channel_symmetric and self.reduce_range
                and self.dtype is ember.quint8):
            raise NotImplementedError(
                "Cannot reduce range for symmetric quantization for quint8")

    def _channel_minmax(self, x):
        axes = list(range(x.dim()))
        axes[self.ch_axis], axes[0] = 0, self.ch_axis
        rows = x.permute(*axes).to(self.min_val.dtype).flatten(1)
        return rows.amin(1), rows.amax(1)

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        cur_min, cur_max = self._channel_minmax(x_orig.detach())
        if self.min_val.numel() == 0 or self.max_val.numel() == 0:
            min_val, max_val = cur_min, cur_max
        else:
            min_val = ember.minimum(cur_min, self.min_val)
            max_val = ember.maximum(cur_max, self.max_val)
        self._set_min_max(min_val, max_val)
        return x_orig

    def _set_min_max(self, min_val, max_val):
        self._buffers["min_val"] = min_val.detach().clone()
        self._buffers["max_val"] = max_val.detach().clone()

    def calculate_qparams(self):
        return self._calculate_qparams(self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        for name in ("min_val", "max_val"):  # sizes follow the checkpoint, as PyTorch's
            if prefix + name in state_dict:
                self._buffers[name] = ember.empty(state_dict[prefix + name].shape)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)

    def reset_min_max_vals(self):
        self._set_min_max(ember.tensor([]), ember.tensor([]))


class MovingAveragePerChannelMinMaxObserver(PerChannelMinMaxObserver):
    """Per-channel exponential moving averages of minimum and maximum."""

    def __init__(self, averaging_constant=0.01, ch_axis=0, dtype=None, qscheme=None,
                 reduce_range=False, quant_min=None, quant_max=None, eps=_EPS,
                 is_dynamic=False, **kwargs):
        super().__init__(ch_axis=ch_axis, dtype=dtype, qscheme=qscheme,
                         reduce_range=reduce_range, quant_min=quant_min,
                         quant_max=quant_max, eps=eps, is_dynamic=is_dynamic)
        self.averaging_constant = averaging_constant

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        cur_min, cur_max = self._channel_minmax(x_orig.detach())
        if self.min_val.numel() == 0 or self.max_val.numel() == 0:
            min_val, max_val = cur_min, cur_max
        else:
            c = self.averaging_constant
            min_val = self.min_val + c * (cur_min - self.min_val)
            max_val = self.max_val + c * (cur_max - self.max_val)
        self._set_min_max(min_val, max_val)
        return x_orig


class PlaceholderObserver(ObserverBase):
    """Records only a dtype: the activation 'observer' of dynamic quantization."""

    def __init__(self, dtype=None, custom_op_name="", compute_dtype=None, quant_min=None,
                 quant_max=None, qscheme=None, eps=None, is_dynamic=False):
        dtype = dtype or ember.float32
        super().__init__(dtype=dtype, is_dynamic=is_dynamic)
        if qscheme is None:
            qscheme = ember.per_tensor_affine
        if eps is None:
            eps = _EPS
        self.quant_min, self.quant_max, self.qscheme, self.eps = quant_min, quant_max, \
            qscheme, eps
        self.custom_op = custom_op_name

    def forward(self, x):
        return x

    def extra_repr(self):
        return f"dtype={self.dtype}, is_dynamic={self.is_dynamic}"

    def calculate_qparams(self):
        raise Exception("calculate_qparams should not be called for PlaceholderObserver")  # noqa: TRY002 - PyTorch raises plain Exception


class NoopObserver(ObserverBase):
    """Passes tensors through (for float16 static quantization)."""

    def __init__(self, dtype=None, custom_op_name=""):
        super().__init__(dtype=dtype or ember.float16)
        self.custom_op = custom_op_name

    def forward(self, x):
        return x

    def calculate_qparams(self):
        raise Exception("calculate_qparams should not be called for NoopObserver")  # noqa: TRY002 - as PyTorch


class FixedQParamsObserver(ObserverBase):
    """Constant ``scale``/``zero_point`` buffers: the outputs of sigmoid-like functions
    have a known range, so quantization-aware training does not observe them."""

    def __init__(self, scale, zero_point, dtype=None, qscheme=None, quant_min=0,
                 quant_max=255, is_dynamic=False, **kwargs):
        if is_dynamic:
            raise NotImplementedError(
                "FixedQParamsObserver doesn't support dynamic quantization")
        super().__init__(dtype=dtype or ember.quint8, is_dynamic=is_dynamic)
        self.quant_min = quant_min
        self.quant_max = quant_max
        self.register_buffer("scale", ember.tensor([scale], dtype=ember.float32))
        self.register_buffer("zero_point", ember.tensor([zero_point], dtype=ember.int32))
        self.qscheme = qscheme or ember.per_tensor_affine

    def forward(self, X):
        return X

    def calculate_qparams(self):
        return self.scale, self.zero_point


class RecordingObserver(ObserverBase):
    """Keeps a copy of every tensor that passes (``default_debug_observer``): for looking
    at the activations a model produced, not for quantizing them."""

    __annotations__ = {"tensor_val": list}

    def __init__(self, dtype=None):
        super().__init__(dtype=dtype or ember.quint8, is_dynamic=False)
        self.tensor_val = []

    def forward(self, x):
        self.tensor_val.append(x.clone())
        return x

    def calculate_qparams(self):
        raise Exception("calculate_qparams should not be called for RecordingObserver")  # noqa: TRY002 - as PyTorch

    def get_tensor_value(self):
        return self.tensor_val


class ReuseInputObserver(ObserverBase):
    """Marks an op (``reshape`` in the default FX mapping) whose output reuses its
    input's observer: nothing is recorded here, FX prepare wires the input's one."""

    def __init__(self):
        super().__init__(ember.quint8, is_dynamic=False)

    def forward(self, x):
        return x

    def calculate_qparams(self):
        raise Exception("calculate_qparams should not be called for ReuseInputObserver")  # noqa: TRY002 - as PyTorch


# HistogramObserver builds on the classes above: imported once they exist.
from ._histogram import HistogramObserver

default_observer = MinMaxObserver.with_args(quant_min=0, quant_max=127)
default_placeholder_observer = PlaceholderObserver
default_debug_observer = RecordingObserver
default_reuse_input_observer = ReuseInputObserver
default_weight_observer = MinMaxObserver.with_args(dtype=ember.qint8,
                                                   qscheme=ember.per_tensor_symmetric)
default_histogram_observer = HistogramObserver.with_args(quant_min=0, quant_max=127)
default_per_channel_weight_observer = PerChannelMinMaxObserver.with_args(
    dtype=ember.qint8, qscheme=ember.per_channel_symmetric)
default_dynamic_quant_observer = PlaceholderObserver.with_args(
    dtype=ember.quint8, quant_min=0, quant_max=255, is_dynamic=True)
default_fixed_qparams_range_neg1to1_observer = FixedQParamsObserver.with_args(
    scale=2.0 / 256.0, zero_point=128, dtype=ember.quint8, quant_min=0, quant_max=255)
default_fixed_qparams_range_0to1_observer = FixedQParamsObserver.with_args(
    scale=1.0 / 256.0, zero_point=0, dtype=ember.quint8, quant_min=0, quant_max=255)
default_symmetric_fixed_qparams_observer = default_fixed_qparams_range_neg1to1_observer
default_affine_fixed_qparams_observer = default_fixed_qparams_range_0to1_observer
default_float_qparams_observer = PerChannelMinMaxObserver.with_args(
    dtype=ember.quint8, qscheme=ember.per_channel_affine_float_qparams, ch_axis=0)

# symmetric int8 weights kept within [-127, 127] (the XNNPACK-style restricted range)
weight_observer_range_neg_127_to_127 = MinMaxObserver.with_args(
    dtype=ember.qint8, qscheme=ember.per_tensor_symmetric, quant_min=-127, quant_max=127,
    eps=2**-12)
per_channel_weight_observer_range_neg_127_to_127 = PerChannelMinMaxObserver.with_args(
    dtype=ember.qint8, qscheme=ember.per_channel_symmetric, quant_min=-127, quant_max=127,
    eps=2**-12)


def _is_activation_post_process(module):
    from .fake_quantize import FakeQuantizeBase

    return isinstance(module, (ObserverBase, FakeQuantizeBase))


def get_observer_state_dict(mod):
    """The observer statistics of a prepared model: its ``state_dict`` entries under
    ``activation_post_process`` (eager or FX), to save calibration apart from weights."""
    from collections import OrderedDict

    state = mod.state_dict()
    observed = OrderedDict((k, v) for k, v in state.items() if "activation_post_process" in k)
    observed._metadata = getattr(state, "_metadata", None)
    return observed


def load_observer_state_dict(mod, obs_dict):
    """Load statistics saved by ``get_observer_state_dict`` into ``mod``'s observers
    (per-channel buffers take the saved sizes); a missing or unexpected observer key
    raises."""
    missing_keys, unexpected_keys = [], []
    for name, module in mod.named_modules():
        if _is_activation_post_process(module):
            module._load_from_state_dict(obs_dict, name + ".", {}, False, missing_keys,
                                         unexpected_keys, [])
    for key in missing_keys:
        if "observer" in key or "activation_post_process" in key:
            raise Exception(f"Missing keys for observer {key} in state_dict")  # noqa: TRY002 - as PyTorch
    for key in unexpected_keys:
        if "observer" in key or "activation_post_process" in key:
            raise Exception(f"Unexpected keys for observer {key} in state_dict")  # noqa: TRY002 - as PyTorch
