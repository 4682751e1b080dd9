"""``load`` (and the deprecated ``load_state_dict``): fill an existing state dict from a
checkpoint in place. Tensors (and each rank's DTensor pieces) are copied into; other
values are replaced; Stateful objects get ``load_state_dict`` with what was loaded."""

from __future__ import annotations

import inspect
import warnings

from ._storage_utils import _no_dist, _storage_setup, _warn_single_process
from .default_planner import DefaultLoadPlanner, _EmptyStateDictLoadPlanner
from .stateful import Stateful
from .utils import _api_bc_check, _DistWrapper

__all__ = ["load_state_dict", "load"]


def load_state_dict(state_dict: dict, storage_reader, process_group=None,
                    coordinator_rank: int = 0, no_dist: bool = False, planner=None) -> None:
    """Deprecated form of ``load``."""
    warnings.warn("`load_state_dict` is deprecated and will be removed in future versions. "
                  "Please use `load` instead.", FutureWarning, stacklevel=2)
    storage_reader.reset()
    return _load_state_dict(state_dict, storage_reader, process_group, coordinator_rank,
                            no_dist, planner)


@_api_bc_check
def load(state_dict: dict, *, checkpoint_id=None, storage_reader=None, planner=None,
         process_group=None, no_dist: bool = False) -> None:
    """Load a checkpoint into ``state_dict`` in place (every rank reads only what its
    tensors and DTensor pieces need, from however the checkpoint was sharded).

    Args:
        checkpoint_id: the directory (or give ``storage_reader``).
        planner: a ``LoadPlanner`` (default ``DefaultLoadPlanner()``).
        process_group: the ranks loading together (default: the world, when initialized).
        no_dist: load in this process alone.

    Example::

        >>> state = {"model": model.state_dict()}
        >>> dcp.load(state, checkpoint_id="ckpt")
        >>> model.load_state_dict(state["model"])
    """
    no_dist = _no_dist(no_dist)
    if no_dist:
        _warn_single_process("load")
    storage_reader = _storage_setup(storage_reader, checkpoint_id, reader=True)
    keys = sorted(state_dict.keys())
    stateful_sd = {key: state_dict[key].state_dict() if isinstance(state_dict[key], Stateful)
                   else state_dict[key] for key in keys}
    _load_state_dict(stateful_sd, storage_reader, process_group, no_dist=no_dist,
                     planner=planner)
    for key in keys:
        if isinstance(state_dict[key], Stateful):
            state_dict[key].load_state_dict(stateful_sd[key])
        else:
            state_dict[key] = stateful_sd[key]


def _load_state_dict(state_dict: dict, storage_reader, process_group=None,
                     coordinator_rank: int = 0, no_dist: bool = False, planner=None) -> None:
    dist_wrapper = _DistWrapper(process_group, not no_dist, coordinator_rank)
    planner = planner or DefaultLoadPlanner()
    use_collectives = True

    def local_step():
        nonlocal use_collectives
        metadata, failures = None, []
        try:
            metadata = storage_reader.read_metadata()
        except Exception as exc:  # noqa: BLE001 - a per-rank metadata file may exist
            failures.append(f"global metadata read failed: {exc}")
        if metadata is None and "kwargs" in inspect.signature(
                storage_reader.read_metadata).parameters:
            try:
                metadata = storage_reader.read_metadata(rank=dist_wrapper.rank)
                use_collectives = False
            except Exception as exc:  # noqa: BLE001
                failures.append(f"rank local metadata read failed: {exc}")
        if metadata is None:
            raise AssertionError("; ".join(["metadata is None", *failures]))
        planner.set_up_planner(state_dict, metadata, dist_wrapper.is_coordinator)
        if "kwargs" in inspect.signature(storage_reader.set_up_storage_reader).parameters:
            storage_reader.set_up_storage_reader(metadata, dist_wrapper.is_coordinator,
                                                 rank=dist_wrapper.rank,
                                                 use_collectives=use_collectives)
        else:
            storage_reader.set_up_storage_reader(metadata, dist_wrapper.is_coordinator)
        return storage_reader.prepare_local_plan(planner.create_local_plan())

    def global_step(all_local_plans):
        return storage_reader.prepare_global_plan(planner.create_global_plan(all_local_plans))

    central_plan = dist_wrapper.reduce_scatter("plan", local_step, global_step)

    def read_data():
        reads = storage_reader.read_data(planner.finish_plan(central_plan), planner)
        reads.wait()

    dist_wrapper.all_gather("read", read_data)


def _load_state_dict_from_keys(keys=None, *, checkpoint_id=None, storage_reader=None,
                               process_group=None) -> dict:
    """The whole checkpoint (or the entries under ``keys``) as a new state dict, read in
    this process."""
    no_dist = _no_dist(False)
    if no_dist:
        _warn_single_process("load")
    storage_reader = _storage_setup(storage_reader, checkpoint_id, reader=True)
    if isinstance(keys, str):
        keys = {keys}
    state_dict = {}
    _load_state_dict(state_dict, storage_reader, process_group, no_dist=no_dist,
                     planner=_EmptyStateDictLoadPlanner(keys=keys))
    return state_dict
