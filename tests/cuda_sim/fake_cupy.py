"""A NumPy-backed stand-in for the part of CuPy that ember's backend layer uses.

CI has no GPU, yet the CUDA code paths (device objects, host/device copies, the cuda
module's queries, streams, events, memory statistics) must still run there. This module
imitates CuPy closely enough for those paths: ``ndarray`` is a ``numpy.ndarray`` subclass
that carries a device id, so every NumPy op works on it and its results stay "on the
device". As with real CuPy, reductions and scalar indexing give 0-d device arrays, and
mixing a host ``numpy.ndarray`` into a device op raises ``TypeError`` (CuPy refuses
implicit host-to-device transfers), so code that would break on a real GPU breaks here.

This module is ``cupy`` (``modules()`` says so to ``sys.modules``); it assembles the
families that live next to it, in this order, each importing the ones before:

- ``fake_cupy_graph.py``: stream capture and CUDA graphs;
- ``fake_cupy_cuda.py``: ``cupy.cuda`` (devices, runtime, streams, events, memory pools);
- ``fake_cupy_array.py``: the device array, ``asarray``/``array``/``asnumpy``, and
  ``linalg``, ``random``, ``fft``, ``lib``;
- ``fake_cupy_cupyx.py``: ``cupyx`` (scatter, special, errstate, pinned memory);
- ``fake_cupy_kernels.py``: ``ElementwiseKernel``, its CUDA C++ body compiled by g++.

Tests also load this file by path, without ``tests/cuda_sim`` on ``sys.path``: so each
part is loaded by path too, and the parts' ``import fake_cupy_...`` statements find the
ones loaded before them in ``sys.modules``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types

import numpy


def _load(name):
    """``name``.py, next to this file (tests import this module by path too)."""
    if name not in sys.modules:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_graph = _load("fake_cupy_graph")
_cuda = _load("fake_cupy_cuda")
_array = _load("fake_cupy_array")
_cupyx = _load("fake_cupy_cupyx")
_kernels = _load("fake_cupy_kernels")

__version__ = "0.0-fake"

# cupy's names from the parts (the rest of cupy's namespace falls through to NumPy below)
ndarray = _array.ndarray
asarray, array, asnumpy = _array.asarray, _array.array, _array.asnumpy
linalg, lib, random, fft = _array.linalg, _array.lib, _array.random, _array.fft
cuda = _cuda.cuda
Device, Stream, Event = _cuda.Device, _cuda.Stream, _cuda.Event
ExternalStream, MemoryPool = _cuda.ExternalStream, _cuda.MemoryPool
using_allocator, get_allocator = _cuda.using_allocator, _cuda.get_allocator
get_current_stream, get_elapsed_time = _cuda.get_current_stream, _cuda.get_elapsed_time
get_default_memory_pool = _cuda.get_default_memory_pool
get_default_pinned_memory_pool = _cuda.get_default_pinned_memory_pool
cupyx, errstate = _cupyx.cupyx, _cupyx.errstate
ElementwiseKernel = _kernels.ElementwiseKernel


def get_array_module(*args):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else numpy


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
        return _array._device_function(value)
    return value


# -- functions whose CuPy form refuses arguments NumPy's takes -------------------------------

_np_where = _array._device_function(numpy.where)
_np_isin = _array._device_function(numpy.isin)
_np_linspace = _array._device_function(numpy.linspace)


def where(condition, x=None, y=None):
    """CuPy's where calls ``condition.astype`` first: a Python bool has none."""
    if x is None and y is None:
        return _np_where(condition)
    if not hasattr(condition, "astype"):
        raise AttributeError(f"'{type(condition).__name__}' object has no attribute 'astype'")
    return _np_where(condition, x, y)


def isin(element, test_elements, assume_unique=False, invert=False):
    """CuPy's isin ravels both arguments: a number as ``test_elements`` has no ravel."""
    for value in (element, test_elements):
        if not hasattr(value, "ravel"):
            raise AttributeError(f"'{type(value).__name__}' object has no attribute 'ravel'")
    return _np_isin(element, test_elements, assume_unique=assume_unique, invert=invert)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """CuPy spaces scalar endpoints with ``float(stop - start)``: complex ones fail."""
    if not hasattr(start, "shape") and not hasattr(stop, "shape"):
        float(stop - start)  # TypeError for complex numbers, as CuPy's
    return _np_linspace(start, stop, num, endpoint=endpoint, retstep=retstep, dtype=dtype,
                        axis=axis)


def modules():
    """The ``sys.modules`` entries that make this module ``cupy`` (and ``cupyx``)."""
    return {"cupy": sys.modules[__name__], "cupy.cuda": cuda, "cupyx": cupyx,
            "cupyx.scipy": cupyx.scipy, "cupyx.scipy.special": cupyx.scipy.special,
            "cupy.cuda.runtime": cuda.runtime, "cupy.cuda.device": cuda.device,
            "cupy.cuda.nvrtc": cuda.nvrtc, "cupy.cuda.nvtx": cuda.nvtx}


def reset():
    """Back to device 0, no streams entered, empty pools (between tests)."""
    _cuda.reset()
    _array._config["linalg"] = "ignore"
    _graph.reset()
