"""Copies and dtype/device moves, differentiable: ``clone``, ``contiguous``, ``to`` and
the cast methods (``float()``, ``long()``, ...)."""

from __future__ import annotations

from .._backend import device_of, module_for, to_device, to_dtype
from .._backend import dtypes as _dt
from .._memory_format import (
    as_format,
    check_rank,
    contiguous_format,
    has_canonical_strides,
    is_contiguous_as,
    preserve_format,
    suggest_format,
)
from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._factory import _on_device
from ._util import Tensor, _make, array_module


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
    """A copy; ``preserve_format`` (the default) keeps a channels-last layout."""
    out = Clone.apply(input)
    if memory_format is None or memory_format is preserve_format:
        memory_format = suggest_format(input._data)
        if memory_format is None:
            return out
    out._data = as_format(out._data, memory_format, array_module(out._data))
    return out


def contiguous(self, memory_format=None) -> Tensor:
    """Self when already laid out in ``memory_format`` (default contiguous), else a copy
    that is."""
    if memory_format is preserve_format:
        memory_format = suggest_format(self._data)
    if memory_format is None or memory_format is contiguous_format:
        if self._data.flags.c_contiguous:
            return self
        out = Clone.apply(self)
        out._data = array_module(out._data).ascontiguousarray(out._data)
        return out
    if is_contiguous_as(self._data, memory_format):
        return self
    check_rank(self._data.ndim, memory_format)
    out = Clone.apply(self)
    out._data = as_format(out._data, memory_format, array_module(out._data))
    return out


def _parse_to(self, args, kwargs):
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    memory_format = kwargs.pop("memory_format", None)
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
    return dtype, device, copy, memory_format


def to(self, *args, **kwargs) -> Tensor:
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``; returns self
    when nothing changes (unless ``copy=True``)."""
    dtype, device, copy, memory_format = _parse_to(self, list(args), dict(kwargs))
    if memory_format is not None and memory_format is not preserve_format:
        # A layout change (channels_last, ...): the dtype/device move first, then the copy.
        moved = to(self, dtype=dtype, device=device, copy=copy) if (
            dtype is not None or device is not None or copy) else self
        check_rank(moved._data.ndim, memory_format)
        if has_canonical_strides(moved._data, memory_format):
            return moved
        out = Clone.apply(moved)
        out._data = as_format(out._data, memory_format, array_module(out._data))
        return out
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


__all__ = ["clone"]

TENSOR_METHODS = {
    "to": to, "clone": clone, "contiguous": contiguous,
    "float": _cast("float32"), "double": _cast("float64"), "half": _cast("float16"),
    "bfloat16": _cast("bfloat16"), "long": _cast("int64"), "int": _cast("int32"),
    "short": _cast("int16"), "char": _cast("int8"), "byte": _cast("uint8"),
    "bool": _cast("bool_"),
    "type_as": lambda self, other: to(self, other.dtype),
}
