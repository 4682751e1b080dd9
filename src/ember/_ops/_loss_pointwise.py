"""Elementwise losses PyTorch computes as one autograd node each (MseLossBackward0,
HuberLossBackward0, SmoothL1LossBackward0, BinaryCrossEntropyBackward0,
BinaryCrossEntropyWithLogitsBackward0, SoftMarginLossBackward0), reduction included.

Each is one Function, forward on arrays and backward side by side. Backward has two
forms of one formula: Tensor ops (so ``create_graph=True`` gives double backward) and
``_array_backward`` on arrays for the plain training step. Non-differentiable
arguments (PyTorch gives them no graph edge: reduction, weights, soft margin's target)
go to forward as keywords, so the node's edges are the ones PyTorch's node has.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function, same_float, saved_arrays
from ..autograd.grad_mode import _grad_enabled
from ._util import _make, promote_arrays, xp_of


def _reduce_array(loss, reduction):
    """``loss`` summed or averaged to a 0-d array of its dtype ('none': as is)."""
    if reduction == "none":
        return loss
    xp = xp_of(loss)
    if reduction == "sum":
        return xp.asarray(loss.sum(), dtype=loss.dtype)
    if loss.size == 0:  # mean over nothing: nan, as PyTorch
        return xp.full((), np.nan, dtype=loss.dtype)
    return xp.asarray(loss.mean(), dtype=loss.dtype)


def _record_reduction(ctx, loss, reduction):
    """What backward needs to spread the upstream gradient back over the elements."""
    ctx.norm = 1.0 / max(loss.size, 1) if reduction == "mean" else 1.0


def _difference(x, t):
    x, t, _ = promote_arrays(x, t)
    return x - t


class MseLoss(Function):
    """(input - target)^2, reduced; gradient 2 (input - target) (/ numel for mean)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, t, reduction="mean"):
        diff = _difference(x, t)
        loss = diff * diff
        _record_reduction(ctx, loss, reduction)
        ctx.save_for_backward(x, t)
        return _reduce_array(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        grad_x = (x - t) * (grad * (2.0 * ctx.norm))
        needs = ctx.needs_input_grad
        return (grad_x if needs[0] else None), (-grad_x if needs[1] else None)

    @staticmethod
    def _array_backward(ctx, grad):
        x, t = saved_arrays(ctx)
        if not same_float(grad, x, t):
            return NotImplemented
        grad_x = x - t
        grad_x *= grad * (2.0 * ctx.norm)
        needs = ctx.needs_input_grad
        return (grad_x if needs[0] else None), (-grad_x if needs[1] else None)


class _ClampedLoss(Function):
    """Huber and smooth L1: quadratic within ``limit`` of the target, linear beyond; the
    gradient is the difference clamped to [-limit, limit], times ``scale``."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, t, reduction="mean", limit=1.0):
        xp = xp_of(x)
        diff = _difference(x, t)
        magnitude = xp.abs(diff)
        scale = type(ctx)._scale(limit)
        loss = xp.where(magnitude < limit, (0.5 * scale) * diff * diff,
                        (magnitude - 0.5 * limit) * (scale * limit))
        _record_reduction(ctx, loss, reduction)
        ctx.limit = limit
        ctx.save_for_backward(x, t)
        return _reduce_array(loss.astype(diff.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        limit = ctx.limit
        scale = type(ctx)._scale(limit) * ctx.norm
        grad_x = (x - t).clamp(-limit, limit) * (grad * scale)
        needs = ctx.needs_input_grad
        return (grad_x if needs[0] else None), (-grad_x if needs[1] else None)

    @staticmethod
    def _array_backward(ctx, grad):
        x, t = saved_arrays(ctx)
        if not same_float(grad, x, t):
            return NotImplemented
        xp = xp_of(x)
        limit = ctx.limit
        grad_x = x - t
        xp.clip(grad_x, -limit, limit, out=grad_x)
        grad_x *= grad * (type(ctx)._scale(limit) * ctx.norm)
        needs = ctx.needs_input_grad
        return (grad_x if needs[0] else None), (-grad_x if needs[1] else None)


class HuberLoss(_ClampedLoss):
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere."""

    @staticmethod
    def _scale(delta):
        return 1.0


class SmoothL1Loss(_ClampedLoss):
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (beta > 0)."""

    @staticmethod
    def _scale(beta):
        return 1.0 / beta


class BinaryCrossEntropy(Function):
    """-w (t log x + (1 - t) log(1 - x)), each log clamped at -100 as PyTorch does."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, t, weight=None, reduction="mean"):
        xp = xp_of(x)
        if bool(((x < 0) | (x > 1)).any()):
            raise RuntimeError("all elements of input should be between 0 and 1")
        with np.errstate(divide="ignore", invalid="ignore"):  # log(0): -inf, as PyTorch
            raw_log_x = xp.log(x)
            raw_log_1mx = xp.log1p(-x)
            log_ratio = raw_log_1mx - raw_log_x  # unclamped: PyTorch's target gradient
        log_x = xp.maximum(raw_log_x, -100)
        log_1mx = xp.maximum(raw_log_1mx, -100)
        loss = -(t * log_x + (1 - t) * log_1mx)
        if weight is not None:
            loss = loss * weight
        _record_reduction(ctx, loss, reduction)
        ctx.weight = weight
        ctx.save_for_backward(x, t, log_ratio)
        return _reduce_array(loss.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, t, log_ratio = ctx.saved_tensors
        if ctx.norm != 1.0:
            grad = grad * ctx.norm
        if ctx.weight is not None:
            grad = grad * _make(ctx.weight)
        grad_x = grad_t = None
        if ctx.needs_input_grad[0]:
            from .pointwise import where

            spread = (1 - x) * x
            grad_x = grad * (x - t) / where(spread > 1e-12, spread, 1e-12)
        if ctx.needs_input_grad[1]:
            if _grad_enabled[0]:  # create_graph: keep log(1 - x) - log(x) connected to x
                log_ratio = (-x).log1p() - x.log()
            grad_t = grad * log_ratio
        return grad_x, grad_t


class BinaryCrossEntropyWithLogits(Function):
    """w ((1 - t) x - l log sigmoid(x)) with l = (pos_weight - 1) t + 1: never
    exponentiates a large x. Gradients: l sigmoid(x) - pos_weight t for the input,
    -x - (pos_weight - 1) log sigmoid(x) for the target."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, t, weight=None, pos_weight=None, reduction="mean"):
        xp = xp_of(x)
        log_sigmoid = xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))
        if pos_weight is None:
            loss = (1 - t) * x - log_sigmoid
        else:
            loss = (1 - t) * x - ((pos_weight - 1) * t + 1) * log_sigmoid
        if weight is not None:
            loss = loss * weight
        _record_reduction(ctx, loss, reduction)
        ctx.weights = (weight, pos_weight)
        ctx.save_for_backward(x, t)
        return _reduce_array(loss.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        weight, pos_weight = ctx.weights
        grad = grad * ctx.norm
        if weight is not None:
            grad = grad * _make(weight)
        pos = None if pos_weight is None else _make(pos_weight)
        grad_x = grad_t = None
        if ctx.needs_input_grad[0]:
            if pos is None:
                grad_x = grad * (x.sigmoid() - t)
            else:
                grad_x = grad * (((pos - 1) * t + 1) * x.sigmoid() - pos * t)
        if ctx.needs_input_grad[1]:
            if pos is None:
                grad_t = -grad * x
            else:
                from .activation import logsigmoid

                grad_t = -grad * (x + (pos - 1) * logsigmoid(x))
        return grad_x, grad_t

    @staticmethod
    def _array_backward(ctx, grad):
        x, t = saved_arrays(ctx)
        weight, pos_weight = ctx.weights
        if pos_weight is not None or ctx.needs_input_grad[1] or not same_float(grad, x, t):
            return NotImplemented
        xp = xp_of(x)
        with np.errstate(over="ignore"):  # exp(-x) overflows to inf for x << 0: sigmoid 0
            grad_x = 1 / (1 + xp.exp(-x))
        grad_x -= t
        grad_x *= grad * ctx.norm
        if weight is not None:
            grad_x = grad_x * weight
        return grad_x.astype(x.dtype, copy=False), None


class SoftMarginLoss(Function):
    """log(1 + exp(-t x)), computed as softplus so it never overflows; the target is a
    constant (PyTorch gives it no gradient)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, target=None, reduction="mean"):
        xp = xp_of(x)
        x_promoted, t, _ = promote_arrays(x, target)
        z = -t * x_promoted
        loss = xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))
        _record_reduction(ctx, loss, reduction)
        ctx.target = t
        ctx.save_for_backward(x)
        return _reduce_array(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        t = _make(ctx.target)
        return (grad * ctx.norm) * -t * (-t * x).sigmoid(), None
