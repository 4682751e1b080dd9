"""The relaxed families' own pieces against torch: LogitRelaxedBernoulli and
ExpRelaxedCategorical used directly (log_prob and its gradients, expand keeping the
temperature and the parametrisation)."""

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


def _lrb(lib):
    """LogitRelaxedBernoulli: torch keeps it in its relaxed_bernoulli module."""
    return (ember.distributions.relaxed if lib is ember
            else torch.distributions.relaxed_bernoulli).LogitRelaxedBernoulli


def _erc(lib):
    return (ember.distributions.relaxed if lib is ember
            else torch.distributions.relaxed_categorical).ExpRelaxedCategorical


def test_logit_relaxed_bernoulli_log_prob_and_expand():
    temperature, probs, value = rand(low=0.3, high=2.0), rand(3, low=0.1, high=0.9), randn(2, 3)
    check(lambda lib, t, p: _lrb(lib)(t, probs=p).log_prob(
        lib.tensor(value)), temperature, probs)
    check(lambda lib, t, lg: _lrb(lib)(t, logits=lg).expand(
        (4, 3)).log_prob(lib.tensor(value[0])), temperature, randn(3))
    for lib in (ember, torch):
        d = _lrb(lib)(lib.tensor(0.5), probs=lib.tensor([0.2, 0.7]))
        _ = d.logits  # both parametrisations present: expand keeps both
        big = d.expand((3, 2))
        assert big.param_shape == (3, 2) and float(big.temperature) == 0.5
        assert big._param is big.logits and big.probs.shape == (3, 2)


def test_exp_relaxed_categorical_log_prob_and_expand():
    temperature, logits = rand(low=0.3, high=2.0), randn(2, 4)
    value = randn(3, 2, 4)
    check(lambda lib, t, lg: _erc(lib)(t, logits=lg).log_prob(
        lib.tensor(value)), temperature, logits)
    check(lambda lib, t, lg: _erc(lib)(t, logits=lg).expand(
        (3, 2)).log_prob(lib.tensor(value)), temperature, logits)
    e = _erc(ember)(ember.tensor(0.7), logits=ember.tensor(logits))
    big = e.expand((5, 2))
    assert big.rsample((2,)).shape == (2, 5, 2, 4) and big.temperature is e.temperature
