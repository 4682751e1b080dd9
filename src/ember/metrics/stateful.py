"""Stateful metrics: ``update`` per batch, ``compute`` at the end, ``reset``, ``merge``.

Each class pairs a state function (one batch to additive statistics, kept as ember
tensors on the batch's device) with the compute function its functional twin uses, so
``m.update(a); m.update(b); m.compute()`` equals the functional metric on ``cat(a, b)``
and ``m1.merge(m2)`` equals one metric that saw both streams (data-parallel evaluation).

>>> metric = F1Score(task="multiclass", num_classes=3, average="macro")
>>> for preds, target in batches:  # doctest: +SKIP
...     metric.update(preds, target)
>>> metric.compute()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from . import classification as _cls
from . import curves as _curves
from . import regression as _reg
from ._common import EMPTY_INPUT
from ._stats import classification_state, merge_states


class Metric:
    """Base class: options fixed at construction, statistics accumulated by ``update``."""

    _state_fn = staticmethod(classification_state)
    _compute_fn = None
    _defaults: ClassVar[dict] = {}

    def __init__(self, **options):
        self._options = {**self._defaults, **options}
        self._state = None

    def update(self, preds, target) -> None:
        """Add one batch's statistics."""
        batch = type(self)._state_fn(preds, target, **self._options)
        self._state = batch if self._state is None else merge_states(self._state, batch)

    def compute(self):
        """The score over every batch seen since construction or ``reset``."""
        if self._state is None:
            raise ValueError(EMPTY_INPUT)
        return type(self)._compute_fn(self._state, **self._options)

    def reset(self) -> None:
        self._state = None

    def merge(self, other: Metric) -> Metric:
        """Fold another instance's statistics into this one (same class and options)."""
        if type(other) is not type(self) or not _same_options(self._options, other._options):
            raise ValueError(
                f"can only merge {type(self).__name__} metrics built with the same options"
            )
        if other._state is not None:
            self._state = (other._state if self._state is None
                           else merge_states(self._state, other._state))
        return self

    def __call__(self, preds, target):
        """Update with the batch and return the batch's own score (torchmetrics' forward)."""
        batch = type(self)._state_fn(preds, target, **self._options)
        self._state = batch if self._state is None else merge_states(self._state, batch)
        return type(self)._compute_fn(batch, **self._options)

    def to(self, device) -> Metric:
        if self._state is not None:
            self._state = {key: value.to(device) for key, value in self._state.items()}
        return self

    def __repr__(self):
        options = ", ".join(f"{key}={value!r}" for key, value in self._options.items())
        return f"{type(self).__name__}({options})"


def _same_options(left, right):
    """Option dicts may hold arrays (multioutput weights): compare those element-wise."""
    if left.keys() != right.keys():
        return False
    return all(np.array_equal(np.asarray(left[key], dtype=object),
                              np.asarray(right[key], dtype=object)) for key in left)


def _metric(name, state_fn, compute_fn, doc, **defaults):
    return type(name, (Metric,), {
        "__doc__": doc, "_state_fn": staticmethod(state_fn),
        "_compute_fn": staticmethod(compute_fn), "_defaults": defaults,
    })


_stats = classification_state
Accuracy = _metric("Accuracy", _stats, _cls._accuracy_compute,
                   "Stateful :func:`ember.metrics.accuracy`.", average="micro")
Precision = _metric("Precision", _stats, _cls._precision_compute,
                    "Stateful :func:`ember.metrics.precision`.", average="auto")
Recall = _metric("Recall", _stats, _cls._recall_compute,
                 "Stateful :func:`ember.metrics.recall`.", average="auto")
FBetaScore = _metric("FBetaScore", _stats, _cls._fbeta_compute,
                     "Stateful :func:`ember.metrics.fbeta_score` (pass ``beta=``).",
                     average="auto")
F1Score = _metric("F1Score", _stats, _cls._fbeta_compute,
                  "Stateful :func:`ember.metrics.f1_score`.", average="auto", beta=1.0)
Specificity = _metric("Specificity", _stats, _cls._specificity_compute,
                      "Stateful :func:`ember.metrics.specificity`.", average="auto")
ConfusionMatrix = _metric("ConfusionMatrix", _stats, _cls._confusion_matrix_compute,
                          "Stateful :func:`ember.metrics.confusion_matrix`.")
BalancedAccuracy = _metric("BalancedAccuracy", _stats, _cls._balanced_accuracy_compute,
                           "Stateful :func:`ember.metrics.balanced_accuracy`.")
MatthewsCorrCoef = _metric("MatthewsCorrCoef", _stats, _cls._matthews_compute,
                           "Stateful :func:`ember.metrics.matthews_corrcoef`.")
CohenKappa = _metric("CohenKappa", _stats, _cls._cohen_kappa_compute,
                     "Stateful :func:`ember.metrics.cohen_kappa`.")
ROC = _metric("ROC", _curves.curve_state, _curves._roc_compute,
              "Stateful :func:`ember.metrics.roc_curve`.")
PrecisionRecallCurve = _metric("PrecisionRecallCurve", _curves.curve_state, _curves._pr_compute,
                               "Stateful :func:`ember.metrics.precision_recall_curve`.")
AUROC = _metric("AUROC", _curves.curve_state, _curves._auroc_compute,
                "Stateful :func:`ember.metrics.auroc`.")
AveragePrecision = _metric("AveragePrecision", _curves.curve_state,
                           _curves._average_precision_compute,
                           "Stateful :func:`ember.metrics.average_precision`.")
CalibrationError = _metric("CalibrationError", _curves.calibration_state,
                           _curves._calibration_compute,
                           "Stateful :func:`ember.metrics.calibration_error`.")
MeanSquaredError = _metric("MeanSquaredError", _reg.error_state, _reg._mse_compute,
                           "Stateful :func:`ember.metrics.mean_squared_error`.")
RootMeanSquaredError = _metric("RootMeanSquaredError", _reg.error_state, _reg._mse_compute,
                               "Stateful :func:`ember.metrics.root_mean_squared_error`.",
                               squared=False)
MeanAbsoluteError = _metric("MeanAbsoluteError", _reg.error_state, _reg._mae_compute,
                            "Stateful :func:`ember.metrics.mean_absolute_error`.")
R2Score = _metric("R2Score", _reg.rows_state, _reg._r2_compute,
                  "Stateful :func:`ember.metrics.r2_score`.")
ExplainedVariance = _metric("ExplainedVariance", _reg.rows_state,
                            _reg._explained_variance_compute,
                            "Stateful :func:`ember.metrics.explained_variance`.")
Perplexity = _metric("Perplexity", _reg.perplexity_state, _reg._perplexity_compute,
                     "Stateful :func:`ember.metrics.perplexity`.")

__all__ = [
    "AUROC",
    "ROC",
    "Accuracy",
    "AveragePrecision",
    "BalancedAccuracy",
    "CalibrationError",
    "CohenKappa",
    "ConfusionMatrix",
    "ExplainedVariance",
    "F1Score",
    "FBetaScore",
    "MatthewsCorrCoef",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "Metric",
    "Perplexity",
    "Precision",
    "PrecisionRecallCurve",
    "R2Score",
    "Recall",
    "RootMeanSquaredError",
    "Specificity",
]
