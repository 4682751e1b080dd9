"""ember.xpu: ``torch.xpu``, Intel GPUs, which ember does not drive.

Probing works as in a PyTorch build without XPU (``is_available()`` False,
``device_count()`` 0, empty memory statistics, seeding ignored); calls that need a
device raise PyTorch's ``AssertionError: Torch not compiled with XPU enabled``.
"""

from __future__ import annotations

import collections

__all__ = [
    "Event",
    "Stream",
    "StreamContext",
    "can_device_access_peer",
    "current_device",
    "current_stream",
    "default_generators",
    "device",
    "device_count",
    "device_of",
    "empty_cache",
    "get_arch_list",
    "get_device_capability",
    "get_device_name",
    "get_device_properties",
    "get_gencode_flags",
    "get_rng_state",
    "get_rng_state_all",
    "init",
    "initial_seed",
    "is_available",
    "is_bf16_supported",
    "is_initialized",
    "is_tf32_supported",
    "manual_seed",
    "manual_seed_all",
    "max_memory_allocated",
    "max_memory_reserved",
    "mem_get_info",
    "memory_allocated",
    "memory_reserved",
    "memory_snapshot",
    "memory_stats",
    "reset_peak_memory_stats",
    "seed",
    "seed_all",
    "set_device",
    "set_rng_state",
    "set_rng_state_all",
    "set_stream",
    "stream",
    "synchronize",
]

default_generators: tuple = ()


def _not_compiled():
    return AssertionError("Torch not compiled with XPU enabled")


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def _needs_device(*args, **kwargs):
    raise _not_compiled()


init = current_device = set_device = synchronize = _needs_device
get_device_name = get_device_properties = get_device_capability = _needs_device
initial_seed = get_rng_state = current_stream = mem_get_info = _needs_device
can_device_access_peer = get_per_process_memory_fraction = _needs_device


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def is_tf32_supported() -> bool:
    return False


def get_arch_list() -> list:
    return []


def get_gencode_flags() -> str:
    return ""


def _ignored(*args, **kwargs) -> None:
    """Seeding and cache calls are no-ops without XPU (PyTorch defers them until a device
    initialises, which never happens), so seeding every backend stays safe."""


manual_seed = manual_seed_all = seed = seed_all = set_rng_state = _ignored
empty_cache = reset_peak_memory_stats = set_stream = _ignored


def set_rng_state_all(new_states) -> None:
    for state in new_states:
        set_rng_state(state)


def get_rng_state_all() -> list:
    return []


def memory_stats(device=None) -> collections.OrderedDict:
    return collections.OrderedDict()


def memory_snapshot() -> list:
    return []


def memory_allocated(device=None) -> int:
    return 0


max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated


class Stream:
    """An XPU stream: cannot be created without XPU."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError("Tried to instantiate dummy base class Stream")


class Event:
    """An XPU event: cannot be created without XPU."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError("Tried to instantiate dummy base class Event")


class StreamContext:
    """Selects a stream in a ``with`` block; with no XPU only ``None`` can be given, and
    selecting it does nothing."""

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        if self.stream is not None:
            raise _not_compiled()

    def __exit__(self, *exc):
        return False


def stream(stream) -> StreamContext:
    return StreamContext(stream)


class device:
    """``with ember.xpu.device(i):``: cannot switch to an XPU that is not there."""

    def __init__(self, device):
        self.idx = device

    def __enter__(self):
        raise NotImplementedError("PyTorch was compiled without XPU support")

    def __exit__(self, *exc):
        return False


class device_of(device):
    """``device`` of a tensor's XPU (-1 for other tensors); entering raises as ``device``."""

    def __init__(self, obj):
        super().__init__(-1 if obj.device.type != "xpu" else obj.get_device())
