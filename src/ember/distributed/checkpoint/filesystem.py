"""Checkpoints as a directory, in PyTorch's layout: one ``__{rank}_{n}.distcp`` file per
rank holding its items back to back (a tensor as one ``save`` zip record, any other value
as the bytes of ``save(value)``), and ``.metadata``, a pickle of ``Metadata`` whose
``storage_data`` says where each item is (file, offset, length).

The metadata pickle names PyTorch's classes (``torch.distributed.checkpoint.metadata...``,
``torch.float32``, ``torch.Size``) so PyTorch reads directories written here; reading maps
those names to ember's as ``ember.load`` does for ``torch.save`` files."""

from __future__ import annotations

import abc
import dataclasses
import io
import os
import pickle
import uuid
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import ember
from ember._backend import dtypes as _dtypes
from ember._size import Size

from .metadata import Metadata, StorageMeta
from .planner import LoadItemType, WriteItemType
from .staging import BlockingAsyncStager
from .storage import StorageReader, StorageWriter, WriteResult
from .utils import narrow_tensor_by_index

__all__ = ["FileSystemWriter", "FileSystemReader", "FileSystem", "FileSystemBase",
           "SerializationFormat"]

_metadata_fn = ".metadata"
CURRENT_DCP_VERSION = "1.0.0"
DEFAULT_SUFFIX = ".distcp"


@dataclass
class _StorageInfo:
    """Where one item's bytes are."""

    relative_path: str
    offset: int
    length: int
    transform_descriptors: list | None = None

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class _StoragePrefix:
    prefix: str


class SerializationFormat(Enum):
    TORCH_SAVE = "torch_save"
    SAFETENSORS = "safetensors"


# -- the metadata pickle, with PyTorch's names --------------------------------------------


class _TorchNamePickler(pickle._Pickler):
    """Pickles ember objects under PyTorch's names: classes and functions of ``ember.x``
    as ``torch.x``, dtypes as ``torch.<name>``, ``Size`` as ``torch.Size``. (The
    pure-Python pickler, because only it lets globals be renamed.)"""

    dispatch = dict(pickle._Pickler.dispatch)

    def _write_global(self, obj, module, name):
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode("utf-8"))
        self.memoize(obj)

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", None) or ""
        name = name or obj.__qualname__
        if obj is Size:
            return self._write_global(obj, "torch", "Size")
        if module == "ember" or module.startswith("ember."):
            return self._write_global(obj, "torch" + module[len("ember"):], name)
        return super().save_global(obj, name)

    def save_dtype(self, obj):
        self._write_global(obj, "torch", obj.name)

    dispatch[type] = save_global
    dispatch[_dtypes.dtype] = save_dtype


def _dump_metadata(metadata: Metadata, stream) -> None:
    _TorchNamePickler(stream, protocol=4).dump(metadata)


def _load_metadata(stream) -> Metadata:
    from ember.serialization import _builtin_allowlist, _FullUnpickler

    return _FullUnpickler(stream, _builtin_allowlist()).load()


# -- the file system --------------------------------------------------------------------


class FileSystemBase(abc.ABC):
    """The few file operations the writer and reader need (PyTorch lets fsspec plug in
    here)."""

    @abc.abstractmethod
    def create_stream(self, path, mode: str): ...

    @abc.abstractmethod
    def concat_path(self, path, suffix: str): ...

    @abc.abstractmethod
    def rename(self, path, new_path) -> None: ...

    @abc.abstractmethod
    def init_path(self, path): ...

    @abc.abstractmethod
    def mkdir(self, path) -> None: ...

    @classmethod
    @abc.abstractmethod
    def validate_checkpoint_id(cls, checkpoint_id) -> bool: ...

    @abc.abstractmethod
    def exists(self, path) -> bool: ...

    @abc.abstractmethod
    def rm_file(self, path) -> None: ...


class FileSystem(FileSystemBase):
    @contextmanager
    def create_stream(self, path, mode: str):
        with Path(path).open(mode) as stream:
            yield stream

    def concat_path(self, path, suffix: str):
        return Path(path) / suffix

    def init_path(self, path):
        return Path(path)

    def rename(self, path, new_path) -> None:
        Path(path).rename(new_path)

    def mkdir(self, path) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id) -> bool:
        if isinstance(checkpoint_id, Path):
            return True
        if "://" in str(checkpoint_id):
            return False
        return any(p.exists() and os.access(str(p), os.W_OK) for p in Path(checkpoint_id).parents)

    def exists(self, path) -> bool:
        return Path(path).exists()

    def rm_file(self, path) -> None:
        Path(path).unlink()

    def ls(self, path) -> list:
        return [str(p) for p in Path(path).iterdir()]


def _tensor_to_write(tensor):
    """The tensor as a CPU tensor owning exactly its bytes (``save`` writes a view's whole
    storage, so a piece of a larger tensor is copied first)."""
    tensor = tensor.detach().cpu()
    if tensor.untyped_storage().nbytes() != tensor.nbytes or not tensor.is_contiguous():
        tensor = tensor.contiguous().clone()
    return tensor


class _FileSystemWriter(StorageWriter):
    """Writes one file per rank (or per item with ``single_file_per_rank=False``) into the
    directory ``path``, then the coordinator writes ``.metadata`` (through a temporary
    name, so a reader never sees half a file)."""

    def __init__(self, path, single_file_per_rank: bool = True, sync_files: bool = True,
                 thread_count: int = 1, per_thread_copy_ahead: int = 10_000_000,
                 overwrite: bool = True, _extensions=None,
                 serialization_format: SerializationFormat = SerializationFormat.TORCH_SAVE,
                 *args, **kwargs) -> None:
        super().__init__()
        if serialization_format != SerializationFormat.TORCH_SAVE:
            raise NotImplementedError("ember's FileSystemWriter writes the torch_save format")
        self.fs = FileSystem()
        self.path = self.fs.init_path(path)
        self.single_file_per_rank = single_file_per_rank
        self.sync_files = sync_files
        self.thread_count = thread_count  # one writer thread: items are written in order
        self.per_thread_copy_ahead = per_thread_copy_ahead
        self.save_id = str(uuid.uuid4())
        self.overwrite = overwrite
        self.serialization_format = serialization_format
        self.rank = None
        self.use_collectives = True

    def reset(self, checkpoint_id=None) -> None:
        if checkpoint_id:
            self.path = self.fs.init_path(checkpoint_id)
        self.save_id = str(uuid.uuid4())

    def set_up_storage_writer(self, is_coordinator: bool, *args, **kwargs) -> None:
        self.rank = kwargs.get("rank")
        self.use_collectives = kwargs.get("use_collectives", True)

    def _metadata_path(self, rank=None):
        name = _metadata_fn if rank is None else f"__{rank}{_metadata_fn}"
        return self.fs.concat_path(self.path, name)

    def prepare_local_plan(self, plan):
        self.fs.mkdir(self.path)
        existing = self._metadata_path(None if self.use_collectives else 0)
        if self.fs.exists(existing):
            if not self.overwrite:
                raise RuntimeError(f"Checkpoint already exists and self.overwrite="
                                   f"{self.overwrite}.")
            warnings.warn(f"Detected an existing checkpoint in {self.path}, overwriting since "
                          f"self.overwrite={self.overwrite}.", stacklevel=2)
        if self.rank is not None and not self.use_collectives:
            plan = dataclasses.replace(plan, storage_data=_StoragePrefix(f"__{self.rank}_"))
        return plan

    def prepare_global_plan(self, plans: list) -> list:
        return [dataclasses.replace(plan, storage_data=_StoragePrefix(f"__{i}_"))
                if plan.storage_data is None else plan for i, plan in enumerate(plans)]

    def write_data(self, plan, planner):
        prefix = plan.storage_data.prefix
        if self.single_file_per_rank:
            buckets = [plan.items]
        else:
            buckets = [[item] for item in plan.items]
        results = []
        for count, items in enumerate(buckets):
            file_name = f"{prefix}{count}{DEFAULT_SUFFIX}"
            results += self._write_file(file_name, items, planner)
        future = ember.futures.Future()
        future.set_result(results)
        return future

    def _write_file(self, file_name: str, items: list, planner) -> list:
        """Byte items first, then tensors (PyTorch's order), each at its offset."""
        ordered = ([i for i in items if i.type == WriteItemType.BYTE_IO]
                   + [i for i in items if i.type != WriteItemType.BYTE_IO])
        results = []
        with self.fs.create_stream(self.fs.concat_path(self.path, file_name), "wb") as stream:
            for item in ordered:
                data = planner.resolve_data(item)
                offset = stream.tell()
                if item.type == WriteItemType.BYTE_IO:
                    stream.write(data.getbuffer())
                else:
                    ember.save(_tensor_to_write(data), stream)
                length = stream.tell() - offset
                results.append(WriteResult(index=item.index, size_in_bytes=length,
                                           storage_data=_StorageInfo(file_name, offset, length)))
            if self.sync_files:
                stream.flush()
                os.fsync(stream.fileno())
        return results

    def finish(self, metadata: Metadata, results: list) -> None:
        metadata.version = CURRENT_DCP_VERSION
        storage_md = {}
        for per_rank in results:
            storage_md.update({r.index: r.storage_data for r in per_rank})
        metadata.storage_data = storage_md
        metadata.storage_meta = self.storage_meta()
        per_rank = not self.use_collectives and self.rank is not None
        tmp_path = self.fs.concat_path(
            self.path, f"__{self.rank}{_metadata_fn}.tmp" if per_rank else f"{_metadata_fn}.tmp")
        with self.fs.create_stream(tmp_path, "wb") as stream:
            _dump_metadata(metadata, stream)
            if self.sync_files:
                stream.flush()
                os.fsync(stream.fileno())
        final = self._metadata_path(self.rank if per_rank else None)
        if self.fs.exists(final):
            self.fs.rm_file(final)
        self.fs.rename(tmp_path, final)

    def storage_meta(self) -> StorageMeta:
        return StorageMeta(checkpoint_id=self.checkpoint_id, save_id=self.save_id)

    @property
    def checkpoint_id(self):
        return self.path

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id) -> bool:
        return FileSystem.validate_checkpoint_id(checkpoint_id)


class FileSystemWriter(_FileSystemWriter, BlockingAsyncStager):
    """Writes a checkpoint directory (see the module docstring); ``async_save`` stages
    through it (tensors copied to CPU memory before the write starts)."""

    def __init__(self, path, single_file_per_rank: bool = True, sync_files: bool = True,
                 thread_count: int = 1, per_thread_copy_ahead: int = 10_000_000,
                 cache_staged_state_dict: bool = False, overwrite: bool = True,
                 _extensions=None,
                 serialization_format: SerializationFormat = SerializationFormat.TORCH_SAVE):
        _FileSystemWriter.__init__(self, path=path, single_file_per_rank=single_file_per_rank,
                                   sync_files=sync_files, thread_count=thread_count,
                                   per_thread_copy_ahead=per_thread_copy_ahead,
                                   overwrite=overwrite, _extensions=_extensions,
                                   serialization_format=serialization_format)
        BlockingAsyncStager.__init__(self, cache_staged_state_dict=cache_staged_state_dict)


class FileSystemReader(StorageReader):
    """Reads a checkpoint directory written by ember or PyTorch."""

    def __init__(self, path, _extension_registry=None) -> None:
        super().__init__()
        self.fs = FileSystem()
        self.path = self.fs.init_path(path)
        self.storage_data = {}
        self.load_id = str(uuid.uuid4())
        self.rank = None
        self.use_collectives = True

    def reset(self, checkpoint_id=None) -> None:
        self.storage_data = {}
        if checkpoint_id:
            self.path = self.fs.init_path(checkpoint_id)
        self.load_id = str(uuid.uuid4())

    def read_data(self, plan, planner):
        per_file = {}
        for item in plan.items:
            per_file.setdefault(self.storage_data[item.storage_index].relative_path,
                                []).append(item)
        for relative_path, items in per_file.items():
            path = self.fs.concat_path(self.path, relative_path)
            with self.fs.create_stream(path, "rb") as stream:
                for item in items:
                    info = self.storage_data[item.storage_index]
                    if info.transform_descriptors:
                        raise NotImplementedError("checkpoint stream transforms (extensions) "
                                                  "are not supported by ember")
                    stream.seek(info.offset)
                    record = io.BytesIO(stream.read(info.length))
                    if item.type == LoadItemType.BYTE_IO:
                        planner.load_bytes(item, record)
                        continue
                    tensor = ember.load(record, map_location="cpu", weights_only=True)
                    tensor = narrow_tensor_by_index(tensor, item.storage_offsets, item.lengths)
                    target = planner.resolve_tensor(item).detach()
                    if target.size() != tensor.size():
                        raise AssertionError(f"req {item.storage_index} mismatch sizes "
                                             f"{target.size()} vs {tensor.size()}")
                    with ember.no_grad():
                        target.copy_(tensor)
                    planner.commit_tensor(item, target)
        future = ember.futures.Future()
        future.set_result(None)
        return future

    def read_metadata(self, *args, **kwargs) -> Metadata:
        rank = kwargs.get("rank")
        name = _metadata_fn if rank is None else f"__{rank}{_metadata_fn}"
        with self.fs.create_stream(self.fs.concat_path(self.path, name), "rb") as stream:
            metadata = _load_metadata(stream)
        if getattr(metadata, "storage_meta", None) is None:
            metadata.storage_meta = StorageMeta()
        metadata.storage_meta.load_id = self.load_id
        return metadata

    def set_up_storage_reader(self, metadata: Metadata, is_coordinator: bool, *args,
                              **kwargs) -> None:
        self.storage_data = metadata.storage_data
        self.rank = kwargs.get("rank")
        self.use_collectives = kwargs.get("use_collectives", True)
        if self.storage_data is None:
            raise AssertionError("storage_data must not be None in metadata")

    def prepare_local_plan(self, plan):
        return plan

    def prepare_global_plan(self, plans: list) -> list:
        return plans

    @property
    def checkpoint_id(self):
        return self.path

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id) -> bool:
        return FileSystem.validate_checkpoint_id(checkpoint_id)
