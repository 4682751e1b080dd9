"""The linear kernels behind resampling, each paired with its adjoint so that backward
(and double backward) is the other one:

- ``AxisGather``/``AxisScatter``: ``out = sum_j take(x, index_j, dim) * weight_j`` along
  one dim (nearest/linear/cubic interpolation taps, reflect/replicate/circular padding)
  and its transpose, a scatter-add along that dim. Weighted taps over an input dim of at
  most ``_DENSE_LIMIT`` become one (out, in) matrix applied by a single 2-D GEMM. Else
  the scatter sorts the index once and adds the k-th repeat of every target in one
  vectorised step per k (k is at most the largest repeat count, e.g. 2 for 2x
  upsampling; integer repeats are one reshape-sum), so it never loops over the data and
  avoids ``np.add.at``.
- ``DenseAxis``: a constant matrix along one dim (area, antialias), transpose backward.
- ``PointGather``/``PointScatter`` and ``TapSum``: pick ``x[n, c, p]`` at per-sample flat
  positions (grid_sample's taps), and the transpose, a ``bincount`` scatter-add.

Indices and weights are constant arrays (they depend only on sizes or on a detached
grid), so no kernel has gradients for them, except TapSum's weights (grid_sample's grid
gradient flows through them).
"""

from __future__ import annotations

import numpy as np

from .._memory_format import as_format, suggest_format
from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._util import _make, xp_of


# Input sizes up to which one GEMM along the dim (in_size multiply-adds per output) beats
# a pass of take + multiply + add per tap (and a sort-and-add scatter backward).
_DENSE_LIMIT = 256


def _dense(taps, out_size, in_size, np_dtype):
    """The (out, in) matrix of a tap list: row i holds weight_j at column index_j[i]."""
    matrix = np.zeros((out_size, in_size), np.float64)
    rows = np.arange(out_size)
    for index, weight in taps:
        np.add.at(matrix, (rows, index), 1.0 if weight is None else weight)
    return matrix.astype(np_dtype)


def _matmul_axis(x, matrix, dim):
    """Contract ``dim`` of x with ``matrix`` (out, in) as one 2-D GEMM: the dim is moved
    last and the rest flattened (NumPy's stacked matmul with a broadcast 2-D operand can
    fall off BLAS and be 20x slower)."""
    xp = xp_of(x)
    out_dtype = x.dtype
    if x.dtype.itemsize == 2:  # half precision: multiply-add in float32
        x = x.astype(np.float32)
    matrix_t = xp.ascontiguousarray(xp.asarray(matrix.astype(x.dtype, copy=False)).T)
    moved = xp.ascontiguousarray(xp.moveaxis(x, dim, -1))
    out = (moved.reshape(-1, moved.shape[-1]) @ matrix_t).reshape(
        moved.shape[:-1] + (matrix_t.shape[1],))
    return xp.moveaxis(out, -1, dim).astype(out_dtype, copy=False)


def _view(weight, ndim, dim):
    shape = [1] * ndim
    shape[dim] = -1
    return weight.reshape(shape)


def _along(ndim, dim, index):
    return (slice(None),) * dim + (index,)


class _Plan:
    """Precomputed scatter plan for one index array: sort order and repeat groups."""

    __slots__ = ("order", "targets", "starts", "counts", "max_count", "repeat")

    def __init__(self, index):
        index = np.asarray(index)
        if index.size and np.all(index[1:] >= index[:-1]):
            self.order = None
            sorted_index = index
        else:
            self.order = np.argsort(index, kind="stable")
            sorted_index = index[self.order]
        self.targets, self.starts, self.counts = np.unique(
            sorted_index, return_index=True, return_counts=True)
        self.max_count = int(self.counts.max()) if self.counts.size else 0
        # index == repeat(arange(n), k) (integer nearest upsampling): a reshape and one sum
        self.repeat = (self.order is None and self.counts.size > 0
                       and self.targets[0] == 0 and self.targets[-1] == self.targets.size - 1
                       and bool(np.all(self.counts == self.max_count)))


def _scatter_axis(values, plan, size, dim):
    """Sum ``values`` (positions along ``dim``) into ``size`` slots given by the plan."""
    xp = xp_of(values)
    ndim = values.ndim
    if plan.repeat and plan.targets.size == size:
        shape = values.shape[:dim] + (size, plan.max_count) + values.shape[dim + 1:]
        return values.reshape(shape).sum(axis=dim + 1)
    if plan.order is not None:
        values = xp.take(values, xp.asarray(plan.order), axis=dim)
    acc = xp.take(values, xp.asarray(plan.starts), axis=dim)
    for k in range(1, plan.max_count):
        has = np.nonzero(plan.counts > k)[0]
        more = xp.take(values, xp.asarray(plan.starts[has] + k), axis=dim)
        if has.size == plan.counts.size:
            acc += more
        else:
            acc[_along(ndim, dim, xp.asarray(has))] += more
    if plan.targets.size == size and plan.targets[0] == 0 and plan.targets[-1] == size - 1:
        return acc
    shape = list(values.shape)
    shape[dim] = size
    out = xp.zeros(shape, values.dtype)
    out[_along(ndim, dim, xp.asarray(plan.targets))] = acc
    return out


def _gather_array(x, dim, taps):
    """``sum_j take(x, index_j, dim) * weight_j`` on arrays (a weight of None means 1)."""
    xp = xp_of(x)
    out_size = len(taps[0][0])
    if taps[0][1] is not None and x.shape[dim] <= _DENSE_LIMIT:
        return _matmul_axis(x, _dense(taps, out_size, x.shape[dim], np.float64), dim)
    out = None
    for index, weight in taps:
        term = xp.take(x, xp.asarray(index), axis=dim)
        if weight is not None:
            term *= xp.asarray(_view(weight.astype(x.dtype, copy=False), x.ndim, dim))
        if out is None:
            out = term
        else:
            out += term
    return out


def _scatter_array(grad, dim, taps, size):
    """The transpose of ``_gather_array``: scatter-add ``grad * weight_j`` to ``index_j``
    of a dim of ``size`` slots."""
    xp = xp_of(grad)
    out_size = grad.shape[dim]
    if taps[0][1] is not None and size <= _DENSE_LIMIT:
        return _matmul_axis(grad, _dense(taps, out_size, size, np.float64).T, dim)
    out = None
    for index, weight in taps:
        values = grad
        if weight is not None:
            values = grad * xp.asarray(_view(weight.astype(grad.dtype, copy=False),
                                             grad.ndim, dim))
        part = _scatter_axis(values, _Plan(index), size, dim)
        if out is None:
            out = part
        else:
            out += part
    return out


class AxisGather(Function):
    """``sum_j take(x, index_j, dim) * weight_j`` (a weight of None means 1)."""

    _array_io = True
    _node_name = "UpsampleBackward0"

    @staticmethod
    def forward(ctx, x, dim, taps):
        ctx.meta = (dim, taps, x.shape[dim])
        return _gather_array(x, dim, taps)

    @staticmethod
    def backward(ctx, grad):
        dim, taps, size = ctx.meta
        return AxisScatter.apply(grad, dim, taps, size), None, None


class AxisScatter(Function):
    """The transpose of AxisGather: scatter-add ``grad * weight_j`` to ``index_j``."""

    _array_io = True

    @staticmethod
    def forward(ctx, grad, dim, taps, size):
        ctx.meta = (dim, taps)
        return _scatter_array(grad, dim, taps, size)

    @staticmethod
    def backward(ctx, grad):
        dim, taps = ctx.meta
        return AxisGather.apply(grad, dim, taps), None, None, None


# -- several per-dim stages as one node, named as PyTorch's op for the mode ----------------


def _run_stages(x, stages):
    """Apply the stages in order; each is ``(dim, taps, matrix, in_size)`` with either
    taps (AxisGather's) or an (out, in) matrix. A copy when there are none, so the
    result never aliases the input."""
    out = x
    for dim, taps, matrix, _ in stages:
        if matrix is None:
            out = _gather_array(out, dim, taps)
        else:
            out = _matmul_axis(out, matrix, dim)
    return x.copy() if out is x else out


def _run_adjoints(grad, stages):
    """The transpose of ``_run_stages``: every stage's adjoint, last stage first."""
    out = grad
    for dim, taps, matrix, in_size in reversed(stages):
        if matrix is None:
            out = _scatter_array(out, dim, taps, in_size)
        else:
            out = _matmul_axis(out, matrix.T, dim)
    return grad.copy() if out is grad else out


def laid_like(out, x, keep_format=True):
    """``out`` in the memory format PyTorch's resampling and padding kernels give: the
    input's (channels-last stays channels-last; not for circular padding, a composite of
    copies in PyTorch), else contiguous. The stages transpose as they go, so a bilinear
    result was neither and ``.view`` refused it."""
    fmt = suggest_format(x) if keep_format else None
    if fmt is not None:
        return as_format(out, fmt, xp_of(out))
    return out if out.flags.c_contiguous else xp_of(out).ascontiguousarray(out)


class _Separable(Function):
    """A separable linear resampling (interpolate, reflect/replicate padding) as one node:
    its per-dim stages run back to back on arrays. Backward is the paired adjoint node
    (``_adjoint``), whose backward is this op again, so any order of derivative works."""

    _array_io = True
    _adjoint = None
    _keep_format = True

    @staticmethod
    def forward(ctx, x, stages):
        ctx.stages = stages
        return laid_like(_run_stages(x, stages), x, type(ctx)._keep_format)

    @classmethod
    def backward(cls, ctx, grad):
        return cls._adjoint.apply(grad, ctx.stages), None

    @staticmethod
    def _array_backward(ctx, grad):
        return _run_adjoints(grad, ctx.stages), None


class _SeparableAdjoint(Function):
    """The transpose of a ``_Separable`` op (its gradient)."""

    _array_io = True
    _primal = None

    @staticmethod
    def forward(ctx, grad, stages):
        ctx.stages = stages
        return laid_like(_run_adjoints(grad, stages), grad)

    @classmethod
    def backward(cls, ctx, grad):
        return cls._primal.apply(grad, ctx.stages), None

    @staticmethod
    def _array_backward(ctx, grad):
        return _run_stages(grad, ctx.stages), None


_SEPARABLE = {}


def separable(name):
    """The ``_Separable`` op whose node PyTorch names ``{name}Backward0`` (its gradient's
    ``{name}BackwardBackward0``), made once per name and importable from this module
    under that name (so nodes' classes pickle)."""
    op = _SEPARABLE.get(name)
    if op is None:
        op = type(name, (_Separable,), {"_node_name": f"{name}Backward0",
                                        "__module__": __name__, "__qualname__": name,
                                        "_keep_format": not name.startswith("CircularPad")})
        adjoint_name = f"{name}Backward"
        adjoint = type(adjoint_name, (_SeparableAdjoint,), {
            "_node_name": f"{adjoint_name}Backward0", "__module__": __name__,
            "__qualname__": adjoint_name})
        op._adjoint, adjoint._primal = adjoint, op
        globals()[name] = op
        globals()[adjoint_name] = adjoint
        _SEPARABLE[name] = op
    return op


class PointGather(Function):
    """``out[n, c, p] = x[n, c, index[n, p]]`` for x of shape (N, C, L)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, index):
        xp = xp_of(x)
        index = xp.asarray(index)
        ctx.meta = (index, x.shape[2])
        return xp.take_along_axis(x, index[:, None, :], axis=2)

    @staticmethod
    def backward(ctx, grad):
        index, length = ctx.meta
        return PointScatter.apply(grad, index, length), None


class PointScatter(Function):
    """The transpose of PointGather: ``out[n, c, index[n, p]] += grad[n, c, p]``, one
    ``bincount`` over (n, c, position) keys."""

    _array_io = True

    @staticmethod
    def forward(ctx, grad, index, length):
        xp = xp_of(grad)
        batch, channels, points = grad.shape
        base = (xp.arange(batch * channels) * length).reshape(batch, channels, 1)
        keys = (base + index[:, None, :]).reshape(-1)
        sums = xp.bincount(keys, weights=grad.reshape(-1), minlength=batch * channels * length)
        ctx.meta = index
        return sums.astype(grad.dtype, copy=False).reshape(batch, channels, length)

    @staticmethod
    def backward(ctx, grad):
        return PointGather.apply(grad, ctx.meta), None, None


class TapSum(Function):
    """``out[n, c, p] = sum_t weight_t[n, p] * x[n, c, index_t[n, p]]`` for x of shape
    (N, C, L): grid_sample's taps in one node. All taps are gathered by one
    ``take_along_axis`` and combined by one einsum; backward scatters every tap into x
    with a single ``bincount`` and gives each weight ``sum_c grad * x[.., index_t]``."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, indices, *weights):
        xp = xp_of(x)
        picked = _pick_all(x, indices)
        stacked = xp.stack(weights, axis=1).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, *weights)
        ctx.indices = indices
        return xp.einsum("nctp,ntp->ncp", picked, stacked)

    @staticmethod
    def backward(ctx, grad):
        x, *weights = ctx.saved_tensors
        indices = ctx.indices
        length = x.shape[2]
        grads = [None] * (2 + len(weights))
        wants_weights = any(ctx.needs_input_grad[2:])
        if not _grad_enabled[0]:
            g, xa = grad._data, x._data
            xp = xp_of(xa)
            if ctx.needs_input_grad[0]:
                grads[0] = _make(_scatter_points(
                    [g * w._data[:, None, :] for w in weights], indices, length))
            if wants_weights:
                per_tap = xp.einsum("ncp,nctp->ntp", g, _pick_all(xa, indices))
                for t in range(len(weights)):
                    if ctx.needs_input_grad[2 + t]:
                        grads[2 + t] = _make(per_tap[:, t])
            return tuple(grads)
        if ctx.needs_input_grad[0]:
            for index, weight in zip(indices, weights):
                part = PointScatter.apply(grad * weight.unsqueeze(1), index, length)
                grads[0] = part if grads[0] is None else grads[0] + part
        for t, index in enumerate(indices):
            if ctx.needs_input_grad[2 + t]:
                grads[2 + t] = (grad * PointGather.apply(x, index)).sum(1)
        return tuple(grads)


def _pick_all(x, indices):
    """x[n, c, index_t[n, p]] for every tap t, as an (N, C, T, P) view, in one gather:
    whole channel rows taken from a channels-last copy (take_along_axis's broadcast
    fancy index measured 7x slower)."""
    xp = xp_of(x)
    batch, channels, length = x.shape
    joined = xp.concatenate(indices, axis=1)  # (N, T * P)
    rows = (joined + (xp.arange(batch) * length)[:, None]).reshape(-1)
    channels_last = xp.ascontiguousarray(x.transpose(0, 2, 1)).reshape(batch * length, channels)
    picked = channels_last.take(rows, axis=0)  # (N * T * P, C)
    return picked.reshape(batch, len(indices), -1, channels).transpose(0, 3, 1, 2)


def _scatter_points(values, indices, length):
    """Sum every ``values[t][n, c, p]`` into slot ``index_t[n, p]`` of (N, C, length)."""
    xp = xp_of(values[0])
    batch, channels, _ = values[0].shape
    base = (xp.arange(batch * channels) * length).reshape(batch, channels, 1)
    keys = xp.concatenate([(base + index[:, None, :]).reshape(-1) for index in indices])
    data = xp.concatenate([v.reshape(-1) for v in values])
    sums = xp.bincount(keys, weights=data, minlength=batch * channels * length)
    return sums.astype(values[0].dtype, copy=False).reshape(batch, channels, length)


class DenseAxis(Function):
    """Contract one dim with a constant (out, in) matrix (area and antialiased
    resampling); the backward is the same op with the transposed matrix."""

    _array_io = True
    _node_name = "UpsampleBackward0"

    @staticmethod
    def forward(ctx, x, dim, matrix):
        ctx.meta = (dim, matrix)
        return _matmul_axis(x, matrix, dim)

    @staticmethod
    def backward(ctx, grad):
        dim, matrix = ctx.meta
        return DenseAxis.apply(grad, dim, matrix.T), None, None
