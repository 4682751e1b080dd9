"""``ember.amp.GradScaler``: loss scaling for float16 training, PyTorch's class as its
users see it.

``scale(loss)`` multiplies by the current scale; ``step(optimizer)`` unscales the
gradients (once), skips the step if any is inf/nan, and ``update()`` grows the scale
after ``growth_interval`` clean steps or backs it off after an overflow.

Why the scale, the growth tracker and the inf flags are 0-d tensors on the loss's device
(made lazily by the first ``scale()``), as PyTorch's are: a GPU step then never waits
for the device except once, in ``step()``, where the host must decide whether to call
``optimizer.step()``. On cuda the unscale and inf check of all gradients of one dtype is
one kernel (``_backend/multi_tensor.unscale_``) and ``update()`` is one kernel too; the
array path (NumPy, or a CuPy that cannot compile) computes the same values with array
ops, still without reading anything back.
"""

from __future__ import annotations

import inspect
import warnings
from collections import abc, defaultdict
from enum import Enum

import numpy as np

from .._backend import multi_tensor
from .._backend.device import array_module, cupy_module
from .._backend.kernels import elementwise, launch

__all__ = ["OptState", "GradScaler"]


class _MultiDeviceReplicator:
    """Lazily serves copies of a tensor to the devices asked for, one per device.

    Unlike PyTorch's, the tensor's own device gets the tensor itself, not a copy: every
    master here is a fresh 0-d tensor made for one call (the inverse scale, a zero
    flag), so a same-device copy would only be one more launch per step."""

    def __init__(self, master_tensor) -> None:
        self.master = master_tensor
        self._per_device_tensors: dict = {}

    def get(self, device):
        retval = self._per_device_tensors.get(device)
        if retval is None:
            retval = self.master
            if device != self.master.device:
                retval = self.master.to(device=device, non_blocking=True, copy=True)
            self._per_device_tensors[device] = retval
        return retval


# Top level, as PyTorch's: a lambda default factory would not pickle.
class OptState(Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state() -> dict:
    return {"stage": OptState.READY, "found_inf_per_device": {}}


class GradScaler:
    """Helps perform the steps of gradient scaling conveniently.

    * ``scaler.scale(loss)`` multiplies a given loss by ``scaler``'s current scale factor.
    * ``scaler.step(optimizer)`` safely unscales gradients and calls ``optimizer.step()``.
    * ``scaler.update()`` updates ``scaler``'s scale factor.

    Args:
        device (str, default "cuda"): the device type of the losses ("cuda" or "cpu").
        init_scale (float, default 2.**16): initial scale factor.
        growth_factor (float, default 2.0): factor of the scale after ``growth_interval``
            consecutive iterations without inf/NaN gradients.
        backoff_factor (float, default 0.5): factor of the scale after an iteration with
            inf/NaN gradients.
        growth_interval (int, default 2000): the number of such clean iterations.
        enabled (bool, default True): if False, ``step`` simply calls
            ``optimizer.step()`` and the other methods do nothing.

    Example::

        scaler = GradScaler()
        for input, target in data:
            optimizer.zero_grad()
            with autocast(device_type="cuda", dtype=torch.float16):
                loss = loss_fn(model(input), target)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = device
        self._enabled = enabled
        if self._device == "cuda" and enabled and not _cuda_available():
            warnings.warn(
                "torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                stacklevel=2,
            )
            self._enabled = False

        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale = None  # made on the first scale(), on the loss's device
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker = None
            self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _check_scale_growth_tracker(self, funcname: str):
        fix = ("This may indicate your script did not use scaler.scale(loss or outputs) "
               "earlier in the iteration.")
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)
        return self._scale, self._growth_tracker

    def _lazy_init_scale_growth_tracker(self, like) -> None:
        """The 0-d float32 scale and int32 tracker on ``like``'s device."""
        from .._backend import dtypes

        if self._growth_tracker is not None:
            raise AssertionError("_growth_tracker initialized before _scale")
        self._scale = like.new_full((), self._init_scale, dtype=dtypes.float32)
        self._growth_tracker = like.new_full((), self._init_growth_tracker,
                                             dtype=dtypes.int32)

    def scale(self, outputs):
        """Multiplies ('scales') a tensor or an iterable of tensors by the scale factor.

        Lists and tuples come back as their type, other iterables as a lazy ``map``, as
        PyTorch's. If this instance is not enabled, outputs are returned unmodified."""
        if not self._enabled:
            return outputs
        from .._tensor import Tensor

        if isinstance(outputs, Tensor):  # the common case
            if self._scale is None:
                self._lazy_init_scale_growth_tracker(outputs)
            return outputs * self._scale.to(device=outputs.device, non_blocking=True)

        stash: list = []  # the replicator, made at the first tensor met

        def apply_scale(val):
            if isinstance(val, Tensor):
                if len(stash) == 0:
                    if self._scale is None:
                        self._lazy_init_scale_growth_tracker(val)
                    stash.append(_MultiDeviceReplicator(self._scale))
                return val * stash[0].get(val.device)
            if isinstance(val, abc.Iterable):
                iterable = map(apply_scale, val)
                if isinstance(val, (list, tuple)):
                    return type(val)(iterable)
                return iterable
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply_scale(outputs)

    def _unscale_grads_(self, optimizer, inv_scale, found_inf, allow_fp16: bool) -> dict:
        """Unscale ``optimizer``'s gradients grouped by device and dtype (one kernel per
        group on cuda); returns ``{device: found_inf}``, nothing read back."""
        from .._tensor import Tensor
        from ..autograd.grad_mode import no_grad

        per_device_inv_scale = _MultiDeviceReplicator(inv_scale)
        per_device_found_inf = _MultiDeviceReplicator(found_inf)
        per_device_and_dtype_grads: dict = defaultdict(lambda: defaultdict(list))
        with no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    if not isinstance(param, Tensor):
                        raise AssertionError(
                            f"expected param to be torch.Tensor, got {type(param).__name__}")
                    if param.grad is None:
                        continue
                    if (not allow_fp16) and param.grad.dtype == _float16():
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    if param.grad.is_sparse:
                        # Duplicate indices of scaled fp16 values may overflow only once
                        # summed, so those are checked coalesced.
                        if param.grad.dtype == _float16():
                            param.grad = param.grad.coalesce()
                        to_unscale = param.grad._values()
                    else:
                        to_unscale = param.grad
                    per_device_and_dtype_grads[to_unscale.device][
                        to_unscale.dtype].append(to_unscale)

            for device, per_dtype_grads in per_device_and_dtype_grads.items():
                for grads in per_dtype_grads.values():
                    _amp_foreach_non_finite_check_and_unscale_(
                        grads, per_device_found_inf.get(device),
                        per_device_inv_scale.get(device))

        return per_device_found_inf._per_device_tensors

    def unscale_(self, optimizer) -> None:
        """Divides ("unscales") the optimizer's gradient tensors by the scale factor, in
        place, and records whether any was inf/NaN; does not synchronise.

        Call it once per optimizer per ``step`` (for example before clipping); a second
        call raises. Sparse float16 gradients may be replaced by their coalesced form."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update()."
            )
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # the reciprocal in float64, as PyTorch's (a float32 division can be inexact)
        inv_scale = self._scale.double().reciprocal().float()
        found_inf = self._scale.new_zeros(())
        optimizer_state["found_inf_per_device"] = self._unscale_grads_(
            optimizer, inv_scale, found_inf, False)
        optimizer_state["stage"] = OptState.UNSCALED

    def _maybe_opt_step(self, optimizer, optimizer_state, *args, **kwargs):
        """The step's one synchronisation: the host reads the inf flags (one per device)."""
        retval = None
        if not sum(v.item() for v in optimizer_state["found_inf_per_device"].values()):
            retval = optimizer.step(*args, **kwargs)
        return retval

    def step(self, optimizer, *args, **kwargs):
        """``unscale_(optimizer)`` unless already done, then ``optimizer.step(*args,
        **kwargs)`` unless a gradient is inf/NaN; returns what that step returned.
        Closures are not supported."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")

        if getattr(optimizer, "_step_supports_amp_scaling", False):
            return self._step_scaling_optimizer(optimizer, optimizer_state, args, kwargs)

        if optimizer_state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if len(optimizer_state["found_inf_per_device"]) == 0:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = self._maybe_opt_step(optimizer, optimizer_state, *args, **kwargs)
        optimizer_state["stage"] = OptState.STEPPED
        return retval

    def _step_scaling_optimizer(self, optimizer, optimizer_state, args, kwargs):
        """PyTorch's contract with optimizers that unscale themselves
        (``_step_supports_amp_scaling``): a ``grad_scaler`` keyword (deprecated), or the
        ``grad_scale`` and ``found_inf`` attributes set for the duration of the step."""
        kwargs_ = kwargs
        has_grad_scaler_kwarg = "grad_scaler" in inspect.signature(optimizer.step).parameters
        if has_grad_scaler_kwarg:
            warnings.warn(
                "GradScaler is going to stop passing itself as a keyword argument to the "
                "passed optimizer. In the near future GradScaler registers `grad_scale: "
                "Tensor` and `found_inf: Tensor` to the passed optimizer and let the "
                "optimizer use them directly.", FutureWarning, stacklevel=3)
            kwargs_.update({"grad_scaler": self})
        else:
            if optimizer_state["stage"] is OptState.READY:
                self._check_inf_per_device(optimizer)
            scaler = self._get_scale_async()
            found_inf = sum(t.to(scaler.device, non_blocking=True)
                            for t in optimizer_state["found_inf_per_device"].values())
            optimizer.grad_scale = (
                getattr(optimizer, "grad_scale", None)
                if optimizer_state["stage"] == OptState.UNSCALED
                else scaler * getattr(optimizer, "grad_scale", 1))
            optimizer.found_inf = found_inf
        retval = optimizer.step(*args, **kwargs_)
        optimizer_state["stage"] = OptState.STEPPED
        if not has_grad_scaler_kwarg:
            del optimizer.grad_scale
            del optimizer.found_inf
        return retval

    def update(self, new_scale=None) -> None:
        """Update the scale factor: times ``backoff_factor`` if any optimizer step was
        skipped, times ``growth_factor`` after ``growth_interval`` clean iterations; or
        ``new_scale`` (a float, or a 1-element tensor on this scaler's device type) if
        given. Does not synchronise."""
        if not self._enabled:
            return
        _scale, _growth_tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                self._scale.fill_(new_scale)
            else:
                reason = ("new_scale should be a float or a 1-element torch.cuda.FloatTensor "
                          "or torch.FloatTensor with requires_grad=False.")
                if new_scale.device.type != self._device:
                    raise AssertionError(reason)
                if new_scale.numel() != 1:
                    raise AssertionError(reason)
                if new_scale.requires_grad is True:
                    raise AssertionError(reason)
                self._scale.copy_(new_scale)
        else:
            found_infs = [found_inf.to(device=_scale.device, non_blocking=True)
                          for state in self._per_optimizer_states.values()
                          for found_inf in state["found_inf_per_device"].values()]
            if len(found_infs) == 0:
                raise AssertionError("No inf checks were recorded prior to update.")
            found_inf_combined = found_infs[0]
            for found_inf in found_infs[1:]:
                found_inf_combined += found_inf
            _amp_update_scale_(_scale, _growth_tracker, found_inf_combined,
                               self._growth_factor, self._backoff_factor,
                               self._growth_interval)
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _get_scale_async(self):
        return self._scale

    def get_scale(self) -> float:
        """The current scale as a Python float (the init scale before the first
        ``scale()``), or 1.0 if disabled. Synchronises."""
        if self._enabled:
            scale = self._get_scale_async()
            return self._init_scale if scale is None else scale.item()
        return 1.0

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

    def _get_growth_tracker(self) -> int:
        if self._enabled:
            return (self._init_growth_tracker if self._growth_tracker is None
                    else self._growth_tracker.item())
        return 0

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict:
        """``scale``, ``growth_factor``, ``backoff_factor``, ``growth_interval`` and
        ``_growth_tracker`` as Python numbers; empty if disabled."""
        if self._enabled:
            return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                    "backoff_factor": self._backoff_factor,
                    "growth_interval": self._growth_interval,
                    "_growth_tracker": self._get_growth_tracker()}
        return {}

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved "
                "from a disabled instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale.fill_(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(state_dict["_growth_tracker"])

    def __getstate__(self) -> dict:
        """Pickled as numbers: the unpickled scaler makes its tensors again lazily."""
        state = self.__dict__.copy()
        if self._enabled:
            if len(self._per_optimizer_states) != 0:
                raise AssertionError(
                    "A GradScaler instance may only be pickled at the beginning "
                    "of an iteration, or at the end after scaler.update().")
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def _check_inf_per_device(self, optimizer) -> dict:
        """The inf check alone (inverse scale 1), float16 gradients allowed."""
        _scale, _ = self._check_scale_growth_tracker("_check_inf_per_device")
        dummy_inv_scale = _scale.new_ones(())
        found_inf = _scale.new_zeros(())
        self._per_optimizer_states[id(optimizer)]["found_inf_per_device"] = (
            self._unscale_grads_(optimizer, dummy_inv_scale, found_inf, True))
        return self._per_optimizer_states[id(optimizer)]["found_inf_per_device"]

    def _found_inf_per_device(self, optimizer) -> dict:
        return self._per_optimizer_states[id(optimizer)]["found_inf_per_device"]


def _amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inv_scale) -> None:
    """PyTorch's kernel of that name over tensors of one device and dtype: ``found_inf``
    (0-d float32) set to 1 if any value is inf/NaN, tested before the multiply, then
    each value times ``inv_scale`` (0-d float32), computed in float32 for float16 and
    bfloat16. On cuda one kernel where the tensors allow it; else array ops per
    tensor, the flags combined on the device (no read back either way)."""
    arrays = [g._data for g in grads]
    flag, inv = found_inf._data, inv_scale._data
    if not multi_tensor.unscale_(arrays, inv.reshape(1), flag.reshape(1)):
        xp = array_module(flag)
        finite = xp.stack([xp.isfinite(a).all() for a in arrays]).all()
        flag[...] = xp.maximum(flag, xp.logical_not(finite))
        for array in arrays:
            if array.dtype.itemsize < 4:  # float16, bfloat16: torch's float32 opmath
                array[...] = (array.astype(np.float32) * inv).astype(array.dtype)
            else:  # float32 * float32; float64 * float32 -> float64, as torch's
                array *= inv
    for g in grads:
        g._vc[0] += 1


# torch's _amp_update_scale_ kernel: float32 scale, int32 tracker, the products in float64
_UPDATE_SCALE = """
if (found_inf[0]) {
    scale[0] = (float)(scale[0] * backoff_factor);
    tracker[0] = 0;
} else {
    const int successful = tracker[0] + 1;
    if (successful == growth_interval) {
        const float grown = (float)(scale[0] * growth_factor);
        if (isfinite(grown)) scale[0] = grown;
        tracker[0] = 0;
    } else {
        tracker[0] = successful;
    }
}
"""


def _amp_update_scale_(scale, growth_tracker, found_inf, growth_factor, backoff_factor,
                       growth_interval) -> None:
    """PyTorch's ``_amp_update_scale_``, in place on the device: one launch on cuda, the
    same arithmetic as array ops elsewhere (``xp.where``: nothing is read back)."""
    s, tracker, found = scale._data, growth_tracker._data, found_inf._data
    xp = array_module(s)
    kernel = elementwise(xp, "ember_amp_update_scale", "raw float32 found_inf, "
                         "float64 growth_factor, float64 backoff_factor, int32 growth_interval",
                         "raw float32 scale, raw int32 tracker", _UPDATE_SCALE)
    if launch(xp, kernel, found.reshape(1), np.float64(growth_factor),
              np.float64(backoff_factor), np.int32(growth_interval), s.reshape(1),
              tracker.reshape(1), size=1):
        return
    overflowed = found != 0  # NaN counts, as the kernel's truth test
    successful = tracker + np.int32(1)
    grow = successful == growth_interval
    grown = (s.astype(np.float64) * growth_factor).astype(np.float32)
    kept = xp.where(grow & xp.isfinite(grown), grown, s)
    backed_off = (s.astype(np.float64) * backoff_factor).astype(np.float32)
    s[...] = xp.where(overflowed, backed_off, kept)
    tracker[...] = xp.where(overflowed | grow, np.int32(0), successful)


def _float16():
    from .._backend import dtypes

    return dtypes.float16


def _cuda_available() -> bool:
    return cupy_module() is not None
