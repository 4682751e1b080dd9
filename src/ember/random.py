"""``ember.random``: the RNG functions under their ``torch.random`` names, plus
``fork_rng`` to run a block without disturbing the global random state."""

from __future__ import annotations

import contextlib

from ._ops.random import get_rng_state, initial_seed, manual_seed, seed, set_rng_state

__all__ = ["fork_rng", "get_rng_state", "initial_seed", "manual_seed", "seed", "set_rng_state"]


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type="cuda"):
    """Restore the global RNG state on exit, whatever the block drew."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
