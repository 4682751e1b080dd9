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

import sys
import time
import types
import weakref

import numpy

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
        host = numpy.array(self.view(numpy.ndarray), copy=True)
        if out is not None:
            out[...] = host
            return out
        return host

    def set(self, host, stream=None):
        self[...] = host

    @property
    def data(self):
        """CuPy's ``MemoryPointer``: ``.ptr`` is the address of the first element."""
        return _MemoryPointer(self.__array_interface__["data"][0])

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
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

    def __array_function__(self, func, types_, args, kwargs):
        # Only the caller's arguments are checked: NumPy's own implementations mix in
        # host temporaries (zeros_like copies from a host zero), as CuPy's kernels do not.
        if _nesting["depth"]:
            return super().__array_function__(func, types_, args, kwargs)
        flat = list(args) + list(kwargs.values())
        for value in list(flat):
            if isinstance(value, (list, tuple)):
                flat.extend(value)
        device_id = _common_device(flat)
        _nesting["depth"] += 1
        try:
            result = super().__array_function__(func, types_, args, kwargs)
        finally:
            _nesting["depth"] -= 1
        return _wrap(result, device_id)

    def __getitem__(self, key):
        return _wrap(super().__getitem__(_unwrap_key(key)), self._device_id)

    def __setitem__(self, key, value):
        if _is_host_array(value) and value.ndim > 0:
            raise TypeError(f"Unsupported type {numpy.ndarray}")
        super().__setitem__(_unwrap_key(key), value)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def tolist(self):
        return self.view(numpy.ndarray).tolist()

    def item(self, *args):
        return self.view(numpy.ndarray).item(*args)

    def __reduce__(self):
        return (_rebuild, (self.get(), self._device_id))

    def __repr__(self):
        return repr(self.view(numpy.ndarray))

    __str__ = __repr__


def _plain(value):
    return value.view(numpy.ndarray) if isinstance(value, ndarray) else value


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
    """Count a device allocation in the default pool until ``array`` is collected."""
    if not nbytes:
        return
    _memory_pool.used += nbytes
    _memory_pool.total = max(_memory_pool.total, _memory_pool.used)
    weakref.finalize(array, _memory_pool.release, nbytes)


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
    """Host to device (or a no-op for a device array already on the current device)."""
    if isinstance(a, ndarray):
        if a._device_id == _current["device"] and (dtype is None or a.dtype == dtype):
            return a
        return _wrap(numpy.asarray(a.view(numpy.ndarray), dtype=dtype).copy(), _current["device"])
    return _wrap(numpy.array(a, dtype=dtype, copy=True), _current["device"])


def array(a, dtype=None, copy=True, order="K", ndmin=0):
    host = a.view(numpy.ndarray) if isinstance(a, ndarray) else a
    return _wrap(numpy.array(host, dtype=dtype, copy=True, ndmin=ndmin), _current["device"])


def asnumpy(a, stream=None, order="C", out=None):
    if isinstance(a, ndarray):
        return a.get(out=out)
    return numpy.asarray(a)


def get_array_module(*args):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else numpy


def _device_function(func):
    def wrapper(*args, **kwargs):
        flat = list(args) + list(kwargs.values())
        for value in list(flat):
            if isinstance(value, (list, tuple)):
                flat.extend(value)
        device_id = _common_device(flat)
        return _wrap(func(*args, **kwargs), device_id)

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
        _runtime.synchronizations += 1

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


class _Runtime(types.ModuleType):
    synchronizations = 0

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
        self.done = True
        self.ptr = 0 if null else id(self)  # cudaStream_t: 0 is the legacy default stream
        self.priority = priority or 0

    def synchronize(self):
        pass

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


def get_current_stream():
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
            "cupyx.scipy": cupyx.scipy, "cupyx.scipy.special": cupyx.scipy.special}


def reset():
    """Back to device 0, no streams entered, empty pools (between tests)."""
    _current["device"] = 0
    _config["linalg"] = "ignore"
    Stream._stack.clear()
    Stream._used.clear()
    _memory_pool.total = _memory_pool.used
