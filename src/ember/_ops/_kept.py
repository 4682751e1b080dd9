"""Constant arrays that every training step would otherwise rebuild (index bases, causal
masks), made once per shape and device and kept.

On a GPU each array op is a kernel launch, host time that a step is bound by, and these
arrays depend only on shapes: the flat positions of cross entropy's target entries, the
per-plane offsets of a max pool's backward, an attention's causal mask. Their users only
read them (every use makes a new array from them); none is ever handed to the caller.

Nothing kept is ever dropped: a CUDA graph replays the device addresses it captured, so an
array that a captured graph reads must outlive the graph. Past ``LIMIT`` entries (a model
has a few shapes; a sweep over many should not grow memory without bound) arrays are made
afresh on each call instead.
"""

from __future__ import annotations

import numpy as np

LIMIT = 64
_KEPT: dict = {}


def kept(key, make, keep=None):
    """``make()``, made once for ``key`` (which must name the device) and kept; a value
    that ``keep(value)`` rejects (a tensor subclass, a mode's tensor) is not kept."""
    value = _KEPT.get(key)
    if value is None:
        value = make()
        if len(_KEPT) < LIMIT and (keep is None or keep(value)):
            _KEPT[key] = value
    return value


def kept_array(xp, like, key, make):
    """``make()``, an array made where ``like`` lives (``xp``: its array module), kept per
    ``key`` and device on the CPU (read-only, to be sure nothing writes into it) and on
    CUDA devices; made afresh elsewhere (meta: nothing to save)."""
    if xp is np:
        def on_host():
            out = make()
            out.flags.writeable = False
            return out

        return kept(key + ("cpu",), on_host)
    if not hasattr(xp, "cuda"):
        return make()
    device = like.device.id

    def on_device():
        with xp.cuda.Device(device):
            return make()

    return kept(key + (device,), on_device)


def strided_arange(xp, like, count, step):
    """``arange(0, count * step, step)`` as int64 where ``like`` lives, kept."""
    if step == 0:  # arange refuses a zero step; every entry is 0 (an empty axis's offsets)
        return kept_array(xp, like, ("arange", count, 0),
                          lambda: xp.zeros(count, dtype=np.int64))
    return kept_array(xp, like, ("arange", count, step),
                      lambda: xp.arange(0, count * step, step, dtype=np.int64))
