"""Reductions: sum, mean, prod, max/min, std/var, norm, logsumexp, all/any, ...

Each takes ``dim`` (int or tuple where PyTorch does), ``keepdim`` and ``dtype`` as
PyTorch has them, and gives PyTorch's output dtypes (sum of bool/int is int64, argmax is
int64, mean of an integer tensor raises). Backward formulas are written with Tensor ops,
so double backward works. Cumulative ops (cumsum, ...) live in ``_cumulative.py``,
``norm`` in ``_vector_norm.py``; both are exported from here.
"""

from __future__ import annotations

import builtins
import math
import warnings

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._cumulative import cummax, cummin, cumprod, cumsum, exclusive_cumprod
from ._select import (
    RETURN_TYPES, Flip, Quiet, acc, axis_arg, const, expand_grad, keep_shape, named,
    numpy_aliases, reduce_dims, reduced_numel, reduced_shape, take_along, write_out,
)
from .._backend.float8 import FLOAT8_NP
from .._backend.float8 import refuse as refuse_float8
from .._complex32 import widen
from ._util import Tensor, _make, np_dtype_of, type_name, xp_of
from ._vector_norm import norm



# ---------------------------------------------------------------------------
# sum, mean, nansum, nanmean
# ---------------------------------------------------------------------------


_add_reduce = np.add.reduce
_max_reduce = np.maximum.reduce
_min_reduce = np.minimum.reduce


def _plain_float(input, x):
    """Whether ``input`` (array ``x``) is a float32/float64 NumPy tensor with nothing to
    record: its reductions then are the NumPy ufunc's alone (no Function, no dtype cast)."""
    return (type(x) is np.ndarray and x.dtype.kind == "f" and x.dtype.itemsize >= 4
            and not (input._requires_grad and _grad_enabled[0]))


class Sum(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype):
        ctx.meta = (x.shape, dims, keepdim)
        if np_dtype is None and x.dtype.kind in "biu":
            np_dtype = np.dtype(np.int64)
        if np_dtype is not None and np_dtype != x.dtype:
            x = x.astype(np_dtype)
        x, back = acc(x)
        # integers sum in their own type (NumPy would widen int8..int32 to int64/uint64)
        keep = x.dtype if x.dtype.kind in "iu" else None
        if type(x) is np.ndarray:  # the ufunc itself, without ndarray.sum's Python layer
            out = _add_reduce(x, axis_arg(dims, x.ndim), keep, None, keepdim)
        else:
            out = x.sum(axis=axis_arg(dims, x.ndim), dtype=keep, keepdims=keepdim)
        return out.astype(back) if back is not None else out

    @staticmethod
    def backward(ctx, grad):
        shape, dims, keepdim = ctx.meta
        return expand_grad(grad, shape, dims, keepdim), None, None, None

    @staticmethod
    def _array_backward(ctx, grad):
        shape, dims, keepdim = ctx.meta
        if not keepdim and dims:
            grad = grad.reshape(keep_shape(shape, dims))
        return xp_of(grad).broadcast_to(grad, shape), None, None, None


class Mean(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype):
        if np_dtype is None and x.dtype.kind not in "fcV":
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {type_name(x.dtype)}"
            )
        count = reduced_numel(x.shape, dims)
        ctx.meta = (x.shape, dims, keepdim, count)
        if np_dtype is not None and np_dtype != x.dtype:
            x = x.astype(np_dtype)
        x, back = acc(x)
        # sum / count: what ndarray.mean does, minus its Python-level overhead.
        if type(x) is np.ndarray:
            out = _add_reduce(x, axis_arg(dims, x.ndim), None, None, keepdim)
        else:
            out = x.sum(axis=axis_arg(dims, x.ndim), keepdims=keepdim)
        if count:
            out = out / count
        else:  # PyTorch quietly gives nan for an empty mean
            out = xp_of(x).full(xp_of(x).shape(out), np.nan, out.dtype)
        return out.astype(back) if back is not None else out

    @staticmethod
    def backward(ctx, grad):
        shape, dims, keepdim, count = ctx.meta
        return expand_grad(grad, shape, dims, keepdim) / count, None, None, None


_MEAN_DIM = named(Mean, "MeanBackward1")  # mean over given dims, as PyTorch names it


class NanSum(Function):
    """Sum treating NaN as zero; NaN positions get zero gradient."""

    _array_io = True
    _node_name = "NansumBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype, mean):
        xp = xp_of(x)
        if x.dtype.kind == "c":
            raise RuntimeError("nansum on CPU does not support complex inputs")
        if mean and x.dtype.kind not in "fcV":
            raise RuntimeError(
                "nanmean(): expected input to have floating point or complex dtype but got "
                f"{type_name(x.dtype)}"
            )
        if np_dtype is None and x.dtype.kind in "biu":
            np_dtype = np.dtype(np.int64)
        if np_dtype is not None and np_dtype != x.dtype:
            x = x.astype(np_dtype)
        x, back = acc(x, "nansum_cpu")
        valid = ~xp.isnan(x) if x.dtype.kind in "fc" else xp.ones(x.shape, bool)
        out = xp.where(valid, x, 0).sum(axis=dims, keepdims=keepdim)
        count = None
        if mean:
            count = valid.sum(axis=dims, keepdims=True)
            with Quiet():
                out = out / (count if keepdim else count.reshape(out.shape))
        ctx.meta = (x.shape, dims, keepdim, valid, count)
        return out.astype(back if back is not None else x.dtype)

    @staticmethod
    def backward(ctx, grad):
        shape, dims, keepdim, valid, count = ctx.meta
        weight = valid if count is None else valid / xp_of(valid).maximum(count, 1)
        grad_x = expand_grad(grad, shape, dims, keepdim) * const(weight, grad)
        return grad_x, None, None, None, None


_ALL_DIMS = tuple(tuple(range(ndim)) for ndim in range(9))


def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):  # noqa: A001 - PyTorch's name
    """Sum over ``dim`` (int, tuple, or all dims). Bool and integer inputs sum to int64,
    as PyTorch (NumPy would keep int32); ``dtype`` casts before summing.

    Example::

        >>> ember.tensor([[1, 2], [3, 4]]).sum(0)
        tensor([4, 6])
    """
    x = input._data
    if dtype is None and out is None and _plain_float(input, x):
        # nothing to record: the reduction alone
        axis = None if dim is None else axis_arg(reduce_dims(dim, x.ndim), x.ndim)
        return _make(_add_reduce(x, axis, None, None, keepdim))
    if dim is None and dtype is None and out is None:
        # the common full sum: no dim normalisation, no dtype lookup
        ndim = x.ndim
        dims = _ALL_DIMS[ndim] if ndim < len(_ALL_DIMS) else tuple(range(ndim))
        return Sum.apply(input, dims, keepdim, None)
    fn = Sum if dim is None else named(Sum, "SumBackward1")
    result = fn.apply(input, reduce_dims(dim, input._data.ndim), keepdim, np_dtype_of(dtype))
    return write_out(result, out, "sum")


def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Mean over ``dim``. Integer inputs raise unless ``dtype`` gives a float type (PyTorch
    never silently picks one); the mean of nothing is nan."""
    x = input._data
    if dtype is None and out is None and _plain_float(input, x):
        dims = reduce_dims(dim, x.ndim)
        count = reduced_numel(x.shape, dims)
        if count:  # nothing to record: sum / count, as Mean's forward
            return _make(_add_reduce(x, axis_arg(dims, x.ndim), None, None, keepdim) / count)
    fn = Mean if dim is None else _MEAN_DIM
    result = fn.apply(input, reduce_dims(dim, input._data.ndim), keepdim, np_dtype_of(dtype))
    return write_out(result, out, "mean")


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum treating NaN as zero; NaN positions receive zero gradient."""
    dims = reduce_dims(dim, input._data.ndim)
    return NanSum.apply(input, dims, keepdim, np_dtype_of(dtype), False)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean of the non-NaN elements (nan where a slice has none)."""
    dims = reduce_dims(dim, input._data.ndim)
    return NanSum.apply(input, dims, keepdim, np_dtype_of(dtype), True)


# ---------------------------------------------------------------------------
# prod (single dim or all)
# ---------------------------------------------------------------------------


class Prod(Function):
    """Product over one dim (or all, flattened). Backward: product of the other elements,
    exact with zeros (one zero in a slice: only it gets a gradient; two: none)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, dim, keepdim, np_dtype):
        ctx.save_for_backward(x)
        ctx.meta = (dim, keepdim)
        if np_dtype is None and x.dtype.kind in "biu":
            np_dtype = np.dtype(np.int64)
        if np_dtype is not None and np_dtype != x.dtype:
            x = x.astype(np_dtype)
        xp = xp_of(x)
        x, back = acc(x, "prod_out_cpu")
        if dim is None:
            out = xp.prod(x)
        else:
            out = xp.prod(x, axis=dim, keepdims=keepdim)
        return out.astype(back) if back is not None else out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        dim, keepdim = ctx.meta
        if x._data.dtype.kind == "c":  # holomorphic: grad * conj(product of the others)
            x = x.conj_physical()
        if dim is None:
            flat = x.reshape(-1)
            others = _prod_of_others(flat, 0)
            return grad * others.reshape(x.shape), None, None, None
        if not keepdim:
            grad = grad.unsqueeze(dim)
        return grad * _prod_of_others(x, dim), None, None, None


def _prod_of_others(x, dim):
    """For each element, the product of the other elements of its slice along ``dim``,
    written with Tensor ops (so prod has a second derivative). Without zeros that is
    prod / x; with zeros, the exclusive running products from the left and the right."""
    if not (x._data == 0).any():
        return Prod.apply(x, dim, True, None) / x
    left = exclusive_cumprod(x, dim)
    right = Flip.apply(exclusive_cumprod(Flip.apply(x, dim), dim), dim)
    return left * right


def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product over one ``dim`` or all elements. The gradient is the product of the other
    elements, exact when the input holds zeros (no division by x)."""
    np_dtype = np_dtype_of(dtype)
    if dim is None:
        return Prod.apply(input, None, False, np_dtype)
    fn = named(Prod, "ProdBackward1")
    if input._data.ndim == 0:
        reduce_dims(dim, 0)
        return fn.apply(input, None, False, np_dtype)
    return fn.apply(input, reduce_dims(dim, input._data.ndim)[0], keepdim, np_dtype)


# ---------------------------------------------------------------------------
# max / min / amax / amin / aminmax / argmax / argmin
# ---------------------------------------------------------------------------


def _check_nonempty(name, shape, dims, all_dims):
    """PyTorch's errors for reducing over an empty dim without identity."""
    if 0 not in shape:  # the common case, without the generator below
        return
    if not builtins.any(shape[d] == 0 for d in dims) and not (all_dims and 0 in shape):
        return
    if all_dims:
        if name in ("argmax", "argmin"):
            raise IndexError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
            )
        raise RuntimeError(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        )
    first = next(d for d in dims if shape[d] == 0)
    raise IndexError(f"{name}(): Expected reduction dim {first} to have non-zero size.")


def _all_dims(dim):
    """dim=None, () or [] reduces everything (amax/amin's defaults)."""
    return dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0)


class Extreme(Function):
    """amax/amin over dims; the gradient is split evenly among tied extremes."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, largest):
        if not ctx.needs_input_grad[0]:
            return (x.max if largest else x.min)(axis=axis_arg(dims, x.ndim), keepdims=keepdim)
        xp = xp_of(x)
        out = (xp.amax if largest else xp.amin)(x, axis=dims, keepdims=True)
        ctx.meta = (x.shape, dims, keepdim)
        tied = x == out
        ctx.weight = tied / tied.sum(axis=dims, keepdims=True)
        return out if keepdim else out.reshape(reduced_shape(x.shape, dims, False))

    @staticmethod
    def backward(ctx, grad):
        shape, dims, keepdim = ctx.meta
        return expand_grad(grad, shape, dims, keepdim) * const(ctx.weight, grad), None, None, None


def amax(input, dim=(), keepdim=False, *, out=None):
    """Maximum over ``dim`` (tuple allowed). Tied maxima share the gradient equally."""
    dims = reduce_dims(dim, input._data.ndim)
    _refuse_complex(input, "max_values_cpu")
    _check_nonempty("amax", input._data.shape, dims, _all_dims(dim))
    result = named(Extreme, "AmaxBackward0").apply(input, dims, keepdim, True)
    return write_out(result, out, "amax")


def amin(input, dim=(), keepdim=False, *, out=None):
    """Minimum over ``dim`` (tuple allowed). Tied minima share the gradient equally."""
    dims = reduce_dims(dim, input._data.ndim)
    _refuse_complex(input, "min_values_cpu")
    _check_nonempty("amin", input._data.shape, dims, _all_dims(dim))
    result = named(Extreme, "AminBackward0").apply(input, dims, keepdim, False)
    return write_out(result, out, "amin")


def _refuse_complex(input, kernel):
    """Orderings (max, min, argmax, ...) are undefined for complex numbers: PyTorch's
    error instead of NumPy's lexicographic order. PyTorch's CPU build has no ordering
    kernel for the float8 types either."""
    np_dtype = input._data.dtype
    if np_dtype.kind == "c" or (np_dtype.itemsize == 1 and np_dtype in FLOAT8_NP):
        raise NotImplementedError(
            f'"{kernel}" not implemented for \'{type_name(np_dtype)}\'')


def _arg_extreme(x, dim, largest):
    """Index of the first extreme along ``dim`` (NaN counts as the extreme), keepdims."""
    if x.dtype.kind == "b":
        x = x.view(np.uint8)
    # the array's method: np.argmax's Python wrapper costs more than a small argmax
    return (x.argmax if largest else x.argmin)(axis=dim, keepdims=True)


def _select_along(name, input, dim, keepdim, largest):
    """(values, indices) of max/min along one dim as ``torch.return_types``."""
    if input._data.ndim == 0:
        reduce_dims(dim, 0)
        values, indices = _select_along(name, input.reshape(1), 0, False, largest)
        return RETURN_TYPES[name](values, indices)
    d = reduce_dims(dim, input._data.ndim)[0]
    _check_nonempty(name, input._data.shape, (d,), False)
    x = input._data
    indices = _arg_extreme(x, d, largest)
    if input._requires_grad and _grad_enabled[0]:
        node = "MaxBackward0" if largest else "MinBackward0"
        values = take_along(input, indices, d, squeeze=not keepdim, node_name=node)
    elif type(x) is np.ndarray:  # nothing to record: the ufunc is cheaper than gathering
        if type(input) is not Tensor and input.is_quantized:  # keeps its quantizer
            return getattr(input, name)(dim, keepdim)
        values = _make((_max_reduce if largest else _min_reduce)(x, d, None, None, keepdim))
    else:
        values = _make((x.max if largest else x.min)(axis=d, keepdims=keepdim))
    if not keepdim:
        indices = indices.reshape(values._data.shape)
    return RETURN_TYPES[name](values, _make(indices.astype(np.int64, copy=False)))


def _max_min(name, input, dim, keepdim, other):
    if isinstance(dim, Tensor):
        dim, other = None, dim
    if other is not None:
        from . import pointwise

        return getattr(pointwise, "maximum" if name == "max" else "minimum")(input, other)
    refuse_float8(f"{name}_all" if dim is None else f"{name}_cpu", input)
    if input._data.dtype.kind == "c":
        if dim is None:
            _refuse_complex(input, f"{name}_all")
        raise RuntimeError(f"{name}(): does not support complex input")
    if dim is None:
        if keepdim:
            raise TypeError(f"{name}() received an invalid combination of arguments")
        x = input._data
        if (type(x) is np.ndarray and x.size and x.dtype.kind != "V"
                and not (input._requires_grad and _grad_enabled[0])):
            if type(input) is not Tensor and input.is_quantized:  # keeps its quantizer
                return getattr(input, name)()
            # nothing to record: the reduction alone (Extreme's no-grad forward)
            return _make((_max_reduce if name == "max" else _min_reduce)(x, None))
        dims = tuple(range(input._data.ndim))
        _check_nonempty(name, input._data.shape, dims, True)
        node = "MaxBackward1" if name == "max" else "MinBackward1"
        return named(Extreme, node).apply(input, dims, False, name == "max")
    return _select_along(name, input, dim, keepdim, name == "max")


def max(input, dim=None, keepdim=False, *, other=None, out=None):  # noqa: A001
    """``max(input)`` (full reduction), ``max(input, dim, keepdim)`` (values, indices) or
    ``max(input, other)`` (elementwise maximum)."""
    return write_out(_max_min("max", input, dim, keepdim, other), out, "max")


def min(input, dim=None, keepdim=False, *, other=None, out=None):  # noqa: A001
    return write_out(_max_min("min", input, dim, keepdim, other), out, "min")


def aminmax(input, *, dim=None, keepdim=False):
    """``(min, max)`` as a named tuple, in one call."""
    name = "aminmax"
    _refuse_complex(input, "aminmax_cpu")
    shape = input._data.shape
    dims = reduce_dims(dim, input._data.ndim)
    if dim is not None and input._data.ndim and shape[dims[0]] == 0:
        raise IndexError(f"aminmax: Expected reduction dim {dims[0]} to have non-zero size.")
    if dim is None and 0 in shape:
        raise RuntimeError(
            "aminmax(): cannot compute aminmax over an empty dimension as the operation has "
            "no identity."
        )
    if dim is None and keepdim:
        dims = tuple(range(len(shape)))
    fn = named(Extreme, "AminmaxBackward0")
    return RETURN_TYPES[name](fn.apply(input, dims, keepdim, False),
                              fn.apply(input, dims, keepdim, True))


def _argmax_min(name, input, dim, keepdim, largest):
    x = input._data
    refuse_float8(f"{name}_cpu", input)
    if x.dtype.kind in "bc":
        kind = "bool" if x.dtype.kind == "b" else "complex"
        raise RuntimeError(f"{name}(): does not support {kind} input")
    if dim is None:
        _check_nonempty(name, x.shape, tuple(range(x.ndim)), True)
        index = _arg_extreme(x.reshape(-1), 0, largest).reshape(())
        if keepdim:
            index = index.reshape((1,) * x.ndim)
        return _make(index.astype(np.int64, copy=False))
    if x.ndim == 0:
        reduce_dims(dim, 0)
        return _make(xp_of(x).zeros((), np.int64))
    d = reduce_dims(dim, x.ndim)[0]
    _check_nonempty(name, x.shape, (d,), False)
    index = _arg_extreme(x, d, largest)
    if not keepdim:
        index = index.reshape(x.shape[:d] + x.shape[d + 1:])
    return _make(index.astype(np.int64, copy=False))


def argmax(input, dim=None, keepdim=False):
    """Index (int64) of the first maximum along ``dim``, or in the flattened input."""
    return _argmax_min("argmax", input, dim, keepdim, True)


def argmin(input, dim=None, keepdim=False):
    """Index (int64) of the first minimum along ``dim``, or in the flattened input."""
    return _argmax_min("argmin", input, dim, keepdim, False)


# ---------------------------------------------------------------------------
# var / std and their _mean variants
# ---------------------------------------------------------------------------


class Var(Function):
    """Variance (``std=False``) or standard deviation with a ``correction``."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, correction, std):
        if x.dtype.kind not in "fcV":
            raise RuntimeError("std and var only support floating point and complex dtypes")
        count = reduced_numel(x.shape, dims)
        if count - correction <= 0:
            warnings.warn(
                f"{'std' if std else 'var'}(): degrees of freedom is <= 0. Correction should "
                "be strictly less than the reduction factor (input numel divided by output "
                "numel).", stacklevel=4)
        xp = xp_of(x)
        work, back = acc(x, "std_var_all")
        dof = count - correction
        if count == 0:
            out = xp.full(reduced_shape(x.shape, dims, keepdim), xp.nan, work.dtype)
        else:
            # Two passes (mean, then squared deviations), as ndarray.var without its
            # Python-level overhead.
            centered = work - work.sum(axis=dims, keepdims=True) / count
            if work.dtype.kind == "c":
                squares = (centered * centered.conj()).real
            else:
                squares = centered * centered
            out = squares.sum(axis=axis_arg(dims, x.ndim), keepdims=keepdim)
            if dof > 0:
                out = out / dof
            else:
                with Quiet():
                    out = out / dof if dof == 0 else xp.full_like(out, xp.inf)
        if std:
            out = xp.sqrt(out)
        out = out.astype(back) if back is not None else out
        ctx.meta = (dims, keepdim, count - correction, std)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dims, keepdim, dof, std = ctx.meta
        if std:
            # d std = d var / (2 std); where std == 0 PyTorch gives 0, not nan.
            zero = out._data == 0
            grad = grad / (2 * (out + const(zero, out))) * const(~zero, out)
        centered = x - Mean.apply(x, dims, True, None)
        scale = 2.0 / dof if dof else math.inf
        return expand_grad(grad, x.shape, dims, keepdim) * centered * scale, None, None, None, None


def _var_args(input, dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return reduce_dims(dim, input._data.ndim), keepdim, correction


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    """Variance with ``correction`` (default 1, Bessel's; ``unbiased=False`` means 0).
    A correction at or above the element count warns and gives inf/nan, as PyTorch."""
    dims, keepdim, correction = _var_args(input, dim, unbiased, keepdim, correction)
    return write_out(Var.apply(input, dims, keepdim, correction, False), out, "var")


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    """Standard deviation (see ``var``); where it is 0 the gradient is 0, not nan."""
    dims, keepdim, correction = _var_args(input, dim, unbiased, keepdim, correction)
    return write_out(named(Var, "StdBackward0").apply(input, dims, keepdim, correction, True),
                     out, "std")


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over the same dims."""
    dims, keepdim, correction = _var_args(input, dim, unbiased, keepdim, correction)
    return (Var.apply(input, dims, keepdim, correction, False),
            Mean.apply(input, dims, keepdim, None))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over the same dims."""
    dims, keepdim, correction = _var_args(input, dim, unbiased, keepdim, correction)
    return (named(Var, "StdBackward0").apply(input, dims, keepdim, correction, True),
            Mean.apply(input, dims, keepdim, None))


# ---------------------------------------------------------------------------
# logsumexp, norm
# ---------------------------------------------------------------------------


class LogSumExp(Function):
    """log(sum(exp(x))) computed around the max, so large inputs do not overflow."""

    _array_io = True
    _node_name = "LogsumexpBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        xp = xp_of(x)
        if x.dtype.kind not in "fcV":
            from .._backend import get_default_dtype

            x = x.astype(get_default_dtype().np)
        work, back = acc(x, "max_values_cpu")
        with Quiet():
            if work.size:
                shift = xp.amax(work, axis=dims, keepdims=True)
                shift = xp.where(xp.isfinite(shift), shift, 0)
            else:
                shift = xp.zeros(keep_shape(work.shape, dims), work.dtype)
            out = xp.log(xp.exp(work - shift).sum(axis=dims, keepdims=True)) + shift
        out = out.astype(back) if back is not None else out
        if not keepdim:
            out = out.reshape(reduced_shape(x.shape, dims, False))
        ctx.meta = (dims, keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dims, keepdim = ctx.meta
        out = expand_grad(out, x.shape, dims, keepdim)
        return expand_grad(grad, x.shape, dims, keepdim) * (x - out).exp(), None, None


def logsumexp(input, dim, keepdim=False, *, out=None):
    """``log(sum(exp(input)))`` over ``dim``, shifted by the maximum so it neither
    overflows nor underflows; integer inputs give the default float dtype."""
    result = LogSumExp.apply(input, reduce_dims(dim, input._data.ndim), keepdim)
    return write_out(result, out, "logsumexp")


# ---------------------------------------------------------------------------
# all / any / count_nonzero (not differentiable)
# ---------------------------------------------------------------------------


try:  # the C function behind np.count_nonzero, without its Python wrapper
    from numpy._core.multiarray import count_nonzero as _count_nonzero_c
except ImportError:  # NumPy 1.x
    _count_nonzero_c = np.count_nonzero

_LOGICAL_REDUCE = {"any": np.logical_or.reduce, "all": np.logical_and.reduce}


def _logical_reduce(input, dim, keepdim, name):
    x = input._data
    if type(x) is np.ndarray and x.dtype.kind != "V":
        # The ufunc reductions directly: np.any/np.all's Python wrappers cost more than
        # the reduction on small tensors. A whole bool tensor is one count of nonzeros
        # (vectorised in NumPy; the logical reductions are not).
        if dim is None and not keepdim:
            if x.dtype.kind == "b":
                count = _count_nonzero_c(x)
                return _make(np.array(count != 0 if name == "any" else count == x.size))
            out = _LOGICAL_REDUCE[name](x, None)
        else:
            out = _LOGICAL_REDUCE[name](x, reduce_dims(dim, x.ndim), None, None, keepdim)
        if x.dtype == np.uint8:
            out = out.astype(np.uint8)
        return _make(out)
    dims = reduce_dims(dim, x.ndim)
    if x.dtype.fields is not None:  # complex32: nonzero where either part is
        x = widen(x)
    out = getattr(xp_of(x), name)(x.astype(bool, copy=False), axis=dims, keepdims=keepdim)
    if x.dtype == np.uint8:
        out = out.astype(np.uint8)
    return _make(xp_of(x).asarray(out))


def all(input, dim=None, keepdim=False, *, out=None):  # noqa: A001
    """True where every element is nonzero (uint8 inputs give uint8, as PyTorch)."""
    return write_out(_logical_reduce(input, dim, keepdim, "all"), out, "all")


def any(input, dim=None, keepdim=False, *, out=None):  # noqa: A001
    """True where some element is nonzero (uint8 inputs give uint8, as PyTorch)."""
    return write_out(_logical_reduce(input, dim, keepdim, "any"), out, "any")


def count_nonzero(input, dim=None):
    """Number of nonzero elements over ``dim`` (int64)."""
    x = input._data
    dims = reduce_dims(dim, x.ndim)
    return _make(xp_of(x).asarray((x != 0).sum(axis=dims), dtype=np.int64))


# Every public op here also takes NumPy's axis=/keepdims= spellings.
ALIASED = [
    "sum", "mean", "nansum", "nanmean", "prod", "max", "min", "amax", "amin", "aminmax",
    "argmax", "argmin", "std", "var", "std_mean", "var_mean", "norm", "logsumexp", "cumsum",
    "cumprod", "cummax", "cummin", "all", "any", "count_nonzero",
]
for _name in ALIASED:
    globals()[_name] = numpy_aliases(globals()[_name])

__all__ = [
    "sum", "mean", "nansum", "nanmean", "prod", "max", "min", "amax", "amin", "aminmax",
    "argmax", "argmin", "std", "var", "std_mean", "var_mean", "norm", "logsumexp", "cumsum",
    "cumprod", "cummax", "cummin", "all", "any", "count_nonzero",
]

TENSOR_METHODS = {
    "sum": sum, "mean": mean, "nansum": nansum, "nanmean": nanmean, "prod": prod,
    "max": max, "min": min, "amax": amax, "amin": amin, "aminmax": aminmax,
    "argmax": argmax, "argmin": argmin, "std": std, "var": var, "norm": norm,
    "logsumexp": logsumexp, "cumsum": cumsum, "cumprod": cumprod, "cummax": cummax,
    "cummin": cummin, "all": all, "any": any, "count_nonzero": count_nonzero,
}
