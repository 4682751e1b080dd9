"""Reading the pre-1.6 checkpoint format (``_use_new_zipfile_serialization=False``): a
pickled object followed by its storages' raw bytes."""

from __future__ import annotations

import io
import pickle
import struct

import numpy as np

from ._serialization_format import (
    LEGACY_MAGIC, LEGACY_PROTOCOL, CheckpointError, LoadedStorage, StorageType,
)


def read_legacy(file, unpickler_factory):
    """The pre-1.6 format: magic, protocol, sys info, object, keys, raw storages.

    The storages' bytes come after the object's pickle, but rebuilds that read values
    (a MaskedTensor's copies, a nested tensor's sizes) need them while it unpickles. So
    the object pickle is first walked by ``_DryRunUnpickler`` (which calls nothing, only
    learns each storage's dtype and size), the bytes are read, and then the pickle is
    unpickled for real over filled storages."""

    def small_load():
        return unpickler_factory(file).load()

    magic = small_load()
    if magic != LEGACY_MAGIC:
        raise CheckpointError("Invalid magic number; corrupt file?")
    protocol = small_load()
    if protocol != LEGACY_PROTOCOL:
        raise CheckpointError(f"Invalid protocol version: {protocol}")
    sys_info = small_load()
    if not isinstance(sys_info, dict) or not sys_info.get("little_endian", True):
        raise CheckpointError("big-endian checkpoints are not supported")
    pending = {}
    views = []

    def persistent_load(pid):
        if not isinstance(pid, tuple) or pid[0] != "storage":
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, storage_type, root_key, _location, numel, view_metadata = pid
        if not isinstance(storage_type, StorageType):
            raise pickle.UnpicklingError(f"unsupported storage record {pid!r}")
        storage = pending.get(root_key)
        if storage is None:
            storage = pending[root_key] = _PendingStorage(storage_type.dtype, numel)
        if view_metadata is not None:
            view_key, offset, view_size = view_metadata
            view = _PendingView(storage, offset, view_size)
            views.append(view)
            return view
        return storage

    object_start = file.tell()
    dry_run = _DryRunUnpickler(file, unpickler_factory(io.BytesIO()).find_class)
    dry_run.persistent_load = persistent_load
    dry_run.load()
    keys = small_load()
    for key in keys:
        storage = pending.get(key)
        if storage is None:
            raise CheckpointError(f"storage {key!r} listed but never referenced")
        count_bytes = file.read(8)
        if len(count_bytes) != 8:
            raise CheckpointError("checkpoint is truncated")
        (numel,) = struct.unpack("<q", count_bytes)
        np_dtype = storage.dtype.numpy_dtype
        nbytes = numel * np_dtype.itemsize
        if numel < 0 or numel != storage.numel:
            raise CheckpointError("corrupt storage header")
        raw = file.read(nbytes)
        if len(raw) != nbytes:
            raise CheckpointError("checkpoint is truncated")
        storage.array[:] = np.frombuffer(raw, dtype=np_dtype)
    object_end = file.tell()
    file.seek(object_start)
    unpickler = unpickler_factory(file)
    unpickler.persistent_load = persistent_load  # the same storages, now filled
    result = unpickler.load()
    file.seek(object_end)
    return result


class _Placeholder:
    """Whatever a dry run's globals and calls build: accepts every argument, state and
    item, and does nothing."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Placeholder()

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, item):
        pass

    def extend(self, items):
        pass


class _DryRunUnpickler(pickle.Unpickler):
    """Walks a legacy object pickle without running anything: storage types resolve (through
    the real unpickler's rules, so a weights-only load still refuses what it refuses), every
    other global is a ``_Placeholder``."""

    def __init__(self, file, resolve):
        super().__init__(file)
        self._resolve = resolve

    def find_class(self, module, name):
        if name.endswith("Storage"):
            return self._resolve(module, name)
        return _Placeholder


class _PendingStorage(LoadedStorage):
    """A legacy storage whose bytes come after the pickle; tensors view it already."""

    __slots__ = ("dtype", "numel")

    def __init__(self, dtype, numel):
        if not isinstance(numel, int) or numel < 0 or numel > 1 << 40:
            raise CheckpointError(f"invalid storage size {numel!r}")
        super().__init__(np.zeros(numel, dtype.numpy_dtype))
        self.dtype = dtype
        self.numel = numel


class _PendingView(LoadedStorage):
    __slots__ = ()

    def __init__(self, storage, offset, size):
        if offset < 0 or size < 0 or offset + size > storage.array.size:
            raise CheckpointError("invalid storage view")
        super().__init__(storage.array[offset:offset + size])
