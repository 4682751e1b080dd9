"""Sorting and selection: sort, argsort, topk, kthvalue, median, mode, quantile, unique,
bincount, histc, searchsorted, bucketize, diff.

Every op that returns picked values gathers them with ``take_along`` at indices found
by a (stable) sort, so their gradients route to those indices and double backward works.
Ties follow a stable order; PyTorch's quickselect (median/kthvalue with dim) may report
another index among equal values.
"""

from __future__ import annotations

import builtins

import numpy as np

from .._backend.cupy_gaps import running_extreme
from .._backend.float8 import refuse as refuse_float8
from .._backend import autocast_state
from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._autocast import float32_in_autocast
from ._select import RETURN_TYPES, const, named, numpy_aliases, take_along, write_out
from ._util import Tensor, _make, type_name, wrap_dim, xp_of

_autocast = autocast_state.ACTIVE


def _stable_argsort(x, dim, descending):
    """Indices that sort ``x`` along ``dim``; equal values keep their order, NaN sorts as
    the largest value (last ascending, first descending), as PyTorch."""
    xp = xp_of(x)
    if x.dtype.kind == "b":
        x = x.view(np.uint8)
    if not descending:
        return xp.argsort(x, axis=dim, kind="stable")
    n = x.shape[dim]
    # Sort the reversed array ascending, then reverse: descending values, and among equals
    # the original order is restored. (A reversing slice: xp.flip's wrapper costs ~1.5 us.)
    reverse = (slice(None),) * dim + (slice(None, None, -1),)
    order = xp.argsort(x[reverse], axis=dim, kind="stable")
    return (n - 1) - order[reverse]


def _one_d(fn, input, dim, *args):
    """Run a dim-wise op on a 0-d tensor as on a 1-element vector (dim must be 0/-1)."""
    wrap_dim(dim, 0)
    values, indices = fn(input.reshape(1), 0, *args)
    return values.reshape(()), _make(indices._data.reshape(()))


def _sort(input, dim, descending):
    x = input._data
    indices = _stable_argsort(x, dim, descending)
    values = take_along(input, indices, dim, node_name="SortBackward0")
    return values, _make(indices.astype(np.int64, copy=False))


def sort(input, dim=-1, descending=False, stable=False, *, out=None):
    """``(values, indices)`` sorted along ``dim``. Always stable (equal values keep their
    order), NaN sorts as the largest value.

    Example::

        >>> ember.tensor([3.0, 1.0, 2.0]).sort()
        torch.return_types.sort(
        values=tensor([1., 2., 3.]),
        indices=tensor([1, 2, 0]))
    """
    refuse_float8("sorting_kernel_method_name", input)
    if input._data.dtype.kind == "c":  # no order on complex numbers (PyTorch's message)
        raise RuntimeError(" Sort does not support complex dtypes on CPU")
    if input._data.ndim == 0:
        result = RETURN_TYPES["sort"](*_one_d(_sort, input, dim, descending))
    else:
        d = wrap_dim(dim, input._data.ndim)
        result = RETURN_TYPES["sort"](*_sort(input, d, descending))
    return write_out(result, out, "sort")


def argsort(input, dim=-1, descending=False, stable=False):
    """Indices that sort ``input`` along ``dim`` (stable)."""
    return sort(input, dim, descending, stable).indices


def msort(input):
    """``sort(input, 0).values``."""
    return sort(input, 0).values


def _topk(input, dim, k, largest, sorted_):
    x = input._data
    n = x.shape[dim]
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    xp = xp_of(x)
    if 0 < k < n // 2 and n >= 32 and x.size > 2048:
        # Partial selection (O(n)) of the k candidates, then sort only those: by value,
        # equal values by position. Its fixed cost (~15 us) loses to one stable sort on
        # short rows or small tensors: sorted vs partitioned, 4x48 9.5 vs 23 us,
        # 200x20 34 vs 62 us, but 1000x32 0.55 vs 0.23 ms.
        data = x.view(np.uint8) if x.dtype.kind == "b" else x
        kth = n - k if largest else k - 1
        span = xp.arange(n - k, n) if largest else xp.arange(k)
        selected = xp.take(xp.argpartition(data, kth, axis=dim), span, axis=dim)
        candidates = xp.sort(selected, axis=dim)
        order = _stable_argsort(xp.take_along_axis(data, candidates, axis=dim), dim, largest)
        indices = xp.take_along_axis(candidates, order, axis=dim)
    else:
        indices = _stable_argsort(x, dim, largest)
        if k != n:  # the first k, copied out (contiguous, as PyTorch's indices)
            indices = indices[(slice(None),) * dim + (slice(0, k),)].copy()
    if ((input._requires_grad and _grad_enabled[0]) or type(x) is not np.ndarray
            or _autocast[0] is not None):
        values = take_along(input, indices, dim, node_name="TopkBackward0")
    elif type(input) is not Tensor and input.is_quantized:  # keeps its quantizer
        return tuple(input.topk(k, dim, largest, sorted_))
    else:  # nothing to record: the values straight from the indices
        values = _make(np.take_along_axis(x, indices, dim))
    return values, _make(indices.astype(np.int64, copy=False))


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):  # noqa: A002
    """The ``k`` largest (or smallest) elements along ``dim`` with their indices, in
    order. Small ``k`` uses an O(n) partition before sorting the k candidates."""
    refuse_float8("topk_cpu", input)
    if input._data.dtype.kind == "b":
        raise RuntimeError("topk does not support bool dtypes on CPU")
    if input._data.dtype.kind == "c":
        raise RuntimeError(" topk does not support complex dtypes on CPU")
    if input._data.ndim == 0:
        if k not in (0, 1):
            raise RuntimeError("selected index k out of range")
        result = RETURN_TYPES["topk"](*_one_d(_topk, input, dim, k, largest, sorted))
    else:
        d = wrap_dim(dim, input._data.ndim)
        result = RETURN_TYPES["topk"](*_topk(input, d, k, largest, sorted))
    return write_out(result, out, "topk")


def _pick_rank(input, dim, ranks, keepdim, node_name):
    """values/indices of the element of the given rank (per slice) in sorted order (NaN
    last). One rank for every slice (an int): a partial selection, O(n); per-slice ranks
    (an array): a full sort."""
    x = input._data
    xp = xp_of(x)
    if isinstance(ranks, int):
        data = x.view(np.uint8) if x.dtype.kind == "b" else x
        selected = xp.argpartition(data, ranks, axis=dim)
        indices = xp.take(selected, xp.asarray([ranks]), axis=dim)
    else:
        order = _stable_argsort(x, dim, False)
        ranks = xp.expand_dims(ranks, dim) if ranks.ndim < x.ndim else ranks
        indices = xp.take_along_axis(order, ranks, axis=dim)
    values = take_along(input, indices, dim, squeeze=not keepdim, node_name=node_name)
    if not keepdim:
        indices = indices.reshape(values._data.shape)
    return values, _make(indices.astype(np.int64, copy=False))


def _check_reduce_dim(name, shape, d):
    if shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    """``(values, indices)`` of the k-th smallest element (1-based) along ``dim``."""
    x = input._data
    _reject_bool("kthvalue_cpu", x)
    if x.ndim == 0:
        wrap_dim(dim, 0)
        if k != 1:
            raise RuntimeError(
                f"kthvalue(): selected number k out of range for dimension {dim}")
        return write_out(RETURN_TYPES["kthvalue"](*_one_d(
            lambda t, d: _pick_rank(t, d, 0, False, "KthvalueBackward0"),
            input, dim)), out, "kthvalue")
    d = wrap_dim(dim, x.ndim)
    _check_reduce_dim("kthvalue", x.shape, d)
    if not 1 <= k <= x.shape[d]:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    result = RETURN_TYPES["kthvalue"](*_pick_rank(input, d, k - 1, keepdim, "KthvalueBackward0"))
    return write_out(result, out, "kthvalue")


# ---------------------------------------------------------------------------
# median / nanmedian / mode
# ---------------------------------------------------------------------------


class _EvenSplit(Function):
    """A full reduction whose value is one of the inputs (median without dim): the
    gradient is split evenly among the elements equal to it, as PyTorch does."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, value):
        tied = x == value
        ctx.weight = tied / max(int(tied.sum()), 1)
        return value.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad * const(ctx.weight, grad), None


def _median_ranks(x, dim, ignore_nan):
    """Rank (in ascending sorted order, NaN last) of the lower median of each slice;
    with NaN present (and not ignored) the rank of the first NaN, so NaN comes out.
    Without NaN every slice has the same rank: returned as an int."""
    xp = xp_of(x)
    n = x.shape[dim]
    if x.dtype.kind not in "fc":
        return (n - 1) // 2
    nan_count = xp.isnan(x).sum(axis=dim)
    if not nan_count.any():
        return (n - 1) // 2
    if ignore_nan:
        valid = n - nan_count
        return xp.maximum((valid - 1) // 2, 0).astype(np.int64)
    return xp.where(nan_count > 0, n - nan_count, (n - 1) // 2).astype(np.int64)


def _reject_bool(kernel, x):
    """PyTorch's error for bool inputs, and for complex ones (which have no order)."""
    if x.dtype.kind in "bc":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{type_name(x.dtype)}'")


def _median(name, input, dim, keepdim, ignore_nan):
    x = input._data
    _reject_bool("median_cpu" if dim is None else "median_out", x)
    if dim is None:
        node = "MedianBackward0" if name == "median" else "NanmedianBackward0"
        if x.size == 0:
            empty = xp_of(x).full((), np.nan if x.dtype.kind in "fc" else 0, x.dtype)
            return named(_EvenSplit, node).apply(input, empty)
        flat = x.reshape(-1)
        rank = int(_median_ranks(flat, 0, ignore_nan))
        value = xp_of(x).partition(flat, rank)[rank]
        return named(_EvenSplit, node).apply(input, value.reshape(()))
    node = "MedianBackward1" if name == "median" else "NanmedianBackward1"
    if x.ndim == 0:
        return RETURN_TYPES[name](*_one_d(
            lambda t, d: _pick_rank(t, d, 0, False, node), input, dim))
    d = wrap_dim(dim, x.ndim)
    _check_reduce_dim(name, x.shape, d)
    ranks = _median_ranks(x, d, ignore_nan)
    return RETURN_TYPES[name](*_pick_rank(input, d, ranks, keepdim, node))


def median(input, dim=None, keepdim=False, *, out=None):
    """Lower median; ``median(input)`` returns a value, ``median(input, dim)`` (values,
    indices)."""
    return write_out(_median("median", input, dim, keepdim, False), out, "median")


def nanmedian(input, dim=None, keepdim=False, *, out=None):
    return write_out(_median("nanmedian", input, dim, keepdim, True), out, "nanmedian")


def _mode(input, dim, keepdim):
    """Most frequent value per slice (the smallest among equally frequent ones) and the
    index of its last occurrence, from run lengths of the sorted slice."""
    x = input._data
    xp = xp_of(x)
    n = x.shape[dim]
    order = _stable_argsort(x, dim, False)
    ordered = xp.take_along_axis(x, order, axis=dim)
    pos = xp.arange(n).reshape([n if i == dim else 1 for i in range(x.ndim)])
    prev = xp.take(ordered, xp.maximum(xp.arange(n) - 1, 0), axis=dim)
    nxt = xp.take(ordered, xp.minimum(xp.arange(n) + 1, n - 1), axis=dim)
    starts = (pos == 0) | (ordered != prev)
    ends = (pos == n - 1) | (ordered != nxt)
    run_start = running_extreme(xp, xp.where(starts, pos, 0), dim, True)
    run_end = xp.flip(running_extreme(
        xp, xp.flip(xp.where(ends, pos, n - 1), axis=dim), dim, False), axis=dim)
    best = xp.argmax(run_end - run_start, axis=dim, keepdims=True)  # first = smallest value
    last = xp.take_along_axis(run_end, best, axis=dim)
    indices = xp.take_along_axis(order, last, axis=dim)
    values = take_along(input, indices, dim, squeeze=not keepdim, node_name="ModeBackward0")
    if not keepdim:
        indices = indices.reshape(values._data.shape)
    return values, _make(indices.astype(np.int64, copy=False))


def mode(input, dim=-1, keepdim=False, *, out=None):
    """Most frequent value along ``dim`` (the smallest among equally frequent values)
    and the index of its last occurrence, as PyTorch reports it."""
    x = input._data
    if x.dtype.kind == "c":
        _reject_bool("mode_cpu", x)
    if x.ndim == 0:
        result = RETURN_TYPES["mode"](*_one_d(lambda t, d: _mode(t, d, False), input, dim))
    else:
        d = wrap_dim(dim, x.ndim)
        _check_reduce_dim("mode", x.shape, d)
        result = RETURN_TYPES["mode"](*_mode(input, d, keepdim))
    return write_out(result, out, "mode")


# ---------------------------------------------------------------------------
# quantile
# ---------------------------------------------------------------------------

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


@float32_in_autocast
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """q-th quantiles (``q`` a float or 1-D tensor in [0, 1]) along ``dim`` or of the
    flattened input; a tensor ``q`` adds a leading dim. ``interpolation`` picks between
    the two neighbouring order statistics: linear, lower, higher, midpoint or nearest."""
    result = _quantile("quantile", input, q, dim, keepdim, interpolation, False)
    return write_out(result, out, "quantile")


@float32_in_autocast
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """``quantile`` ignoring NaN (nan where a slice holds only NaN)."""
    result = _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)
    return write_out(result, out, "nanquantile")


def _quantile(name, input, q, dim, keepdim, interpolation, ignore_nan):
    """Sort, then interpolate between the two neighbouring order statistics; written with
    take_along and arithmetic so the gradient reaches the picked elements."""
    x = input._data
    xp = xp_of(x)
    if x.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if x.size == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    scalar_q = not isinstance(q, Tensor)
    q_arr = xp.asarray([q] if scalar_q else q._data, dtype=x.dtype)
    if q_arr.ndim > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    if not scalar_q and q._data.dtype != x.dtype:
        raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
    if q_arr.size and (q_arr.min() < 0 or q_arr.max() > 1):
        bad = q if scalar_q else "[0, 1]"
        raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {bad}" if scalar_q
                           else f"{name}() q values must be in the range {bad}")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(
            f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest, "
            f"but got {interpolation}"
        )
    ndim = x.ndim
    if dim is None:
        work, d = input.reshape(-1), 0
    else:
        d = wrap_dim(dim, ndim)
        work = input if ndim else input.reshape(1)
        d = 0 if ndim == 0 else d
    sorted_values = sort(work, d).values
    data = work._data
    n = data.shape[d]
    # Slices are laid out [q, rest...] with the reduced dim last, so per-slice counts and
    # the q axis broadcast together.
    moved = xp.moveaxis(data, d, -1)
    nan_count = xp.isnan(moved).sum(axis=-1)  # shape rest
    valid = (n - nan_count) if ignore_nan else xp.full(nan_count.shape, n)
    rank = q_arr.reshape((-1,) + (1,) * nan_count.ndim) * (xp.maximum(valid, 1) - 1)
    lower = xp.floor(rank).astype(np.int64)
    upper = xp.ceil(rank).astype(np.int64)
    if interpolation == "nearest":
        lower = upper = xp.round(rank).astype(np.int64)
    elif interpolation == "lower":
        upper = lower
    elif interpolation == "higher":
        lower = upper
    sorted_last = sorted_values.movedim(d, -1) if hasattr(sorted_values, "movedim") else \
        _move_last(sorted_values, d)
    stacked = sorted_last.unsqueeze(0).expand((q_arr.size,) + tuple(sorted_last.shape))
    low_v = take_along(stacked, lower[..., None], stacked.ndim - 1, squeeze=True)
    high_v = take_along(stacked, upper[..., None], stacked.ndim - 1, squeeze=True)
    if interpolation == "linear":
        weight = const((rank - lower).astype(x.dtype))
        result = low_v + (high_v - low_v) * weight
    elif interpolation == "midpoint":
        result = (low_v + high_v) * 0.5
    else:
        result = low_v
    no_value = (nan_count > 0) if not ignore_nan else (valid == 0)
    if no_value.any():
        nan_fill = xp.where(no_value, xp.nan, 0).astype(x.dtype)
        result = result * const(~no_value, result) + const(xp.broadcast_to(nan_fill, result.shape))
    if keepdim:
        kept = [1] * ndim if dim is None else list(x.shape)
        if dim is not None and ndim:
            kept[d] = 1
        result = result.reshape((q_arr.size,) + tuple(kept))
    return result.reshape(tuple(result.shape[1:])) if scalar_q else result


def _move_last(t, d):
    order = [i for i in range(t.ndim) if i != d] + [d]
    return t.permute(*order)


# ---------------------------------------------------------------------------
# unique, counting and searching (not differentiable)
# ---------------------------------------------------------------------------


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """Sorted unique elements (or unique slices along ``dim``), optionally with the
    inverse mapping and the counts."""
    x = input._data
    refuse_float8("unique", x)
    if x.dtype.kind == "c":
        _reject_bool("unique", x)
    xp = xp_of(x)
    if dim is None:
        values, inverse, counts = xp.unique(x.reshape(-1), return_inverse=True, return_counts=True)
        inverse = inverse.reshape(x.shape)
    else:
        d = wrap_dim(dim, x.ndim)
        if builtins.any(s == 0 for i, s in enumerate(x.shape) if i != d):
            raise RuntimeError(
                "There are 0 sized dimensions, and they aren't selected, so unique cannot be "
                "applied")
        if x.shape[d] == 0:
            values, inverse, counts = x, xp.zeros(0, np.int64), xp.zeros(0, np.int64)
        else:
            values, inverse, counts = xp.unique(x, return_inverse=True, return_counts=True, axis=d)
            inverse = inverse.reshape(-1)
    if dim is None:
        node, aten = "Unique2Backward0", "_unique2"
    else:
        node, aten = "UniqueDimBackward0", "unique_dim"
    values = named(_NoDerivative, node).apply(input, values, aten)
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


class _NoDerivative(Function):
    """Output of an op PyTorch records without a derivative (unique): it requires grad,
    and backward through it raises PyTorch's NotImplementedError."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, result, aten_name):
        ctx.aten_name = aten_name
        return result

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError(f"the derivative for '{ctx.aten_name}' is not implemented.")


def _unique_result(values, inverse, counts, return_inverse, return_counts):
    out = [values]
    if return_inverse:
        out.append(_make(inverse.astype(np.int64, copy=False)))
    if return_counts:
        out.append(_make(counts.astype(np.int64, copy=False)))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive elements (or slices along ``dim``)."""
    x = input._data
    if x.dtype.kind == "c":
        _reject_bool("unique", x)
    xp = xp_of(x)
    if dim is None:
        flat = x.reshape(-1)
        changed = flat[1:] != flat[:-1]
        source, axis = flat, 0
    else:
        d = wrap_dim(dim, x.ndim)
        moved = xp.moveaxis(x, d, 0).reshape(x.shape[d], -1)
        changed = (moved[1:] != moved[:-1]).any(axis=1)
        source, axis = x, d
    starts = xp.concatenate([xp.ones(min(source.shape[axis], 1), bool), changed])
    group = xp.cumsum(starts) - 1
    first = xp.nonzero(starts)[0]
    values = xp.take(source, first, axis=axis)
    counts = xp.diff(xp.concatenate([first, xp.asarray([source.shape[axis]])]))
    inverse = group.reshape(x.shape) if dim is None else group
    node = named(_NoDerivative, "UniqueConsecutiveBackward0")
    values = node.apply(input, values, "unique_consecutive")
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


def bincount(input, weights=None, minlength=0):
    """Occurrences of each value of a 1-D non-negative integer tensor (summed
    ``weights`` when given)."""
    x = input._data
    xp = xp_of(x)
    if x.ndim != 1 or x.dtype.kind not in "iub":
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if x.size and x.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is None:
        return _make(xp.bincount(x, minlength=minlength).astype(np.int64))
    w = weights._data
    if w.shape != x.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    out_dtype = np.float32 if w.dtype == np.float32 else np.float64
    return _make(xp.bincount(x, weights=w, minlength=minlength).astype(out_dtype))


def histc(input, bins=100, min=0, max=0, *, out=None):  # noqa: A002
    """Histogram with ``bins`` equal bins over [min, max] (the data's range when both
    are 0); elements outside are ignored, the last bin includes ``max``."""
    x = input._data
    xp = xp_of(x)
    if x.dtype.kind not in "fV":
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{type_name(x.dtype)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    low, high = float(min), float(max)
    if low == high and x.size:
        low, high = float(x.min()), float(x.max())
    if low == high:
        low, high = low - 1, high + 1
    if low > high:
        raise RuntimeError("torch.histc: max must be larger than min")
    flat = x.reshape(-1)
    keep = (flat >= low) & (flat <= high)
    chosen = flat[keep].astype(np.float64)
    index = ((chosen - low) * bins / (high - low)).astype(np.int64)
    index = xp.minimum(index, bins - 1)
    return write_out(_make(xp.bincount(index, minlength=bins).astype(x.dtype)), out, "histc")


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None, out=None):
    """Indices at which ``input`` would be inserted to keep the innermost dim of
    ``sorted_sequence`` sorted (rows searched in parallel for N-D sequences)."""
    seq = sorted_sequence._data
    xp = xp_of(seq)
    for operand in (seq, getattr(input, "_data", None)):
        if operand is not None and operand.dtype.kind == "c":
            _reject_bool("searchsorted_out_cpu", operand)
    scalar = not isinstance(input, Tensor)
    values = xp.asarray(input, dtype=seq.dtype) if scalar else input._data
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError(
                "torch.searchsorted(): side and right can't be set to opposites, got side of "
                "left while right was True")
        right = side == "right"
    if sorter is not None:
        seq = xp.take_along_axis(seq, sorter._data, axis=-1)
    out_dtype = np.int32 if out_int32 else np.int64
    if seq.ndim <= 1:
        found = xp.searchsorted(seq, values, side="right" if right else "left")
        return write_out(_make(xp.asarray(found).astype(out_dtype)), out, "searchsorted")
    if seq.shape[:-1] != values.shape[:-1]:
        raise RuntimeError(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            "dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {list(seq.shape)} and input value tensor {list(values.shape)}")
    # Batched rows: count, per value, the boundaries below it (one broadcast compare).
    compare = xp.less_equal if right else xp.less
    found = compare(seq[..., None, :], values[..., :, None]).sum(axis=-1)
    return write_out(_make(found.astype(out_dtype)), out, "searchsorted")


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    """Bucket index of each element of ``input`` among 1-D ``boundaries``."""
    if boundaries._data.ndim != 1:
        raise RuntimeError(
            f"boundaries tensor must be 1 dimension, but got dim({boundaries._data.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right, out=out)


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """n-th forward difference along ``dim`` (with optional tensors glued on either side)."""
    if input._data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = wrap_dim(dim, input._data.ndim)
    if prepend is not None or append is not None:
        parts = [p for p in (prepend, input, append) if p is not None]
        xp = xp_of(input._data)
        parts = [p if isinstance(p, Tensor) else _make(xp.asarray(p)) for p in parts]
        parts = [p.expand(*[s if i != d else p.shape[d] for i, s in enumerate(input.shape)])
                 if p.ndim == input.ndim else p for p in parts]
        input = _Concat.apply(d, *parts)
    out = input
    for _ in range(n):  # n is the difference order (tiny), not a data loop
        length = out.shape[d]
        head = tuple(slice(None) if i != d else slice(1, None) for i in range(out.ndim))
        tail = tuple(slice(None) if i != d else slice(0, builtins.max(length - 1, 0))
                     for i in range(out.ndim))
        if out._data.dtype.kind == "b":
            out = _make(out._data[head] ^ out._data[tail])
        else:
            out = out[head] - out[tail]
    return out


class _Concat(Function):
    """Concatenate along a dim (diff's prepend/append; kept here so sort.py depends on no
    other family's internals)."""

    _array_io = True
    _node_name = "CatBackward0"

    @staticmethod
    def forward(ctx, dim, *arrays):
        ctx.meta = (dim, [a.shape[dim] for a in arrays])
        return xp_of(*arrays).concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        dim, sizes = ctx.meta
        grads, start = [None], 0
        for size in sizes:
            index = tuple(slice(None) if i != dim else slice(start, start + size)
                          for i in range(grad.ndim))
            grads.append(grad[index])
            start += size
        return tuple(grads)


# The ops with a dim also take NumPy's axis=/keepdims= spellings, as in PyTorch.
ALIASED = [
    "sort", "argsort", "topk", "kthvalue", "median", "nanmedian", "mode", "quantile",
    "nanquantile", "diff",
]
for _name in ALIASED:
    globals()[_name] = numpy_aliases(globals()[_name])

__all__ = [
    "sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode",
    "quantile", "nanquantile", "unique", "unique_consecutive", "bincount", "histc",
    "searchsorted", "bucketize", "diff",
]

TENSOR_METHODS = {
    "sort": sort, "argsort": argsort, "msort": msort, "topk": topk, "kthvalue": kthvalue,
    "median": median, "nanmedian": nanmedian, "mode": mode, "quantile": quantile,
    "nanquantile": nanquantile, "unique": unique, "unique_consecutive": unique_consecutive,
    "bincount": bincount, "histc": histc, "diff": diff,
}
