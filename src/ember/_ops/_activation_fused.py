"""Activations PyTorch records as one node each (``MishBackward0``, ``GluBackward0``,
``PreluKernelBackward0``), fused here the same way: one forward, one backward formula.
The public functions live in activation.py.

Backward formulas are written with Tensor ops when a graph is built (double backward);
otherwise they run on the backend arrays the forward saved.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._util import _make, xp_of


def _sigmoid(xp, x):
    """sigmoid through tanh: no overflow for large |x|."""
    out = xp.tanh(x * 0.5)
    out *= 0.5
    out += 0.5
    return out


class Mish(Function):
    """x * tanh(softplus(x)), softplus as max(x, 0) + log1p(exp(-|x|)) (never overflows)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x):
        xp = xp_of(x)
        gate = xp.tanh(xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x))))
        ctx.save_for_backward(x, gate)
        return (x * gate).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, gate = ctx.saved_tensors
        if not _grad_enabled[0]:
            v, t, g = x._data, gate._data, grad._data
            slope = t + v * _sigmoid(xp_of(v), v) * (1 - t * t)
            return _make((g * slope).astype(g.dtype, copy=False))
        from .activation import softplus

        t = softplus(x).tanh()  # recomputed as ops so double backward reaches x
        return grad * (t + x * x.sigmoid() * (1 - t * t))


class Glu(Function):
    """First half of ``dim`` times the sigmoid of the second half."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, dim):
        xp = xp_of(x)
        half = x.shape[dim] // 2
        lead = (slice(None),) * dim
        first, second = x[lead + (slice(0, half),)], x[lead + (slice(half, None),)]
        gate = _sigmoid(xp, second)
        ctx.dim = dim
        ctx.save_for_backward(x, gate)
        return (first * gate).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, gate = ctx.saved_tensors
        dim = ctx.dim
        half = x.shape[dim] // 2
        if not _grad_enabled[0]:
            xp = xp_of(x._data)
            first = x._data[(slice(None),) * dim + (slice(0, half),)]
            s, g = gate._data, grad._data
            grad_first = g * s
            grad_second = grad_first * first * (1 - s)
            out = xp.concatenate((grad_first, grad_second), axis=dim)
            return _make(out.astype(g.dtype, copy=False)), None
        from .shape import cat

        first, second = x.narrow(dim, 0, half), x.narrow(dim, half, half)
        s = second.sigmoid()  # recomputed as an op so double backward reaches x
        grad_first = grad * s
        return cat([grad_first, grad_first * first * (1 - s)], dim), None


class PreluKernel(Function):
    """x where x > 0, else weight * x; ``weight`` arrives shaped to broadcast over x (the
    engine sums its gradient back to that shape)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, weight):
        ctx.save_for_backward(x, weight)
        return xp_of(x).where(x > 0, x, weight * x)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        from .pointwise import where

        positive = x > 0
        grad_x = where(positive, grad, weight * grad) if ctx.needs_input_grad[0] else None
        grad_weight = where(positive, 0.0, x * grad) if ctx.needs_input_grad[1] else None
        return grad_x, grad_weight
