"""ember.cpu: ``torch.cpu``, the CPU spelled like an accelerator (``torch.cuda``'s
names), so device-agnostic code such as ``getattr(torch, device.type).synchronize()``
runs on the CPU too. ember's CPU work is synchronous NumPy calls: there is one device,
streams and events exist only to be selected and waited on, and waiting returns at once.
"""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from types import MappingProxyType

from . import amp  # noqa: F401 - ember.cpu.amp, as torch.cpu.amp

__all__ = [
    "Event",
    "Stream",
    "StreamContext",
    "current_device",
    "current_stream",
    "device_count",
    "get_capabilities",
    "is_available",
    "is_initialized",
    "set_device",
    "stream",
    "synchronize",
]

# NumPy's runtime CPU-feature names -> the names torch.cpu.get_capabilities() uses.
_FEATURE_NAMES = {
    "SSE": "sse", "SSE2": "sse2", "SSE3": "sse3", "SSSE3": "ssse3", "SSE41": "sse4_1",
    "SSE42": "sse4_2", "POPCNT": "popcnt", "AVX": "avx", "F16C": "f16c", "FMA3": "fma3",
    "FMA4": "fma4", "AVX2": "avx2", "AVX512F": "avx512_f", "AVX512CD": "avx512_cd",
    "AVX512DQ": "avx512_dq", "AVX512BW": "avx512_bw", "AVX512VL": "avx512_vl",
    "AVX512IFMA": "avx512_ifma", "AVX512VBMI": "avx512_vbmi", "AVX512VBMI2": "avx512_vbmi2",
    "AVX512BITALG": "avx512_bitalg", "AVX512VPOPCNTDQ": "avx512_vpopcntdq",
    "AVX512VNNI": "avx512_vnni", "AVX512_BF16": "avx512_bf16", "AVX512FP16": "avx512_fp16",
    "AVX5124VNNIW": "avx512_4vnniw", "AVX5124FMAPS": "avx512_4fmaps",
}
_ARM_FEATURE_NAMES = {
    "ASIMD": "neon", "ASIMDHP": "fp16_arith", "ASIMDDP": "dot", "ASIMDFHM": "fhm",
    "SVE": "sve",
}


def _numpy_cpu_features() -> dict:
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # NumPy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as features
    return features


@lru_cache(None)
def get_capabilities():
    """A read-only mapping of the instruction sets this CPU supports, under PyTorch's key
    names (``'avx2'``, ``'avx512_f'``, ``'neon'``, ...) plus ``'architecture'`` and
    ``'num_logical_cores'``. Read from NumPy's runtime dispatch table: those are the
    kernels ember's math actually runs."""
    features = _numpy_cpu_features()
    arch = platform.machine().lower()
    names = _ARM_FEATURE_NAMES if arch.startswith(("arm", "aarch")) else _FEATURE_NAMES
    caps = {torch_name: bool(features[np_name])
            for np_name, torch_name in names.items() if np_name in features}
    caps["architecture"] = arch
    caps["num_logical_cores"] = os.cpu_count() or 1
    return MappingProxyType(caps)


def is_available() -> bool:
    """Always True: ember always has its CPU."""
    return True


def is_initialized() -> bool:
    return True


def synchronize(device=None) -> None:
    """Returns at once: every CPU op has finished when its call returns."""


def device_count() -> int:
    """Always 1: the CPU is one device (not one per core)."""
    return 1


def current_device() -> str:
    return "cpu"


def set_device(device) -> None:
    """Nothing to select: there is one CPU device."""


class Stream:
    """A CPU 'stream': work is never queued, so waiting on it is immediate."""

    def __init__(self, priority: int = -1) -> None:
        pass

    def wait_stream(self, stream) -> None:
        pass

    def record_event(self) -> None:
        pass

    def wait_event(self, event) -> None:
        pass


class Event:
    """A CPU 'event': always already reached."""

    def query(self) -> bool:
        return True

    def record(self, stream=None) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def wait(self, stream=None) -> None:
        pass


_default_stream = Stream()
_current_stream = _default_stream


def current_stream(device=None) -> Stream:
    """The stream selected by the innermost ``ember.cpu.stream(...)`` block."""
    return _current_stream


class StreamContext:
    """Selects ``stream`` as the current CPU stream inside a ``with`` block (None: no
    change)."""

    def __init__(self, stream):
        self.stream = stream
        self.prev_stream = _default_stream

    def __enter__(self):
        global _current_stream
        if self.stream is not None:
            self.prev_stream = _current_stream
            _current_stream = self.stream

    def __exit__(self, *exc) -> None:
        global _current_stream
        if self.stream is not None:
            _current_stream = self.prev_stream


def stream(stream) -> StreamContext:
    return StreamContext(stream)
