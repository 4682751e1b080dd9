"""ember.accelerator: the device-agnostic view of the one accelerator ember can drive
(CUDA through CuPy). With none present, ``current_accelerator()`` is None, as in PyTorch.
"""

from __future__ import annotations

from . import cuda as _cuda
from ._backend.device import device as _device_type


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
    return _cuda.current_device()


def set_device_index(device) -> None:
    _cuda.set_device(device)


def synchronize(device=None) -> None:
    _cuda.synchronize(device)


__all__ = [
    "is_available", "current_accelerator", "device_count", "current_device_index",
    "set_device_index", "synchronize",
]
