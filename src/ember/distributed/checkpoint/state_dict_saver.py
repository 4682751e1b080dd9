"""``save`` (and ``async_save``, the deprecated ``save_state_dict``): every rank writes
its part of the state dict, rank 0 of the group plans and writes the metadata.

The steps are PyTorch's: each rank plans locally, the coordinator gathers the plans,
removes duplicates and builds the metadata, each rank writes its items, the coordinator
gathers the write results and writes ``.metadata``."""

from __future__ import annotations

import concurrent.futures
import inspect
import warnings
from enum import Enum

from ._storage_utils import _no_dist, _storage_setup, _warn_single_process
from .default_planner import DefaultSavePlanner
from .stateful import Stateful
from .utils import _api_bc_check, _DistWrapper

__all__ = ["save_state_dict", "save", "async_save", "AsyncCheckpointerType"]


class AsyncCheckpointerType(Enum):
    THREAD = "thread"
    PROCESS = "process"


def _stateful_to_state_dict(state_dict: dict) -> dict:
    """A shallow copy with every Stateful object replaced by its ``state_dict()``."""
    return {key: value.state_dict() if isinstance(value, Stateful) else value
            for key, value in state_dict.items()}


def save_state_dict(state_dict: dict, storage_writer, process_group=None,
                    coordinator_rank: int = 0, no_dist: bool = False, planner=None):
    """Deprecated form of ``save``."""
    warnings.warn("`save_state_dict` is deprecated and will be removed in future versions."
                  "Please use `save` instead.", FutureWarning, stacklevel=2)
    storage_writer.reset()
    return _save_state_dict(state_dict, storage_writer, process_group, coordinator_rank,
                            no_dist, planner)


@_api_bc_check
def save(state_dict: dict, *, checkpoint_id=None, storage_writer=None, planner=None,
         process_group=None, no_dist: bool = False, use_collectives: bool = True):
    """Save ``state_dict`` (tensors, DTensors whose pieces each rank writes, nested
    dicts/lists, other picklable values, Stateful objects) as a checkpoint directory.

    Args:
        checkpoint_id: the directory (or give ``storage_writer``).
        planner: a ``SavePlanner`` (default ``DefaultSavePlanner()``).
        process_group: the ranks saving together (default: the world, when initialized).
        no_dist: save from this process alone.

    Returns:
        The checkpoint's ``Metadata``.

    Example::

        >>> dcp.save({"model": model.state_dict()}, checkpoint_id="ckpt")
    """
    no_dist = _no_dist(no_dist)
    if no_dist:
        _warn_single_process("save")
    storage_writer = _storage_setup(storage_writer, checkpoint_id, reader=False)
    return _save_state_dict(_stateful_to_state_dict(state_dict), storage_writer, process_group,
                            no_dist=no_dist, planner=planner, use_collectives=use_collectives)


def async_save(state_dict: dict, *, checkpoint_id=None, storage_writer=None, planner=None,
               process_group=None,
               async_checkpointer_type: AsyncCheckpointerType = AsyncCheckpointerType.THREAD,
               async_stager=None, no_dist: bool = False, use_collectives: bool = True):
    """``save`` in a background thread, after copying the tensors to CPU memory (the
    staging); returns a ``concurrent.futures.Future`` holding the ``Metadata``.
    ``AsyncCheckpointerType.PROCESS`` runs in the same kind of thread (ember keeps no
    separate checkpoint process)."""
    from .staging import AsyncStager, DefaultStager

    if async_stager is None:
        async_stager = storage_writer if isinstance(storage_writer, AsyncStager) \
            else DefaultStager()
    staged = async_stager.stage(_stateful_to_state_dict(state_dict))
    no_dist = _no_dist(no_dist)
    if no_dist:
        _warn_single_process("save")
    storage_writer = _storage_setup(storage_writer, checkpoint_id, reader=False)
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = executor.submit(_save_state_dict, staged, storage_writer, process_group,
                             no_dist=no_dist, planner=planner, use_collectives=use_collectives)
    executor.shutdown(wait=False)
    return future


def _save_state_dict(state_dict: dict, storage_writer, process_group=None,
                     coordinator_rank: int = 0, no_dist: bool = False, planner=None,
                     use_collectives: bool = True):
    dist_wrapper = _DistWrapper(process_group, not no_dist, coordinator_rank)
    planner = planner or DefaultSavePlanner()
    global_metadata = None

    def local_step():
        storage_meta = storage_writer.storage_meta()
        if "storage_meta" in inspect.signature(planner.set_up_planner).parameters:
            planner.set_up_planner(state_dict=state_dict, storage_meta=storage_meta,
                                   is_coordinator=dist_wrapper.is_coordinator)
        else:
            warnings.warn("The function definition for SavePlanner.set_up_planner has been "
                          "updated to include the storage_meta argument. Please update your "
                          "implementation to include this parameter.", stacklevel=2)
            planner.set_up_planner(state_dict, dist_wrapper.is_coordinator)
        if "kwargs" in inspect.signature(storage_writer.set_up_storage_writer).parameters:
            storage_writer.set_up_storage_writer(dist_wrapper.is_coordinator,
                                                 rank=dist_wrapper.rank,
                                                 use_collectives=use_collectives)
        else:
            storage_writer.set_up_storage_writer(dist_wrapper.is_coordinator)
        return storage_writer.prepare_local_plan(planner.create_local_plan())

    def global_step(all_local_plans):
        nonlocal global_metadata
        all_local_plans, global_metadata = planner.create_global_plan(all_local_plans)
        return storage_writer.prepare_global_plan(all_local_plans)

    if use_collectives:
        central_plan = dist_wrapper.reduce_scatter("plan", local_step, global_step)
    else:
        central_plan = global_step([local_step()])[0]

    def write_data():
        writes = storage_writer.write_data(planner.finish_plan(central_plan), planner)
        writes.wait()
        return writes.value()

    def finish_checkpoint(all_results):
        storage_writer.finish(metadata=global_metadata, results=all_results)
        return global_metadata

    if use_collectives:
        return dist_wrapper.all_reduce("write", write_data, finish_checkpoint)
    metadata = finish_checkpoint([write_data()])
    dist_wrapper.barrier()
    return metadata
