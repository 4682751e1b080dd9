"""``native_dropout``: dropout's fused form, one node (``NativeDropoutBackward0``) that
returns the output and its keep mask, as PyTorch runs ``F.dropout`` on CUDA.

Why: composed from ops, dropout is a mask draw, a scaling and a multiply forward (a
``MulBackward0`` node); on a GPU each is a kernel launch. Here the draw, the mask and
the scaled output are one kernel on cuda (the device Bernoulli draw of
``random._device_bernoulli``: SplitMix64 keyed by one host draw, so the generator
advances as a ``bernoulli_`` does), and the backward is ``grad * mask * scale``, PyTorch's
``native_dropout_backward``. On the CPU the mask comes from ``bernoulli`` as before and
the output is ``input * mask * scale``; the values agree with the composed form either way.
"""

from __future__ import annotations

import numpy as np

from .._backend.kernels import elementwise, launch
from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._util import _make, xp_of
from .random import SPLITMIX_DRAW, _splitmix_uniform

_NATIVE_DROPOUT = SPLITMIX_DRAW + """
const bool kept = draw < p;
mask = kept;
out = x * (kept ? (T)scale : (T)0);
"""


_NATIVE_DROPOUT_BACKWARD = "grad_x = grad * (mask ? (T)scale : (T)0)"


def _masked_scale(grad, mask, scale):
    """``grad * mask * scale``: one kernel on a GPU (the same values: a kept element is
    ``grad * scale``, a dropped one ``grad * 0``)."""
    xp = xp_of(grad)
    if xp is not np and grad.dtype in (np.float32, np.float64):
        kernel = elementwise(xp, "ember_native_dropout_backward", "T grad, bool mask, "
                             "float64 scale", "T grad_x", _NATIVE_DROPOUT_BACKWARD)
        if kernel is not None:
            grad_x = xp.empty(np.broadcast_shapes(grad.shape, mask.shape), grad.dtype)
            if launch(xp, kernel, grad, mask, np.float64(scale), grad_x):
                return grad_x
    return grad * mask * scale


def _device_draw(x, keep_p, scale, rng):
    """(out, mask) on a GPU: one kernel, or the array formula from the same key where the
    backend cannot compile."""
    xp = xp_of(x)
    key = rng.integers(0, 2 ** 64, dtype=np.uint64)
    kernel = None
    if x.dtype in (np.float32, np.float64):  # half precision: the array formula
        kernel = elementwise(xp, "ember_native_dropout", "T x, uint64 key, float64 p, "
                             "float64 scale", "T out, bool mask", _NATIVE_DROPOUT)
    if kernel is not None:
        out, mask = xp.empty(x.shape, x.dtype), xp.empty(x.shape, np.bool_)
        if launch(xp, kernel, x, key, np.float64(keep_p), np.float64(scale), out, mask):
            return out, mask
    mask = _splitmix_uniform(xp, x.shape, key) < keep_p
    return x * mask.astype(x.dtype) * scale, mask


class NativeDropout(Function):
    """(output, mask) of dropout with probability ``p``; the mask is not differentiable."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, p, mask_source):
        scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
        if mask_source is None:  # cuda: drawn on the device
            out, mask = _device_draw(x, 1.0 - p, scale, _rng())
        else:
            mask = mask_source
            out = x * mask * scale
        ctx.mask, ctx.scale = mask, scale
        ctx.mark_non_differentiable(mask)
        ctx.set_materialize_grads(False)  # no zeros for the mask's (absent) gradient
        return out, mask

    @staticmethod
    def backward(ctx, grad, _mask_grad=None):
        if _grad_enabled[0]:  # create_graph: a recorded product, so double backward works
            return grad * _make(ctx.mask) * ctx.scale, None, None
        return _make(_masked_scale(grad._data, ctx.mask, ctx.scale)), None, None


def _rng():
    from .generator import _rng as generator_rng

    return generator_rng(None)
