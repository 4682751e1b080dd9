"""Indexing: ``__getitem__``/``__setitem__`` (basic indexing is a view; advanced copies),
gather/scatter, index_* and masked_* ops, take, nonzero.

In-place writes into a view of a tensor that autograd tracks follow PyTorch: the view's
base gets the history (``CopySlices``), so ``h = zeros(3, 4); h[0] = w * 2`` and
``h[1].mul_(w)`` both make ``h.sum().backward()`` reach ``w``. See ``rebase_view``.

Known difference: PyTorch also regenerates, lazily, the history of *other* views of the
same base created before the write (their ``grad_fn`` becomes an ``AsStridedBackward0``
of the new base). ember updates only the view written through and the base; a sibling
view made earlier keeps its old ``grad_fn``, so gradients through it ignore the write.
Take views after in-place writes (the usual pattern) and the results match.
"""

from __future__ import annotations

import re

import numpy as np

from .._backend.cupy_gaps import check_index_bounds
from .._backend.strided import data_ptr as _data_ptr
from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._inplace import apply_inplace, check_cast
from ._setitem_value import check_value_type, checked_scalar
from ._util import Tensor, _make, inplace_check, shape_str, type_name, xp_of
from .shape import check_view_inplace, mark_no_grad_view, view_of

_INDEX_TYPE_ERROR = "tensors used as indices must be long, int, byte or bool tensors"


def _convert_index(index, data):
    """Tensor/list parts become backend arrays; returns (index tuple, is_basic)."""
    if not isinstance(index, tuple):
        index = (index,)
    xp = xp_of(data)
    parts = []
    basic = True
    for item in index:
        if isinstance(item, Tensor):
            array = item._data
            if array.dtype.kind not in "biu":
                raise IndexError(_INDEX_TYPE_ERROR)
            if type(array) is not type(data):
                array = _index_on_device(array, data, xp)
            parts.append(array)
            basic = False
        elif isinstance(item, (list, range, np.ndarray)):  # x[range(n), y]: nn tutorial
            if isinstance(item, list):
                item = [int(i) if isinstance(i, Tensor) else i for i in item]
            host = np.asarray(item)
            if host.size == 0 and host.dtype.kind == "f":
                host = host.astype(np.int64)  # x[[]] selects nothing, as PyTorch
            if host.dtype.kind not in "biu":
                raise IndexError(_INDEX_TYPE_ERROR)
            parts.append(xp.asarray(host))
            basic = False
        elif isinstance(item, slice):
            if item.step is not None and item.step <= 0:
                raise ValueError("step must be greater than zero")
            parts.append(item)
        elif isinstance(item, bool):
            parts.append(item)
            basic = False
        elif item is None or item is Ellipsis or isinstance(item, (int, np.integer)):
            parts.append(item)
        else:
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                f"are valid indices (got {type(item).__name__})"
            )
    if sum(1 for p in parts if p is Ellipsis) > 1:  # PyTorch: later ones cover no dims
        first = next(i for i, p in enumerate(parts) if p is Ellipsis)
        parts = parts[:first + 1] + [p for p in parts[first + 1:] if p is not Ellipsis]
    if basic:
        if not any(p is Ellipsis for p in parts):
            parts.append(Ellipsis)  # NumPy then returns a 0-d view, never a detached scalar
    elif any(p is Ellipsis for p in parts):
        parts = _expand_ellipsis(parts, data.ndim)
    return tuple(parts), basic


def _expand_ellipsis(parts, ndim):
    """Spell ``...`` out as slices: NumPy treats it as separating advanced indices even
    when it covers no dim (moving the result dims to the front); PyTorch does not."""
    consumed = 0
    for part in parts:
        if hasattr(part, "dtype"):
            consumed += part.ndim if part.dtype.kind == "b" else 1
        elif isinstance(part, (slice, int, np.integer)) and not isinstance(part, bool):
            consumed += 1
    at = next(i for i, p in enumerate(parts) if p is Ellipsis)
    fill = [slice(None)] * max(ndim - consumed, 0)
    return parts[:at] + fill + [p for p in parts[at + 1:] if p is not Ellipsis]


def _stages(index):
    """Split an index mixing ints and advanced parts the way PyTorch applies it: ints (with
    slices, None, Ellipsis) first as a basic view, then the advanced parts. NumPy would
    instead broadcast the ints with the arrays, moving dims differently."""
    has_int = has_advanced = False
    for part in index:  # one pass, no generators: every indexing op calls this
        kind = type(part)
        if kind is int:
            has_int = True
        elif kind is slice or part is None or part is Ellipsis:
            continue
        elif kind is bool:
            has_advanced = True
        else:
            if hasattr(part, "dtype"):  # arrays; NumPy integers count as both, as before
                has_advanced = True
            if isinstance(part, (int, np.integer)):
                has_int = True
    if not (has_int and has_advanced):
        return None
    first, second = [], []
    for part in index:
        if hasattr(part, "dtype"):  # a k-d bool mask spans k dims
            first.extend([slice(None)] * (part.ndim if part.dtype.kind == "b" else 1))
            second.append(part)
        elif isinstance(part, bool):
            second.append(part)
        elif isinstance(part, (int, np.integer)):
            first.append(part)
        elif part is None or isinstance(part, slice):
            first.append(part)
            second.append(slice(None))
        else:  # Ellipsis
            first.append(part)
            second.append(part)
    return tuple(first), tuple(second)


def _target(array, index):
    """(array or its basic view, remaining index) so that ``target[rest]`` is ``x[index]``."""
    check_index_bounds(array, index)  # CuPy would wrap out-of-range indices around
    stages = _stages(index)
    if stages is None:
        return array, index
    try:
        return array[stages[0]], stages[1]
    except IndexError as exc:
        raise _index_error(exc) from None


_TOO_MANY = re.compile(r"too many indices for array: array is (\d+)-dimensional")


def _mask_error(index, shape):
    """PyTorch's text for a boolean mask whose shape disagrees with the dims it covers:
    the mask's shape and the indexed tensor's, each with the first disagreeing position."""
    if not isinstance(index, tuple):
        index = (index,)
    consumed = sum(getattr(p, "ndim", 1) if getattr(p, "dtype", None) is not None and
                   p.dtype.kind == "b" else (0 if p is None or p is Ellipsis else 1)
                   for p in index)
    dim, shape = 0, list(shape)
    for part in index:
        if part is Ellipsis:
            dim += len(shape) - consumed
        elif part is None:  # PyTorch unsqueezes first: the new dim shows in its message
            shape.insert(dim, 1)
            dim += 1
        elif getattr(part, "dtype", None) is not None and part.dtype.kind == "b":
            for j, size in enumerate(part.shape):
                if dim + j < len(shape) and size != shape[dim + j]:
                    return IndexError(
                        f"The shape of the mask {list(part.shape)} at index {j} does not match "
                        f"the shape of the indexed tensor {shape} at index {dim + j}")
            dim += part.ndim
        else:
            dim += 1
    return None


def _index_error(exc, index=None, shape=None):
    message = str(exc)
    if index is not None and message.startswith("boolean index did not match"):
        mask_error = _mask_error(index, shape)
        if mask_error is not None:
            return mask_error
    match = _TOO_MANY.search(message)
    if match:
        return IndexError(f"too many indices for tensor of dimension {match.group(1)}")
    if message.startswith("Index "):  # CuPy capitalizes NumPy's "index 5 is out of ..."
        message = "i" + message[1:]
    return IndexError(message.replace("axis", "dimension"))


def _last_view_step(index):
    """The view op PyTorch applies last for a basic index: Select, Slice, Unsqueeze or
    Alias (nothing but an Ellipsis)."""
    for part in reversed(index):
        if isinstance(part, (int, np.integer)):
            return "Select"
        if isinstance(part, slice):
            return "Slice"
        if part is None:
            return "Unsqueeze"
    return "Alias"


class GetItem(Function):
    _array_io = True

    def name(self):
        """PyTorch's node for the last step of the index: Select, Slice, Unsqueeze or
        Index (advanced)."""
        index = self.meta[1]
        if not _is_basic(index):
            return "IndexBackward0"
        return _last_view_step(index) + "Backward0"

    @staticmethod
    def forward(ctx, x, index):
        ctx.meta = (x.shape, index)
        target, rest = _target(x, index)
        try:
            return target[rest]
        except IndexError as exc:
            raise _index_error(exc, index, x.shape) from None

    @staticmethod
    def backward(ctx, grad):
        shape, index = ctx.meta
        return IndexPutZeros.apply(grad, shape, index), None


class IndexPutZeros(Function):
    """zeros(shape) with ``grad`` accumulated at ``index`` (repeated indices add up)."""

    _array_io = True

    @staticmethod
    def forward(ctx, grad, shape, index):
        ctx.index = index
        xp = xp_of(grad)
        out = xp.zeros(shape, grad.dtype)
        if _is_basic(index):
            out[index] = grad
        else:
            target, rest = _target(out, index)
            xp.add.at(target, rest, grad)
        return out

    @staticmethod
    def backward(ctx, grad):
        return GetItem.apply(grad, ctx.index), None, None


def _is_basic(index):
    return all(not hasattr(i, "dtype") and not isinstance(i, bool) for i in index)


class IndexPut(Function):
    """Out-of-place ``x[index] = value`` (or ``+=`` with ``accumulate``)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, value, index, accumulate):
        ctx.meta = (index, accumulate)
        out = x.copy()
        if hasattr(value, "dtype") and value.dtype != x.dtype:
            value = value.astype(x.dtype)
        target, rest = _target(out, index)
        try:
            if accumulate:
                xp_of(x).add.at(target, rest, value)
            else:
                target[rest] = value
        except IndexError as exc:
            raise _index_error(exc, index, x.shape) from None
        except ValueError as exc:
            raise _setitem_error(exc, target, rest, value, _is_basic(index), x.dtype) from None
        return out

    @staticmethod
    def backward(ctx, grad):
        index, accumulate = ctx.meta
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = grad if accumulate else IndexPut.apply(grad, 0.0, index, False)
        grad_value = GetItem.apply(grad, index) if ctx.needs_input_grad[1] else None
        return grad_x, grad_value, None, None


class _SetSlices(IndexPut):
    """``x[basic index] = value``: PyTorch writes through the sliced view, so its node is
    the base's CopySlices."""

    _node_name = "torch::autograd::CopySlices"


def _setitem_error(exc, target, rest, value, basic, dtype):
    """PyTorch's error for a value that does not fit ``x[index]``: a basic index writes
    through a view with copy_, so the text is expand's; an advanced index reports the
    broadcast failure."""
    if basic:
        shape = tuple(getattr(value, "shape", ()))
        while shape and shape[0] == 1:  # copy_ drops leading ones before expanding
            shape = shape[1:]
        try:
            _make(xp_of(target).zeros(shape, dtype=dtype)).expand(list(target[rest].shape))
        except RuntimeError as expand_error:
            return expand_error
    return RuntimeError(_broadcast_message(exc))


def _broadcast_message(exc):
    shapes = re.findall(r"shape \(([^)]*)\)", str(exc))
    if len(shapes) == 2:
        src, dst = (shape_str(int(s) for s in group.split(",") if s.strip()) for group in shapes)
        return (f"shape mismatch: value tensor of shape {src} cannot be broadcast to indexing "
                f"result of shape {dst}")
    return str(exc)


# -- in-place writes and views ---------------------------------------------------------------


def _element_offsets(array, start_bytes=0):
    """Byte offset of every element of ``array`` from ``start_bytes`` (shape of array)."""
    xp = xp_of(array)
    offsets = xp.full(array.shape, start_bytes, np.int64)
    for axis, (size, stride) in enumerate(zip(array.shape, array.strides)):
        shape = [1] * array.ndim
        shape[axis] = size
        offsets = offsets + (xp.arange(size, dtype=np.int64) * stride).reshape(shape)
    return offsets


def _view_positions(view_data, base_data):
    """For each element of a view, its position in the base's C-order flattening."""
    xp = xp_of(base_data)
    shift = _data_ptr(view_data) - _data_ptr(base_data)
    view_offsets = _element_offsets(view_data, shift)
    if base_data.flags.c_contiguous:
        return view_offsets // base_data.dtype.itemsize
    base_offsets = _element_offsets(base_data).reshape(-1)
    order = xp.argsort(base_offsets)
    found = xp.searchsorted(base_offsets[order], view_offsets)
    return order[found]


class CopySlices(Function):
    """The base after an in-place op on one of its views: ``base`` with ``result`` written
    at the view's positions. Gradient: the view part goes to ``result``, the rest to
    ``base``."""

    _array_io = True
    _node_name = "torch::autograd::CopySlices"

    @staticmethod
    def forward(ctx, base, result, positions):
        ctx.positions = positions
        out = xp_of(base).array(base, order="C")
        out.reshape(-1)[positions] = result
        return out

    @staticmethod
    def backward(ctx, grad):
        positions = ctx.positions
        grad_base = grad_result = None
        if ctx.needs_input_grad[0]:
            grad_base = CopySlices.apply(grad, 0.0, positions)
        if ctx.needs_input_grad[1]:
            grad_result = TakeFlat.apply(grad, positions)
        return grad_base, grad_result, None


class TakeFlat(Function):
    """``x.reshape(-1)[positions]``: how a rebased view reads its base."""

    _array_io = True
    _node_name = "AsStridedBackward0"

    @staticmethod
    def forward(ctx, x, positions):
        ctx.meta = (x.shape, positions)
        return xp_of(x).ascontiguousarray(x).reshape(-1)[positions]

    @staticmethod
    def backward(ctx, grad):
        shape, positions = ctx.meta
        return PutFlatZeros.apply(grad, shape, positions), None


class PutFlatZeros(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, grad, shape, positions):
        ctx.positions = positions
        xp = xp_of(grad)
        out = xp.zeros(int(np.prod(shape)), grad.dtype)
        xp.add.at(out, positions.reshape(-1), grad.reshape(-1))
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return TakeFlat.apply(grad, ctx.positions), None, None


def rebase_view(view, result):
    """In-place ``result`` into ``view`` (a view of a base), recording the write on the base
    as PyTorch's CopySlices does; the view then reads its new value from the base."""
    base = view._base
    check_view_inplace(view)
    if base._requires_grad and base.grad_fn is None and _grad_enabled[0]:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place "
            "operation."
        )
    check_cast(result._data.dtype, view._data.dtype)
    if view._data.dtype != base._data.dtype:  # a view(dtype): positions do not map
        from .complex import is_float_view_of_complex, rebase_part

        if is_float_view_of_complex(view):  # z.real / z.imag / view_as_real(z): they do
            return rebase_part(view, result)
        raise RuntimeError(
            "in-place operation with autograd on a view of a different dtype than its base "
            "is not supported"
        )
    positions = _view_positions(view._data, base._data)
    value = result
    if value._data.shape != view._data.shape:
        value = value.expand(view._data.shape)
    new_base = CopySlices.apply(base, value, positions)
    base._data[...] = new_base._data
    base._vc[0] += 1
    base._requires_grad = True
    base.grad_fn = new_base.grad_fn
    base._output_nr = new_base._output_nr
    return reread_view(view, positions)


def reread_view(view, positions=None):
    """Give ``view`` the history of reading its elements from its base's current value
    (PyTorch's regenerated ``AsStridedBackward0``): after an in-place write through this
    view, or through the base or another view since this view's history was recorded."""
    base = view._base
    if positions is None:
        if view._data.dtype != base._data.dtype:
            from .complex import is_float_view_of_complex, reread_part

            if is_float_view_of_complex(view):  # real/imag parts map onto (re, im) pairs
                return reread_part(view)
            return view  # a view(dtype): element positions do not map onto the base
        positions = _view_positions(view._data, base._data)
    reread = TakeFlat.apply(base, positions)
    view._requires_grad = True
    view.grad_fn = reread.grad_fn
    view._output_nr = 0
    view._view_vc = view._vc[0]
    return view


def commit_inplace(self, result):
    """Write an out-of-place ``result`` into ``self``; ``apply_inplace`` hands views of
    tracked tensors to ``rebase_view``."""
    return apply_inplace(self, result)


def _basic_key(index):
    """NumPy's key for ``index`` when it is an int, a forward slice, None, one Ellipsis or a
    tuple of those: NumPy's basic indexing then means exactly PyTorch's (a view). The key
    holds an Ellipsis, so a 0-d result is a view rather than a NumPy scalar. None for any
    other index (the general path)."""
    kind = type(index)
    if kind is int or index is None:
        return (index, Ellipsis)
    if kind is slice:
        step = index.step
        if step is None or (type(step) is int and step > 0):
            return (index, Ellipsis)
        return None
    if index is Ellipsis:
        return (index,)
    if kind is tuple:
        ellipsis = False
        for item in index:
            kind = type(item)
            if kind is int or item is None:
                continue
            if kind is slice:
                step = item.step
                if step is None or (type(step) is int and step > 0):
                    continue
                return None
            if item is Ellipsis and not ellipsis:  # PyTorch allows more; NumPy does not
                ellipsis = True
                continue
            return None
        return index if ellipsis else index + (Ellipsis,)
    return None


def _check_0d_index(index):
    """PyTorch's messages for a lone int or slice on a 0-d tensor."""
    if type(index) is int:
        raise IndexError(
            "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
            "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
        )
    if type(index) is slice:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")


def getitem(self, index):
    key = _basic_key(index)
    if key is not None:
        data = self._data
        requires_grad = self._requires_grad
        if requires_grad and _grad_enabled[0]:
            if data.ndim:  # the key is the index _convert_index builds for basic parts
                return view_of(GetItem.apply(self, key), self)
        else:
            # Nothing to record: index the array directly; errors take the general path.
            try:
                array = data[key]
            except IndexError:
                pass
            else:
                if data.ndim:
                    out = _make(array)
                    out._vc = self._vc
                    out._base = self._base if self._base is not None else self
                    out._view_vc = self._vc[0]
                    if requires_grad:  # a view made under no_grad
                        mark_no_grad_view(out, False)
                    return out
    if self._data.ndim == 0:
        _check_0d_index(index)
    parts, basic = _convert_index(index, self._data)
    out = GetItem.apply(self, parts)
    if basic:
        view_of(out, self)
    return out


def setitem(self, index, value):
    key = None if self._requires_grad else _basic_key(index)
    if key is not None and (self._base is None or not self._base._requires_grad):
        # Nothing tracked: a basic write straight into the array (what the general path
        # below ends in), for a Python number into a float tensor or a same-dtype tensor
        # that needs no grad. Errors take the general path for PyTorch's messages.
        data = self._data
        kind = type(value)
        if kind is float or kind is int:  # values no float dtype overflows (nor NaN)
            fast = data.dtype.char in "efd" and -65504.0 <= value <= 65504.0  # not float8
        else:
            fast = (kind is Tensor and not value._requires_grad
                    and value._data.dtype == data.dtype and type(value._data) is type(data))
        if fast:
            try:
                data[key] = value._data if kind is Tensor else value
            except (IndexError, ValueError):
                pass
            else:
                self._vc[0] += 1
                return
    if not isinstance(value, Tensor):
        check_value_type(self, value)
        value = checked_scalar(self._data.dtype, value)
    parts, basic = _convert_index(index, self._data)
    if self._view_creation is not None and _grad_enabled[0]:
        _check_setitem_on_no_grad_view(self, parts, basic)
    inplace_check(self)
    if isinstance(value, Tensor) and type(value._data) is not type(self._data):
        value = _value_on_device(self, value, basic)
    if isinstance(value, Tensor) and value._data.dtype != self._data.dtype:
        value = _setitem_cast(self, parts, basic, value)
    tracked = self._requires_grad or (self._base is not None and self._base._requires_grad)
    if _grad_enabled[0] and (tracked or (isinstance(value, Tensor) and value._requires_grad)):
        commit_inplace(self, (_SetSlices if basic else IndexPut).apply(self, value, parts, False))
        return
    data = value._data if isinstance(value, Tensor) else value
    target, rest = _target(self._data, parts)
    try:
        target[rest] = data
    except IndexError as exc:
        raise _index_error(exc, parts, self._data.shape) from None
    except ValueError as exc:
        raise _setitem_error(exc, target, rest, data, basic, self._data.dtype) from None
    self._vc[0] += 1


def _check_setitem_on_no_grad_view(view, parts, basic):
    """``view[index] = value`` in grad mode on a view made under no_grad or output by
    split/unbind: PyTorch writes through a view of the view for a basic index (naming
    that view's op), else into the view itself; both are errors."""
    step = _last_view_step(parts) if basic else "Alias"
    if step != "Alias" and view._view_creation == "multi-output":
        raise RuntimeError(
            f"Output 0 of {step} is a view and is being modified inplace. This view is the "
            "output of a function that returns multiple views. Such functions do not allow "
            "the output views to be modified inplace. You should replace the inplace "
            "operation by an out-of-place one.")
    if step != "Alias" and view._view_creation != "inference":
        raise RuntimeError(
            f"Output 0 of {step} is a view of a view which was created in no_grad mode and is "
            "being modified inplace with grad mode enabled. Given that this use case is "
            "ambiguous and error-prone, it is forbidden. You can clarify your code by moving "
            "both the view and the inplace either both inside the no_grad block (if you "
            "don't want the inplace to be tracked) or both outside (if you want the inplace "
            "to be tracked).")
    check_view_inplace(view)


def _index_on_device(array, data, xp):
    """PyTorch indexes a tensor on any device with cpu indices; device indices only index
    their own device."""
    from .._backend.device import device_of

    if type(array) is np.ndarray:
        return xp.asarray(array)
    if xp is np and device_of(array).type != "cpu":
        raise RuntimeError("indices should be either on cpu or on the same device as the "
                           "indexed tensor (cpu)")
    return array


def _value_on_device(self, value, basic):
    """A value from another device: basic writes copy it over (``copy_``), as do 0-d values
    (scalars); advanced writes (``index_put_``) need it on the tensor's device."""
    if value.device == self.device:
        return value
    if basic or value._data.ndim == 0:
        return value.to(self.device)
    raise RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, "
        f"{self.device} and {value.device}!")


def _setitem_cast(self, parts, basic, value):
    """PyTorch casts the value like ``copy_`` for basic indices and for a 0-d value under
    a single boolean mask (``masked_fill``); other advanced writes (``index_put_``) need
    matching dtypes."""
    real = [p for p in parts if p is not Ellipsis]
    single_mask = len(real) == 1 and hasattr(real[0], "dtype") and real[0].dtype.kind == "b"
    if basic or (single_mask and value._data.ndim == 0):
        return value.to(self.dtype)
    raise RuntimeError(
        "Index put requires the source and destination dtypes match, got "
        f"{type_name(self._data.dtype)} for the destination and "
        f"{type_name(value._data.dtype)} for the source."
    )


def view_dtype(self, dtype):
    from .._backend import to_dtype

    np_dtype = to_dtype(dtype).numpy_dtype
    source = self._data
    if np_dtype.itemsize != source.dtype.itemsize:
        if source.ndim == 0:
            raise RuntimeError(
                "self.dim() cannot be 0 to view " + type_name(source.dtype) + " as "
                + type_name(np_dtype) + " (different element sizes)"
            )
        if source.strides[-1] != source.dtype.itemsize and source.shape[-1] != 1:
            raise RuntimeError(
                "self.stride(-1) must be 1 to view " + type_name(source.dtype) + " as "
                + type_name(np_dtype) + " (different element sizes), but got "
                + str(source.strides[-1] // source.dtype.itemsize)
            )
        ratio = np_dtype.itemsize // source.dtype.itemsize
        if ratio > 1 and source.shape[-1] % ratio:
            raise RuntimeError(
                f"self.size(-1) must be divisible by {ratio} to view "
                + type_name(source.dtype) + " as " + type_name(np_dtype)
                + f" (different element sizes), but got {source.shape[-1]}"
            )
    return view_of(_make(source.view(np_dtype)), self)


from .index_ops import *  # noqa: E402,F401,F403 - gather/scatter/index_*/masked_* family
from . import index_ops as _family  # noqa: E402

__all__ = list(_family.__all__)

TENSOR_METHODS = {"__getitem__": getitem, "__setitem__": setitem, **_family.TENSOR_METHODS}
