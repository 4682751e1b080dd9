"""Loss functions, as ``torch.nn.functional`` has them.

Where PyTorch computes a loss as one autograd node (mse, huber, smooth_l1, the binary
cross entropies, soft_margin, multi_margin, multilabel_margin), so does ember, with the
reduction inside and PyTorch's node name (``grad_fn=<MseLossBackward0>``): those
Functions live in ``_loss_pointwise.py`` and ``_loss_margin.py``. cross_entropy and
nll_loss are one fused Function in ``_cross_entropy.py`` and ctc_loss lives in
``_ctc.py``; all are exported from here. The other losses are short compositions of ops,
as PyTorch's are. The reduction helpers they share are in ``_loss_common.py``.
"""

from __future__ import annotations

import math
import warnings

from ._util import Tensor, _make, xp_of
from ._loss_margin import MultiMarginLoss, MultilabelMarginLoss
from ._loss_pointwise import (BinaryCrossEntropy, BinaryCrossEntropyWithLogits, HuberLoss,
                              MseLoss, SmoothL1Loss, SoftMarginLoss)
from .activation import logsigmoid, relu
from .pointwise import AddScalar
from ._autocast import float32_in_autocast
from ._loss_common import (  # noqa: F401 - _legacy_reduction is read by nn.modules.loss
    _check_bounds, _check_reduction, _legacy_reduction, _reduce, _refuse_grad, _resolve, _size_warning,
    _weighted, _where,
)


def _array_or_none(tensor):
    """A non-differentiable weight argument as a plain array for the fused losses."""
    return None if tensor is None else tensor._data


# ---------------------------------------------------------------------------
# Regression losses
# ---------------------------------------------------------------------------


@float32_in_autocast
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
    if weight is not None:  # PyTorch's weighted form is a composite, too
        return _weighted((input - target).pow(2), weight, input, reduction,
                         mean_by_weight=True)
    _check_reduction(reduction)
    return MseLoss.apply(input, target, reduction=reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (l1 when beta is 0)."""
    _size_warning(input, target)
    reduction = _resolve(reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:  # PyTorch falls back to l1_loss
        return _reduce((input - target).abs(), reduction)
    _check_reduction(reduction)
    return SmoothL1Loss.apply(input, target, reduction=reduction, limit=beta)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere."""
    _size_warning(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if weight is not None:
        loss = HuberLoss.apply(input, target, reduction="none", limit=delta)
        return _weighted(loss, weight, input, reduction, mean_by_weight=False)
    _check_reduction(reduction)
    return HuberLoss.apply(input, target, reduction=reduction, limit=delta)


@float32_in_autocast
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


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _resolve(reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size.")
    _check_reduction(reduction)
    _refuse_grad(weight, "binary_cross_entropy", "weight")
    return BinaryCrossEntropy.apply(input, target, weight=_array_or_none(weight),
                                    reduction=reduction)


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
    return BinaryCrossEntropyWithLogits.apply(
        input, target, weight=_array_or_none(weight), pos_weight=_array_or_none(pos_weight),
        reduction=reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    _refuse_grad(target, "soft_margin_loss", "target")
    return SoftMarginLoss.apply(input, target=target._data, reduction=reduction)


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


@float32_in_autocast
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
    hinge = AddScalar.apply(-target * (input1 - input2), margin)  # PyTorch's add(Scalar)
    return _reduce(hinge.clamp_min(0), reduction)


@float32_in_autocast
def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    margin_part = _where(target != 1, relu(margin - input), 0.0)
    self_part = _where(target != -1, input, 0.0)
    return _reduce(margin_part + self_part, reduction)


@float32_in_autocast
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
    num_classes = input.shape[-1] if input.dim() else 1
    t = target._data
    _check_bounds(t, num_classes)
    return MultiMarginLoss.apply(input, target=t, p=p, margin=margin,
                                 weight=_array_or_none(weight), reduction=reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """For each target class j (the indices before the first -1) and each non-target i:
    max(0, 1 - (x[j] - x[i])), summed and divided by C. Vectorised over all (j, i) pairs."""
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)
    shape = tuple(input.shape) if input.dim() >= 2 else (1, input.numel())
    tgt = target._data.reshape(shape)
    xp = xp_of(tgt)
    valid = xp.cumprod(tgt != -1, axis=1).astype(bool)
    _check_bounds(xp.where(valid, tgt, 0), shape[1])
    is_target = xp.zeros(shape, dtype=bool)
    rows = xp.broadcast_to(xp.arange(shape[0])[:, None], shape)
    is_target[rows[valid], tgt[valid]] = True
    return MultilabelMarginLoss.apply(input, is_target=is_target, reduction=reduction)


def _pairwise_distance(x1, x2, p=2.0, eps=1e-6):
    diff = x1 - x2 + eps
    dim = max(x1.dim(), x2.dim()) - 1
    if p == 2:
        return (diff * diff).sum(dim).sqrt()
    if p == 1:
        return diff.abs().sum(dim)
    return (diff.abs() ** p).sum(dim) ** (1.0 / p)


def _triplet_loss(anchor, positive, negative, distance, margin, swap, reduction):
    """Both triplet losses: relu(margin + d(a, p) - d(a, n)), with d(p, n) standing in for
    d(a, n) where ``swap`` finds it smaller."""
    dims = (anchor.dim(), positive.dim(), negative.dim())
    if len(set(dims)) != 1:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and negative "
            f"{dims[2]}D inputs")
    dist_pos = distance(anchor, positive)
    dist_neg = distance(anchor, negative)
    if swap:
        dist_swap = distance(positive, negative)
        dist_neg = _where(dist_swap < dist_neg, dist_swap, dist_neg)
    return _reduce((AddScalar.apply(dist_pos, margin) - dist_neg).clamp_min(0), reduction)


@float32_in_autocast
def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _resolve(reduction, size_average, reduce)
    _check_reduction(reduction)

    def distance(x1, x2):
        return _pairwise_distance(x1, x2, p, eps)

    return _triplet_loss(anchor, positive, negative, distance, margin, swap, reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean") -> Tensor:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    distance = distance_function or _pairwise_distance
    return _triplet_loss(anchor, positive, negative, distance, margin, swap, reduction)


from ._cross_entropy import cross_entropy, nll_loss  # noqa: E402 - own file, exported here
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
