"""Tensors from data: ``tensor``, ``as_tensor``, ``from_numpy`` and the legacy
``Tensor(...)`` constructor, with PyTorch's dtype inference for Python data."""

from __future__ import annotations

import collections.abc
import numbers
import warnings

import numpy as np

from .._backend import (
    CPU, cupy_module, device_of, explicit_default_device, from_numpy_dtype, get_default_dtype,
    to_device, to_dtype,
)
from .._backend import dtypes as _dt
from .._backend.float8 import convert
from .._tensor import Size
from ._factory import _finish, _module_and_device, _np_dtype, _on_device, _size
from ._util import Tensor, _make


def _infer_np_dtype(data, array):
    """PyTorch's inference: Python floats -> default dtype, ints -> int64, bools -> bool."""
    kind = array.dtype.kind
    if kind == "f":
        return get_default_dtype().np
    if kind in "iu":
        return np.dtype(np.int64)
    if kind == "b":
        return np.dtype(np.bool_)
    if kind == "c":
        return _dt.default_complex().np
    raise TypeError(f"Could not infer dtype of {type(data).__name__}")


_PY_SCALARS = (bool, int, float, complex)


def _sequence_np_dtype(data):
    """PyTorch's inference for nested sequences: Python floats count as the default
    dtype, ints as int64, bools as bool; NumPy scalars, arrays and tensors inside keep
    their own dtype; the result is their ``promote_types``."""
    seen_types = set()
    typed = []
    stack = [data]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is list or kind is tuple:
            stack.extend(item)
        elif kind in _PY_SCALARS:
            seen_types.add(kind)
        elif isinstance(item, Tensor):
            typed.append(item._data.dtype)
        elif isinstance(item, (np.generic, np.ndarray)):
            typed.append(item.dtype)
        elif isinstance(item, numbers.Number):
            seen_types.add(complex if isinstance(item, numbers.Complex) and not isinstance(
                item, numbers.Real) else float if not isinstance(item, numbers.Integral) else int)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            raise RuntimeError(f"Could not infer dtype of {type(item).__name__}")
    py_dtypes = {bool: np.dtype(np.bool_), int: np.dtype(np.int64),
                 float: get_default_dtype().np, complex: _dt.default_complex().np}
    result = None
    for kind in (bool, int, float, complex):
        if kind in seen_types:
            result = _dt.promote_np(result, py_dtypes[kind])
    for np_dtype in typed:
        result = _dt.promote_np(result, from_numpy_dtype(np_dtype).np)
    return result if result is not None else get_default_dtype().np


def _raise_ragged(data):
    """PyTorch's error for a ragged nested list: the sizes come from the first element at
    each depth, and the first sequence (depth first) that disagrees is named."""
    sizes = []
    item = data
    while isinstance(item, (list, tuple)):
        sizes.append(len(item))
        if not item:
            break
        item = item[0]

    def visit(seq, dim):
        if dim == len(sizes):
            return
        if not isinstance(seq, (list, tuple)):
            raise TypeError("not a sequence")
        if len(seq) != sizes[dim]:
            raise ValueError(f"expected sequence of length {sizes[dim]} at dim {dim} "
                             f"(got {len(seq)})")
        for element in seq:
            visit(element, dim + 1)

    visit(data, 0)


def _to_numpy_data(data):
    """Turn nested lists/tuples (possibly holding tensors) into a NumPy array."""
    if isinstance(data, Tensor):
        return data._host_array()  # a tensor requiring grad is data here, as in PyTorch
    if isinstance(data, (list, tuple)):
        if any(isinstance(item, Tensor) for item in data):
            items = []
            for item in data:
                if isinstance(item, Tensor):
                    if item.numel() != 1:  # PyTorch reads tensors in a list as scalars
                        raise ValueError(
                            "only one element tensors can be converted to Python scalars")
                    items.append(item._host_array().reshape(()))
                else:
                    items.append(_to_numpy_data(item))
            return np.array(items)
        try:
            return np.array(data)
        except ValueError as exc:
            _raise_ragged(data)
            raise ValueError(f"expected sequence of equal-length sequences: {exc}") from None
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, (numbers.Number, np.generic)):
        return np.array(data)
    if hasattr(data, "__array__"):
        return np.asarray(data)
    raise TypeError(
        f"new(): data must be a sequence (got {type(data).__name__})"
    )


def _is_device_array(data) -> bool:
    """A CuPy array (PyTorch reads these through ``__cuda_array_interface__``); checked
    before the NumPy branches, which would copy it through the host or refuse it."""
    cp = cupy_module()
    return cp is not None and isinstance(data, cp.ndarray)


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Copy ``data`` (nested lists, scalars, arrays, tensors) into a new leaf tensor."""
    if pin_memory:
        from .creation import _pin_created

        return _pin_created(tensor(data, dtype=dtype, device=device,
                                   requires_grad=requires_grad))
    if isinstance(data, Tensor):
        _warn_copy_construct("torch.tensor(sourceTensor)")
        return _copy_tensor(data, dtype, device, requires_grad)
    if type(data) is not np.ndarray and _is_device_array(data):
        from_numpy_dtype(data.dtype)
        return _copy_tensor(_make(data), dtype, device, requires_grad)
    return _tensor_from_data(data, dtype, device, requires_grad)


def _warn_copy_construct(spelling):
    warnings.warn(
        "To copy construct from a tensor, it is recommended to use sourceTensor.detach()"
        ".clone() or sourceTensor.detach().clone().requires_grad_(True), rather than "
        f"{spelling}.", UserWarning, stacklevel=3,
    )


def _copy_tensor(data, dtype, device, requires_grad):
    array = data._data
    src_dev = device_of(array)
    # a set default device wins over the source's, as PyTorch's tensor(t) under one
    dev = to_device(device) if device is not None else explicit_default_device() or src_dev
    np_dtype = to_dtype(dtype).numpy_dtype if dtype is not None else array.dtype
    if np_dtype != array.dtype and src_dev == dev:
        array = convert(array, np_dtype).astype(np_dtype, copy=False)  # float8, complex32
    elif src_dev == dev:
        array = array.astype(np_dtype, copy=True)
    else:
        array = _on_device(data._host_array().astype(np_dtype), dev)
    return _finish(array, requires_grad)


def _plain_sequence(item):
    """A nested deque or UserList as a list (PyTorch reads any Python sequence)."""
    if type(item) is list or type(item) is tuple or isinstance(item, (str, bytes)):
        return item
    return list(item) if isinstance(item, collections.abc.Sequence) else item


def _tensor_from_data(data, dtype, device, requires_grad):
    if type(data) is not list and type(data) is not tuple:
        if isinstance(data, str):
            raise TypeError("new(): invalid data type 'str'")
        if isinstance(data, collections.abc.Sequence) and not isinstance(data, bytes):
            data = [_plain_sequence(item) for item in data]  # range, deque, UserList
    if not isinstance(data, (list, tuple, np.ndarray, numbers.Number, np.generic)) and not (
        hasattr(data, "__array__")
    ):
        raise RuntimeError(f"Could not infer dtype of {type(data).__name__}")
    array = _to_numpy_data(data)
    is_array_input = isinstance(data, np.ndarray) or (
        hasattr(data, "__array__") and not isinstance(data, (list, tuple))
        and not isinstance(data, (numbers.Number, np.generic))
    )
    if dtype is not None:
        np_dtype = to_dtype(dtype).numpy_dtype
    elif is_array_input or isinstance(data, np.generic):
        np_dtype = from_numpy_dtype(array.dtype).np
    elif isinstance(data, (list, tuple)):
        np_dtype = _sequence_np_dtype(data)
    else:
        np_dtype = _infer_np_dtype(data, array)
    if np_dtype in _dt.SPECIAL_TYPE_NAMES or array.dtype in _dt.SPECIAL_TYPE_NAMES:
        array = convert(array, np_dtype)  # float8, complex32: PyTorch's rounding
    array = np.array(array, dtype=np_dtype, copy=True)
    _, dev = _module_and_device(device)
    return _finish(_on_device(array, dev), requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a tensor/array of matching dtype and device."""
    if device is None:  # a set default device is where PyTorch's as_tensor puts data
        device = explicit_default_device()
    if isinstance(data, Tensor):
        if (dtype is None or to_dtype(dtype) == data.dtype) and (
            device is None or to_device(device) == data.device
        ):
            return data
        return data.to(device=device, dtype=dtype)
    if type(data) is not np.ndarray and _is_device_array(data):
        from_numpy_dtype(data.dtype)
        return as_tensor(_make(data), dtype=dtype, device=device)  # shares the device memory
    if isinstance(data, np.ndarray) and (device is None or to_device(device).type == "cpu"):
        from_numpy_dtype(data.dtype)
        if dtype is None or to_dtype(dtype).np == data.dtype:
            return _make(data)
        return _make(data.astype(to_dtype(dtype).numpy_dtype))
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(array) -> Tensor:
    """A tensor sharing memory with a NumPy array (writes go both ways)."""
    if not isinstance(array, np.ndarray) or _is_device_array(array):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    from_numpy_dtype(array.dtype)
    return _make(array)



def _legacy_new(args, device, dtype):
    """Arrays for ``Tensor(...)``/``FloatTensor(...)``: data or sizes."""
    np_dtype = _np_dtype(dtype)
    xp, dev = _module_and_device(device or CPU)  # the default device does not apply here
    if not args:
        return xp.zeros((0,), np_dtype)
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        data = args[0]
        if isinstance(data, Tensor):
            return data._data
        if isinstance(data, Size):  # a Size is a shape, any other sequence is data
            return xp.zeros(_size(tuple(data)), np_dtype)
        if isinstance(data, (numbers.Number, np.generic)):
            raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
        return _on_device(np.array(_to_numpy_data(data), dtype=np_dtype), dev)
    return xp.zeros(_size(args), np_dtype)


__all__ = ["tensor", "as_tensor", "asarray", "from_numpy"]
