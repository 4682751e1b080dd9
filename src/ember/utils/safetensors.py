"""safetensors files for ember tensors, through the ``safetensors`` package (extra
``safetensors``). The names mirror ``safetensors.torch``: ``save_file``, ``load_file``,
``save``, ``load``; files round-trip with PyTorch's.
"""

from __future__ import annotations

import os

import numpy as np

from .._backend import dtypes as _dt

__all__ = ["save_file", "load_file", "save", "load"]

_CODES = {
    "float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16",
    "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8",
    "uint16": "U16", "uint32": "U32", "uint64": "U64", "bool": "BOOL",
    "complex64": "C64", "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2",
    "float8_e8m0fnu": "F8_E8M0", "float8_e4m3fnuz": "F8_E4M3FNUZ",
    "float8_e5m2fnuz": "F8_E5M2FNUZ",
}
_FROM_CODE = {code: getattr(_dt, "bool_" if name == "bool" else name) for name, code in _CODES.items()}


def _library():
    try:
        import safetensors
    except ImportError:  # pragma: no cover - the test extras install it
        raise ImportError("safetensors files need the safetensors package: "
                          "pip install 'ember[safetensors]'") from None
    return safetensors


def _flatten(tensors, keep_alive):
    """TensorSpecs pointing at contiguous little-endian copies kept in ``keep_alive``."""
    from .._tensor import Tensor

    spec = _library().TensorSpec
    if not isinstance(tensors, dict):
        raise ValueError(f"Expected a dict of [str, Tensor] but received {type(tensors).__name__}")
    flat = {}
    for name, tensor in tensors.items():
        if not isinstance(tensor, Tensor):
            raise ValueError(f"Key `{name}` is invalid, expected Tensor but received {type(tensor)}")
        dtype_name = str(tensor.dtype).replace("torch.", "")
        if dtype_name not in _CODES:
            raise ValueError(f"dtype {tensor.dtype} cannot be stored in a safetensors file")
        array = np.ascontiguousarray(tensor.detach()._host_array())
        keep_alive.append(array)
        flat[name] = spec(dtype=dtype_name, shape=array.shape, data_ptr=array.ctypes.data,
                          data_len=array.nbytes)
    return flat


def save(tensors, metadata=None) -> bytes:
    keep_alive = []
    return bytes(_library().serialize(_flatten(tensors, keep_alive), metadata=metadata))


def save_file(tensors, filename, metadata=None) -> None:
    keep_alive = []
    _library().serialize_file(_flatten(tensors, keep_alive), os.fspath(filename),
                              metadata=metadata)


def load(data: bytes, device="cpu"):
    from .._tensor import _make

    result = {}
    for name, entry in _library().deserialize(data):
        dtype = _FROM_CODE[entry["dtype"]]
        array = np.frombuffer(bytearray(entry["data"]), dtype=dtype.numpy_dtype)
        tensor = _make(array.reshape(entry["shape"]))
        result[name] = tensor if str(device) == "cpu" else tensor.to(device)
    return result


def load_file(filename, device="cpu"):
    with open(filename, "rb") as handle:
        return load(handle.read(), device=device)
