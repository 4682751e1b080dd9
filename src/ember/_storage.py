"""Storages: the memory a tensor and its views share, as PyTorch's ``TypedStorage`` (a 1-D
run of elements of the tensor's dtype) and ``UntypedStorage`` (the same memory as bytes).

A storage here is a 1-D NumPy/CuPy view of the array that owns the tensor's memory, so
reads and writes through it are reads and writes of the tensor (and of every view of
it). That is what code that touches storages relies on: comparing ``data_ptr()`` to
tell whether two tensors share memory, sizing buffers with ``nbytes()``, or poking an
element through ``storage()[i]``.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["TypedStorage", "UntypedStorage"]

_warned = [False]


class _StorageBase:
    __slots__ = ("_flat",)

    def __init__(self, *args, dtype=None, device=None):
        """``Storage(size)`` (zeros) or ``Storage(sequence)``, as PyTorch's constructors;
        the tensor methods wrap existing memory through ``_wrap`` instead."""
        from ._ops.from_data import _module_and_device, _on_device

        np_dtype = self._np_dtype(dtype)
        data = args[0] if args else 0
        if isinstance(data, (int, np.integer)):
            host = np.zeros(int(data), np_dtype)
        else:
            host = np.asarray(list(data), dtype=np_dtype)
        _, dev = _module_and_device(device)
        self._flat = _on_device(host, dev)

    @classmethod
    def _wrap(cls, flat):
        storage = object.__new__(cls)
        storage._flat = flat
        return storage

    # -- size and identity ------------------------------------------------------------------

    def size(self) -> int:
        return int(self._flat.size)

    def __len__(self) -> int:
        return int(self._flat.size)

    def nbytes(self) -> int:
        return int(self._flat.nbytes)

    def element_size(self) -> int:
        return int(self._flat.dtype.itemsize)

    def data_ptr(self) -> int:
        flat = self._flat
        if type(flat) is np.ndarray:
            return flat.__array_interface__["data"][0]
        return flat.data.ptr

    @property
    def device(self):
        from ._backend import device_of

        return device_of(self._flat)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    def is_shared(self) -> bool:
        return False

    # -- elements ---------------------------------------------------------------------------

    def _index(self, idx):
        size = self._flat.size
        if not -size <= idx < size:
            raise IndexError(f"index {idx} out of range for storage of size {size}")
        return idx

    def _host(self):
        flat = self._flat
        return flat if type(flat) is np.ndarray else flat.get()

    def tolist(self) -> list:
        return self._host().tolist()

    def __iter__(self):
        return iter(self.tolist())

    def __setitem__(self, idx, value):
        if isinstance(idx, slice):
            self._flat[idx] = value
        else:
            self._flat[self._index(int(idx))] = value

    def _repr_body(self, kind, extra):
        lines = [f" {v}" for v in self.tolist()]
        lines.append(f"[{kind}({extra}device={self.device}) of size {self.size()}]")
        return "\n".join(lines)


class UntypedStorage(_StorageBase):
    """The tensor's memory as bytes: ``size()`` is its byte count, elements are ints."""

    __slots__ = ()

    @classmethod
    def _of(cls, tensor):
        from ._ops.combine import storage_flat

        return cls._wrap(storage_flat(tensor._data).view(np.uint8))

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return UntypedStorage._wrap(self._flat[idx])
        return int(self._flat[self._index(int(idx))])

    def untyped(self):
        return self

    @staticmethod
    def _np_dtype(dtype):
        return np.dtype(np.uint8)

    def __repr__(self):
        return self._repr_body("torch.storage.UntypedStorage", "")


class TypedStorage(_StorageBase):
    """The tensor's memory as elements of its dtype (PyTorch deprecates this class and
    warns once on first use; so does ember)."""

    __slots__ = ()

    @classmethod
    def _of(cls, tensor):
        from ._ops.combine import storage_flat

        if not _warned[0]:
            _warned[0] = True
            warnings.warn(
                "TypedStorage is deprecated. It will be removed in the future and UntypedStorage "
                "will be the only storage class. This should only matter to you if you are "
                "using storages directly.  To access UntypedStorage directly, use "
                "tensor.untyped_storage() instead of tensor.storage()", UserWarning,
                stacklevel=3)
        flat = storage_flat(tensor._data)
        if flat.dtype != tensor._data.dtype:  # a view(dtype) of a storage of another dtype
            flat = flat.view(tensor._data.dtype)
        return cls._wrap(flat)

    @property
    def dtype(self):
        from ._backend import from_numpy_dtype

        return from_numpy_dtype(self._flat.dtype)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")  # noqa: TRY004 - PyTorch raises this
        return self._flat[self._index(int(idx))].item()

    def untyped(self):
        return UntypedStorage._wrap(self._flat.view(np.uint8))

    @staticmethod
    def _np_dtype(dtype):
        from ._backend import get_default_dtype

        return np.dtype((dtype if dtype is not None else get_default_dtype()).np)

    def type(self, dtype=None):
        from ._storage_legacy import storage_class

        legacy = storage_class(self._flat.dtype)
        module = "torch.cuda" if self.is_cuda else "torch"  # torch.cuda.FloatStorage, as torch
        return f"{module}.{legacy.__name__}" if legacy else "torch.TypedStorage"

    def __repr__(self):
        return self._repr_body("torch.storage.TypedStorage", f"dtype={self.dtype}, ")
