"""ember.accelerator: the device-agnostic view of the one accelerator ember can drive
(CUDA through CuPy). With none present, ``current_accelerator()`` is None and every query
that needs a device raises PyTorch's "Cannot access accelerator device when none is
available." RuntimeError, as PyTorch's CPU build does; with a GPU they forward to
``ember.cuda``.
"""

from __future__ import annotations

import warnings

from . import cuda as _cuda
from ._backend.device import device as _device_type

_NO_ACCELERATOR = "Cannot access accelerator device when none is available."


def _require():
    if not _cuda.is_available():
        raise RuntimeError(_NO_ACCELERATOR)


def _cuda_index(device):
    """``device`` (None, int, str or device) as a cuda index; another type is refused as
    PyTorch refuses a device that is not the accelerator's."""
    _require()
    if device is None or isinstance(device, int):
        return device
    dev = _device_type(device)
    if dev.type != "cuda":
        raise ValueError(f"{dev.type} doesn't match the current accelerator cuda.")
    return dev.index


def is_available() -> bool:
    return _cuda.is_available()


def current_accelerator(check_available: bool = False):
    """``device(type='cuda')`` when a GPU is usable, else None."""
    if _cuda.is_available():
        return _device_type("cuda")
    return None


def device_count() -> int:
    return _cuda.device_count()


def current_device_index() -> int:
    _require()
    return _cuda.current_device()


def set_device_index(device, /) -> None:
    _cuda.set_device(_cuda_index(device))


def current_device_idx() -> int:
    """Deprecated name of ``current_device_index``."""
    warnings.warn("Use `current_device_index` instead.", FutureWarning, stacklevel=2)
    return current_device_index()


def set_device_idx(device, /) -> None:
    """Deprecated name of ``set_device_index``."""
    warnings.warn("Use `set_device_index` instead.", FutureWarning, stacklevel=2)
    set_device_index(device)


class device_index:  # noqa: N801 - PyTorch's name
    """``with ember.accelerator.device_index(i):`` makes device ``i`` current inside the
    block (None: no switch)."""

    def __init__(self, device, /) -> None:
        self.idx = device
        self.prev_idx = -1

    def __enter__(self) -> None:
        if self.idx is not None:
            self.prev_idx = current_device_index()
            set_device_index(self.idx)

    def __exit__(self, *exc_info) -> None:
        if self.idx is not None and self.prev_idx != -1:
            set_device_index(self.prev_idx)


def synchronize(device=None, /) -> None:
    _cuda.synchronize(_cuda_index(device))


def current_stream(device=None, /):
    return _cuda.current_stream(_cuda_index(device))


def set_stream(stream, /) -> None:
    """Make ``stream`` (a cuda stream) and its device current."""
    _require()
    inner = getattr(stream, "_cuda", None)  # ember.Stream("cuda") wraps an ember.cuda.Stream
    if isinstance(inner, _cuda.Stream):
        stream = inner
    if not isinstance(stream, _cuda.Stream):
        raise RuntimeError("Accelerator expected")
    _cuda.set_stream(stream)


# the CUDA build's dtypes CuPy allocates and converts between
_SUPPORTED = ("bool_", "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32",
              "uint64", "float16", "float32", "float64", "complex64", "complex128")


def get_device_capability(device=None, /) -> dict:
    """``{"supported_dtypes": {...}}``: the dtypes tensors on the device can have."""
    from ._backend import dtypes

    _cuda.get_device_properties(_cuda_index(device))  # a bad index raises here
    return {"supported_dtypes": {getattr(dtypes, name) for name in _SUPPORTED}}


# -- memory: the cuda allocator's numbers ----------------------------------------------------


def empty_cache() -> None:
    _require()
    _cuda.empty_cache()


def empty_host_cache() -> None:
    """Release the pinned host memory CuPy caches."""
    _require()
    _cuda.cupy_module().get_default_pinned_memory_pool().free_all_blocks()


def memory_stats(device_index=None, /) -> dict:
    return _cuda.memory_stats(_cuda_index(device_index))


def memory_allocated(device_index=None, /) -> int:
    return _cuda.memory_allocated(_cuda_index(device_index))


def max_memory_allocated(device_index=None, /) -> int:
    return _cuda.max_memory_allocated(_cuda_index(device_index))


def memory_reserved(device_index=None, /) -> int:
    return _cuda.memory_reserved(_cuda_index(device_index))


def max_memory_reserved(device_index=None, /) -> int:
    return _cuda.max_memory_reserved(_cuda_index(device_index))


def reset_peak_memory_stats(device_index=None, /) -> None:
    _cuda.reset_peak_memory_stats(_cuda_index(device_index))


def reset_accumulated_memory_stats(device_index=None, /) -> None:
    """ember's counters are all current or peak values; nothing accumulates."""
    _cuda_index(device_index)


def get_memory_info(device_index=None, /) -> tuple:
    """(free, total) bytes of the device's memory."""
    return _cuda.mem_get_info(_cuda_index(device_index))


__all__ = [
    "current_accelerator", "current_device_idx", "current_device_index", "current_stream",
    "device_count", "device_index", "empty_cache", "empty_host_cache",
    "get_device_capability", "get_memory_info", "is_available", "max_memory_allocated",
    "max_memory_reserved", "memory_allocated", "memory_reserved", "memory_stats",
    "reset_accumulated_memory_stats", "reset_peak_memory_stats", "set_device_idx",
    "set_device_index", "set_stream", "synchronize",
]
