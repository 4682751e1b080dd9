"""Reduction and argument helpers shared by ``loss.py`` and ``_cross_entropy.py``.

They reproduce PyTorch's handling of ``reduction`` and of the deprecated
``size_average``/``reduce`` pair, with its warning and error texts, in one place.
"""

from __future__ import annotations

import warnings

from ..autograd.grad_mode import _grad_enabled
from ._util import outside


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


def _check_bounds(target, num_classes, keep_mask=None):
    """IndexError for a class index outside [0, num_classes) where ``keep_mask`` (None:
    everywhere) holds."""
    bad = outside(target, num_classes)
    if keep_mask is not None:
        bad &= keep_mask
    _raise_out_of_bounds(target, bad)


def _raise_out_of_bounds(target, bad):
    """IndexError naming the first ``target`` entry where ``bad`` holds (one device read
    on a GPU where none does)."""
    if bool(bad.any()):
        value = int(target[bad].reshape(-1)[0])
        raise IndexError(f"Target {value} is out of bounds.")
