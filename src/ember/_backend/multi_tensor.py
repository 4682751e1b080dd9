"""Kernels over many tensors at once, PyTorch's multi-tensor apply on CuPy
(``ember._backend.kernels``).

Why: a per-tensor loop is one kernel launch per tensor on a GPU, and a training step
touches every parameter several times outside the optimizer's update (scattering the
flat update back, gradient clipping's norms and rescale, GradScaler's unscale and inf
check). Here the tensors are one virtual concatenation: a device table holds each
tensor's data pointer and its stop offset, and a kernel thread finds its tensor by a
binary search over the stops, so the whole list is one launch.

The table is cached by the tensors' (data pointer, size) pairs, which is exactly what
it holds, so no array is kept alive by the cache. Callers check what the kernels
assume: C-contiguous arrays of one float dtype on one device. Every function returns
None/False where the caller's per-tensor path must run (NumPy, a backend that cannot
compile, fewer tensors than pay for a table).
"""

from __future__ import annotations

import numpy as np

from . import graph_capture
from .kernels import elementwise, launch
from .strided import data_ptr

# find ``position``'s tensor by a binary search over the stops: ``k`` its index, ``start``
# its offset in the concatenation
_LOCATE = """
ptrdiff_t k = 0, high = count - 1;
while (k < high) {
    const ptrdiff_t middle = (k + high) / 2;
    if (table[count + middle] > position) high = middle;
    else k = middle + 1;
}
long long start = k == 0 ? 0 : table[count + k - 1];
"""

_SCATTER = "const long long position = i;" + _LOCATE + """
((T*)table[k])[position - start] = flat[position];
"""

_GATHER = "const long long position = i;" + _LOCATE + """
flat[position] = ((const T*)table[k])[position - start];
"""

_SCALE = "const long long position = i;" + _LOCATE + """
T coef = (T)max_norm / (total_norm[0] + (T)1e-6);
coef = coef > (T)1 ? (T)1 : coef;
((T*)table[k])[position - start] *= coef;
"""

# thread i sums the squares of elements i, i + threads, i + 2 threads, ...: neighbouring
# threads read neighbouring elements (coalesced), each locating its element's tensor
_SQUARES = """
const long long total = table[2 * count - 1];
T squares = 0;
for (long long position = i; position < total; position += threads) {
""" + _LOCATE + """
    const T value = ((const T*)table[k])[position - start];
    squares += value * value;
}
partial[i] = squares;
"""

# GradScaler's unscale: the inf/nan check on the value before the multiply, as torch's
# kernel (grad_t: the gradients' type, a typedef in the preamble)
_UNSCALE = "const long long position = i;" + _LOCATE + """
grad_t* const element = (grad_t*)table[k] + (position - start);
const grad_t value = *element;
if (!isfinite(value)) found_inf[0] = 1.0f;
const float scale = inv_scale[0];
*element = scale == 1.0f ? value : (grad_t)(value * scale);
"""

_CHUNK = 512  # elements per thread (at most) in the sums of squares
_TABLES: dict = {}  # ((ptr, size), ...) -> device table
# id -> a table a CUDA graph captured: its replays read that device memory, which the
# graph's pool does not hold (the table predates the capture), so clearing ``_TABLES``
# must not free it (a few bytes a tensor, once per table a capture used)
_CAPTURED: dict = {}


_C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}


def _usable(xp, arrays, least=2):
    """Whether the kernels take ``arrays``; not while a CUDA graph captures unless their
    table is already on the device (building one is a host upload, which a capturing
    stream refuses): the callers' per-tensor paths capture instead."""
    if xp is np or len(arrays) < least:
        return False
    dtype = arrays[0].dtype
    return dtype in (np.float32, np.float64) and all(
        a.dtype == dtype and a.flags.c_contiguous for a in arrays) and (
        not graph_capture.ACTIVE[0] or _key(arrays) in _TABLES)


def _key(arrays):
    return tuple((data_ptr(a), a.size) for a in arrays)


def pointer_table(xp, arrays):
    """The device int64 table ``[pointer_0, .., pointer_n-1, stop_0, .., stop_n-1]``."""
    key = _key(arrays)
    table = _TABLES.get(key)
    if table is None:
        if len(_TABLES) >= 32:
            _TABLES.clear()
        stops = np.cumsum([a.size for a in arrays], dtype=np.int64)
        pointers = np.array([data_ptr(a) for a in arrays], dtype=np.uint64).view(np.int64)
        table = _TABLES[key] = xp.asarray(np.concatenate([pointers, stops]))
    if graph_capture.ACTIVE[0]:
        _CAPTURED[id(table)] = table
    return table


def scatter_flat(flat, arrays) -> bool:
    """``a[...] = flat[offset:offset + a.size]`` for each array back to back, one launch."""
    return _flat_copy(flat, arrays, "ember_multi_tensor_scatter", _SCATTER)


def gather_flat(flat, arrays) -> bool:
    """``flat[offset:offset + a.size] = a.ravel()`` for each array back to back, one launch
    (where ``concatenate`` builds and uploads its own pointer table every call)."""
    return _flat_copy(flat, arrays, "ember_multi_tensor_gather", _GATHER)


def _flat_copy(flat, arrays, name, operation) -> bool:
    xp = _module(flat)
    if not _usable(xp, arrays) or flat.dtype != arrays[0].dtype:
        return False
    kernel = elementwise(xp, name, "raw int64 table, int64 count", "raw T flat",
                         operation)  # flat is an output either way: it binds T
    total = sum(a.size for a in arrays)
    return kernel is not None and launch(xp, kernel, pointer_table(xp, arrays),
                                         np.int64(len(arrays)), flat, size=total)


def norm(arrays):
    """The 2-norm of the arrays as if concatenated (a 0-d device array), in three
    launches (chunked sums of squares, their sum, the root); None where unusable."""
    xp = _module(arrays[0]) if arrays else np
    if not _usable(xp, arrays):
        return None
    kernel = elementwise(xp, "ember_multi_tensor_squares", "raw int64 table, int64 count, "
                         "int64 threads", "raw T partial", _SQUARES)
    if kernel is None:
        return None
    total = sum(a.size for a in arrays)
    partial = xp.empty(max(-(-total // _CHUNK), 1), arrays[0].dtype)
    if not launch(xp, kernel, pointer_table(xp, arrays), np.int64(len(arrays)),
                  np.int64(partial.size), partial, size=partial.size):
        return None
    return xp.sqrt(partial.sum())


def clip_(arrays, max_norm, total_norm) -> bool:
    """``a *= min(max_norm / (total_norm + 1e-6), 1)`` for each array, one launch, the
    coefficient computed on the device from the 0-d ``total_norm``."""
    xp = _module(total_norm)
    if not _usable(xp, arrays) or total_norm.dtype != arrays[0].dtype:
        return False
    kernel = elementwise(xp, "ember_multi_tensor_clip", "raw int64 table, int64 count, "
                         "float64 max_norm", "raw T total_norm", _SCALE)  # read only
    total = sum(a.size for a in arrays)
    return kernel is not None and launch(xp, kernel, pointer_table(xp, arrays),
                                         np.int64(len(arrays)), np.float64(max_norm),
                                         total_norm.reshape(1), size=total)


def unscale_(arrays, inv_scale, found_inf) -> bool:
    """GradScaler's unscale over arrays of one dtype, one launch: ``found_inf`` (a
    1-element float32 device array) set to 1 where any value is inf/nan, checked before
    the multiply, then each value times ``inv_scale`` (1-element float32; a float64
    array's product is float64, as torch's). One array is enough here: the per-array
    path is four or more launches for it. Nothing reads ``found_inf`` back, so a step
    that uses it synchronises once, when it decides whether to skip."""
    xp = _module(found_inf)
    if not _usable(xp, arrays, least=1):
        return False
    c_type = _C_TYPES[arrays[0].dtype]  # the gradients' type: none of the arguments binds it
    kernel = elementwise(xp, f"ember_multi_tensor_unscale_{c_type}", "raw int64 table, "
                         "int64 count, raw float32 inv_scale", "raw float32 found_inf",
                         _UNSCALE, preamble=f"typedef {c_type} grad_t;")
    total = sum(a.size for a in arrays)
    if kernel is not None and total == 0:
        return True  # nothing to check or scale: no launch
    return kernel is not None and launch(xp, kernel, pointer_table(xp, arrays),
                                         np.int64(len(arrays)), inv_scale, found_inf,
                                         size=total)


def _module(array):
    from .device import array_module

    return array_module(array)
