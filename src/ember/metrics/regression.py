"""Regression metrics (MSE, MAE, RMSE, R^2, explained variance) and perplexity.

``preds`` and ``target`` are (N,) or (N, outputs). ``multioutput`` is scikit-learn's:
"uniform_average", "raw_values" (one score per output), "variance_weighted" (R^2 and
explained variance) or a weight per output. Results keep the inputs' float dtype.
Squared and absolute errors accumulate as sums; R^2 and explained variance keep the rows
(exact two-pass variances, as sklearn, instead of a cancellation-prone running sum).
"""

from __future__ import annotations

import math
import warnings

import ember

from ._common import UndefinedMetricWarning, to_tensor


def _result_dtype(preds, target):
    dtype = ember.promote_types(preds.dtype, target.dtype)
    return dtype if dtype.is_floating_point else ember.get_default_dtype()


def _columns(preds, target):
    """Both inputs as float64 (N, outputs) matrices, after sklearn's length checks."""
    preds, target = to_tensor(preds), to_tensor(target)
    if preds.ndim > 2 or target.ndim > 2:
        raise ValueError("y_true and y_pred must be 1d or 2d arrays")
    if (preds.shape[0] if preds.ndim else 1) != (target.shape[0] if target.ndim else 1):
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{target.shape[0]}, {preds.shape[0]}]"
        )
    dtype = _result_dtype(preds, target)
    preds, target = preds.to(ember.float64), target.to(ember.float64)
    preds, target = _as_matrix(preds), _as_matrix(target)
    if preds.shape[1] != target.shape[1]:
        raise ValueError(
            f"y_true and y_pred have different number of output ({target.shape[1]}!="
            f"{preds.shape[1]})"
        )
    return preds, target, dtype


def _as_matrix(values):
    if values.ndim == 2:
        return values
    return values.reshape(values.numel(), 1)


def _dtype_code(dtype, device):
    """The result dtype travels in the state as a 0-element tensor of that dtype."""
    return ember.zeros(0, dtype=dtype, device=device)


def error_state(preds, target, **_options):
    preds, target, dtype = _columns(preds, target)
    error = preds - target
    return {
        "squared_error": (error * error).sum(0), "absolute_error": error.abs().sum(0),
        "count": ember.tensor(preds.shape[0], device=preds.device),
        "dtype": _dtype_code(dtype, preds.device),
    }


def rows_state(preds, target, **_options):
    preds, target, dtype = _columns(preds, target)
    return {"preds": preds, "target": target, "dtype": _dtype_code(dtype, preds.device)}


def _check_count(count):
    if int(count) == 0:
        raise ValueError("Found array with 0 sample(s) (shape=(0,)) while a minimum of 1 is "
                         "required.")


def _check_multioutput(multioutput, n_outputs, variance_weighted=False, rmse=False):
    """sklearn's validation, run before any score (so its errors win, as in sklearn)."""
    if isinstance(multioutput, str):
        allowed = ("raw_values", "uniform_average") + (
            ("variance_weighted",) if variance_weighted else ())
        if multioutput not in allowed:
            raise ValueError(f"multioutput must be one of {allowed} or an array of weights, "
                             f"got {multioutput!r}")
        return
    weights = to_tensor(multioutput).reshape(-1)
    if n_outputs == 1 and not rmse:  # sklearn's rmse skips this check
        raise ValueError("Custom weights are useful only in multi-output cases.")
    if weights.shape[0] != n_outputs:
        raise ValueError(f"There must be equally many custom weights ({weights.shape[0]}) "
                         f"as outputs ({n_outputs}).")


def _average_outputs(scores, multioutput, dtype, variance=None):
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return scores.to(dtype)
        if multioutput == "variance_weighted" and bool((variance != 0).any()):
            return ((scores * variance).sum() / variance.sum()).to(dtype)
        return scores.mean().to(dtype)
    weights = to_tensor(multioutput).to(ember.float64).reshape(-1)
    return ((scores * weights).sum() / weights.sum()).to(dtype)


def _mse_compute(state, *, multioutput="uniform_average", squared=True, **_options):
    _check_multioutput(multioutput, state["squared_error"].shape[0], rmse=not squared)
    _check_count(state["count"])
    per_output = state["squared_error"] / int(state["count"])
    if not squared:
        per_output = ember.sqrt(per_output)
    return _average_outputs(per_output, multioutput, state["dtype"].dtype)


def _mae_compute(state, *, multioutput="uniform_average", **_options):
    _check_multioutput(multioutput, state["absolute_error"].shape[0])
    _check_count(state["count"])
    per_output = state["absolute_error"] / int(state["count"])
    return _average_outputs(per_output, multioutput, state["dtype"].dtype)


def _explained_fraction(numerator, denominator, force_finite):
    """1 - numerator / denominator; with force_finite 1.0 for perfect and 0.0 for -inf."""
    if not force_finite:
        return 1 - numerator / denominator
    valid = (numerator != 0) & (denominator != 0)
    scores = ember.where(valid, 1 - numerator / ember.where(valid, denominator, 1.0), 1.0)
    return ember.where((numerator != 0) & (denominator == 0), 0.0, scores)


def _r2_compute(state, *, multioutput="uniform_average", force_finite=True, **_options):
    preds, target, dtype = state["preds"], state["target"], state["dtype"].dtype
    _check_multioutput(multioutput, preds.shape[1], variance_weighted=True)
    _check_count(preds.shape[0])
    if preds.shape[0] < 2:
        warnings.warn("R^2 score is not well-defined with less than two samples.",
                      UndefinedMetricWarning, stacklevel=3)
        return ember.tensor(math.nan, dtype=dtype, device=preds.device)
    numerator = ((target - preds) ** 2).sum(0)
    denominator = ((target - target.mean(0)) ** 2).sum(0)
    scores = _explained_fraction(numerator, denominator, force_finite)
    return _average_outputs(scores, multioutput, dtype, denominator)


def _explained_variance_compute(state, *, multioutput="uniform_average", force_finite=True,
                                **_options):
    preds, target, dtype = state["preds"], state["target"], state["dtype"].dtype
    _check_multioutput(multioutput, preds.shape[1], variance_weighted=True)
    _check_count(preds.shape[0])
    residual = target - preds
    numerator = ((residual - residual.mean(0)) ** 2).mean(0)
    denominator = ((target - target.mean(0)) ** 2).mean(0)
    scores = _explained_fraction(numerator, denominator, force_finite)
    return _average_outputs(scores, multioutput, dtype, denominator)


def perplexity_state(preds, target, *, ignore_index=None, **_options):
    """Summed negative log-likelihood of the targets and how many targets counted.

    ``preds`` are logits with the class dimension last, (..., C); ``target`` (...) class
    indices (the language-model layout: (batch, time, vocab) and (batch, time)).
    """
    logits, target = to_tensor(preds), to_tensor(target).long()
    if logits.shape[:-1] != target.shape:
        raise ValueError(
            "perplexity expects logits of shape (..., C) and target of shape (...), got "
            f"{tuple(logits.shape)} and {tuple(target.shape)}"
        )
    log_probs = ember.log_softmax(logits.to(ember.float64), -1).reshape(-1, logits.shape[-1])
    target = target.reshape(-1)
    if ignore_index is not None:
        keep = target != ignore_index
        log_probs, target = log_probs[keep], target[keep]
    picked = ember.gather(log_probs, 1, target.unsqueeze(1))
    return {"nll": -picked.sum(), "count": ember.tensor(target.shape[0], device=target.device),
            "dtype": _dtype_code(logits.dtype, logits.device)}


def _perplexity_compute(state, **_options):
    # No counted target gives nan, as exp(cross_entropy) of an all-ignored batch.
    return ember.exp(state["nll"] / int(state["count"])).to(state["dtype"].dtype)


# ----------------------------------------------------------------------------- functional


def mean_squared_error(preds, target, multioutput="uniform_average"):
    """Mean of (preds - target)^2 per output (sklearn's mean_squared_error)."""
    return _mse_compute(error_state(preds, target), multioutput=multioutput)


def root_mean_squared_error(preds, target, multioutput="uniform_average"):
    """Square root of each output's MSE, then averaged (sklearn's order)."""
    return _mse_compute(error_state(preds, target), multioutput=multioutput, squared=False)


def mean_absolute_error(preds, target, multioutput="uniform_average"):
    """Mean of |preds - target| per output."""
    return _mae_compute(error_state(preds, target), multioutput=multioutput)


def r2_score(preds, target, multioutput="uniform_average", force_finite=True):
    """Coefficient of determination 1 - SS_res / SS_tot (sklearn's r2_score)."""
    return _r2_compute(rows_state(preds, target), multioutput=multioutput,
                       force_finite=force_finite)


def explained_variance(preds, target, multioutput="uniform_average", force_finite=True):
    """1 - Var(target - preds) / Var(target): R^2 that ignores a constant bias."""
    return _explained_variance_compute(rows_state(preds, target), multioutput=multioutput,
                                       force_finite=force_finite)


def perplexity(preds, target, ignore_index=None):
    """exp of the mean cross-entropy of ``target`` under the logits ``preds`` (..., C)."""
    return _perplexity_compute(perplexity_state(preds, target, ignore_index=ignore_index))


__all__ = [
    "explained_variance",
    "mean_absolute_error",
    "mean_squared_error",
    "perplexity",
    "r2_score",
    "root_mean_squared_error",
]
