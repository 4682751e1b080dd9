"""Fake quantization modules for quantization-aware training, as
``torch.ao.quantization.fake_quantize``.

A fake-quantize module observes the tensors that pass (its ``activation_post_process``
observer), keeps ``scale``/``zero_point`` buffers up to date, and returns the tensor
rounded onto the integer grid but still in float, so training sees the quantization
error while the straight-through estimator lets gradients through where the value was
inside the range. Buffers, names, ``state_dict`` keys and defaults are PyTorch's, so a
QAT checkpoint saved by PyTorch loads into an ember model prepared the same way.
"""

from __future__ import annotations

import numpy as np

import ember

from ...nn.modules.module import Module
from .observer import (
    FixedQParamsObserver,
    HistogramObserver,
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    _with_args,
    default_fixed_qparams_range_0to1_observer,
    default_fixed_qparams_range_neg1to1_observer,
)

__all__ = [
    "FakeQuantize", "FakeQuantizeBase", "FixedQParamsFakeQuantize",
    "FusedMovingAvgObsFakeQuantize", "default_affine_fixed_qparams_fake_quant",
    "default_dynamic_fake_quant", "default_embedding_fake_quant", "default_fake_quant",
    "default_fixed_qparams_range_0to1_fake_quant",
    "default_fixed_qparams_range_neg1to1_fake_quant", "default_fused_act_fake_quant",
    "default_fused_per_channel_wt_fake_quant", "default_fused_wt_fake_quant",
    "default_histogram_fake_quant", "default_per_channel_weight_fake_quant",
    "default_symmetric_fixed_qparams_fake_quant", "default_weight_fake_quant",
    "disable_fake_quant", "disable_observer", "enable_fake_quant", "enable_observer",
    "fused_per_channel_wt_fake_quant_range_neg_127_to_127",
    "fused_wt_fake_quant_range_neg_127_to_127",
]

_INT_RANGES = {"qint8": (-128, 127), "quint8": (0, 255), "qint32": (-(2**31), 2**31 - 1),
               "int8": (-128, 127), "uint8": (0, 255), "int32": (-(2**31), 2**31 - 1),
               "int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1)}


def _is_per_channel(qscheme):
    return qscheme in (ember.per_channel_symmetric, ember.per_channel_affine,
                       ember.per_channel_affine_float_qparams)


def _is_per_tensor(qscheme):
    return qscheme in (ember.per_tensor_symmetric, ember.per_tensor_affine)


def _is_symmetric_quant(qscheme):
    return qscheme in (ember.per_tensor_symmetric, ember.per_channel_symmetric)


def _dtype_range(dtype):
    name = str(dtype).replace("torch.", "")
    return _INT_RANGES[name]


class FakeQuantizeBase(Module):
    """Base of fake-quantize modules: the ``fake_quant_enabled`` and ``observer_enabled``
    switches (uint8 buffers, saved in checkpoints) and ``with_args``."""

    def __init__(self):
        super().__init__()
        self.register_buffer("fake_quant_enabled", ember.tensor([1], dtype=ember.uint8))
        self.register_buffer("observer_enabled", ember.tensor([1], dtype=ember.uint8))

    def forward(self, x):
        raise NotImplementedError

    def calculate_qparams(self, **kwargs):
        raise NotImplementedError

    def enable_fake_quant(self, enabled: bool = True) -> None:
        self.fake_quant_enabled[0] = 1 if enabled else 0

    def disable_fake_quant(self):
        self.enable_fake_quant(False)

    def enable_observer(self, enabled: bool = True) -> None:
        self.observer_enabled[0] = 1 if enabled else 0

    def disable_observer(self):
        self.enable_observer(False)

    @classmethod
    def with_args(cls, **kwargs):
        return _with_args(cls, **kwargs)


class FakeQuantize(FakeQuantizeBase):
    """``(clamp(round(x / scale + zero_point), quant_min, quant_max) - zero_point) * scale``
    with ``scale``/``zero_point`` from the observer (updated while ``observer_enabled``).

    Args:
        observer: observer class or ``with_args`` factory (default moving-average min/max).
        quant_min, quant_max: the integer range (checked against the observer's dtype).
        is_dynamic: placeholder for dynamic quantization.
        **observer_kwargs: passed to the observer.
    """

    def __init__(self, observer=MovingAverageMinMaxObserver, quant_min=None, quant_max=None,
                 is_dynamic=False, **observer_kwargs):
        super().__init__()
        if quant_min is not None and quant_max is not None:
            if quant_min > quant_max:
                raise AssertionError("quant_min must be less than or equal to quant_max")
            dtype = observer_kwargs.get("dtype", ember.quint8)
            if hasattr(observer, "p"):
                dtype = getattr(getattr(observer, "p", {}), "keywords", {}).get("dtype", dtype)
            low, high = _dtype_range(dtype)
            if low > quant_min:
                raise AssertionError("quant_min out of bound")
            if quant_max > high:
                raise AssertionError("quant_max out of bound")
            observer_kwargs.update({"quant_min": quant_min, "quant_max": quant_max})
        observer_kwargs["is_dynamic"] = is_dynamic
        self.activation_post_process = observer(**observer_kwargs)
        self.quant_min = self.activation_post_process.quant_min
        self.quant_max = self.activation_post_process.quant_max
        self.is_dynamic = self.activation_post_process.is_dynamic
        float_qparams = (self.activation_post_process.qscheme
                         is ember.per_channel_affine_float_qparams)
        zero_point_dtype = ember.float32 if float_qparams else ember.int32
        self.register_buffer("scale", ember.tensor([1.0], dtype=ember.float32))
        self.register_buffer("zero_point", ember.tensor([0], dtype=zero_point_dtype))
        self.dtype = self.activation_post_process.dtype
        self.qscheme = self.activation_post_process.qscheme
        self.ch_axis = getattr(self.activation_post_process, "ch_axis", -1)
        if not (_is_per_channel(self.qscheme) or _is_per_tensor(self.qscheme)):
            raise AssertionError(
                "Only per channel and per tensor quantization are supported in fake quantize"
                " got qscheme: " + str(self.qscheme))
        self.is_per_channel = _is_per_channel(self.qscheme)

    def calculate_qparams(self):
        return self.activation_post_process.calculate_qparams()

    def _set_qparams(self, scale, zero_point):
        """Copy new parameters into the buffers (resized for a per-channel observer's
        first batch), keeping the buffer objects a checkpoint or optimizer refers to."""
        scale = scale.to(self.scale.device)
        zero_point = zero_point.to(self.zero_point.device)
        if self.scale.shape != scale.shape:
            self.scale.resize_(scale.shape)
            self.zero_point.resize_(zero_point.shape)
        self.scale.copy_(scale)
        self.zero_point.copy_(zero_point)

    def forward(self, X):
        if int(self.observer_enabled[0]) == 1:
            self.activation_post_process(X.detach())
            self._set_qparams(*self.calculate_qparams())
        if int(self.fake_quant_enabled[0]) == 1:
            observer = self.activation_post_process
            if self.is_per_channel:
                X = ember.fake_quantize_per_channel_affine(
                    X, self.scale, self.zero_point, self.ch_axis, observer.quant_min,
                    observer.quant_max)
            else:
                X = ember.fake_quantize_per_tensor_affine(
                    X, self.scale, self.zero_point, observer.quant_min, observer.quant_max)
        return X

    def extra_repr(self):
        observer = self.activation_post_process
        return (f"fake_quant_enabled={self.fake_quant_enabled}, "
                f"observer_enabled={self.observer_enabled}, quant_min={observer.quant_min}, "
                f"quant_max={observer.quant_max}, dtype={self.dtype}, qscheme={self.qscheme}, "
                f"ch_axis={self.ch_axis}, scale={self.scale}, zero_point={self.zero_point}")

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """A per-channel checkpoint's scale/zero_point have one entry per channel: the
        buffers take the checkpoint's shape first, as PyTorch's do."""
        for name in ("scale", "zero_point"):
            key = prefix + name
            if key in state_dict:
                getattr(self, name).resize_(state_dict[key].shape)
            elif strict:
                missing_keys.append(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)


class FixedQParamsFakeQuantize(FakeQuantize):
    """Fake quantization with constant parameters (sigmoid/hardsigmoid/tanh outputs,
    whose range is known)."""

    def __init__(self, observer):
        super().__init__(observer=observer)
        if type(self.activation_post_process) is not FixedQParamsObserver:
            raise AssertionError(
                f"{self.__class__.__name__}'s observer must be a "
                f"{FixedQParamsObserver.__name__}")
        self._observer_ctr = observer
        self.scale = self.activation_post_process.scale
        self.zero_point = self.activation_post_process.zero_point
        if not _is_per_tensor(self.qscheme):
            raise AssertionError(
                "Only per tensor quantization is supported FixedQParamsFakeQuantize module, "
                "got qscheme:" + str(self.qscheme))

    def calculate_qparams(self):
        return self.scale, self.zero_point

    def extra_repr(self):
        observer = self.activation_post_process
        return (f"fake_quant_enabled={self.fake_quant_enabled}, "
                f"observer_enabled={self.observer_enabled}, scale={self.scale}, "
                f"zero_point={self.zero_point}, dtype={self.dtype}, "
                f"quant_min={observer.quant_min}, quant_max={observer.quant_max}, "
                f"qscheme={self.qscheme}")


def _fbgemm_qparams(min_val, max_val, qmin, qmax, preserve_sparsity):
    """(scale, zero_point) as FBGEMM's ChooseQuantizationParams, which the fused
    observer + fake-quant kernel uses (not the Python observers' formula): float32
    bounds, the scale in float64 then stored as float32, the zero point taken from the
    end that loses less precision (checked on random ranges against torch's kernel)."""
    f32 = np.float32
    low, high = f32(min_val), f32(max_val)
    if low < 0 and high > 0 and preserve_sparsity:
        sym_qmin = -((qmax - qmin) // 2 + 1)
        sym_qmax = (qmax - qmin) // 2
        max_scale = float(max(abs(low / f32(sym_qmin)), abs(high / f32(sym_qmax))))
        low, high = f32(max_scale * sym_qmin), f32(max_scale * sym_qmax)
    low, high = min(low, f32(0)), max(high, f32(0))
    scale = (float(high) - float(low)) / (float(qmax) - qmin)
    if float(f32(scale)) == 0.0 or np.isinf(f32(1.0) / f32(scale)):
        scale = 0.1
    small = float(f32(6.1e-5))
    low, high = float(low), float(high)
    if scale < small:
        amplifier = small / scale
        if low == 0.0:
            high = float(f32(small * (qmax - qmin)))
        elif high == 0.0:
            low = float(f32(-small * (qmax - qmin)))
        else:
            low, high = float(f32(low * amplifier)), float(f32(high * amplifier))
        scale = small
    from_min = qmin - low / scale
    from_max = qmax - high / scale
    from_min_error = abs(qmin) - abs(low / scale)
    from_max_error = abs(qmax) - abs(high / scale)
    initial = from_min if from_min_error < from_max_error else from_max
    if low < 0 and high > 0 and preserve_sparsity:
        initial = (qmin + qmax) / 2
    if initial < qmin:
        zero_point = qmin
    elif initial > qmax:
        zero_point = qmax
    else:
        zero_point = int(np.rint(initial))
    return float(f32(scale)), zero_point


class FusedMovingAvgObsFakeQuantize(FakeQuantize):
    """Moving-average min/max observation, parameter choice and fake quantization in one
    step (PyTorch's ``fused_moving_avg_obs_fake_quant``). Its parameters follow FBGEMM's
    rule, so they can differ in the last bit from the plain FakeQuantize's."""

    def __init__(self, observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                 **observer_kwargs):
        super().__init__(observer, quant_min, quant_max, **observer_kwargs)
        if not isinstance(self.activation_post_process,
                          (MovingAverageMinMaxObserver, MovingAveragePerChannelMinMaxObserver)):
            raise AssertionError(  # noqa: TRY004 - PyTorch's type
                "Fused observer+fake_quant module only works with MovingAverageMinMaxObserver")
        self.register_buffer("fake_quant_enabled", ember.tensor([1], dtype=ember.int64))
        self.register_buffer("observer_enabled", ember.tensor([1], dtype=ember.int64))
        self.is_symmetric_quant = _is_symmetric_quant(self.activation_post_process.qscheme)

    def calculate_qparams(self):
        return self.activation_post_process.calculate_qparams()

    def extra_repr(self):
        observer = self.activation_post_process
        return (f"fake_quant_enabled={self.fake_quant_enabled}, "
                f"observer_enabled={self.observer_enabled}, scale={self.scale}, "
                f"zero_point={self.zero_point}, dtype={self.dtype}, "
                f"quant_min={observer.quant_min}, quant_max={observer.quant_max}, "
                f"qscheme={self.qscheme}, reduce_range={observer.reduce_range}")

    def _observe(self, X):
        """Update the running min/max in place (float32, as the kernel's loop)."""
        observer = self.activation_post_process
        data = X.detach()
        if self.is_per_channel:
            if self.ch_axis != 0:
                raise RuntimeError("Per-channel FakeQuant in fused_moving_avg_obs_fake_quant "
                                   "is only supported on axis == 0")
            rows = data.flatten(1).float()
            cur_min, cur_max = rows.amin(1), rows.amax(1)
        else:
            cur_min, cur_max = data.float().min(), data.float().max()
        running_min, running_max = observer.min_val, observer.max_val
        const = float(np.float32(observer.averaging_constant))
        for running, current in ((running_min, cur_min), (running_max, cur_max)):
            moved = running + const * (current - running)
            running.copy_(ember.where(ember.isinf(running), current, moved))

    def forward(self, X):
        if X.numel() == 0:
            return X.clone()
        observer = self.activation_post_process
        if self.is_per_channel and observer.min_val.numel() == 0:
            size = X.shape[self.ch_axis]
            observer.min_val.resize_(size).fill_(float("inf"))
            observer.max_val.resize_(size).fill_(float("-inf"))
            self.scale.resize_(size)
            self.zero_point.resize_(size)
        if int(self.observer_enabled[0]):
            self._observe(X)
        if not int(self.fake_quant_enabled[0]):
            return X.clone()
        lows = observer.min_val.reshape(-1).tolist()
        highs = observer.max_val.reshape(-1).tolist()
        params = [_fbgemm_qparams(lo, hi, observer.quant_min, observer.quant_max,
                                  self.is_symmetric_quant) for lo, hi in zip(lows, highs)]
        self.scale.copy_(ember.tensor([p[0] for p in params], dtype=ember.float32)
                         .reshape(self.scale.shape))
        self.zero_point.copy_(ember.tensor([p[1] for p in params], dtype=ember.int32)
                              .reshape(self.zero_point.shape))
        if self.is_per_channel:
            return ember.fake_quantize_per_channel_affine(
                X, self.scale, self.zero_point, self.ch_axis, observer.quant_min,
                observer.quant_max)
        return ember.fake_quantize_per_tensor_affine(
            X, self.scale, self.zero_point, observer.quant_min, observer.quant_max)


default_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=ember.quint8,
    qscheme=ember.per_tensor_affine, reduce_range=True)
default_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=ember.qint8,
    qscheme=ember.per_tensor_symmetric, reduce_range=False)
default_dynamic_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, is_dynamic=True,
    dtype=ember.quint8, averaging_constant=1)
default_fixed_qparams_range_neg1to1_fake_quant = FixedQParamsFakeQuantize.with_args(
    observer=default_fixed_qparams_range_neg1to1_observer)
default_fixed_qparams_range_0to1_fake_quant = FixedQParamsFakeQuantize.with_args(
    observer=default_fixed_qparams_range_0to1_observer)
default_symmetric_fixed_qparams_fake_quant = default_fixed_qparams_range_neg1to1_fake_quant
default_affine_fixed_qparams_fake_quant = default_fixed_qparams_range_0to1_fake_quant
default_per_channel_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
    dtype=ember.qint8, qscheme=ember.per_channel_symmetric, reduce_range=False, ch_axis=0)
default_embedding_fake_quant = FakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver,
    qscheme=ember.per_channel_affine_float_qparams, dtype=ember.quint8, quant_min=0,
    quant_max=255, ch_axis=0, averaging_constant=1)
default_histogram_fake_quant = FakeQuantize.with_args(
    observer=HistogramObserver, quant_min=0, quant_max=255, dtype=ember.quint8,
    qscheme=ember.per_tensor_affine, reduce_range=True)
default_fused_act_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=ember.quint8)
default_fused_wt_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=ember.qint8,
    qscheme=ember.per_tensor_symmetric)
default_fused_per_channel_wt_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
    dtype=ember.qint8, qscheme=ember.per_channel_symmetric)
fused_wt_fake_quant_range_neg_127_to_127 = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-127, quant_max=127, dtype=ember.qint8,
    qscheme=ember.per_tensor_symmetric, eps=2**-12)
fused_per_channel_wt_fake_quant_range_neg_127_to_127 = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-127, quant_max=127,
    dtype=ember.qint8, qscheme=ember.per_channel_symmetric, eps=2**-12)


def disable_fake_quant(mod):
    """``model.apply(disable_fake_quant)``: stop rounding (observers keep running)."""
    if isinstance(mod, FakeQuantizeBase):
        mod.disable_fake_quant()


def enable_fake_quant(mod):
    """``model.apply(enable_fake_quant)``."""
    if isinstance(mod, FakeQuantizeBase):
        mod.enable_fake_quant()


def disable_observer(mod):
    """``model.apply(disable_observer)``: freeze the scales (late in QAT)."""
    if isinstance(mod, FakeQuantizeBase):
        mod.disable_observer()


def enable_observer(mod):
    """``model.apply(enable_observer)``."""
    if isinstance(mod, FakeQuantizeBase):
        mod.enable_observer()
