"""Uniform against torch at its edges: log_prob and cdf outside [low, high) without
validation, the closed ends, expand, and the bound checks' errors."""

import numpy as np
import oracle
import pytest
import torch
from oracle import check, rand, randn

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


def _unchecked(lib, low, high):
    return lib.distributions.Uniform(low, high, validate_args=False)


def test_outside_and_at_the_ends():
    low = randn(3)
    width = rand(3, low=0.5, high=2.0)
    high = (low + width).astype(np.float32)
    value = np.stack([low - 0.5, low, high, low + 0.5 * width, high + 0.1])
    for query in ("log_prob", "cdf"):
        check(lambda lib, a, b, q=query: getattr(_unchecked(lib, a, b), q)(lib.tensor(value)),
              low, high)
    check(lambda lib, a, b: _unchecked(lib, a, b).expand((2, 3)).log_prob(
        lib.tensor(value[3])), low, high)
    for query in ("stddev", "variance", "mean"):
        check(lambda lib, a, b, q=query: getattr(_unchecked(lib, a, b).expand((4, 3)), q),
              low, high)


def test_bound_errors_match_torch():
    for lib in (ember, torch):
        with pytest.raises(ValueError, match="Expected parameter low"):
            lib.distributions.Uniform(lib.tensor([1.0]), lib.tensor([0.0]))
        with pytest.raises(ValueError, match="to be within the support"):
            lib.distributions.Uniform(0.0, 1.0).log_prob(lib.tensor([1.5]))
