"""ember.cuda: device queries and CUDA utilities, served by CuPy.

Without CuPy or a GPU, ``is_available()`` is False, ``device_count()`` is 0, the seeding
calls are no-ops (as in PyTorch, so scripts that seed every device run anywhere) and
everything else raises a RuntimeError that says why.
"""

from __future__ import annotations

from .._backend.device import cupy_module
from .._backend.device import device as _device_type

_NO_CUDA = (
    "Torch not compiled with CUDA enabled: ember's CUDA backend needs CuPy and an NVIDIA "
    "GPU (pip install 'ember[cuda]')"
)


def _cupy():
    cp = cupy_module()
    if cp is None:
        raise RuntimeError(_NO_CUDA)
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
    return dev.index if dev.index is not None else current_device()


def current_device() -> int:
    return int(_cupy().cuda.runtime.getDevice())


def set_device(device) -> None:
    cp = _cupy()
    cp.cuda.runtime.setDevice(_index(device))


class _DeviceProperties:
    """The fields of ``torch.cuda.get_device_properties`` that scripts read."""

    def __init__(self, props):
        self.name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        self.total_memory = int(props["totalGlobalMem"])
        self.major = int(props["major"])
        self.minor = int(props["minor"])
        self.multi_processor_count = int(props["multiProcessorCount"])

    def __repr__(self):
        return (
            f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
            f"total_memory={self.total_memory // (1024 * 1024)}MB, "
            f"multi_processor_count={self.multi_processor_count})"
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
    """Bytes the default pool of ``device`` holds in use ("allocated") or in all
    ("reserved"); CuPy keeps one pool per device and answers for the current one. The
    peak is the largest value seen by these queries (CuPy reports no allocator peak)."""
    cp = _cupy()
    index = _index(device)
    with cp.cuda.Device(index):
        pool = cp.get_default_memory_pool()
        value = int(pool.used_bytes() if kind == "allocated" else pool.total_bytes())
    peaks = _peaks.setdefault(index, {"allocated": 0, "reserved": 0})
    peaks[kind] = max(peaks[kind], value)
    return value


def memory_allocated(device=None) -> int:
    return _pool_bytes(device, "allocated")


def max_memory_allocated(device=None) -> int:
    current = _pool_bytes(device, "allocated")
    return max(_peaks[_index(device)]["allocated"], current)


def memory_reserved(device=None) -> int:
    return _pool_bytes(device, "reserved")


def max_memory_reserved(device=None) -> int:
    current = _pool_bytes(device, "reserved")
    return max(_peaks[_index(device)]["reserved"], current)


def reset_peak_memory_stats(device=None) -> None:
    _cupy()
    _peaks.pop(_index(device), None)


def empty_cache() -> None:
    if cupy_module() is None:
        return  # as in PyTorch: nothing cached, nothing to free
    cupy_module().get_default_memory_pool().free_all_blocks()


# -- seeding: no-ops without a GPU, as in PyTorch -------------------------------------------

_seed = {"value": None}


def manual_seed(seed: int) -> None:
    """Record the CUDA seed. ember draws CUDA samples from the host generator (see
    ``ember.manual_seed``), so this changes no stream; without a GPU it is a no-op."""
    _seed["value"] = int(seed)


def manual_seed_all(seed: int) -> None:
    manual_seed(seed)


def seed() -> None:
    pass


def seed_all() -> None:
    pass


def initial_seed() -> int:
    _cupy()
    return _seed["value"] if _seed["value"] is not None else 0


# -- streams, events, device context --------------------------------------------------------


class Stream:
    """A CUDA stream (``cupy.cuda.Stream``); usable as a context manager."""

    def __init__(self, device=None, priority=0, **kwargs):
        cp = _cupy()
        index = _index(device)
        with cp.cuda.Device(index):  # a CuPy stream belongs to the device current at creation
            self._stream = cp.cuda.Stream(non_blocking=True)
        self.device = _device_type("cuda", index)

    def synchronize(self) -> None:
        self._stream.synchronize()

    def query(self) -> bool:
        return bool(self._stream.done)

    def wait_stream(self, stream) -> None:
        self._stream.wait_event(stream._stream.record())

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

    def record(self, stream=None) -> None:
        self._event.record(None if stream is None else stream._stream)

    def synchronize(self) -> None:
        self._event.synchronize()

    def query(self) -> bool:
        return bool(self._event.done)

    def wait(self, stream=None) -> None:
        target = stream._stream if stream is not None else _cupy().cuda.get_current_stream()
        target.wait_event(self._event)

    def elapsed_time(self, end_event) -> float:
        """Milliseconds between this event and ``end_event``."""
        return float(_cupy().cuda.get_elapsed_time(self._event, end_event._event))


def current_stream(device=None) -> Stream:
    cp = _cupy()
    wrapper = Stream.__new__(Stream)
    wrapper._stream = cp.cuda.get_current_stream()
    wrapper.device = _device_type("cuda", _index(device))
    return wrapper


default_stream = current_stream


def stream(s):
    """``with ember.cuda.stream(s):`` runs the block's kernels on ``s``."""
    return s if s is not None else _NullContext()


class _NullContext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


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


__all__ = [
    "is_available", "is_initialized", "init", "device_count", "current_device",
    "set_device", "get_device_properties", "get_device_name", "get_device_capability",
    "is_bf16_supported", "synchronize", "memory_allocated", "max_memory_allocated",
    "memory_reserved", "max_memory_reserved", "reset_peak_memory_stats", "empty_cache",
    "manual_seed", "manual_seed_all", "seed", "seed_all", "initial_seed", "Stream", "Event",
    "current_stream", "default_stream", "stream", "device", "amp",
]

from . import amp  # noqa: E402 - torch.cuda.amp's deprecated spellings; needs ember.amp
