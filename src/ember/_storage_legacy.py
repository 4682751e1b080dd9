"""The legacy typed storage classes ``torch.FloatStorage``, ``LongStorage``, ... (and
``torch.Storage``, ``torch.StorageBase``) over ember's storages (``ember._storage``).

As in PyTorch, calling one builds a plain ``TypedStorage`` of the class's dtype on the cpu
(``FloatStorage(3)``, ``FloatStorage([1, 2])``, ``FloatStorage(wrap_storage=untyped)``), and
``isinstance(s, FloatStorage)`` holds for any cpu ``TypedStorage`` of that dtype, such as
``tensor.storage()``'s.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._backend import dtypes as _dt
from ._storage import TypedStorage, UntypedStorage

__all__ = [
    "FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage",
    "IntStorage", "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage",
    "ComplexFloatStorage", "ComplexDoubleStorage", "StorageBase",
]

_SIGNATURES = ("received an invalid combination of arguments. Expected one of:\n"
               " * no arguments\n * (int size)\n * (Sequence data)\n"
               " * (*, UntypedStorage wrap_storage)\n")


class _LegacyStorageMeta(type):
    """``FloatStorage(...)`` makes a TypedStorage of float32; ``isinstance`` matches any cpu
    TypedStorage of float32."""

    def __instancecheck__(cls, instance):
        return (type(instance) is TypedStorage and instance.device.type == "cpu"
                and instance._flat.dtype == cls._dtype_of.np)

    @property
    def dtype(cls):
        return cls._dtype_of

    def __call__(cls, *args, wrap_storage=None, **kwargs):
        prefix = f"{cls!r}.__new__ {_SIGNATURES}"
        if kwargs:
            raise RuntimeError(f"{prefix}Keyword argument '{next(iter(kwargs))}' cannot be "
                               "specified")
        if wrap_storage is not None:
            if args:
                raise RuntimeError(f"{prefix}No positional arguments should be given when "
                                   "using 'wrap_storage'")
            if not isinstance(wrap_storage, UntypedStorage):
                raise TypeError(f"{prefix}Argument 'wrap_storage' must be UntypedStorage, but "
                                f"got {type(wrap_storage)}")
            return TypedStorage._wrap(wrap_storage._flat.view(cls._dtype_of.np))
        if len(args) > 1:
            raise RuntimeError(f"{prefix}Too many positional arguments")
        if args:
            data = args[0]
            if isinstance(data, str):
                raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
            is_size = isinstance(data, (int, np.integer)) and not isinstance(data, bool)
            if not is_size and (isinstance(data, (numbers.Number, UntypedStorage, TypedStorage))
                                or not hasattr(data, "__iter__") or _is_tensor(data)):
                raise TypeError(f"{prefix}Argument type not recognized: {type(data)}")
            if is_size and data < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {data}: "
                                   f"[{data}]")
            if not is_size:
                for value in data:
                    if not isinstance(value, (numbers.Number, np.generic)):
                        raise TypeError(f"must be real number, not {type(value).__name__}")
        return TypedStorage(*args, dtype=cls._dtype_of, device="cpu")

    def from_buffer(cls, buffer, byte_order=None, count=-1, offset=0):
        """A storage holding a copy of ``buffer``'s bytes read as the class's dtype;
        ``byte_order`` ('little', 'big' or 'native') is required for multi-byte dtypes."""
        np_dtype = np.dtype(cls._dtype_of.np)
        if byte_order is None and np_dtype.itemsize > 1:
            raise RuntimeError("function missing required argument 'byte_order' (pos 2)")
        if byte_order not in (None, "little", "big", "native"):
            raise ValueError(f"invalid byte_order '{byte_order}' (expected 'big', 'little', "
                             "or 'native')")
        size = len(memoryview(buffer).cast("B")) - offset
        if count < 0:
            if size % np_dtype.itemsize:
                raise ValueError(f"buffer size ({size}) must be a multiple of element size "
                                 f"({np_dtype.itemsize})")
            count = size // np_dtype.itemsize
        order = {"little": "<", "big": ">"}.get(byte_order, "=")
        source = np_dtype if np_dtype.kind in "bV" else np_dtype.newbyteorder(order)
        values = np.frombuffer(buffer, dtype=source, count=count, offset=offset)
        return TypedStorage._wrap(values.astype(np_dtype, copy=True))

    def __repr__(cls):
        return f"<class 'torch.{cls.__name__}'>"


def _is_tensor(value):
    from ._tensor import Tensor

    return isinstance(value, Tensor)


def _storage_class(name, dtype):
    return _LegacyStorageMeta(name, (TypedStorage,), {
        "__slots__": (), "_dtype_of": dtype, "__module__": "ember"})


FloatStorage = _storage_class("FloatStorage", _dt.float32)
DoubleStorage = _storage_class("DoubleStorage", _dt.float64)
HalfStorage = _storage_class("HalfStorage", _dt.float16)
BFloat16Storage = _storage_class("BFloat16Storage", _dt.bfloat16)
LongStorage = _storage_class("LongStorage", _dt.int64)
IntStorage = _storage_class("IntStorage", _dt.int32)
ShortStorage = _storage_class("ShortStorage", _dt.int16)
CharStorage = _storage_class("CharStorage", _dt.int8)
ByteStorage = _storage_class("ByteStorage", _dt.uint8)
BoolStorage = _storage_class("BoolStorage", _dt.bool_)
ComplexFloatStorage = _storage_class("ComplexFloatStorage", _dt.complex64)
ComplexDoubleStorage = _storage_class("ComplexDoubleStorage", _dt.complex128)

_BY_NP_DTYPE = {np.dtype(cls._dtype_of.np): cls for cls in (
    FloatStorage, DoubleStorage, HalfStorage, BFloat16Storage, LongStorage, IntStorage,
    ShortStorage, CharStorage, ByteStorage, BoolStorage, ComplexFloatStorage,
    ComplexDoubleStorage)}


def storage_class(np_dtype):
    """The legacy storage class of a NumPy dtype (None for dtypes without one)."""
    return _BY_NP_DTYPE.get(np.dtype(np_dtype))


def default_storage_class():
    """``torch.Storage``: the storage class of the default dtype (it follows
    ``set_default_dtype``)."""
    from ._backend import get_default_dtype

    return storage_class(get_default_dtype().np)


class _StorageBaseMeta(type):
    """``isinstance(s, StorageBase)``: an untyped storage (PyTorch's C base class)."""

    def __instancecheck__(cls, instance):
        return isinstance(instance, UntypedStorage) or type.__instancecheck__(cls, instance)

    def __subclasscheck__(cls, subclass):
        return issubclass(subclass, UntypedStorage) or type.__subclasscheck__(cls, subclass)


class StorageBase(metaclass=_StorageBaseMeta):
    """The base of untyped storages (``torch.StorageBase``); not constructed directly."""

    def __new__(cls, *args, **kwargs):
        if cls is StorageBase:
            raise RuntimeError("Cannot directly construct StorageBase; subclass it and then "
                               "construct that")
        return super().__new__(cls)


StorageBase.__module__ = "ember"
