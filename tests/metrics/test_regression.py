"""Regression metrics against scikit-learn, perplexity against torch, and accumulation."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch
from sklearn import metrics as sk

sys.path.insert(0, os.path.dirname(__file__))
from metrics_oracle import assert_close, same_as_sklearn

import ember
from ember import metrics

RNG = np.random.default_rng(5)

DATASETS = {
    "1d": (RNG.standard_normal(40), RNG.standard_normal(40)),
    "2d": (RNG.standard_normal((40, 3)), RNG.standard_normal((40, 3))),
    "float32": (RNG.standard_normal((30, 2)).astype(np.float32),
                RNG.standard_normal((30, 2)).astype(np.float32)),
    "constant_target": (np.full((10, 2), 3.0), RNG.standard_normal((10, 2))),
    "perfect_constant": (np.full(6, 2.0), np.full(6, 2.0)),
    "single_sample": (np.array([1.0]), np.array([2.0])),
    "empty": (np.zeros(0), np.zeros(0)),
    "mismatch": (np.zeros(4), np.zeros(5)),
    "outputs_mismatch": (np.zeros((4, 2)), np.zeros((4, 3))),
}
PAIRS = {
    "mse": (metrics.mean_squared_error, sk.mean_squared_error),
    "rmse": (metrics.root_mean_squared_error, sk.root_mean_squared_error),
    "mae": (metrics.mean_absolute_error, sk.mean_absolute_error),
    "r2": (metrics.r2_score, sk.r2_score),
    "explained_variance": (metrics.explained_variance, sk.explained_variance_score),
}
MULTIOUTPUT = ["uniform_average", "raw_values", "variance_weighted", "weights"]


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize("multioutput", MULTIOUTPUT)
def test_matches_sklearn(data, name, multioutput):
    target, preds = DATASETS[data]
    ours, theirs = PAIRS[name]
    if multioutput == "weights":
        multioutput = np.arange(1.0, 1.0 + (target.shape[1] if target.ndim == 2 else 1))
    same_as_sklearn(lambda: ours(preds, target, multioutput=multioutput),
                    lambda: theirs(target, preds, multioutput=multioutput))


@pytest.mark.parametrize("name", ["r2", "explained_variance"])
def test_force_finite_false(name):
    target, preds = DATASETS["constant_target"]
    ours, theirs = PAIRS[name]
    same_as_sklearn(
        lambda: ours(preds, target, multioutput="raw_values", force_finite=False),
        lambda: theirs(target, preds, multioutput="raw_values", force_finite=False))


@pytest.mark.parametrize("data", ["1d", "float32"])
def test_result_dtype_follows_inputs(data):
    target, preds = DATASETS[data]
    assert metrics.mean_squared_error(preds, target).dtype == ember.tensor(preds).dtype
    assert metrics.r2_score([1, 2, 3], [1, 2, 2]).dtype == ember.float32


@pytest.mark.parametrize("shape", [(6, 9), (2, 5, 9)])
@pytest.mark.parametrize("ignore_index", [None, -100])
def test_perplexity_is_exp_cross_entropy(shape, ignore_index):
    logits = RNG.standard_normal(shape).astype(np.float32)
    target = RNG.integers(0, shape[-1], shape[:-1])
    if ignore_index is not None:
        target.reshape(-1)[::3] = ignore_index
    expected = torch.exp(torch.nn.functional.cross_entropy(
        torch.tensor(logits).reshape(-1, shape[-1]), torch.tensor(target).reshape(-1),
        ignore_index=-100 if ignore_index is None else ignore_index))
    ours = metrics.perplexity(logits, target, ignore_index=ignore_index)
    assert ours.dtype == ember.float32
    assert_close(ours, expected.item())
    with pytest.raises(ValueError):
        metrics.perplexity(logits, target[..., :-1])


STATEFUL = [
    (metrics.MeanSquaredError, metrics.mean_squared_error, {"multioutput": "raw_values"}),
    (metrics.RootMeanSquaredError, metrics.root_mean_squared_error, {}),
    (metrics.MeanAbsoluteError, metrics.mean_absolute_error, {}),
    (metrics.R2Score, metrics.r2_score, {"multioutput": "variance_weighted"}),
    (metrics.ExplainedVariance, metrics.explained_variance, {}),
]


@pytest.mark.parametrize("cls, fn, options", STATEFUL, ids=lambda x: getattr(x, "__name__", ""))
def test_accumulation_and_merge_equal_one_shot(cls, fn, options):
    target, preds = DATASETS["2d"]
    expected = fn(preds, target, **options)
    metric = cls(**options)
    for start in range(0, 40, 15):
        metric.update(ember.tensor(preds[start:start + 15]), ember.tensor(target[start:start + 15]))
    assert_close(metric.compute(), expected.numpy())
    left, right = cls(**options), cls(**options)
    left.update(preds[:7], target[:7])
    right.update(preds[7:], target[7:])
    assert_close(left.merge(right).compute(), expected.numpy())
    left.reset()
    with pytest.raises(ValueError):
        left.compute()


def test_perplexity_accumulates():
    logits = RNG.standard_normal((4, 6, 5)).astype(np.float32)
    target = RNG.integers(0, 5, (4, 6))
    target[0, :2] = -1
    metric = metrics.Perplexity(ignore_index=-1)
    metric.update(logits[:1], target[:1])
    metric.update(logits[1:], target[1:])
    assert_close(metric.compute(), metrics.perplexity(logits, target, ignore_index=-1).numpy())


def test_merge_compares_array_options():
    target, preds = DATASETS["2d"]
    weights = np.array([1.0, 2.0, 3.0])
    left = metrics.MeanSquaredError(multioutput=weights)
    right = metrics.MeanSquaredError(multioutput=weights.copy())
    left.update(preds[:10], target[:10])
    right.update(preds[10:], target[10:])
    assert_close(left.merge(right).compute(),
                 sk.mean_squared_error(target, preds, multioutput=weights))
    with pytest.raises(ValueError):
        left.merge(metrics.MeanSquaredError(multioutput=weights[::-1]))
