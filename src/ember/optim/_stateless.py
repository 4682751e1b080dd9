"""``swap_in_optimizer_params_and_state``: run an optimizer on other tensors for a while.

Inside the block the optimizer's groups hold the given parameters and hyper-parameters
and its ``state`` is the given ``state_dict()``'s state keyed by those parameters, so
``step()`` updates them (and, in place, the given state tensors) instead of the live ones;
the live groups and state come back on exit, also after an exception.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any

import ember

__all__ = ["swap_in_optimizer_params_and_state"]

_NAME = "swap_in_optimizer_params_and_state"


def _checked_state(state: Any) -> dict:
    if not isinstance(state, dict):
        raise RuntimeError(
            f"{_NAME} requires swapin_optim_state['state'] to be a dict mapping packed "
            f"parameter ids to per-param state dicts, got {type(state).__name__}.")
    if any(isinstance(key, ember.Tensor) for key in state):
        raise RuntimeError(
            f"{_NAME} requires optimizer.state_dict()-style state keyed by packed parameter ids.")
    if any(isinstance(key, int) and not isinstance(value, dict) for key, value in state.items()):
        raise RuntimeError(
            f"{_NAME} requires per-parameter optimizer state entries to be dictionaries.")
    return state


def _checked_groups(optimizer, groups: Any) -> list:
    if not isinstance(groups, list):
        raise RuntimeError(
            f"{_NAME} requires swapin_optim_state['param_groups'] to be a list of "
            f"param-group dicts, got {type(groups).__name__}.")
    if len(groups) != len(optimizer.param_groups):
        raise RuntimeError(
            "swapin_optim_state has a different number of parameter groups than the live "
            "optimizer.")
    return groups


def _checked_group_ids(index: int, live: dict, group: Any) -> list:
    """The packed ids of one swap-in group, after checking it mirrors the live group."""
    if not isinstance(group, dict):
        raise RuntimeError(f"{_NAME} requires each optimizer param group to be a dictionary.")
    ids = group.get("params")
    if not isinstance(ids, list) or not all(isinstance(pid, int) for pid in ids):
        raise RuntimeError(
            f"{_NAME} requires optimizer.state_dict()-style param_groups[*]['params'] "
            "entries keyed by packed parameter ids.")
    if len(ids) != len(live["params"]):
        raise RuntimeError(
            f"swapin_optim_state param group {index} has a different number of params than "
            "the live optimizer param group.")
    only_swapin = [key for key in group if key not in live]
    only_live = [key for key in live if key not in group]
    if only_swapin or only_live:
        raise RuntimeError(
            f"{_NAME} requires optimizer.state_dict()-style param group keys to exactly "
            f"match the live optimizer group keys for group {index}. Keys only in swap-in: "
            f"{only_swapin}. Keys only in live: {only_live}.")
    return ids


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(optimizer, swapin_parameters: dict,
                                       swapin_optim_state: dict):
    """Give ``optimizer`` the parameters ``swapin_parameters`` (in the order of its groups'
    parameters, e.g. ``model.named_parameters()``) and the ``state_dict()``-shaped
    ``swapin_optim_state`` for the duration of the block.

    In-place updates reach the given tensors; anything else the block does to the state
    (new keys, rebound tensors) stays local to it.
    """
    if not optimizer.state:
        raise RuntimeError(f"{_NAME} requires initialized optimizer state.")
    if not isinstance(swapin_optim_state, dict):
        raise RuntimeError(f"{_NAME} requires a DCP-style optimizer state_dict.")
    packed_state = _checked_state(swapin_optim_state.get("state"))
    groups = _checked_groups(optimizer, swapin_optim_state.get("param_groups"))
    tensors = list(swapin_parameters.values())
    plan, offset, seen = [], 0, set()
    for index, (live, group) in enumerate(zip(optimizer.param_groups, groups)):
        ids = _checked_group_ids(index, live, group)
        seen.update(ids)
        if offset + len(ids) > len(tensors):
            raise RuntimeError(
                f"{_NAME} requires the explicit parameter state to match "
                "optimizer.param_groups ordering.")
        plan.append((live, group, tensors[offset:offset + len(ids)]))
        offset += len(ids)
    extra = [key for key in packed_state if key not in seen]
    if extra:
        raise RuntimeError(
            f"{_NAME} requires swapin_optim_state['state'] to be keyed only by packed "
            f"parameter ids from param_groups[*]['params']; got extra keys {extra!r}.")

    live_state = optimizer.state
    snapshots = [dict(group) for group in optimizer.param_groups]  # keeps the params lists
    try:
        state = defaultdict(dict)
        for live, group, params in plan:
            live["params"] = params
            live.update((key, value) for key, value in group.items() if key != "params")
            for param, pid in zip(params, group["params"]):
                state[param] = dict(packed_state.get(pid, {}))
        optimizer.state = state
        yield
    finally:
        for live, snapshot in zip(optimizer.param_groups, snapshots):
            live.clear()
            live.update(snapshot)
        optimizer.state = live_state
