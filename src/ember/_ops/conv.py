"""Convolution and transposed convolution (im2col + GEMM), fold/unfold.

One N-d implementation serves conv1d/2d/3d. The forward builds the column matrix
through a strided window view of the (padded) input, laid out (groups, C/g * K, N * P)
so each group is one GEMM against the weight; the backward recomputes the columns
instead of keeping them alive (a ResNet-18 step would otherwise hold gigabytes).
grad_input is the adjoint (col2im): a loop over the kernel offsets only, each adding a
strided slice. Three Functions close over each other for double backward:
``_Conv`` (x, w -> y), ``_ConvInputGrad`` (gy, w -> x-shaped: also conv_transpose) and
``_ConvWeightGrad`` (x, gy -> w-shaped); each one's backward is built from the others.
Unfold/Fold are the same im2col/col2im pair, adjoint to each other.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._util import Tensor, _make, xp_of


class _Geometry:
    """Everything a convolution needs besides its arrays: padding is (low, high) per
    dimension so that padding='same' with an even kernel needs no padded copy."""

    __slots__ = ("stride", "pad_lo", "pad_hi", "dilation", "groups", "in_spatial",
                 "kernel", "out_spatial")

    def __init__(self, stride, pad_lo, pad_hi, dilation, groups, in_spatial, kernel,
                 out_spatial):
        self.stride, self.pad_lo, self.pad_hi = stride, pad_lo, pad_hi
        self.dilation, self.groups = dilation, groups
        self.in_spatial, self.kernel, self.out_spatial = in_spatial, kernel, out_spatial


# ---------------------------------------------------------------------------
# array kernels
# ---------------------------------------------------------------------------


def _pad_array(x, pad_lo, pad_hi, value=0):
    """Copy ``x`` (N, C, *S) into a buffer padded per spatial dim with ``value``."""
    if not any(pad_lo) and not any(pad_hi):
        return x
    xp = xp_of(x)
    shape = x.shape[:2] + tuple(s + lo + hi for s, lo, hi in zip(x.shape[2:], pad_lo, pad_hi))
    if value == 0:
        out = xp.zeros(shape, dtype=x.dtype)
    else:
        out = xp.full(shape, value, dtype=x.dtype)
    inner = tuple(slice(lo, lo + s) for lo, s in zip(pad_lo, x.shape[2:]))
    out[(slice(None), slice(None)) + inner] = x
    return out


def _windows(padded, kernel, stride, dilation, out_spatial):
    """A (N, C, *K, *O) view of every window of ``padded`` (no copy)."""
    xp = xp_of(padded)
    strides = padded.strides
    spatial = strides[2:]
    view_strides = (strides[:2] + tuple(s * d for s, d in zip(spatial, dilation))
                    + tuple(s * st for s, st in zip(spatial, stride)))
    shape = padded.shape[:2] + tuple(kernel) + tuple(out_spatial)
    return xp.lib.stride_tricks.as_strided(padded, shape, view_strides)


def _offset_slices(offset, geo_stride, dilation, out_spatial):
    """The slices of a padded input that kernel offset ``offset`` reads for all outputs."""
    return tuple(slice(k * d, k * d + st * (o - 1) + 1, st)
                 for k, d, st, o in zip(offset, dilation, geo_stride, out_spatial))


def _im2col(x, geo):
    """Columns (N, groups, C/g * prod(K), prod(O)), contiguous: one batched GEMM per
    group against the weight gives the output already in (N, C_out, *O) order (measured
    faster than one big (C*K, N*P) GEMM plus an output transpose)."""
    xp = xp_of(x)
    n, c = x.shape[:2]
    g = geo.groups
    rows = (c // g) * math.prod(geo.kernel)
    positions = math.prod(geo.out_spatial)
    if (all(k == 1 for k in geo.kernel) and all(s == 1 for s in geo.stride)
            and tuple(x.shape[2:]) == tuple(geo.out_spatial)):
        return xp.ascontiguousarray(x).reshape(n, g, rows, positions)  # 1x1: no copy
    win = _windows(_pad_array(x, geo.pad_lo, geo.pad_hi), geo.kernel, geo.stride,
                   geo.dilation, geo.out_spatial)
    return xp.ascontiguousarray(win).reshape(n, g, rows, positions)


def _col2im(cols, geo, dtype):
    """Adjoint of the window view: ``cols`` indexable as (N, C, *K, *O) is summed into an
    (N, C, *S) array. Loops over the kernel offsets only, each a strided-slice add."""
    xp = xp_of(cols)
    n, c = cols.shape[:2]
    padded_spatial = tuple(s + lo + hi for s, lo, hi in
                           zip(geo.in_spatial, geo.pad_lo, geo.pad_hi))
    lead = (slice(None), slice(None))
    if all(k == 1 for k in geo.kernel) and all(s == 1 for s in geo.stride) and \
            padded_spatial == tuple(geo.out_spatial):
        out = cols.reshape((n, c) + tuple(geo.out_spatial))
        out = xp.ascontiguousarray(out, dtype=dtype)
    else:
        out = xp.zeros((n, c) + padded_spatial, dtype=dtype)
        for offset in itertools.product(*(range(k) for k in geo.kernel)):
            target = out[lead + _offset_slices(offset, geo.stride, geo.dilation,
                                               geo.out_spatial)]
            target += cols[lead + offset]
    if any(geo.pad_lo) or any(geo.pad_hi):
        out = out[lead + tuple(slice(lo, lo + s) for lo, s in zip(geo.pad_lo, geo.in_spatial))]
        out = xp.ascontiguousarray(out)
    return out


def _grad_by_group(gy, groups):
    """(N, O, *O_sp) -> (N, groups, O/g, P): the layout the batched GEMMs take."""
    n, o = gy.shape[:2]
    positions = math.prod(gy.shape[2:])
    return xp_of(gy).ascontiguousarray(gy).reshape(n, groups, o // groups, positions)


# below this many weight columns (C/g * kH * kW) the row-GEMM form of conv2d wins
_ROW_GEMM_MAX_COLUMNS = 320


# the forward's row GEMMs also win on wide outputs whatever the channel count; the
# weight gradient's per-sample GEMMs only for few columns (measured on ResNet shapes)
_ROW_GEMM_MIN_WIDTH = 14


def _uses_row_gemms(geo, in_channels_per_group, n, for_weight=False):
    if len(geo.kernel) != 2 or geo.groups != 1 or n == 0:
        return False
    if in_channels_per_group * geo.kernel[0] * geo.kernel[1] <= _ROW_GEMM_MAX_COLUMNS:
        return True
    return not for_weight and geo.out_spatial[1] >= _ROW_GEMM_MIN_WIDTH


def _shifted_rows(x, geo):
    """(N, C * kW, sH, Hq * W_out): for each kernel column, the padded rows sampled at
    that column's offset, split by row phase (padded row = phase + sH * q) so that kernel
    row i reads one contiguous range of one phase (see _row_block). Written straight from
    the unpadded input (zero borders): no padded copy, kW times the input in size."""
    xp = xp_of(x)
    n, c, h, w = x.shape
    kw = geo.kernel[1]
    ow = geo.out_spatial[1]
    top, left = geo.pad_lo
    row_stride, col_stride = geo.stride
    padded_height = h + top + geo.pad_hi[0]
    phase_rows = -(-padded_height // row_stride)
    padded_borders = top or geo.pad_hi[0] or left or geo.pad_hi[1]
    rows = (xp.zeros if padded_borders else xp.empty)(
        (n, c, kw, row_stride, phase_rows, ow), dtype=x.dtype)
    for j in range(kw):
        shift = j * geo.dilation[1] - left  # input column read by output column 0
        first = max(0, -(shift // col_stride) if shift < 0 else 0)
        last = min(ow - 1, (w - 1 - shift) // col_stride)
        if last < first:
            continue
        col_start = first * col_stride + shift
        cols = slice(col_start, col_start + (last - first) * col_stride + 1, col_stride)
        for phase in range(row_stride):
            q_first = max(0, -((phase - top) // row_stride))
            q_last = min(phase_rows - 1, (h - 1 + top - phase) // row_stride)
            if q_last < q_first:
                continue
            row_start = phase + row_stride * q_first - top
            rows_in = slice(row_start, row_start + (q_last - q_first) * row_stride + 1,
                            row_stride)
            rows[:, :, j, phase, q_first:q_last + 1, first:last + 1] = x[:, :, rows_in, cols]
    return rows.reshape(n, c * kw, row_stride, phase_rows * ow)


def _row_block(rows, i, geo):
    """Kernel row i's operand (N, C * kW, H_out * W_out): a strided view, no copy."""
    oh, ow = geo.out_spatial
    offset = i * geo.dilation[0]
    phase, q0 = offset % geo.stride[0], offset // geo.stride[0]
    return rows[:, :, phase, q0 * ow:(q0 + oh) * ow]


def _conv2d_row_weight_grad(x, gy, geo, weight_shape):
    """grad_weight from the same shifted-row buffer: per kernel row, per-sample GEMMs
    summed over the batch."""
    xp = xp_of(x)
    n, c = x.shape[:2]
    out_channels = weight_shape[0]
    kh, kw = geo.kernel
    oh, ow = geo.out_spatial
    rows = _shifted_rows(x, geo)
    gy_flat = gy.reshape(n, out_channels, oh * ow)
    per_row = xp.empty((kh, out_channels, c * kw), dtype=rows.dtype)
    for i in range(kh):
        block = _row_block(rows, i, geo)
        per_row[i] = xp.matmul(gy_flat, block.transpose(0, 2, 1)).sum(0)
    grad_w = per_row.reshape(kh, out_channels, c, kw).transpose(1, 2, 0, 3)
    return xp.ascontiguousarray(grad_w)


def _conv2d_row_gemms(x, weight, geo):
    """conv2d (groups 1) without a full im2col: copy only the kW shifted copies of the
    input rows, then one GEMM per kernel row whose operand is a strided view of that
    buffer. The buffer is kH times smaller than im2col's, which wins when C * kH * kW is
    small or the output is wide."""
    xp = xp_of(x)
    n, c = x.shape[:2]
    out_channels = weight.shape[0]
    kh, kw = geo.kernel
    oh, ow = geo.out_spatial
    rows = _shifted_rows(x, geo)
    per_row = xp.ascontiguousarray(weight.transpose(2, 0, 1, 3)).reshape(kh, out_channels,
                                                                          c * kw)
    out = xp.matmul(per_row[0], _row_block(rows, 0, geo))
    partial = xp.empty_like(out) if kh > 1 else None
    for i in range(1, kh):
        xp.matmul(per_row[i], _row_block(rows, i, geo), out=partial)
        out += partial
    return out.reshape((n, out_channels, oh, ow))


def _conv_forward(x, weight, bias, geo):
    xp = xp_of(x)
    n = x.shape[0]
    out_channels = weight.shape[0]
    g = geo.groups
    if _uses_row_gemms(geo, weight.shape[1], n):
        out = _conv2d_row_gemms(x, weight, geo)
        if bias is not None:
            out += bias.reshape(1, -1, 1, 1)
        return out
    cols = _im2col(x, geo)
    w = weight.reshape(g, out_channels // g, -1)
    out = xp.matmul(w, cols)  # (N, g, O/g, P)
    del cols
    out = out.reshape((n, out_channels) + tuple(geo.out_spatial))
    if bias is not None:
        out += bias.reshape((1, -1) + (1,) * len(geo.kernel))
    return out


def _conv_input_grad(gy_grouped, weight, geo, n):
    """gy in group layout (N, g, O/g, P), weight (O, C/g, *K) -> (N, C, *S).

    Stride 1: a "full" convolution of gy with the flipped, channel-swapped weight (a copy
    plus a GEMM, measured ~3x faster than GEMM + col2im's strided adds). Otherwise: GEMM
    to columns, then col2im."""
    xp = xp_of(weight)
    g = geo.groups
    out_channels, cg = weight.shape[:2]
    nd = len(geo.kernel)
    reach = tuple(d * (k - 1) for d, k in zip(geo.dilation, geo.kernel))
    full_lo = tuple(r - lo for r, lo in zip(reach, geo.pad_lo))
    # high-side padding that makes the full convolution's output exactly in_spatial
    full_hi = tuple(i - o + r - lo for i, o, r, lo in
                    zip(geo.in_spatial, geo.out_spatial, reach, full_lo))
    if all(s == 1 for s in geo.stride) and min(full_lo + full_hi) >= 0:
        og = out_channels // g
        flipped = weight[(slice(None), slice(None)) + (slice(None, None, -1),) * nd]
        swapped = flipped.reshape((g, og, cg) + tuple(geo.kernel)).swapaxes(1, 2)
        swapped = xp.ascontiguousarray(swapped).reshape((g * cg, og) + tuple(geo.kernel))
        full = _Geometry(geo.stride, full_lo, full_hi, geo.dilation, g,
                         tuple(geo.out_spatial), tuple(geo.kernel), tuple(geo.in_spatial))
        gy = gy_grouped.reshape((n, out_channels) + tuple(geo.out_spatial))
        return _conv_forward(gy, swapped, None, full)
    w = weight.reshape(g, out_channels // g, -1)
    gcols = xp.matmul(w.transpose(0, 2, 1), gy_grouped)  # (N, g, C/g * K, P)
    gcols = gcols.reshape((n, g * cg) + tuple(geo.kernel) + tuple(geo.out_spatial))
    return _col2im(gcols, geo, gcols.dtype)


def _conv_weight_grad(x, gy_grouped, geo, weight_shape):
    """One GEMM per group contracting over batch and positions together:
    columns (g, C/g * K, N * P) @ gy (g, N * P, O/g). The columns are rebuilt from x here
    rather than kept from the forward (they are prod(K) times the input)."""
    xp = xp_of(x)
    n, c = x.shape[:2]
    g = geo.groups
    if _uses_row_gemms(geo, c // g, n, for_weight=True):
        gy = gy_grouped.reshape((n, -1) + tuple(geo.out_spatial))
        return _conv2d_row_weight_grad(x, gy, geo, weight_shape)
    rows = (c // g) * math.prod(geo.kernel)
    if (all(k == 1 for k in geo.kernel) and all(s == 1 for s in geo.stride)
            and tuple(x.shape[2:]) == tuple(geo.out_spatial)):
        flat = x.reshape(n, c, math.prod(x.shape[2:]))
        cols = xp.ascontiguousarray(flat.transpose(1, 0, 2))
    else:
        nd = len(geo.kernel)
        win = _windows(_pad_array(x, geo.pad_lo, geo.pad_hi), geo.kernel, geo.stride,
                       geo.dilation, geo.out_spatial)
        order = (1,) + tuple(range(2, 2 + nd)) + (0,) + tuple(range(2 + nd, 2 + 2 * nd))
        cols = xp.ascontiguousarray(win.transpose(order))
    cols = cols.reshape(g, rows, n * math.prod(geo.out_spatial))
    og = gy_grouped.shape[2]
    gy_rows = xp.ascontiguousarray(gy_grouped.transpose(1, 2, 0, 3)).reshape(g, og, cols.shape[2])
    grad_w_t = xp.matmul(cols, gy_rows.transpose(0, 2, 1))  # (g, C/g * K, O/g)
    del cols
    return xp.ascontiguousarray(grad_w_t.transpose(0, 2, 1)).reshape(weight_shape)


def _bias_grad(grad):
    return grad.sum((0,) + tuple(range(2, grad.ndim)))


# ---------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------


class _Conv(Function):
    """y = conv(x, w) + b."""

    _array_io = True
    _node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, geo):
        ctx.geo = geo
        needs = ctx.needs_input_grad
        if needs[0] or needs[1]:
            ctx.save_for_backward(x if needs[1] else None, weight if needs[0] else None)
        return _conv_forward(x, weight, bias, geo)

    @staticmethod
    def backward(ctx, grad):
        geo = ctx.geo
        needs = ctx.needs_input_grad
        x, weight = ctx.saved_tensors if (needs[0] or needs[1]) else (None, None)
        grad_x = grad_w = grad_b = None
        if _grad_enabled[0]:  # create_graph: recorded ops, so double backward sees them
            if needs[0]:
                grad_x = _ConvInputGrad.apply(grad, weight, None, geo, x.shape[1])
            if needs[1]:
                grad_w = _ConvWeightGrad.apply(x, grad, geo, tuple(weight_shape_of(ctx, x,
                                                                                  grad)))
            if needs[2]:
                grad_b = _bias_grad(grad)
            return grad_x, grad_w, grad_b, None
        g = grad._data
        grouped = _grad_by_group(g, geo.groups) if (needs[0] or needs[1]) else None
        if needs[0]:
            grad_x = _make(_conv_input_grad(grouped, weight._data, geo, g.shape[0]))
        if needs[1]:
            grad_w = _make(_conv_weight_grad(x._data, grouped, geo,
                                             weight_shape_of(ctx, x, grad)))
        if needs[2]:
            grad_b = _make(_bias_grad(g))
        return grad_x, grad_w, grad_b, None


def weight_shape_of(ctx, x, grad):
    """(O, C/g, *K) from the saved geometry and the arrays at hand."""
    geo = ctx.geo
    return (grad.shape[1], x.shape[1] // geo.groups) + tuple(geo.kernel)


class _ConvInputGrad(Function):
    """x-shaped result of the conv adjoint: grad_input of conv, and conv_transpose."""

    _array_io = True
    _node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, gy, weight, bias, geo, in_channels):
        ctx.geo = geo
        needs = ctx.needs_input_grad
        if needs[0] or needs[1]:
            ctx.save_for_backward(gy if needs[1] else None, weight)
        grouped = _grad_by_group(gy, geo.groups)
        out = _conv_input_grad(grouped, weight, geo, gy.shape[0])
        if bias is not None:
            out += bias.reshape((1, -1) + (1,) * len(geo.kernel))
        return out

    @staticmethod
    def backward(ctx, grad):
        geo = ctx.geo
        needs = ctx.needs_input_grad
        gy, weight = ctx.saved_tensors if (needs[0] or needs[1]) else (None, None)
        grad_gy = grad_w = grad_b = None
        if needs[0]:
            grad_gy = _Conv.apply(grad, weight, None, geo)
        if needs[1]:
            grad_w = _ConvWeightGrad.apply(grad, gy, geo, tuple(weight.shape))
        if needs[2]:
            grad_b = _bias_grad(grad)
        return grad_gy, grad_w, grad_b, None, None


class _ConvWeightGrad(Function):
    """w-shaped grad of conv: sum over batch and positions of gy * columns(x)."""

    _array_io = True
    _node_name = "ConvolutionBackwardBackward0"

    @staticmethod
    def forward(ctx, x, gy, geo, weight_shape):
        ctx.geo = geo
        ctx.save_for_backward(x, gy)
        return _conv_weight_grad(x, _grad_by_group(gy, geo.groups), geo, weight_shape)

    @staticmethod
    def backward(ctx, grad):
        geo = ctx.geo
        x, gy = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_x = _ConvInputGrad.apply(gy, grad, None, geo, x.shape[1]) if needs[0] else None
        grad_gy = _Conv.apply(x, grad, None, geo) if needs[1] else None
        return grad_x, grad_gy, None, None


# ---------------------------------------------------------------------------
# argument handling
# ---------------------------------------------------------------------------


def _expand(value, nd, name, op_dims=None):
    """An int or a sequence of nd ints, as conv's argument parsing words its errors."""
    if isinstance(value, Tensor):
        value = value.tolist()
    if isinstance(value, (int, np.integer)):
        return (int(value),) * nd
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * nd
    if len(value) != nd:
        raise RuntimeError(
            f"expected {name} to be a single integer value or a list of {nd} values to match "
            f"the convolution dimensions, but got {name}={list(value)}")
    return value


def _dims_str(values):
    return " x ".join(str(v) for v in values)


def _check_input_dims(x, nd, op):
    if x.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {op}, but got "
            f"input of size: {list(x.shape)}")
    return x.dim() == nd + 1


def _legacy_name(tensor):
    from .._backend import from_numpy_dtype
    from ..autograd.function import _legacy_type

    return f"torch.{_legacy_type(from_numpy_dtype(tensor._data.dtype))}"


def _check_dtypes(x, weight, bias):
    if x._data.dtype != weight._data.dtype:
        raise RuntimeError(
            f"Input type ({_legacy_name(x)}) and weight type ({_legacy_name(weight)}) should "
            f"be the same or input should be a MKLDNN tensor and weight is a dense tensor")
    if bias is not None and bias._data.dtype != x._data.dtype:
        raise RuntimeError(
            f"Input type ({_legacy_name(x)}) and bias type ({_legacy_name(bias)}) should be "
            f"the same")


def _conv_nd(x, weight, bias, stride, padding, dilation, groups, nd):
    op = f"conv{nd}d"
    unbatched = _check_input_dims(x, nd, op)
    if unbatched:
        x = x.unsqueeze(0)
    stride = _expand(stride, nd, "stride")
    dilation = _expand(dilation, nd, "dilation")
    if weight.dim() != nd + 2:
        raise RuntimeError(
            f"Expected {nd + 2}-dimensional input for {nd + 2}-dimensional weight "
            f"{list(weight.shape)}, but got {x.dim()}-dimensional input of size "
            f"{list(x.shape)} instead")
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pad_lo = pad_hi = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            total = tuple(d * (k - 1) for d, k in zip(dilation, kernel))
            pad_lo = tuple(t // 2 for t in total)
            pad_hi = tuple(t - lo for t, lo in zip(total, pad_lo))
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pad_lo = pad_hi = _expand(padding, nd, "padding")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in pad_lo):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    out_channels, cg = weight.shape[:2]
    if out_channels % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension "
            f"0, but got weight of size [{list(weight.shape)}] instead")
    if x.shape[1] != cg * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
            f"input{list(x.shape)} to have {cg * groups} channels, but got {x.shape[1]} "
            f"channels instead")
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != out_channels):
        raise RuntimeError(
            f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional "
            f"with {out_channels} elements, but got bias of size {list(bias.shape)} instead")
    _check_dtypes(x, weight, bias)
    in_spatial = tuple(x.shape[2:])
    padded = tuple(s + lo + hi for s, lo, hi in zip(in_spatial, pad_lo, pad_hi))
    effective = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if any(p < e for p, e in zip(padded, effective)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({_dims_str(padded)}). Kernel size: "
            f"({_dims_str(effective)}). Kernel size can't be greater than actual input size")
    out_spatial = tuple((p - e) // s + 1 for p, e, s in zip(padded, effective, stride))
    geo = _Geometry(stride, pad_lo, pad_hi, dilation, groups, in_spatial, kernel, out_spatial)
    out = _Conv.apply(x, weight, bias, geo)
    return out.squeeze(0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over (N, C_in, L) with weight (C_out, C_in/groups, K)."""
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution over (N, C_in, H, W) with weight (C_out, C_in/groups, kH, kW).

    padding may be an int, a pair, 'valid' or 'same' (stride 1 only; an even kernel pads
    one more on the high side, as PyTorch).

    Example::

        >>> F.conv2d(torch.randn(1, 3, 8, 8), torch.randn(4, 3, 3, 3), padding=1).shape
        torch.Size([1, 4, 8, 8])
    """
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 2)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution over (N, C_in, D, H, W) with weight (C_out, C_in/groups, kD, kH, kW)."""
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 3)


def _conv_transpose_nd(x, weight, bias, stride, padding, output_padding, groups, dilation,
                       nd, output_size=None):
    op = f"conv_transpose{nd}d"
    unbatched = _check_input_dims(x, nd, op)
    if unbatched:
        x = x.unsqueeze(0)
    stride = _expand(stride, nd, "stride")
    padding = _expand(padding, nd, "padding")
    dilation = _expand(dilation, nd, "dilation")
    output_padding = _expand(output_padding, nd, "output_padding")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    if any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if weight.dim() != nd + 2:
        raise RuntimeError(
            f"Expected {nd + 2}-dimensional input for {nd + 2}-dimensional weight "
            f"{list(weight.shape)}, but got {x.dim()}-dimensional input of size "
            f"{list(x.shape)} instead")
    in_channels, cg = weight.shape[:2]
    if in_channels % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension "
            f"0, but got weight of size [{list(weight.shape)}] instead")
    if x.shape[1] != in_channels:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected "
            f"input{list(x.shape)} to have {in_channels} channels, but got {x.shape[1]} "
            f"channels instead")
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != cg * groups):
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to be "
            f"1-dimensional with {cg * groups} elements, but got bias of size "
            f"{list(bias.shape)} instead")
    if any(op_ >= s and op_ >= d for op_, s, d in zip(output_padding, stride, dilation)):
        names = ["depth", "height", "width"][3 - nd:] if nd > 1 else ["width"]
        parts = [f"output_padding_{n}: {v}" for n, v in zip(names, output_padding)]
        parts += [f"stride_{n}: {v}" for n, v in zip(names, stride)]
        parts += [f"dilation_{n}: {v}" for n, v in zip(names, dilation)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, "
                           "but got " + " ".join(parts))
    _check_dtypes(x, weight, bias)
    kernel = tuple(weight.shape[2:])
    grad_spatial = tuple(x.shape[2:])
    in_spatial = tuple((i - 1) * s - 2 * p + d * (k - 1) + op_ + 1 for i, s, p, d, k, op_ in
                       zip(grad_spatial, stride, padding, dilation, kernel, output_padding))
    if any(s <= 0 for s in in_spatial):
        raise RuntimeError(
            f"Given input size per channel: ({_dims_str(grad_spatial)}). Calculated output "
            f"size per channel: ({_dims_str(in_spatial)}). Output size is too small")
    geo = _Geometry(stride, padding, padding, dilation, groups, in_spatial, kernel,
                    grad_spatial)
    out = _ConvInputGrad.apply(x, weight, bias, geo, cg * groups)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """Transposed 1-D convolution (the adjoint of conv1d); weight (C_in, C_out/groups, K)."""
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                              dilation, 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """Transposed 2-D convolution; output size (I - 1) * s - 2p + d * (k - 1) + op + 1.

    Example::

        >>> F.conv_transpose2d(torch.randn(1, 4, 5, 5), torch.randn(4, 2, 3, 3), stride=2).shape
        torch.Size([1, 2, 11, 11])
    """
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                              dilation, 2)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """Transposed 3-D convolution; weight (C_in, C_out/groups, kD, kH, kW)."""
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                              dilation, 3)


# ---------------------------------------------------------------------------
# unfold / fold
# ---------------------------------------------------------------------------


def _unfold_array(x, geo):
    n, c = x.shape[:2]
    xp = xp_of(x)
    win = _windows(_pad_array(x, geo.pad_lo, geo.pad_hi), geo.kernel, geo.stride,
                   geo.dilation, geo.out_spatial)
    return xp.ascontiguousarray(win).reshape(n, c * math.prod(geo.kernel),
                                             math.prod(geo.out_spatial))


def _fold_array(cols, geo):
    n = cols.shape[0]
    c = cols.shape[1] // math.prod(geo.kernel)
    view = cols.reshape((n, c) + tuple(geo.kernel) + tuple(geo.out_spatial))
    return _col2im(view, geo, cols.dtype)


class _Unfold(Function):
    _array_io = True
    _node_name = "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, geo):
        ctx.geo = geo
        return _unfold_array(x, geo)

    @staticmethod
    def backward(ctx, grad):
        return _Fold.apply(grad, ctx.geo), None


class _Fold(Function):
    _array_io = True
    _node_name = "Col2ImBackward0"

    @staticmethod
    def forward(ctx, cols, geo):
        ctx.geo = geo
        return _fold_array(cols, geo)

    @staticmethod
    def backward(ctx, grad):
        return _Unfold.apply(grad, ctx.geo), None


def _pair(value):
    if isinstance(value, (int, np.integer)):
        return (int(value),) * 2
    return tuple(int(v) for v in value)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding blocks: (N, C, H, W) -> (N, C * kH * kW, L), L the block count."""
    if input.dim() not in (3, 4):
        raise NotImplementedError(
            f"Input Error: Only 3D or 4D input Tensors are supported (got {input.dim()}D)")
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    kernel, dilation, padding, stride = (_pair(kernel_size), _pair(dilation), _pair(padding),
                                         _pair(stride))
    spatial = tuple(x.shape[2:])
    blocks = tuple((s + 2 * p - d * (k - 1) - 1) // st + 1 for s, p, d, k, st in
                   zip(spatial, padding, dilation, kernel, stride))
    if any(b < 1 for b in blocks):
        raise RuntimeError(
            f"Given input with spatial size {spatial}, kernel_size={kernel}, "
            f"dilation={dilation}, padding={padding}, calculated shape of the array of "
            f"sliding blocks as {blocks}, but its components must be at least one.")
    geo = _Geometry(stride, padding, padding, dilation, 1, spatial, kernel, blocks)
    out = _Unfold.apply(x, geo)
    return out.squeeze(0) if unbatched else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum sliding blocks back: (N, C * kH * kW, L) -> (N, C, *output_size); the adjoint of
    unfold (overlaps add up)."""
    if input.dim() not in (2, 3):
        raise NotImplementedError(
            f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported "
            f"(got {input.dim()}D)")
    unbatched = input.dim() == 2
    cols = input.unsqueeze(0) if unbatched else input
    output_size = _pair(output_size)
    kernel, dilation, padding, stride = (_pair(kernel_size), _pair(dilation), _pair(padding),
                                         _pair(stride))
    blocks = tuple((s + 2 * p - d * (k - 1) - 1) // st + 1 for s, p, d, k, st in
                   zip(output_size, padding, dilation, kernel, stride))
    kprod = math.prod(kernel)
    if cols.shape[1] % kprod:
        raise RuntimeError(
            f"Expected size of input's dimension 1 to be divisible by the product of "
            f"kernel_size, but got input.size(1)={cols.shape[1]} and "
            f"kernel_size={kernel}")
    if cols.shape[2] != math.prod(blocks):
        raise RuntimeError(
            f"Given output_size={output_size}, kernel_size={kernel}, dilation={dilation}, "
            f"padding={padding}, stride={stride}, expected size of input's dimension 2 to "
            f"match the calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
            f"{math.prod(blocks)}, but got input.size(2)={cols.shape[2]}.")
    geo = _Geometry(stride, padding, padding, dilation, 1, output_size, kernel, blocks)
    out = _Fold.apply(cols, geo)
    return out.squeeze(0) if unbatched else out


__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "unfold", "fold"]

TENSOR_METHODS: dict = {}
