"""expand of the transformed-draw laws (Gumbel, Weibull, Pareto, Kumaraswamy) against
torch: the expanded law's values, its kept 1 / concentration, and the rule that a
subclass with its own ``__init__`` must bring its own ``expand``."""

import oracle
import pytest
import torch
from oracle import check, rand

import ember

BUILD = {
    "Gumbel": lambda lib, a, b: lib.distributions.Gumbel(a, b),
    "Weibull": lambda lib, a, b: lib.distributions.Weibull(a, b),
    "Pareto": lambda lib, a, b: lib.distributions.Pareto(a, b),
    "Kumaraswamy": lambda lib, a, b: lib.distributions.Kumaraswamy(a, b),
}


@pytest.fixture(autouse=True)
def _on_oracle_device():
    with oracle.on_device(ember):
        yield


@pytest.mark.parametrize("name", sorted(BUILD))
def test_expand_then_log_prob_and_moments(name):
    def fn(lib, a, b):
        d = BUILD[name](lib, a, b).expand((2, 3))
        value = lib.full((2, 3), 0.5) if name == "Kumaraswamy" else lib.full((2, 3), 2.5)
        return d.batch_shape, d.log_prob(value), d.mean, d.variance, d.entropy()
    check(fn, rand(3, low=0.5, high=2.0), rand(3, low=2.5, high=4.0))


def test_weibull_expand_keeps_reciprocal():
    check(lambda lib, s, k: lib.distributions.Weibull(s, k).expand((4, 2)).concentration_reciprocal,
          rand(2, low=0.5, high=2.0), rand(2, low=0.5, high=2.0))


def test_gumbel_of_numbers_has_scalar_base():
    for lib in (ember, torch):
        d = lib.distributions.Gumbel(0.0, 1.0)
        assert tuple(d.base_dist.batch_shape) == () and tuple(d.batch_shape) == ()


@pytest.mark.parametrize("name", sorted(BUILD))
def test_subclass_expand_rule(name):
    for lib in (ember, torch):
        parent = getattr(lib.distributions, name)

        class Plain(parent):
            pass

        class Custom(parent):
            def __init__(self, a, b):
                super().__init__(a, b)

        a, b = lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])
        e = Plain(a, b).expand((3, 2))
        assert type(e) is Plain and tuple(e.batch_shape) == (3, 2)
        with pytest.raises(NotImplementedError, match="must also define a custom .expand"):
            Custom(a, b).expand((3, 2))
