"""``cupy.cuda`` for the fake CuPy: devices, runtime, streams, events, memory pools.

``fake_cupy.py`` loads this file (after ``fake_cupy_graph.py``, which it imports) and
re-exports its names; the device arrays in ``fake_cupy_array.py`` read the current device
from ``_current`` and charge their bytes to the pool here through ``_track``.
"""

from __future__ import annotations

import time
import types
import weakref

import numpy

import fake_cupy_graph as _graph

_DEVICE_COUNT = 2
_current = {"device": 0}


class _MemoryPointer:
    def __init__(self, ptr):
        self.ptr = ptr


def _track(array, nbytes):
    """Count a device allocation in the default pool until ``array`` is collected; under
    ``using_allocator`` the allocator's block is charged instead and lives as long as the
    array and whoever else holds the block (a graph's private pool)."""
    if not nbytes:
        return
    if _allocators:
        block = _allocators[-1](nbytes)
        _blocks[id(array)] = block
        weakref.finalize(array, _blocks.pop, id(array), None)
        return
    _charge(array, nbytes)


def _charge(owner, nbytes, pool=None):
    pool = pool if pool is not None else _memory_pool
    pool.used += nbytes
    pool.total = max(pool.total, pool.used)
    weakref.finalize(owner, pool.release, nbytes)


_allocators: list = []  # the allocator of ``using_allocator`` blocks, innermost last
_blocks: dict = {}  # id(array) -> the block an allocator gave it


class using_allocator:  # noqa: N801 - CuPy's name
    """``cupy.cuda.using_allocator(malloc)``: allocations inside the block call ``malloc``."""

    def __init__(self, allocator=None):
        self.allocator = allocator or _memory_pool.malloc

    def __enter__(self):
        _allocators.append(self.allocator)
        return self

    def __exit__(self, *exc):
        _allocators.remove(self.allocator)
        return False


def get_allocator():
    return _allocators[-1] if _allocators else _memory_pool.malloc


class Device:
    """``cupy.cuda.Device(i)``; as a context manager it makes device ``i`` current."""

    def __init__(self, device=None):
        self.id = _current["device"] if device is None else int(device)
        self._previous = []

    def __enter__(self):
        if not 0 <= self.id < _DEVICE_COUNT:
            raise RuntimeError(f"cudaErrorInvalidDevice: invalid device ordinal {self.id}")
        self._previous.append(_current["device"])
        _current["device"] = self.id
        return self

    def __exit__(self, *exc):
        _current["device"] = self._previous.pop()
        return False

    def use(self):
        _current["device"] = self.id

    def synchronize(self):
        _graph.forbid_any_sync()
        _runtime.synchronizations += 1

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


_pinned_blocks: dict = {}  # id -> (first byte, end) of live cupyx.empty_pinned blocks


class _Runtime(types.ModuleType):
    synchronizations = 0
    CUDARuntimeError = _graph.CUDARuntimeError
    streamCaptureModeGlobal = 0  # noqa: N815 - CuPy's names
    streamCaptureModeThreadLocal = 1  # noqa: N815
    streamCaptureModeRelaxed = 2  # noqa: N815
    profiling = [False]

    @staticmethod
    def deviceCanAccessPeer(device, peer):  # noqa: N802
        """Every pair of the fake's devices can (as on an NVLink board), a device itself not."""
        for index in (device, peer):
            if not 0 <= index < _DEVICE_COUNT:
                raise _graph.CUDARuntimeError(101)
        return int(device != peer)

    @staticmethod
    def profilerStart():  # noqa: N802
        _runtime.profiling[0] = True

    @staticmethod
    def profilerStop():  # noqa: N802
        _runtime.profiling[0] = False

    @staticmethod
    def runtimeGetVersion():  # noqa: N802
        return 12040

    @staticmethod
    def driverGetVersion():  # noqa: N802
        return 12040

    @staticmethod
    def getDeviceCount():  # noqa: N802 - CuPy's name
        return _DEVICE_COUNT

    @staticmethod
    def getDevice():  # noqa: N802
        return _current["device"]

    @staticmethod
    def setDevice(index):  # noqa: N802
        if not 0 <= index < _DEVICE_COUNT:
            raise RuntimeError(f"cudaErrorInvalidDevice: invalid device ordinal {index}")
        _current["device"] = int(index)

    memoryTypeHost = 1  # CuPy's name
    memoryTypeDevice = 2

    @staticmethod
    def pointerGetAttributes(ptr):  # noqa: N802
        """Page-locked host memory from ``cupyx.empty_pinned`` is type 1, the rest 0."""
        kind = 0
        for start, end in list(_pinned_blocks.values()):
            if start <= ptr < end:
                kind = 1
        return types.SimpleNamespace(type=kind, device=-1 if kind == 0 else 0)

    @staticmethod
    def getDeviceProperties(index):  # noqa: N802
        if not 0 <= index < _DEVICE_COUNT:
            raise RuntimeError(f"cudaErrorInvalidDevice: invalid device ordinal {index}")
        return {  # an A100's numbers, with this device's own PCI slot and UUID
            "name": f"Fake CuPy GPU {index}".encode(),
            "totalGlobalMem": 16 * 1024 ** 3,
            "major": 8,
            "minor": 0,
            "multiProcessorCount": 108,
            "maxThreadsPerMultiProcessor": 2048,
            "warpSize": 32,
            "regsPerMultiprocessor": 65536,
            "l2CacheSize": 40 * 1024 ** 2,
            "integrated": 0,
            "isMultiGpuBoard": 0,
            "pciBusID": 7 + index,
            "pciDeviceID": 0,
            "pciDomainID": 0,
            "sharedMemPerBlock": 49152,
            "uuid": bytes(range(16 * index, 16 * index + 16)),
        }

    @staticmethod
    def memGetInfo():  # noqa: N802
        """(free, total) bytes of the current device: what the default pool holds is used."""
        total = 16 * 1024 ** 3
        return total - _memory_pool.total, total


_runtime = _Runtime("cupy.cuda.runtime")


class Stream:
    """A stream that runs everything at once (host execution is synchronous)."""

    _stack: list = []
    _used: list = []  # the stream made current by use(), if any

    def __init__(self, null=False, non_blocking=False, ptds=False, priority=None):
        self.ptr = 0 if null else id(self)  # cudaStream_t: 0 is the legacy default stream
        self.device_id = -1 if null else _current["device"]
        self.priority = priority or 0

    @property
    def done(self):
        _graph.forbid_sync(self)  # cudaStreamQuery is illegal while capturing
        return True

    def synchronize(self):
        _graph.forbid_sync(self)

    def begin_capture(self, mode=None):
        """Work launched on this stream is recorded, not run, until ``end_capture``."""
        _graph.begin(self)

    def end_capture(self):
        return _graph.end(self)

    def is_capturing(self):
        return _graph.is_capturing(self)

    def record(self, event=None):
        event = event or Event()
        event.record(self)
        return event

    def wait_event(self, event):
        pass

    def use(self):
        Stream._used[:] = [self]
        return self

    def __enter__(self):
        Stream._stack.append(self)
        return self

    def __exit__(self, *exc):
        Stream._stack.pop()
        return False


_null_stream = Stream(null=True)
Stream.null = _null_stream


class ExternalStream(Stream):
    """``cupy.cuda.ExternalStream(ptr, device_id)``: a stream CuPy did not create."""

    def __init__(self, ptr, device_id=-1):
        self.ptr, self.device_id, self.priority = int(ptr), device_id, 0


def get_current_stream(device_id=-1):
    if Stream._stack:
        return Stream._stack[-1]
    return Stream._used[0] if Stream._used else _null_stream


class Event:
    """Records the host clock; ``get_elapsed_time`` gives milliseconds between two."""

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self.disable_timing = disable_timing
        self.time = None
        self.done = True

    def record(self, stream=None):
        self.time = time.perf_counter()

    def synchronize(self):
        pass


def get_elapsed_time(start, end):
    if start.disable_timing or end.disable_timing:
        raise RuntimeError("cudaErrorInvalidResourceHandle: invalid resource handle")
    if start.time is None or end.time is None:
        raise RuntimeError("cudaErrorInvalidResourceHandle: event not recorded")
    return (end.time - start.time) * 1e3


class MemoryPool:
    """Bytes of live device arrays (``used``) and the most held since the last
    ``free_all_blocks`` (``total``), as CuPy's pool keeps freed blocks cached."""

    def __init__(self):
        self.used = 0
        self.total = 0
        self.limit = 0  # 0: no limit, as CuPy's get_limit answers

    def malloc(self, size):
        """A ``MemoryPointer`` to ``size`` bytes, held until the pointer is collected."""
        block = numpy.empty(max(int(size), 1), numpy.uint8)
        pointer = _MemoryPointer(block.__array_interface__["data"][0])
        pointer.mem, pointer._block = types.SimpleNamespace(size=int(size)), block
        _charge(pointer, int(size), self)
        return pointer

    def set_limit(self, size=None, fraction=None):
        if fraction is not None:
            if not 0 <= fraction <= 1:
                raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
            size = int(_runtime.memGetInfo()[1] * fraction)
        self.limit = int(size or 0)

    def get_limit(self):
        return self.limit

    def used_bytes(self):
        return self.used

    def total_bytes(self):
        return self.total

    def free_bytes(self):
        return self.total - self.used

    def free_all_blocks(self):
        self.total = self.used

    def release(self, nbytes):
        self.used = max(0, self.used - nbytes)


_memory_pool = MemoryPool()
_pinned_pool = MemoryPool()


def get_default_memory_pool():
    return _memory_pool


def get_default_pinned_memory_pool():
    return _pinned_pool


cuda = types.ModuleType("cupy.cuda")
cuda.Device = Device
cuda.runtime = _runtime
cuda.Stream = Stream
cuda.Event = Event
cuda.get_current_stream = get_current_stream
cuda.get_elapsed_time = get_elapsed_time
cuda.MemoryPool = MemoryPool
cuda.is_available = lambda: True
cuda.ExternalStream = ExternalStream
cuda.Graph = _graph.Graph
cuda.using_allocator = using_allocator
cuda.get_allocator = get_allocator
cuda.device = types.ModuleType("cupy.cuda.device")
# cuBLAS/cuSOLVER handles: one stable fake address per device
cuda.device.get_cublas_handle = lambda: 0x7000 + 16 * _current["device"]
cuda.device.get_cusolver_handle = lambda: 0x9000 + 16 * _current["device"]
cuda.nvtx = types.ModuleType("cupy.cuda.nvtx")
cuda.nvtx.events = []  # what a profiler attached to the process would see, in order
cuda.nvtx.RangePush = lambda message, id_color=-1: cuda.nvtx.events.append(("push", message))
cuda.nvtx.RangePop = lambda: cuda.nvtx.events.append(("pop",))
cuda.nvtx.Mark = lambda message, id_color=-1: cuda.nvtx.events.append(("mark", message))


def _range_start(message, color):
    cuda.nvtx.events.append(("start", message))
    return len(cuda.nvtx.events)  # a range id NVTX hands out: nonzero, unique


cuda.nvtx.RangeStart = _range_start
cuda.nvtx.RangeEnd = lambda range_id: cuda.nvtx.events.append(("end", range_id))
cuda.nvrtc = types.ModuleType("cupy.cuda.nvrtc")
# the architectures a CUDA 12.4 NVRTC compiles for
cuda.nvrtc.getSupportedArchs = lambda: [50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90]


def reset():
    """Back to device 0, no streams entered or used, no allocator, no NVTX events, no
    pool limit, profiler off, the pool's cache emptied."""
    _current["device"] = 0
    Stream._stack.clear()
    Stream._used.clear()
    _allocators.clear()
    cuda.nvtx.events.clear()
    _memory_pool.limit = 0
    _runtime.profiling[0] = False
    _memory_pool.total = _memory_pool.used
