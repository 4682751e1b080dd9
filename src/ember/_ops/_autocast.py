"""Autocast for composite ops that PyTorch's autocast lists as float32.

``ember.amp`` keys its op lists on Function classes, consulted by ``Function.apply``. A
composite op (l1_loss, kl_div, avg_pool3d, ...) has no single class for a list to name,
and its parts would each be cast by their own rule (or refuse bfloat16), so such an op's
entry point carries ``float32_in_autocast``: it runs the whole composition in float32
with autocast off for the device, as PyTorch runs a listed op.
"""

from __future__ import annotations

import functools

import numpy as np

from .._backend import autocast_state
from .._backend.device import device_of
from ._util import Tensor


def _up(value):
    # PyTorch casts only eligible floating tensors: float64 stays (autocast's is_eligible)
    if isinstance(value, Tensor) and value._data.dtype.kind in "fV" and value._data.dtype != np.float64:
        return value.float()
    return value


def float32_in_autocast(fn):
    """Run ``fn`` in float32 (its floating tensor arguments cast up) with autocast off for
    their device, when autocast is on there; otherwise call it as is (one list read)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        active = autocast_state.ACTIVE[0]
        if active is None:
            return fn(*args, **kwargs)
        tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
        device = device_of(tensors[0]._data).type if tensors else "cpu"
        if device not in active:
            return fn(*args, **kwargs)
        args = [_up(a) for a in args]
        kwargs = {k: _up(v) for k, v in kwargs.items()}
        autocast_state.ACTIVE[0] = {k: v for k, v in active.items() if k != device} or None
        try:
            return fn(*args, **kwargs)
        finally:
            autocast_state.ACTIVE[0] = active

    return wrapper
