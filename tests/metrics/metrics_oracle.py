"""Helpers: run an ember metric and its scikit-learn twin, compare values, errors, warnings."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ember


def _run(fn):
    """(value, exception type, sorted warning texts of UndefinedMetricWarning/UserWarning)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value, error = fn(), None
        except NotImplementedError:
            value, error = None, NotImplementedError
        except ValueError:  # sklearn's InvalidParameterError is a ValueError too
            value, error = None, ValueError
    texts = sorted({f"{type(w.message).__name__}: {w.message}" for w in caught
                    if type(w.message).__name__ in ("UndefinedMetricWarning", "UserWarning")})
    return value, error, texts


def to_numpy(value):
    if isinstance(value, ember.Tensor):
        return np.asarray(value.numpy(), dtype=np.float64)
    if isinstance(value, (list, tuple)):
        return [to_numpy(v) for v in value]
    return np.asarray(value, dtype=np.float64)


def assert_close(ours, theirs, rtol=1e-5, atol=1e-6):
    if isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            assert_close(o, t, rtol, atol)
        return
    ours, theirs = to_numpy(ours), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"shape {ours.shape} != {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, equal_nan=True)


def same_as_sklearn(ours_fn, sklearn_fn, rtol=1e-5, atol=1e-6, warnings_too=True):
    """Same value (or same exception type) and the same warning texts as scikit-learn."""
    theirs, their_error, their_warnings = _run(sklearn_fn)
    if their_error is not None:
        with pytest.raises(their_error):
            ours_fn()
        return
    ours, our_error, our_warnings = _run(ours_fn)
    assert our_error is None, f"ember raised {our_error} where sklearn gave {theirs}"
    assert_close(ours, theirs, rtol, atol)
    if warnings_too:
        assert our_warnings == their_warnings


def is_nan(x):
    return math.isnan(float(x))
