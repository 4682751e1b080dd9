"""Categorical against torch on its edges: zero probabilities (entropy, log_prob),
both parametrisations after expand, log_prob broadcasting, enumerate_support, the NaN
moments and the constructor errors."""

import numpy as np
import oracle
import pytest
import torch
from oracle import as_numpy, check, randn

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


def test_zero_probabilities_and_broadcast_log_prob():
    probs = np.array([[0.0, 0.5, 0.5], [0.2, 0.0, 0.8]], dtype=np.float32)
    value = np.array([[1], [2], [0]], dtype=np.int64)  # (3, 1) against batch (2,)
    for fn in (lambda d: d.entropy(), lambda d: d.log_prob(d.probs.new_tensor(value)),
               lambda d: d.mean, lambda d: d.variance, lambda d: d.mode,
               lambda d: d.enumerate_support(), lambda d: d.enumerate_support(False)):
        e = fn(ember.distributions.Categorical(ember.tensor(probs)))
        t = fn(torch.distributions.Categorical(torch.tensor(probs)))
        np.testing.assert_array_equal(as_numpy(e), t.numpy())


def test_expand_keeps_both_parametrisations():
    check(lambda lib, lg: lib.distributions.Categorical(logits=lg).expand((4, 2)).log_prob(
        lib.tensor([[0, 1], [2, 2], [1, 0], [2, 1]])), randn(2, 3))
    for lib in (ember, torch):
        d = lib.distributions.Categorical(probs=lib.tensor([0.2, 0.3, 0.5]))
        _ = d.logits
        big = d.expand((2, 5))
        assert big.param_shape == (2, 5, 3) and big._param is big.logits
        assert big._num_events == 3 and big.probs.shape == (2, 5, 3)
        assert big.sample((4,)).shape == (4, 2, 5)


def test_constructor_errors_match_torch():
    for lib in (ember, torch):
        c = lib.distributions.Categorical
        with pytest.raises(ValueError, match="Either `probs` or `logits`"):
            c(lib.ones(2), lib.ones(2))
        with pytest.raises(ValueError, match="`probs` parameter must be at least one-dim"):
            c(probs=lib.tensor(1.0))
        with pytest.raises(ValueError, match="`logits` parameter must be at least one-dim"):
            c(logits=lib.tensor(1.0))
