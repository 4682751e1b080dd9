"""ember.mps: ``torch.mps``, Apple's Metal backend, which ember does not have.

The names exist so device-agnostic code imports and probes it (``is_available()`` is
False, ``device_count()`` 0); anything that would need the device raises the
RuntimeError PyTorch raises on a machine without MPS.
"""

from __future__ import annotations

import contextlib
import os
from types import ModuleType

__all__ = [
    "Event",
    "compile_shader",
    "current_allocated_memory",
    "device_count",
    "driver_allocated_memory",
    "empty_cache",
    "get_rng_state",
    "is_available",
    "load_metallib",
    "manual_seed",
    "profiler",
    "recommended_max_memory",
    "seed",
    "set_per_process_memory_fraction",
    "set_rng_state",
    "synchronize",
]


def _no_backend(call: str):
    return RuntimeError(f"Cannot execute {call}() without MPS backend.")


def device_count() -> int:
    return 0


def is_available() -> bool:
    return False


def synchronize() -> None:
    raise _no_backend("deviceSynchronize")


def get_rng_state(device="mps"):
    raise _no_backend("getDefaultGenerator")


def set_rng_state(new_state, device="mps") -> None:
    raise _no_backend("getDefaultGenerator")


def manual_seed(seed: int) -> None:
    """Silently ignored without MPS, as in PyTorch, so seeding every backend is safe."""


def seed() -> None:
    raise _no_backend("getDefaultGenerator")


def empty_cache() -> None:
    raise _no_backend("emptyCache")


def set_per_process_memory_fraction(fraction) -> None:
    if not isinstance(fraction, float):
        raise TypeError("Invalid type for fraction argument, must be `float`")
    if not 0 <= fraction <= 2:
        raise ValueError(f"Invalid fraction value: {fraction}. Allowed range: 0~2")
    raise _no_backend("setMemoryFraction")


def current_allocated_memory() -> int:
    raise _no_backend("getCurrentAllocatedMemory")


def driver_allocated_memory() -> int:
    raise _no_backend("getDriverAllocatedMemory")


def recommended_max_memory() -> int:
    raise _no_backend("getRecommendedMaxMemory")


def compile_shader(source: str):
    raise RuntimeError("MPS is not available")


def load_metallib(source):
    if not isinstance(source, (bytes, bytearray, str, os.PathLike)):
        raise TypeError(f"expected bytes or path, got {type(source).__name__}")
    raise RuntimeError("MPS is not available")


class Event:
    """An MPS event: cannot be created without the backend."""

    def __init__(self, enable_timing: bool = False) -> None:
        raise _no_backend("acquireEvent")


def _profiler_start(mode: str = "interval", wait_until_completed: bool = False) -> None:
    raise _no_backend("profilerStartTrace")


def _profiler_stop() -> None:
    raise _no_backend("profilerStopTrace")


@contextlib.contextmanager
def _profile(mode: str = "interval", wait_until_completed: bool = False):
    try:
        _profiler_start(mode, wait_until_completed)
        yield
    finally:
        _profiler_stop()


profiler = ModuleType("ember.mps.profiler", "``torch.mps.profiler``: Metal traces, "
                      "unavailable without MPS.")
profiler.start = _profiler_start
profiler.stop = _profiler_stop
profiler.profile = _profile
profiler.is_metal_capture_enabled = lambda: False
profiler.is_capturing_metal = lambda: False
