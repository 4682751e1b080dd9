"""Tensor creation, copies and dtype/device moves (``tensor``, ``zeros``, ``to``, ...)."""

from __future__ import annotations

import functools
import math
import numbers
import warnings

import numpy as np

from .._backend import (
    cupy_module,
    device_of,
    from_numpy_dtype,
    get_default_device,
    get_default_dtype,
    module_for,
    to_device,
    to_dtype,
)
from .._backend import dtypes as _dt
from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from .._tensor import Size
from ._util import Tensor, _make, array_module


def supports_out(fn):
    """``out=``: the result's dtype defaults to ``out``'s, and is written into ``out``
    (resized when the shape differs, as PyTorch resizes out tensors)."""

    @functools.wraps(fn)
    def wrapper(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if kwargs.get("dtype") is None and "dtype" in _params(fn):
            kwargs["dtype"] = out.dtype
        elif kwargs.get("dtype") is not None and to_dtype(kwargs["dtype"]) != out.dtype:
            raise RuntimeError(
                f"dtype {_type_name(to_dtype(kwargs['dtype']).np)} does not match dtype of out "
                f"parameter ({_type_name(out._data.dtype)})"
            )
        result = fn(*args, **kwargs)
        source = result._data.astype(out._data.dtype, copy=False)
        if out._data.shape == source.shape:
            out._data[...] = source
        else:
            out._data = source.copy() if source is result._data else source
        out._vc[0] += 1
        return out

    return wrapper


def _params(fn):
    import inspect

    return inspect.signature(fn).parameters


def _type_name(np_dtype):
    from ._util import type_name

    return type_name(np_dtype)


class _OnDevice:
    """CuPy with each call made while device ``index`` is current: CuPy allocates on the
    current device, and ``zeros(..., device='cuda:1')`` must not land on cuda:0."""

    __slots__ = ("_xp", "_index")

    def __init__(self, xp, index):
        self._xp, self._index = xp, index

    def __getattr__(self, name):
        attr = getattr(self._xp, name)
        if not callable(attr) or isinstance(attr, type):
            return attr

        def on_device(*args, **kwargs):
            with self._xp.cuda.Device(self._index):
                return attr(*args, **kwargs)

        return on_device


def _module_for_device(dev):
    xp = module_for(dev)
    if xp is np or dev.index is None:
        return xp
    return _OnDevice(xp, dev.index)


def _module_and_device(device):
    dev = to_device(device) if device is not None else get_default_device()
    return _module_for_device(dev), dev


def _on_device(array, dev):
    """Move a NumPy array to ``dev`` (a no-op for cpu)."""
    if dev is None or dev.type == "cpu":
        if type(array) is not np.ndarray and hasattr(array, "get"):
            return array.get()
        return array
    xp = module_for(dev)
    with xp.cuda.Device(dev.index):  # None: the current device
        return xp.asarray(array)


def _finish(array, requires_grad):
    t = _make(array)
    if requires_grad:
        if array.dtype.kind not in "fcV":  # factories word it differently from requires_grad_
            raise RuntimeError(
                "Only Tensors of floating point and complex dtype can require gradients"
            )
        t._requires_grad = True
    return t


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


def _to_numpy_data(data):
    """Turn nested lists/tuples (possibly holding tensors) into a NumPy array."""
    if isinstance(data, Tensor):
        return data.__array__()
    if isinstance(data, (list, tuple)):
        if any(isinstance(item, Tensor) for item in data):
            items = []
            for item in data:
                if isinstance(item, Tensor):
                    if item.numel() != 1 and item.ndim > 0:
                        items.append(item.__array__())
                    else:
                        items.append(item.__array__().reshape(()))
                else:
                    items.append(_to_numpy_data(item))
            return np.array(items)
        try:
            return np.array(data)
        except ValueError as exc:
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
    dev = to_device(device) if device is not None else src_dev
    np_dtype = to_dtype(dtype).numpy_dtype if dtype is not None else array.dtype
    if src_dev == dev:
        array = array.astype(np_dtype, copy=True)
    else:
        array = _on_device(data.__array__().astype(np_dtype), dev)
    return _finish(array, requires_grad)


def _tensor_from_data(data, dtype, device, requires_grad):
    if isinstance(data, range):
        data = list(data)
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
    array = np.array(array, dtype=np_dtype, copy=True)
    _, dev = _module_and_device(device)
    return _finish(_on_device(array, dev), requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a tensor/array of matching dtype and device."""
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


def _size(size):
    """Accept ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` and ``f(torch.Size(...))``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = int(s.item())
        if not isinstance(s, (int, np.integer)):
            raise TypeError(
                f"empty(): argument 'size' must be tuple of ints, but found element of type "
                f"{type(s).__name__}"
            )
        if s < 0:
            raise RuntimeError(
                f"Trying to create tensor with negative dimension {s}: {list(size)}"
            )
        out.append(int(s))
    return tuple(out)


def _fill(size, value, dtype, device, requires_grad, kind):
    xp, _ = _module_and_device(device)
    np_dtype = to_dtype(dtype).numpy_dtype if dtype is not None else get_default_dtype().np
    shape = _size(size)
    if kind == "zeros":
        array = xp.zeros(shape, np_dtype)
    elif kind == "ones":
        array = xp.ones(shape, np_dtype)
    else:
        array = xp.empty(shape, np_dtype)
    return _finish(array, requires_grad)


@supports_out
def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False) -> Tensor:
    return _fill(size, 0, dtype, device, requires_grad, "zeros")


@supports_out
def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False) -> Tensor:
    return _fill(size, 1, dtype, device, requires_grad, "ones")


@supports_out
def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None) -> Tensor:
    # Zero-filled: uninitialised memory would make tests and users' bugs irreproducible.
    return _fill(size, 0, dtype, device, requires_grad, "zeros")


@supports_out
def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    xp, _ = _module_and_device(device)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        if isinstance(fill_value, bool):
            np_dtype = np.dtype(np.bool_)
        elif isinstance(fill_value, numbers.Integral):
            np_dtype = np.dtype(np.int64)
        elif isinstance(fill_value, complex):
            np_dtype = _dt.default_complex().np
        else:
            np_dtype = get_default_dtype().np
    else:
        np_dtype = to_dtype(dtype).numpy_dtype
    if not isinstance(size, (tuple, list)):
        raise TypeError(
            f"full(): argument 'size' (position 1) must be tuple of ints, not "
            f"{type(size).__name__}"
        )
    return _finish(xp.full(_size((size,)), fill_value, np_dtype), requires_grad)


def _like(input, dtype, device):
    np_dtype = to_dtype(dtype).numpy_dtype if dtype is not None else input._data.dtype
    dev = to_device(device) if device is not None else input.device
    return _module_for_device(dev), np_dtype


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    xp, np_dtype = _like(input, dtype, device)
    return _finish(xp.zeros(input._data.shape, np_dtype), requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    xp, np_dtype = _like(input, dtype, device)
    return _finish(xp.ones(input._data.shape, np_dtype), requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    xp, np_dtype = _like(input, dtype, device)
    return _finish(xp.full(input._data.shape, fill_value, np_dtype), requires_grad)


@supports_out
def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False) -> Tensor:
    """``start + i * step`` for ``i`` in ``0..ceil((end - start) / step)``; integer
    results first truncate the bounds and step to integers, as PyTorch does."""
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if dtype is None:
        all_int = all(isinstance(v, (int, np.integer)) for v in values)
        np_dtype = np.dtype(np.int64) if all_int else get_default_dtype().np
    else:
        np_dtype = to_dtype(dtype).numpy_dtype
    if values[2] == 0:
        raise RuntimeError("step must be nonzero")
    integral = np_dtype.kind in "iub"
    if integral:
        values = [int(v) for v in values]
        if values[2] == 0:
            raise ValueError("step must be nonzero")
    start, end, step = values
    if not all(math.isfinite(v) for v in (start, end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    xp, _ = _module_and_device(device)
    if integral:
        array = xp.arange(start, end, step, dtype=np.int64)
    else:
        count = max(int(math.ceil((end - start) / step)), 0)
        # start + i * step in float64, then cast, like PyTorch's kernel
        array = start + xp.arange(count, dtype=np.float64) * step
    return _finish(array.astype(np_dtype), requires_grad)


def range_(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Deprecated ``torch.range``: like arange but includes ``end``."""
    if end is None:
        start, end = 0, start
    xp, _ = _module_and_device(device)
    np_dtype = to_dtype(dtype).numpy_dtype if dtype is not None else get_default_dtype().np
    count = int((end - start) // step) + 1
    return _finish((start + xp.arange(count, dtype=np.float64) * step).astype(np_dtype),
                   requires_grad)


@supports_out
def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False) -> Tensor:
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    xp, _ = _module_and_device(device)
    start = start.item() if isinstance(start, Tensor) else start
    end = end.item() if isinstance(end, Tensor) else end
    np_dtype = to_dtype(dtype).numpy_dtype if dtype is not None else get_default_dtype().np
    array = xp.linspace(start, end, steps, dtype=np.float64)
    if np_dtype.kind in "iu":
        array = xp.trunc(array)
    return _finish(array.astype(np_dtype), requires_grad)


@supports_out
def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False) -> Tensor:
    xp, _ = _module_and_device(device)
    np_dtype = to_dtype(dtype).numpy_dtype if dtype is not None else get_default_dtype().np
    array = xp.power(base, xp.linspace(start, end, steps, dtype=np.float64))
    return _finish(array.astype(np_dtype), requires_grad)


@supports_out
def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None,
        requires_grad=False) -> Tensor:
    xp, _ = _module_and_device(device)
    np_dtype = to_dtype(dtype).numpy_dtype if dtype is not None else get_default_dtype().np
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    return _finish(xp.eye(n, n if m is None else m, dtype=np_dtype), requires_grad)


def _triangle_indices(name, lower, row, col, offset, dtype, device):
    """Coordinates of a matrix triangle, row-major, as a 2 x N tensor (what indexing a
    batch of matrices with ``m[..., i, j]`` wants)."""
    if row < 0:
        raise RuntimeError(f"row must be non-negative, got{row}")
    if col < 0:
        raise RuntimeError(f"col must be non-negative, got{col}")
    np_dtype = np.dtype(np.int64) if dtype is None else to_dtype(dtype).numpy_dtype
    if np_dtype not in (np.dtype(np.int64), np.dtype(np.int32)):
        raise NotImplementedError(f'"{name}" not implemented for \'{_type_name(np_dtype)}\'')
    xp, _ = _module_and_device(device)
    rows, cols = (xp.tril_indices if lower else xp.triu_indices)(row, offset, col)
    return _finish(xp.stack([rows, cols]).astype(np_dtype), False)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None) -> Tensor:
    return _triangle_indices("tril_indices", True, row, col, offset, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None) -> Tensor:
    return _triangle_indices("triu_indices", False, row, col, offset, dtype, device)


def _legacy_new(args, device, dtype):
    """Arrays for ``Tensor(...)``/``FloatTensor(...)``: data or sizes."""
    np_dtype = to_dtype(dtype).numpy_dtype if dtype is not None else get_default_dtype().np
    xp, dev = _module_and_device(device)
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


# ---------------------------------------------------------------------------
# Copies and moves (differentiable)
# ---------------------------------------------------------------------------


class Clone(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


class ToCopy(Function):
    """Change dtype and/or device; the gradient moves back to the input's."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, np_dtype, dev):
        ctx.src_device = None
        if dev is not None and device_of(x) != dev:
            ctx.src_device = device_of(x)
            host = x.get() if hasattr(x, "get") else x
            x = _on_device(host, dev)
        if np_dtype is not None and x.dtype != np_dtype:
            x = x.astype(np_dtype)
        elif dev is None:
            x = x.copy()
        return x

    @staticmethod
    def backward(ctx, grad):
        # the engine casts to the input's dtype, but a device move must be undone here
        if ctx.src_device is not None:
            grad = to(grad, ctx.src_device)
        return grad, None, None


def clone(input, *, memory_format=None) -> Tensor:
    return Clone.apply(input)


def contiguous(self, memory_format=None) -> Tensor:
    if self._data.flags.c_contiguous:
        return self
    out = Clone.apply(self)
    out._data = array_module(out._data).ascontiguousarray(out._data)
    return out


def _parse_to(self, args, kwargs):
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    flags = []  # positional (non_blocking, copy), after the dtype/device/other arguments
    for arg in args:
        if isinstance(arg, bool):
            flags.append(arg)
        elif isinstance(arg, Tensor):
            dtype, device = arg.dtype, arg.device
        elif isinstance(arg, _dt.dtype) or arg in (float, int, bool, complex):
            dtype = arg
        elif arg is None:
            continue
        elif isinstance(arg, (str, int)) or type(arg).__name__ == "device":
            if device is not None:
                raise TypeError(
                    "to() received an invalid combination of arguments - got "
                    f"({', '.join(type(a).__name__ for a in args)})"
                )
            device = arg
        else:
            raise TypeError(
                f"to() received an invalid combination of arguments - got "
                f"({', '.join(type(a).__name__ for a in args)})"
            )
    if len(flags) > 1:
        copy = copy or flags[1]
    return dtype, device, copy


def to(self, *args, **kwargs) -> Tensor:
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``; returns self
    when nothing changes (unless ``copy=True``)."""
    dtype, device, copy = _parse_to(self, list(args), dict(kwargs))
    np_dtype = to_dtype(dtype).numpy_dtype if dtype is not None else None
    dev = to_device(device) if device is not None else None
    if dev is not None and dev.type == "cuda" and dev.index is None:
        # 'cuda' means the current device, as in PyTorch (set_device / cuda.device)
        dev = type(dev)("cuda", module_for(dev).cuda.runtime.getDevice())
    same_dtype = np_dtype is None or np_dtype == self._data.dtype
    same_device = dev is None or dev == self.device
    if same_dtype and same_device and not copy:
        return self
    if dev is not None and dev.type != "cpu":
        module_for(dev)
    return ToCopy.apply(self, np_dtype, None if same_device else dev)


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    dtype, device = dtype or self.dtype, device or self.device
    if isinstance(data, Tensor):
        _warn_copy_construct("tensor.new_tensor(sourceTensor)")
        return _copy_tensor(data, dtype, device, requires_grad)
    return _tensor_from_data(data, dtype, device, requires_grad)


def _new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, dtype=dtype or self.dtype, device=device or self.device,
                 requires_grad=requires_grad)


def _new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    return ones(*size, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


def _new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, dtype=dtype or self.dtype, device=device or self.device,
                 requires_grad=requires_grad)


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


def _cast(np_name):
    target = getattr(_dt, np_name)

    def method(self, memory_format=None):
        array = self._data
        if array.dtype == target.np:
            return self
        if not (self._requires_grad and _grad_enabled[0]):
            # Nothing to record: a plain astype (per-sample data pipelines call this a lot).
            return _make(array.astype(target.numpy_dtype))
        return to(self, target)

    method.__name__ = np_name
    return method


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input) -> int:
    return input.numel()


__all__ = [
    "tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "empty", "full",
    "zeros_like", "ones_like", "empty_like", "full_like", "arange", "linspace", "logspace",
    "eye", "tril_indices", "triu_indices", "clone", "is_tensor", "numel",
]

from ._fill import copy_, fill_, fill_diagonal_, resize_, zero_  # noqa: E402 - they build on the above

TENSOR_METHODS = {
    "to": to, "clone": clone, "contiguous": contiguous,
    "zero_": zero_, "fill_": fill_, "fill_diagonal_": fill_diagonal_, "copy_": copy_,
    "resize_": resize_,
    "new_tensor": _new_tensor, "new_zeros": _new_zeros, "new_ones": _new_ones,
    "new_empty": _new_empty, "new_full": _new_full,
    "float": _cast("float32"), "double": _cast("float64"), "half": _cast("float16"),
    "bfloat16": _cast("bfloat16"), "long": _cast("int64"), "int": _cast("int32"),
    "short": _cast("int16"), "char": _cast("int8"), "byte": _cast("uint8"),
    "bool": _cast("bool_"),
    "type_as": lambda self, other: to(self, other.dtype),
}
