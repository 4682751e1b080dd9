"""Shared plumbing for ember.metrics: inputs to tensors, task resolution, zero division.

Every metric is split in two pure functions: a *state* function turning one batch into
additive sufficient statistics (counts, sums, or lists of rows to concatenate) and a
*compute* function turning statistics into the score. The functional form is
``compute(state(batch))`` and the stateful classes sum (or concatenate) states across
batches, so batch-by-batch accumulation gives exactly the one-shot result.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

import ember


class UndefinedMetricWarning(UserWarning):
    """A score was ill-defined (division by zero) and replaced: as scikit-learn's."""


EMPTY_INPUT = (
    "Found empty input array (e.g., `y_true` or `y_pred`) while a minimum of 1 sample is "
    "required."
)
AVERAGES = ("binary", "micro", "macro", "weighted", "samples", "none", None)


def to_tensor(x) -> ember.Tensor:
    """Any array-like as a detached ember tensor (metrics never build autograd graphs)."""
    if isinstance(x, ember.Tensor):
        return x.detach()
    if isinstance(x, np.ndarray):
        return ember.as_tensor(x)
    return ember.tensor(x)


def zero_division_value(zero_division) -> float:
    """sklearn's ``_check_zero_division``: "warn" -> 0.0, 0/1 -> itself, nan -> nan."""
    if isinstance(zero_division, str):
        if zero_division == "warn":
            return 0.0
        if zero_division == "nan":
            return math.nan
    elif isinstance(zero_division, (int, float)) and not isinstance(zero_division, bool):
        if zero_division in (0, 1):
            return float(zero_division)
        if math.isnan(zero_division):
            return math.nan
    raise ValueError(
        f"zero_division must be one of 'warn', 0, 1 or nan, got {zero_division!r}"
    )


def warn_prf(average, modifier, msg_start, result_size):
    """Word-for-word scikit-learn's UndefinedMetricWarning for precision/recall/F."""
    axis0, axis1 = "sample", "label"
    if average == "samples":
        axis0, axis1 = axis1, axis0
    msg = (
        f"{msg_start} ill-defined and being set to 0.0 {{0}} no {modifier} {axis0}s. "
        "Use `zero_division` parameter to control this behavior."
    )
    msg = msg.format("due to" if result_size == 1 else f"in {axis1}s with")
    warnings.warn(msg, UndefinedMetricWarning, stacklevel=4)


def safe_divide(numerator, denominator, zero_division, metric, modifier, average, warn=True):
    """numerator / denominator in float64 with sklearn's ``_prf_divide`` zero handling."""
    numerator = numerator.to(ember.float64)
    denominator = denominator.to(ember.float64)
    zero = denominator == 0
    result = numerator / ember.where(zero, 1.0, denominator)
    if not bool(zero.any()):
        return result
    result = ember.where(zero, zero_division_value(zero_division), result)
    if warn and isinstance(zero_division, str) and zero_division == "warn":
        warn_prf(average, modifier, f"{metric.capitalize()} is", result.shape[0])
    return result


def nan_average(values, weights=None):
    """sklearn's ``_nanaverage``: NaNs ignored; all-zero weights fall back to a plain mean."""
    if values.numel() == 0:
        return ember.tensor(math.nan, dtype=ember.float64, device=values.device)
    finite = ~ember.isnan(values)
    if not bool(finite.any()):
        return ember.tensor(math.nan, dtype=ember.float64, device=values.device)
    kept = values[finite]
    if weights is not None:
        kept_weights = weights[finite].to(ember.float64)
        total = kept_weights.sum()
        if float(total) != 0.0:
            return (kept * kept_weights).sum() / total
    return kept.mean()


def as_score(value, dtype=None):
    """Final scores are default-float tensors (float32 unless changed), as torchmetrics."""
    return value.to(dtype or ember.get_default_dtype())


def check_average(average, allowed=AVERAGES):
    if average not in allowed and average != "auto":
        raise ValueError(f"average has to be one of {tuple(a for a in allowed)}")


def probabilities(preds):
    """Float scores outside [0, 1] are taken as logits and squashed (as torchmetrics)."""
    if preds.numel() and bool(((preds < 0) | (preds > 1)).any()):
        return ember.sigmoid(preds)
    return preds


def resolve_task(preds, target, task, num_classes):
    """'binary', 'multiclass' or 'multilabel' from the arguments, else from the shapes.

    Scores with one more dimension than the target are multiclass; two equal 2-D shapes
    are multilabel; otherwise labels are compared as classes (binary and multiclass share
    the confusion-matrix path, decided at compute time by the classes seen).
    """
    if task is not None:
        if task not in ("binary", "multiclass", "multilabel"):
            raise ValueError(
                f"task must be one of 'binary', 'multiclass', 'multilabel', got {task!r}"
            )
        return task
    if preds.ndim == target.ndim + 1:
        return "multiclass"
    if preds.ndim == 2 and preds.shape == target.shape and preds.shape[1] > 1:
        return "multilabel"
    if num_classes is not None and num_classes > 2:
        return "multiclass"
    return "binary" if preds.is_floating_point() else None


def class_labels(preds, target, task, threshold, ignore_index):
    """Predicted and true class indices as flat int64 tensors, ignored targets removed.

    Returns ``(pred_labels, true_labels, n_score_classes)``; the last is the width of a
    score input (``None`` for label inputs).
    """
    n_score_classes = None
    if preds.ndim == target.ndim + 1:
        if not preds.is_floating_point():
            raise ValueError(
                "class scores must be floating point, got labels with an extra dimension"
            )
        n_score_classes = preds.shape[1]
        preds = preds.argmax(1)
    elif preds.shape != target.shape:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{target.numel()}, {preds.numel()}]"
        )
    elif preds.is_floating_point():
        if task == "multiclass":
            raise ValueError("multiclass predictions must be labels or (N, C, ...) scores")
        preds = probabilities(preds) > threshold
    preds = preds.reshape(-1).long()
    target = target.reshape(-1)
    if target.is_floating_point() and bool((target != target.round()).any()):
        raise ValueError("target must hold class indices, got non-integer values")
    target = target.long()
    if ignore_index is not None:
        keep = target != ignore_index
        preds, target = preds[keep], target[keep]
    if preds.numel() and bool((preds < 0).any() | (target < 0).any()):
        raise ValueError("class labels must be non-negative integers (or ignore_index)")
    if task == "binary" and target.numel() and bool(((target > 1) | (preds > 1)).any()):
        raise ValueError("binary task expects labels in {0, 1}")
    return preds, target, n_score_classes
