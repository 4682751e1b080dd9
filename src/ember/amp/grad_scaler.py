"""``ember.amp.GradScaler``: dynamic loss scaling for float16 training, with PyTorch's
public contract (methods, error texts, ``state_dict``, pickling).

Why scale: float16 gradients are often below float16's smallest normal value and flush
to zero. The loss is multiplied by a large factor before ``backward()`` and the gradients
divided by it before the optimizer step. An inf/NaN gradient means the factor was too
large: that step is skipped and the factor shrinks; after ``growth_interval`` clean steps
it grows, so it stays near the largest safe value without tuning.

Why the factor, its clean-step counter and the overflow flags are 0-d tensors on the
loss's device (made by the first ``scale()``): the host needs only the value that decides
whether ``step()`` calls ``optimizer.step()``, so a GPU iteration waits for the device
once. On cuda, unscaling all gradients of one dtype is one kernel
(``_backend/multi_tensor.unscale_``) and ``update()`` is one; without a compiler, array
ops compute the same values, still without a read back.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import warnings
from collections import abc

import numpy as np

from .._backend import dtypes, multi_tensor
from .._backend.device import array_module, cupy_module
from .._backend.kernels import elementwise, launch

__all__ = ["OptState", "GradScaler"]

_NOT_SCALED_YET = ("This may indicate your script did not use scaler.scale(loss or outputs) "
                   "earlier in the iteration.")
_BAD_NEW_SCALE = ("new_scale should be a float or a 1-element torch.cuda.FloatTensor "
                  "or torch.FloatTensor with requires_grad=False.")
# the hyperparameters that state_dict() saves under their own names
_FACTORS = ("growth_factor", "backoff_factor", "growth_interval")


class OptState(enum.Enum):
    """How far one optimizer is in the current iteration. Public because PyTorch's
    module exports it; ``update()`` sends every optimizer back to ``READY``."""

    READY = 0
    UNSCALED = 1
    STEPPED = 2


@dataclasses.dataclass
class _Progress:
    """One optimizer's iteration so far: its stage, and its overflow flags, a 0-d
    float32 tensor per device its gradients live on (nonzero: an inf/NaN was seen)."""

    stage: OptState = OptState.READY
    found_inf_per_device: dict = dataclasses.field(default_factory=dict)


class GradScaler:
    """Scales losses up so float16 gradients keep their small values, scales the
    gradients back before each optimizer step, and skips steps whose gradients overflowed.

    Args:
        device (str): device type of the losses, ``"cuda"`` (default) or ``"cpu"``.
        init_scale (float): the factor to start from, ``2.0 ** 16`` by default.
        growth_factor (float): applied after ``growth_interval`` (default 2000) steps in
            a row without inf/NaN gradients (default 2.0; must be > 1).
        backoff_factor (float): applied after an inf/NaN step (default 0.5; must be < 1).
        growth_interval (int): that number of clean steps.
        enabled (bool): False makes ``scale`` return its input, ``step`` call
            ``optimizer.step()`` and the rest do nothing, so one script serves both.

    Example::

        scaler = ember.amp.GradScaler("cuda")
        for x, y in batches:
            optimizer.zero_grad()
            with ember.autocast("cuda", dtype=ember.float16):
                loss = criterion(model(x), y)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)  # optional: clip the true gradients here
            scaler.step(optimizer)      # skipped if a gradient is inf/NaN
            scaler.update()
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        if enabled and device == "cuda" and not _cuda_available():
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available."
                          "  Disabling.", stacklevel=2)
            enabled = False
        if enabled and growth_factor <= 1.0:
            raise AssertionError("The growth factor must be > 1.0.")
        if enabled and backoff_factor >= 1.0:
            raise AssertionError("The backoff factor must be < 1.0.")
        self._device, self._enabled = device, enabled
        self._growth_factor, self._backoff_factor = growth_factor, backoff_factor
        self._growth_interval = growth_interval
        # The numbers the first scale() makes its tensors from (also after unpickling).
        self._init_scale, self._init_growth_tracker = init_scale, 0
        self._scale = None  # 0-d float32 on the loss's device
        self._growth_tracker = None  # 0-d int32 beside it: clean steps since the last change
        self._progress_by_optimizer: dict[int, _Progress] = {}

    # -- the four calls of an iteration ------------------------------------------------

    def scale(self, outputs):
        """``outputs`` (a tensor, or tensors nested in lists and tuples, rebuilt as such, or
        in other iterables, a lazy ``map`` as PyTorch's) times the factor, which is copied
        at most once per device; ``outputs`` itself when disabled."""
        if not self._enabled:
            return outputs
        return self._scale_nested(outputs, {})

    def _scale_nested(self, value, factor_on: dict):
        from .._tensor import Tensor

        if isinstance(value, Tensor):
            if self._scale is None:
                self._make_tensors(like=value)
            if value.device not in factor_on:
                factor_on[value.device] = _on(self._scale, value.device)
            return value * factor_on[value.device]
        if isinstance(value, (list, tuple)):
            return type(value)(self._scale_nested(item, factor_on) for item in value)
        if isinstance(value, abc.Iterable):
            return map(lambda item: self._scale_nested(item, factor_on), value)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def unscale_(self, optimizer) -> None:
        """Divides ``optimizer``'s gradients by the factor in place, recording on the
        device whether any was inf/NaN: at most once per optimizer and iteration, when
        ``step`` needs true gradients earlier (to clip them). A sparse float16 gradient
        may be replaced by its coalesced form."""
        if not self._enabled:
            return
        self._require_tensors("unscale_")
        progress = self._progress(optimizer)
        if progress.stage is OptState.UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update().")
        if progress.stage is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # 1/factor from float64, as PyTorch's: a float32 division may differ in the last bit
        inv_scale = self._scale.double().reciprocal().float()
        progress.found_inf_per_device = self._unscale_gradients(optimizer, inv_scale,
                                                                allow_fp16=False)
        progress.stage = OptState.UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscales unless ``unscale_`` did, then ``optimizer.step(*args, **kwargs)``'s
        result, or None if a gradient was inf/NaN. Closures are refused: the gradients a
        closure recomputes would be scaled again."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._require_tensors("step")
        progress = self._progress(optimizer)
        if progress.stage is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if getattr(optimizer, "_step_supports_amp_scaling", False):
            result = self._step_self_unscaling(optimizer, progress, args, kwargs)
        else:
            if progress.stage is OptState.READY:
                self.unscale_(optimizer)
            flags = progress.found_inf_per_device
            if not flags:
                raise AssertionError("No inf checks were recorded for this optimizer.")
            # the iteration's one read of the device: the host decides whether to step
            overflowed = any(flag.item() for flag in flags.values())
            result = None if overflowed else optimizer.step(*args, **kwargs)
        progress.stage = OptState.STEPPED
        return result

    def _step_self_unscaling(self, optimizer, progress, args, kwargs):
        """PyTorch's protocol for optimizers that unscale inside their own step (fused
        kernels; ``_step_supports_amp_scaling``). Older ones take the scaler as a
        ``grad_scaler`` keyword (deprecated); the others read ``grad_scale`` and
        ``found_inf`` attributes that exist for the duration of the step, the scale being
        None once ``unscale_`` ran and multiplying one the user set otherwise."""
        if "grad_scaler" in inspect.signature(optimizer.step).parameters:
            warnings.warn(
                "GradScaler is going to stop passing itself as a keyword argument to the "
                "passed optimizer. In the near future GradScaler registers `grad_scale: "
                "Tensor` and `found_inf: Tensor` to the passed optimizer and let the "
                "optimizer use them directly.", FutureWarning, stacklevel=3)
            return optimizer.step(*args, **{**kwargs, "grad_scaler": self})
        if progress.stage is OptState.READY:
            self._check_inf_per_device(optimizer)
        if progress.stage is OptState.UNSCALED:
            optimizer.grad_scale = getattr(optimizer, "grad_scale", None)
        else:
            optimizer.grad_scale = self._scale * getattr(optimizer, "grad_scale", 1)
        optimizer.found_inf = _summed_on(progress.found_inf_per_device.values(),
                                         self._scale.device)
        result = optimizer.step(*args, **kwargs)
        del optimizer.grad_scale, optimizer.found_inf
        return result

    def update(self, new_scale=None) -> None:
        """Ends the iteration: the factor times ``backoff_factor`` if any optimizer saw an
        inf/NaN, times ``growth_factor`` after ``growth_interval`` clean iterations (unless
        that overflows float32), on the device without a read; or ``new_scale`` (a float,
        or a 1-element tensor on this device type not requiring grad)."""
        if not self._enabled:
            return
        self._require_tensors("update")
        if new_scale is None:
            flags = [flag for progress in self._progress_by_optimizer.values()
                     for flag in progress.found_inf_per_device.values()]
            if not flags:
                raise AssertionError("No inf checks were recorded prior to update.")
            _update_scale(self._scale, self._growth_tracker,
                          _summed_on(flags, self._scale.device), self._growth_factor,
                          self._backoff_factor, self._growth_interval)
        elif isinstance(new_scale, float):
            self._scale.fill_(new_scale)
        else:
            if (new_scale.device.type != self._device or new_scale.numel() != 1
                    or new_scale.requires_grad):
                raise AssertionError(_BAD_NEW_SCALE)
            self._scale.copy_(new_scale)
        self._progress_by_optimizer = {}

    # -- reading and setting the state -------------------------------------------------

    def get_scale(self) -> float:
        """The current factor as a Python float (reads the device), ``init_scale`` before
        the first ``scale()``, 1.0 when disabled."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale.item()

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        tracker = self._growth_tracker
        return self._init_growth_tracker if tracker is None else tracker.item()

    def _get_scale_async(self):  # the tensor itself, for optimizers taking grad_scaler
        return self._scale

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = new_interval

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict:
        """The factor, the hyperparameters and the clean-step count as Python numbers
        (PyTorch's keys, so checkpoints load in either); empty when disabled."""
        if not self._enabled:
            return {}
        saved = {"scale": self.get_scale()}
        saved.update((name, getattr(self, "_" + name)) for name in _FACTORS)
        saved["_growth_tracker"] = self._get_growth_tracker()
        return saved

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        for name in _FACTORS:
            setattr(self, "_" + name, state_dict[name])
        self._init_scale = state_dict["scale"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._scale is not None:  # made already: they take the numbers now
            self._scale.fill_(self._init_scale)
            self._growth_tracker.fill_(self._init_growth_tracker)

    def __getstate__(self) -> dict:
        """Numbers, not device tensors: the unpickled scaler makes its tensors at its first
        ``scale()``. Refused mid-iteration, where the overflow flags would be lost."""
        state = dict(self.__dict__)
        if self._enabled:
            if self._progress_by_optimizer:
                raise AssertionError("A GradScaler instance may only be pickled at the "
                                     "beginning of an iteration, or at the end after "
                                     "scaler.update().")
            state.update(_init_scale=self.get_scale(),
                         _init_growth_tracker=self._get_growth_tracker(),
                         _scale=None, _growth_tracker=None)
        return state

    def _check_inf_per_device(self, optimizer) -> dict:
        """Only the overflow check (a multiply by 1), float16 gradients allowed: for
        optimizers that unscale in their own step."""
        self._require_tensors("_check_inf_per_device")
        flags = self._unscale_gradients(optimizer, self._scale.new_ones(()), allow_fp16=True)
        self._progress(optimizer).found_inf_per_device = flags
        return flags

    def _found_inf_per_device(self, optimizer) -> dict:
        return self._progress(optimizer).found_inf_per_device

    def _progress(self, optimizer) -> _Progress:
        return self._progress_by_optimizer.setdefault(id(optimizer), _Progress())

    def _make_tensors(self, like) -> None:
        self._scale = like.new_full((), self._init_scale, dtype=dtypes.float32)
        self._growth_tracker = like.new_full((), self._init_growth_tracker, dtype=dtypes.int32)

    def _require_tensors(self, funcname: str) -> None:
        """Before ``scale()`` there is no factor to divide by: PyTorch's AssertionError."""
        for name in ("_scale", "_growth_tracker"):
            if getattr(self, name) is None:
                raise AssertionError(f"Attempted {funcname} but {name} is None.  "
                                     + _NOT_SCALED_YET)

    def _unscale_gradients(self, optimizer, inv_scale, allow_fp16: bool) -> dict:
        """Multiplies ``optimizer``'s gradients in place by ``inv_scale`` (0-d, on the
        factor's device), one kernel per device and dtype on cuda; returns a fresh
        overflow flag per device, none of them read back."""
        from ..autograd.grad_mode import no_grad

        flags = {}
        with no_grad():
            groups = _gradients_by_device_and_dtype(optimizer, allow_fp16)
            for device, by_dtype in groups.items():
                flags[device] = self._scale.new_zeros((), device=device)
                inv_scale_here = _on(inv_scale, device)
                for grads in by_dtype.values():
                    _unscale_and_check(grads, flags[device], inv_scale_here)
        return flags


def _gradients_by_device_and_dtype(optimizer, allow_fp16: bool) -> dict:
    """``{device: {dtype: [gradient, ...]}}`` over ``optimizer``'s parameters, because
    the kernel takes one device's arrays of one dtype. A sparse gradient contributes its
    values; a float16 one is coalesced first, since duplicate indices whose scaled values
    are finite apart can overflow once summed."""
    from .._tensor import Tensor

    groups: dict = {}
    for group in optimizer.param_groups:
        for param in group["params"]:
            if not isinstance(param, Tensor):
                raise AssertionError(
                    f"expected param to be torch.Tensor, got {type(param).__name__}")
            grad = param.grad
            if grad is None:
                continue
            if grad.dtype == dtypes.float16 and not allow_fp16:
                raise ValueError("Attempting to unscale FP16 gradients.")
            if grad.is_sparse:
                if grad.dtype == dtypes.float16:
                    grad = grad.coalesce()
                    param.grad = grad
                grad = grad._values()
            groups.setdefault(grad.device, {}).setdefault(grad.dtype, []).append(grad)
    return groups


def _on(tensor, device):
    """``tensor`` on ``device``: itself when it is there (callers only read it), else an
    asynchronous copy."""
    if tensor.device == device:
        return tensor
    return tensor.to(device=device, non_blocking=True, copy=True)


def _summed_on(flags, device):
    """Overflow flags added up on ``device`` without a read (nonzero: some gradient was
    inf/NaN); the flag itself when there is one, 0 when there is none."""
    total = None
    for flag in flags:
        moved = _on(flag, device)
        total = moved if total is None else total + moved
    return 0 if total is None else total


def _unscale_and_check(grads, found_inf, inv_scale) -> None:
    """Sets ``found_inf`` (0-d float32) to 1 if any of ``grads`` (one device and dtype)
    holds an inf/NaN, judged before the multiply as PyTorch does, and multiplies each in
    place by ``inv_scale`` (0-d float32). One kernel on cuda where the arrays allow;
    otherwise array ops, the flag still set on the device."""
    arrays = [g._data for g in grads]
    flag, inv = found_inf._data, inv_scale._data
    if not multi_tensor.unscale_(arrays, inv.reshape(1), flag.reshape(1)):
        xp = array_module(flag)
        all_finite = xp.stack([xp.isfinite(a).all() for a in arrays]).all()
        flag[...] = xp.maximum(flag, xp.logical_not(all_finite))
        for array in arrays:
            if array.dtype.itemsize < 4:
                # float16 / bfloat16: multiplied in float32 and rounded once, as PyTorch's
                array[...] = (array.astype(np.float32) * inv).astype(array.dtype)
            else:  # float64 times the float32 inverse stays float64, as PyTorch's
                array *= inv
    for g in grads:
        g._vc[0] += 1  # changed in place: autograd's saved-tensor check must see it


# update(): the factor is float32 and the counter int32; the products are formed in
# float64 and rounded once. A NaN flag counts as an overflow (it is nonzero).
_UPDATE_SCALE = """
const bool overflow = found_inf[0] != 0.0f;
const int clean = overflow ? 0 : tracker[0] + 1;
const bool grow = !overflow && clean == growth_interval;
float next = scale[0];
if (overflow) {
    next = (float)(scale[0] * backoff_factor);
} else if (grow) {
    const float grown = (float)(scale[0] * growth_factor);
    if (isfinite(grown)) next = grown;  /* an inf factor would skip every step */
}
scale[0] = next;
tracker[0] = grow ? 0 : clean;
"""


def _update_scale(scale, growth_tracker, found_inf, growth_factor, backoff_factor,
                  growth_interval) -> None:
    """``update()``'s arithmetic in place on the device: one launch on cuda, the same
    values from array ops elsewhere (``xp.where``, so nothing is read back)."""
    factor, tracker, found = scale._data, growth_tracker._data, found_inf._data
    xp = array_module(factor)
    kernel = elementwise(xp, "ember_amp_update_scale", "raw float32 found_inf, "
                         "float64 growth_factor, float64 backoff_factor, int32 growth_interval",
                         "raw float32 scale, raw int32 tracker", _UPDATE_SCALE)
    if launch(xp, kernel, found.reshape(1), np.float64(growth_factor),
              np.float64(backoff_factor), np.int32(growth_interval), factor.reshape(1),
              tracker.reshape(1), size=1):
        return
    overflow = found != 0
    clean = xp.where(overflow, np.int32(0), tracker + np.int32(1))
    grow = xp.logical_not(overflow) & (clean == growth_interval)
    wide = factor.astype(np.float64)
    grown = (wide * growth_factor).astype(np.float32)
    backed_off = (wide * backoff_factor).astype(np.float32)
    kept_or_grown = xp.where(grow & xp.isfinite(grown), grown, factor)
    factor[...] = xp.where(overflow, backed_off, kept_or_grown)
    tracker[...] = xp.where(grow, np.int32(0), clean)


def _cuda_available() -> bool:
    return cupy_module() is not None
