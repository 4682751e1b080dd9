"""Staging for ``async_save``: the state dict's tensors copied to CPU memory, so training
can change the originals while the copy is written."""

from __future__ import annotations

import ember

__all__ = ["AsyncStager", "BlockingAsyncStager"]


def _stage_value(value):
    from .utils import _is_dtensor, _is_sharded

    if _is_sharded(value):
        from ember.distributed._shard.sharded_tensor import Shard, ShardedTensor

        shards = [Shard(s.tensor.detach().cpu().clone(), s.metadata)
                  for s in value.local_shards()]
        return ShardedTensor(shards, value.metadata(), value._process_group)
    if _is_dtensor(value):
        local = value.to_local().detach().cpu().clone()
        return type(value).from_local(local, value.device_mesh, value.placements,
                                      shape=value.shape, stride=value.stride())
    if isinstance(value, ember.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, dict):
        return type(value)((k, _stage_value(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_stage_value(v) for v in value)
    return value


class AsyncStager:
    """The staging protocol ``async_save`` uses: ``stage(state_dict)`` returns the copy
    that is written."""

    _synchronize_after_execute: bool = False

    @property
    def should_synchronize_after_execute(self) -> bool:
        return self._synchronize_after_execute

    def stage(self, state_dict: dict) -> dict:
        raise NotImplementedError(f"{self.__class__.__name__} must implement stage method")

    def synchronize_staging(self) -> None:
        pass

    def close(self) -> None:
        pass


class BlockingAsyncStager(AsyncStager):
    """Copies every tensor to CPU before returning (optionally reusing the copy's memory
    between checkpoints is PyTorch's ``cache_staged_state_dict``; here it only records the
    choice, each stage makes fresh copies)."""

    _synchronize_after_execute = False

    def __init__(self, cache_staged_state_dict: bool = False, type_check: bool = False):
        self.cache_staged_state_dict = cache_staged_state_dict
        self.type_check = type_check

    def stage(self, state_dict: dict) -> dict:
        return _stage_value(state_dict)


class DefaultStager(BlockingAsyncStager):
    """The stager ``async_save`` makes when the writer is not one."""
