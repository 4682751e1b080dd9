"""Adaptive (average and max) and fractional max pooling.

Adaptive average pooling is separable: one small averaging matrix per spatial dimension,
a linear map whose adjoint (the transposed matrices) is its backward, so double backward
comes for free. Adaptive and
fractional max pooling gather every window's candidates by flat per-plane index (all
windows at once, padded to the widest by repeating the last element, which cannot change
a max or its first position) and take the max in PyTorch's scan order.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import _grad_enabled
from ._autocast import float32_in_autocast
from ._conv_kernels import _expand
from ._linear_pair import _LinearMap, linear_map_pair
from ._pool_planes import _gather_planes, _GatherPlanes, _planes, _with_indices
from ._util import _make, xp_of


# ---------------------------------------------------------------------------
# adaptive pooling
# ---------------------------------------------------------------------------


def _adaptive_sizes(x, output_size, nd, op):
    if x.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor, but got "
                           f"{list(x.shape)}")
    if isinstance(output_size, (int, np.integer)):
        output_size = (int(output_size),) * nd
    output_size = tuple(output_size)
    if len(output_size) == 1:
        output_size = output_size * nd
    spatial = x.shape[-nd:]
    return tuple(s if o is None else int(o) for o, s in zip(output_size, spatial))


def _adaptive_bounds(size, out):
    """PyTorch's windows: [floor(o * I / O), ceil((o + 1) * I / O))."""
    o = np.arange(out)
    start = (o * size) // out
    end = -((-(o + 1) * size) // out)
    return start, end


class _AdaptiveGeometry:
    """One (input size, output size) averaging matrix per pooled (trailing) axis."""

    __slots__ = ("matrices", "node")

    def __init__(self, matrices, node):
        self.matrices, self.node = matrices, node


def _contract_axes(x, matrices):
    """x (..., s_1, ..., s_k) times one (s_i, o_i) matrix per trailing axis, each as one
    2-D GEMM over every other axis (NumPy's stacked matmul would loop over the batch);
    the last axis first, as it needs no copy."""
    xp = xp_of(x)
    nd = len(matrices)
    out = x
    for axis in range(-1, -nd - 1, -1):
        matrix = matrices[axis]
        moved = xp.ascontiguousarray(xp.moveaxis(out, axis, -1))
        product = moved.reshape(-1, moved.shape[-1]) @ matrix
        out = xp.moveaxis(product.reshape(moved.shape[:-1] + (matrix.shape[1],)), -1, axis)
    return xp.ascontiguousarray(out)


def _adaptive_avg_array(x, geo):
    return _contract_axes(x, geo.matrices)


def _adaptive_avg_adjoint_array(grad, geo):
    return _contract_axes(grad, [matrix.T for matrix in geo.matrices])


class _AdaptiveAvgPool(_LinearMap):
    """Adaptive average pooling: separable, one averaging matrix per axis."""

    def name(self):
        return self.geo.node


class _AdaptiveAvgPoolAdjoint(_LinearMap):
    """Its adjoint (the pool's gradient): the transposed matrices."""

    def name(self):
        return self.geo.node.replace("Backward0", "BackwardBackward0")


linear_map_pair(_adaptive_avg_array, _adaptive_avg_adjoint_array, _AdaptiveAvgPool,
                _AdaptiveAvgPoolAdjoint)


def _adaptive_avg(input, output_size, nd):
    if input.is_quantized:  # torch's quantized kernel: on q - zero_point, rounded
        from ._quantized_dispatch import quantized_call

        return quantized_call(_adaptive_avg, "centred", input, output_size, nd)
    op = f"adaptive_avg_pool{nd}d"
    out = _adaptive_sizes(input, output_size, nd, op)
    spatial = tuple(input.shape[-nd:])
    dims = tuple(range(input.dim() - nd, input.dim()))
    if all(o == 1 for o in out):
        return input.mean(dims, keepdim=True)
    if nd == 1:  # PyTorch pools (..., L) as (..., 1, L) and squeezes the row away
        return _adaptive_avg(input.unsqueeze(-2), (1,) + out, 2).squeeze(-2)
    node = f"AdaptiveAvgPool{nd}DBackward0"
    if all(o and s % o == 0 for s, o in zip(spatial, out)) and input.dim() == nd + 2:
        from .pool import _avg_pool_nd  # pool imports this module: resolve at call time

        kernel = tuple(s // o for s, o in zip(spatial, out))
        return _avg_pool_nd(input, kernel, kernel, 0, False, True, None, nd, node)
    xp = xp_of(input._data)
    matrices = []
    for size, o in zip(spatial, out):
        start, end = _adaptive_bounds(size, o)
        positions = np.arange(size)
        inside = (positions >= start[:, None]) & (positions < end[:, None])
        weights = inside / (end - start)[:, None]
        matrices.append(xp.asarray(weights.T.astype(input._data.dtype)))  # (size, o)
    return _AdaptiveAvgPool.apply(input, _AdaptiveGeometry(matrices, node))


def adaptive_avg_pool1d(input, output_size):
    """Mean over windows chosen to give ``output_size`` positions from any length."""
    return _adaptive_avg(input, output_size, 1)


def adaptive_avg_pool2d(input, output_size):
    """Mean over windows chosen to give an ``output_size`` (H, W) map from any size; a
    None entry keeps that input size."""
    return _adaptive_avg(input, output_size, 2)


@float32_in_autocast
def adaptive_avg_pool3d(input, output_size):
    """Mean over windows chosen to give an ``output_size`` (D, H, W) volume."""
    return _adaptive_avg(input, output_size, 3)


def _max_over_candidates(x, candidates):
    """``candidates`` (N or 1, C or 1, *O, K) flat per-plane positions: the max over K
    (first in scan order, NaN wins) and its position, as PyTorch scans a window."""
    xp = xp_of(x)
    n, c = x.shape[:2]
    flat_candidates = xp.broadcast_to(candidates, (n, c) + candidates.shape[2:])
    shape = flat_candidates.shape
    values = xp.take_along_axis(_planes(x), flat_candidates.reshape(n, c, math.prod(shape[2:])),
                                axis=2)
    values = values.reshape(shape)
    if x.dtype.kind == "f":
        nan = xp.isnan(values)
        # the last NaN wins in PyTorch's scan (val > max || isnan(val))
        values = xp.where(nan, xp.inf, values) if nan.any() else values
        if nan.any():
            last_nan = shape[-1] - 1 - xp.argmax(nan[..., ::-1], axis=-1)
            winner = xp.where(nan.any(-1), last_nan, xp.argmax(values, axis=-1))
        else:
            winner = xp.argmax(values, axis=-1)
    else:
        winner = xp.argmax(values, axis=-1)
    index = xp.take_along_axis(flat_candidates, winner[..., None], axis=-1)[..., 0]
    return xp.ascontiguousarray(index)


def _candidate_grid(xp, per_dim, spatial):
    """Flat positions of every window element: per_dim[axis] is (N|1, C|1, O, K) rows
    per dimension; the result is (N|1, C|1, *O, prod K) in row-major scan order."""
    nd = len(per_dim)
    lead = per_dim[0].shape[:2]
    grid = None
    plane_stride = math.prod(spatial)
    for axis, rows in enumerate(per_dim):
        plane_stride //= spatial[axis]
        o, k = rows.shape[2:]
        shape = [rows.shape[0], rows.shape[1]] + [1] * (2 * nd)
        shape[2 + axis] = o
        shape[2 + nd + axis] = k
        term = rows.reshape(shape) * plane_stride
        grid = term if grid is None else grid + term
    del lead
    return grid.reshape(grid.shape[:2 + nd] + (-1,))


def _adaptive_max(input, output_size, return_indices, nd):
    if input.is_quantized:  # torch has no quantized kernel for it
        from ._quantized_dispatch import refuse

        refuse(f"adaptive_max_pool{nd}d.out")
    op = f"adaptive_max_pool{nd}d"
    out = _adaptive_sizes(input, output_size, nd, op)
    if nd == 1:  # PyTorch pools (..., L) as (..., 1, L) and squeezes the row away
        result = _adaptive_max(input.unsqueeze(-2), (1,) + out, return_indices, 2)
        if return_indices:
            return result[0].squeeze(-2), result[1].squeeze(-2)
        return result.squeeze(-2)
    data = input._data[None] if input.dim() == nd + 1 else input._data  # (N, C, *spatial)
    xp = xp_of(data)
    spatial = tuple(data.shape[2:])
    per_dim = []
    for size, o in zip(spatial, out):
        start, end = _adaptive_bounds(size, o)
        width = int((end - start).max()) if o else 1
        rows = np.minimum(start[:, None] + np.arange(width), end[:, None] - 1)
        per_dim.append(xp.asarray(rows.reshape(1, 1, o, width).astype(np.int64)))
    if any(o == 0 for o in out) or data.size == 0:
        index = xp.zeros(tuple(data.shape[:2]) + out, dtype=np.int64)
    else:
        index = _max_over_candidates(data, _candidate_grid(xp, per_dim, spatial))
    return _finish_max(input, data, index, return_indices, f"AdaptiveMaxPool{nd}DBackward0")


def _finish_max(input, data, index, return_indices, node):
    """The pooled values as one node on ``input`` (PyTorch's kernels take an unbatched
    sample as it is); ``data`` is input's array with a batch dim (of one if unbatched)."""
    values = _gather_planes(data, index)
    unbatched = data.ndim != input.dim()
    if unbatched:
        values = values[0]
    if _grad_enabled[0] and input._requires_grad:
        result = _GatherPlanes.apply(input, index, values, node=node, shape=data.shape)
    else:
        result = _make(values)
    if not return_indices:
        return result
    return result, _make(index[0] if unbatched else index)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over adaptive windows of (N, C, L)."""
    return _adaptive_max(input, output_size, return_indices, 1)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over adaptive windows of (N, C, H, W)."""
    return _adaptive_max(input, output_size, return_indices, 2)


@float32_in_autocast
def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max over adaptive windows of (N, C, D, H, W)."""
    return _adaptive_max(input, output_size, return_indices, 3)


adaptive_max_pool1d_with_indices = _with_indices(adaptive_max_pool1d)
adaptive_max_pool2d_with_indices = _with_indices(adaptive_max_pool2d)
adaptive_max_pool3d_with_indices = _with_indices(adaptive_max_pool3d)


# ---------------------------------------------------------------------------
# fractional max pooling
# ---------------------------------------------------------------------------


def _fractional_starts(xp, samples, size, out, kernel, dtype):
    """PyTorch's generate_intervals, in the input's float type: window starts per plane
    (N, C, out) from one uniform sample per plane."""
    n, c = samples.shape
    starts = xp.empty((n, c, out), dtype=np.int64)
    if out > 1:
        alpha = dtype.type(size - kernel) / dtype.type(out - 1)
        steps = xp.arange(out - 1, dtype=dtype).reshape(1, 1, -1)
        sample = samples[..., None]
        starts[..., :-1] = ((steps + sample) * alpha).astype(np.int64) - \
            (sample * alpha).astype(np.int64)
    if out > 0:
        starts[..., -1] = size - kernel
    return starts


def _fractional_max(input, kernel_size, output_size, output_ratio, return_indices,
                    _random_samples, nd):
    op = f"fractional_max_pool{nd}d"
    from .random import rand

    kernel = _expand(kernel_size, nd)
    if output_size is None:
        if output_ratio is None:
            raise ValueError(f"{op} requires specifying either an output_size or an "
                             f"output_ratio")
        ratio = output_ratio if isinstance(output_ratio, (tuple, list)) else \
            (output_ratio,) * nd
        output_size = tuple(int(input.shape[-nd + i] * ratio[i]) for i in range(nd))
    out = _expand(output_size, nd)
    x = input.unsqueeze(0) if input.dim() == nd + 1 else input
    if x.dim() != nd + 2:
        raise RuntimeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: "
                           f"{list(input.shape)}")
    names = ["time", "height", "width"][3 - nd:]
    spatial = tuple(x.shape[2:])
    for name, o, k, s in zip(names, out, kernel, spatial):
        if o + k - 1 > s:
            raise RuntimeError(f"{op}(): pool {name} {k} too large relative to input "
                               f"{name} {s}")
    if _random_samples is None:
        _random_samples = rand(x.shape[0], x.shape[1], nd, dtype=x.dtype)
    samples = _random_samples._data
    xp = xp_of(x._data)
    dtype = samples.dtype if samples.dtype.kind == "f" else np.dtype(np.float32)
    if nd == 2:
        order = (1, 0)  # PyTorch: sample 0 drives the width, sample 1 the height
    else:
        order = (0, 1, 2)
    per_dim = []
    for axis in range(nd):
        starts = _fractional_starts(xp, samples[..., order[axis]], spatial[axis], out[axis],
                                    kernel[axis], dtype)
        per_dim.append(starts[..., None] + xp.arange(kernel[axis], dtype=np.int64))
    index = _max_over_candidates(x._data, _candidate_grid(xp, per_dim, spatial))
    return _finish_max(input, x._data, index, return_indices, f"FractionalMaxPool{nd}DBackward0")


@float32_in_autocast
def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """Max over pseudo-random windows (Graham, 2014) giving ``output_size`` (or
    ``output_ratio`` times the input size); ``_random_samples`` (N, C, 2) fixes them."""
    return _fractional_max(input, kernel_size, output_size, output_ratio, return_indices,
                           _random_samples, 2)


@float32_in_autocast
def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """Fractional max pooling over (N, C, D, H, W); samples (N, C, 3)."""
    return _fractional_max(input, kernel_size, output_size, output_ratio, return_indices,
                           _random_samples, 3)


fractional_max_pool2d_with_indices = _with_indices(fractional_max_pool2d)
fractional_max_pool3d_with_indices = _with_indices(fractional_max_pool3d)
