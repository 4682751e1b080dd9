"""Confusion-based classification metrics, scikit-learn's semantics on ember tensors.

Arguments follow the PyTorch-ecosystem order ``(preds, target)`` (torchmetrics);
``classification_report`` alone keeps scikit-learn's ``(y_true, y_pred)``.

Inputs: ``preds`` are labels (same shape as ``target``), probabilities or logits for the
binary/multilabel case (thresholded; values outside [0, 1] go through a sigmoid first),
or class scores of shape ``(N, C, ...)`` for multiclass (argmax; ``top_k`` for accuracy).
``task`` is inferred from shapes when not given. Without ``num_classes`` (or ``labels``)
only classes seen in target or predictions are scored, as scikit-learn does; pass
``num_classes`` to score every class. ``average="auto"`` is scikit-learn's ``"binary"``
on two-class data and ``"macro"`` otherwise; ``"none"``/``None`` give per-class scores.
"""

from __future__ import annotations

import math
import warnings

import ember

from ._common import (
    EMPTY_INPUT,
    UndefinedMetricWarning,
    as_score,
    check_average,
    nan_average,
    safe_divide,
    to_tensor,
    zero_division_value,
)
from ._stats import (
    check_not_empty,
    class_counts,
    classification_state,
    is_multilabel,
    label_indices,
    padded_confmat,
    resolve_average,
)


def _averaged(values, average, weights=None):
    if average in (None, "none"):
        return values
    return nan_average(values, weights)


# ----------------------------------------------------------------------------- compute


def prf_compute(state, *, beta=1.0, average="auto", num_classes=None, labels=None, task=None,
                zero_division="warn", warn_for=("precision", "recall", "f-score"), **_options):
    """Precision, recall, F-beta and support, as sklearn's precision_recall_fscore_support."""
    check_average(average)
    zero_division_value(zero_division)
    check_not_empty(state)
    average = resolve_average(state, average, task)
    if average == "samples":
        tp, pred, true = state["sample_tp"], state["sample_pred"], state["sample_true"]
    else:
        tp, pred, true, _ = class_counts(state, num_classes, labels, task, average)
    if average == "micro":
        tp, pred, true = tp.sum().reshape(1), pred.sum().reshape(1), true.sum().reshape(1)
    precision = safe_divide(tp, pred, zero_division, "precision", "predicted", average,
                            "precision" in warn_for)
    recall = safe_divide(tp, true, zero_division, "recall", "true", average,
                         "recall" in warn_for)
    if math.isinf(beta):
        f_score = recall
    elif beta == 0:
        f_score = precision
    else:
        beta2 = beta * beta
        f_score = safe_divide(
            (1 + beta2) * tp.to(ember.float64), beta2 * true.to(ember.float64) + pred,
            zero_division, "f-score", "true nor predicted", average, "f-score" in warn_for,
        )
    weights = true if average == "weighted" else None
    return (_averaged(precision, average, weights), _averaged(recall, average, weights),
            _averaged(f_score, average, weights), true)


def _precision_compute(state, **options):
    return as_score(prf_compute(state, warn_for=("precision",), **options)[0])


def _recall_compute(state, **options):
    return as_score(prf_compute(state, warn_for=("recall",), **options)[1])


def _fbeta_compute(state, **options):
    return as_score(prf_compute(state, warn_for=("f-score",), **options)[2])


def _specificity_compute(state, *, average="auto", num_classes=None, labels=None, task=None,
                         zero_division="warn", **_options):
    check_average(average)
    zero_division_value(zero_division)
    check_not_empty(state)
    average = resolve_average(state, average, task)
    if average == "samples":
        raise ValueError("average='samples' is not defined for specificity")
    tp, pred, true, total = class_counts(state, num_classes, labels, task, average)
    negatives = total - true
    true_negatives = negatives - (pred - tp)
    if average == "micro":
        true_negatives, negatives = true_negatives.sum().reshape(1), negatives.sum().reshape(1)
    score = safe_divide(true_negatives, negatives, zero_division, "specificity", "negative",
                        average)
    return as_score(_averaged(score, average, true if average == "weighted" else None))


def _accuracy_compute(state, *, average="micro", num_classes=None, labels=None, task=None,
                      top_k=1, exact_match=False, zero_division="warn", **_options):
    check_average(average)
    if average == "samples":
        raise ValueError("average='samples' is not defined for accuracy; use exact_match=True "
                         "for subset accuracy")
    zero_division_value(zero_division)
    check_not_empty(state)
    if is_multilabel(state):
        if exact_match:
            return as_score((state["sample_errors"] == 0).to(ember.float64).mean())
        tp, pred, true, count = class_counts(state, labels=labels)
        correct = count - pred - true + 2 * tp
        if average in ("micro", "binary", "auto"):
            return as_score(correct.sum().to(ember.float64) / count.sum())
        score = safe_divide(correct, count, zero_division, "accuracy", "true", average)
        return as_score(_averaged(score, average, true if average == "weighted" else None))
    confmat = state["confmat"]
    hits = state["topk_hits"] if top_k > 1 else ember.diagonal(confmat)
    if average in ("micro", "binary", "auto"):
        return as_score(hits.sum().to(ember.float64) / confmat.sum())
    # Per-class accuracy is the class's recall (torchmetrics' multiclass definition).
    index = label_indices(confmat, num_classes, labels)
    size = max(confmat.shape[0], int(index.max()) + 1 if index.numel() else 0)
    confmat = padded_confmat(confmat, size)
    hits = ember.nn.functional.pad(hits, (0, size - hits.shape[0]))
    support = confmat.sum(1)[index]
    score = safe_divide(hits[index], support, zero_division, "accuracy", "true", average)
    return as_score(_averaged(score, average, support if average == "weighted" else None))


def _confusion_matrix_compute(state, *, normalize=None, num_classes=None, labels=None,
                              task=None, **_options):
    if normalize not in ("true", "pred", "all", None):
        raise ValueError(
            f"normalize must be one of {{'true', 'pred', 'all', None}}, got {normalize!r}"
        )
    check_not_empty(state)
    if is_multilabel(state):
        tp, pred, true, count = class_counts(state, labels=labels)
        fp, fn = pred - tp, true - tp
        tn = count - tp - fp - fn
        matrix = ember.stack([tn, fp, fn, tp], 1).reshape(-1, 2, 2)
        return matrix
    confmat = state["confmat"]
    if task == "binary":
        index = ember.arange(2, device=confmat.device)
    else:
        index = label_indices(confmat, num_classes, labels)
    if index.numel():
        confmat = padded_confmat(confmat, max(confmat.shape[0], int(index.max()) + 1))
    matrix = confmat[index][:, index]
    _warn_single_label(matrix)
    if normalize is None:
        return matrix
    matrix = matrix.to(ember.float64)
    if normalize == "true":
        matrix = matrix / matrix.sum(1, keepdim=True)
    elif normalize == "pred":
        matrix = matrix / matrix.sum(0, keepdim=True)
    else:
        matrix = matrix / matrix.sum()
    return as_score(ember.nan_to_num(matrix, nan=0.0, posinf=0.0, neginf=0.0))


def _label_confmat(state, name):
    if is_multilabel(state):
        raise ValueError(f"multilabel-indicator is not supported by {name}")
    check_not_empty(state)
    confmat = state["confmat"]
    seen = label_indices(confmat, None, None)
    matrix = confmat[seen][:, seen]
    _warn_single_label(matrix)
    return matrix.to(ember.float64)


def _warn_single_label(matrix):
    if tuple(matrix.shape) == (1, 1):
        warnings.warn(
            "A single label was found in 'y_true' and 'y_pred'. For the confusion matrix to "
            "have the correct shape, use the 'labels' parameter to pass all known labels.",
            UserWarning, stacklevel=4,
        )


def _balanced_accuracy_compute(state, *, adjusted=False, **_options):
    confmat = _label_confmat(state, "balanced_accuracy")
    per_class = ember.diagonal(confmat) / confmat.sum(1)
    missing = ember.isnan(per_class)
    if bool(missing.any()):
        warnings.warn("y_pred contains classes not in y_true", UserWarning, stacklevel=3)
        per_class = per_class[~missing]
    score = per_class.mean()
    if adjusted:
        chance = 1 / per_class.shape[0]
        score = (score - chance) / (1 - chance)
    return as_score(score)


def _matthews_compute(state, **_options):
    confmat = _label_confmat(state, "matthews_corrcoef")
    true_sum, pred_sum = confmat.sum(1), confmat.sum(0)
    n_correct, n_samples = ember.diagonal(confmat).sum(), pred_sum.sum()
    cov_true_pred = n_correct * n_samples - (true_sum * pred_sum).sum()
    cov_pred = n_samples**2 - (pred_sum * pred_sum).sum()
    cov_true = n_samples**2 - (true_sum * true_sum).sum()
    denominator = cov_pred * cov_true
    if float(denominator) == 0.0:
        return as_score(ember.tensor(0.0, device=confmat.device))
    return as_score(cov_true_pred / ember.sqrt(denominator))


def _cohen_kappa_compute(state, *, weights=None, replace_undefined_by=math.nan, **_options):
    if weights not in (None, "linear", "quadratic"):
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    confmat = _label_confmat(state, "cohen_kappa")
    n_classes = confmat.shape[0]
    col_sum, row_sum = confmat.sum(0), confmat.sum(1)
    expected = ember.outer(col_sum, row_sum) / col_sum.sum()
    if weights is None:
        weight = 1.0 - ember.eye(n_classes, dtype=ember.float64, device=confmat.device)
    else:
        classes = ember.arange(n_classes, dtype=ember.float64, device=confmat.device)
        grid = classes.expand(n_classes, n_classes)
        distance = grid - grid.T
        weight = distance.abs() if weights == "linear" else distance**2
    denominator = (weight * expected).sum()
    if float(denominator) == 0.0:
        warnings.warn(
            "`y1`, `y2` and `labels` have only one label in common. `cohen_kappa_score` is "
            "undefined and set to the value defined by the the `replace_undefined_by` param, "
            f"which is set to {replace_undefined_by}.", UndefinedMetricWarning, stacklevel=3,
        )
        return as_score(ember.tensor(float(replace_undefined_by), device=confmat.device))
    return as_score(1 - (weight * confmat).sum() / denominator)


# ----------------------------------------------------------------------------- functional


def _functional(compute, preds, target, **options):
    """A functional metric: the batch's statistics, then ``compute`` on them (the stateful
    classes run the same two steps over many batches)."""
    return compute(classification_state(preds, target, **options), **options)


def accuracy(preds, target, task=None, num_classes=None, threshold=0.5, average="micro",
             top_k=1, ignore_index=None, exact_match=False, zero_division="warn"):
    """Fraction of correct predictions.

    ``top_k`` counts a sample correct when its class is among the k highest scores.
    ``average="macro"/"weighted"/"none"`` gives per-class accuracy (the class's recall)
    averaged. Multilabel: ``average="micro"`` scores every label entry (``1 -
    hamming_loss``); ``exact_match=True`` needs the whole label row right (scikit-learn's
    ``accuracy_score``).

    >>> accuracy(ember.tensor([0, 2, 1]), ember.tensor([0, 1, 1]))
    tensor(0.6667)
    """
    return _functional(
        _accuracy_compute, preds, target, task=task, num_classes=num_classes, threshold=threshold,
        average=average, top_k=top_k, ignore_index=ignore_index, exact_match=exact_match,
        zero_division=zero_division,
    )


def precision(preds, target, task=None, num_classes=None, average="auto", threshold=0.5,
              ignore_index=None, labels=None, zero_division="warn"):
    """tp / (tp + fp): how many predicted positives were right (sklearn's precision_score)."""
    return _functional(
        _precision_compute, preds, target, task=task, num_classes=num_classes, average=average,
        threshold=threshold, ignore_index=ignore_index, labels=labels, zero_division=zero_division,
    )


def recall(preds, target, task=None, num_classes=None, average="auto", threshold=0.5,
           ignore_index=None, labels=None, zero_division="warn"):
    """tp / (tp + fn): how many true positives were found (sklearn's recall_score)."""
    return _functional(
        _recall_compute, preds, target, task=task, num_classes=num_classes, average=average,
        threshold=threshold, ignore_index=ignore_index, labels=labels, zero_division=zero_division,
    )


def fbeta_score(preds, target, beta, task=None, num_classes=None, average="auto",
                threshold=0.5, ignore_index=None, labels=None, zero_division="warn"):
    """(1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp): recall weighted b times precision."""
    if beta < 0:
        raise ValueError(f"beta should be >=0, got {beta}")
    return _functional(
        _fbeta_compute, preds, target, beta=beta, task=task, num_classes=num_classes,
        average=average, threshold=threshold, ignore_index=ignore_index, labels=labels,
        zero_division=zero_division,
    )


def f1_score(preds, target, task=None, num_classes=None, average="auto", threshold=0.5,
             ignore_index=None, labels=None, zero_division="warn"):
    """Harmonic mean of precision and recall (F-beta with beta = 1)."""
    return fbeta_score(preds, target, 1.0, task, num_classes, average, threshold,
                       ignore_index, labels, zero_division)


def specificity(preds, target, task=None, num_classes=None, average="auto", threshold=0.5,
                ignore_index=None, labels=None, zero_division="warn"):
    """tn / (tn + fp): the recall of the negatives (per class: one-vs-rest)."""
    return _functional(
        _specificity_compute, preds, target, task=task, num_classes=num_classes, average=average,
        threshold=threshold, ignore_index=ignore_index, labels=labels, zero_division=zero_division,
    )


def confusion_matrix(preds, target, task=None, num_classes=None, normalize=None, labels=None,
                     threshold=0.5, ignore_index=None):
    """Counts with rows = true class and columns = predicted class (sklearn's layout).

    ``normalize`` divides by row sums ("true"), column sums ("pred") or the total
    ("all"); empty rows/columns give 0. Binary task: always 2x2. Multilabel: one
    ``[[tn, fp], [fn, tp]]`` block per label, shape (L, 2, 2) (sklearn's
    multilabel_confusion_matrix).
    """
    return _functional(
        _confusion_matrix_compute, preds, target, task=task, num_classes=num_classes,
        normalize=normalize, labels=labels, threshold=threshold, ignore_index=ignore_index,
    )


def balanced_accuracy(preds, target, task=None, adjusted=False, threshold=0.5,
                      ignore_index=None):
    """Mean recall over the classes present in target (sklearn's balanced_accuracy_score)."""
    return _functional(
        _balanced_accuracy_compute, preds, target, task=task, adjusted=adjusted,
        threshold=threshold, ignore_index=ignore_index,
    )


def matthews_corrcoef(preds, target, task=None, threshold=0.5, ignore_index=None):
    """Correlation between true and predicted classes in [-1, 1]; 0 when undefined."""
    return _functional(
        _matthews_compute, preds, target, task=task, threshold=threshold, ignore_index=ignore_index,
    )


def cohen_kappa(preds, target, task=None, weights=None, threshold=0.5, ignore_index=None,
                replace_undefined_by=math.nan):
    """Agreement beyond chance; ``weights`` "linear"/"quadratic" for ordinal classes."""
    return _functional(
        _cohen_kappa_compute, preds, target, task=task, weights=weights, threshold=threshold,
        ignore_index=ignore_index, replace_undefined_by=replace_undefined_by,
    )


def recall_at_k(preds, target, k, ignore_index=None, zero_division="warn"):
    """Top-k recall, two readings chosen by the target's shape.

    * multiclass, ``target`` (N,) class indices and ``preds`` (N, C) scores: the fraction
      of samples whose true class is among the k highest scores (top-k accuracy, as
      sklearn's ``top_k_accuracy_score``).
    * retrieval, ``target`` (N, M) 0/1 relevance and ``preds`` (N, M) scores: per query,
      relevant items in the top k over all relevant items, averaged over queries; a
      query with no relevant item scores ``zero_division`` (warning when "warn").
    """
    preds, target = to_tensor(preds), to_tensor(target)
    if target.ndim + 1 == preds.ndim:
        return accuracy(preds, target, task="multiclass", top_k=k, ignore_index=ignore_index)
    if preds.shape != target.shape or preds.ndim != 2:
        raise ValueError(
            "recall_at_k expects (N, C) scores with (N,) classes or (N, M) scores with (N, M) "
            f"relevance, got {tuple(preds.shape)} and {tuple(target.shape)}"
        )
    if k < 1 or k > preds.shape[1]:
        raise ValueError(f"k must be in [1, {preds.shape[1]}], got {k}")
    if preds.shape[0] == 0:
        raise ValueError(EMPTY_INPUT)
    relevant = target == 1
    if ignore_index is not None:
        relevant = relevant & (target != ignore_index)
    top = ember.topk(preds, k, dim=1).indices
    found = ember.gather(relevant, 1, top).sum(1)
    per_query = safe_divide(found, relevant.sum(1), zero_division, "recall", "true", "samples")
    return as_score(nan_average(per_query))


__all__ = [
    "accuracy",
    "balanced_accuracy",
    "cohen_kappa",
    "confusion_matrix",
    "f1_score",
    "fbeta_score",
    "matthews_corrcoef",
    "precision",
    "recall",
    "recall_at_k",
    "specificity",
]
