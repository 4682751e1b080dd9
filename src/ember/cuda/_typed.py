"""The legacy typed tensors and storages of ``torch.cuda``: ``cuda.FloatTensor`` and friends.

Old scripts build device tensors with ``torch.cuda.FloatTensor(3, 4)`` and test types with
``isinstance(x, torch.cuda.LongTensor)``. The classes here share the cpu classes' machinery
(``ember._misc._LegacyTensorMeta``): calling one builds a plain ``Tensor`` of its dtype on
the current GPU, and ``isinstance`` holds for cuda tensors of that dtype only, as in
PyTorch. Without a GPU, calling one raises PyTorch's CPU-build TypeError.

The storages (``cuda.FloatStorage(n)``) are ``TypedStorage`` objects on the GPU; a class
matches any typed storage of its dtype on cuda, as PyTorch's ``_LegacyStorageMeta`` does.
"""

from __future__ import annotations

from .._backend import dtypes as _dt
from .._backend.device import NO_CUDA, CudaUnavailableError, cupy_module
from .._backend.device import device as _device_type
from .._misc import _LegacyTensorMeta
from .._storage import TypedStorage


class _CudaLegacyTensorMeta(_LegacyTensorMeta):
    """``torch.cuda.FloatTensor``: a cuda tensor of one dtype."""

    def __instancecheck__(cls, obj):
        from .._tensor import Tensor

        return (isinstance(obj, Tensor) and obj._data.dtype == cls._dtype.np
                and obj.device.type == "cuda")

    def __call__(cls, *args, device=None, **kwargs):
        if cupy_module() is None:
            raise TypeError(f"type torch.cuda.{cls.__name__} not available. Torch not "
                            "compiled with CUDA enabled.")
        if kwargs:
            name = next(iter(kwargs))
            raise TypeError("new() received an invalid combination of arguments - got an "
                            f"unexpected keyword argument '{name}'")
        target = _device_type(device) if device is not None else _device_type("cuda")
        if target.type != "cuda":
            raise RuntimeError("legacy constructor expects device type: cuda but device "
                               f"type: {target.type} was passed")
        if len(args) == 1 and _is_tensor(args[0]):
            source = args[0]
            if source._data.dtype != cls._dtype.np or source.device.type != "cuda":
                raise TypeError(f"expected {cls._dtype} cuda tensor (got {source.dtype} "
                                f"{source.device.type} tensor)")
            return source
        from .._ops.creation import _legacy_new
        from .._tensor import _make

        return _make(_legacy_new(args, target, cls._dtype))

    @property
    def is_cuda(cls):
        return True

    def __repr__(cls):
        return f"<class 'torch.cuda.{cls.__name__}'>"


def _is_tensor(value):
    from .._tensor import Tensor

    return isinstance(value, Tensor)


def _tensor_class(name, dtype):
    return _CudaLegacyTensorMeta(name, (), {"_dtype": dtype, "__module__": "ember.cuda"})


FloatTensor = _tensor_class("FloatTensor", _dt.float32)
DoubleTensor = _tensor_class("DoubleTensor", _dt.float64)
HalfTensor = _tensor_class("HalfTensor", _dt.float16)
BFloat16Tensor = _tensor_class("BFloat16Tensor", _dt.bfloat16)
ByteTensor = _tensor_class("ByteTensor", _dt.uint8)
CharTensor = _tensor_class("CharTensor", _dt.int8)
ShortTensor = _tensor_class("ShortTensor", _dt.int16)
IntTensor = _tensor_class("IntTensor", _dt.int32)
LongTensor = _tensor_class("LongTensor", _dt.int64)
BoolTensor = _tensor_class("BoolTensor", _dt.bool_)


class _CudaLegacyStorageMeta(type):
    """``isinstance(s, cuda.FloatStorage)``: any typed storage of the class's dtype on cuda
    (tensor.storage() returns plain ``TypedStorage`` objects, as PyTorch's does)."""

    def __instancecheck__(cls, obj):
        if type(obj) is cls or type.__instancecheck__(cls, obj):
            return True
        return (isinstance(obj, TypedStorage) and type(obj) is TypedStorage
                and obj.is_cuda and obj._flat.dtype == cls._dtype_of.np)

    @property
    def dtype(cls):
        return cls._dtype_of


class _CudaTypedStorage(TypedStorage, metaclass=_CudaLegacyStorageMeta):
    """``cuda.FloatStorage(size)`` (zeros) or ``cuda.FloatStorage(sequence)`` on the
    current GPU (``device=`` picks another)."""

    __slots__ = ()
    _dtype_of = None

    def __init__(self, *args, device=None):
        if cupy_module() is None:
            raise CudaUnavailableError(NO_CUDA)
        target = _device_type(device) if device is not None else _device_type("cuda")
        if target.type != "cuda":
            raise RuntimeError(f"{type(self).__name__}: Not available for '{target.type}' "
                               "storage")
        super().__init__(*args, dtype=type(self)._dtype_of, device=target)

    def type(self, dtype=None):
        return f"torch.cuda.{type(self).__name__}"


def _storage_class(name, dtype):
    return _CudaLegacyStorageMeta(name, (_CudaTypedStorage,), {
        "__slots__": (), "_dtype_of": dtype, "__module__": "ember.cuda"})


FloatStorage = _storage_class("FloatStorage", _dt.float32)
DoubleStorage = _storage_class("DoubleStorage", _dt.float64)
HalfStorage = _storage_class("HalfStorage", _dt.float16)
BFloat16Storage = _storage_class("BFloat16Storage", _dt.bfloat16)
ByteStorage = _storage_class("ByteStorage", _dt.uint8)
CharStorage = _storage_class("CharStorage", _dt.int8)
ShortStorage = _storage_class("ShortStorage", _dt.int16)
IntStorage = _storage_class("IntStorage", _dt.int32)
LongStorage = _storage_class("LongStorage", _dt.int64)
BoolStorage = _storage_class("BoolStorage", _dt.bool_)
ComplexFloatStorage = _storage_class("ComplexFloatStorage", _dt.complex64)
ComplexDoubleStorage = _storage_class("ComplexDoubleStorage", _dt.complex128)

TENSOR_TYPES = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "ByteTensor",
                "CharTensor", "ShortTensor", "IntTensor", "LongTensor", "BoolTensor"]
STORAGE_TYPES = ["FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage",
                 "ByteStorage", "CharStorage", "ShortStorage", "IntStorage", "LongStorage",
                 "BoolStorage", "ComplexFloatStorage", "ComplexDoubleStorage"]
__all__ = TENSOR_TYPES + STORAGE_TYPES
