"""gather/scatter, index_select/add/copy/fill, take,
take_along_dim, nonzero/argwhere, index_put and put (with their in-place variants).

Forwards are single NumPy/CuPy calls (``ufunc.at`` where indices may repeat, so
repeated indices accumulate); backwards are written with these same ops, so double
backward works. Re-exported through ``_ops/index.py``."""

from __future__ import annotations

import numpy as np

from .._backend.cupy_gaps import ufunc_at
from .._backend.float8 import refuse as refuse_float8
from .._backend import autocast_state
from ..autograd.function import Function
from ..autograd.function import trace_hook as _trace_hook
from ..autograd.grad_mode import _grad_enabled
from ._autocast import promote_in_autocast
from ._util import Tensor, _make, shape_str, wrap_dim, xp_of
from .masked_ops import (  # noqa: F401 - part of this family's API and TENSOR_METHODS
    MaskedFill, MaskedScatter, MaskedSelect, masked_fill, masked_scatter, masked_select,
)

_autocast = autocast_state.ACTIVE

_REDUCE_UFUNCS = {"sum": "add", "add": "add", "prod": "multiply", "multiply": "multiply",
                  "mean": "add", "amax": "maximum", "amin": "minimum"}


def _commit(self, result):
    from .index import commit_inplace

    return commit_inplace(self, result)


def _along(index, dim):
    """The advanced-index tuple addressing ``out[..., index[i, j, ...], ...]`` at ``dim``."""
    xp = xp_of(index)
    parts = []
    for d, size in enumerate(index.shape):
        if d == dim:
            parts.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = size
            parts.append(xp.arange(size).reshape(shape))
    return tuple(parts)


def _index_range(index):
    """(min, max) of a non-empty index array as ints (NumPy: the ufunc reductions
    directly, without ndarray.min/max's Python wrappers)."""
    if type(index) is np.ndarray:
        return int(np.minimum.reduce(index, None)), int(np.maximum.reduce(index, None))
    return int(index.min()), int(index.max())


def _unrecorded(input):
    """Whether ``input`` holds a NumPy array autograd records nothing for (no grad
    wanted, no autocast): the op's array result can be wrapped directly."""
    return (type(input._data) is np.ndarray and _autocast[0] is None
            and _trace_hook[0] is None  # forward AD and ONNX tracing see every op
            and not (input._requires_grad and _grad_enabled[0]))


def _check_bounds(index, size, dim, error=RuntimeError):
    if index.size:
        low, high = _index_range(index)
        bad = high if high >= size else (low if low < -size else None)
        if bad is not None:
            raise error(f"index {bad} is out of bounds for dimension {dim} with size {size}")


def _check_index_like(name, input, dim, index, src=None):
    """PyTorch's gather/scatter checks: an integer index of the input's rank, no larger
    than the input outside ``dim`` (and than ``src`` everywhere), indices in bounds."""
    if index.dtype not in (np.int64, np.int32):
        # PyTorch names scatter_add and scatter_reduce "scatter()" here
        op = "gather" if name == "gather" else "scatter"
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index")
    x_shape = input.shape if input.ndim else (1,)
    i_shape = index.shape if index.ndim else (1,)
    if len(i_shape) != len(x_shape):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    too_big = [d for d in range(len(i_shape)) if d != dim and i_shape[d] > x_shape[d]]
    if src is None:
        if too_big:
            raise RuntimeError(
                f"Size does not match at dimension {too_big[0]} expected index "
                f"{shape_str(i_shape)} to be no larger than self {shape_str(x_shape)} apart "
                f"from dimension {dim}"
            )
    elif too_big or (src.ndim and any(i > s for i, s in zip(i_shape, src.shape))):
        raise RuntimeError(
            f"Expected index {shape_str(i_shape)} to be no larger than self "
            f"{shape_str(x_shape)} apart from dimension {dim} and to be no larger size than src "
            f"{shape_str(src.shape)}"
        )
    _check_bounds(index, x_shape[dim], dim)


def _pad_to(grad, shape):
    """A gradient for a ``src`` larger than its index: zeros beyond the used block."""
    if shape is None or tuple(grad.shape) == tuple(shape) or not shape:
        return grad
    from .index import IndexPutZeros

    return IndexPutZeros.apply(grad, tuple(shape), tuple(slice(0, n) for n in grad.shape))


def _src_part(src, index):
    """The leading block of ``src`` that lines up with ``index`` (PyTorch reads only it)."""
    if not hasattr(src, "shape") or src.ndim == 0:
        return src
    return src[tuple(slice(0, n) for n in index.shape)]


def _gathered(x, dim, index):
    source = x.reshape(1) if x.ndim == 0 else x
    out = source[_along(index.reshape(index.shape or (1,)), dim)]
    return out.reshape(index.shape)


class Gather(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.meta = (x.shape, dim, index)
        return _gathered(x, dim, index)

    @staticmethod
    def backward(ctx, grad):
        shape, dim, index = ctx.meta
        return _ScatterAdd.apply(None, grad, shape, dim, index, "add", True), None, None


class ScatterInto(Function):
    """``x`` (or zeros(shape) when x is None) with ``src`` scattered at ``index`` along
    ``dim``: reduce None writes, "add"/"multiply" accumulate (scatter, scatter_add)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, src, shape, dim, index, reduce, scatter_add):
        ctx.meta = (dim, index, reduce, getattr(src, "shape", None))
        ctx.scatter_add = scatter_add
        xp = xp_of(index)
        shape = x.shape if x is not None else shape
        out = xp.zeros(shape, src.dtype) if x is None else x.copy()
        out = out.reshape(shape or (1,))  # 0-d tensors scatter as 1-element vectors
        flat_index = index.reshape(index.shape or (1,))
        where = _along(flat_index, dim)
        values = _src_part(src.reshape(src.shape or (1,)) if hasattr(src, "shape") and
                           src.ndim == 0 and flat_index.ndim else src, flat_index)
        if hasattr(values, "dtype") and values.dtype != out.dtype:
            values = values.astype(out.dtype)
        if reduce is None:
            out[where] = values
        else:
            ufunc_at(xp, _REDUCE_UFUNCS[reduce], out, where, values)
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        dim, index, reduce, src_shape = ctx.meta
        if reduce not in (None, "add") or (reduce == "add" and not ctx.scatter_add):
            raise RuntimeError("derivative for aten::scatter is not implemented")
        index_t = _make(index)
        grad_x = grad_src = None
        if ctx.needs_input_grad[0]:
            grad_x = grad if reduce == "add" else scatter(grad, dim, index_t, 0.0)
        if ctx.needs_input_grad[1]:
            grad_src = _pad_to(gather(grad, dim, index_t), src_shape)
        return grad_x, grad_src, None, None, None, None, None


# ScatterInto under PyTorch's node names, one per public overload
class _Scatter(ScatterInto):
    _node_name = "ScatterBackward0"  # src tensor


class _ScatterValue(ScatterInto):
    _node_name = "ScatterBackward1"  # src number


class _ScatterAdd(ScatterInto):
    _node_name = "ScatterAddBackward0"


class _ScatterReduceArg(ScatterInto):
    _node_name = "torch::autograd::NotImplemented"  # scatter(..., reduce=): no derivative


def gather(input, dim, index, *, sparse_grad=False, out=None):
    refuse_float8("gather_expanded_index", input)
    dim = wrap_dim(dim, input._data.ndim)
    _check_index_like("gather", input._data, dim, index._data)
    if _unrecorded(input):
        return _make(_gathered(input._data, dim, index._data))
    return Gather.apply(input, dim, index._data)


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    refuse_float8("scatter_gather_tensor_cpu", input)
    if src is None and value is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src
    dim = wrap_dim(dim, input._data.ndim)
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
    if src is not None:
        if src._data.dtype != input._data.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        _check_index_like("scatter", input._data, dim, index._data, src._data)
        node = _Scatter if reduce is None else _ScatterReduceArg
        return node.apply(input, src, None, dim, index._data, reduce, False)
    _check_index_like("scatter", input._data, dim, index._data)
    if isinstance(value, Tensor):
        value = value.item()
    node = _ScatterValue if reduce is None else _ScatterReduceArg
    return node.apply(input, value, None, dim, index._data, reduce, False)


def scatter_add(input, dim, index, src):
    dim = wrap_dim(dim, input._data.ndim)
    if src._data.dtype != input._data.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    _check_index_like("scatter_add", input._data, dim, index._data, src._data)
    return _ScatterAdd.apply(input, src, None, dim, index._data, "add", True)


class ScatterReduce(Function):
    """scatter_reduce: sum, prod, mean, amax, amin, with or without ``input``'s values."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, src, dim, index, reduce, include_self):
        xp = xp_of(x)
        out = x.reshape(x.shape or (1,)).copy()
        flat_index = index.reshape(index.shape or (1,))
        where = _along(flat_index, dim)
        values = _src_part(src.reshape(src.shape or (1,)), flat_index)
        hit = xp.zeros(out.shape, np.int64)
        xp.add.at(hit, where, 1)
        if not include_self:
            out[where] = _identity(reduce, out.dtype)
        ufunc_at(xp, _REDUCE_UFUNCS[reduce], out, where, values)
        count = hit + (1 if include_self else 0)
        if reduce == "mean":
            safe = xp.maximum(count, 1).astype(out.dtype)
            out = xp.where(hit > 0, out // safe if out.dtype.kind in "iub" else out / safe, out)
            out = out.astype(x.dtype)
        ctx.meta = (x.shape, dim, index, reduce, include_self, hit > 0, count)
        out = out.reshape(x.shape)
        ctx.save_for_backward(x, src, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        shape, dim, index, reduce, include_self, hit, count = ctx.meta
        x, src, result = ctx.saved_tensors
        index_t = _make(index)
        hit_t = _make(hit.reshape(shape))
        if reduce == "sum":
            grad_x = grad
            grad_src = gather(grad, dim, index_t)
        elif reduce == "mean":
            safe_count = xp_of(count).maximum(count, 1).reshape(shape)
            grad_x = grad / _make(safe_count.astype(grad._data.dtype))
            grad_src = gather(grad_x, dim, index_t)
        elif reduce in ("amax", "amin"):
            # PyTorch's rule: ties share the gradient evenly (input counted even when excluded)
            x_tie = x == result
            src_tie = src == gather(result, dim, index_t)
            ties = x_tie.to(grad.dtype).scatter_add(dim, index_t, src_tie.to(grad.dtype))
            share = grad / ties
            grad_x = share.masked_fill(~x_tie, 0)
            grad_src = gather(share, dim, index_t).masked_fill(~src_tie, 0)
        else:
            grad_x, grad_src = _prod_grads(grad, x, src, dim, index_t, include_self, hit_t)
        if not include_self:
            grad_x = grad_x.masked_fill(hit_t, 0)
        grad_src = _pad_to(grad_src, src.shape)
        return grad_x, grad_src, None, None, None, None


def _prod_grads(grad, x, src, dim, index_t, include_self, hit_t):
    """Gradient of a scatter product: the product of the other members of each group,
    counted without division so zeros are handled exactly."""
    x_zero, src_zero = x == 0, src == 0
    x_nonzero = x.masked_fill(x_zero, 1)
    if not include_self:
        x_nonzero = x_nonzero.masked_fill(hit_t, 1)
        x_zero = x_zero & ~hit_t
    src_nonzero = src.masked_fill(src_zero, 1)
    product = scatter_reduce(x_nonzero, dim, index_t, src_nonzero, "prod")
    zeros = x_zero.to(grad.dtype).scatter_add(dim, index_t, src_zero.to(grad.dtype))
    grad_product = grad * product

    def others(own_zero, own_nonzero, group_zeros, group_grad):
        no_zero = group_grad / own_nonzero
        no_zero = no_zero.masked_fill(group_zeros != 0, 0)
        one_zero = group_grad.masked_fill(group_zeros != 1, 0)
        from .pointwise import where

        return where(own_zero, one_zero, no_zero)

    grad_x = others(x_zero, x_nonzero, zeros, grad_product)
    grad_src = others(src_zero, src_nonzero, gather(zeros, dim, index_t),
                      gather(grad_product, dim, index_t))
    return grad_x, grad_src


def _identity(reduce, np_dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if np_dtype.kind == "f" or np_dtype.kind == "V":
        return -np.inf if reduce == "amax" else np.inf
    if np_dtype.kind == "b":
        return reduce == "amin"
    info = np.iinfo(np_dtype)
    return info.min if reduce == "amax" else info.max


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    dim = wrap_dim(dim, input._data.ndim)
    if src._data.dtype != input._data.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    _check_index_like("scatter_reduce", input._data, dim, index._data, src._data)
    return ScatterReduce.apply(input, src, dim, index._data, reduce, bool(include_self))


# -- index_* along one dim ------------------------------------------------------------------


def _vector_index(name, input, dim, index):
    data = index._data
    if data.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    if data.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int32 or int64 for index")
    return data.reshape(-1)


def _selected(x, dim, index):
    return x.take(index, axis=dim) if x.ndim else x.reshape(1)[index].reshape(())


class IndexSelect(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.meta = (x.shape, dim, index)
        return _selected(x, dim, index)

    @staticmethod
    def backward(ctx, grad):
        shape, dim, index = ctx.meta
        return IndexAddInto.apply(None, grad, shape, dim, index, 1), None, None


class IndexAddInto(Function):
    """``x`` (or zeros(shape)) with ``alpha * src`` added at ``index`` along ``dim``."""

    _array_io = True
    _node_name = "IndexAddBackward0"

    @staticmethod
    def forward(ctx, x, src, shape, dim, index, alpha):
        ctx.meta = (dim, index, alpha)
        xp = xp_of(index)
        shape = x.shape if x is not None else shape
        out = (xp.zeros(shape, src.dtype) if x is None else x.copy()).reshape(shape or (1,))
        values = src * alpha if alpha != 1 else src
        values = values.astype(out.dtype, copy=False).reshape(values.shape or (1,))
        xp.add.at(out, (slice(None),) * dim + (index,), values)
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        dim, index, alpha = ctx.meta
        grad_src = None
        if ctx.needs_input_grad[1]:
            grad_src = IndexSelect.apply(grad, dim, index)
            if alpha != 1:
                grad_src = grad_src * alpha
        return grad, grad_src, None, None, None, None


def index_select(input, dim, index, *, out=None):
    dim = wrap_dim(dim, input._data.ndim)
    data = _vector_index("index_select", input, dim, index)
    size = input._data.shape[dim] if input._data.ndim else 1
    if data.size:
        low, high = _index_range(data)
        if high >= size or low < -size:
            raise IndexError("index out of range in self")
    if _unrecorded(input):
        if type(input) is not Tensor and input.is_quantized:  # keeps its quantizer
            return input.index_select(dim, index)
        return _make(_selected(input._data, dim, data))
    return IndexSelect.apply(input, dim, data)


def index_add(input, dim, index, source, *, alpha=1):
    refuse_float8("index_add_", input)
    dim = wrap_dim(dim, input._data.ndim)
    data = _vector_index("index_add_", input, dim, index)
    src_size = source._data.shape[dim] if source._data.ndim else 1
    if data.size != src_size:
        raise RuntimeError(
            f"index_add_(): Number of indices ({data.size}) should be equal to "
            f"source.size(dim): ({src_size}), for dim: {dim}"
        )
    _check_bounds(data, input._data.shape[dim], dim)
    return IndexAddInto.apply(input, source, None, dim, data, alpha)


class IndexWrite(Function):
    """index_copy (``src`` a tensor) and index_fill (``src`` a scalar or 0-d tensor)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, src, dim, index):
        ctx.meta = (dim, index, hasattr(src, "ndim") and src.ndim == 0)
        out = x.copy()
        out[(slice(None),) * dim + (index,)] = src
        return out

    @staticmethod
    def backward(ctx, grad):
        dim, index, scalar_src = ctx.meta
        grad_x = IndexWrite.apply(grad, 0.0, dim, index) if ctx.needs_input_grad[0] else None
        grad_src = None
        if ctx.needs_input_grad[1]:
            grad_src = IndexSelect.apply(grad, dim, index)
            if scalar_src:
                from .reduce import sum as _sum

                grad_src = _sum(grad_src)
        return grad_x, grad_src, None, None


@promote_in_autocast  # torch's cpu autocast promote list
def index_copy(input, dim, index, source):
    dim = wrap_dim(dim, input._data.ndim)
    data = _vector_index("index_copy_", input, dim, index)
    _check_bounds(data, input._data.shape[dim], dim, IndexError)
    return IndexWrite.apply(input, source, dim, data)


def index_fill(input, dim, index, value):
    dim = wrap_dim(dim, input._data.ndim)
    data = _vector_index("index_fill_", input, dim, index)
    _check_bounds(data, input._data.shape[dim], dim, IndexError)
    return IndexWrite.apply(input, value, dim, data)


# -- flat and dim-wise takes, nonzero, index_put, put ------------------------------------------


def take(input, index):
    size = input._data.size
    data = index._data
    if data.size and (int(data.max()) >= size or int(data.min()) < -size):
        bad = int(data.max()) if int(data.max()) >= size else int(data.min())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {size} "
                         "elements.")
    from .index import getitem

    return getitem(input.reshape(-1), index)


def take_along_dim(input, indices, dim=None, *, out=None):
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    ndim = input._data.ndim
    dim = wrap_dim(dim, ndim)
    if indices._data.ndim != ndim:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {ndim} dimensions for input, and {indices._data.ndim} "
            "dimensions for indices"
        )
    in_shape = list(input._data.shape)
    ix_shape = list(indices._data.shape)
    target_in, target_ix = list(in_shape), list(ix_shape)
    for d in range(ndim):
        if d != dim:
            size = max(in_shape[d], ix_shape[d]) if 1 in (in_shape[d], ix_shape[d]) or \
                in_shape[d] == ix_shape[d] else None
            if size is None:
                raise RuntimeError(
                    f"The size of tensor a ({in_shape[d]}) must match the size of tensor b "
                    f"({ix_shape[d]}) at non-singleton dimension {d}"
                )
            target_in[d] = target_ix[d] = size
    return gather(input.expand(target_in), dim, indices.expand(target_ix))


def nonzero(input, *, out=None, as_tuple=False):
    refuse_float8("nonzero_count_cpu", input)
    data = input._data
    xp = xp_of(data)
    found = xp.nonzero(data.reshape(1) if data.ndim == 0 else data)
    if as_tuple:
        return tuple(_make(f.astype(np.int64)) for f in found)
    if data.ndim == 0:
        return _make(xp.zeros((found[0].size, 0), np.int64))
    return _make(xp.stack(found, axis=1).astype(np.int64) if found else
                 xp.zeros((0, 0), np.int64))


def argwhere(input):
    return nonzero(input)


def index_put(input, indices, values, accumulate=False):
    from .index import IndexPut, _convert_index

    parts, _ = _convert_index(tuple(indices), input._data)
    if not isinstance(values, Tensor):
        values = _make(xp_of(input._data).asarray(values, input._data.dtype))
    elif values._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"Index put requires the source and destination dtypes match, got "
            f"{_legacy(input)} for the destination and {_legacy(values)} for the source."
        )
    return IndexPut.apply(input, values, parts, bool(accumulate))


def _legacy(tensor):
    from ._util import type_name

    return type_name(tensor._data.dtype)


def put(input, index, source, accumulate=False):
    if index._data.size != source._data.size:
        raise IndexError(
            "put_(): Expected source and index to have the same number of elements, but got "
            f"source.numel() = {source._data.size}, index.numel() = {index._data.size}"
        )
    take(input, index)  # bounds check with PyTorch's message
    flat = index_put(input.reshape(-1), (index.reshape(-1),), source.reshape(-1), accumulate)
    return flat.reshape(input._data.shape)


def _inplace(fn, saves_input=False):
    def method(self, *args, **kwargs):
        from ..autograd.grad_mode import _grad_enabled

        source = self
        if saves_input and _grad_enabled[0]:
            source = self.clone()  # the op saves its input, which the write would modify
        return _commit(self, fn(source, *args, **kwargs))

    method.__name__ = fn.__name__ + "_"
    return method


__all__ = [
    "gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
    "index_copy", "index_fill", "masked_fill", "masked_scatter", "masked_select", "take",
    "take_along_dim", "nonzero", "argwhere", "index_put",
]

TENSOR_METHODS = {
    "gather": gather, "scatter": scatter, "scatter_add": scatter_add,
    "scatter_reduce": scatter_reduce, "index_select": index_select, "index_add": index_add,
    "index_copy": index_copy, "index_fill": index_fill, "masked_fill": masked_fill,
    "masked_scatter": masked_scatter, "masked_select": masked_select, "take": take,
    "take_along_dim": take_along_dim, "nonzero": nonzero, "argwhere": argwhere,
    "index_put": index_put, "put": put,
}
TENSOR_METHODS.update({
    name + "_": _inplace(TENSOR_METHODS[name], name == "scatter_reduce")
    for name in ("scatter", "scatter_add", "scatter_reduce", "index_add", "index_copy",
                 "index_fill", "masked_fill", "masked_scatter", "index_put", "put")
})
