"""Autocast's switches as functions: PyTorch's ``torch.set_autocast_enabled``,
``set_autocast_dtype``, the cache and nesting counters, and the deprecated per-device
spellings (``set_autocast_cpu_enabled``, ``get_autocast_gpu_dtype``, ...).

They read and write the one state ``ember.autocast`` uses: ``autocast_state.ACTIVE``
(the devices where autocast is on, each with its lower-precision dtype) plus, here, each
device's configured dtype (what ``autocast(device)`` picks when given no dtype, and what
``set_autocast_enabled`` turns on), the cache flag and the nesting depth.
"""

from __future__ import annotations

import warnings

from .._backend import autocast_state
from .._backend import dtypes as _dt
from .._backend.device import device as _device_type

__all__ = [
    "set_autocast_enabled", "is_autocast_cpu_enabled", "set_autocast_cpu_enabled",
    "get_autocast_cpu_dtype", "set_autocast_cpu_dtype", "get_autocast_gpu_dtype",
    "set_autocast_gpu_dtype", "set_autocast_dtype", "is_autocast_cache_enabled",
    "set_autocast_cache_enabled", "clear_autocast_cache", "autocast_increment_nesting",
    "autocast_decrement_nesting",
]

# PyTorch's autocast-capable device types and their default lower-precision dtypes
DTYPES = {"cpu": _dt.bfloat16, "cuda": _dt.float16, "xpu": _dt.float16, "ipu": _dt.float16,
          "hpu": _dt.bfloat16, "xla": _dt.bfloat16, "mps": _dt.float16, "mtia": _dt.float16,
          "privateuseone": _dt.float16}
CACHE_ENABLED = [True]
NESTING = [0]


def _autocast_device(device_type, fn, position=1):
    """The device type named by ``device_type`` ('cuda:0' -> 'cuda'), PyTorch's errors."""
    if not isinstance(device_type, str):
        raise TypeError(f"{fn}(): argument 'device_type' (position {position}) must be str, "
                        f"not {type(device_type).__name__}")
    kind = _device_type(device_type).type  # unknown names: PyTorch's device-string error
    if kind not in DTYPES:
        raise RuntimeError("unknown device type for autocast in "
                           "get_autocast_dispatch_key_from_device_type")
    return kind


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    """Whether autocast is on for ``device_type`` (no argument: cuda, as PyTorch)."""
    kind = _autocast_device(device_type, "is_autocast_enabled")
    active = autocast_state.ACTIVE[0]
    return bool(active) and kind in active


def get_autocast_dtype(device_type: str):
    """The lower-precision dtype autocast uses (or would use) on ``device_type``."""
    kind = _autocast_device(device_type, "get_autocast_dtype")
    active = autocast_state.ACTIVE[0]
    if active and kind in active:
        return _dt.from_numpy_dtype(active[kind])
    return DTYPES[kind]


def set_autocast_enabled(*args) -> None:
    """``set_autocast_enabled(device_type, enabled)``, or ``set_autocast_enabled(enabled)``
    for cuda: turn autocast on or off there without a ``with`` block."""
    if len(args) == 1 and isinstance(args[0], bool):
        kind, enabled = "cuda", args[0]
    elif len(args) == 2:
        kind = _autocast_device(args[0], "set_autocast_enabled")
        enabled = args[1]
        if not isinstance(enabled, bool):
            raise TypeError("set_autocast_enabled(): argument 'enabled' (position 2) must be "
                            f"bool, not {type(enabled).__name__}")
    elif len(args) == 1:
        raise TypeError("set_autocast_enabled(): argument 'enabled' (position 1) must be "
                        f"bool, not {type(args[0]).__name__}")
    else:
        got = ", ".join(type(a).__name__ for a in args)
        raise TypeError(f"set_autocast_enabled() received an invalid combination of arguments "
                        f"- got ({got}), but expected one of:\n * (str device_type, bool "
                        "enabled)\n * (bool enabled)\n")
    _set_enabled(kind, enabled)


def _set_enabled(kind, enabled):
    state = dict(autocast_state.ACTIVE[0] or {})
    if enabled:
        state[kind] = DTYPES[kind].numpy_dtype
    else:
        state.pop(kind, None)
    autocast_state.ACTIVE[0] = state or None


def set_autocast_dtype(device_type: str, dtype) -> None:
    """The dtype autocast casts to on ``device_type`` (now, if it is on; and for the next
    ``autocast(device_type)`` given no dtype)."""
    kind = _autocast_device(device_type, "set_autocast_dtype")
    if not isinstance(dtype, _dt.dtype):
        raise TypeError("set_autocast_dtype(): argument 'dtype' (position 2) must be "
                        f"torch.dtype, not {type(dtype).__name__}")
    _set_dtype(kind, dtype)


def _set_dtype(kind, dtype):
    DTYPES[kind] = dtype
    active = autocast_state.ACTIVE[0]
    if active and kind in active:
        autocast_state.ACTIVE[0] = {**active, kind: dtype.numpy_dtype}


def _deprecated(old, new):
    warnings.warn(f"torch.{old} is deprecated. Please use torch.{new} instead.",
                  DeprecationWarning, stacklevel=3)


def is_autocast_cpu_enabled() -> bool:
    _deprecated("is_autocast_cpu_enabled()", "is_autocast_enabled('cpu')")
    return is_autocast_enabled("cpu")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    _require_bool(enabled)
    _deprecated("set_autocast_cpu_enabled(enabled)", "set_autocast_enabled('cpu', enabled)")
    _set_enabled("cpu", enabled)


def get_autocast_cpu_dtype():
    _deprecated("get_autocast_cpu_dtype()", "get_autocast_dtype('cpu')")
    return get_autocast_dtype("cpu")


def get_autocast_gpu_dtype():
    _deprecated("get_autocast_gpu_dtype()", "get_autocast_dtype('cuda')")
    return get_autocast_dtype("cuda")


def _require_dtype(dtype):
    if not isinstance(dtype, _dt.dtype):
        raise TypeError(f"dtype must be a torch.dtype (got {type(dtype).__name__})")


def set_autocast_cpu_dtype(dtype) -> None:
    _require_dtype(dtype)
    _deprecated("set_autocast_cpu_dtype(dtype)", "set_autocast_dtype('cpu', dtype)")
    _set_dtype("cpu", dtype)


def set_autocast_gpu_dtype(dtype) -> None:
    _require_dtype(dtype)
    _deprecated("set_autocast_gpu_dtype(dtype)", "set_autocast_dtype('cuda', dtype)")
    _set_dtype("cuda", dtype)


def _require_bool(enabled):
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool (got {type(enabled).__name__})")


def is_autocast_cache_enabled() -> bool:
    return CACHE_ENABLED[0]


def set_autocast_cache_enabled(enabled: bool) -> None:
    """Recorded for the ``autocast(cache_enabled=...)`` protocol. ember keeps no cache of
    cast weights: each op casts its inputs when it runs."""
    _require_bool(enabled)
    CACHE_ENABLED[0] = enabled


def clear_autocast_cache() -> None:
    """Drop cached casts: ember caches none, so there is nothing to drop."""


def autocast_increment_nesting() -> int:
    """One more autocast region entered; returns the new depth."""
    NESTING[0] += 1
    return NESTING[0]


def autocast_decrement_nesting() -> int:
    """One autocast region left; returns the new depth (PyTorch lets it go negative)."""
    NESTING[0] -= 1
    return NESTING[0]
