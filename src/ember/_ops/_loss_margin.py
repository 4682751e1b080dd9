"""Class-index margin losses PyTorch computes as one node each (MultiMarginLossBackward0,
MultilabelMarginLossBackward0), reduction included; the target is a constant (the
node's only edge is the input).

Forward runs on arrays, vectorised over samples and classes. multi_margin's backward
rebuilds the hinge with Tensor ops, so p=2 has a second derivative; multilabel_margin's
gradient is piecewise constant in the input and is kept as an array.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ._util import _make, xp_of


def _per_sample(grad, reduction, samples):
    """The upstream gradient as a (N, 1) column (or a scalar) to scale per-sample rows."""
    if reduction == "none":
        return grad.reshape(-1, 1)
    if reduction == "mean":
        return grad / max(samples, 1)
    return grad


def _reduce_rows(loss, reduction, shape):
    xp = xp_of(loss)
    if reduction == "none":
        return loss.reshape(shape)
    if reduction == "sum":
        return xp.asarray(loss.sum(), dtype=loss.dtype)
    if loss.size == 0:
        return xp.full((), np.nan, dtype=loss.dtype)
    return xp.asarray(loss.mean(), dtype=loss.dtype)


class MultiMarginLoss(Function):
    """sum over i != y of max(0, margin - x[y] + x[i])^p (times weight[y]) / C per sample;
    ``target`` (class indices) and ``weight`` are constants."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, target=None, p=1, margin=1.0, weight=None, reduction="mean"):
        xp = xp_of(x)
        num_classes = x.shape[-1] if x.ndim else 1
        rows = x.reshape(-1, num_classes)
        labels = target.reshape(-1, 1).astype(np.int64, copy=False)
        one_hot = xp.arange(num_classes) == labels  # (N, C)
        picked = xp.take_along_axis(rows, labels, axis=1)
        hinge = xp.maximum(rows - picked + margin, 0)
        hinge[one_hot] = 0
        term = hinge * hinge if p == 2 else hinge
        if weight is not None:
            term = term * weight[labels]
        loss = term.sum(axis=1) / num_classes
        ctx.meta = (one_hot, labels, p, margin, weight, reduction, num_classes)
        ctx.save_for_backward(x)
        out_shape = x.shape[:-1] if x.ndim >= 2 else target.shape  # as PyTorch's 'none'
        return _reduce_rows(loss.astype(x.dtype, copy=False), reduction, out_shape)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        one_hot, labels, p, margin, weight, reduction, num_classes = ctx.meta
        rows = x.reshape(-1, num_classes)
        mask = _make(one_hot.astype(x._data.dtype))
        picked = (rows * mask).sum(1, keepdim=True)
        hinge = (rows - picked + margin).clamp_min(0) * (1 - mask)
        if p == 2:
            coef = hinge * 2
        else:
            coef = _make((hinge._data > 0).astype(x._data.dtype))
        if weight is not None:
            coef = coef * _make(weight[labels].astype(x._data.dtype, copy=False))
        coef = coef * (_per_sample(grad, reduction, rows.shape[0]) / num_classes)
        grad_x = coef - mask * coef.sum(1, keepdim=True)
        return grad_x.reshape(x.shape)


class MultilabelMarginLoss(Function):
    """For each target class j (the indices before the first -1) and each non-target i:
    max(0, 1 - (x[j] - x[i])), summed over all (j, i) pairs at once and divided by C."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, is_target=None, reduction="mean"):
        rows = x if x.ndim >= 2 else x.reshape(1, -1)
        num_classes = rows.shape[1]
        pairs = is_target[:, :, None] & ~is_target[:, None, :]  # (N, j, i)
        slack = 1 - (rows[:, :, None] - rows[:, None, :])
        active = pairs & (slack > 0)
        loss = (slack * active).sum(axis=(1, 2)) / num_classes
        if ctx.needs_input_grad[0]:
            share = active.astype(x.dtype) / num_classes
            ctx.slope = share.sum(axis=1) - share.sum(axis=2)  # d loss_n / d x_n
        ctx.reduction = reduction
        out_shape = x.shape[:-1] if x.ndim >= 2 else ()
        return _reduce_rows(loss.astype(x.dtype, copy=False), reduction, out_shape)

    @staticmethod
    def backward(ctx, grad):
        slope = _make(ctx.slope)
        grad_x = slope * _per_sample(grad, ctx.reduction, slope.shape[0])
        return grad_x.reshape(ctx._input_meta[0][0])
