"""The fake CuPy's device array and the functions that make and move device arrays.

``fake_cupy.py`` loads this file (after ``fake_cupy_graph.py`` and ``fake_cupy_cuda.py``,
which it imports) and re-exports its names. ``ndarray`` is a ``numpy.ndarray`` subclass
that carries a device id; every NumPy op on it goes through a hook here that checks the
devices of its arguments (CuPy's errors for a host array or a second device), wraps the
result as a device array, and, while a stream captures, hands the op to
``fake_cupy_graph.launch`` to be recorded. ``linalg``, ``random``, ``fft`` and
``lib.stride_tricks`` are NumPy's through the same wrapper.
"""

from __future__ import annotations

import types
import warnings

import numpy

import fake_cupy_graph as _graph
from fake_cupy_cuda import Device, _current, _MemoryPointer, _track, get_current_stream

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
        return _MemoryPointer(numpy.ndarray.__array_interface__.__get__(self)["data"][0])

    @property
    def __array_interface__(self):
        # CuPy arrays have only __cuda_array_interface__; code must use .data.ptr
        raise AttributeError("'cupy.ndarray' object has no attribute '__array_interface__'")

    @property
    def shape(self):
        return numpy.ndarray.shape.__get__(self)

    @shape.setter
    def shape(self, value):
        """CuPy's setter: a no-copy reshape (AttributeError where it needs a copy) whose
        size-1 dims get the stride of the dim before them (_get_strides_for_nocopy_reshape;
        the first ones, the extent of the first other dim; all the itemsize in a 1-element
        array), where NumPy's get size * stride of the dim after them."""
        old_shape, old_strides = numpy.ndarray.shape.__get__(self), self.strides
        with warnings.catch_warnings():  # NumPy deprecates both setters; CuPy has them
            warnings.simplefilter("ignore", DeprecationWarning)
            numpy.ndarray.shape.__set__(self, value)
            numpy.ndarray.strides.__set__(self, _cupy_reshape_strides(
                old_shape, old_strides, self.itemsize, self.shape, self.strides))

    _no_base = False  # set on what as_strided returns

    @property
    def base(self):
        """CuPy's: the array a view was made from (a view of a view names the first
        one); None for a fresh allocation and for ``as_strided``'s result, a new array
        over the same memory."""
        return None if self._no_base else numpy.ndarray.base.__get__(self)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if not _nesting["depth"]:
            _refuse_like_cupy(ufunc, method, inputs)
        if _nesting["depth"] or _graph.active() is None:
            return _ufunc_call(ufunc, method, inputs, kwargs)
        if ufunc is numpy.matmul:
            _graph.refuse_blas(inputs)
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


# The ufunc methods CuPy 14 has (cupy/_core/_kernel.pyx): accumulate for add and multiply,
# at for the scatter ops; any other raises NotImplementedError. (reduce goes through
# NumPy's own max/min methods here, so it is left alone.)
_CUPY_METHODS = {"accumulate": {"add", "multiply"},
                 "at": {"add", "subtract", "maximum", "minimum", "bitwise_and",
                        "bitwise_or", "bitwise_xor"}}


def _refuse_like_cupy(ufunc, method, inputs):
    if method in _CUPY_METHODS and ufunc.__name__ not in _CUPY_METHODS[method]:
        raise NotImplementedError(f"`cupy_{ufunc.__name__}.{method}` is not supported yet")
    if ufunc is numpy.matmul and any(getattr(a, "ndim", 0) > 2 and a.dtype.char == "E"
                                     for a in inputs):
        # CuPy 14's batched matmul sends ml_dtypes' bfloat16 down its integer GEMM path,
        # whose kernel generator does not know the type
        raise TypeError("data type 'E' not understood")


_ATOMIC_EXTREMES = {numpy.maximum: numpy.fmax, numpy.minimum: numpy.fmin}


def atomic_extreme_at(ufunc, a, key, value):
    """CuPy's ``maximum.at``/``minimum.at`` (and ``cupyx.scatter_max``/``scatter_min``):
    through an integer index array they run atomicMax/atomicMin, whose float and double
    forms (cupy/_core/include/cupy/atomics.cuh) combine with ``fmaxf``/``fminf``. So NaN
    is ignored, and each float64 target touched ends up a float32 value (old and new are
    passed to the float function), as on a real GPU; float16 has no atomicMax (TypeError,
    CuPy's text); other dtypes are NumPy's."""
    a, key, value = _plain(a), _unwrap_key(key), _plain(value)
    parts = key if isinstance(key, tuple) else (key,)
    atomic = any(isinstance(p, numpy.ndarray) and p.dtype.kind in "iu" for p in parts)
    if not atomic or a.dtype.kind != "f":
        ufunc.at(a, key, value)
        return
    if a.dtype == numpy.float16:
        name = "maximum" if ufunc is numpy.maximum else "minimum"
        raise TypeError(f"cupy.{name}.at only supports int32, int64, float32, float64, "
                        "uint32, uint64 as data type")
    touched = numpy.zeros(a.shape, bool)
    touched[key] = True
    with numpy.errstate(over="ignore"):  # a double past float32's range becomes inf
        work = a.astype(numpy.float32)
        single = numpy.asarray(value).astype(a.dtype).astype(numpy.float32)
    _ATOMIC_EXTREMES[ufunc].at(work, key, single)
    a[touched] = work[touched]


def _plain(value):
    return value.view(numpy.ndarray) if isinstance(value, ndarray) else value


def _ufunc_call(ufunc, method, inputs, kwargs):
    outs = tuple(kwargs.get("out", ()))
    # Inside a NumPy function (einsum's matmul on its own temporaries) only the
    # caller's arguments were checked, as in __array_function__.
    device_id = _common_device(inputs + outs, allow_host=_nesting["depth"] > 0)
    if method == "at" and ufunc in _ATOMIC_EXTREMES and len(inputs) == 3:
        atomic_extreme_at(ufunc, *inputs)
        return None
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
    key = _wrapped_around(array.shape, _unwrap_key(key))
    with _cupy_index_errors():
        return _wrap(numpy.ndarray.__getitem__(array, key), array._device_id)


def _setitem(array, key, value):
    key = _wrapped_around(array.shape, _unwrap_key(key))
    with _cupy_index_errors():
        numpy.ndarray.__setitem__(array, key, value)


class _cupy_index_errors:  # noqa: N801 - a context manager
    """CuPy's text for an integer out of range: NumPy's, capitalized ("Index 5 is ...")."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if kind is IndexError and str(exc).startswith("index "):
            raise IndexError("I" + str(exc)[1:]) from None
        return False


def _wrapped_around(shape, key):
    """CuPy wraps integer index arrays around (index 3 of a size-3 dim is 0): NumPy
    would raise, so the fake wraps them first."""
    parts = key if isinstance(key, tuple) else (key,)
    if not any(isinstance(p, numpy.ndarray) and p.dtype.kind in "iu" for p in parts):
        return key

    def dims(p):
        if p is None or p is Ellipsis or isinstance(p, bool):
            return 0
        return p.ndim if isinstance(p, numpy.ndarray) and p.dtype.kind == "b" else 1

    consumed = sum(dims(p) for p in parts)
    out, dim = [], 0
    for p in parts:
        if isinstance(p, numpy.ndarray) and p.dtype.kind in "iu" and p.ndim and \
                dim < len(shape) and shape[dim]:
            p = p % shape[dim]
        dim += len(shape) - consumed if p is Ellipsis else dims(p)
        out.append(p)
    return tuple(out) if isinstance(key, tuple) else out[0]


def _plain_method(name, array, *args, **kwargs):
    """A NumPy method that allocates (astype, copy) or writes (fill) without a hook."""
    result = getattr(numpy.ndarray, name)(array, *args, **kwargs)
    return _wrap(result, array._device_id) if isinstance(result, numpy.ndarray) else result


def _common_device(values, allow_host=False):
    """The one device of the device arrays among ``values``; CuPy's errors otherwise."""
    ids = set()
    for value in values:
        if isinstance(value, ndarray):
            ids.add(value._device_id)
        elif _is_host_array(value) and not allow_host:  # 0-d too: CuPy's CScalar refuses it
            raise TypeError(f"Unsupported type {numpy.ndarray}")
    if len(ids) > 1:
        raise ValueError(f"Array device must be same as the current device: {sorted(ids)}")
    return ids.pop() if ids else _current["device"]


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


_graph.install(lambda: get_current_stream(), ndarray)


# -- module-level functions: NumPy's, returning device arrays --------------------------------


def asarray(a, dtype=None, order=None):
    """Host to device (or a no-op for a device array already on the current device); a
    copy or cast of a device array while a stream captures is a node, and a host upload
    then is refused, as CuPy refuses it."""
    if isinstance(a, ndarray) and a._device_id == _current["device"] and (
            dtype is None or a.dtype == dtype):
        return a
    _refuse_upload_while_capturing(a)
    return _graph.launch(_upload, (a, dtype), sources=_graph.device_arrays([a]))


def array(a, dtype=None, copy=True, order="K", ndmin=0):
    _refuse_upload_while_capturing(a)
    return _graph.launch(_upload, (a, dtype, ndmin), sources=_graph.device_arrays([a]))


def _refuse_upload_while_capturing(a):
    """CuPy's ``copy_from_host_async`` on a capturing stream (before any CUDA call, so
    the capture stays valid)."""
    if not isinstance(a, ndarray) and _graph.active() is not None:
        raise RuntimeError("the current stream is capturing, so H2D transfers are "
                           "disallowed")


def _upload(a, dtype=None, ndmin=0):
    host = a.view(numpy.ndarray) if isinstance(a, ndarray) else a
    return _wrap(numpy.array(host, dtype=dtype, copy=True, ndmin=ndmin), _current["device"])


def asnumpy(a, stream=None, order="C", out=None):
    if isinstance(a, ndarray):
        return a.get(out=out)
    return numpy.asarray(a)


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


# CuPy has no general (non-Hermitian) eigensolver: code must not reach for these on a GPU.
_LINALG_MISSING = {"eig", "eigvals"}
# cuSOLVER's info is read back (a device sync) only under ``cupyx.errstate(linalg="raise")``;
# by default CuPy's inv/solve/cholesky return inf/nan for a singular (or not positive-
# definite) input where NumPy raises LinAlgError.
_LINALG_CHECKED = {"inv", "solve", "cholesky"}
_config = {"linalg": "ignore"}  # what cupyx.errstate sets (fake_cupy_cupyx.py)


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


def _cupy_reshape_strides(old_shape, old_strides, itemsize, shape, numpy_strides):
    """The strides CuPy's no-copy reshape from (old_shape, old_strides) to ``shape`` gives;
    a dim of another size has the one stride its layout allows, NumPy's."""
    if numpy.prod(old_shape) == 1:
        return (itemsize,) * len(shape)
    if numpy.prod(old_shape) == 0:
        return numpy.empty(shape, numpy.dtype((numpy.void, itemsize))).strides
    last = next(n * st for n, st in zip(old_shape, old_strides) if n != 1)
    strides = []
    for n, st in zip(shape, numpy_strides):
        last = last if n == 1 else st
        strides.append(last)
    return tuple(strides)


def _as_strided(x, shape=None, strides=None):
    """CuPy's: ``ndarray(shape, x.dtype, memptr=x.data, strides=strides)``, a new array
    over ``x``'s memory whose ``base`` is None."""
    out = _wrap(numpy.lib.stride_tricks.as_strided(_plain(x), shape, strides), x._device_id)
    out._no_base = True
    return out


lib = types.ModuleType("cupy.lib")
lib.stride_tricks = types.ModuleType("cupy.lib.stride_tricks")
lib.stride_tricks.as_strided = _device_function(_as_strided)
random = _RandomModule("cupy.random")


class _FftModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _device_function(getattr(numpy.fft, name))


fft = _FftModule("cupy.fft")
