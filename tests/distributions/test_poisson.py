"""Edge values of the counting distributions against torch: the points where a formula
needs care (p = 1/2 where logits are 0, p = 1, rate 0, r + k = 0) and expand after the
other parametrisation was computed."""

import numpy as np
import oracle
import pytest
from oracle import check

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    with oracle.on_device(ember):
        yield


def test_binomial_at_one_half_and_one():
    p = np.array([0.5, 1.0, 0.25], dtype=np.float32)
    k = [1.0, 4.0, 0.0]
    check(lambda lib, p: lib.distributions.Binomial(4, p).log_prob(lib.tensor([1.0, 0.0])),
          p[[0, 2]])
    check(lambda lib, p: lib.distributions.Binomial(4, p).mode, p, grad=False)
    check(lambda lib, lg: lib.distributions.Binomial(4, logits=lg).log_prob(lib.tensor(k)),
          np.array([0.0, 30.0, -30.0], dtype=np.float32))


def test_poisson_rate_zero_and_negative_binomial_empty():
    check(lambda lib, r: lib.distributions.Poisson(r).log_prob(lib.tensor([0.0, 0.0, 2.0])),
          np.array([0.0, 1.5, 1.5], dtype=np.float32), grad=False)
    check(lambda lib, n, p: lib.distributions.NegativeBinomial(n, p).log_prob(
        lib.tensor([0.0, 0.0, 3.0])),
          np.array([0.0, 2.0, 0.5], dtype=np.float64),
          np.array([0.3, 0.3, 0.6], dtype=np.float64), grad=False)
    check(lambda lib, n, p: lib.distributions.NegativeBinomial(n, p).mode,
          np.array([0.5, 2.0, 7.0], dtype=np.float32),
          np.array([0.3, 0.3, 0.6], dtype=np.float32), grad=False)


def test_geometric_certain_success():
    check(lambda lib, p: lib.distributions.Geometric(p).log_prob(lib.tensor([0.0, 2.0])),
          np.array([1.0, 0.5], dtype=np.float32), grad=False)


@pytest.mark.parametrize("cls", ["Binomial", "NegativeBinomial"])
def test_expand_after_probs_were_computed(cls):
    def fn(lib, lg):
        d = getattr(lib.distributions, cls)(lib.tensor([3.0, 5.0]), logits=lg)
        d.probs  # noqa: B018 - caches the other parametrisation before expand
        e = d.expand((4, 2))
        return e.param_shape, e.log_prob(lib.tensor([1.0, 2.0])), e.probs, e.logits
    check(fn, np.array([0.2, -0.7], dtype=np.float32))
