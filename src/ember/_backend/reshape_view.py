"""``reshape_view``: an array with a new shape over the same memory, or None where the
memory layout cannot give that shape without a copy (what ``view`` needs to know).

The old way to ask was setting ``array.shape``, which NumPy 2.5 deprecates; NumPy 2.1+
answers with ``reshape(copy=False)`` (ValueError when a copy is needed). CuPy arrays
keep the shape setter (AttributeError when a copy is needed), as does NumPy before 2.1.
"""

from __future__ import annotations

import functools

import numpy as np


def _reshape_takes_copy() -> bool:
    try:
        np.ndarray.reshape(np.zeros(1), (1,), copy=False)
    except TypeError:  # NumPy < 2.1
        return False
    return True


_COPY_KEYWORD = _reshape_takes_copy()


def reshape_view(array, shape):
    """``array`` viewed as ``shape``, or None when that needs a copy. NumPy arrays and
    their subclasses (meta arrays) come back as the same subclass; CuPy arrays (and the
    CuPy double) as CuPy arrays, with NumPy's strides (``_numpy_unit_strides``)."""
    if type(array) is not np.ndarray and _on_cupy(array):
        out = array.view()
        try:
            out.shape = shape
        except AttributeError:
            return None
        return _numpy_unit_strides(array, out)
    if _COPY_KEYWORD and isinstance(array, np.ndarray):
        try:
            return np.ndarray.reshape(array, shape, copy=False)
        except ValueError as error:  # "Unable to avoid creating a copy while reshaping."
            if "copy" not in str(error):
                raise  # a wrong size, which the shape setter raised too
            return None
    out = array.view()
    try:
        out.shape = shape
    except AttributeError:
        return None
    return out


_cupy_module = None


def _on_cupy(array) -> bool:
    """Whether ``array`` is a CuPy array (the CuPy double's under test). ``cupy_module``
    is looked up once (device imports meta, which imports this module): an import in the
    function cost ~1 us on every CuPy reshape. It reads device's globals on each call,
    so swapping the CuPy module there still takes effect."""
    global _cupy_module
    if _cupy_module is None:
        from .device import cupy_module

        _cupy_module = cupy_module
    cp = _cupy_module()
    return cp is not None and isinstance(array, cp.ndarray)


def _numpy_unit_strides(source, out):
    """``out`` (CuPy's reshape of ``source``) with NumPy's strides on its size-1 dims.
    CuPy gives a size-1 dim the stride of the dim before it; NumPy, and PyTorch's view,
    give it size * stride of the dim after it (``x[1].t().unsqueeze(1)`` of a (3, 4, 5)
    tensor: PyTorch's strides (1, 20, 5), CuPy's (1, 1, 5)). Such a stride addresses
    nothing, but ``stride()`` reports it and later views build on it, so ember's follow
    PyTorch's on every backend: NumPy's reshape of a stand-in with ``source``'s layout
    (no memory read) gives them, and ``out`` is rebuilt over the same memory when CuPy's
    differ."""
    if 1 not in out.shape:
        return out
    wanted = _numpy_strides(source.shape, source.strides, source.itemsize, out.shape)
    if wanted is None or wanted == out.strides:
        return out
    from .strided import strided_view

    return strided_view(out, out.shape, wanted)


@functools.lru_cache(maxsize=1024)
def _numpy_strides(shape, strides, itemsize, new_shape):
    """The strides NumPy's no-copy reshape gives a ``shape``/``strides`` layout viewed as
    ``new_shape`` (None: it needs a copy). Cached: building the stand-in costs ~6 us of
    host time, and a training step views the same layouts again and again."""
    stand_in = np.lib.stride_tricks.as_strided(
        np.empty(1, np.dtype((np.void, itemsize))), shape, strides)
    wanted = reshape_view(stand_in, new_shape)
    return None if wanted is None else wanted.strides
