"""Loss functions, as ``torch.nn.functional`` has them.

cross_entropy and nll_loss are one fused Function: the loss is a weighted sum of
log-probabilities, ``-sum(A * log_softmax(x))``, with a coefficient array A that carries
the target one-hot, class weights, ignore_index, label smoothing and the mean's
denominator. That single form gives one max-shifted pass forward and the closed-form
gradient ``softmax * rowsum(A) - A`` backward. Binary cross entropy is fused to clamp its
logs at -100 exactly as PyTorch does. The other losses are short compositions of ops.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._util import Tensor, _make, shape_str, type_name, xp_of
from ._softmax import _log_softmax_array
from .activation import logsigmoid, relu, softplus
from .activation import log_softmax as _log_softmax_op

# ---------------------------------------------------------------------------
# Reduction helpers
# ---------------------------------------------------------------------------


def _legacy_reduction(size_average, reduce, emit_warning=True):
    """Map the deprecated ``size_average``/``reduce`` pair to a ``reduction`` string."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        result = "mean"
    elif reduce:
        result = "sum"
    else:
        result = "none"
    if emit_warning:
        warnings.warn(
            f"size_average and reduce args will be deprecated, please use reduction='{result}'"
            " instead.", stacklevel=3)
    return result


def _resolve(reduction, size_average=None, reduce=None):
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce)
    return reduction


def _check_reduction(reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _size_warning(input, target):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", stacklevel=3)


def _refuse_grad(tensor, function, argument):
    """PyTorch's fused losses have no derivative for weights (and some targets)."""
    if tensor is not None and tensor._requires_grad and _grad_enabled[0]:
        raise RuntimeError(
            f"The function '{function}' is not differentiable with respect to argument "
            f"'{argument}'. This input cannot have requires_grad True.")


def _where(condition, a, b):
    from .pointwise import where

    return where(condition, a, b)


def _weighted(loss, weight, input, reduction, mean_by_weight):
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return loss.sum() / weight.sum()
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(
            f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------
# Regression losses
# ---------------------------------------------------------------------------


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    _size_warning(input, target)
    reduction = _resolve(reduction, size_average, reduce)
    loss = (input - target).abs()
    if weight is not None:
        return _weighted(loss, weight, input, reduction, mean_by_weight=True)
    return _reduce(loss, reduction)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    _size_warning(input, target)
    reduction = _resolve(reduction, size_average, reduce)
    diff = input - target
    loss = diff * diff
    if weight is not None:
        return _weighted(loss, weight, input, reduction, mean_by_weight=True)
    return _reduce(loss, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (l1 when beta is 0)."""
    _size_warning(input, target)
    reduction = _resolve(reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    diff = input - target
    magnitude = diff.abs()
    if beta == 0:
        return _reduce(magnitude, reduction)
    loss = _where(magnitude < beta, diff * diff * (0.5 / beta), magnitude - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere."""
    _size_warning(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    diff = input - target
    magnitude = diff.abs()
    loss = _where(magnitude < delta, diff * diff * 0.5, (magnitude - 0.5 * delta) * delta)
    if weight is not None:
        return _weighted(loss, weight, input, reduction, mean_by_weight=False)
    return _reduce(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        safe = _where(target > 1, target, 1.0)
        stirling = safe * safe.log() - safe + (safe * (2 * math.pi)).log() * 0.5
        loss = loss + _where(target > 1, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """0.5 (log var + (input - target)^2 / var), var clamped at eps without blocking its
    gradient (PyTorch clamps a copy in place under no_grad)."""
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = input.detach() * 0 + float(var)
    elif bool((var._data < 0).any()):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.dim() == var.dim() and sum(
                v for i, v in zip(input.shape, var.shape) if i != v) == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    xp = xp_of(var._data)
    lift = xp.maximum(var._data, eps) - var._data
    var = var + _make(lift)
    diff = input - target
    loss = (var.log() + diff * diff / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------
# Binary classification losses
# ---------------------------------------------------------------------------


class BinaryCrossEntropy(Function):
    """-(t log x + (1 - t) log(1 - x)), each log clamped at -100 as PyTorch does."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, t):
        xp = xp_of(x)
        if bool(((x < 0) | (x > 1)).any()):
            raise RuntimeError("all elements of input should be between 0 and 1")
        with np.errstate(divide="ignore", invalid="ignore"):  # log(0): -inf, as PyTorch
            raw_log_x = xp.log(x)
            raw_log_1mx = xp.log1p(-x)
            log_ratio = raw_log_1mx - raw_log_x  # unclamped: PyTorch's target gradient
        log_x = xp.maximum(raw_log_x, -100)
        log_1mx = xp.maximum(raw_log_1mx, -100)
        ctx.save_for_backward(x, t, log_ratio)
        return -(t * log_x + (1 - t) * log_1mx)

    @staticmethod
    def backward(ctx, grad):
        x, t, log_ratio = ctx.saved_tensors
        grad_x = grad_t = None
        if ctx.needs_input_grad[0]:
            spread = (1 - x) * x
            grad_x = grad * (x - t) / _where(spread > 1e-12, spread, 1e-12)
        if ctx.needs_input_grad[1]:
            grad_t = grad * log_ratio
        return grad_x, grad_t


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _resolve(reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size.")
    _check_reduction(reduction)
    _refuse_grad(weight, "binary_cross_entropy", "weight")
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """(1 - t) x - (1 + (pos_weight - 1) t) logsigmoid(x): never exponentiates a large x."""
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    _refuse_grad(weight, "binary_cross_entropy_with_logits", "weight")
    _refuse_grad(pos_weight, "binary_cross_entropy_with_logits", "pos_weight")
    log_weight = 1 if pos_weight is None else (pos_weight - 1) * target + 1
    loss = (1 - target) * input - log_weight * logsigmoid(input)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    _refuse_grad(target, "soft_margin_loss", "target")
    return _reduce(softplus(-target * input, 1.0, math.inf), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    return _reduce(loss, reduction)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Pointwise target * (log target - input), 0 where target is 0."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    elif reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.", stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        positive = target > 0
        loss = _where(positive, target * _where(positive, target, 1.0).log(), 0.0) - (
            target * input)
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.dim() else loss.sum()
    _check_reduction(reduction)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------
# Margin and embedding losses
# ---------------------------------------------------------------------------


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} ")
    return _reduce(relu(-target * (input1 - input2) + margin), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    margin_part = _where(target != 1, relu(margin - input), 0.0)
    self_part = _where(target != -1, input, 0.0)
    return _reduce(margin_part + self_part, reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    dim = input1.dim() - 1
    eps = 1e-12
    dot = (input1 * input2).sum(dim)
    norms = ((input1 * input1).sum(dim) + eps) * ((input2 * input2).sum(dim) + eps)
    cos = dot / norms.sqrt()
    positive = _where(target == 1, 1 - cos, 0.0)
    negative = _where(target == -1, relu(cos - margin), 0.0)
    return _reduce(positive + negative, reduction)


def _one_hot_array(xp, target, num_classes, class_axis, dtype):
    """A constant (..., C, ...) array with 1 at each target class along ``class_axis``."""
    classes = xp.arange(num_classes).reshape(
        (num_classes,) + (1,) * (target.ndim - class_axis))
    return (xp.expand_dims(target, class_axis) == classes).astype(dtype)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """sum over i != y of max(0, margin - x[y] + x[i])^p (times weight[y]) / C."""
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    _refuse_grad(weight, "multi_margin_loss", "weight")
    x = input if input.dim() else input.reshape(1)
    class_axis = x.dim() - 1
    num_classes = x.shape[class_axis]
    t = target._data.reshape(x.shape[:-1])
    _check_bounds(xp_of(t), t, num_classes, None, "multi_margin_loss")
    one_hot = _one_hot_array(xp_of(t), t, num_classes, class_axis, x._data.dtype)
    picked = (x * _make(one_hot)).sum(class_axis, keepdim=True)
    hinge = relu(x - picked + margin)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * (_make(one_hot) * weight).sum(class_axis, keepdim=True)
    loss = (hinge * _make(1 - one_hot)).sum(class_axis) / num_classes
    if input.dim() == 0:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """For each target class j (the indices before the first -1) and each non-target i:
    max(0, 1 - (x[j] - x[i])), summed and divided by C. Vectorised over all (j, i) pairs."""
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    x = input if input.dim() >= 2 else input.reshape(1, -1)
    tgt = target._data.reshape(x.shape)
    xp = xp_of(tgt)
    num_classes = x.shape[1]
    valid = xp.cumprod(tgt != -1, axis=1).astype(bool)
    _check_bounds(xp, xp.where(valid, tgt, 0), num_classes, None, "multilabel_margin_loss")
    is_target = xp.zeros(x.shape, dtype=bool)
    rows = xp.broadcast_to(xp.arange(x.shape[0])[:, None], tgt.shape)
    is_target[rows[valid], tgt[valid]] = True
    pair_mask = (is_target[:, :, None] & ~is_target[:, None, :]).astype(x._data.dtype)
    margins = relu(1 - (x.unsqueeze(2) - x.unsqueeze(1))) * _make(pair_mask)
    loss = margins.sum((1, 2)) / num_classes
    if input.dim() < 2:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def _pairwise_distance(x1, x2, p=2.0, eps=1e-6):
    diff = x1 - x2 + eps
    dim = max(x1.dim(), x2.dim()) - 1
    if p == 2:
        return (diff * diff).sum(dim).sqrt()
    if p == 1:
        return diff.abs().sum(dim)
    return (diff.abs() ** p).sum(dim) ** (1.0 / p)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    dims = (anchor.dim(), positive.dim(), negative.dim())
    if len(set(dims)) != 1:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and negative "
            f"{dims[2]}D inputs")
    dist_pos = _pairwise_distance(anchor, positive, p, eps)
    dist_neg = _pairwise_distance(anchor, negative, p, eps)
    if swap:
        dist_swap = _pairwise_distance(positive, negative, p, eps)
        dist_neg = _where(dist_swap < dist_neg, dist_swap, dist_neg)
    return _reduce(relu(margin + dist_pos - dist_neg), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean") -> Tensor:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    dims = (anchor.dim(), positive.dim(), negative.dim())
    if len(set(dims)) != 1:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and negative "
            f"{dims[2]}D inputs")
    distance = distance_function or _pairwise_distance
    dist_pos = distance(anchor, positive)
    dist_neg = distance(anchor, negative)
    if swap:
        dist_swap = distance(positive, negative)
        dist_neg = _where(dist_swap < dist_neg, dist_swap, dist_neg)
    return _reduce(relu(margin + dist_pos - dist_neg), reduction)


# ---------------------------------------------------------------------------
# Cross entropy and NLL: one fused Function
# ---------------------------------------------------------------------------


def _check_bounds(xp, target, num_classes, ignore_mask, op_name):
    bad = (target < 0) | (target >= num_classes)
    if ignore_mask is not None:
        bad &= ~ignore_mask
    if bool(bad.any()):
        value = int(target[bad].reshape(-1)[0])
        raise IndexError(f"Target {value} is out of bounds.")


class _ProbabilityTargetLoss(Function):
    """cross_entropy with class probabilities: loss = -sum_c A * log_softmax(x), where
    A = weight * (target * (1 - eps) + eps / C) / divisor; gradient softmax * rowsum(A) - A
    for the input and -A' * logp for the target."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, target, weight, label_smoothing, reduction):
        class_axis = 1 if x.ndim >= 2 else 0
        num_classes = x.shape[class_axis]
        divisor = x.size // max(num_classes, 1) if reduction == "mean" else 1
        logp = _log_softmax_array(x, class_axis)
        if weight is not None:
            weight = weight.reshape(_class_shape(x.ndim, class_axis))
        ctx.meta = (class_axis, reduction, (label_smoothing, num_classes, divisor))
        coefficients = _probability_coefficients(target, weight, ctx.meta[2])
        loss = -(coefficients * logp).sum(axis=class_axis)
        if reduction != "none":
            loss = loss.sum()
            if divisor == 0:  # mean over an empty batch: nan, as PyTorch
                loss = loss * float("nan")
        ctx.save_for_backward(x, target, weight, coefficients, logp)
        return xp_of(x).asarray(loss, dtype=logp.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, target, weight, coefficients, logp = ctx.saved_tensors
        class_axis, reduction, params = ctx.meta
        if reduction == "none":
            grad = grad.unsqueeze(class_axis)
        grad_x = grad_t = grad_w = None
        if _grad_enabled[0]:  # create_graph: keep softmax and A connected to the inputs
            logp = _log_softmax_op(x, class_axis)
            coefficients = _probability_coefficients(target, weight, params)
        if ctx.needs_input_grad[0]:
            row = coefficients.sum(class_axis, keepdim=True)
            grad_x = grad * (logp.exp() * row - coefficients)
        if ctx.needs_input_grad[1]:
            label_smoothing, _, divisor = params
            grad_t = -grad * logp * ((1 - label_smoothing) / divisor)
            if weight is not None:
                grad_t = grad_t * weight
        if ctx.needs_input_grad[2]:  # differentiable here, as in PyTorch's composite
            per_class = -grad * logp * _probability_coefficients(target, None, params)
            other_dims = tuple(d for d in range(per_class.dim()) if d != class_axis)
            grad_w = per_class.sum(other_dims) if other_dims else per_class
        return grad_x, grad_t, grad_w, None, None


def _probability_coefficients(target, weight, params):
    """A for probability targets (arrays or Tensors alike)."""
    label_smoothing, num_classes, divisor = params
    coefficients = (target * (1 - label_smoothing) + label_smoothing / num_classes) / divisor
    return coefficients if weight is None else coefficients * weight


def _class_shape(ndim, class_axis):
    return (-1,) + (1,) * (ndim - class_axis - 1)


class _IndexTargetLoss(Function):
    """cross_entropy / nll_loss with class-index targets, without materialising A: the
    loss gathers one log-probability per sample (plus the label-smoothing row sum), and
    the gradient is ``softmax * rowsum(A)`` with the target entries corrected in place."""

    _array_io = True
    _node_name = "NllLossBackward0"

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, label_smoothing, reduction, from_logits):
        xp = xp_of(x)
        class_axis = 1 if x.ndim >= 2 else 0
        num_classes = x.shape[class_axis]
        logp = _log_softmax_array(x, class_axis) if from_logits else x
        dtype = logp.dtype
        keep = target != ignore_index
        safe = xp.where(keep, target, 0)
        index = xp.expand_dims(safe, class_axis)
        if weight is None:
            class_weight = None
            w_target = keep.astype(dtype)
        else:
            weight = weight.astype(dtype, copy=False)
            class_weight = weight.reshape(_class_shape(x.ndim, class_axis))
            w_target = weight[safe] * keep
        picked = xp.take_along_axis(logp, index, class_axis).squeeze(class_axis)
        target_coef = w_target * (1 - label_smoothing)
        loss = -target_coef * picked
        smooth_coef = None
        if label_smoothing > 0:
            smooth_coef = keep * (label_smoothing / num_classes)
            weighted = logp if class_weight is None else logp * class_weight
            loss = loss - smooth_coef * weighted.sum(axis=class_axis)
        all_ignored = False
        if reduction != "none":
            loss = loss.sum()
            if reduction == "mean":
                total = w_target.sum()
                all_ignored = total == 0  # every target ignored: nan loss, zero gradient
                if not all_ignored:
                    loss = loss / total
                    target_coef = target_coef / total
                    smooth_coef = None if smooth_coef is None else smooth_coef / total
        if all_ignored:
            loss = loss * float("nan")
        ctx.meta = (class_axis, reduction, from_logits, index, target_coef, smooth_coef,
                    class_weight)
        ctx.save_for_backward(x, logp if from_logits else None)
        return xp.asarray(loss, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        x, logp = ctx.saved_tensors
        class_axis, reduction, from_logits, index, target_coef, smooth_coef, class_weight = (
            ctx.meta)
        if not ctx.needs_input_grad[0]:
            return (None,) * 7
        if _grad_enabled[0]:  # create_graph: Tensor ops, so double backward works
            coefficients = _make(_coefficients(x._data, class_axis, index, target_coef,
                                               smooth_coef, class_weight))
            if reduction == "none":
                grad = grad.unsqueeze(class_axis)
            if not from_logits:
                return (-grad * coefficients,) + (None,) * 6
            probs = _log_softmax_op(x, class_axis).exp()
            row = coefficients.sum(class_axis, keepdim=True)
            return (grad * (probs * row - coefficients),) + (None,) * 6
        xp = xp_of(x._data)
        g = grad._data
        if reduction == "none":
            g = xp.expand_dims(g, class_axis)
        g_target = g * xp.expand_dims(target_coef, class_axis)
        if from_logits:
            row = xp.expand_dims(target_coef, class_axis)
            if smooth_coef is not None:
                total_weight = (x._data.shape[class_axis] if class_weight is None
                                else class_weight.sum())
                row = row + xp.expand_dims(smooth_coef, class_axis) * total_weight
            result = xp.exp(logp._data)
            result *= g * row
        else:
            result = xp.zeros_like(x._data)
        current = xp.take_along_axis(result, index, class_axis)
        xp.put_along_axis(result, index, current - g_target, class_axis)
        if smooth_coef is not None:
            smooth = g * xp.expand_dims(smooth_coef, class_axis)
            result -= smooth if class_weight is None else smooth * class_weight
        return (_make(result.astype(x._data.dtype, copy=False)),) + (None,) * 6


def _coefficients(x, class_axis, index, target_coef, smooth_coef, class_weight):
    """The dense coefficient array A (used only when building a differentiable graph)."""
    xp = xp_of(x)
    coefficients = xp.zeros_like(x)
    xp.put_along_axis(coefficients, index, xp.expand_dims(target_coef, class_axis), class_axis)
    if smooth_coef is not None:
        smooth = xp.expand_dims(smooth_coef, class_axis)
        coefficients += smooth if class_weight is None else smooth * class_weight
    return coefficients


def _check_nll_args(input, target, weight, ignore_index, label_smoothing=0.0):
    """PyTorch's argument checks for class-index targets, in PyTorch's order."""
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    num_classes = input.shape[1] if input.dim() >= 2 else input.shape[0]
    if input.dim() <= 2 and target.dim() > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input.dim() >= 2 and (target.dim() == 0 or input.shape[0] != target.shape[0]):
        batch = target.shape[0] if target.dim() else 1
        raise ValueError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
            f"({batch}).")
    if target._data.dtype not in (np.int64, np.uint8):
        raise RuntimeError(
            "expected target dtype to be Long or Byte, but got "
            f"{type_name(target._data.dtype)}")
    if input.dim() > 2:
        expected = (input.shape[0],) + tuple(input.shape[2:])
        if tuple(target.shape) != expected:
            raise RuntimeError(
                f"Expected target size {shape_str(expected)}, got {shape_str(target.shape)}")
    if weight is not None and weight.numel() != num_classes:
        raise RuntimeError(
            f"weight tensor should be defined either for all {num_classes} classes or no "
            f"classes but got weight tensor of shape: {shape_str(weight.shape)}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(
            f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing:g}")
    t = target._data
    xp = xp_of(t)
    _check_bounds(xp, t.astype(np.int64), num_classes, t == ignore_index, "nll_loss")
    return num_classes


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    _check_nll_args(input, target, weight, ignore_index)
    _refuse_grad(weight, "nll_loss_forward", "weight")
    target = _make(target._data.astype(np.int64, copy=False))
    return _IndexTargetLoss.apply(input, target, _plain(weight), ignore_index, 0.0, reduction,
                                  False)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """log_softmax over dim 1 (dim 0 for unbatched input) and NLL in one fused Function.

    Target: class indices of shape (N, d1, ...), or class probabilities shaped like input.
    ``mean`` divides by the summed weights of the non-ignored targets (index targets) or
    by the number of samples (probability targets).
    """
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    if target._data.dtype.kind in "fcV" and tuple(target.shape) == tuple(input.shape):
        if not 0.0 <= label_smoothing <= 1.0:
            raise RuntimeError(
                f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing:g}")
        return _ProbabilityTargetLoss.apply(input, target, weight, label_smoothing, reduction)
    _check_nll_args(input, target, weight, ignore_index, label_smoothing)
    _refuse_grad(weight, "nll_loss_forward", "weight")
    target = _make(target._data.astype(np.int64, copy=False))
    return _IndexTargetLoss.apply(input, target, _plain(weight), ignore_index, label_smoothing,
                                  reduction, True)


def _plain(weight):
    """Class weights carry no gradient in PyTorch's nll_loss: pass them as a constant."""
    return None if weight is None else weight._data


from ._ctc import ctc_loss  # noqa: E402 - defined in its own file, exported from here

__all__ = [
    "l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "poisson_nll_loss",
    "gaussian_nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "soft_margin_loss", "multilabel_soft_margin_loss", "kl_div", "margin_ranking_loss",
    "hinge_embedding_loss", "cosine_embedding_loss", "multi_margin_loss",
    "multilabel_margin_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
    "nll_loss", "cross_entropy", "ctc_loss",
]

TENSOR_METHODS: dict = {}
