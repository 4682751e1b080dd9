"""Confusion-based metrics against scikit-learn: values, zero_division, warnings, errors,
edge cases, and stateful accumulation/merge equal to the one-shot result."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest
from sklearn import metrics as sk

sys.path.insert(0, os.path.dirname(__file__))
from metrics_oracle import assert_close, same_as_sklearn

import ember
from ember import metrics

RNG = np.random.default_rng(7)


def _multiclass(n=60, classes=4):
    return RNG.integers(0, classes, n), RNG.integers(0, classes, n)


def _never_predicted():
    target, preds = _multiclass()
    return target, np.where(preds == 3, 0, preds)


def _absent_from_target():
    target, preds = _multiclass()
    return np.where(target == 2, 1, target), preds


def _multilabel_edge():
    target, preds = RNG.integers(0, 2, (40, 5)), RNG.integers(0, 2, (40, 5))
    target[:, 1] = 0           # a label never true
    preds[:, 2] = 0            # a label never predicted
    target[3], preds[3] = 0, 0  # a sample with no true and no predicted label
    return target, preds


# (target, preds) in sklearn's order; ember takes (preds, target).
DATASETS = {
    "multiclass": _multiclass(),
    "never_predicted": _never_predicted(),
    "absent_from_target": _absent_from_target(),
    "all_one_class": (np.full(9, 2), np.full(9, 2)),
    "labels_1_2": (RNG.integers(1, 3, 20), RNG.integers(1, 3, 20)),
    "single_sample": (np.array([1]), np.array([0])),
    "binary": (RNG.integers(0, 2, 50), RNG.integers(0, 2, 50)),
    "binary_all_negative": (np.zeros(6, np.int64), np.zeros(6, np.int64)),
    "binary_no_positive_pred": (np.array([0, 1, 1, 0]), np.zeros(4, np.int64)),
    "multilabel": (RNG.integers(0, 2, (40, 5)), RNG.integers(0, 2, (40, 5))),
    "multilabel_edge": _multilabel_edge(),
}
AVERAGES = ["binary", "micro", "macro", "weighted", "samples", None]
ZERO_DIVISION = ["warn", 0, 1, np.nan]

PRF = {
    "precision": (metrics.precision, sk.precision_score, {}),
    "recall": (metrics.recall, sk.recall_score, {}),
    "f1_score": (metrics.f1_score, sk.f1_score, {}),
    "fbeta_score": (metrics.fbeta_score, sk.fbeta_score, {"beta": 2.0}),
    "fbeta_half": (metrics.fbeta_score, sk.fbeta_score, {"beta": 0.5}),
}


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("name", PRF)
@pytest.mark.parametrize("average", AVERAGES)
def test_prf_matches_sklearn(data, name, average):
    target, preds = DATASETS[data]
    ours, theirs, extra = PRF[name]
    same_as_sklearn(lambda: ours(preds, target, average=average, **extra),
                    lambda: theirs(target, preds, average=average, **extra))


@pytest.mark.parametrize("data", ["never_predicted", "absent_from_target", "all_one_class",
                                  "binary_all_negative", "binary_no_positive_pred",
                                  "multilabel_edge"])
@pytest.mark.parametrize("name", ["precision", "recall", "f1_score"])
@pytest.mark.parametrize("average", ["binary", "macro", "weighted", "samples", None])
@pytest.mark.parametrize("zero_division", ZERO_DIVISION)
def test_zero_division_matches_sklearn(data, name, average, zero_division):
    target, preds = DATASETS[data]
    ours, theirs, _ = PRF[name]
    same_as_sklearn(
        lambda: ours(preds, target, average=average, zero_division=zero_division),
        lambda: theirs(target, preds, average=average, zero_division=zero_division))


@pytest.mark.parametrize("labels", [[0, 1], [2, 0], [1, 3, 5]])
@pytest.mark.parametrize("average", ["micro", "macro", "weighted", None])
def test_labels_subset_and_unseen(labels, average):
    target, preds = DATASETS["multiclass"]
    same_as_sklearn(lambda: metrics.f1_score(preds, target, average=average, labels=labels),
                    lambda: sk.f1_score(target, preds, average=average, labels=labels))


@pytest.mark.parametrize("average", ["micro", "macro", "weighted", None])
def test_num_classes_scores_every_class(average):
    target, preds = DATASETS["never_predicted"]
    same_as_sklearn(
        lambda: metrics.recall(preds, target, num_classes=6, average=average),
        lambda: sk.recall_score(target, preds, average=average, labels=range(6)))


@pytest.mark.parametrize("data", DATASETS)
def test_accuracy(data):
    target, preds = DATASETS[data]
    same_as_sklearn(lambda: metrics.accuracy(preds, target, exact_match=True),
                    lambda: sk.accuracy_score(target, preds))


def test_accuracy_multilabel_micro_is_one_minus_hamming():
    target, preds = DATASETS["multilabel"]
    assert_close(metrics.accuracy(preds, target), 1 - sk.hamming_loss(target, preds))


@pytest.mark.parametrize("average", ["macro", "weighted", None])
def test_accuracy_per_class_is_recall(average):
    target, preds = DATASETS["absent_from_target"]
    same_as_sklearn(lambda: metrics.accuracy(preds, target, average=average),
                    lambda: sk.recall_score(target, preds, average=average), warnings_too=False)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_accuracy(k):
    scores = RNG.random((50, 5)).astype(np.float32)
    target = RNG.integers(0, 5, 50)
    assert_close(metrics.accuracy(scores, target, top_k=k),
                 sk.top_k_accuracy_score(target, scores, k=k, labels=range(5)))
    assert_close(metrics.recall_at_k(scores, target, k),
                 sk.top_k_accuracy_score(target, scores, k=k, labels=range(5)))


def test_top_k_accuracy_macro_and_errors():
    scores = RNG.random((50, 4)).astype(np.float32)
    target = RNG.integers(0, 4, 50)
    hits = (np.argsort(-scores, 1)[:, :2] == target[:, None]).any(1)
    per_class = [hits[target == c].mean() for c in range(4)]
    assert_close(metrics.accuracy(scores, target, top_k=2, average="none"), per_class)
    with pytest.raises(ValueError):
        metrics.accuracy(scores, target, top_k=5)
    with pytest.raises(ValueError):
        metrics.accuracy(scores.argmax(1), target, top_k=2)


@pytest.mark.parametrize("k", [1, 3])
def test_recall_at_k_retrieval(k):
    scores = RNG.random((8, 6)).astype(np.float32)
    relevant = RNG.integers(0, 2, (8, 6))
    relevant[0] = 0
    top = np.argsort(-scores, 1, kind="stable")[:, :k]
    found = np.take_along_axis(relevant, top, 1).sum(1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = metrics.recall_at_k(scores, relevant, k)
    assert any("Recall is ill-defined" in str(w.message) for w in caught)
    expected = np.where(relevant.sum(1) > 0, found / np.maximum(relevant.sum(1), 1), 0.0)
    assert_close(ours, expected.mean())
    has_relevant = relevant.sum(1) > 0  # row 0 and any other row drawn without relevant items
    assert_close(metrics.recall_at_k(scores, relevant, k, zero_division=np.nan),
                 expected[has_relevant].mean())


@pytest.mark.parametrize("data", ["multiclass", "never_predicted", "absent_from_target",
                                  "all_one_class", "single_sample", "labels_1_2"])
@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
def test_confusion_matrix(data, normalize):
    target, preds = DATASETS[data]
    ours = metrics.confusion_matrix(preds, target, normalize=normalize)
    assert_close(ours, sk.confusion_matrix(target, preds, normalize=normalize))
    assert ours.dtype == (ember.int64 if normalize is None else ember.float32)


@pytest.mark.parametrize("labels", [[3, 0], [0, 1, 2, 3, 4]])
def test_confusion_matrix_labels(labels):
    target, preds = DATASETS["multiclass"]
    for normalize in (None, "true"):
        assert_close(metrics.confusion_matrix(preds, target, labels=labels, normalize=normalize),
                     sk.confusion_matrix(target, preds, labels=labels, normalize=normalize))


def test_confusion_matrix_binary_and_multilabel():
    assert_close(metrics.confusion_matrix(np.zeros(4, np.int64), np.zeros(4, np.int64),
                                          task="binary"), [[4, 0], [0, 0]])
    target, preds = DATASETS["multilabel_edge"]
    assert_close(metrics.confusion_matrix(preds, target),
                 sk.multilabel_confusion_matrix(target, preds))
    with pytest.raises(ValueError):
        metrics.confusion_matrix(preds, target, normalize="rows")


@pytest.mark.parametrize("data", ["multiclass", "never_predicted", "binary", "multilabel_edge",
                                  "all_one_class"])
@pytest.mark.parametrize("average", ["micro", "macro", "weighted", None])
def test_specificity(data, average):
    target, preds = DATASETS[data]
    blocks = sk.multilabel_confusion_matrix(target, preds)
    tn, fp = blocks[:, 0, 0], blocks[:, 0, 1]
    support = blocks[:, 1, 0] + blocks[:, 1, 1]
    if average == "micro":
        negatives = tn.sum() + fp.sum()
        expected = tn.sum() / negatives if negatives else 0.0
    else:
        per_class = np.where(tn + fp > 0, tn / np.maximum(tn + fp, 1), 0.0)
        weights = support if average == "weighted" else None
        expected = per_class if average is None else np.average(per_class, weights=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_close(metrics.specificity(preds, target, average=average), expected)


@pytest.mark.parametrize("data", ["multiclass", "never_predicted", "absent_from_target",
                                  "all_one_class", "single_sample", "binary", "labels_1_2"])
@pytest.mark.parametrize("adjusted", [False, True])
def test_balanced_accuracy(data, adjusted):
    target, preds = DATASETS[data]
    same_as_sklearn(lambda: metrics.balanced_accuracy(preds, target, adjusted=adjusted),
                    lambda: sk.balanced_accuracy_score(target, preds, adjusted=adjusted))


@pytest.mark.parametrize("data", ["multiclass", "never_predicted", "absent_from_target",
                                  "all_one_class", "single_sample", "binary", "labels_1_2",
                                  "multilabel"])
def test_matthews_corrcoef(data):
    target, preds = DATASETS[data]
    same_as_sklearn(lambda: metrics.matthews_corrcoef(preds, target),
                    lambda: sk.matthews_corrcoef(target, preds))


@pytest.mark.parametrize("data", ["multiclass", "never_predicted", "absent_from_target",
                                  "all_one_class", "single_sample", "binary"])
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa(data, weights):
    target, preds = DATASETS[data]
    same_as_sklearn(lambda: metrics.cohen_kappa(preds, target, weights=weights),
                    lambda: sk.cohen_kappa_score(target, preds, weights=weights))


FUNCTIONS = [metrics.accuracy, metrics.precision, metrics.f1_score, metrics.confusion_matrix,
             metrics.balanced_accuracy, metrics.matthews_corrcoef, metrics.cohen_kappa,
             metrics.specificity]


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_empty_input_raises_like_sklearn(fn):
    empty = np.zeros(0, np.int64)
    with pytest.raises(ValueError, match="Found empty input array"):
        fn(empty, empty)


def test_ignore_index_drops_samples():
    target, preds = _multiclass(80)
    target[::7] = -100
    keep = target != -100
    for average in ("micro", "macro", "weighted"):
        assert_close(metrics.f1_score(preds, target, average=average, ignore_index=-100),
                     sk.f1_score(target[keep], preds[keep], average=average))
    assert_close(metrics.accuracy(preds, target, ignore_index=-100),
                 sk.accuracy_score(target[keep], preds[keep]))
    scores = RNG.random((80, 4)).astype(np.float32)
    assert_close(metrics.accuracy(scores, target, top_k=2, ignore_index=-100),
                 sk.top_k_accuracy_score(target[keep], scores[keep], k=2, labels=range(4)))


def test_ignore_index_multilabel_masks_entries():
    target, preds = RNG.integers(0, 2, (30, 3)), RNG.random((30, 3)).astype(np.float32)
    target[::4, 1] = -1
    ours = metrics.recall(preds, target, average=None, ignore_index=-1)
    expected = [sk.recall_score(target[target[:, c] != -1, c],
                                preds[target[:, c] != -1, c] > 0.5) for c in range(3)]
    assert_close(ours, expected)


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.8])
def test_threshold_on_probabilities_and_logits(threshold):
    target = RNG.integers(0, 2, 50)
    probs = RNG.random(50).astype(np.float32)
    expected = sk.f1_score(target, probs > threshold)
    assert_close(metrics.f1_score(probs, target, threshold=threshold), expected)
    logits = np.log(probs / (1 - probs)).astype(np.float32)
    assert_close(metrics.f1_score(logits, target, threshold=threshold), expected)
    multilabel_target = RNG.integers(0, 2, (20, 4))
    multilabel_probs = RNG.random((20, 4)).astype(np.float32)
    assert_close(
        metrics.precision(multilabel_probs, multilabel_target, average="micro",
                          threshold=threshold),
        sk.precision_score(multilabel_target, multilabel_probs > threshold, average="micro"))


def test_multiclass_scores_take_argmax_and_extra_dims():
    scores = RNG.random((4, 3, 5)).astype(np.float32)  # (N, C, d)
    target = RNG.integers(0, 3, (4, 5))
    labels = scores.argmax(1)
    assert_close(metrics.f1_score(scores, target, average="macro"),
                 sk.f1_score(target.ravel(), labels.ravel(), average="macro"))
    assert_close(metrics.confusion_matrix(scores, target),
                 sk.confusion_matrix(target.ravel(), labels.ravel(), labels=range(3)))


def test_bad_arguments_raise_value_error():
    target, preds = DATASETS["multiclass"]
    with pytest.raises(ValueError):
        metrics.precision(preds, target, average="mean")
    with pytest.raises(ValueError):
        metrics.precision(preds, target, average="macro", zero_division=2)
    with pytest.raises(ValueError):
        metrics.precision(preds, target, num_classes=3, average="macro")
    with pytest.raises(ValueError):
        metrics.precision(preds[:10], target, average="macro")
    with pytest.raises(ValueError):
        metrics.precision(preds - 1, target, average="macro")
    with pytest.raises(ValueError):
        metrics.fbeta_score(preds, target, beta=-1.0, average="macro")
    with pytest.raises(ValueError):
        metrics.precision(np.array([0, 2, 1]), np.array([0, 1, 1]), task="binary")
    with pytest.raises(ValueError):
        metrics.accuracy(preds, target, average="samples")


# ----------------------------------------------------------------------------- stateful

STATEFUL = [
    (metrics.Accuracy, metrics.accuracy, {}),
    (metrics.Accuracy, metrics.accuracy, {"top_k": 2, "average": "macro"}),
    (metrics.Precision, metrics.precision, {"average": "macro"}),
    (metrics.Recall, metrics.recall, {"average": None}),
    (metrics.F1Score, metrics.f1_score, {"average": "weighted"}),
    (metrics.FBetaScore, metrics.fbeta_score, {"beta": 2.0, "average": "micro"}),
    (metrics.Specificity, metrics.specificity, {"average": "macro"}),
    (metrics.ConfusionMatrix, metrics.confusion_matrix, {"normalize": "true"}),
    (metrics.BalancedAccuracy, metrics.balanced_accuracy, {}),
    (metrics.MatthewsCorrCoef, metrics.matthews_corrcoef, {}),
    (metrics.CohenKappa, metrics.cohen_kappa, {"weights": "quadratic"}),
]


def _score_batches():
    scores = RNG.random((90, 5)).astype(np.float32)
    target = RNG.integers(0, 5, 90)
    # The first batch never shows classes 3 and 4: the confusion matrix has to grow.
    target[:30] = target[:30] % 3
    scores[:30, 3:] = 0
    return scores, target


@pytest.mark.parametrize("cls, fn, options", STATEFUL, ids=lambda x: getattr(x, "__name__", ""))
def test_accumulation_and_merge_equal_one_shot(cls, fn, options):
    scores, target = _score_batches()
    preds = scores if options.get("top_k", 1) > 1 else scores.argmax(1)
    expected = fn(preds, target, **options)
    metric = cls(**options)
    for start in range(0, 90, 30):
        metric.update(preds[start:start + 30], target[start:start + 30])
    assert_close(metric.compute(), to_np(expected))
    left, right = cls(**options), cls(**options)
    left.update(preds[:50], target[:50])
    right.update(preds[50:], target[50:])
    assert_close(left.merge(right).compute(), to_np(expected))
    metric.reset()
    with pytest.raises(ValueError):
        metric.compute()
    batch_value = metric(preds[:30], target[:30])
    assert_close(batch_value, to_np(fn(preds[:30], target[:30], **options)))


def to_np(tensor):
    return np.asarray(tensor.numpy(), dtype=np.float64)


def test_stateful_multilabel_samples_average():
    target, preds = DATASETS["multilabel_edge"]
    metric = metrics.F1Score(average="samples", zero_division=1)
    for start in range(0, 40, 15):
        metric.update(preds[start:start + 15], target[start:start + 15])
    assert_close(metric.compute(), sk.f1_score(target, preds, average="samples", zero_division=1))
    exact = metrics.Accuracy(exact_match=True)
    exact.update(preds[:20], target[:20])
    exact.update(preds[20:], target[20:])
    assert_close(exact.compute(), sk.accuracy_score(target, preds))


def test_merge_rejects_other_options_and_state_moves_device():
    with pytest.raises(ValueError):
        metrics.F1Score(average="macro").merge(metrics.F1Score(average="micro"))
    metric = metrics.Precision(average="macro").to("cpu")
    metric.update(ember.tensor([0, 1, 2]), ember.tensor([0, 1, 1]))
    assert metric.to("cpu").compute().device.type == "cpu"
    assert "average='macro'" in repr(metric)
