"""Array kernels of the convolution family (NumPy or CuPy arrays in, arrays out).

Layouts, chosen by measurement on LeNet/ResNet shapes (see bench/bench_cnn.py):

- im2col: a strided window view of the padded input copied to (N, g, C/g * K, P); one
  batched GEMM per group gives the output directly in (N, C_out, *O) order.
- conv2d "row GEMMs": only the kW shifted copies of the input rows are materialised
  (kH times less copying than im2col) and each kernel row is one GEMM on a strided view
  of that buffer; used when C * kH * kW is small or the output is wide.
- grad_input: for stride 1 a full convolution with the flipped weight; otherwise a GEMM
  to columns and col2im, a loop over kernel offsets adding strided slices.
- grad_weight: one GEMM per group over batch * positions, columns recomputed from the
  input rather than kept alive from the forward.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from .._backend.dtypes import bfloat16 as _bfloat16
from ._util import Tensor, xp_of


def _bfloat16_as_float32_on_device(kernel):
    """CuPy's batched matmul has no bfloat16 kernel (it takes ml_dtypes' 'E' for an
    integer type it cannot name): on a device, bfloat16 arrays go in as float32. The
    result is float32, as NumPy's bfloat16 GEMM returns it; the callers cast back."""

    @functools.wraps(kernel)
    def run(*args, **kwargs):
        if _BF16 is None or not any(getattr(a, "dtype", None) == _BF16 for a in args) or \
                xp_of(next(a for a in args if hasattr(a, "dtype"))) is np:
            return kernel(*args, **kwargs)
        return kernel(*(a.astype(np.float32) if getattr(a, "dtype", None) == _BF16 else a
                        for a in args), **kwargs)

    return run


_BF16 = _bfloat16.np  # None without ml_dtypes


def _expand(value, nd, name=None):
    """An int (or a Tensor, or a sequence of one or nd ints) as nd ints: the argument parsing
    conv and pooling share. With ``name`` (conv), a sequence of another length raises
    conv's error; pooling (no ``name``) leaves that to its own checks."""
    if isinstance(value, Tensor):
        value = value.tolist()
    if isinstance(value, (int, np.integer)):
        return (int(value),) * nd
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * nd
    if name is not None and len(value) != nd:
        raise RuntimeError(
            f"expected {name} to be a single integer value or a list of {nd} values to match "
            f"the convolution dimensions, but got {name}={list(value)}")
    return value


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
    if _is_pointwise(geo, x.shape[2:]):
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


# Output positions per sample below which the forward folds the batch into one GEMM
# (columns (C * K, N * P)): per-sample GEMMs with so few columns run OpenBLAS at a third
# of its rate (ResNet-18's 512-channel 7x7 stage: 30 -> 21 ms at batch 8).
_FOLD_MAX_POSITIONS = 64
# ... but only from this many weight columns (C/g * prod(K)) on when row GEMMs are the
# alternative: they stay faster up to 128 channels (64 ch on 8x8: 1.6 vs 2.6 ms at batch
# 32), folding wins from 256 (256 ch on 7x7: 5.7 vs 6.5 ms at batch 8)
_FOLD_MIN_COLUMNS = 2048


def _is_pointwise(geo, in_spatial):
    """1x1 kernel, stride 1, no padding: the input already is the column matrix."""
    return (all(k == 1 for k in geo.kernel) and all(s == 1 for s in geo.stride)
            and tuple(in_spatial) == tuple(geo.out_spatial))


def _uses_row_gemms(geo, x):
    """conv2d with one group and a kernel wider than 1x1, float32/64, on NumPy: the
    row-GEMM form (measured faster than im2col on every LeNet/ResNet shape, forward and
    weight gradient, and kW rather than kH * kW times the input in memory). Not on a GPU,
    where its kH GEMMs and kW copies are that many kernel launches against im2col's one
    copy and one GEMM (LeNet's step was launch-bound on an H200)."""
    return (xp_of(x) is np and len(geo.kernel) == 2 and geo.groups == 1 and x.shape[0] > 0
            and not _is_pointwise(geo, x.shape[2:]) and x.dtype.kind == "f"
            and x.dtype.itemsize >= 4)


def _row_adds_dominate(geo, in_channels, out_channels):
    """Whether the row-GEMM forward's kH - 1 output-sized accumulations cost more than
    im2col's kH times larger copy: a tall kernel over few input channels (ResNet-18's
    7x7 stem on RGB: 50 -> 36 ms at batch 8; measured crossover about 1.5)."""
    kh, kw = geo.kernel
    return (kh - 1) * out_channels > 1.5 * in_channels * kh * kw


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


def _conv2d_row_weight_grad(x, gy, geo, weight_shape, rows=None):
    """grad_weight from the same shifted-row buffer (the forward's when it kept it): per
    kernel row, per-sample GEMMs block @ gy^T (this orientation measured 10-30% faster
    than gy @ block^T) summed over the batch."""
    xp = xp_of(x)
    n, c = x.shape[:2]
    out_channels = weight_shape[0]
    kh, kw = geo.kernel
    oh, ow = geo.out_spatial
    if rows is None:
        rows = _shifted_rows(x, geo)
    gy_t = gy.reshape(n, out_channels, oh * ow).transpose(0, 2, 1)
    per_row = xp.empty((kh, c * kw, out_channels), dtype=rows.dtype)
    for i in range(kh):
        xp.matmul(_row_block(rows, i, geo), gy_t).sum(0, out=per_row[i])
    grad_w = per_row.reshape(kh, c, kw, out_channels).transpose(3, 1, 0, 2)
    return xp.ascontiguousarray(grad_w)


def _conv2d_row_gemms(x, weight, geo, saved=None):
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
    if saved is not None:
        saved.append(rows)
    per_row = xp.ascontiguousarray(weight.transpose(2, 0, 1, 3)).reshape(kh, out_channels,
                                                                          c * kw)
    out = xp.matmul(per_row[0], _row_block(rows, 0, geo))
    partial = xp.empty_like(out) if kh > 1 else None
    for i in range(1, kh):
        xp.matmul(per_row[i], _row_block(rows, i, geo), out=partial)
        out += partial
    return out.reshape((n, out_channels, oh, ow))


def _group_gemm(xp, a, b):
    """(g, m, k) @ (g, k, n). One group is a 2-d GEMM: CuPy's batched matmul cost ~120 us
    of host time a call on an H200 machine (LeNet's profile), a 2-d one ~17 us."""
    if a.shape[0] == 1 and b.shape[0] == 1:
        return xp.matmul(a[0], b[0])[None]
    return xp.matmul(a, b)


def _folded_columns(x, geo):
    """Columns (g, C/g * prod(K), N * P) with the batch folded into the GEMM's columns:
    the layout of one GEMM per group over the whole batch."""
    xp = xp_of(x)
    n, c = x.shape[:2]
    g = geo.groups
    rows = (c // g) * math.prod(geo.kernel)
    if _is_pointwise(geo, x.shape[2:]):
        flat = x.reshape(n, c, math.prod(x.shape[2:]))
        cols = xp.ascontiguousarray(flat.transpose(1, 0, 2))
    else:
        nd = len(geo.kernel)
        win = _windows(_pad_array(x, geo.pad_lo, geo.pad_hi), geo.kernel, geo.stride,
                       geo.dilation, geo.out_spatial)
        order = (1,) + tuple(range(2, 2 + nd)) + (0,) + tuple(range(2 + nd, 2 + 2 * nd))
        cols = xp.ascontiguousarray(win.transpose(order))
    return cols.reshape(g, rows, n * math.prod(geo.out_spatial))


@_bfloat16_as_float32_on_device
def _conv_forward(x, weight, bias, geo, saved=None):
    """conv(x, w) + b. A list ``saved`` receives the row-GEMM buffer when that form is
    used, for the weight gradient to reuse (kW times the input: a small price for not
    copying it again)."""
    xp = xp_of(x)
    n = x.shape[0]
    out_channels = weight.shape[0]
    g = geo.groups
    positions = math.prod(geo.out_spatial)
    w = weight.reshape(g, out_channels // g, -1)
    rows = _uses_row_gemms(geo, x) and not _row_adds_dominate(geo, x.shape[1], out_channels)
    if ((n > 1 and positions < _FOLD_MAX_POSITIONS and not _is_pointwise(geo, x.shape[2:])
            and (not rows or w.shape[2] >= _FOLD_MIN_COLUMNS))
            or (g == 1 and n > 0 and xp is not np)):  # a GPU: one 2-d GEMM, see _group_gemm
        out = _group_gemm(xp, w, _folded_columns(x, geo))  # (g, O/g, N * P)
        out = out.reshape(out_channels, n, positions).transpose(1, 0, 2)
        out = xp.ascontiguousarray(out).reshape((n, out_channels) + tuple(geo.out_spatial))
    elif rows:
        # the row buffer is kept only for a weight gradient that will take the row form
        keep = saved if w.shape[2] < _FOLD_MIN_COLUMNS else None
        out = _conv2d_row_gemms(x, weight, geo, keep)
    else:
        out = xp.matmul(w, _im2col(x, geo))  # (N, g, O/g, P)
        out = out.reshape((n, out_channels) + tuple(geo.out_spatial))
    if bias is not None:
        out += bias.reshape((1, -1) + (1,) * len(geo.kernel))
    return out


@_bfloat16_as_float32_on_device
def _conv_input_grad(gy_grouped, weight, geo, n):
    """gy in group layout (N, g, O/g, P), weight (O, C/g, *K) -> (N, C, *S).

    Stride 1: a "full" convolution of gy with the flipped, channel-swapped weight (a copy
    plus a GEMM, measured ~3x faster than GEMM + col2im's strided adds). conv2d with a
    stride: one GEMM per kernel tap into stride-phase buffers (_conv2d_phase_input_grad).
    Otherwise: GEMM to columns, then col2im."""
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
    if (nd == 2 and g == 1 and n > 0 and math.prod(geo.kernel) > 1
            and weight.dtype.kind == "f" and weight.dtype.itemsize >= 4):
        gy = gy_grouped.reshape((n, out_channels) + tuple(geo.out_spatial))
        return _conv2d_phase_input_grad(gy, weight, geo)
    w = weight.reshape(g, out_channels // g, -1)
    gcols = xp.matmul(w.transpose(0, 2, 1), gy_grouped)  # (N, g, C/g * K, P)
    gcols = gcols.reshape((n, g * cg) + tuple(geo.kernel) + tuple(geo.out_spatial))
    return _col2im(gcols, geo, gcols.dtype)


def _phase_extent(out_size, kernel, dilation, stride):
    """Length of one stride phase of the padded input that the taps reach."""
    return out_size + dilation * (kernel - 1) // stride


def _conv2d_phase_input_grad(gy, weight, geo):
    """grad_input of a strided conv2d (one group) without col2im's short strided adds.

    Kernel tap (i, j) only reaches padded input pixels of stride phase
    (i * dH % sH, j * dW % sW), shifted by (i * dH // sH, j * dW // sW) phase rows and
    columns. The gradient is widened with zero columns to the phase width, so each tap's
    GEMM result lands on one contiguous range of its phase buffer per (sample, channel):
    long adds instead of short strided ones. The phases are interleaved at the end."""
    xp = xp_of(gy)
    n, out_channels, oh, ow = gy.shape
    c = weight.shape[1]
    kh, kw = geo.kernel
    sh, sw = geo.stride
    dh, dw = geo.dilation
    h, w = geo.in_spatial
    top, left = geo.pad_lo
    qh = _phase_extent(oh, kh, dh, sh)
    qw = _phase_extent(ow, kw, dw, sw)
    if qw == ow:
        wide = xp.ascontiguousarray(gy)
    else:
        wide = xp.zeros((n, out_channels, oh, qw), dtype=gy.dtype)
        wide[..., :ow] = gy
    wide = wide.reshape(n, out_channels, oh * qw)
    taps = xp.ascontiguousarray(weight.transpose(2, 3, 1, 0))  # (kH, kW, C, O)
    span = qh * qw
    phases = {}  # (row phase, column phase) -> (N, C, span + spare) buffer
    product = xp.empty((n, c, oh * qw), dtype=gy.dtype)
    for i in range(kh):
        row_phase, row_shift = (i * dh) % sh, (i * dh) // sh
        for j in range(kw):
            col_phase, col_shift = (j * dw) % sw, (j * dw) // sw
            buf = phases.get((row_phase, col_phase))
            if buf is None:
                # qw - ow spare: the last tap's zero columns run past the last phase row
                buf = phases[row_phase, col_phase] = xp.zeros((n, c, span + qw - ow),
                                                              dtype=gy.dtype)
            xp.matmul(taps[i, j], wide, out=product)
            start = row_shift * qw + col_shift
            buf[:, :, start:start + oh * qw] += product
    # pixels of phases no tap reaches, or past the last window, get zeros
    covered = len(phases) == sh * sw and sh * qh >= top + h and sw * qw >= left + w
    out = (xp.empty if covered else xp.zeros)((n, c, h, w), dtype=gy.dtype)
    for (row_phase, col_phase), buf in phases.items():
        q_first = max(0, -((row_phase - top) // sh))
        q_last = min(qh - 1, (h - 1 + top - row_phase) // sh)
        r_first = max(0, -((col_phase - left) // sw))
        r_last = min(qw - 1, (w - 1 + left - col_phase) // sw)
        if q_last < q_first or r_last < r_first:
            continue
        buf = buf[:, :, :span].reshape(n, c, qh, qw)
        i0 = row_phase + sh * q_first - top
        j0 = col_phase + sw * r_first - left
        rows_out = slice(i0, i0 + sh * (q_last - q_first) + 1, sh)
        cols_out = slice(j0, j0 + sw * (r_last - r_first) + 1, sw)
        out[:, :, rows_out, cols_out] = buf[:, :, q_first:q_last + 1, r_first:r_last + 1]
    return out


@_bfloat16_as_float32_on_device
def _conv_weight_grad(x, gy_grouped, geo, weight_shape, rows=None):
    """conv2d below _FOLD_MIN_COLUMNS weight columns: the row-GEMM form (on the forward's
    row buffer when it kept it). Otherwise one GEMM per group contracting over batch and
    positions together, columns (g, C/g * K, N * P) @ gy (g, N * P, O/g) (ResNet-18's
    256/512-channel layers: 41 -> 34 ms at batch 8). The columns are rebuilt from x here
    rather than kept from the forward (they are prod(K) times the input)."""
    xp = xp_of(x)
    n = x.shape[0]
    g = geo.groups
    if _uses_row_gemms(geo, x) and math.prod(weight_shape[1:]) < _FOLD_MIN_COLUMNS:
        gy = gy_grouped.reshape((n, -1) + tuple(geo.out_spatial))
        return _conv2d_row_weight_grad(x, gy, geo, weight_shape, rows)
    cols = _folded_columns(x, geo)
    og = gy_grouped.shape[2]
    gy_rows = xp.ascontiguousarray(gy_grouped.transpose(1, 2, 0, 3)).reshape(g, og, cols.shape[2])
    if g == 1:  # gy (O, N * P) @ columns^T: the gradient in the weight's layout, one GEMM
        return xp.matmul(gy_rows[0], cols[0].T).reshape(weight_shape)
    grad_w_t = xp.matmul(cols, gy_rows.transpose(0, 2, 1))  # (g, C/g * K, O/g)
    del cols
    return xp.ascontiguousarray(grad_w_t.transpose(0, 2, 1)).reshape(weight_shape)


def _bias_grad(grad):
    return grad.sum((0,) + tuple(range(2, grad.ndim)))


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
