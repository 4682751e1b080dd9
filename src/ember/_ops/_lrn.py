"""Local response normalisation (AlexNet's LRN): each channel divided by a power of the
summed squares of its ``size`` neighbouring channels; ``cross_map_lrn2d`` is the legacy
SpatialCrossMapLRN form with its own window edges."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ._util import Tensor, _make, xp_of

__all__ = ["cross_map_lrn2d", "local_response_norm"]


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Divide each element by ``(k + alpha * mean of squares over a window of `size`
    neighbouring channels) ** beta``; the window is zero-padded at the channel ends."""
    from .resample import pad

    dim = input.dim()
    if dim < 3:
        raise ValueError(
            f"Expected 3D or higher dimensionality                          input (got {dim} "
            "dimensions)")
    if input.numel() == 0:
        return input
    channels = input.shape[1]
    squares = (input * input).reshape(input.shape[0], channels, -1)
    padded = pad(squares, (0, 0, size // 2, (size - 1) // 2))
    # The window sum is `size` shifted slices added: a loop over the window, not the data.
    window = padded[:, 0:channels]
    for offset in range(1, size):
        window = window + padded[:, offset:offset + channels]
    div = (window / size).reshape(input.shape)
    div = (div * alpha + k).pow(beta)
    return input / div


def _channel_window(channels, low, high, dtype, xp, include_first=False):
    """(C, C) 0/1 matrix M with M[c', c] = 1 when c - low <= c' <= c + high: applied on the
    right of (..., C) it sums each channel's window in one matmul."""
    c = np.arange(channels)[None, :]
    j = np.arange(channels)[:, None]
    window = (j >= c - low) & (j <= c + high)
    if include_first:
        window |= j == 0
    return _make(xp.asarray(window.astype(dtype)))


class _CrossMapLRN2d(Function):
    """Lua-Torch's CrossMapLRN2d with PyTorch's own forward and backward formulas.

    Forward: ``x * (k + alpha / size * S) ** -beta``, S the sum of squares over channels
    ``[c - pre + 1, c + pre - 1]`` (``pre = int((size - 1) / 2 + 1)``); PyTorch's running
    sum never drops channel 0, so S always includes it. Backward is PyTorch's formula (a
    symmetric window of ``size`` channels), not the exact derivative of that forward."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        xp = xp_of(x)
        channels = x.shape[1]
        pre = int((size - 1) / 2 + 1)
        matrix = _channel_window(channels, pre - 1, pre - 1, x.dtype, xp, True)._data
        sums = xp.moveaxis(xp.moveaxis(x * x, 1, -1) @ matrix, -1, 1)
        scale = sums * (alpha / size) + k
        out = x * scale ** -beta
        ctx.save_for_backward(x, out, scale)
        ctx.params = (size, alpha, beta)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out, scale = ctx.saved_tensors
        size, alpha, beta = ctx.params
        inverse_pre_pad = int(size - (size - 1) / 2)
        matrix = _channel_window(x.shape[1], inverse_pre_pad, size - 1 - inverse_pre_pad,
                                 x._data.dtype, xp_of(x._data))
        ratio = grad * out / scale
        accum = (ratio.movedim(1, -1) @ matrix).movedim(-1, 1)
        grad_x = scale.pow(-beta) * grad - (2 * alpha * beta / size) * x * accum
        return grad_x, None, None, None, None


def cross_map_lrn2d(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                    k: float = 1.0) -> Tensor:
    """CrossMapLRN2d's computation on (N, C, H, W) input (see ``_CrossMapLRN2d``)."""
    if input.dim() != 4:
        raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D instead.")
    return _CrossMapLRN2d.apply(input, size, alpha, beta, k)
