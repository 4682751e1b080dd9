"""Copies and dtype/device moves, differentiable: ``clone``, ``contiguous``, ``to`` and
the cast methods (``float()``, ``long()``, ...)."""

from __future__ import annotations

from .._backend import device_of, module_for, to_device, to_dtype
from .._backend import dtypes as _dt
from .._backend.dtypes import SPECIAL_TYPE_NAMES as _SPECIAL_TYPE_NAMES
from .._backend.strided import strided_view
from .._backend.sync_debug import MODE as _SYNC_MODE
from .._backend.sync_debug import report as _sync_report
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


def _preserved_strides(shape, strides, itemsize):
    """The element strides ``preserve_format`` gives a copy of an array that is not
    C-contiguous, as PyTorch's empty_like/clone/_to_copy: a non-overlapping and dense
    layout (a transpose, a permute, channels-last) is kept stride for stride; any other
    (a slice with steps, an expand) becomes the dense layout whose dims are ordered in
    memory as the input's (PyTorch's infer_dense_strides)."""
    ndim = len(shape)
    elements = [s // itemsize for s in strides]
    # non-overlapping and dense: the dims of size >= 2, by stride, tile memory exactly
    order = sorted((d for d in range(ndim) if shape[d] > 1), key=lambda d: elements[d])
    expected = 1
    for dim in order:
        if elements[dim] != expected:
            break
        expected *= shape[dim]
    else:
        return tuple(elements)
    # insertion sort from innermost, ties by size, stride 0 (expanded) ambiguous
    perm = list(range(ndim - 1, -1, -1))
    for i in range(1, ndim):
        moving = i
        for j in range(i - 1, -1, -1):
            a, b = abs(elements[perm[j]]), abs(elements[perm[moving]])
            if a == 0 or b == 0:
                continue
            if a < b:
                break
            if a > b or shape[perm[j]] > shape[perm[moving]]:
                perm[j], perm[moving] = perm[moving], perm[j]
                moving = j
    result = [0] * ndim
    step = 1
    for dim in perm:
        result[dim] = step
        if shape[dim] > 1:
            step *= shape[dim]
    return tuple(result)


def plain_layout(array) -> bool:
    """Whether a C-order copy of ``array`` has its strides (what preserve_format keeps):
    C-contiguous, and no size-1 dim whose stride NumPy's flag ignores but PyTorch keeps.
    A flag read and a tuple scan: the hot path of clone, to and *_like."""
    if not array.flags.c_contiguous:
        return False
    shape = array.shape
    if 1 not in shape or array.size == 0:
        return True
    expected = array.itemsize
    for size, stride in zip(reversed(shape), reversed(array.strides)):
        if stride != expected:
            return False
        expected *= size
    return True


def _element_strides(array):
    itemsize = array.itemsize
    return tuple(s // itemsize for s in array.strides)


def _as_preserved(array, candidate, xp):
    """``candidate`` (NumPy/CuPy's order-K layout of ``array``) when its strides are those
    PyTorch preserves, else an empty array that has them. Order K keeps a dense input's
    strides exactly, which settles transposes and permutes with one comparison."""
    if _element_strides(candidate) == _element_strides(array):
        return candidate  # a dense input: its exact strides, as PyTorch
    shape = array.shape
    strides = _preserved_strides(shape, array.strides, array.itemsize)
    if _element_strides(candidate) == strides:
        return candidate
    # size-1 dims with strides order K does not give (PyTorch keeps them as they were)
    itemsize = candidate.itemsize
    return strided_view(xp.empty(max(array.size, 1), candidate.dtype), shape,
                        tuple(s * itemsize for s in strides))


def empty_preserving(array, np_dtype, xp=None):
    """An uninitialised array of ``array``'s shape in ``np_dtype``, laid out as
    ``preserve_format`` lays out a copy of it. The C-contiguous case (nearly every call) is
    one flag read and a plain ``empty``."""
    xp = xp or array_module(array)
    if array.size == 0 or plain_layout(array):
        return xp.empty(array.shape, np_dtype)
    if xp is not array_module(array):  # another device: lay out a host stand-in first
        return _as_preserved(array, xp.empty(array.shape, np_dtype), xp)
    return _as_preserved(array, xp.empty_like(array, dtype=np_dtype, order="K"), xp)


def empty_like_array(array, np_dtype, memory_format, xp):
    """The empty array ``*_like(memory_format=...)`` fills: preserve_format (None) as a
    copy's layout, contiguous or channels-last as asked."""
    if memory_format is None or memory_format is preserve_format:
        return empty_preserving(array, np_dtype, xp)
    if memory_format is contiguous_format:
        return xp.empty(array.shape, np_dtype)
    return as_format(xp.empty(array.shape, np_dtype), memory_format, xp)


def _copy_as(x, np_dtype, memory_format):
    """A copy of ``x`` in ``np_dtype``, in ``memory_format`` (preserve: as PyTorch)."""
    if np_dtype != x.dtype and (np_dtype.itemsize == 1 or x.dtype.itemsize == 1
                                or np_dtype.fields is not None or x.dtype.fields is not None):
        special = _special_cast(x, np_dtype)  # float8 and complex32: PyTorch's rounding
        if special is not None:
            return _copy_as(special, np_dtype, memory_format)
    if memory_format is preserve_format:
        if (x.flags.c_contiguous and 1 not in x.shape) or plain_layout(x):
            return x.astype(np_dtype) if np_dtype != x.dtype else x.copy()
        if x.size == 0:
            return x.astype(np_dtype, order="C")
        copied = x.astype(np_dtype, order="K")
        out = _as_preserved(x, copied, array_module(x))
        if out is copied:
            return out
    elif memory_format is contiguous_format:
        return x.astype(np_dtype, order="C") if np_dtype != x.dtype else x.copy(order="C")
    else:
        out = as_format(x, memory_format, array_module(x))
        return out if np_dtype == x.dtype else out.astype(np_dtype, order="K")
    out[...] = x
    return out


def _special_cast(x, np_dtype):
    """``x`` in ``np_dtype`` by PyTorch's rules when one side is float8 or complex32 (the
    result keeps x's shape, C order; _copy_as then lays it out), else None."""
    from .._backend.float8 import cast
    from .._complex32 import cast as cast_complex32

    out = cast_complex32(x, np_dtype)
    return cast(x, np_dtype) if out is None else out


class Clone(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, memory_format=preserve_format):
        if memory_format is preserve_format and x.flags.c_contiguous and 1 not in x.shape:
            return x.copy()  # the common case, without a call
        return _copy_as(x, x.dtype, memory_format)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class ToCopy(Function):
    """Change dtype and/or device; the gradient moves back to the input's."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, np_dtype, dev):
        ctx.src_device = None
        if dev is not None and device_of(x) != dev:
            ctx.src_device = device_of(x)
            if _SYNC_MODE[0] and ctx.src_device.type == "cuda":  # set_sync_debug_mode
                _sync_report()
            host = x.get() if hasattr(x, "get") else x
            x = _on_device(host, dev)
        if np_dtype is not None and x.dtype != np_dtype:
            x = _copy_as(x, np_dtype, preserve_format)
        elif dev is None:
            x = _copy_as(x, x.dtype, preserve_format)
        return x

    @staticmethod
    def backward(ctx, grad):
        # the engine casts to the input's dtype, but a device move must be undone here
        if ctx.src_device is not None:
            grad = to(grad, ctx.src_device)
        return grad, None, None


def clone(input, *, memory_format=None) -> Tensor:
    """A copy; ``preserve_format`` (the default) keeps a transposed, permuted or
    channels-last layout stride for stride, as PyTorch."""
    if memory_format is None or memory_format is preserve_format:
        return Clone.apply(input)
    if memory_format is not contiguous_format:
        check_rank(input._data.ndim, memory_format)
    return Clone.apply(input, memory_format)


def contiguous(self, memory_format=None) -> Tensor:
    """Self when already laid out in ``memory_format`` (default contiguous), else a copy
    that is."""
    if memory_format is preserve_format:
        memory_format = suggest_format(self._data)
    if memory_format is None or memory_format is contiguous_format:
        if self._data.flags.c_contiguous:
            return self
        return Clone.apply(self, contiguous_format)
    if is_contiguous_as(self._data, memory_format):
        return self
    check_rank(self._data.ndim, memory_format)
    return Clone.apply(self, memory_format)


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
        return Clone.apply(moved, memory_format)
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
    if target is _dt.complex32:
        return lambda self, memory_format=None: to(self, target)

    def method(self, memory_format=None):
        array = self._data
        if array.dtype == target.np:
            return self
        plain = (array.flags.c_contiguous and 1 not in array.shape) or plain_layout(array)
        if plain and not (self._requires_grad and _grad_enabled[0]) and (
                array.dtype not in _SPECIAL_TYPE_NAMES):  # float8, complex32: through to()
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
    "bool": _cast("bool_"), "chalf": _cast("complex32"),
    "type_as": lambda self, other: to(self, other),  # torch: self.to(other.options())
}
