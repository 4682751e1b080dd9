"""What a checkpoint's ``.metadata`` file holds (PyTorch's
``torch.distributed.checkpoint.metadata``): for every flattened key either the global
size, dtype and saved chunks of a tensor, or a marker that the value was pickled as
bytes. The class and field names are PyTorch's, since the file is a pickle of these
objects and both libraries must read each other's."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import ember

__all__ = ["ChunkStorageMetadata", "TensorStorageMetadata", "BytesStorageMetadata", "Metadata",
           "MetadataIndex", "TensorProperties", "StorageMeta"]


@dataclass
class ChunkStorageMetadata:
    """One saved piece of a tensor: where it starts in the global tensor and its size."""

    offsets: ember.Size
    sizes: ember.Size


class _MEM_FORMAT_ENCODING(Enum):
    """How TensorProperties pickles a memory format (the format objects are not
    picklable in PyTorch)."""

    TORCH_CONTIGUOUS_FORMAT = 0
    TORCH_CHANNELS_LAST = 1
    TORCH_PRESERVE_FORMAT = 2


def _memory_formats():
    return {_MEM_FORMAT_ENCODING.TORCH_CONTIGUOUS_FORMAT: ember.contiguous_format,
            _MEM_FORMAT_ENCODING.TORCH_CHANNELS_LAST: ember.channels_last,
            _MEM_FORMAT_ENCODING.TORCH_PRESERVE_FORMAT: ember.preserve_format}


@dataclass
class TensorProperties:
    """The dtype a saved tensor is rebuilt with (the other fields are kept for the file
    format; PyTorch deprecated them)."""

    dtype: Any = field(default_factory=ember.get_default_dtype)
    layout: Any = field(default=ember.strided)
    requires_grad: bool = False
    memory_format: Any = field(default=ember.contiguous_format)
    pin_memory: bool = False

    def __getstate__(self):
        for encoding, memory_format in _memory_formats().items():
            if memory_format == self.memory_format:
                return (self.dtype, self.layout, self.requires_grad, encoding, self.pin_memory)
        raise RuntimeError(f"Invalid torch.memory_format: {self.memory_format}")

    def __setstate__(self, state):
        self.dtype, self.layout, self.requires_grad, encoding, self.pin_memory = state
        formats = _memory_formats()
        if encoding not in formats:
            raise RuntimeError(f"Invalid torch.memory_format encoding: {encoding}")
        self.memory_format = formats[encoding]

    @staticmethod
    def create_from_tensor(tensor) -> TensorProperties:
        return TensorProperties(dtype=tensor.dtype, layout=tensor.layout,
                                requires_grad=tensor.requires_grad,
                                memory_format=ember.contiguous_format,
                                pin_memory=tensor.is_pinned())


@dataclass
class TensorStorageMetadata:
    properties: TensorProperties
    size: ember.Size
    chunks: list


@dataclass
class BytesStorageMetadata:
    """The value was written with ``save`` into a byte record (not a tensor)."""


@dataclass
class StorageMeta:
    checkpoint_id: str | os.PathLike | None = None
    save_id: str | None = None
    load_id: str | None = None
    modules: list = field(default_factory=list)


@dataclass
class Metadata:
    """The whole checkpoint's table of contents: ``state_dict_metadata`` by flattened key,
    ``planner_data`` (the flattening paths), ``storage_data`` (where each item's bytes
    are: file, offset, length)."""

    state_dict_metadata: dict
    planner_data: Any = None
    storage_data: Any = None
    storage_meta: StorageMeta | None = None
    version: str | None = None


@dataclass(frozen=True)
class MetadataIndex:
    """A lookup key: the flattened name, and for a piece of a tensor its offset (``index``
    is only a hint where the piece sits in a chunk list: not compared)."""

    fqn: str
    offset: ember.Size | None = None
    index: int | None = field(hash=False, compare=False, default=None)

    def __init__(self, fqn: str, offset=None, index: int | None = None):
        object.__setattr__(self, "fqn", fqn)
        object.__setattr__(self, "index", index)
        if offset is not None:
            object.__setattr__(self, "offset", ember.Size(offset))
