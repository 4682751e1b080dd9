"""ember.cuda: device queries and CUDA utilities, served by CuPy.

Without CuPy or a GPU, ``is_available()`` is False, ``device_count()`` is 0, the seeding
calls are no-ops (as in PyTorch, so scripts that seed every device run anywhere) and
everything else raises a RuntimeError that says why.
"""

from __future__ import annotations

import collections

from .._backend.device import NO_CUDA, CudaUnavailableError, cupy_module
from .._backend.device import device as _device_type


def _cupy():
    cp = cupy_module()
    if cp is None:
        raise CudaUnavailableError(NO_CUDA)
    return cp


def is_available() -> bool:
    return cupy_module() is not None


def is_initialized() -> bool:
    return cupy_module() is not None


def init() -> None:
    _cupy()


def device_count() -> int:
    cp = cupy_module()
    return 0 if cp is None else int(cp.cuda.runtime.getDeviceCount())


def _index(device=None) -> int:
    if device is None:
        return current_device()
    if isinstance(device, int):
        return device
    dev = _device_type(device)
    if dev.type != "cuda":  # a cpu device must not silently mean the current GPU
        raise ValueError(f"Expected a cuda device, but got: {dev}")
    return dev.index if dev.index is not None else current_device()


def current_device() -> int:
    return int(_cupy().cuda.runtime.getDevice())


def set_device(device) -> None:
    cp = _cupy()
    cp.cuda.runtime.setDevice(_index(device))


# torch's _CudaDeviceProperties field -> the cudaDeviceProp key CuPy's runtime returns
_PROPERTY_KEYS = {
    "major": "major", "minor": "minor", "is_multi_gpu_board": "isMultiGpuBoard",
    "is_integrated": "integrated", "multi_processor_count": "multiProcessorCount",
    "total_memory": "totalGlobalMem",
    "max_threads_per_multi_processor": "maxThreadsPerMultiProcessor", "warp_size": "warpSize",
    "regs_per_multiprocessor": "regsPerMultiprocessor", "L2_cache_size": "l2CacheSize",
    "pci_bus_id": "pciBusID", "pci_device_id": "pciDeviceID", "pci_domain_id": "pciDomainID",
    "shared_memory_per_block": "sharedMemPerBlock",
    "shared_memory_per_block_optin": "sharedMemPerBlockOptin",
    "shared_memory_per_multiprocessor": "sharedMemPerMultiprocessor",
    "clock_rate": "clockRate", "memory_clock_rate": "memoryClockRate",
    "memory_bus_width": "memoryBusWidth",
}


def _uuid_string(raw):
    """The device UUID as PyTorch prints it: 16 bytes as 8-4-4-4-12 hex digits."""
    digits = bytes(raw or b"")[:16].ljust(16, b"\0").hex()
    return "-".join((digits[:8], digits[8:12], digits[12:16], digits[16:20], digits[20:]))


class _DeviceProperties:
    """``torch.cuda.get_device_properties``'s fields (memory in bytes, as PyTorch's) read
    from CuPy's cudaDeviceProp dictionary; a field the runtime does not report is 0."""

    def __init__(self, props):
        name = props["name"]
        self.name = name.decode() if isinstance(name, bytes) else name
        self.gcnArchName = self.name  # PyTorch's CUDA builds alias the HIP-only field
        for field, key in _PROPERTY_KEYS.items():
            setattr(self, field, int(props.get(key, 0)))
        self.uuid = _uuid_string(props.get("uuid"))

    def __repr__(self):
        megabyte = 1024 * 1024
        return (
            f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
            f"total_memory={self.total_memory // megabyte}MB, "
            f"multi_processor_count={self.multi_processor_count}, uuid={self.uuid}, "
            f"pci_bus_id={self.pci_bus_id}, pci_device_id={self.pci_device_id}, "
            f"pci_domain_id={self.pci_domain_id}, "
            f"L2_cache_size={self.L2_cache_size // megabyte}MB)"
        )


def get_device_properties(device=None) -> _DeviceProperties:
    cp = _cupy()
    index = _index(device)
    if not 0 <= index < device_count():
        raise AssertionError("Invalid device id")
    return _DeviceProperties(cp.cuda.runtime.getDeviceProperties(index))


def get_device_name(device=None) -> str:
    return get_device_properties(device).name


def get_device_capability(device=None) -> tuple:
    props = get_device_properties(device)
    return props.major, props.minor


def is_bf16_supported(including_emulation: bool = True) -> bool:
    if not is_available():
        return False
    return get_device_capability()[0] >= 8 or including_emulation


def synchronize(device=None) -> None:
    cp = _cupy()
    with cp.cuda.Device(_index(device)):
        cp.cuda.Device().synchronize()


# -- memory: CuPy's default pool is ember's allocator ---------------------------------------

_peaks: dict = {}  # device index -> {"allocated": bytes, "reserved": bytes}


def _pool_bytes(device, kind):
    """Bytes the pools of ``device`` (the default one and every live ``MemPool``) hold in
    use ("allocated") or in all ("reserved"); CuPy keeps one pool per device and answers
    for the current one. The peak is the largest value seen by these queries (CuPy
    reports no allocator peak). Without a GPU nothing was allocated: 0, as PyTorch
    answers."""
    if cupy_module() is None:
        return 0
    cp = _cupy()
    index = _index(device)
    value = 0
    with cp.cuda.Device(index):
        for pool in [cp.get_default_memory_pool()] + _mempool.live_pools():
            value += int(pool.used_bytes() if kind == "allocated" else pool.total_bytes())
    peaks = _peaks.setdefault(index, {"allocated": 0, "reserved": 0})
    peaks[kind] = max(peaks[kind], value)
    return value


def memory_allocated(device=None) -> int:
    return _pool_bytes(device, "allocated")


def max_memory_allocated(device=None) -> int:
    current = _pool_bytes(device, "allocated")
    if cupy_module() is None:
        return current
    return max(_peaks[_index(device)]["allocated"], current)


def memory_reserved(device=None) -> int:
    return _pool_bytes(device, "reserved")


def max_memory_reserved(device=None) -> int:
    current = _pool_bytes(device, "reserved")
    if cupy_module() is None:
        return current
    return max(_peaks[_index(device)]["reserved"], current)


def memory_stats(device=None) -> dict:
    """The allocator counters PyTorch's ``memory_stats`` names that CuPy's pool can give:
    bytes in use ("allocated") and held ("reserved"), current and peak (peaks as in
    ``max_memory_allocated``); empty without a GPU, as PyTorch's."""
    if cupy_module() is None:
        return collections.OrderedDict()
    stats = {}
    for kind, current, peak in (("allocated", memory_allocated, max_memory_allocated),
                                ("reserved", memory_reserved, max_memory_reserved)):
        stats[f"{kind}_bytes.all.current"] = current(device)
        stats[f"{kind}_bytes.all.peak"] = peak(device)
    return dict(sorted(stats.items()))


def mem_get_info(device=None) -> tuple:
    """(free, total) bytes of the device's memory, as the CUDA runtime reports them."""
    cp = _cupy()
    with cp.cuda.Device(_index(device)):
        free, total = cp.cuda.runtime.memGetInfo()
    return int(free), int(total)


def reset_peak_memory_stats(device=None) -> None:
    _cupy()
    _peaks.pop(_index(device), None)


def empty_cache() -> None:
    if cupy_module() is None:
        return  # as in PyTorch: nothing cached, nothing to free
    cupy_module().get_default_memory_pool().free_all_blocks()


# -- seeding: no-ops without a GPU, as in PyTorch -------------------------------------------

_seed = {"value": None}


def _generator():
    from .._ops.random import default_generator

    return default_generator


def manual_seed(seed: int) -> None:
    """Seed the generator CUDA samples come from. ember draws them on the host (so cpu and
    cuda tensors seeded alike hold the same values) from the default generator, which
    this seeds: ``cuda.manual_seed(s)`` before each run makes cuda sampling reproducible,
    as in PyTorch. Without a GPU it is a no-op, as PyTorch's lazy CUDA seeding is."""
    _seed["value"] = int(seed)
    if is_available():
        _generator().manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    manual_seed(seed)


def seed() -> None:
    pass


def seed_all() -> None:
    pass


def initial_seed() -> int:
    _cupy()
    return _seed["value"] if _seed["value"] is not None else _generator().initial_seed()


def get_rng_state(device="cuda"):
    """The state of the generator cuda samples come from (a uint8 cpu tensor)."""
    _cupy()
    _index(device)
    return _generator().get_state()


def set_rng_state(new_state, device="cuda") -> None:
    _cupy()
    _index(device)
    _generator().set_state(new_state)


def get_rng_state_all() -> list:
    return [get_rng_state(index) for index in range(device_count())]


def set_rng_state_all(new_states) -> None:
    for index, state in enumerate(new_states):
        set_rng_state(state, index)


# -- streams, events, device context --------------------------------------------------------


class Stream:
    """A CUDA stream (``cupy.cuda.Stream``); usable as a context manager."""

    def __init__(self, device=None, priority=0, **kwargs):
        cp = _cupy()
        index = _index(device)
        options = {"priority": priority} if priority else {}  # CuPy's default otherwise
        with cp.cuda.Device(index):  # a CuPy stream belongs to the device current at creation
            self._stream = cp.cuda.Stream(non_blocking=True, **options)
        self.device = _device_type("cuda", index)
        self.priority = priority

    @property
    def cuda_stream(self) -> int:
        """The raw ``cudaStream_t`` (0 for the default stream), for interop."""
        return int(self._stream.ptr)

    def synchronize(self) -> None:
        self._stream.synchronize()

    def query(self) -> bool:
        return bool(self._stream.done)

    def wait_event(self, event) -> None:
        """Later work on this stream waits until ``event`` has completed."""
        self._stream.wait_event(event._event)

    def wait_stream(self, stream) -> None:
        self._stream.wait_event(stream._stream.record())

    def __eq__(self, other):
        return isinstance(other, Stream) and self.cuda_stream == other.cuda_stream \
            and self.device == other.device

    def __hash__(self):
        return hash((self.cuda_stream, self.device))

    def __repr__(self):
        return f"<ember.cuda.Stream device={self.device} cuda_stream={self.cuda_stream:#x}>"

    def record_event(self, event=None):
        event = event or Event()
        event.record(self)
        return event

    def __enter__(self):
        self._stream.__enter__()
        return self

    def __exit__(self, *exc):
        return self._stream.__exit__(*exc)


class Event:
    """A CUDA event (``cupy.cuda.Event``) for timing and synchronisation."""

    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        cp = _cupy()
        self._event = cp.cuda.Event(block=blocking, disable_timing=not enable_timing)
        self._recorded = False

    def record(self, stream=None) -> None:
        self._event.record(None if stream is None else stream._stream)
        self._recorded = True

    def synchronize(self) -> None:
        self._event.synchronize()

    def query(self) -> bool:
        return bool(self._event.done)

    def wait(self, stream=None) -> None:
        target = stream._stream if stream is not None else _cupy().cuda.get_current_stream()
        target.wait_event(self._event)

    def elapsed_time(self, end_event) -> float:
        """Milliseconds between this event and ``end_event``."""
        if not (self._recorded and end_event._recorded):
            raise RuntimeError("Both events must be recorded before calculating elapsed time.")
        return float(_cupy().cuda.get_elapsed_time(self._event, end_event._event))


def current_stream(device=None) -> Stream:
    cp = _cupy()
    wrapper = Stream.__new__(Stream)
    wrapper._stream = cp.cuda.get_current_stream()
    wrapper.device = _device_type("cuda", _index(device))
    wrapper.priority = 0
    return wrapper


default_stream = current_stream


def set_stream(stream) -> None:
    """Make ``stream`` and its device current (for the rest of the thread, unlike
    ``with stream:``)."""
    if stream is not None:
        _streams._use(stream)


class device:
    """``with ember.cuda.device(1):`` makes device 1 current inside the block."""

    def __init__(self, device):
        self.index = _index(device) if device is not None and device != -1 else None
        self._previous = None

    def __enter__(self):
        if self.index is not None:
            self._previous = current_device()
            set_device(self.index)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            set_device(self._previous)
        return False


def device_of(obj):
    """``with ember.cuda.device_of(t):`` makes ``t``'s GPU current (a no-op for a cpu
    tensor), for code that allocates next to an input."""
    return device(obj.get_device() if obj.is_cuda else -1)


def __getattr__(name):
    if name == "default_generators":
        # cuda samples are drawn on the host from the default generator (manual_seed)
        return tuple(_generator() for _ in range(device_count()))
    raise AttributeError(f"module 'ember.cuda' has no attribute '{name}'")


__all__ = [
    "Event",
    "Stream",
    "amp",
    "current_device",
    "current_stream",
    "default_stream",
    "device",
    "device_count",
    "device_of",
    "empty_cache",
    "get_device_capability",
    "get_device_name",
    "get_device_properties",
    "get_rng_state",
    "get_rng_state_all",
    "init",
    "initial_seed",
    "is_available",
    "is_bf16_supported",
    "is_initialized",
    "manual_seed",
    "manual_seed_all",
    "max_memory_allocated",
    "max_memory_reserved",
    "mem_get_info",
    "memory_allocated",
    "memory_reserved",
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

# the submodules use the names above
from . import _graphs, _mempool, _queries, _streams, _typed, amp, jiterator, nvtx  # noqa: E402
from ._mempool import MemPool, use_mem_pool  # noqa: E402
from ._graphs import (  # noqa: E402
    CUDAGraph, graph, graph_pool_handle, is_current_stream_capturing,
)
from ._graphed_callables import make_graphed_callables  # noqa: E402
from ._queries import *  # noqa: E402,F403
from ._streams import ExternalStream, StreamContext, get_stream_from_external, stream  # noqa: E402
from ._typed import *  # noqa: E402,F403

graphs = _graphs  # torch.cuda.graphs, the module
__all__ += ["CUDAGraph", "ExternalStream", "StreamContext", "get_stream_from_external",
            "graph", "graph_pool_handle", "is_current_stream_capturing",
            "make_graphed_callables", "nvtx", "jiterator", "MemPool", "use_mem_pool"]
__all__ += _queries.__all__ + _typed.__all__
