"""Threshold curves and ranking scores: ROC, AUROC, precision-recall, average precision,
calibration error. scikit-learn's definitions, sorting-based and vectorised.

Scores are sorted once per class (a whole ``(K, N)`` batch of one-vs-rest or one-vs-one
problems in one ``sort``); tied scores form one threshold, handled by carrying each tie
group's final counts to every member, so areas never depend on the order of ties.
Arguments are ``(preds, target)``: ``preds`` are scores (binary: (N,), multiclass:
(N, C) probabilities, multilabel: (N, L)), ``target`` class indices or 0/1 indicators.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

import ember

from ._common import EMPTY_INPUT, UndefinedMetricWarning, as_score, probabilities, to_tensor

CURVE_AVERAGES = ("micro", "macro", "weighted", "none", None)
IGNORED = -1  # multilabel target entries set by ignore_index


def curve_state(preds, target, *, task=None, ignore_index=None, **_options):
    """Curves need every score: the state keeps the (filtered) rows to concatenate."""
    preds, target = to_tensor(preds), to_tensor(target)
    if not preds.is_floating_point():
        preds = preds.to(ember.get_default_dtype())
    if preds.ndim and target.ndim and preds.shape[0] != target.shape[0]:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{target.shape[0]}, {preds.shape[0]}]"
        )
    if preds.ndim == target.ndim + 1 or (task == "multiclass" and preds.ndim == 2):
        preds = ember.movedim(preds, 1, -1).reshape(-1, preds.shape[1])
        target = target.reshape(-1)
    elif preds.shape != target.shape:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{target.shape[0] if target.ndim else 1}, {preds.shape[0] if preds.ndim else 1}]"
        )
    elif preds.ndim >= 2 and task != "binary":
        preds = ember.movedim(preds, 1, -1).reshape(-1, preds.shape[1])
        target = ember.movedim(target, 1, -1).reshape(-1, target.shape[1])
    else:
        preds, target = preds.reshape(-1), target.reshape(-1)
    target = target.long()
    if ignore_index is not None and (preds.ndim == 1 or target.ndim == 1):
        keep = target != ignore_index
        preds, target = preds[keep], target[keep]
    elif ignore_index is not None:
        # Multilabel: an ignored entry leaves its row's other labels in, so it is marked
        # and weighted out of the counts instead of being dropped.
        target = ember.where(target == ignore_index, IGNORED, target)
    return {"preds": preds, "target": target}


def _kind(state):
    preds, target = state["preds"], state["target"]
    if preds.ndim == 1:
        return "binary"
    return "multiclass" if target.ndim == 1 else "multilabel"


def _check_binary_target(target, allow_ignored=False):
    wrong = (target != 0) & (target != 1)
    if allow_ignored:
        wrong = wrong & (target != IGNORED)
    if bool(wrong.any()):
        raise ValueError("binary and multilabel targets must hold 0/1 labels")


def _tie_groups(sorted_scores):
    """Flat indices of each position's tie group: (group id, first index, last index)."""
    rows, width = sorted_scores.shape
    starts = ember.ones(rows, width, dtype=ember.bool, device=sorted_scores.device)
    starts[:, 1:] = sorted_scores[:, 1:] != sorted_scores[:, :-1]
    group = ember.cumsum(starts.reshape(-1).long(), 0) - 1
    sizes = ember.bincount(group)
    last = ember.cumsum(sizes, 0) - 1
    return group, last - sizes + 1, last


def _tie_filled_counts(scores, positive, valid=None):
    """Cumulative tp/fp counts along descending scores for each row of ``(K, N)`` scores.

    Each position carries the counts at the end of its tie group, so every member of a
    tie shares one point of the curve. Returns ``(sorted_scores, tps, fps)`` in float64.
    """
    order = ember.argsort(scores, dim=1, descending=True, stable=True)
    sorted_scores = ember.gather(scores, 1, order)
    hits = ember.gather(positive, 1, order).to(ember.float64)
    misses = 1.0 - hits
    if valid is not None:
        weight = ember.gather(valid, 1, order).to(ember.float64)
        hits, misses = hits * weight, misses * weight
    tps, fps = ember.cumsum(hits, 1), ember.cumsum(misses, 1)
    rows, width = scores.shape
    if width == 0:
        return sorted_scores, tps, fps
    group, _, last = _tie_groups(sorted_scores)
    at_group_end = last[group]
    return (sorted_scores, tps.reshape(-1)[at_group_end].reshape(rows, width),
            fps.reshape(-1)[at_group_end].reshape(rows, width))


def _auc_rows(scores, positive, valid=None):
    """Trapezoidal ROC AUC of each row; NaN (with sklearn's warning) for one-class rows."""
    _, tps, fps = _tie_filled_counts(scores, positive, valid)
    n_pos, n_neg = tps[:, -1:], fps[:, -1:]
    one_class = (n_pos[:, 0] == 0) | (n_neg[:, 0] == 0)
    zero = ember.zeros(scores.shape[0], 1, dtype=ember.float64, device=scores.device)
    tpr = ember.cat([zero, tps / ember.where(n_pos == 0, 1.0, n_pos)], 1)
    fpr = ember.cat([zero, fps / ember.where(n_neg == 0, 1.0, n_neg)], 1)
    area = ((fpr[:, 1:] - fpr[:, :-1]) * (tpr[:, 1:] + tpr[:, :-1]) / 2).sum(1)
    if bool(one_class.any()):
        warnings.warn(
            "Only one class is present in y_true. ROC AUC score is not defined in that case.",
            UndefinedMetricWarning, stacklevel=4,
        )
        area = ember.where(one_class, math.nan, area)
    return area


def _average_precision_rows(scores, positive, valid=None):
    """Step-integral of precision over recall per row (sklearn's average_precision)."""
    _, tps, fps = _tie_filled_counts(scores, positive, valid)
    n_pos = tps[:, -1:]
    if bool((n_pos == 0).any()):
        warnings.warn(
            "No positive class found in y_true, recall is set to one for all thresholds.",
            UserWarning, stacklevel=4,
        )
    predicted = tps + fps
    precision = tps / ember.where(predicted == 0, 1.0, predicted)
    recall = ember.where(n_pos == 0, 1.0, tps / ember.where(n_pos == 0, 1.0, n_pos))
    zero = ember.zeros(scores.shape[0], 1, dtype=ember.float64, device=scores.device)
    steps = ember.diff(ember.cat([zero, recall], 1), dim=1)
    return ember.clamp((steps * precision).sum(1), min=0.0)


def _one_vs_rest(state, name, classes_message):
    """Rows of one-vs-rest problems: (K, N) scores and positives, plus class supports."""
    preds, target = state["preds"], state["target"]
    if preds.shape[0] == 0:
        raise ValueError(EMPTY_INPUT)
    if _kind(state) == "multilabel":
        _check_binary_target(target, allow_ignored=True)
        return preds.T, (target == 1).T, _valid_entries(target)
    n_classes = preds.shape[1]
    present = ember.bincount(target, minlength=n_classes) > 0
    if target.numel() and (int(target.max()) >= n_classes or not bool(present.all())):
        raise ValueError(classes_message)
    classes = ember.arange(n_classes, device=preds.device).unsqueeze(1)
    return preds.T, target.unsqueeze(0) == classes, None


def _valid_entries(target):
    """None when nothing was ignored (the fast path), else the (K, N) mask of kept entries."""
    valid = target != IGNORED
    return None if bool(valid.all()) else valid.T


def _average_rows(scores, positive, valid, average, rows_fn):
    """sklearn's ``_average_binary_score`` for one-vs-rest / multilabel rows."""
    if average == "micro":
        flat_valid = None if valid is None else valid.reshape(1, -1)
        return rows_fn(scores.reshape(1, -1), positive.reshape(1, -1), flat_valid)[0]
    per_row = rows_fn(scores, positive, valid)
    if average in (None, "none"):
        return per_row
    if average == "weighted":
        weight = positive.sum(1).to(ember.float64)
        if float(weight.sum()) == 0.0:
            return ember.tensor(0.0, dtype=ember.float64, device=scores.device)
        per_row = ember.where(weight == 0, 0.0, per_row)
        return (per_row * weight).sum() / weight.sum()
    return per_row.mean()


def _auroc_compute(state, *, average="macro", multi_class="ovr", max_fpr=None, **_options):
    if average not in CURVE_AVERAGES + ("samples",):
        raise ValueError(f"average has to be one of {CURVE_AVERAGES + ('samples',)}")
    kind = _kind(state)
    preds, target = state["preds"], state["target"]
    if kind == "binary":
        if preds.shape[0] == 0:
            raise ValueError(EMPTY_INPUT)
        _check_binary_target(target)
        if max_fpr is not None and max_fpr != 1:
            return as_score(_partial_auc(preds, target, max_fpr))
        return as_score(_auc_rows(preds.unsqueeze(0), (target == 1).unsqueeze(0))[0])
    if kind == "multiclass":
        if max_fpr is not None and max_fpr != 1.0:
            raise ValueError(
                "Partial AUC computation not available in multiclass setting, 'max_fpr' must "
                f"be set to `None`, received `max_fpr={max_fpr}` instead"
            )
        options = ("macro", "weighted", None, "none")
        if multi_class == "ovr":
            options += ("micro",)
        if multi_class not in ("ovr", "ovo"):
            raise ValueError(
                f"multi_class='{multi_class}' is not supported for multiclass ROC AUC, "
                "multi_class must be in ('ovo', 'ovr')"
            )
        if average not in options:
            raise ValueError(
                f"average must be one of {tuple(o for o in options if o != 'none')} for "
                "multiclass problems"
            )
        row_sums = preds.sum(1).to(ember.float64)
        if preds.shape[0] and not bool(ember.allclose(row_sums, ember.ones_like(row_sums))):
            raise ValueError(
                "Target scores need to be probabilities for multiclass roc_auc, i.e. they "
                "should sum up to 1.0 over classes"
            )
        if multi_class == "ovo":
            if average in (None, "none"):
                raise NotImplementedError(
                    "average=None is not implemented for multi_class='ovo'."
                )
            return as_score(_auroc_ovo(state, average))
    elif average == "samples":
        _check_binary_target(target, allow_ignored=True)
        valid = _valid_entries(target)
        valid = None if valid is None else valid.T
        return as_score(_auc_rows(preds, target == 1, valid).mean())
    message = "Number of classes in y_true not equal to the number of columns in 'y_score'"
    scores, positive, valid = _one_vs_rest(state, "roc_auc", message)
    return as_score(_average_rows(scores, positive, valid, average, _auc_rows))


def _auroc_ovo(state, average):
    """Hand & Till's one-vs-one AUROC from one sort per class column.

    Sorting column a once gives, for every sample, how many class-a samples score above
    it (ties count half). Summing that per true class b (one ``bincount``) gives
    ``wins[a, b]``: the class-a over class-b pairs column a orders correctly, so
    AUC(a vs b on column a) = wins[a, b] / (n_a n_b) for every pair at once.
    """
    preds, target = state["preds"], state["target"]
    _one_vs_rest(state, "roc_auc", "Number of classes in y_true not equal to the number of "
                 "columns in 'y_score'")
    n_classes, n_samples = preds.shape[1], preds.shape[0]
    scores = preds.T
    order = ember.argsort(scores, dim=1, descending=True, stable=True)
    sorted_scores = ember.gather(scores, 1, order)
    sorted_classes = target[order]
    column_class = ember.arange(n_classes, device=preds.device).unsqueeze(1)
    hits = (sorted_classes == column_class).to(ember.float64).reshape(-1)
    through = ember.cumsum(hits.reshape(n_classes, n_samples), 1).reshape(-1)
    group, first, last = _tie_groups(sorted_scores)
    above = (through - hits)[first[group]]
    credit = (above + through[last[group]]) / 2
    key = (column_class * n_classes + sorted_classes).reshape(-1)
    wins = ember.bincount(key, weights=credit, minlength=n_classes * n_classes)
    wins = wins.reshape(n_classes, n_classes)
    counts = ember.bincount(target, minlength=n_classes).to(ember.float64)
    pair_auc = (wins + wins.T) / (2 * ember.outer(counts, counts))
    first_class, second_class = (ember.as_tensor(index, device=preds.device)
                                 for index in np.triu_indices(n_classes, 1))
    pair_auc = pair_auc[first_class, second_class]
    if average == "weighted":
        prevalence = (counts[first_class] + counts[second_class]) / n_samples
        return (pair_auc * prevalence).sum() / prevalence.sum()
    return pair_auc.mean()


def _partial_auc(preds, target, max_fpr):
    """McClish-corrected AUC up to ``max_fpr`` (sklearn's ``max_fpr``)."""
    if max_fpr <= 0 or max_fpr > 1:
        raise ValueError(f"Expected max_fpr in range (0, 1], got: {max_fpr!r}")
    fpr, tpr, _ = _binary_roc(preds, target, drop_intermediate=True)
    limit = ember.tensor([max_fpr], dtype=fpr.dtype, device=fpr.device)
    stop = int(ember.searchsorted(fpr, limit, right=True))
    x0, x1, y0, y1 = fpr[stop - 1], fpr[stop], tpr[stop - 1], tpr[stop]
    y_at = y0 + (y1 - y0) * (max_fpr - x0) / (x1 - x0)
    fpr = ember.cat([fpr[:stop], limit])
    tpr = ember.cat([tpr[:stop], y_at.reshape(1)])
    area = ((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2).sum()
    min_area, max_area = 0.5 * max_fpr**2, max_fpr
    return 0.5 * (1 + (area - min_area) / (max_area - min_area))


def _average_precision_compute(state, *, average="macro", **_options):
    if average not in CURVE_AVERAGES + ("samples",):
        raise ValueError(f"average has to be one of {CURVE_AVERAGES + ('samples',)}")
    preds, target = state["preds"], state["target"]
    if _kind(state) == "binary":
        if preds.shape[0] == 0:
            raise ValueError(EMPTY_INPUT)
        _check_binary_target(target)
        return as_score(_average_precision_rows(preds.unsqueeze(0), (target == 1).unsqueeze(0))[0])
    if average == "samples" and _kind(state) == "multilabel":
        _check_binary_target(target, allow_ignored=True)
        valid = _valid_entries(target)
        valid = None if valid is None else valid.T
        return as_score(_average_precision_rows(preds, target == 1, valid).mean())
    message = (
        "`y_score` needs to be of shape `(n_samples, n_classes)`, since `y_true` contains "
        f"multiple classes. Got `y_score.shape={tuple(preds.shape)}`."
    )
    scores, positive, valid = _one_vs_rest(state, "average_precision", message)
    return as_score(_average_rows(scores, positive, valid, average, _average_precision_rows))


# ----------------------------------------------------------------------------- curves


def _binary_points(scores, target):
    """tps, fps and thresholds at each distinct score, descending (sklearn's layout)."""
    _check_binary_target(target)
    order = ember.argsort(scores, descending=True, stable=True)
    scores, hits = scores[order], (target[order] == 1).to(ember.float64)
    distinct = ember.nonzero(scores[1:] != scores[:-1]).reshape(-1)
    ends = ember.cat([distinct, ember.tensor([scores.shape[0] - 1], device=scores.device)])
    tps = ember.cumsum(hits, 0)[ends]
    fps = (ends + 1).to(ember.float64) - tps
    return tps, fps, scores[ends]


def _binary_roc(scores, target, drop_intermediate=True):
    if scores.shape[0] == 0:
        raise ValueError(EMPTY_INPUT)
    tps, fps, thresholds = _binary_points(scores, target)
    if drop_intermediate and fps.shape[0] > 2:
        corner = (ember.diff(fps, 2) != 0) | (ember.diff(tps, 2) != 0)
        edge = ember.tensor([True], device=fps.device)
        keep = ember.cat([edge, corner, edge])
        tps, fps, thresholds = tps[keep], fps[keep], thresholds[keep]
    zero = ember.zeros(1, dtype=ember.float64, device=tps.device)
    tps, fps = ember.cat([zero, tps]), ember.cat([zero, fps])
    infinity = ember.tensor([math.inf], dtype=thresholds.dtype, device=thresholds.device)
    thresholds = ember.cat([infinity, thresholds])
    fpr = _rate(fps, "No negative samples in y_true, false positive value should be meaningless")
    tpr = _rate(tps, "No positive samples in y_true, true positive value should be meaningless")
    return fpr, tpr, thresholds


def _rate(counts, warning):
    """Cumulative counts over their total (the last one); all NaN, with scikit-learn's
    warning, when the class they count never occurs."""
    if float(counts[-1]) <= 0:
        warnings.warn(warning, UndefinedMetricWarning, stacklevel=5)
        return ember.full(counts.shape, math.nan, dtype=ember.float64, device=counts.device)
    return counts / counts[-1]


def _binary_pr(scores, target, drop_intermediate=False):
    if scores.shape[0] == 0:
        raise ValueError(EMPTY_INPUT)
    tps, fps, thresholds = _binary_points(scores, target)
    if drop_intermediate and fps.shape[0] > 2:
        # Keep only the first and last point of each run of equal tps (vertical segments).
        moves = (ember.diff(tps[:-1]) != 0) | (ember.diff(tps[1:]) != 0)
        edge = ember.tensor([True], device=tps.device)
        keep = ember.cat([edge, moves, edge])
        tps, fps, thresholds = tps[keep], fps[keep], thresholds[keep]
    predicted = tps + fps
    precision = ember.where(predicted != 0, tps / ember.where(predicted == 0, 1.0, predicted), 0.0)
    if float(tps[-1]) == 0:
        warnings.warn(
            "No positive class found in y_true, recall is set to one for all thresholds.",
            UserWarning, stacklevel=4,
        )
        recall = ember.ones(tps.shape, dtype=ember.float64, device=tps.device)
    else:
        recall = tps / tps[-1]
    one = ember.ones(1, dtype=ember.float64, device=tps.device)
    zero = ember.zeros(1, dtype=ember.float64, device=tps.device)
    return (ember.cat([precision.flip(0), one]), ember.cat([recall.flip(0), zero]),
            thresholds.flip(0))


def _per_class_curves(state, curve_fn, **options):
    preds, target = state["preds"], state["target"]
    if _kind(state) == "binary":
        return _as_default(curve_fn(preds, target, **options))
    if preds.shape[0] == 0:
        raise ValueError(EMPTY_INPUT)
    if _kind(state) == "multiclass":
        truth = (target.unsqueeze(1) == ember.arange(preds.shape[1], device=preds.device)).long()
    else:
        truth = target
    # One curve per class: their lengths differ, so the results are lists.
    curves = []
    for c in range(preds.shape[1]):
        kept = truth[:, c] != IGNORED
        curves.append(_as_default(curve_fn(preds[:, c][kept], truth[:, c][kept], **options)))
    return tuple(list(parts) for parts in zip(*curves))


def _as_default(curve):
    first, second, thresholds = curve
    return as_score(first), as_score(second), thresholds


def _roc_compute(state, *, drop_intermediate=True, **_options):
    return _per_class_curves(state, _binary_roc, drop_intermediate=drop_intermediate)


def _pr_compute(state, *, drop_intermediate=False, **_options):
    return _per_class_curves(state, _binary_pr, drop_intermediate=drop_intermediate)


# ----------------------------------------------------------------------------- calibration


def calibration_state(preds, target, *, task=None, n_bins=15, ignore_index=None, **_options):
    """Per-bin sample counts, summed confidences and summed accuracies (all additive).

    Binary: confidence is the positive-class probability and "accuracy" the 0/1 target,
    as sklearn's ``calibration_curve``. Multiclass ((N, C) scores): confidence is the top
    probability and accuracy whether the argmax is right. Bins are (e_i, e_{i+1}] over
    [0, 1] in ``n_bins`` equal widths, the first one closed at 0.
    """
    if not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    preds, target = to_tensor(preds), to_tensor(target)
    if preds.ndim == target.ndim + 1:
        scores = ember.movedim(preds, 1, -1).reshape(-1, preds.shape[1]).to(ember.float64)
        if scores.numel() and bool(((scores < 0) | (scores > 1)).any()):
            scores = ember.softmax(scores, 1)
        target = target.reshape(-1).long()
        confidence, predicted = scores.max(1)
        correct = (predicted == target).to(ember.float64)
    else:
        if preds.shape != target.shape:
            raise ValueError(
                "Found input variables with inconsistent numbers of samples: "
                f"[{target.numel()}, {preds.numel()}]"
            )
        target = target.reshape(-1).long()
        confidence = probabilities(preds.reshape(-1).to(ember.float64))
        _check_binary_target(target[target != ignore_index] if ignore_index is not None else target)
        correct = (target == 1).to(ember.float64)
    if ignore_index is not None:
        keep = target != ignore_index
        confidence, correct = confidence[keep], correct[keep]
    edges = ember.linspace(0.0, 1.0, n_bins + 1, dtype=ember.float64, device=confidence.device)
    inner_edges = edges[1:-1]
    bins = ember.searchsorted(inner_edges, confidence)
    return {
        "bin_count": ember.bincount(bins, minlength=n_bins),
        "bin_confidence": ember.bincount(bins, weights=confidence, minlength=n_bins),
        "bin_accuracy": ember.bincount(bins, weights=correct, minlength=n_bins),
    }


def _calibration_compute(state, *, norm="l1", **_options):
    if norm not in ("l1", "l2", "max"):
        raise ValueError(f"norm must be one of 'l1', 'l2', 'max', got {norm!r}")
    count = state["bin_count"]
    total = int(count.sum())
    if total == 0:
        raise ValueError(EMPTY_INPUT)
    filled = count > 0
    count_f = count[filled].to(ember.float64)
    gap = (state["bin_accuracy"][filled] - state["bin_confidence"][filled]) / count_f
    weight = count_f / total
    if norm == "l1":
        error = (gap.abs() * weight).sum()
    elif norm == "l2":
        error = ember.sqrt((gap * gap * weight).sum())
    else:
        error = gap.abs().max()
    return as_score(error)


# ----------------------------------------------------------------------------- functional


def roc_curve(preds, target, task=None, drop_intermediate=True, ignore_index=None):
    """(fpr, tpr, thresholds) as sklearn's roc_curve; thresholds[0] is +inf.

    Multiclass (one-vs-rest per class) and multilabel inputs give lists, one curve per
    class. ``drop_intermediate`` drops collinear points that do not change the area.
    """
    state = curve_state(preds, target, task=task, ignore_index=ignore_index)
    return _roc_compute(state, drop_intermediate=drop_intermediate)


def precision_recall_curve(preds, target, task=None, drop_intermediate=False,
                           ignore_index=None):
    """(precision, recall, thresholds) as sklearn's; the last point is (1, 0) unthresholded."""
    state = curve_state(preds, target, task=task, ignore_index=ignore_index)
    return _pr_compute(state, drop_intermediate=drop_intermediate)


def auroc(preds, target, task=None, average="macro", multi_class="ovr", max_fpr=None,
          ignore_index=None):
    """Area under the ROC curve (sklearn's roc_auc_score).

    Multiclass needs (N, C) probabilities: one-vs-rest (``average`` micro/macro/weighted/
    none) or one-vs-one (Hand & Till; macro/weighted). Multilabel averages per label (or
    per sample with ``average="samples"``). A one-class target gives NaN with a warning.
    """
    state = curve_state(preds, target, task=task, ignore_index=ignore_index)
    return _auroc_compute(state, average=average, multi_class=multi_class, max_fpr=max_fpr)


def average_precision(preds, target, task=None, average="macro", ignore_index=None):
    """Sum over thresholds of precision times the recall gained (no interpolation)."""
    state = curve_state(preds, target, task=task, ignore_index=ignore_index)
    return _average_precision_compute(state, average=average)


def calibration_error(preds, target, task=None, n_bins=15, norm="l1", ignore_index=None):
    """Expected calibration error: |accuracy - confidence| per bin, weighted by bin size.

    ``norm="l1"`` is ECE, ``"l2"`` the root of the weighted squared gaps and ``"max"`` the
    largest gap (maximum calibration error).
    """
    state = calibration_state(preds, target, task=task, n_bins=n_bins, ignore_index=ignore_index)
    return _calibration_compute(state, norm=norm)


__all__ = [
    "auroc",
    "average_precision",
    "calibration_error",
    "precision_recall_curve",
    "roc_curve",
]
