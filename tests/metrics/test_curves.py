"""ROC / PR curves, AUROC, average precision and calibration error against scikit-learn,
with tied scores, one-class targets and batch accumulation."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest
from sklearn import metrics as sk
from sklearn.calibration import calibration_curve

sys.path.insert(0, os.path.dirname(__file__))
from metrics_oracle import assert_close, same_as_sklearn

import ember
from ember import metrics

RNG = np.random.default_rng(11)


def _probabilities(n, classes):
    scores = RNG.random((n, classes))
    return (scores / scores.sum(1, keepdims=True)).astype(np.float64)


BINARY = {
    "random": (RNG.integers(0, 2, 80), RNG.random(80).astype(np.float32)),
    "ties": (RNG.integers(0, 2, 80), np.round(RNG.random(80), 1).astype(np.float32)),
    "all_tied": (RNG.integers(0, 2, 12), np.full(12, 0.5, np.float32)),
    "perfect": (np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9], np.float32)),
    "single_sample": (np.array([1]), np.array([0.3], np.float32)),
    "all_positive": (np.ones(6, np.int64), RNG.random(6).astype(np.float32)),
    "all_negative": (np.zeros(6, np.int64), RNG.random(6).astype(np.float32)),
}
MULTICLASS = {
    "random": (RNG.integers(0, 4, 90), _probabilities(90, 4)),
    "ties": (RNG.integers(0, 3, 60), np.tile(_probabilities(12, 3), (5, 1))),  # repeated rows
    "absent_class": (RNG.integers(0, 3, 40), _probabilities(40, 4)),
}
MULTILABEL = {
    "random": (RNG.integers(0, 2, (50, 4)), RNG.random((50, 4)).astype(np.float32)),
    "ties": (RNG.integers(0, 2, (50, 3)), np.round(RNG.random((50, 3)), 1).astype(np.float32)),
}
MULTILABEL["one_class_label"] = (MULTILABEL["random"][0].copy(), MULTILABEL["random"][1])
MULTILABEL["one_class_label"][0][:, 2] = 1


@pytest.mark.parametrize("data", BINARY)
@pytest.mark.parametrize("drop_intermediate", [True, False])
def test_roc_curve_binary(data, drop_intermediate):
    target, scores = BINARY[data]
    same_as_sklearn(
        lambda: metrics.roc_curve(scores, target, drop_intermediate=drop_intermediate),
        lambda: sk.roc_curve(target, scores, drop_intermediate=drop_intermediate))


@pytest.mark.parametrize("data", BINARY)
@pytest.mark.parametrize("drop_intermediate", [True, False])
def test_precision_recall_curve_binary(data, drop_intermediate):
    target, scores = BINARY[data]
    same_as_sklearn(
        lambda: metrics.precision_recall_curve(scores, target,
                                               drop_intermediate=drop_intermediate),
        lambda: sk.precision_recall_curve(target, scores, drop_intermediate=drop_intermediate))


@pytest.mark.parametrize("data", BINARY)
def test_auroc_and_average_precision_binary(data):
    target, scores = BINARY[data]
    same_as_sklearn(lambda: metrics.auroc(scores, target),
                    lambda: sk.roc_auc_score(target, scores))
    same_as_sklearn(lambda: metrics.average_precision(scores, target),
                    lambda: sk.average_precision_score(target, scores))


@pytest.mark.parametrize("max_fpr", [0.1, 0.5, 1.0])
def test_partial_auroc(max_fpr):
    target, scores = BINARY["ties"]
    same_as_sklearn(lambda: metrics.auroc(scores, target, max_fpr=max_fpr),
                    lambda: sk.roc_auc_score(target, scores, max_fpr=max_fpr))


@pytest.mark.parametrize("data", MULTICLASS)
@pytest.mark.parametrize("average", ["micro", "macro", "weighted", None])
@pytest.mark.parametrize("multi_class", ["ovr", "ovo"])
def test_auroc_multiclass(data, average, multi_class):
    target, scores = MULTICLASS[data]
    same_as_sklearn(
        lambda: metrics.auroc(scores, target, average=average, multi_class=multi_class),
        lambda: sk.roc_auc_score(target, scores, average=average, multi_class=multi_class))


@pytest.mark.parametrize("data", MULTICLASS)
@pytest.mark.parametrize("average", ["micro", "macro", "weighted", None])
def test_average_precision_multiclass(data, average):
    target, scores = MULTICLASS[data]
    same_as_sklearn(lambda: metrics.average_precision(scores, target, average=average),
                    lambda: sk.average_precision_score(target, scores, average=average))


@pytest.mark.parametrize("data", MULTILABEL)
@pytest.mark.parametrize("average", ["micro", "macro", "weighted", "samples", None])
def test_auroc_and_average_precision_multilabel(data, average):
    target, scores = MULTILABEL[data]
    same_as_sklearn(lambda: metrics.auroc(scores, target, average=average),
                    lambda: sk.roc_auc_score(target, scores, average=average))
    same_as_sklearn(lambda: metrics.average_precision(scores, target, average=average),
                    lambda: sk.average_precision_score(target, scores, average=average))


def test_per_class_curves_are_lists():
    target, scores = MULTICLASS["ties"]
    fpr, tpr, thresholds = metrics.roc_curve(scores, target)
    precision, recall, pr_thresholds = metrics.precision_recall_curve(scores, target)
    for c in range(3):
        expected = sk.roc_curve(target == c, scores[:, c])
        assert_close([fpr[c], tpr[c], thresholds[c]], expected)
        expected = sk.precision_recall_curve(target == c, scores[:, c])
        assert_close([precision[c], recall[c], pr_thresholds[c]], expected)
    target, scores = MULTILABEL["random"]
    fpr, tpr, _ = metrics.roc_curve(scores, target)
    assert_close([fpr[1], tpr[1]], sk.roc_curve(target[:, 1], scores[:, 1])[:2])


def test_curve_errors():
    target, scores = MULTICLASS["random"]
    with pytest.raises(ValueError, match="probabilities"):
        metrics.auroc(scores * 2, target)
    with pytest.raises(ValueError):
        metrics.auroc(scores, target, multi_class="ovx")
    with pytest.raises(ValueError):
        metrics.auroc(scores, target, max_fpr=0.5)
    with pytest.raises(NotImplementedError):
        metrics.auroc(scores, target, average=None, multi_class="ovo")
    with pytest.raises(ValueError, match="empty"):
        metrics.auroc(np.zeros(0, np.float32), np.zeros(0, np.int64))
    with pytest.raises(ValueError):
        metrics.roc_curve(np.zeros(3, np.float32), np.array([0, 2, 1]))
    with pytest.raises(ValueError):
        metrics.average_precision(scores[:10], target)


def test_ignore_index_filters_samples():
    target, scores = BINARY["ties"]
    target = target.copy()
    target[::5] = -1
    keep = target != -1
    assert_close(metrics.auroc(scores, target, ignore_index=-1),
                 sk.roc_auc_score(target[keep], scores[keep]))


# ----------------------------------------------------------------------------- calibration


def _reference_calibration(target, probs, n_bins, norm):
    prob_true, prob_pred = calibration_curve(target, probs, n_bins=n_bins)
    inner = np.linspace(0, 1, n_bins + 1)[1:-1]
    counts = np.bincount(np.searchsorted(inner, probs), minlength=n_bins)
    weights = counts[counts > 0] / len(probs)
    gaps = np.abs(prob_true - prob_pred)
    if norm == "l1":
        return (gaps * weights).sum()
    if norm == "l2":
        return np.sqrt((gaps**2 * weights).sum())
    return gaps.max()


@pytest.mark.parametrize("n_bins", [1, 5, 15])
@pytest.mark.parametrize("norm", ["l1", "l2", "max"])
def test_calibration_error_binary(n_bins, norm):
    target, probs = BINARY["ties"]
    probs = probs.astype(np.float64)
    assert_close(metrics.calibration_error(probs, target, n_bins=n_bins, norm=norm),
                 _reference_calibration(target, probs, n_bins, norm))


@pytest.mark.parametrize("norm", ["l1", "l2", "max"])
def test_calibration_error_multiclass(norm):
    target, probs = MULTICLASS["random"]
    confidence = probs.max(1)
    correct = (probs.argmax(1) == target).astype(np.float64)
    assert_close(metrics.calibration_error(probs, target, n_bins=10, norm=norm),
                 _reference_calibration(correct, confidence, 10, norm))


def test_calibration_error_errors():
    target, probs = BINARY["random"]
    with pytest.raises(ValueError):
        metrics.calibration_error(probs, target, norm="l3")
    with pytest.raises(ValueError):
        metrics.calibration_error(probs, target, n_bins=0)
    with pytest.raises(ValueError, match="empty"):
        metrics.calibration_error(np.zeros(0, np.float32), np.zeros(0, np.int64))


# ----------------------------------------------------------------------------- stateful

STATEFUL = [
    (metrics.AUROC, metrics.auroc, {}, "multiclass"),
    (metrics.AUROC, metrics.auroc, {"multi_class": "ovo", "average": "weighted"}, "multiclass"),
    (metrics.AveragePrecision, metrics.average_precision, {"average": "micro"}, "multilabel"),
    (metrics.ROC, metrics.roc_curve, {}, "binary"),
    (metrics.PrecisionRecallCurve, metrics.precision_recall_curve, {}, "binary"),
    (metrics.CalibrationError, metrics.calibration_error, {"n_bins": 7}, "binary"),
]


@pytest.mark.parametrize("cls, fn, options, kind", STATEFUL,
                         ids=lambda x: getattr(x, "__name__", str(x)))
def test_accumulation_and_merge_equal_one_shot(cls, fn, options, kind):
    target, scores = {"binary": BINARY, "multiclass": MULTICLASS,
                      "multilabel": MULTILABEL}[kind]["ties"]
    expected = fn(scores, target, **options)
    metric = cls(**options)
    for start in range(0, len(target), 20):
        metric.update(ember.tensor(scores[start:start + 20]), target[start:start + 20])
    assert_close(metric.compute(), expected)
    left, right = cls(**options), cls(**options)
    left.update(scores[:25], target[:25])
    right.update(scores[25:], target[25:])
    assert_close(left.merge(right).compute(), expected)


@pytest.mark.parametrize("average", ["micro", "macro", "weighted", "samples", None])
def test_multilabel_ignore_index_masks_entries(average):
    target, scores = MULTILABEL["ties"]
    target = target.copy()
    target[::4, 1] = -100
    target[1::5, 2] = -100
    kept = target != -100
    if average == "micro":
        expected = [sk.roc_auc_score(target[kept], scores[kept]),
                    sk.average_precision_score(target[kept], scores[kept])]
    else:
        axis_rows = average == "samples"
        pairs = ([(target[i][kept[i]], scores[i][kept[i]]) for i in range(len(target))]
                 if axis_rows else
                 [(target[kept[:, c], c], scores[kept[:, c], c]) for c in range(3)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            auc = np.array([sk.roc_auc_score(t, s) if len(set(t)) == 2 else np.nan
                            for t, s in pairs])
            ap = np.array([sk.average_precision_score(t, s) for t, s in pairs])
        if average is None:
            expected = [auc, ap]
        elif average == "weighted":
            weights = np.array([(t == 1).sum() for t, _ in pairs])
            expected = [np.average(auc, weights=weights), np.average(ap, weights=weights)]
        else:
            expected = [auc.mean(), ap.mean()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = [metrics.auroc(scores, target, average=average, ignore_index=-100),
                metrics.average_precision(scores, target, average=average, ignore_index=-100)]
    assert_close(ours, expected)
    fpr, tpr, _ = metrics.roc_curve(scores, target, ignore_index=-100)
    assert_close([fpr[1], tpr[1]], sk.roc_curve(target[kept[:, 1], 1], scores[kept[:, 1], 1])[:2])
