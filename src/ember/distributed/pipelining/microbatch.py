"""Splitting a whole batch into microbatches and merging the last stage's outputs back,
as ``torch.distributed.pipelining.microbatch``.

Every tensor argument is chunked along ``TensorChunkSpec.split_dim`` (dim 0 unless a spec
says otherwise) with ``tensor_split``, so uneven batches give chunks that differ by one
row, as PyTorch's; other values are replicated into every chunk.
"""

from typing import Any

import ember
from ember.utils._pytree import tree_flatten, tree_map, tree_unflatten

__all__ = ["TensorChunkSpec", "split_args_kwargs_into_chunks", "merge_chunks"]

DEFAULT_CHUNK_DIM = 0


class TensorChunkSpec:
    """Chunk a tensor argument along ``split_dim``."""

    def __init__(self, split_dim):
        self.split_dim = split_dim

    def __repr__(self):
        return f"{self.__class__.__module__}.{self.__class__.__name__}({self.split_dim})"

    def __str__(self):
        return f"TensorChunkSpec({self.split_dim})"

    @staticmethod
    def from_tuple(chunk_dims: tuple):
        """``TensorChunkSpec.from_tuple((0, 0, 1))``: one spec per positional argument."""
        return tuple(TensorChunkSpec(dim) for dim in chunk_dims)

    @staticmethod
    def from_dict(chunk_dims: dict):
        """``TensorChunkSpec.from_dict({"ids": 0, "mask": 1})``: one spec per keyword."""
        return {name: TensorChunkSpec(dim) for name, dim in chunk_dims.items()}


class _Replicate:
    """A value copied into every microbatch."""


_TARGET_CHUNK_SPEC = TensorChunkSpec(DEFAULT_CHUNK_DIM)


def _split_tensor(tensor, spec: TensorChunkSpec, num_chunks: int) -> list:
    if not tensor.size(spec.split_dim) >= num_chunks:
        raise AssertionError(f"Tensor size {tensor.size(spec.split_dim)} is smaller than "
                             "num_chunks")
    return list(ember.tensor_split(tensor, num_chunks, spec.split_dim))


def _is_replicate(spec) -> bool:
    return spec is _Replicate or isinstance(spec, _Replicate)


def _shard_dict_of_args(args_dict: dict, args_chunk_spec: dict, num_chunks: int) -> list:
    """``args_dict`` split into at most ``num_chunks`` dicts (fewer when a tensor is
    shorter than ``num_chunks`` along its split dimension)."""
    if not args_dict:
        return [{} for _ in range(num_chunks)]
    if len(args_dict) != len(args_chunk_spec):
        raise AssertionError(f"args_dict.keys() = {list(args_dict.keys())} "
                             f"args_chunk_spec.keys() = {list(args_chunk_spec.keys())}")
    values, tree_spec = tree_flatten(args_dict)
    chunk_specs, _ = tree_flatten(args_chunk_spec, is_leaf=lambda s: s is None)
    if len(chunk_specs) != len(values):
        raise AssertionError(f"args_dict.keys() = {list(args_dict.keys())} "
                             f"args_chunk_spec.keys() = {list(args_chunk_spec.keys())}")
    split_sizes = []
    for value, spec in zip(values, chunk_specs):
        if _is_replicate(spec):
            split_sizes.append(num_chunks)
        elif isinstance(value, ember.Tensor) and isinstance(spec, TensorChunkSpec):
            split_sizes.append(value.size(spec.split_dim))
        else:
            raise ValueError(f"Unsupported chunk spec: {spec} and value: {value} combination.")
    result_num_chunks = min(*split_sizes, num_chunks)
    pieces = [[] for _ in range(result_num_chunks)]
    for value, spec in zip(values, chunk_specs):
        if _is_replicate(spec):
            splits = [value] * result_num_chunks
        else:
            splits = _split_tensor(value, spec, result_num_chunks)
        for piece, split in zip(pieces, splits):
            piece.append(split)
    return [tree_unflatten(piece, tree_spec) for piece in pieces]


def _default_spec(value):
    return TensorChunkSpec(DEFAULT_CHUNK_DIM) if isinstance(value, ember.Tensor) else _Replicate()


def split_args_kwargs_into_chunks(args: tuple, kwargs: dict | None, chunks: int,
                                  args_chunk_spec: tuple | None = None,
                                  kwargs_chunk_spec: dict | None = None
                                  ) -> tuple[list[tuple], list[dict]]:
    """Split ``args`` and ``kwargs`` into ``chunks`` microbatches by their chunk specs
    (dim 0 for tensors, replication for the rest when no spec is given).

    Returns the list of positional-argument tuples and the list of keyword dicts; both
    are shorter than ``chunks`` when a tensor has fewer rows than ``chunks``.
    """
    if kwargs is None:
        kwargs = {}
    if args_chunk_spec is None:
        args_chunk_spec = tree_map(_default_spec, tuple(args))
    if kwargs_chunk_spec is None:
        kwargs_chunk_spec = tree_map(_default_spec, kwargs)
    args_split = _shard_dict_of_args(dict(enumerate(args)), dict(enumerate(args_chunk_spec)),
                                     chunks)
    real_num_chunks = len(args_split)
    kwargs_split = _shard_dict_of_args(kwargs, kwargs_chunk_spec, real_num_chunks)
    if len(kwargs_split) < real_num_chunks:
        # the keyword tensors are shorter: split the positional ones as finely
        real_num_chunks = len(kwargs_split)
        args_split = _shard_dict_of_args(dict(enumerate(args)),
                                         dict(enumerate(args_chunk_spec)), real_num_chunks)
    if len(args_split) != len(kwargs_split):
        raise RuntimeError("args and kwargs are split into different number of chunks: "
                           f"{len(args_split)}, {len(kwargs_split)}")
    return [tuple(chunk[i] for i in range(len(chunk))) for chunk in args_split], kwargs_split


def merge_chunks(chunks: list, chunk_spec) -> Any:
    """The inverse of the split: chunked tensors concatenated along their spec's
    dimension (dim 0 without a spec), replicated values taken from the first chunk."""
    if chunk_spec is not None:
        spec_flat, tree_spec = tree_flatten(chunk_spec, is_leaf=lambda s: s is None)
    else:
        first_flat, tree_spec = tree_flatten(chunks[0])
        spec_flat = [TensorChunkSpec(DEFAULT_CHUNK_DIM)] * len(first_flat)
    chunks_flat = []
    for chunk in chunks:
        flat, _ = tree_flatten(chunk)
        if len(flat) != len(spec_flat):
            raise ValueError(f"Chunk {chunk} did not match chunk spec {chunk_spec}")
        chunks_flat.append(flat)
    merged = []
    for index, spec in enumerate(spec_flat):
        if isinstance(spec, TensorChunkSpec):
            merged.append(ember.cat([flat[index] for flat in chunks_flat], dim=spec.split_dim))
        else:
            merged.append(chunks_flat[0][index])
    return tree_unflatten(merged, tree_spec)
