"""Gather many tensors into one flat buffer and scatter it back, without autograd.

The optimizers' flat path (``ember/optim/_flat.py``) updates a whole parameter group as
one 1-D buffer. Moving the parameters and gradients in and out of that buffer with one
``Tensor.copy_`` per tensor cost more than the update itself for groups of small
parameters (each copy_ re-checks shapes, devices and grad mode). These helpers do the
same copies with one backend call for the gather and one slice assignment per tensor
for the scatter, and bump each written tensor's version counter as copy_ does.

On a GPU the gather and the scatter are one compiled kernel each, instead of a copy
launch per tensor or CuPy's concatenate (``_backend/multi_tensor.py``: a device table of
the tensors' data pointers, rebuilt when a tensor's array is replaced).

Callers guarantee what copy_ would check: no graph is being recorded, the tensors share
the buffer's device, and ``bounds`` are the tensors' offsets in the buffer, back to back
from 0.
"""

from __future__ import annotations

from .._backend import multi_tensor
from ._util import xp_of


def flat_gather_(flat, tensors) -> None:
    """``flat[:] = cat([t.reshape(-1) for t in tensors])`` in one backend call."""
    data = flat._data
    arrays = [t._data for t in tensors]
    if not multi_tensor.gather_flat(data, arrays):
        xp_of(data).concatenate([a.reshape(-1) for a in arrays], out=data)
    flat._vc[0] += 1


def flat_scatter_(tensors, flat, bounds) -> None:
    """``t.copy_(flat[a:b].view_as(t))`` for each tensor and its ``(a, b)`` bounds."""
    data = flat._data
    if not multi_tensor.scatter_flat(data, [t._data for t in tensors]):
        for t, (start, stop) in zip(tensors, bounds):
            target = t._data
            target[...] = data[start:stop].reshape(target.shape)
    for t in tensors:
        t._vc[0] += 1
