"""Collectives that also work without a process group, exception-safe across ranks: a
failure on one rank reaches every rank as a ``CheckpointException`` instead of a hang."""

from __future__ import annotations

import sys

import ember

from .api import CheckpointException, _is_wrapped_exception, _wrap_exception
from .metadata import MetadataIndex

__all__ = ["find_tensor_shard", "find_state_dict_object"]


def _dist():
    import ember.distributed as dist

    return dist


def _loaded_class(module: str, name: str):
    """The class ``module.name`` if that module was imported, else None. Checking a value's
    type must not import DTensor: defining it turns the __torch_function__ protocol on for
    the whole process (and if it was never imported, no value is one)."""
    found = sys.modules.get(module)
    return getattr(found, name, None) if found is not None else None


def _is_dtensor(obj) -> bool:
    cls = _loaded_class("ember.distributed.tensor._api", "DTensor")
    return cls is not None and isinstance(obj, cls)


class _DistWrapper:
    """A process group's object collectives, or their one-process forms when
    ``use_dist`` is False. Rank ``coordinator_rank`` of the group plans for everyone."""

    def __init__(self, group, use_dist: bool, coordinator_rank: int):
        self.group, self.use_dist, self.coordinator_rank = group, use_dist, coordinator_rank
        if use_dist:
            dist = _dist()
            self.global_coordinator_rank = (dist.get_global_rank(group, coordinator_rank)
                                            if group is not None else coordinator_rank)
            self.rank = dist.get_rank(group)
            self.is_coordinator = self.rank == coordinator_rank
        else:
            self.global_coordinator_rank, self.rank, self.is_coordinator = 0, 0, True

    def get_world_size(self) -> int:
        return _dist().get_world_size(self.group) if self.use_dist else 1

    def broadcast_object(self, obj):
        objects = [obj]
        if self.use_dist:
            _dist().broadcast_object_list(objects, src=self.global_coordinator_rank,
                                          group=self.group)
        return objects[0]

    def gather_object(self, obj):
        if not self.use_dist:
            return [obj]
        gathered = [None] * self.get_world_size() if self.is_coordinator else None
        _dist().gather_object(obj, gathered, dst=self.global_coordinator_rank, group=self.group)
        return gathered

    def all_gather_object(self, obj):
        if not self.use_dist:
            return [obj]
        gathered = [None] * self.get_world_size()
        _dist().all_gather_object(gathered, obj, group=self.group)
        return gathered

    def scatter_object(self, objects):
        if not self.use_dist:
            return objects[0]
        received = [None]
        _dist().scatter_object_list(received, objects if self.is_coordinator else None,
                                    src=self.global_coordinator_rank, group=self.group)
        return received[0]

    def _failures(self, results) -> dict:
        return {i: r for i, r in enumerate(results) if _is_wrapped_exception(r)}

    def reduce_scatter(self, step: str, map_fun, reduce_fun):
        """``map_fun`` on every rank, ``reduce_fun`` of all results on the coordinator,
        its i-th output back to rank i."""
        try:
            local = map_fun()
        except BaseException as exc:  # noqa: BLE001 - every rank must learn of it
            local = _wrap_exception(exc)
        gathered = self.gather_object(local)
        results = None
        if self.is_coordinator:
            failures = self._failures(gathered)
            if not failures:
                try:
                    results = reduce_fun(gathered)
                except BaseException as exc:  # noqa: BLE001
                    failures[self.rank] = _wrap_exception(exc)
            if failures:
                results = [CheckpointException(step, failures)] * self.get_world_size()
        result = self.scatter_object(results)
        if isinstance(result, CheckpointException):
            raise result
        return result

    def all_reduce(self, step: str, map_fun, reduce_fun):
        """``map_fun`` on every rank, ``reduce_fun`` on the coordinator, broadcast."""
        try:
            local = map_fun()
        except BaseException as exc:  # noqa: BLE001
            local = _wrap_exception(exc)
        gathered = self.gather_object(local)
        result = None
        if self.is_coordinator:
            failures = self._failures(gathered)
            if not failures:
                try:
                    result = reduce_fun(gathered)
                except BaseException as exc:  # noqa: BLE001
                    failures[self.rank] = _wrap_exception(exc)
            if failures:
                result = CheckpointException(step, failures)
        result = self.broadcast_object(result)
        if isinstance(result, CheckpointException):
            raise result
        return result

    def all_gather(self, step: str, map_fun):
        try:
            local = map_fun()
        except BaseException as exc:  # noqa: BLE001
            local = _wrap_exception(exc)
        gathered = self.all_gather_object(local)
        failures = self._failures(gathered)
        if failures:
            raise CheckpointException(step, failures)
        return gathered

    def barrier(self) -> None:
        if self.use_dist:
            _dist().barrier(group=self.group)


def _is_sharded(obj) -> bool:
    """A ShardedTensor (FSDP's sharded state dicts hold them; not a Tensor in ember)."""
    cls = _loaded_class("ember.distributed._shard.sharded_tensor", "ShardedTensor")
    return cls is not None and isinstance(obj, cls)


def _find_shard(tensor, index: MetadataIndex):
    if index.offset is None:
        raise ValueError(f"Cannot lookup {index.fqn} since its a ShardedTensor and no offset "
                         "was provided")
    shards = tensor.local_shards()
    if index.index is not None and len(shards) > index.index and tuple(
            shards[index.index].metadata.shard_offsets) == tuple(index.offset):
        return shards[index.index]
    for shard in shards:
        if tuple(shard.metadata.shard_offsets) == tuple(index.offset):
            return shard
    raise ValueError(f"Could not find shard at '{index.offset}' for FQN: '{index.fqn}'")


def find_tensor_shard(tensor, index: MetadataIndex):
    """The tensor an index names: a ShardedTensor's shard at the index's offset, a
    DTensor's local piece, or the tensor itself (whose only chunk starts at offset 0)."""
    if _is_sharded(tensor):
        return _find_shard(tensor, index).tensor
    if _is_dtensor(tensor):
        return tensor.to_local()
    if index.offset is not None:
        if tuple(index.offset) == (0,) * tensor.dim():
            return tensor
        raise ValueError(f"FQN: '{index.fqn}' is not a ShardedTensor, can't find by offset: "
                         f"'{index.offset}'")
    return tensor


def find_state_dict_object(state_dict: dict, index: MetadataIndex):
    if index.fqn not in state_dict:
        raise ValueError(f"Could not find FQN: '{index.fqn}'")
    obj = state_dict[index.fqn]
    if isinstance(obj, ember.Tensor) or _is_sharded(obj):
        return find_tensor_shard(obj, index)
    if index.offset is not None:
        raise ValueError(f"FQN: '{index.fqn}' is not a ShardedTensor, can't find by offset: "
                         f"'{index.offset}'")
    return obj


def narrow_tensor_by_index(tensor, offsets, sizes):
    """The box of ``tensor`` starting at ``offsets`` with ``sizes`` (a view)."""
    narrowed = tensor
    for dim, (offset, size) in enumerate(zip(offsets, sizes)):
        if size < tensor.size(dim):
            narrowed = narrowed.narrow(dim, offset, size)
    return narrowed


def _api_bc_check(func):
    """Accept the pre-2.2 call ``save(state_dict, storage_writer)`` (and ``load(state_dict,
    storage_reader)``) with PyTorch's warning."""
    import functools
    import inspect
    import warnings

    keyword_only = [p.name for p in inspect.signature(func).parameters.values()
                    if p.kind == p.KEYWORD_ONLY]
    storage = "storage_writer" if "storage_writer" in keyword_only else "storage_reader"

    @functools.wraps(func)
    def inner(*args, **kwargs):
        if len(args) == 2:
            warnings.warn(f"The argument order of {func.__name__} has been changed. Please "
                          "check the document to avoid future breakages.", stacklevel=2)
            if storage in kwargs:
                raise AssertionError(f"{storage} in kwargs: {(args, kwargs)}")
            kwargs[storage] = args[1]
            return func(args[0], **kwargs)
        return func(*args, **kwargs)

    return inner
