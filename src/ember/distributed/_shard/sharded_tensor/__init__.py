"""``ShardedTensor``: a tensor split across ranks, each rank holding its local shards
and everyone the metadata (global size, and every shard's offsets, sizes and rank).

This is the part of PyTorch's ShardedTensor that FSDP state dicts use: building one from
local shards, ``local_shards()``, ``local_tensor()``, ``size()``, ``metadata()``. Unlike
PyTorch's it is not itself a Tensor and runs no ops; ``full_tensor()`` gathers it
whole (a collective)."""

from __future__ import annotations

from dataclasses import dataclass, field

import ember

__all__ = ["Shard", "ShardMetadata", "ShardedTensor", "ShardedTensorMetadata",
           "init_from_local_shards"]


@dataclass
class ShardMetadata:
    """Where one shard sits: its offsets and sizes in the global tensor, and the
    placement (``"rank:<r>/<device>"``)."""

    shard_offsets: list
    shard_sizes: list
    placement: str | None = None


@dataclass
class Shard:
    """A local tensor and its metadata."""

    tensor: ember.Tensor
    metadata: ShardMetadata

    @classmethod
    def from_tensor_and_offsets(cls, tensor, shard_offsets, rank):
        return cls(tensor, ShardMetadata(list(shard_offsets), list(tensor.size()),
                                         f"rank:{rank}/{tensor.device}"))


@dataclass
class ShardedTensorMetadata:
    shards_metadata: list = field(default_factory=list)
    size: ember.Size = field(default_factory=lambda: ember.Size([]))
    dtype: object = None


class ShardedTensor:
    """This rank's shards of a tensor of global ``size`` over ``process_group``."""

    def __init__(self, local_shards, metadata: ShardedTensorMetadata, process_group=None):
        self._local_shards = list(local_shards)
        self._metadata = metadata
        self._process_group = process_group

    def local_shards(self) -> list:
        return self._local_shards

    def local_tensor(self):
        if len(self._local_shards) != 1:
            raise NotImplementedError("Only single local shard is supported.")
        return self._local_shards[0].tensor

    def metadata(self) -> ShardedTensorMetadata:
        return self._metadata

    def size(self, dim=None):
        return self._metadata.size if dim is None else self._metadata.size[dim]

    @property
    def shape(self):
        return self._metadata.size

    @property
    def dtype(self):
        return self._metadata.dtype

    def full_tensor(self):
        """The whole tensor on every rank (every rank must call it)."""
        import ember.distributed as dist
        world = dist.get_world_size(self._process_group)
        mine = [(s.metadata.shard_offsets, s.tensor) for s in self._local_shards]
        everyone = [None] * world
        dist.all_gather_object(everyone, [(o, t.tolist(), list(t.shape)) for o, t in mine],
                               group=self._process_group)
        out = ember.zeros(self._metadata.size, dtype=self._metadata.dtype)
        for shards in everyone:
            for offsets, values, shape in shards:
                index = tuple(slice(o, o + n) for o, n in zip(offsets, shape))
                out[index] = ember.tensor(values, dtype=self._metadata.dtype).reshape(shape)
        return out

    def __repr__(self):
        return (f"ShardedTensor(size={list(self._metadata.size)}, "
                f"local_shards={len(self._local_shards)})")


def init_from_local_shards(local_shards, *global_size, process_group=None,
                           shards_metadata=None, dtype=None):
    """A ShardedTensor from this rank's shards; ``shards_metadata`` (every rank's) is
    taken as given when known, else only the local ones are recorded."""
    if len(global_size) == 1 and isinstance(global_size[0], (list, tuple, ember.Size)):
        global_size = tuple(global_size[0])
    if dtype is None and local_shards:
        dtype = local_shards[0].tensor.dtype
    metadata = ShardedTensorMetadata(
        shards_metadata if shards_metadata is not None else [s.metadata for s in local_shards],
        ember.Size(global_size), dtype)
    return ShardedTensor(local_shards, metadata, process_group)
