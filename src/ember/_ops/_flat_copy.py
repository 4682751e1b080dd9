"""Gather many tensors into one flat buffer and scatter it back, without autograd.

The optimizers' flat path (``ember/optim/_flat.py``) updates a whole parameter group as
one 1-D buffer. Moving the parameters and gradients in and out of that buffer with one
``Tensor.copy_`` per tensor cost more than the update itself for groups of small
parameters (each copy_ re-checks shapes, devices and grad mode). These helpers do the
same copies with one backend call for the gather and one slice assignment per tensor
for the scatter, and bump each written tensor's version counter as copy_ does.

On a GPU the scatter is one compiled kernel instead of a copy launch per tensor: each
element finds its tensor by a binary search over the bounds and writes through a device
table of the tensors' data pointers (rebuilt when a tensor's array is replaced).

Callers guarantee what copy_ would check: no graph is being recorded, the tensors share
the buffer's device, and ``bounds`` are the tensors' offsets in the buffer, back to back
from 0.
"""

from __future__ import annotations

import numpy as np

from .._backend.kernels import elementwise, launch
from .._backend.strided import data_ptr
from ._util import xp_of

_SCATTER = """
ptrdiff_t low = 0, high = count - 1;
while (low < high) {
    const ptrdiff_t middle = (low + high) / 2;
    if (stops[middle] > i) high = middle;
    else low = middle + 1;
}
const long long start = low == 0 ? 0 : stops[low - 1];
((T*)pointers[low])[i - start] = flat[i];
"""

# id(flat array) -> (flat array, target arrays, device pointer table, device stops)
_TABLES: dict = {}


def flat_gather_(flat, tensors) -> None:
    """``flat[:] = cat([t.reshape(-1) for t in tensors])`` in one backend call."""
    data = flat._data
    xp = xp_of(data)
    xp.concatenate([t._data.reshape(-1) for t in tensors], out=data)
    flat._vc[0] += 1


def flat_scatter_(tensors, flat, bounds) -> None:
    """``t.copy_(flat[a:b].view_as(t))`` for each tensor and its ``(a, b)`` bounds."""
    data = flat._data
    if not _kernel_scatter(data, [t._data for t in tensors], bounds):
        for t, (start, stop) in zip(tensors, bounds):
            target = t._data
            target[...] = data[start:stop].reshape(target.shape)
    for t in tensors:
        t._vc[0] += 1


def _kernel_scatter(data, targets, bounds) -> bool:
    """The scatter as one kernel launch; False where the per-tensor copies must run
    (NumPy, a backend that cannot compile, targets that are not contiguous or of
    another dtype)."""
    xp = xp_of(data)
    if xp is np or len(targets) < 2:
        return False
    # the source buffer is the (unwritten) output: CuPy binds T from it
    kernel = elementwise(xp, "ember_flat_scatter", "raw uint64 pointers, raw int64 stops, "
                         "int64 count", "raw T flat", _SCATTER)
    if kernel is None:
        return False
    entry = _TABLES.get(id(data))
    if entry is None or entry[0] is not data or len(entry[1]) != len(targets) or any(
            a is not b for a, b in zip(entry[1], targets)):
        if any(t.dtype != data.dtype or not t.flags.c_contiguous for t in targets):
            return False
        if len(_TABLES) > 64:
            _TABLES.clear()
        pointers = xp.asarray(np.array([data_ptr(t) for t in targets], dtype=np.uint64))
        stops = xp.asarray(np.array([stop for _, stop in bounds], dtype=np.int64))
        entry = _TABLES[id(data)] = (data, list(targets), pointers, stops)
    return launch(xp, kernel, entry[2], entry[3], np.int64(len(targets)), data,
                  size=bounds[-1][1])
