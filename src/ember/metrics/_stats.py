"""Sufficient statistics of a classification batch: a confusion matrix or per-label counts.

Binary and multiclass inputs reduce to one ``confmat`` (rows: true class, columns:
predicted class) built with a single ``bincount``; it grows when a later batch shows a
larger label. Multilabel inputs reduce to per-label counts plus per-sample counts (the
latter feed ``average="samples"`` and exact-match accuracy).
"""

from __future__ import annotations

import ember

from ._common import EMPTY_INPUT, class_labels, probabilities, resolve_task, to_tensor

# State entries that are concatenated (one row per sample) rather than summed.
CONCATENATED = ("sample_tp", "sample_pred", "sample_true", "sample_errors", "preds", "target")


def classification_state(
    preds, target, *, task=None, num_classes=None, threshold=0.5, ignore_index=None,
    top_k=1, **_options,
):
    """One batch's statistics for every confusion-based metric."""
    preds, target = to_tensor(preds), to_tensor(target)
    task = resolve_task(preds, target, task, num_classes)
    if task == "multilabel":
        return _multilabel_state(preds, target, threshold, ignore_index)
    return _confusion_state(preds, target, task, num_classes, threshold, ignore_index, top_k)


def _confusion_state(preds, target, task, num_classes, threshold, ignore_index, top_k):
    pred_labels, true_labels, n_score_classes = class_labels(
        preds, target, task, threshold, ignore_index
    )
    largest = 0
    if true_labels.numel():
        largest = int(ember.maximum(true_labels.max(), pred_labels.max())) + 1
    if num_classes is not None and largest > num_classes:
        raise ValueError(
            f"Detected a label {largest - 1} outside [0, {num_classes}) for num_classes="
            f"{num_classes}"
        )
    size = max(num_classes or 0, n_score_classes or 0, 2 if task == "binary" else 1, largest)
    flat = true_labels * size + pred_labels
    state = {"confmat": ember.bincount(flat, minlength=size * size).reshape(size, size)}
    if top_k > 1:
        state["topk_hits"] = _topk_hits(preds, target, top_k, ignore_index, size)
    return state


def _topk_hits(preds, target, top_k, ignore_index, size):
    """Per true class, how many samples have their class among the top_k scores."""
    if preds.ndim != target.ndim + 1:
        raise ValueError("top_k > 1 needs class scores of shape (N, C, ...)")
    n_classes = preds.shape[1]
    if top_k > n_classes:
        raise ValueError(
            f"`top_k` ({top_k}) should be less than or equal to the number of classes "
            f"({n_classes})"
        )
    scores = ember.movedim(preds, 1, -1).reshape(-1, n_classes)
    truth = target.reshape(-1).long()
    if ignore_index is not None:
        keep = truth != ignore_index
        scores, truth = scores[keep], truth[keep]
    top = ember.topk(scores, top_k, dim=1).indices
    hit = (top == truth.unsqueeze(1)).any(1)
    return ember.bincount(truth[hit], minlength=size)


def _multilabel_state(preds, target, threshold, ignore_index):
    if preds.shape != target.shape:
        raise ValueError(
            f"multilabel preds and target must have the same shape, got {tuple(preds.shape)} "
            f"and {tuple(target.shape)}"
        )
    if preds.ndim < 2:
        raise ValueError("multilabel inputs must have shape (N, L, ...)")
    n_labels = preds.shape[1]
    preds = ember.movedim(preds, 1, -1).reshape(-1, n_labels)
    target = ember.movedim(target, 1, -1).reshape(-1, n_labels)
    valid = ember.ones_like(target, dtype=ember.bool)
    if ignore_index is not None:
        valid = target != ignore_index
    if bool(((target != 0) & (target != 1) & valid).any()):
        raise ValueError("multilabel target must hold 0/1 indicators")
    if preds.is_floating_point():
        predicted = probabilities(preds) > threshold
    else:
        if bool(((preds != 0) & (preds != 1)).any()):
            raise ValueError("multilabel predictions must be 0/1 indicators or probabilities")
        predicted = preds != 0
    predicted = predicted & valid
    truth = (target == 1) & valid
    hits = predicted & truth
    return {
        "tp": hits.sum(0), "pred": predicted.sum(0), "true": truth.sum(0),
        "count": valid.sum(0),
        "sample_tp": hits.sum(1), "sample_pred": predicted.sum(1),
        "sample_true": truth.sum(1), "sample_errors": (predicted ^ truth).sum(1),
    }


def merge_states(left, right):
    """Combine two batch states: concatenate per-sample rows, add counts (growing shapes)."""
    merged = {}
    for key, value in left.items():
        other = right[key]
        if key in CONCATENATED:
            merged[key] = ember.cat([value, other])
        else:
            merged[key] = _pad_to(value, other.shape) + _pad_to(other, value.shape)
    return merged


def _pad_to(counts, shape):
    """Zero-pad a count tensor at the end of each dimension up to ``shape`` (elementwise max)."""
    grow = [max(0, want - have) for have, want in zip(counts.shape, shape)]
    if not any(grow):
        return counts
    padding = []
    for extra in reversed(grow):
        padding += [0, extra]
    return ember.nn.functional.pad(counts, tuple(padding))


def is_multilabel(state):
    return "tp" in state


def check_not_empty(state):
    if is_multilabel(state):
        empty = state["sample_tp"].numel() == 0
    else:
        empty = int(state["confmat"].sum()) == 0
    if empty:
        raise ValueError(EMPTY_INPUT)


def label_indices(confmat, num_classes, labels):
    """Which confusion-matrix rows to score: given labels, all classes, or those seen.

    Without ``num_classes`` or ``labels`` only classes present in target or predictions
    count, as scikit-learn's ``unique_labels``.
    """
    if labels is not None:
        return ember.as_tensor(list(labels), device=confmat.device).long()
    if num_classes is not None:
        return ember.arange(num_classes, device=confmat.device)
    seen = (confmat.sum(0) + confmat.sum(1)) > 0
    return ember.nonzero(seen).reshape(-1)


def padded_confmat(confmat, size):
    return _pad_to(confmat, (size, size))


def class_counts(state, num_classes=None, labels=None, task=None, average=None):
    """(tp, pred_sum, true_sum, total_per_class) over the labels a metric scores."""
    if is_multilabel(state):
        count = state["count"]
        if labels is not None:
            index = ember.as_tensor(list(labels), device=state["tp"].device).long()
            return (state["tp"][index], state["pred"][index], state["true"][index],
                    count[index])
        return state["tp"], state["pred"], state["true"], count
    confmat = state["confmat"]
    if average == "binary":
        confmat = padded_confmat(confmat, 2)
        index = ember.tensor([1], device=confmat.device)
    else:
        index = label_indices(confmat, num_classes, labels)
        if index.numel():
            confmat = padded_confmat(confmat, int(index.max()) + 1)
    diagonal = ember.diagonal(confmat)
    total = confmat.sum().expand(index.shape[0])
    return diagonal[index], confmat.sum(0)[index], confmat.sum(1)[index], total


def resolve_average(state, average, task):
    """"auto" means sklearn's "binary" for two-class label data and "macro" otherwise."""
    if is_multilabel(state):
        if average == "binary":
            raise ValueError(
                "Target is multilabel-indicator but average='binary'. Please choose another "
                "average setting, one of [None, 'micro', 'macro', 'weighted', 'samples']."
            )
        return "macro" if average == "auto" else average
    present = label_indices(state["confmat"], None, None).tolist()
    two_class = len(present) <= 2 and task != "multiclass"
    if average == "binary" and two_class and len(present) == 2 and 1 not in present:
        raise ValueError(
            f"pos_label=1 is not a valid label. It should be one of {present}"
        )
    if average == "auto":
        return "binary" if two_class else "macro"
    if average == "binary" and not two_class:
        raise ValueError(
            "Target is multiclass but average='binary'. Please choose another average "
            "setting, one of [None, 'micro', 'macro', 'weighted']."
        )
    if average == "samples":
        raise ValueError(
            "Samplewise metrics are not available outside of multilabel classification."
        )
    return average
