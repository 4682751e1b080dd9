"""A NumPy-backed stand-in for the part of CuPy that ember's backend layer uses.

CI has no GPU, yet the CUDA code paths (device objects, host/device copies, the cuda
module's queries, streams, events, memory statistics) must still run there. This module
imitates CuPy closely enough for those paths: ``ndarray`` is a ``numpy.ndarray`` subclass
that carries a device id, so every NumPy op works on it and its results stay "on the
device". As with real CuPy, reductions and scalar indexing give 0-d device arrays, and
mixing a host ``numpy.ndarray`` into a device op raises ``TypeError`` (CuPy refuses
implicit host-to-device transfers), so code that would break on a real GPU breaks here.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
import types
import weakref

import numpy


def _load_graph_module():
    """fake_cupy_graph.py, next to this file (tests import this module by path too)."""
    name = "fake_cupy_graph"
    if name not in sys.modules:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_cupy_graph.py")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_graph = _load_graph_module()

__version__ = "0.0-fake"

_DEVICE_COUNT = 2
_current = {"device": 0}
_nesting = {"depth": 0}  # > 0 while NumPy runs an array function on device arrays


def _is_host_array(value):
    return type(value) is numpy.ndarray


class ndarray(numpy.ndarray):  # noqa: N801 - CuPy's name
    """A device array: NumPy storage, plus the id of the device it lives on."""

    __array_priority__ = 100.0

    def __array_finalize__(self, source):
        self._device_id = getattr(source, "_device_id", _current["device"])
        if self.base is None:  # a fresh allocation (copy, astype), not a view
            _track(self, self.nbytes)

    @property
    def device(self):
        return Device(self._device_id)

    def get(self, stream=None, order="C", out=None):
        """Copy to host: a plain ``numpy.ndarray``."""
        _graph.forbid_sync()
        host = numpy.array(self.view(numpy.ndarray), copy=True)
        if out is not None:
            out[...] = host
            return out
        return host

    def set(self, host, stream=None):
        self[...] = host

    # copies NumPy makes without a hook: recorded while a stream captures
    def astype(self, dtype, *args, **kwargs):
        return _graph.launch(_plain_method, ("astype", self, dtype) + args, kwargs,
                             sources=[self])

    def copy(self, order="C"):
        return _graph.launch(_plain_method, ("copy", self, order), sources=[self])

    def fill(self, value):
        _graph.launch(_plain_method, ("fill", self, value), written=[self])

    @property
    def data(self):
        """CuPy's ``MemoryPointer``: ``.ptr`` is the address of the first element."""
        return _MemoryPointer(self.__array_interface__["data"][0])

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if _nesting["depth"] or _graph.active() is None:
            return _ufunc_call(ufunc, method, inputs, kwargs)
        written = list(kwargs.get("out", ())) + (list(inputs[:1]) if method == "at" else [])
        return _graph.launch(_ufunc_call, (ufunc, method, inputs, kwargs),
                             written=_graph.device_arrays(written))

    def __array_function__(self, func, types_, args, kwargs):
        # Only the caller's arguments are checked: NumPy's own implementations mix in
        # host temporaries (zeros_like copies from a host zero), as CuPy's kernels do not.
        if _nesting["depth"]:
            return super().__array_function__(func, types_, args, kwargs)
        if _graph.active() is None:
            return _function_call(func, types_, args, kwargs)
        touched = _graph.device_arrays(list(args) + list(kwargs.values()))
        return _graph.launch(_function_call, (func, types_, args, kwargs), written=touched)

    def __getitem__(self, key):
        return _graph.launch(_getitem, (self, key), sources=[self])

    def __setitem__(self, key, value):
        if _is_host_array(value) and value.ndim > 0:
            raise TypeError(f"Unsupported type {numpy.ndarray}")
        _graph.launch(_setitem, (self, key, value), written=[self])

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def tolist(self):
        _graph.forbid_sync()
        return self.view(numpy.ndarray).tolist()

    def item(self, *args):
        _graph.forbid_sync()
        return self.view(numpy.ndarray).item(*args)

    def __reduce__(self):
        return (_rebuild, (self.get(), self._device_id))

    def __repr__(self):
        return repr(self.view(numpy.ndarray))

    __str__ = __repr__


def _plain(value):
    return value.view(numpy.ndarray) if isinstance(value, ndarray) else value


def _ufunc_call(ufunc, method, inputs, kwargs):
    outs = tuple(kwargs.get("out", ()))
    # Inside a NumPy function (einsum's matmul on its own temporaries) only the
    # caller's arguments were checked, as in __array_function__.
    device_id = _common_device(inputs + outs, allow_host=_nesting["depth"] > 0)
    kwargs_plain = dict(kwargs)
    if outs:
        kwargs_plain["out"] = tuple(_plain(a) for a in outs)
    result = getattr(ufunc, method)(*(_plain(a) for a in inputs), **kwargs_plain)
    if outs:
        return outs if isinstance(result, tuple) else outs[0]
    return _wrap(result, device_id)


def _function_call(func, types_, args, kwargs):
    flat = list(args) + list(kwargs.values())
    for value in list(flat):
        if isinstance(value, (list, tuple)):
            flat.extend(value)
    device_id = _common_device(flat)
    dispatcher = next(a for a in flat if isinstance(a, ndarray))
    _nesting["depth"] += 1
    try:
        result = numpy.ndarray.__array_function__(dispatcher, func, types_, args, kwargs)
    finally:
        _nesting["depth"] -= 1
    return _wrap(result, device_id)


def _getitem(array, key):
    return _wrap(numpy.ndarray.__getitem__(array, _unwrap_key(key)), array._device_id)


def _setitem(array, key, value):
    numpy.ndarray.__setitem__(array, _unwrap_key(key), value)


def _plain_method(name, array, *args, **kwargs):
    """A NumPy method that allocates (astype, copy) or writes (fill) without a hook."""
    result = getattr(numpy.ndarray, name)(array, *args, **kwargs)
    return _wrap(result, array._device_id) if isinstance(result, numpy.ndarray) else result


class _MemoryPointer:
    def __init__(self, ptr):
        self.ptr = ptr


def _common_device(values, allow_host=False):
    """The one device of the device arrays among ``values``; CuPy's errors otherwise."""
    ids = set()
    for value in values:
        if isinstance(value, ndarray):
            ids.add(value._device_id)
        elif _is_host_array(value) and value.ndim > 0 and not allow_host:
            raise TypeError(f"Unsupported type {numpy.ndarray}")
    if len(ids) > 1:
        raise ValueError(f"Array device must be same as the current device: {sorted(ids)}")
    return ids.pop() if ids else _current["device"]


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


def _rebuild(host, device_id):
    with Device(device_id):
        return asarray(host)


def _unwrap_key(key):
    if isinstance(key, ndarray):
        return key.view(numpy.ndarray)
    if isinstance(key, tuple):
        return tuple(k.view(numpy.ndarray) if isinstance(k, ndarray) else k for k in key)
    return key


def _wrap(result, device_id):
    """Results as device arrays: host arrays and NumPy scalars become 0-d or n-d ``ndarray``."""
    if isinstance(result, ndarray):
        return result
    if isinstance(result, numpy.ndarray):
        out = result.view(ndarray)
        out._device_id = device_id
        if result.base is None:  # ``out`` is the only device handle on this memory
            _track(out, result.nbytes)
        return out
    if isinstance(result, numpy.generic):
        out = numpy.asarray(result).view(ndarray)
        out._device_id = device_id
        return out
    if isinstance(result, tuple) and not hasattr(result, "_fields"):
        return tuple(_wrap(r, device_id) for r in result)
    if isinstance(result, list):
        return [_wrap(r, device_id) for r in result]
    if isinstance(result, tuple):  # named tuples (e.g. linalg results)
        return type(result)(*(_wrap(r, device_id) for r in result))
    return result


# -- module-level functions: NumPy's, returning device arrays --------------------------------


def asarray(a, dtype=None, order=None):
    """Host to device (or a no-op for a device array already on the current device); a
    copy or cast while a stream captures is a node (an upload reads ``a`` at replay)."""
    if isinstance(a, ndarray) and a._device_id == _current["device"] and (
            dtype is None or a.dtype == dtype):
        return a
    return _graph.launch(_upload, (a, dtype), sources=_graph.device_arrays([a]))


def array(a, dtype=None, copy=True, order="K", ndmin=0):
    return _graph.launch(_upload, (a, dtype, ndmin), sources=_graph.device_arrays([a]))


def _upload(a, dtype=None, ndmin=0):
    host = a.view(numpy.ndarray) if isinstance(a, ndarray) else a
    return _wrap(numpy.array(host, dtype=dtype, copy=True, ndmin=ndmin), _current["device"])


def asnumpy(a, stream=None, order="C", out=None):
    if isinstance(a, ndarray):
        return a.get(out=out)
    return numpy.asarray(a)


def get_array_module(*args):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else numpy


def _device_function(func):
    def run(*args, **kwargs):
        flat = list(args) + list(kwargs.values())
        for value in list(flat):
            if isinstance(value, (list, tuple)):
                flat.extend(value)
        device_id = _common_device(flat)
        return _wrap(func(*args, **kwargs), device_id)

    def wrapper(*args, **kwargs):
        if _graph.active() is None:
            return run(*args, **kwargs)
        touched = _graph.device_arrays(list(args) + list(kwargs.values()))
        return _graph.launch(run, args, kwargs, written=touched)

    wrapper.__name__ = getattr(func, "__name__", "function")
    return wrapper


_PASS_THROUGH = {
    "dtype", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
    "uint16", "uint32", "uint64", "bool_", "complex64", "complex128", "pi", "e", "inf",
    "nan", "newaxis", "finfo", "iinfo", "result_type", "promote_types", "can_cast",
    "issubdtype", "floating", "integer", "number", "generic", "ndim", "shape", "isscalar",
    "errstate", "broadcast_shapes", "euler_gamma",
}


def __getattr__(name):
    value = getattr(numpy, name)
    if name in _PASS_THROUGH or isinstance(value, (type, numpy.dtype, float, int, str)):
        return value
    if isinstance(value, numpy.ufunc):
        return value  # device arrays dispatch through __array_ufunc__; .at/.reduce work
    if isinstance(value, types.ModuleType):
        raise AttributeError(f"fake cupy has no submodule {name!r}")
    if callable(value):
        return _device_function(value)
    return value


# CuPy has no general (non-Hermitian) eigensolver: code must not reach for these on a GPU.
_LINALG_MISSING = {"eig", "eigvals"}
# cuSOLVER's info is read back (a device sync) only under ``cupyx.errstate(linalg="raise")``;
# by default CuPy's inv/solve/cholesky return inf/nan for a singular (or not positive-
# definite) input where NumPy raises LinAlgError.
_LINALG_CHECKED = {"inv", "solve", "cholesky"}
_config = {"linalg": "ignore"}


class _LinalgModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):  # __file__, __path__: tools that scan sys.modules ask
            raise AttributeError(name)
        if name in _LINALG_MISSING:
            raise AttributeError(f"module 'cupy.linalg' has no attribute '{name}'")
        func = _device_function(getattr(numpy.linalg, name))
        if name not in _LINALG_CHECKED:
            return func

        def unchecked(a, *args, **kwargs):
            try:
                return func(a, *args, **kwargs)
            except numpy.linalg.LinAlgError:
                if _config["linalg"] == "raise":
                    raise
            shape = a.shape
            if name == "solve":
                b = args[0] if args else kwargs["b"]
                shape = a.shape[:-1] if b.ndim == 1 else \
                    numpy.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:]
            dtype = numpy.result_type(a, *args[:1])
            return _wrap(numpy.full(shape, numpy.nan, dtype), _common_device([a, *args[:1]]))

        return unchecked


class _RandomModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):  # __file__, __path__: tools that scan sys.modules ask
            raise AttributeError(name)
        return _device_function(getattr(numpy.random, name))


linalg = _LinalgModule("cupy.linalg")
lib = types.ModuleType("cupy.lib")
lib.stride_tricks = types.ModuleType("cupy.lib.stride_tricks")
lib.stride_tricks.as_strided = _device_function(numpy.lib.stride_tricks.as_strided)
random = _RandomModule("cupy.random")


class _FftModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _device_function(getattr(numpy.fft, name))


fft = _FftModule("cupy.fft")


# -- cupy.cuda: devices, runtime, streams, events, memory pool -------------------------------


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
_graph.install(lambda: get_current_stream(), ndarray)


def get_default_memory_pool():
    return _memory_pool


def get_default_pinned_memory_pool():
    return _pinned_pool


class ElementwiseKernel:
    """``cupy.ElementwiseKernel``: CuPy compiles the CUDA C++ with NVRTC at the first call;
    the double has no compiler, so a call says so instead of computing anything."""

    def __init__(self, in_params, out_params, operation, name="kernel", preamble="",
                 **kwargs):
        self.in_params, self.out_params, self.operation = in_params, out_params, operation
        self.name, self.preamble = name, preamble

    def __call__(self, *args, **kwargs):
        raise NotImplementedError("the CuPy double cannot compile CUDA C++ "
                                  f"(ElementwiseKernel {self.name!r})")


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


# -- cupyx: the scatter and special functions ember's kernels use ----------------------------


_pinned_blocks: dict = {}  # id -> (first byte, end) of live empty_pinned blocks


def _empty_pinned(shape, dtype=float, order="C"):
    """``cupyx.empty_pinned``: a host ``numpy.ndarray`` over a "page-locked" block."""
    block = numpy.empty(shape, dtype=dtype, order=order)
    start = block.__array_interface__["data"][0]
    key = id(block)
    _pinned_blocks[key] = (start, start + max(block.nbytes, 1))
    weakref.finalize(block, _pinned_blocks.pop, key, None)
    return block


def _scatter_add(a, slices, value):
    """``cupyx.scatter_add``: unbuffered ``a[slices] += value`` (NumPy's ``add.at``)."""
    _graph.launch(_scatter_add_now, (a, slices, value), written=[a])


def _scatter_add_now(a, slices, value):
    _common_device([a, value] + list(slices if isinstance(slices, tuple) else [slices]))
    numpy.add.at(a.view(numpy.ndarray), _unwrap_key(slices), _plain(value))


class _SpecialModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        import scipy.special

        return _device_function(getattr(scipy.special, name))


def _scatter_with(ufunc):
    def scatter(a, slices, value):
        """``cupyx.scatter_max``/``scatter_min``: unbuffered, as NumPy's ``ufunc.at``."""
        _graph.launch(scatter_now, (a, slices, value), written=[a])

    def scatter_now(a, slices, value):
        _common_device([a, value] + list(slices if isinstance(slices, tuple) else [slices]))
        ufunc.at(a.view(numpy.ndarray), _unwrap_key(slices), _plain(value))

    return scatter


class errstate:
    """``cupyx.errstate(linalg="raise")``: inv/solve/cholesky raise LinAlgError inside."""

    def __init__(self, *, linalg=None):
        self.linalg, self._previous = linalg, []

    def __enter__(self):
        self._previous.append(dict(_config))
        if self.linalg is not None:
            _config["linalg"] = self.linalg
        return self

    def __exit__(self, *exc):
        _config.update(self._previous.pop())
        return False


def _geterr():
    return dict(_config)


cupyx = types.ModuleType("cupyx")
cupyx.errstate = errstate
cupyx.geterr = _geterr
cupyx.scatter_add = _scatter_add
cupyx.scatter_max = _scatter_with(numpy.maximum)
cupyx.scatter_min = _scatter_with(numpy.minimum)
cupyx.empty_pinned = _empty_pinned
cupyx.scipy = types.ModuleType("cupyx.scipy")
cupyx.scipy.special = _SpecialModule("cupyx.scipy.special")


def modules():
    """The ``sys.modules`` entries that make this module ``cupy`` (and ``cupyx``)."""
    return {"cupy": sys.modules[__name__], "cupy.cuda": cuda, "cupyx": cupyx,
            "cupyx.scipy": cupyx.scipy, "cupyx.scipy.special": cupyx.scipy.special,
            "cupy.cuda.runtime": _runtime, "cupy.cuda.device": cuda.device,
            "cupy.cuda.nvrtc": cuda.nvrtc, "cupy.cuda.nvtx": cuda.nvtx}


def reset():
    """Back to device 0, no streams entered, empty pools (between tests)."""
    _current["device"] = 0
    _config["linalg"] = "ignore"
    Stream._stack.clear()
    Stream._used.clear()
    _graph.reset()
    _allocators.clear()
    cuda.nvtx.events.clear()
    _memory_pool.limit = 0
    _runtime.profiling[0] = False
    _memory_pool.total = _memory_pool.used
