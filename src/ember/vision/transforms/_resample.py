"""Resampling kernels for tensor images, built from matmul, gather and slicing ops.

Image transforms resample one image at a time with parameters that are plain numbers,
so the sampling weights can be computed once in NumPy and applied with a few large
array ops: resize is two matrix products (rows, then columns), warps are four gathers
with bilinear weights, small filters are a sum over the kernel taps. All of them are
ember ops, so they run on the image's device and keep its autograd history.
"""

from __future__ import annotations

import numpy as np

import ember


def _np_dtype(dtype):
    return ember.empty(0, dtype=dtype).numpy().dtype


def _triangle(x):
    return np.clip(1.0 - np.abs(x), 0.0, None)


def _cubic(x, a):
    x = np.abs(x)
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def _antialias_weights(in_size: int, out_size: int, mode: str) -> np.ndarray:
    """(out, in) weights of PyTorch's antialiased interpolate (PIL-style support).

    When shrinking, the filter is stretched by the scale so every input pixel
    contributes; each row is normalised to sum to one.
    """
    scale = in_size / out_size
    interp_size = 2 if mode == "bilinear" else 4
    support = interp_size * 0.5 * scale if scale >= 1.0 else interp_size * 0.5
    invscale = 1.0 / scale if scale >= 1.0 else 1.0
    center = scale * (np.arange(out_size) + 0.5)
    xmin = np.maximum(np.trunc(center - support + 0.5), 0).astype(np.int64)
    xmax = np.minimum(np.trunc(center + support + 0.5), in_size).astype(np.int64)
    taps = int((xmax - xmin).max())
    cols = xmin[:, None] + np.arange(taps)
    dist = (cols - center[:, None] + 0.5) * invscale
    weights = _triangle(dist) if mode == "bilinear" else _cubic(dist, -0.5)
    weights = np.where(cols < xmax[:, None], weights, 0.0)
    total = weights.sum(axis=1, keepdims=True)
    weights = weights / np.where(total == 0, 1.0, total)
    matrix = np.zeros((out_size, in_size))
    rows = np.broadcast_to(np.arange(out_size)[:, None], cols.shape)
    valid = cols < xmax[:, None]
    np.add.at(matrix, (rows[valid], cols[valid]), weights[valid])
    return matrix


def _plain_weights(in_size: int, out_size: int, mode: str) -> np.ndarray:
    """(out, in) weights of interpolate without antialias (align_corners=False)."""
    scale = in_size / out_size
    src = scale * (np.arange(out_size) + 0.5) - 0.5
    matrix = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    if mode == "bilinear":
        src = np.maximum(src, 0.0)
        i0 = np.floor(src).astype(np.int64)
        i1 = np.minimum(i0 + 1, in_size - 1)
        lam = src - i0
        np.add.at(matrix, (rows, i0), 1.0 - lam)
        np.add.at(matrix, (rows, i1), lam)
        return matrix
    i0 = np.floor(src).astype(np.int64)
    t = src - i0
    a = -0.75  # PyTorch's bicubic constant without antialias
    for k, offset in enumerate((1.0, 0.0, -1.0, -2.0)):
        weight = _cubic(t + offset, a)
        np.add.at(matrix, (rows, np.clip(i0 - 1 + k, 0, in_size - 1)), weight)
    return matrix


def resize_matrix(batch, size, mode: str, antialias: bool):
    """Bilinear/bicubic resize of (N, C, H, W) as Wy @ x @ Wx^T."""
    h, w = batch.shape[-2:]
    oh, ow = size
    weights = _antialias_weights if antialias else _plain_weights
    np_dtype = _np_dtype(batch.dtype)
    out = batch
    if oh != h:
        wy = ember.tensor(weights(h, oh, mode).astype(np_dtype), device=batch.device)
        out = ember.matmul(wy, out)
    if ow != w:
        wx = ember.tensor(weights(w, ow, mode).T.astype(np_dtype).copy(), device=batch.device)
        out = ember.matmul(out, wx)
    return out


def correlate_taps(batch, kernel: np.ndarray):
    """'valid' 2-D correlation of every channel with ``kernel``: a sum over its taps."""
    kh, kw = kernel.shape
    oh, ow = batch.shape[-2] - kh + 1, batch.shape[-1] - kw + 1
    out = None
    for dy in range(kh):
        for dx in range(kw):
            if kernel[dy, dx] == 0:
                continue
            term = float(kernel[dy, dx]) * batch[..., dy:dy + oh, dx:dx + ow]
            out = term if out is None else out + term
    return out


def separable_blur(padded, kx: np.ndarray, ky: np.ndarray):
    """'valid' correlation with the outer product ky x kx, one axis at a time."""
    ow = padded.shape[-1] - len(kx) + 1
    rows = None
    for dx, weight in enumerate(kx):
        term = float(weight) * padded[..., :, dx:dx + ow]
        rows = term if rows is None else rows + term
    oh = padded.shape[-2] - len(ky) + 1
    out = None
    for dy, weight in enumerate(ky):
        term = float(weight) * rows[..., dy:dy + oh, :]
        out = term if out is None else out + term
    return out


def grid_sample(batch, grid: np.ndarray, mode: str):
    """``F.grid_sample(batch, grid, mode, padding_mode='zeros', align_corners=False)``
    for one grid shared by the whole batch, as four (or one) gathers.

    ``grid`` is a NumPy (oh, ow, 2) array of normalised x, y coordinates.
    """
    n, c, h, w = batch.shape
    oh, ow = grid.shape[:2]
    np_dtype = _np_dtype(batch.dtype)
    grid = grid.astype(np_dtype)  # coordinates rounded as PyTorch computes them
    ix = ((grid[..., 0] + 1) * w - 1) * np_dtype.type(0.5)
    iy = ((grid[..., 1] + 1) * h - 1) * np_dtype.type(0.5)
    if mode == "nearest":
        corners = [(np.rint(ix), np.rint(iy), np.ones_like(ix))]
    else:
        x0, y0 = np.floor(ix), np.floor(iy)
        fx, fy = ix - x0, iy - y0
        corners = [(x0, y0, (1 - fx) * (1 - fy)), (x0 + 1, y0, fx * (1 - fy)),
                   (x0, y0 + 1, (1 - fx) * fy), (x0 + 1, y0 + 1, fx * fy)]
    flat = batch.reshape(n, c, h * w)
    out = None
    for cx, cy, weight in corners:
        inside = (cx >= 0) & (cx <= w - 1) & (cy >= 0) & (cy <= h - 1)
        index = (np.clip(cy, 0, h - 1) * w + np.clip(cx, 0, w - 1)).astype(np.int64)
        weight = np.where(inside, weight, 0.0).astype(np_dtype).reshape(-1)
        gathered = flat.index_select(-1, ember.tensor(index.reshape(-1), device=batch.device))
        term = gathered * ember.tensor(weight, device=batch.device)
        out = term if out is None else out + term
    return out.reshape(n, c, oh, ow)
