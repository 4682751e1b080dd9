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

from .._memory_format import as_format, suggest_format
from ..autograd.grad_mode import _grad_enabled
from . import _pool_cuda
from ._autocast import float32_in_autocast
from ._conv_kernels import _expand, _offset_slices, _pad_array
from ._pool_adaptive import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d,
                             adaptive_max_pool1d, adaptive_max_pool1d_with_indices,
                             adaptive_max_pool2d, adaptive_max_pool2d_with_indices,
                             adaptive_max_pool3d, adaptive_max_pool3d_with_indices,
                             fractional_max_pool2d, fractional_max_pool2d_with_indices,
                             fractional_max_pool3d, fractional_max_pool3d_with_indices)
from ._pool_planes import _GatherPlanes, _ScatterPlanes, _with_indices
from ._linear_pair import _LinearMap, linear_map_pair
from ._quantized_dispatch import quantized_call
from ._util import _make, type_name, xp_of

# ---------------------------------------------------------------------------
# argument handling
# ---------------------------------------------------------------------------


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
        if op == "max_pool1d" and not return_indices:
            raise RuntimeError(f"max_pool1d() Invalid computed output size: {min(out)}")
        row = (1,) if nd == 1 else ()  # 1-d pools run as 2-d ones over a (1, L) plane
        dims = "x".join(str(v) for v in (x.shape[1],) + row + spatial)
        outs = "x".join(str(v) for v in (x.shape[1],) + row + out)
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
    if dtype.kind in "fV":  # V: ml_dtypes' bfloat16
        return -np.inf
    return np.iinfo(dtype).min


def _max_pool_arrays(x, kernel, stride, padding, pad_hi, dilation, out, want_index):
    """Running max over the kernel offsets; the flat per-plane index of the winner (the
    first maximum in scan order, a NaN wins as in PyTorch) when ``want_index``."""
    xp = xp_of(x)
    fused = _pool_cuda.max_pool2d(x, kernel, stride, padding, dilation, out)
    if fused is not None:  # one kernel on a GPU (see _pool_cuda)
        values, index = fused
        return _keep_format(values, x), (_keep_format(index, x) if want_index else None)
    padded = _pad_array(x, padding, pad_hi, _lowest(x.dtype))
    lead = (slice(None), slice(None))
    offsets = list(itertools.product(*(range(k) for k in kernel)))
    windows = [padded[lead + _offset_slices(offset, stride, dilation, out)]
               for offset in offsets]
    best = windows[0].copy()
    for window in windows[1:]:
        xp.maximum(best, window, out=best)  # propagates NaN, as PyTorch's max pool
    if not want_index:
        return _keep_format(best, x), None
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
    return _keep_format(best, x), _keep_format(index, x)


def _keep_format(out, x):
    """A channels-last input pools to a channels-last result (and indices), as PyTorch."""
    fmt = suggest_format(x)
    return out if fmt is None else as_format(out, fmt, xp_of(out))


def _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                 nd):
    if input.is_quantized:  # torch's quantized max pool: on the integers, quantizer kept
        return quantized_call(_max_pool_nd, "ints", input, kernel_size, stride, padding,
                              dilation, ceil_mode, return_indices, nd)
    op = f"max_pool{nd}d"
    x, unbatched = _batched(input, nd, op)
    geometry = _window_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, nd, op,
                                return_indices)
    if x._data.dtype.kind in "iub" and x.device.type == "cuda":  # floating kernels only
        kernel_name = ("max_pool3d_with_indices_out_frame" if nd == 3
                       else "max_pool2d_with_indices_out_cuda_frame")
        raise NotImplementedError(f'"{kernel_name}" not implemented for '
                                  f"'{type_name(x._data.dtype)}'")
    source = input  # the node's input: unbatched too, as PyTorch's kernels take it
    if nd == 1:  # PyTorch pools (N, C, L) as (N, C, 1, L) and squeezes the row away
        source = input.unsqueeze(-2)
        geometry = _as_rows(geometry)
    kernel, stride, padding, pad_hi, dilation, out = geometry
    data = source._data[None] if unbatched else source._data
    recording = _grad_enabled[0] and input._requires_grad
    values, index = _max_pool_arrays(data, kernel, stride, padding, pad_hi, dilation, out,
                                     return_indices or recording)
    if unbatched:
        values = values[0]
    if recording:
        disjoint = all(s >= d * (k - 1) + 1 for s, d, k in zip(stride, dilation, kernel))
        node = "MaxPool3DWithIndicesBackward0" if nd == 3 else "MaxPool2DWithIndicesBackward0"
        result = _GatherPlanes.apply(source, index, values, disjoint, node=node,
                                     shape=data.shape)
    else:
        result = _make(values)
    if nd == 1:
        result = result.squeeze(-2)
    if not return_indices:
        return result
    if nd == 1:
        index = index[:, :, 0]
    return result, _make(index[0] if unbatched else index)


def _as_rows(geometry):
    """1-d window geometry as the 2-d geometry of rows of height 1."""
    kernel, stride, padding, pad_hi, dilation, out = geometry
    return ((1,) + kernel, (1,) + stride, (0,) + padding, (0,) + pad_hi, (1,) + dilation,
            (1,) + out)


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


@float32_in_autocast
def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of (N, C, D, H, W)."""
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode,
                        return_indices, 3)


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
    if nd == 1:  # as PyTorch: unpool rows of height 1, then squeeze the row away
        x, index_data, spatial = x.unsqueeze(2), index_data[:, :, None], (1,) + spatial
    node = "MaxUnpool3DBackward0" if nd == 3 else "MaxUnpool2DBackward0"
    out = _ScatterPlanes.apply(x, index_data, tuple(x.shape[:2]) + spatial, False, node=node)
    if nd == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool1d: values go back to their indices, zeros elsewhere."""
    return _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, 1)


@float32_in_autocast
def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool2d; output size (I - 1) * s - 2p + k unless given."""
    return _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, 2)


@float32_in_autocast
def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool3d."""
    return _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, 3)


# ---------------------------------------------------------------------------
# average pooling
# ---------------------------------------------------------------------------


class _AvgGeometry:
    __slots__ = ("kernel", "stride", "pad_lo", "pad_hi", "in_spatial", "out_spatial",
                 "divisor", "node")

    def __init__(self, kernel, stride, pad_lo, pad_hi, in_spatial, out_spatial, divisor,
                 node):
        self.kernel, self.stride, self.pad_lo, self.pad_hi = kernel, stride, pad_lo, pad_hi
        self.in_spatial, self.out_spatial, self.divisor = in_spatial, out_spatial, divisor
        self.node = node  # PyTorch's name for the pool's node (AvgPool2DBackward0, ...)


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
    if x.ndim == len(geo.kernel) + 1:  # one unbatched sample
        return _avg_pool_array(x[None], geo)[0]
    padded = _pad_array(x, geo.pad_lo, geo.pad_hi)
    lead = (slice(None), slice(None))
    total = None
    low = x.dtype.kind == "V"  # bfloat16: sum in float32, as PyTorch's kernel
    for offset in itertools.product(*(range(k) for k in geo.kernel)):
        window = padded[lead + _offset_slices(offset, geo.stride, (1,) * len(geo.kernel),
                                              geo.out_spatial)]
        if total is None:
            total = window.astype(np.float32) if low else window.copy()
        else:
            total += window
    total /= geo.divisor
    return _keep_format(total.astype(x.dtype) if low else total, x)


def _avg_pool_adjoint_array(grad, geo):
    if grad.ndim == len(geo.kernel) + 1:  # one unbatched sample
        return _avg_pool_adjoint_array(grad[None], geo)[0]
    xp = xp_of(grad)
    low = grad.dtype.kind == "V"  # bfloat16: sum the shares in float32, cast back at the end
    share = (grad / geo.divisor).astype(np.float32) if low else grad / geo.divisor
    padded_spatial = tuple(s + lo + hi for s, lo, hi in
                           zip(geo.in_spatial, geo.pad_lo, geo.pad_hi))
    out = xp.zeros(grad.shape[:2] + padded_spatial, dtype=share.dtype)
    lead = (slice(None), slice(None))
    for offset in itertools.product(*(range(k) for k in geo.kernel)):
        target = out[lead + _offset_slices(offset, geo.stride, (1,) * len(geo.kernel),
                                           geo.out_spatial)]
        target += share
    inner = tuple(slice(lo, lo + s) for lo, s in zip(geo.pad_lo, geo.in_spatial))
    out = out[lead + inner]
    return out.astype(grad.dtype) if low else xp.ascontiguousarray(out)


class _AvgPool(_LinearMap):
    """Average pooling: a linear map of the input."""

    def name(self):
        return self.geo.node


class _AvgPoolAdjoint(_LinearMap):
    """Its adjoint: each output's share spread back over its window (the pool's gradient)."""

    def name(self):
        return self.geo.node.replace("Backward0", "BackwardBackward0")


linear_map_pair(_avg_pool_array, _avg_pool_adjoint_array, _AvgPool, _AvgPoolAdjoint)


def _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                 divisor_override, nd, node=None):
    if input.is_quantized:  # torch's quantized avg pool: requantized with input's params
        return quantized_call(_avg_pool_nd, "centred", input, kernel_size, stride, padding,
                              ceil_mode, count_include_pad, divisor_override, nd, node)
    op = f"avg_pool{nd}d"
    x, _ = _batched(input, nd, op)
    if nd == 3:
        kernel = _expand(kernel_size, 3)
        if any(s < k for s, k in zip(x.shape[2:], kernel)) and not any(_expand(padding, 3)):
            raise RuntimeError(
                f"input image (T: {x.shape[2]} H: {x.shape[3]} W: {x.shape[4]}) smaller than "
                f"kernel size (kT: {kernel[0]} kH: {kernel[1]} kW: {kernel[2]})")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    geometry = _window_geometry(x, kernel_size, stride, padding, 1, ceil_mode, nd, op)
    xp = xp_of(x._data)
    dtype = x._data.dtype
    if dtype.kind != "f" and not (dtype.kind == "V" and nd < 3):  # bfloat16: 1-d/2-d only
        raise NotImplementedError(f'"{op}" not implemented for '
                                  f"'{_c_name(dtype)}'")
    source = input  # the node's input: unbatched too, as PyTorch's kernels take it
    if nd == 1:  # PyTorch pools (N, C, L) as (N, C, 1, L) and squeezes the row away
        source = input.unsqueeze(-2)
        geometry = _as_rows(geometry)
    kernel, stride, padding, pad_hi, _, out = geometry
    spatial = tuple(source.shape[-len(kernel):])
    divisor = _avg_divisor(xp, dtype, kernel, stride, padding, spatial, out,
                           count_include_pad, divisor_override)
    node = node or ("AvgPool3DBackward0" if nd == 3 else "AvgPool2DBackward0")
    geo = _AvgGeometry(kernel, stride, padding, pad_hi, spatial, out, divisor, node)
    result = _AvgPool.apply(source, geo)
    return result.squeeze(-2) if nd == 1 else result


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


@float32_in_autocast
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
