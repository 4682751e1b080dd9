"""The default planners (PyTorch's ``DefaultSavePlanner``/``DefaultLoadPlanner``) and the
plan arithmetic under them.

Saving: every rank lists a write item per value (a whole tensor, its DTensor piece, or a
pickled value); the coordinator drops duplicates (a replicated value is written once, by
the rank with the fewest bytes so far) and builds the metadata from the chunks. Loading:
every rank asks, for each tensor piece it holds, for the boxes where it overlaps saved
chunks, so a checkpoint saved with one sharding loads into another."""

from __future__ import annotations

import dataclasses
import io
import math
from collections import ChainMap, defaultdict

import ember

from ._nested_dict import flatten_state_dict, set_element
from .metadata import (
    BytesStorageMetadata,
    ChunkStorageMetadata,
    Metadata,
    MetadataIndex,
    TensorProperties,
    TensorStorageMetadata,
)
from .planner import (
    LoadItemType,
    LoadPlan,
    LoadPlanner,
    ReadItem,
    SavePlan,
    SavePlanner,
    TensorWriteData,
    WriteItem,
    WriteItemType,
)
from .utils import _is_dtensor, _is_sharded, find_state_dict_object, narrow_tensor_by_index

__all__ = ["DefaultSavePlanner", "DefaultLoadPlanner", "create_default_local_load_plan",
           "create_default_global_load_plan", "create_default_local_save_plan",
           "create_default_global_save_plan", "create_read_items_for_chunk_list"]


# -- chunks -------------------------------------------------------------------------------


def _dtensor_chunk(tensor) -> ChunkStorageMetadata:
    """Where this rank's piece of a DTensor sits in the global tensor."""
    from ember.distributed.tensor._redistribute import local_shape_and_offset

    sizes, offsets = local_shape_and_offset(tensor.shape, tensor.device_mesh, tensor.placements)
    return ChunkStorageMetadata(offsets=ember.Size(offsets), sizes=ember.Size(sizes))


def _has_piece(obj) -> bool:
    """False for a DTensor on a rank outside its mesh (it holds nothing to save or load)."""
    return not _is_dtensor(obj) or obj.device_mesh.get_coordinate() is not None


def _shard_chunk(shard) -> ChunkStorageMetadata:
    return ChunkStorageMetadata(offsets=ember.Size(shard.metadata.shard_offsets),
                                sizes=ember.Size(shard.metadata.shard_sizes))


def _create_chunk_list(tensor) -> list:
    if _is_sharded(tensor):
        return [_shard_chunk(shard) for shard in tensor.local_shards()]
    if _is_dtensor(tensor):
        return [_dtensor_chunk(tensor)]
    if isinstance(tensor, ember.Tensor):
        return [ChunkStorageMetadata(ember.Size([0] * tensor.dim()), tensor.size())]
    raise ValueError("Unsupported Type, expecting one of [Tensor, DTensor, ShardedTensor] "
                     f",but got {type(tensor)}")


def _create_write_items(fqn: str, obj) -> list:
    if _is_sharded(obj):
        return [WriteItem(index=MetadataIndex(fqn, shard.metadata.shard_offsets),
                          type=WriteItemType.SHARD,
                          tensor_data=TensorWriteData(
                              chunk=_shard_chunk(shard),
                              properties=TensorProperties.create_from_tensor(shard.tensor),
                              size=ember.Size(obj.size())))
                for shard in obj.local_shards()]
    if _is_dtensor(obj):
        chunk = _dtensor_chunk(obj)
        return [WriteItem(index=MetadataIndex(fqn, chunk.offsets), type=WriteItemType.SHARD,
                          tensor_data=TensorWriteData(
                              chunk=chunk,
                              properties=TensorProperties.create_from_tensor(obj.to_local()),
                              size=obj.size()))]
    if isinstance(obj, ember.Tensor):
        offsets = ember.Size([0] * obj.dim())
        return [WriteItem(index=MetadataIndex(fqn, offsets), type=WriteItemType.TENSOR,
                          tensor_data=TensorWriteData(
                              chunk=ChunkStorageMetadata(offsets, obj.size()),
                              properties=TensorProperties.create_from_tensor(obj),
                              size=obj.size()))]
    return [WriteItem(index=MetadataIndex(fqn), type=WriteItemType.BYTE_IO)]


def _overlap(saved: ChunkStorageMetadata, current: ChunkStorageMetadata):
    """Per dimension (offset in the saved chunk, offset in the current one, length) of
    the boxes' intersection, or None when they do not meet."""
    boxes = []
    for s_off, c_off, s_size, c_size in zip(saved.offsets, current.offsets, saved.sizes,
                                            current.sizes):
        start, end = max(s_off, c_off), min(s_off + s_size, c_off + c_size)
        if start >= end:
            return None
        boxes.append((start - s_off, start - c_off, end - start))
    return boxes


def create_read_items_for_chunk_list(fqn: str, checkpoint_md: TensorStorageMetadata,
                                     local_chunks: list) -> list:
    """The reads that fill ``local_chunks`` from the saved chunks that overlap them."""
    items = []
    for local_index, local in enumerate(local_chunks):
        for storage_index, saved in enumerate(checkpoint_md.chunks):
            boxes = _overlap(saved, local)
            if boxes is None:
                continue
            items.append(ReadItem(
                type=LoadItemType.TENSOR,
                dest_index=MetadataIndex(fqn, local.offsets, local_index),
                dest_offsets=ember.Size([b[1] for b in boxes]),
                storage_index=MetadataIndex(fqn, saved.offsets, storage_index),
                storage_offsets=ember.Size([b[0] for b in boxes]),
                lengths=ember.Size([b[2] for b in boxes])))
    return items


def _create_read_items(fqn: str, md, obj) -> list:
    if isinstance(md, BytesStorageMetadata):
        return [ReadItem(type=LoadItemType.BYTE_IO, dest_index=MetadataIndex(fqn),
                         dest_offsets=ember.Size((0,)), storage_index=MetadataIndex(fqn),
                         storage_offsets=ember.Size((0,)), lengths=ember.Size((0,)))]
    try:
        local_chunks = _create_chunk_list(obj)
    except ValueError as exc:
        raise ValueError(f"Invalid checkpoint metadata for {fqn}, expected "
                         f"BytesStorageMetadata but found {type(md)}") from exc
    return create_read_items_for_chunk_list(fqn, md, local_chunks)


# -- plans --------------------------------------------------------------------------------


def create_default_local_save_plan(state_dict: dict, is_coordinator: bool) -> SavePlan:
    items = []
    for fqn, obj in state_dict.items():
        if _has_piece(obj):
            items += _create_write_items(fqn, obj)
    return SavePlan(items)


def dedup_save_plans(all_plans: list, save_to_lowest_rank: bool = False) -> list:
    """Each item written by one rank only: the lowest rank, or the one with the fewest
    bytes planned so far."""
    ranks_of = defaultdict(set)
    item_of = {}
    for rank, plan in enumerate(all_plans):
        for item in plan.items:
            ranks_of[item.index].add(rank)
            item_of[item.index] = item
    kept = [{item.index for item in plan.items} for plan in all_plans]
    planned = [0] * len(all_plans)
    for index, ranks in ranks_of.items():
        chosen = min(ranks) if save_to_lowest_rank else min(ranks, key=lambda r: planned[r])
        planned[chosen] += item_of[index].tensor_storage_size() or 1
        for rank in ranks - {chosen}:
            kept[rank].discard(index)
    return [dataclasses.replace(plan, items=[i for i in plan.items if i.index in keep])
            for plan, keep in zip(all_plans, kept)]


def create_default_global_save_plan(all_plans: list, rewrite_index_hints: bool = True) -> tuple:
    """The metadata of all ranks' items (tensor chunks collected per key)."""
    md, new_plans = {}, []
    for plan in all_plans:
        new_items = []
        for item in plan.items:
            if item.type != WriteItemType.SHARD and item.index.fqn in md:
                raise AssertionError("item.index.fqn not in md")
            if item.type == WriteItemType.BYTE_IO:
                md[item.index.fqn] = BytesStorageMetadata()
                new_items.append(item)
                continue
            tensor_md = md.setdefault(item.index.fqn, TensorStorageMetadata(
                properties=item.tensor_data.properties, size=item.tensor_data.size, chunks=[]))
            if rewrite_index_hints:
                item = dataclasses.replace(
                    item, index=dataclasses.replace(item.index, index=len(tensor_md.chunks)))
            new_items.append(item)
            tensor_md.chunks.append(item.tensor_data.chunk)
        new_plans.append(dataclasses.replace(plan, items=new_items))
    return new_plans, Metadata(md)


def _validate_global_plan(global_plan: list, metadata: Metadata) -> list:
    """Chunks inside their tensor, and (with several ranks) covering it exactly."""
    errors = []
    for key, value in metadata.state_dict_metadata.items():
        if isinstance(value, BytesStorageMetadata) or len(value.size) == 0:
            continue
        volume = 0
        for chunk in value.chunks:
            if any(o < 0 or s < 0 or o + s > n
                   for o, s, n in zip(chunk.offsets, chunk.sizes, value.size)):
                errors.append(f"key:{key} has out of bounds chunk: tensor-size:{value.size} "
                              f"chunk: {chunk}")
            volume += math.prod(chunk.sizes)
        for i, chunk in enumerate(value.chunks):
            for other in value.chunks[i + 1:]:
                if _overlap(chunk, other) is not None:
                    errors.append(f"key:{key} has overlapping chunks: {chunk} {other}")
        if len(global_plan) > 1 and volume != math.prod(value.size):
            errors.append(f"key:{key} invalid fill tensor-volume: {math.prod(value.size)} "
                          f"chunks-volume: {volume}")
    return errors


def create_default_local_load_plan(state_dict: dict, metadata: Metadata,
                                   strict: bool = True) -> LoadPlan:
    requests = []
    for fqn, obj in state_dict.items():
        if fqn not in metadata.state_dict_metadata:
            if strict:
                raise RuntimeError(f"Missing key in checkpoint state_dict: {fqn}.")
            continue
        md = metadata.state_dict_metadata[fqn]
        if (isinstance(md, TensorStorageMetadata)
                and (isinstance(obj, ember.Tensor) or _is_sharded(obj))
                and tuple(md.size) != tuple(obj.size())):
            raise ValueError(f"Size mismatch between saved {md.size} and current: "
                             f"{obj.size()} for {fqn}")
        if _has_piece(obj):
            requests += _create_read_items(fqn, md, obj)
    return LoadPlan(requests)


def create_default_global_load_plan(all_plans: list) -> list:
    return all_plans


# -- planners -----------------------------------------------------------------------------


class DefaultSavePlanner(SavePlanner):
    """Flattens nested dicts/lists (their paths go to the metadata's planner_data) and
    writes every value once. Extension points: ``lookup_object``, ``transform_object``."""

    def __init__(self, flatten_state_dict: bool = True, flatten_sharded_tensors: bool = True,
                 dedup_replicated_tensors: bool | None = None,
                 dedup_save_to_lowest_rank: bool = False,
                 enable_plan_caching: bool = False) -> None:
        self.flatten_state_dict = flatten_state_dict
        self.flatten_sharded_tensors = flatten_sharded_tensors
        self.mappings = {}
        self.dedup_save_to_lowest_rank = dedup_save_to_lowest_rank
        self._enable_plan_caching = enable_plan_caching  # plans are cheap here: not cached

    def set_up_planner(self, state_dict: dict, storage_meta=None,
                       is_coordinator: bool = False) -> None:
        if self.flatten_state_dict:
            state_dict, self.mappings = flatten_state_dict(state_dict)
        self.state_dict = state_dict
        self.is_coordinator = is_coordinator

    def create_local_plan(self) -> SavePlan:
        plan = create_default_local_save_plan(self.state_dict, self.is_coordinator)
        if self.flatten_state_dict:
            plan = dataclasses.replace(plan, planner_data=self.mappings)
        self.plan = plan
        return plan

    def create_global_plan(self, all_plans: list) -> tuple:
        deduped = dedup_save_plans(all_plans, self.dedup_save_to_lowest_rank)
        global_plan, metadata = create_default_global_save_plan(deduped)
        if self.flatten_state_dict:
            merged = dict(ChainMap(*[p.planner_data for p in global_plan]))
            metadata = dataclasses.replace(metadata, planner_data=merged)
        errors = _validate_global_plan(global_plan, metadata)
        if errors:
            summary = "; ".join(errors)
            if len(summary) > 500:
                summary = summary[:500] + "... (truncated)"
            raise ValueError(f"Failed to validate global plan: {summary}")
        self.global_plan, self.metadata = global_plan, metadata
        return global_plan, metadata

    def finish_plan(self, new_plan: SavePlan) -> SavePlan:
        self.plan = new_plan
        return new_plan

    def resolve_data(self, write_item: WriteItem):
        return self.transform_object(write_item, self.lookup_object(write_item.index))

    def lookup_object(self, index: MetadataIndex):
        return find_state_dict_object(self.state_dict, index)

    def transform_object(self, write_item: WriteItem, obj):
        if write_item.type == WriteItemType.BYTE_IO:
            buffer = io.BytesIO()
            ember.save(obj, buffer)
            return buffer
        return obj


class DefaultLoadPlanner(LoadPlanner):
    """Loads into the tensors of ``state_dict`` in place (each piece copied into its
    box); non-tensor values are replaced. ``allow_partial_load`` lets keys be missing from
    the checkpoint. Extension points: ``lookup_tensor``, ``transform_tensor``."""

    def __init__(self, flatten_state_dict: bool = True, flatten_sharded_tensors: bool = True,
                 allow_partial_load: bool = False) -> None:
        self.flatten_state_dict = flatten_state_dict
        self.flatten_sharded_tensors = flatten_sharded_tensors
        self.original_state_dict = {}
        self.mappings = {}
        self.allow_partial_load = allow_partial_load

    def set_up_planner(self, state_dict: dict, metadata: Metadata | None = None,
                       is_coordinator: bool = False) -> None:
        self.original_state_dict = state_dict
        if self.flatten_state_dict:
            state_dict, self.mappings = flatten_state_dict(state_dict)
        self.state_dict = state_dict
        self.metadata = metadata
        self.is_coordinator = is_coordinator

    def create_local_plan(self) -> LoadPlan:
        if self.metadata is None:
            raise AssertionError("self.metadata is not None")
        return create_default_local_load_plan(self.state_dict, self.metadata,
                                              not self.allow_partial_load)

    def create_global_plan(self, global_plan: list) -> list:
        return create_default_global_load_plan(global_plan)

    def finish_plan(self, new_plan: LoadPlan) -> LoadPlan:
        return new_plan

    def load_bytes(self, read_item: ReadItem, value: io.BytesIO) -> None:
        loaded = ember.load(value, weights_only=False)
        if self.flatten_state_dict:
            set_element(self.original_state_dict, self.mappings[read_item.dest_index.fqn],
                        loaded)
        else:
            self.state_dict[read_item.dest_index.fqn] = loaded

    def resolve_tensor(self, read_item: ReadItem):
        return self.transform_tensor(read_item, self.lookup_tensor(read_item.dest_index))

    def commit_tensor(self, read_item: ReadItem, tensor) -> None:
        pass

    def lookup_tensor(self, index: MetadataIndex):
        return find_state_dict_object(self.state_dict, index)

    def transform_tensor(self, read_item: ReadItem, tensor):
        return narrow_tensor_by_index(tensor, read_item.dest_offsets, read_item.lengths)


class _EmptyStateDictLoadPlanner(DefaultLoadPlanner):
    """Builds the state dict from the metadata (empty tensors of the saved sizes and
    dtypes, nested as saved) and loads into it: reading a checkpoint without a model."""

    def __init__(self, keys=None, *args, **kwargs):
        self.keys = keys
        super().__init__(*args, **kwargs)

    def _should_include_key(self, key: str, metadata: Metadata) -> bool:
        if self.keys is None or key in self.keys:
            return True
        prefixes, path = [], (metadata.planner_data or {}).get(key, ())
        for part in path:
            prefixes.append(f"{prefixes[-1]}.{part}" if prefixes else str(part))
        return any(prefix in self.keys for prefix in prefixes)

    def set_up_planner(self, state_dict: dict, metadata: Metadata | None = None,
                       is_coordinator: bool = False) -> None:
        if state_dict:
            raise AssertionError("not state_dict")
        if metadata is None:
            raise AssertionError("metadata is not None")
        for key, md in metadata.state_dict_metadata.items():
            if not self._should_include_key(key, metadata):
                continue
            value = md
            if isinstance(md, TensorStorageMetadata):
                value = ember.empty(tuple(md.size), dtype=md.properties.dtype)
            if metadata.planner_data is not None and key in metadata.planner_data:
                set_element(state_dict, metadata.planner_data[key], value)
            else:
                state_dict[key] = value
        super().set_up_planner(state_dict, metadata, is_coordinator)
