"""MixtureSameFamily against torch where the family table in test_families.py does not
reach: a mixture with fewer batch dims than its components (moments, log_prob, cdf,
expand) and the constructor's errors."""

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


def _mixture(lib, logits, loc, scale):
    d = lib.distributions
    return d.MixtureSameFamily(d.Categorical(logits=logits), d.Normal(loc, scale))


# mixture batch () and (1,) against components (4, 3): the weights are padded or not
SHAPES = [((3,), (4, 3)), ((1, 3), (4, 3)), ((2, 1, 3), (2, 4, 3))]


@pytest.mark.parametrize("mix_shape, comp_shape", SHAPES, ids=["scalar", "one", "two"])
def test_moments_log_prob_cdf_and_expand(mix_shape, comp_shape):
    params = [randn(*mix_shape), randn(*comp_shape), rand(*comp_shape, low=0.5, high=2.0)]
    value = randn(*comp_shape[:-1])
    for query in ("mean", "variance"):
        check(lambda lib, *p, q=query: getattr(_mixture(lib, *p), q), *params)
    check(lambda lib, *p: _mixture(lib, *p).log_prob(lib.tensor(value)), *params)
    check(lambda lib, *p: _mixture(lib, *p).cdf(lib.tensor(value)), *params)
    big = (5,) + comp_shape[:-1]
    check(lambda lib, *p: _mixture(lib, *p).expand(big).log_prob(lib.tensor(value)), *params)
    e = _mixture(ember, *[ember.tensor(p) for p in params]).expand(big)
    assert e.sample((2,)).shape == (2,) + big and e._num_component == comp_shape[-1]


@pytest.mark.oracle_torch("2.13", "torch 2.11 says 'The Component distribution need to be'")
def test_constructor_errors_match_torch():
    for lib in (ember, torch):
        d = lib.distributions
        normal = d.Normal(lib.zeros(2, 3), 1.0)
        with pytest.raises(ValueError, match="needs to be an  instance of"):
            d.MixtureSameFamily(normal, normal)
        with pytest.raises(ValueError, match="Component distribution needs to be"):
            d.MixtureSameFamily(d.Categorical(logits=lib.zeros(3)), 3.0)
        with pytest.raises(ValueError, match="is not compatible with"):
            d.MixtureSameFamily(d.Categorical(logits=lib.zeros(4, 3)), normal)
        with pytest.raises(ValueError, match=r"component` \(4\) does not equal"):
            d.MixtureSameFamily(d.Categorical(logits=lib.zeros(4)), normal)
        with pytest.raises(IndexError):
            d.MixtureSameFamily(d.Categorical(logits=lib.zeros(1)), d.Normal(0.0, 1.0))
