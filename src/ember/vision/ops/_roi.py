"""The sampling machinery the four RoI ops share, written with ember ops.

Each RoI op reads, for every RoI and output bin, a small window of input positions. The
window sizes vary per RoI, so every op builds index tensors padded to the largest window
and a mask for the padding, gathers all positions at once (an ``index_select``, whose
backward is the scatter-add torchvision's kernels do by hand), and reduces the window.
The positions are computed from the boxes in the input's dtype, in the order of
torchvision's C++ kernels, so the same bins and sample points come out; boxes get no
gradient, as in torchvision.
"""

from __future__ import annotations

import ember

from ._utils import check_roi_boxes_shape, convert_boxes_to_roi_format


def _pair(value):
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value, value)


def rois_tensor(input, boxes, op_name: str):
    """Boxes (Tensor[K, 5] or a list of Tensor[L, 4]) as a constant Tensor[K, 5]: column 0
    the image index, then ``x1, y1, x2, y2``. Like torchvision's kernels, the boxes must
    have the input's dtype."""
    check_roi_boxes_shape(boxes)
    rois = boxes if isinstance(boxes, ember.Tensor) else convert_boxes_to_roi_format(boxes)
    if input.dim() != 4:
        raise RuntimeError(f"input should be a 4d tensor (N, C, H, W), got {input.dim()}D")
    if rois.dtype != input.dtype:
        raise RuntimeError(
            "Expected tensor for argument #1 'input' to have the same type as tensor for "
            f"argument #2 'rois'; but type {input.type()} does not equal {rois.type()} "
            f"(while checking arguments for {op_name}_forward_kernel)")
    return rois.detach()


def gather_rows(input, batch, y, x):
    """``input[batch, :, y, x]`` for broadcastable integer index tensors, channels last:
    shape ``broadcast(batch, y, x) + (C,)``."""
    n, channels, height, width = input.shape
    rows = input.permute(0, 2, 3, 1).reshape(n * height * width, channels)
    index = (batch * height + y) * width + x
    picked = ember.index_select(rows, 0, index.reshape(-1))
    return picked.reshape(tuple(index.shape) + (channels,))


def gather_channels(input, batch, channel, y, x):
    """``input[batch, channel, y, x]`` for broadcastable integer index tensors, used where
    the channel read depends on the output bin (the position-sensitive ops)."""
    _, channels, height, width = input.shape
    index = ((batch * channels + channel) * height + y) * width + x
    picked = ember.index_select(input.reshape(-1), 0, index.reshape(-1))
    return picked.reshape(index.shape)


def bilinear_axis(coord, size: int, valid):
    """One axis of torchvision's ``bilinear_interpolate``: the low and high neighbours and
    their weights. A sample more than one pixel outside the map (or masked off by
    ``valid``) gets zero weights; one near the far edge is pinned to the last pixel."""
    coord = ember.where(valid, coord, ember.zeros_like(coord))
    inside = valid & (coord >= -1.0) & (coord <= size)
    coord = coord.clamp(min=0)
    low = coord.floor().long()
    at_edge = low >= size - 1
    last = ember.full_like(low, size - 1)
    high = ember.where(at_edge, last, low + 1)
    low = ember.where(at_edge, last, low)
    coord = ember.where(at_edge, low.to(coord.dtype), coord)
    frac = coord - low.to(coord.dtype)
    zero = ember.zeros_like(frac)
    return low, high, ember.where(inside, 1 - frac, zero), ember.where(inside, frac, zero)


def sample_grid(start, bin_size, roi_extent, pooled: int, sampling_ratio: int):
    """Sample coordinates ``[K, pooled, S]`` along one axis (S points per bin, padded to
    the largest RoI's count), their mask, and the per-RoI grid count ``[K]``.

    ``sampling_ratio > 0`` samples exactly that many points per bin; otherwise
    ``ceil(roi_extent / pooled)`` points, which differs per RoI."""
    k = start.shape[0]
    dtype = start.dtype
    if sampling_ratio > 0:
        grid = ember.full((k,), float(sampling_ratio), dtype=dtype, device=start.device)
        points = sampling_ratio
    else:
        grid = ember.ceil(roi_extent / pooled)
        points = int(grid.max().item()) if k else 0
    steps = ember.arange(points, device=start.device).to(dtype)
    mask = (steps[None, :] < grid[:, None])[:, None, :].expand(k, pooled, points)
    bins = ember.arange(pooled, device=start.device).to(dtype)
    safe_grid = grid.clamp(min=1)
    coord = (start[:, None, None] + bins[None, :, None] * bin_size[:, None, None]
             + (steps[None, None, :] + 0.5) * bin_size[:, None, None] / safe_grid[:, None, None])
    return coord, mask, grid


def axis_matrix(low, high, w_low, w_high, size: int):
    """Sum one axis's bilinear weights over each bin's samples: ``[K, P, S]`` sample
    neighbours and weights become a ``[K, P, size]`` interpolation matrix."""
    k, p, _ = low.shape
    matrix = ember.zeros((k, p, size), dtype=w_low.dtype, device=w_low.device)
    return matrix.scatter_add(2, low, w_low).scatter_add(2, high, w_high)


def per_image(input, batch, fn):
    """``fn(image [C, H, W], rows)`` for the RoIs of each image (``rows`` index them);
    results concatenated back into RoI order. A loop over images, not boxes."""
    images = sorted(set(batch.tolist()))
    if len(images) == 1:
        return fn(input[images[0]], None)
    pieces, positions = [], []
    for n in images:
        rows = ember.where(batch == n)[0]
        pieces.append(fn(input[n], rows))
        positions.append(rows)
    return ember.cat(pieces)[ember.argsort(ember.cat(positions))]


def bilinear_pool(input, rois, pooled_h: int, pooled_w: int, spatial_scale: float,
                  sampling_ratio: int, offset: float, clamp_extent: bool,
                  position_sensitive: bool):
    """Average of bilinear samples per bin: ``roi_align`` (all channels per bin) or
    ``ps_roi_align`` (bin ``(ph, pw)`` of output channel ``c`` reads input channel
    ``(c * PH + ph) * PW + pw``).

    A sample's weight is a product of a y factor and an x factor (out-of-range samples
    zero either factor), so each RoI's bins are ``Ay @ image @ Ax^T`` with ``Ay [PH, H]``
    and ``Ax [PW, W]`` holding the summed sample weights: two GEMMs per image instead of a
    gather of every sample's four neighbours."""
    _, channels, height, width = input.shape
    k = rois.shape[0]
    if k == 0:
        out_channels = channels // (pooled_h * pooled_w) if position_sensitive else channels
        return input.reshape(-1)[:0].reshape(0, out_channels, pooled_h, pooled_w)
    with ember.no_grad():
        batch = rois[:, 0].long()
        start_w = rois[:, 1] * spatial_scale - offset
        start_h = rois[:, 2] * spatial_scale - offset
        extent_w = rois[:, 3] * spatial_scale - offset - start_w
        extent_h = rois[:, 4] * spatial_scale - offset - start_h
        if clamp_extent:
            extent_w = extent_w.clamp(min=1.0)
            extent_h = extent_h.clamp(min=1.0)
        y, ymask, grid_h = sample_grid(start_h, extent_h / pooled_h, extent_h, pooled_h,
                                       sampling_ratio)
        x, xmask, grid_w = sample_grid(start_w, extent_w / pooled_w, extent_w, pooled_w,
                                       sampling_ratio)
        count = grid_h * grid_w
        if not position_sensitive:
            count = count.clamp(min=1)
        a_y = axis_matrix(*bilinear_axis(y, height, ymask), height) / count[:, None, None]
        a_x = axis_matrix(*bilinear_axis(x, width, xmask), width)

    def pool_image(image, rows):
        ay = a_y if rows is None else a_y[rows]
        ax = a_x if rows is None else a_x[rows]
        n = ay.shape[0]
        # [n * PH, H] @ [H, C * W] -> [n, PH * C, W] @ [n, W, PW] -> [n, C, PH, PW]
        cols = ay.reshape(n * pooled_h, height) @ image.permute(1, 0, 2).reshape(
            height, channels * width)
        bins = cols.reshape(n, pooled_h * channels, width) @ ax.transpose(1, 2)
        return bins.reshape(n, pooled_h, channels, pooled_w).permute(0, 2, 1, 3)

    pooled = per_image(input, batch, pool_image)
    if not position_sensitive:
        return pooled
    # keep, for bin (ph, pw), only its own channel group: a diagonal of [K, C', PH, PW, PH, PW]
    out_channels = channels // (pooled_h * pooled_w)
    grouped = pooled.reshape(k, out_channels, pooled_h, pooled_w, pooled_h, pooled_w)
    ph = ember.arange(pooled_h, device=input.device)[:, None]
    pw = ember.arange(pooled_w, device=input.device)[None, :]
    return grouped[:, :, ph, pw, ph, pw]


def _round_half_away(t):
    """C's ``round``: halves go away from zero (``torch.round`` rounds them to even)."""
    return ember.sign(t) * ember.floor(t.abs() + 0.5)


def bin_windows(start, extent, pooled: int, size: int):
    """Integer pixel windows ``[start, end)`` of each bin ``[K, pooled]``, clipped to the
    map, as torchvision's RoI pooling kernels compute them (bin size in the input dtype,
    floor for starts, ceil for ends)."""
    bin_size = extent.to(start.dtype) / pooled
    bins = ember.arange(pooled, device=start.device).to(start.dtype)
    lo = ember.floor(bins[None, :] * bin_size[:, None]).long()
    hi = ember.ceil((bins[None, :] + 1) * bin_size[:, None]).long()
    offset = start.long()[:, None]
    return (lo + offset).clamp(0, size), (hi + offset).clamp(0, size)


def window_index(lo, hi, size: int):
    """Positions ``[K, pooled, S]`` covering each window (S = the widest window), clipped
    into the map, and the mask of the positions that lie inside their window."""
    span = int((hi - lo).max().item()) if lo.numel() else 0
    span = max(span, 1)
    steps = ember.arange(span, device=lo.device)
    positions = lo[:, :, None] + steps
    mask = positions < hi[:, :, None]
    # past a window's end, repeat its last position: harmless for a max, masked for a mean
    positions = ember.min(positions, (hi[:, :, None] - 1).clamp(min=0))
    return positions.clamp(max=size - 1), mask


def pool_windows(input, rois, pooled_h: int, pooled_w: int, spatial_scale: float,
                 position_sensitive: bool):
    """Max over each bin's window (``roi_pool``) or the mean of each bin's window in its
    own channel (``ps_roi_pool``); empty bins give 0."""
    _, channels, height, width = input.shape
    with ember.no_grad():
        batch = rois[:, 0].long()
        corners = _round_half_away(rois[:, 1:] * spatial_scale)
        start_w, start_h, end_w, end_h = corners.unbind(1)
        plus = 0 if position_sensitive else 1
        extent_w = (end_w - start_w + plus).clamp(min=1)
        extent_h = (end_h - start_h + plus).clamp(min=1)
        h_lo, h_hi = bin_windows(start_h, extent_h, pooled_h, height)
        w_lo, w_hi = bin_windows(start_w, extent_w, pooled_w, width)
        hs, hmask = window_index(h_lo, h_hi, height)
        ws, wmask = window_index(w_lo, w_hi, width)
        area = (h_hi - h_lo)[:, :, None] * (w_hi - w_lo)[:, None, :]
        empty = area <= 0
    if position_sensitive:
        out_channels = channels // (pooled_h * pooled_w)
        channel = ember.arange(out_channels * pooled_h * pooled_w, device=input.device)
        channel = channel.reshape(1, out_channels, pooled_h, pooled_w, 1, 1)
        values = gather_channels(input, batch.reshape(-1, 1, 1, 1, 1, 1), channel,
                                 hs[:, None, :, None, :, None], ws[:, None, None, :, None, :])
        mask = hmask[:, None, :, None, :, None] & wmask[:, None, None, :, None, :]
        total = ember.where(mask, values, ember.zeros_like(values)).sum((-1, -2))
        mean = total / area.clamp(min=1).to(input.dtype)[:, None]
        return ember.where(empty[:, None], ember.zeros_like(mean), mean)
    values = gather_rows(input, batch.reshape(-1, 1, 1, 1, 1), hs[:, :, None, :, None],
                         ws[:, None, :, None, :])
    k, ph, pw, sh, sw, c = values.shape
    best = values.reshape(k, ph, pw, sh * sw, c).max(dim=3).values
    best = ember.where(empty[..., None], ember.zeros_like(best), best)
    return best.permute(0, 3, 1, 2)
