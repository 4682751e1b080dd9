"""Shared machinery for the reductions: dims and shapes helpers, the named tuples they
return, and for ops that pick elements (max/min with dim, median, sort, topk, cummax,
...) one differentiable pair, take / put along a dim: the picked values are
``take_along_axis`` of the input at integer indices, so that pair gives all their
gradients, double backward included.
"""

from __future__ import annotations

import functools
from collections import namedtuple

import numpy as np

from ..autograd.function import Function
from ._util import _make, normalize_dims, xp_of


def _return_type(name, fields):
    """A named tuple printed as ``torch.return_types.<name>(...)``, as PyTorch's."""
    cls = namedtuple(name, fields)
    cls.__module__ = "ember.return_types"

    def __repr__(self):
        body = ",\n".join(f"{f}={getattr(self, f)!r}" for f in fields)
        return f"torch.return_types.{name}(\n{body})"

    cls.__repr__ = __repr__
    return cls


RETURN_TYPES = {
    name: _return_type(name, fields)
    for name, fields in [
        ("max", ("values", "indices")), ("min", ("values", "indices")),
        ("aminmax", ("min", "max")), ("cummax", ("values", "indices")),
        ("cummin", ("values", "indices")), ("median", ("values", "indices")),
        ("nanmedian", ("values", "indices")), ("mode", ("values", "indices")),
        ("kthvalue", ("values", "indices")), ("sort", ("values", "indices")),
        ("topk", ("values", "indices")),
    ]
}


def _along_index(indices, dim):
    """The advanced-index tuple that addresses ``indices`` along ``dim`` (open grids on
    the other dims), usable for both gathering and scattering."""
    xp = xp_of(indices)
    grids = list(xp.ix_(*[xp.arange(n) for n in indices.shape]))
    grids[dim] = indices
    return tuple(grids)


class TakeAlong(Function):
    """``take_along_axis(x, indices, dim)``, optionally squeezing ``dim`` (keepdim=False).
    ``indices`` is a constant integer array with x's rank."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, indices, dim, squeeze, accumulate):
        ctx.meta = (indices, dim, squeeze, accumulate, x.shape)
        out = xp_of(x).take_along_axis(x, indices, axis=dim)
        return out.reshape(out.shape[:dim] + out.shape[dim + 1:]) if squeeze else out

    @staticmethod
    def backward(ctx, grad):
        indices, dim, squeeze, accumulate, shape = ctx.meta
        grad_x = PutAlong.apply(grad, indices, dim, squeeze, accumulate, shape)
        return grad_x, None, None, None, None


class PutAlong(Function):
    """zeros(shape) with ``grad`` placed at ``indices`` along ``dim`` (summed where
    indices repeat, when ``accumulate``): TakeAlong's backward, and vice versa."""

    _array_io = True

    @staticmethod
    def forward(ctx, grad, indices, dim, squeeze, accumulate, shape):
        ctx.meta = (indices, dim, squeeze, accumulate)
        xp = xp_of(grad)
        if squeeze:
            grad = xp.expand_dims(grad, dim)
        out = xp.zeros(shape, grad.dtype)
        if out.size:
            index = _along_index(indices, dim)
            if accumulate:
                xp.add.at(out, index, grad)
            else:
                out[index] = grad
        return out

    @staticmethod
    def backward(ctx, grad):
        indices, dim, squeeze, accumulate = ctx.meta
        grad_grad = TakeAlong.apply(grad, indices, dim, squeeze, accumulate)
        return grad_grad, None, None, None, None, None


_NAMED: dict = {}


def named(cls, node_name):
    """``cls`` under PyTorch's graph-node name (``grad_fn=<MaxBackward0>``): one Function
    serves several public ops, and users read the op's own name in reprs."""
    key = (cls, node_name)
    sub = _NAMED.get(key)
    if sub is None:
        sub = _NAMED[key] = type(cls._op_name, (cls,), {"_node_name": node_name})
    return sub


def take_along(x, indices, dim, squeeze=False, accumulate=False, node_name="TakeAlongBackward0"):
    return named(TakeAlong, node_name).apply(x, indices, dim, squeeze, accumulate)


def write_out(result, out, op="op"):
    """Honour ``out=``: copy the result into the given tensor(s), resizing as PyTorch does
    (the copy is not recorded by autograd, as PyTorch forbids out= on tensors that
    require grad)."""
    if out is None:
        return result
    if isinstance(result, tuple):
        for target, value in zip(out, result):
            write_out(value, target, op)
        return type(result)(*out) if hasattr(result, "_fields") else tuple(out)
    if result._requires_grad or out._requires_grad:
        raise RuntimeError(
            f"{op}(): functions with out=... "
            "arguments don't support automatic differentiation, but one of the arguments "
            "requires grad."
        )
    data = result._data
    if out._data.shape != data.shape:
        out._data = data.astype(out._data.dtype, copy=True)
    else:
        out._data[...] = data
    out._vc[0] += 1
    return out


class Flip(Function):
    """Reverse one dim (used by reverse cumulative sums in backward formulas)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return xp_of(x).flip(x, axis=dim).copy()

    @staticmethod
    def backward(ctx, grad):
        return Flip.apply(grad, ctx.dim), None


def const(array, like=None):
    """A constant Tensor (no grad) from a backend array, cast to ``like``'s dtype."""
    if like is not None and array.dtype != like._data.dtype:
        array = array.astype(like._data.dtype)
    return _make(array)


def positions(n, dim, ndim, xp=np):
    """arange(n) shaped to broadcast along ``dim`` of an ``ndim``-rank array."""
    shape = [1] * ndim
    shape[dim] = n
    return xp.arange(n).reshape(shape)


def numpy_aliases(fn):
    """Accept NumPy's ``axis=``/``keepdims=`` for ``dim=``/``keepdim=``, as PyTorch does."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs:
            if "axis" in kwargs:
                kwargs["dim"] = kwargs.pop("axis")
            if "keepdims" in kwargs:
                kwargs["keepdim"] = kwargs.pop("keepdims")
        return fn(*args, **kwargs)

    return wrapper


# ---------------------------------------------------------------------------
# dims and shapes
# ---------------------------------------------------------------------------


def reduce_dims(dim, ndim):
    """Sorted non-negative dims to reduce; a 0-d tensor accepts dim 0/-1 and reduces
    nothing. ``dim=None`` or ``()`` means all dims."""
    dims = normalize_dims(dim, ndim)
    return dims if ndim else ()


def acc(x, kernel="sum_cpu"):
    """Half-precision inputs accumulate in float32, as PyTorch does; returns
    (array to reduce, dtype to cast the result back to or None). float8 inputs raise
    PyTorch's error for the reduction's ``kernel``: its CPU build has none for them."""
    dt = x.dtype
    if dt.itemsize <= 2 and dt.kind in "fV":  # float16, bfloat16 (cheaper than dtype.name)
        if dt.itemsize == 1:
            _refuse_float8(kernel, dt)
        return x.astype(np.float32), dt
    if dt.kind == "V":  # complex32: no reduction kernel either
        _refuse_float8(kernel, dt)
    return x, None


def _refuse_float8(kernel, dt):
    from .._backend.float8 import not_implemented, type_name

    if kernel == "std_var_all":
        raise RuntimeError(f"std_var_all: Unsupported dtype {type_name(dt)}")
    raise not_implemented(kernel, dt)


def axis_arg(dims, ndim):
    """NumPy's axis argument: None for a full reduction (NumPy's fast path)."""
    return None if len(dims) == ndim else dims


def keep_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def expand_grad(grad, input_shape, dims, keepdim):
    """Broadcast a reduced gradient back over the reduced dims."""
    if not keepdim and dims:
        grad = grad.reshape(keep_shape(input_shape, dims))
    return grad.expand(input_shape)


def reduced_numel(shape, dims):
    """How many elements each output element reduces."""
    count = 1
    for d in dims:
        count *= shape[d]
    return count


class Quiet:
    """Silence NumPy's invalid/divide warnings: PyTorch returns nan/inf silently."""

    def __enter__(self):
        self.state = np.seterr(all="ignore")

    def __exit__(self, *exc):
        np.seterr(**self.state)


def reduced_shape(shape, dims, keepdim):
    if keepdim:
        return keep_shape(shape, dims)
    return tuple(s for i, s in enumerate(shape) if i not in dims)
