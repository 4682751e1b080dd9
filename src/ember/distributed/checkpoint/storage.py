"""The storage interfaces the save and load drivers call (PyTorch's
``torch.distributed.checkpoint.storage``)."""

from __future__ import annotations

import abc
import os
from dataclasses import dataclass
from typing import Any

from .metadata import Metadata, MetadataIndex, StorageMeta

__all__ = ["WriteResult", "StorageWriter", "StorageReader"]


@dataclass(frozen=True)
class WriteResult:
    index: MetadataIndex
    size_in_bytes: int
    storage_data: Any


class StorageWriter(abc.ABC):
    """Calls, in order: ``reset`` (with a checkpoint_id), ``set_up_storage_writer``,
    ``prepare_local_plan``, ``prepare_global_plan`` (coordinator), ``write_data``,
    ``finish`` (coordinator)."""

    @abc.abstractmethod
    def reset(self, checkpoint_id: str | os.PathLike | None = None) -> None: ...

    @abc.abstractmethod
    def set_up_storage_writer(self, is_coordinator: bool, *args, **kwargs) -> None: ...

    @abc.abstractmethod
    def prepare_local_plan(self, plan): ...

    @abc.abstractmethod
    def prepare_global_plan(self, plans: list) -> list: ...

    @abc.abstractmethod
    def write_data(self, plan, planner): ...

    @abc.abstractmethod
    def finish(self, metadata: Metadata, results: list) -> None: ...

    @classmethod
    @abc.abstractmethod
    def validate_checkpoint_id(cls, checkpoint_id: str | os.PathLike) -> bool: ...

    def storage_meta(self) -> StorageMeta | None:
        return None


class StorageReader(abc.ABC):
    """Calls, in order: ``reset``, ``read_metadata``, ``set_up_storage_reader``,
    ``prepare_local_plan``, ``prepare_global_plan`` (coordinator), ``read_data``."""

    @abc.abstractmethod
    def reset(self, checkpoint_id: str | os.PathLike | None = None) -> None: ...

    @abc.abstractmethod
    def read_metadata(self, *args, **kwargs) -> Metadata: ...

    @abc.abstractmethod
    def set_up_storage_reader(self, metadata: Metadata, is_coordinator: bool, *args,
                              **kwargs) -> None: ...

    @abc.abstractmethod
    def prepare_local_plan(self, plan): ...

    @abc.abstractmethod
    def prepare_global_plan(self, plans: list) -> list: ...

    @abc.abstractmethod
    def read_data(self, plan, planner): ...

    @classmethod
    @abc.abstractmethod
    def validate_checkpoint_id(cls, checkpoint_id: str | os.PathLike) -> bool: ...
