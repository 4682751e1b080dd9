"""classification_report: the same text, character for character, and the same dict as
scikit-learn's, across label sets, names, digits and zero_division."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest
from sklearn import metrics as sk

sys.path.insert(0, os.path.dirname(__file__))
from metrics_oracle import same_as_sklearn

import ember
from ember import metrics

RNG = np.random.default_rng(3)

DATASETS = {
    "multiclass": (RNG.integers(0, 4, 70), RNG.integers(0, 4, 70)),
    "never_predicted": (RNG.integers(0, 3, 30), RNG.integers(0, 2, 30)),
    "absent_from_target": (RNG.integers(1, 3, 30), RNG.integers(0, 3, 30)),
    "binary": (RNG.integers(0, 2, 25), RNG.integers(0, 2, 25)),
    "all_one_class": (np.full(5, 1), np.full(5, 1)),
    "single_sample": (np.array([2]), np.array([0])),
    "many_classes": (RNG.integers(0, 12, 200), RNG.integers(0, 12, 200)),
    "multilabel": (RNG.integers(0, 2, (30, 4)), RNG.integers(0, 2, (30, 4))),
}


def _report(module, target, preds, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return module.classification_report(target, preds, **options)


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("digits", [2, 4])
@pytest.mark.parametrize("zero_division", ["warn", 0, 1])
def test_text_matches_sklearn(data, digits, zero_division):
    target, preds = DATASETS[data]
    ours = _report(metrics, target, preds, digits=digits, zero_division=zero_division)
    assert ours == _report(sk, target, preds, digits=digits, zero_division=zero_division)


@pytest.mark.parametrize("data", DATASETS)
def test_dict_matches_sklearn(data):
    target, preds = DATASETS[data]
    ours = _report(metrics, target, preds, output_dict=True)
    theirs = _report(sk, target, preds, output_dict=True)
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        if isinstance(value, dict):
            assert ours[key].keys() == value.keys()
            np.testing.assert_allclose(list(ours[key].values()), list(value.values()),
                                       rtol=1e-6)
        else:
            assert ours[key] == pytest.approx(value)


def test_nan_zero_division_and_warnings_match_sklearn():
    target, preds = DATASETS["never_predicted"]
    same_as_sklearn(lambda: 0.0 if metrics.classification_report(target, preds) else 1.0,
                    lambda: 0.0 if sk.classification_report(target, preds) else 1.0)
    ours = _report(metrics, target, preds, zero_division=np.nan)
    assert ours == _report(sk, target, preds, zero_division=np.nan)


@pytest.mark.parametrize("labels, names", [
    (None, ["cat", "dog", "a much longer class name", "x"]),
    ([0, 2], ["zero", "two"]),
    ([3, 1, 7], None),
    ([0, 1, 2, 3], None),
])
def test_labels_and_target_names(labels, names):
    target, preds = DATASETS["multiclass"]
    options = {"labels": labels, "target_names": names}
    assert _report(metrics, target, preds, **options) == _report(sk, target, preds, **options)


def test_target_names_mismatch():
    target, preds = DATASETS["multiclass"]
    with pytest.raises(ValueError, match="Number of classes, 4, does not match size of "
                                         "target_names, 2"):
        metrics.classification_report(target, preds, target_names=["a", "b"])
    with pytest.warns(UserWarning, match="labels size, 2, does not match size of target_names"):
        metrics.classification_report(target, preds, labels=[0, 1], target_names=["a"])


def test_accepts_tensors_and_empty_raises():
    target, preds = DATASETS["binary"]
    ours = metrics.classification_report(ember.tensor(target), ember.tensor(preds))
    assert ours == sk.classification_report(target, preds)
    with pytest.raises(ValueError, match="empty"):
        metrics.classification_report(np.zeros(0, np.int64), np.zeros(0, np.int64))
