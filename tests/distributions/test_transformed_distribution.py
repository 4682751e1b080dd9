"""TransformedDistribution and Independent against torch.distributions on what the
family table in test_families.py does not reach: a decreasing chain's cdf/icdf, a base
broadcast by its transforms, expand of the wrappers and their subclasses, and the
argument errors."""

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


def _decreasing(lib, loc, scale):
    t = lib.distributions.transforms
    return lib.distributions.TransformedDistribution(
        lib.distributions.Normal(loc, scale),
        [t.AffineTransform(1.0, -2.0), t.ExpTransform()])


def test_decreasing_chain_cdf_icdf_and_log_prob():
    params = [randn(3), rand(3, low=0.5, high=2.0)]
    value = rand(2, 3, low=0.2, high=3.0)
    check(lambda lib, m, s: _decreasing(lib, m, s).cdf(lib.tensor(value)), *params)
    check(lambda lib, m, s: _decreasing(lib, m, s).icdf(lib.full((3,), 0.3)), *params)
    check(lambda lib, m, s: _decreasing(lib, m, s).log_prob(lib.tensor(value)), *params)


def _broadcast_by_loc(lib, loc, scale):
    """A base of 3 made a batch of 2x3 by the AffineTransform's loc, then read three
    at a time by a second, event_dim=1 affine map."""
    t = lib.distributions.transforms
    return lib.distributions.TransformedDistribution(
        lib.distributions.Normal(lib.zeros(3), scale),
        [t.AffineTransform(loc, 1.0), t.AffineTransform(0.0, 2.0, event_dim=1)])


def test_base_is_expanded_and_made_independent_as_torch():
    params = [randn(2, 3), rand(low=0.5, high=2.0)]
    e = _broadcast_by_loc(ember, *[ember.tensor(p) for p in params])
    t = _broadcast_by_loc(torch, *[torch.tensor(p) for p in params])
    assert (e.batch_shape, e.event_shape) == (t.batch_shape, t.event_shape)
    assert repr(e.base_dist) == repr(t.base_dist) and repr(e.support) == repr(t.support)
    value = randn(4, 2, 3)
    check(lambda lib, m, s: _broadcast_by_loc(lib, m, s).log_prob(lib.tensor(value)), *params)
    e_big, t_big = e.expand((5, 2)), t.expand((5, 2))
    assert (e_big.batch_shape, e_big.event_shape) == (t_big.batch_shape, t_big.event_shape)
    assert e_big.base_dist.batch_shape == t_big.base_dist.batch_shape
    assert e_big.transforms is e.transforms and e_big._validate_args == e._validate_args


def test_independent_expand_and_errors_match_torch():
    for lib in (ember, torch):
        d = lib.distributions
        ind = d.Independent(d.Normal(lib.zeros(2, 3), 1.0), 1)
        big = ind.expand((4, 2))
        assert (tuple(big.batch_shape), tuple(big.event_shape)) == ((4, 2), (3,))
        assert tuple(big.base_dist.batch_shape) == (4, 2, 3)
        assert big.reinterpreted_batch_ndims == 1 and not big.has_enumerate_support
        with pytest.raises(ValueError, match="Expected reinterpreted_batch_ndims"):
            d.Independent(d.Normal(lib.zeros(2), 1.0), 2)
        with pytest.raises(NotImplementedError, match="cartesian product"):
            d.Independent(d.Bernoulli(lib.full((2, 3), 0.5)), 1).enumerate_support()


def test_transform_argument_errors_match_torch():
    for lib in (ember, torch):
        d = lib.distributions
        with pytest.raises(ValueError, match="must be a Transform or list, but was"):
            d.TransformedDistribution(d.Normal(0.0, 1.0), (d.transforms.ExpTransform(),))
        with pytest.raises(ValueError, match="must be a Transform or a list of Transforms"):
            d.TransformedDistribution(d.Normal(0.0, 1.0), [d.transforms.ExpTransform(), 3])
        with pytest.raises(ValueError, match="needs to have shape with size at least 1"):
            d.TransformedDistribution(d.Normal(0.0, 1.0), d.transforms.StickBreakingTransform())


@pytest.mark.parametrize("family", ["LogNormal", "HalfNormal", "RelaxedBernoulli"])
def test_subclass_with_own_init_needs_own_expand(family):
    """ember's own subclasses expand; a user subclass that only changes __init__ is
    refused, as torch refuses it."""
    args = {"LogNormal": (0.0, 1.0), "HalfNormal": (1.0,), "RelaxedBernoulli": (0.5, 0.3)}
    for lib in (ember, torch):
        cls = getattr(lib.distributions, family)
        base = cls(*[lib.tensor(a) for a in args[family]])
        assert type(base.expand((2,))) is cls

        class Mine(cls):
            def __init__(self, *a):
                super().__init__(*a)

        with pytest.raises(NotImplementedError, match="must also define a custom .expand"):
            Mine(*[lib.tensor(a) for a in args[family]]).expand((2,))
