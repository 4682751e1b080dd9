"""Pooling: max/avg/lp/adaptive/fractional, unpooling.

Fixed-window pools (max, avg) loop over the kernel offsets only: each offset is one
strided slice of the padded input covering every output at once. Max pooling records
the winning offset per output and turns it into PyTorch's flat per-plane index
(``h * W + w``); its gradient is a scatter-add of the upstream gradient at those
indices, and the scatter's gradient a gather, so every max-type pool (fixed, adaptive,
fractional) and max_unpool share two small Functions. Average pooling is linear: its
backward is its adjoint (an offset-loop col2im) and vice versa. Adaptive average pooling
is separable: one small averaging matrix per spatial dimension.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._util import Tensor, _make, xp_of
from ._conv_kernels import _offset_slices, _pad_array

# ---------------------------------------------------------------------------
# per-plane gather / scatter (max pools and unpooling)
# ---------------------------------------------------------------------------


def _planes(array):
    return array.reshape(array.shape[0], array.shape[1], math.prod(array.shape[2:]))


def _gather_planes(x, index):
    """out[n, c, *O] = x[n, c].flat[index[n, c, *O]]."""
    xp = xp_of(x)
    picked = xp.take_along_axis(_planes(x), _planes(index), axis=2)
    return picked.reshape(index.shape)


def _scatter_planes(values, index, shape, accumulate):
    """An array of ``shape`` (N, C, *S), zero except at the flat per-plane ``index``."""
    xp = xp_of(values)
    n, c = shape[:2]
    plane = math.prod(shape[2:])
    out = xp.zeros(n * c * plane, dtype=values.dtype)
    base = (xp.arange(n * c, dtype=np.int64) * plane).reshape(n, c, 1)
    flat = (_planes(index) + base).ravel()
    if accumulate:
        if xp is np:
            np.add.at(out, flat, values.ravel())
        else:
            import cupyx

            cupyx.scatter_add(out, flat, values.ravel())
    else:
        out[flat] = values.ravel()
    return out.reshape(shape)


class _GatherPlanes(Function):
    """Values at per-plane indices; ``values`` may carry the already-computed result."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, index, values=None, unique=False):
        ctx.index, ctx.shape, ctx.unique = index, x.shape, unique
        return _gather_planes(x, index) if values is None else values

    @staticmethod
    def backward(ctx, grad):
        # indices that never repeat (non-overlapping windows) need no accumulation
        scattered = _ScatterPlanes.apply(grad, ctx.index, ctx.shape, not ctx.unique)
        return scattered, None, None, None


class _ScatterPlanes(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, values, index, shape, accumulate):
        ctx.index = index
        return _scatter_planes(values, index, shape, accumulate)

    @staticmethod
    def backward(ctx, grad):
        return _GatherPlanes.apply(grad, ctx.index), None, None, None


# ---------------------------------------------------------------------------
# argument handling
# ---------------------------------------------------------------------------


def _expand(value, nd):
    if isinstance(value, Tensor):
        value = value.tolist()
    if isinstance(value, (int, np.integer)):
        return (int(value),) * nd
    value = tuple(int(v) for v in value)
    return value * nd if len(value) == 1 else value


def _out_size(size, kernel, pad, stride, dilation, ceil_mode):
    """PyTorch's pooling_output_shape: the last window must start inside input + pad."""
    out = (size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0))
    out = out // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _batched(input, nd, op):
    if input.dim() not in (nd + 1, nd + 2):
        if nd == 1:
            raise RuntimeError(f"{op}: Expected 2D or 3D (batch mode) tensor, but got "
                               f"{list(input.shape)}")
        raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected "
                           f"for input")
    unbatched = input.dim() == nd + 1
    return (input.unsqueeze(0) if unbatched else input), unbatched


def _window_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, nd, op,
                     return_indices=False):
    kernel = _expand(kernel_size, nd)
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _expand(stride, nd)
    padding = _expand(padding, nd)
    dilation = _expand(dilation, nd)
    if any(s == 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"kernel size should be greater than zero, but got "
                           f"{list(kernel)}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    spatial = tuple(x.shape[2:])
    _check_half_kernel_padding(kernel, padding, dilation, op, return_indices)
    out = tuple(_out_size(s, k, p, st, d, ceil_mode) for s, k, p, st, d in
                zip(spatial, kernel, padding, stride, dilation))
    if any(o <= 0 for o in out):
        if op == "max_pool1d":
            raise RuntimeError(f"max_pool1d() Invalid computed output size: {min(out)}")
        dims = "x".join(str(v) for v in (x.shape[1],) + spatial)
        outs = "x".join(str(v) for v in (x.shape[1],) + out)
        raise RuntimeError(f"Given input size: ({dims}). Calculated output size: ({outs}). "
                           f"Output size is too small")
    # high-side padding large enough for ceil_mode's last partial window
    pad_hi = tuple(max(p, (o - 1) * st + d * (k - 1) + 1 - s - p) for o, st, d, k, s, p in
                   zip(out, stride, dilation, kernel, spatial, padding))
    return kernel, stride, padding, pad_hi, dilation, out


def _check_half_kernel_padding(kernel, padding, dilation, op, return_indices):
    """padding <= kernel // 2, worded as the PyTorch kernel that would reject it."""
    if all(p <= k // 2 for p, k in zip(padding, kernel)):
        return
    nd = len(kernel)
    if op == "max_pool1d" and not return_indices:
        p, k = padding[0], kernel[0]
        raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but "
                           f"got padding={p} and kernel_size={k}")
    if op.startswith("max_pool") and nd == 3:
        raise RuntimeError(
            f"pad should be smaller than or equal to half of kernel size, but got "
            f"kT: {kernel[0]} kW: {kernel[2]} kH: {kernel[1]} padT: {padding[0]} "
            f"padW: {padding[2]} padH: {padding[1]}")
    if op.startswith("max_pool") and (nd == 1 or any(d != 1 for d in dilation)):
        kh, kw = (1, kernel[0]) if nd == 1 else kernel
        ph, pw = (0, padding[0]) if nd == 1 else padding
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but "
                           f"got padW = {pw}, padH = {ph}, kW = {kw}, kH = {kh}")
    for p, k, d in zip(padding, kernel, dilation):
        if p > k // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")


# ---------------------------------------------------------------------------
# max pooling
# ---------------------------------------------------------------------------


def _lowest(dtype):
    if dtype.kind == "f":
        return -np.inf
    return np.iinfo(dtype).min


def _max_pool_arrays(x, kernel, stride, padding, pad_hi, dilation, out, want_index):
    """Running max over the kernel offsets; the flat per-plane index of the winner (the
    first maximum in scan order, a NaN wins as in PyTorch) when ``want_index``."""
    xp = xp_of(x)
    padded = _pad_array(x, padding, pad_hi, _lowest(x.dtype))
    lead = (slice(None), slice(None))
    offsets = list(itertools.product(*(range(k) for k in kernel)))
    windows = [padded[lead + _offset_slices(offset, stride, dilation, out)]
               for offset in offsets]
    best = windows[0].copy()
    for window in windows[1:]:
        xp.maximum(best, window, out=best)  # propagates NaN, as PyTorch's max pool
    if not want_index:
        return best, None
    # the first offset (scan order) equal to the max wins: assign in reverse order, in a
    # small integer type (the mask copies dominate the cost)
    winner = xp.zeros(best.shape, dtype=np.uint8 if len(windows) < 256 else np.int32)
    for number in range(len(windows) - 1, -1, -1):
        xp.copyto(winner, number, where=windows[number] == best)
    if x.dtype.kind == "f":
        nan = xp.isnan(best)
        if nan.any():  # PyTorch keeps the last NaN of a window (val > max || isnan(val))
            for number, window in enumerate(windows):
                xp.copyto(winner, number, where=nan & xp.isnan(window))
    # flat index = window start (per output position) + the winning offset's displacement
    nd = len(kernel)
    spatial = x.shape[2:]
    plane_strides = [math.prod(spatial[axis + 1:]) for axis in range(nd)]
    displacement = np.zeros(len(offsets), dtype=np.int64)
    for number, offset in enumerate(offsets):
        displacement[number] = sum(k * d * ps for k, d, ps in
                                   zip(offset, dilation, plane_strides))
    start = np.zeros(out, dtype=np.int64)
    for axis in range(nd):
        shape = [1] * nd
        shape[axis] = out[axis]
        start = start + ((np.arange(out[axis]) * stride[axis] - padding[axis])
                         * plane_strides[axis]).reshape(shape)
    index = xp.asarray(displacement).take(winner.astype(np.intp, copy=False))
    index += xp.asarray(start)
    return best, index


def _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                 nd):
    op = f"max_pool{nd}d"
    x, unbatched = _batched(input, nd, op)
    kernel, stride, padding, pad_hi, dilation, out = _window_geometry(
        x, kernel_size, stride, padding, dilation, ceil_mode, nd, op, return_indices)
    recording = _grad_enabled[0] and x.requires_grad
    values, index = _max_pool_arrays(x._data, kernel, stride, padding, pad_hi, dilation, out,
                                     return_indices or recording)
    if recording:
        disjoint = all(s >= d * (k - 1) + 1 for s, d, k in zip(stride, dilation, kernel))
        result = _GatherPlanes.apply(x, index, values, disjoint)
    else:
        result = _make(values)
    if unbatched:
        result = result.squeeze(0)
    if not return_indices:
        return result
    indices = _make(index)
    return result, (indices.squeeze(0) if unbatched else indices)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of (N, C, L); indices are positions along L."""
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode,
                        return_indices, 1)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of (N, C, H, W); stride defaults to kernel_size, padding
    counts as -inf, indices are flat ``h * W + w`` per plane (what max_unpool2d takes).

    Example::

        >>> F.max_pool2d(torch.randn(1, 3, 8, 8), 2).shape
        torch.Size([1, 3, 4, 4])
    """
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode,
                        return_indices, 2)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of (N, C, D, H, W)."""
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode,
                        return_indices, 3)


def _with_indices(fn):
    def variant(*args, **kwargs):
        kwargs["return_indices"] = True
        return fn(*args, **kwargs)

    variant.__name__ = fn.__name__ + "_with_indices"
    variant.__doc__ = f"{fn.__name__} returning (output, indices)."
    return variant


max_pool1d_with_indices = _with_indices(max_pool1d)
max_pool2d_with_indices = _with_indices(max_pool2d)
max_pool3d_with_indices = _with_indices(max_pool3d)


def _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, nd):
    kernel = _expand(kernel_size, nd)
    stride = kernel if stride is None else _expand(stride, nd)
    padding = _expand(padding, nd)
    x, unbatched = _batched(input, nd, f"max_unpool{nd}d")
    index = indices.unsqueeze(0) if unbatched else indices
    if output_size is None:
        spatial = tuple((i - 1) * s - 2 * p + k for i, s, p, k in
                        zip(x.shape[2:], stride, padding, kernel))
    else:
        spatial = tuple(int(v) for v in output_size)[-nd:]
    if tuple(index.shape) != tuple(x.shape):
        raise RuntimeError(
            f"Expected shape of indices to be same as that of the input tensor "
            f"({list(x.shape)}) but got indices tensor with shape: {list(index.shape)}")
    plane = math.prod(spatial)
    index_data = index._data
    if index_data.size and (int(index_data.min()) < 0 or int(index_data.max()) >= plane):
        bad = int(index_data.max()) if int(index_data.max()) >= plane else int(index_data.min())
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(str(s) for s in spatial)}")
    out = _ScatterPlanes.apply(x, index_data, tuple(x.shape[:2]) + spatial, False)
    return out.squeeze(0) if unbatched else out


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool1d: values go back to their indices, zeros elsewhere."""
    return _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool2d; output size (I - 1) * s - 2p + k unless given."""
    return _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool3d."""
    return _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, 3)


# ---------------------------------------------------------------------------
# average pooling
# ---------------------------------------------------------------------------


class _AvgGeometry:
    __slots__ = ("kernel", "stride", "pad_lo", "pad_hi", "in_spatial", "out_spatial",
                 "divisor")

    def __init__(self, kernel, stride, pad_lo, pad_hi, in_spatial, out_spatial, divisor):
        self.kernel, self.stride, self.pad_lo, self.pad_hi = kernel, stride, pad_lo, pad_hi
        self.in_spatial, self.out_spatial, self.divisor = in_spatial, out_spatial, divisor


def _avg_divisor(xp, dtype, kernel, stride, padding, spatial, out, count_include_pad,
                 divisor_override):
    """Per-output divisor: PyTorch counts padding but never the ceil_mode overhang."""
    if divisor_override:
        return dtype.type(divisor_override)
    divisor = None
    nd = len(kernel)
    for axis, (k, s, p, size, o) in enumerate(zip(kernel, stride, padding, spatial, out)):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, size + p)
        if count_include_pad:
            count = end - start
        else:
            count = np.minimum(end, size) - np.maximum(start, 0)
        shape = [1] * nd
        shape[axis] = o
        count = count.reshape(shape)
        divisor = count if divisor is None else divisor * count
    if np.all(divisor == divisor.flat[0]):
        return dtype.type(divisor.flat[0])
    return xp.asarray(divisor.astype(dtype))


def _avg_pool_array(x, geo):
    padded = _pad_array(x, geo.pad_lo, geo.pad_hi)
    lead = (slice(None), slice(None))
    total = None
    for offset in itertools.product(*(range(k) for k in geo.kernel)):
        window = padded[lead + _offset_slices(offset, geo.stride, (1,) * len(geo.kernel),
                                              geo.out_spatial)]
        if total is None:
            total = window.copy()
        else:
            total += window
    total /= geo.divisor
    return total


def _avg_pool_adjoint_array(grad, geo):
    xp = xp_of(grad)
    share = grad / geo.divisor
    padded_spatial = tuple(s + lo + hi for s, lo, hi in
                           zip(geo.in_spatial, geo.pad_lo, geo.pad_hi))
    out = xp.zeros(grad.shape[:2] + padded_spatial, dtype=grad.dtype)
    lead = (slice(None), slice(None))
    for offset in itertools.product(*(range(k) for k in geo.kernel)):
        target = out[lead + _offset_slices(offset, geo.stride, (1,) * len(geo.kernel),
                                           geo.out_spatial)]
        target += share
    inner = tuple(slice(lo, lo + s) for lo, s in zip(geo.pad_lo, geo.in_spatial))
    return xp.ascontiguousarray(out[lead + inner])


class _AvgPool(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, geo):
        ctx.geo = geo
        return _avg_pool_array(x, geo)

    @staticmethod
    def backward(ctx, grad):
        if _grad_enabled[0]:
            return _AvgPoolAdjoint.apply(grad, ctx.geo), None
        return _make(_avg_pool_adjoint_array(grad._data, ctx.geo)), None


class _AvgPoolAdjoint(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, grad, geo):
        ctx.geo = geo
        return _avg_pool_adjoint_array(grad, geo)

    @staticmethod
    def backward(ctx, grad):
        return _AvgPool.apply(grad, ctx.geo), None


def _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                 divisor_override, nd):
    op = f"avg_pool{nd}d"
    x, unbatched = _batched(input, nd, op)
    if nd == 3:
        kernel = _expand(kernel_size, 3)
        if any(s < k for s, k in zip(x.shape[2:], kernel)) and not any(_expand(padding, 3)):
            raise RuntimeError(
                f"input image (T: {x.shape[2]} H: {x.shape[3]} W: {x.shape[4]}) smaller than "
                f"kernel size (kT: {kernel[0]} kH: {kernel[1]} kW: {kernel[2]})")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    kernel, stride, padding, pad_hi, _, out = _window_geometry(
        x, kernel_size, stride, padding, 1, ceil_mode, nd, op)
    xp = xp_of(x._data)
    dtype = x._data.dtype
    if dtype.kind != "f":
        raise NotImplementedError(f'"{op}" not implemented for '
                                  f"'{_c_name(dtype)}'")
    divisor = _avg_divisor(xp, dtype, kernel, stride, padding, x.shape[2:], out,
                           count_include_pad, divisor_override)
    geo = _AvgGeometry(kernel, stride, padding, pad_hi, tuple(x.shape[2:]), out, divisor)
    result = _AvgPool.apply(x, geo)
    return result.squeeze(0) if unbatched else result


def _c_name(dtype):
    return {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
            "uint8": "Byte", "bool": "Bool"}.get(dtype.name, dtype.name)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Mean over sliding windows of (N, C, L)."""
    return _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        None, 1)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over sliding windows of (N, C, H, W); zero padding counts in the divisor
    unless count_include_pad=False; divisor_override replaces the divisor."""
    return _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override, 2)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over sliding windows of (N, C, D, H, W)."""
    return _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override, 3)


def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, nd):
    """PyTorch's composition: (sum of x^p over the window) ^ (1/p), through avg_pool."""
    from .activation import relu

    kernel = _expand(kernel_size, nd)
    pooled = _avg_pool_nd(input.pow(norm_type), kernel_size, stride, 0, ceil_mode, True, None,
                          nd)
    return (pooled.sign() * relu(pooled.abs())).mul(math.prod(kernel)).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, L): (sum x^p)^(1/p) per window."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, H, W)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, D, H, W)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)


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


def _adaptive_avg(input, output_size, nd):
    op = f"adaptive_avg_pool{nd}d"
    out = _adaptive_sizes(input, output_size, nd, op)
    spatial = tuple(input.shape[-nd:])
    dims = tuple(range(input.dim() - nd, input.dim()))
    if all(o == 1 for o in out):
        return input.mean(dims, keepdim=True)
    if all(s % o == 0 for s, o in zip(spatial, out)) and input.dim() == nd + 2:
        kernel = tuple(s // o for s, o in zip(spatial, out))
        return _avg_pool_nd(input, kernel, kernel, 0, False, True, None, nd)
    xp = xp_of(input._data)
    result = input
    for axis, (size, o) in zip(dims, zip(spatial, out)):
        start, end = _adaptive_bounds(size, o)
        positions = np.arange(size)
        inside = (positions >= start[:, None]) & (positions < end[:, None])
        weights = inside / (end - start)[:, None]
        matrix = _make(xp.asarray(weights.T.astype(input._data.dtype)))  # (size, o)
        result = result.transpose(axis, -1).matmul(matrix).transpose(axis, -1)
    return result


def adaptive_avg_pool1d(input, output_size):
    """Mean over windows chosen to give ``output_size`` positions from any length."""
    return _adaptive_avg(input, output_size, 1)


def adaptive_avg_pool2d(input, output_size):
    """Mean over windows chosen to give an ``output_size`` (H, W) map from any size; a
    None entry keeps that input size."""
    return _adaptive_avg(input, output_size, 2)


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
    op = f"adaptive_max_pool{nd}d"
    out = _adaptive_sizes(input, output_size, nd, op)
    x, unbatched = (input.unsqueeze(0), True) if input.dim() == nd + 1 else (input, False)
    xp = xp_of(x._data)
    spatial = tuple(x.shape[2:])
    per_dim = []
    for size, o in zip(spatial, out):
        start, end = _adaptive_bounds(size, o)
        width = int((end - start).max()) if o else 1
        rows = np.minimum(start[:, None] + np.arange(width), end[:, None] - 1)
        per_dim.append(xp.asarray(rows.reshape(1, 1, o, width).astype(np.int64)))
    if any(o == 0 for o in out) or x.numel() == 0:
        index = xp.zeros(tuple(x.shape[:2]) + out, dtype=np.int64)
    else:
        index = _max_over_candidates(x._data, _candidate_grid(xp, per_dim, spatial))
    return _finish_max(x, index, unbatched, return_indices)


def _finish_max(x, index, unbatched, return_indices):
    if _grad_enabled[0] and x.requires_grad:
        result = _GatherPlanes.apply(x, index)
    else:
        result = _make(_gather_planes(x._data, index))
    indices = _make(index)
    if unbatched:
        result, indices = result.squeeze(0), indices.squeeze(0)
    return (result, indices) if return_indices else result


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over adaptive windows of (N, C, L)."""
    return _adaptive_max(input, output_size, return_indices, 1)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over adaptive windows of (N, C, H, W)."""
    return _adaptive_max(input, output_size, return_indices, 2)


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
    x, unbatched = (input.unsqueeze(0), True) if input.dim() == nd + 1 else (input, False)
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
    return _finish_max(x, index, unbatched, return_indices)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """Max over pseudo-random windows (Graham, 2014) giving ``output_size`` (or
    ``output_ratio`` times the input size); ``_random_samples`` (N, C, 2) fixes them."""
    return _fractional_max(input, kernel_size, output_size, output_ratio, return_indices,
                           _random_samples, 2)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """Fractional max pooling over (N, C, D, H, W); samples (N, C, 3)."""
    return _fractional_max(input, kernel_size, output_size, output_ratio, return_indices,
                           _random_samples, 3)


fractional_max_pool2d_with_indices = _with_indices(fractional_max_pool2d)
fractional_max_pool3d_with_indices = _with_indices(fractional_max_pool3d)


__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
    "max_pool2d_with_indices", "max_pool3d_with_indices", "max_unpool1d", "max_unpool2d",
    "max_unpool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "lp_pool1d", "lp_pool2d",
    "lp_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices", "fractional_max_pool2d", "fractional_max_pool3d",
    "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices",
]

TENSOR_METHODS: dict = {}
