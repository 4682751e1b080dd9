"""torchvision v2's uint8 resize on CPU: PyTorch's native fixed-point kernel.

For uint8 images with bilinear or bicubic sampling, torchvision v2 skips the float
round trip and calls interpolate on the uint8 tensor (on AVX2/AVX512 and ARM CPUs).
PyTorch then quantises the separable weights to 16-bit fixed point, resizes rows first
and columns second, and rounds and clamps to [0, 255] after each pass. Results differ
from the float path by a few levels (more for bicubic, whose overshoot is clamped
between the passes), so v2 reproduces this path where torchvision takes it.
"""

from __future__ import annotations

import numpy as np

import ember

from ..._resample import _antialias_weights, _plain_weights


def _fixed_point_weights(in_size: int, out_size: int, mode: str, antialias: bool):
    """(out, in) int64 weights and their precision in bits, as PyTorch's
    _compute_index_ranges_int16_weights: v1's float weight matrix, rounded half away
    from zero at the largest precision that keeps every weight below 2**15."""
    make = _antialias_weights if antialias else _plain_weights
    weights = make(in_size, out_size, mode)
    w_max = weights.max()
    precision = 0
    while precision < 22 and int(0.5 + w_max * (1 << (precision + 1))) < (1 << 15):
        precision += 1
    scaled = weights * (1 << precision)
    fixed = np.where(scaled < 0, (-0.5 + scaled).astype(np.int64),
                     (0.5 + scaled).astype(np.int64))
    return fixed, precision


def _taps(matrix):
    """The banded (out, in) matrix as per-output windows: (out, taps) indices, weights."""
    nonzero = matrix != 0
    first = np.argmax(nonzero, axis=1)
    last = matrix.shape[1] - 1 - np.argmax(nonzero[:, ::-1], axis=1)
    taps = int((last - first).max()) + 1
    index = np.minimum(first[:, None] + np.arange(taps), matrix.shape[1] - 1)
    weights = np.take_along_axis(matrix, index, axis=1)
    # a clipped index repeats the last column: its weight must count once
    weights = np.where(first[:, None] + np.arange(taps) <= last[:, None], weights, 0)
    return index, weights


def _pass(values, matrix, precision, axis: int):
    """One separable pass along ``axis`` (-1 or -2): (sum w*x + 2**(p-1)) >> p, clamped.

    Only each output's window of taps is gathered (the weights are banded). The integer
    arithmetic runs in float64: every product and partial sum is an integer below 2**31
    (weights sum to about 2**p <= 2**22, pixels are < 256), so float64 holds them exactly
    and the division by 2**p is exact too.
    """
    index, weights = _taps(matrix)
    out_size, taps = index.shape
    gathered = values.index_select(axis, ember.tensor(index.reshape(-1), device=values.device))
    weights = ember.tensor(weights.astype(np.float64), device=values.device)
    if axis == -1:
        shape = tuple(values.shape[:-1]) + (out_size, taps)
        acc = (gathered.reshape(shape) * weights).sum(dim=-1)
    else:
        shape = tuple(values.shape[:-2]) + (out_size, taps, values.shape[-1])
        acc = (gathered.reshape(shape) * weights[:, :, None]).sum(dim=-2)
    acc = ember.floor((acc + float(1 << (precision - 1))) * (1.0 / (1 << precision)))
    return acc.clamp(0, 255)


def resize_uint8(image, size, mode: str, antialias: bool):
    """Resize a uint8 (..., C, H, W) image as PyTorch's native uint8 interpolate."""
    shape = image.shape
    h, w = shape[-2:]
    oh, ow = size
    values = image.reshape(-1, h, w).to(ember.float64)
    if ow != w:
        matrix, precision = _fixed_point_weights(w, ow, mode, antialias)
        values = _pass(values, matrix, precision, axis=-1)
    if oh != h:
        matrix, precision = _fixed_point_weights(h, oh, mode, antialias)
        values = _pass(values, matrix, precision, axis=-2)
    return values.to(ember.uint8).reshape(tuple(shape[:-2]) + (oh, ow))
