"""kl_divergence for every pair PyTorch registers (values and gradients against torch),
its dispatch, and the validation errors of the new families with PyTorch's messages."""

import numpy as np
import oracle
import pytest
import torch
from oracle import as_numpy, check, check_raises
from oracle import rand as _rand
from oracle import randn as _randn
from torch.distributions.kl import _KL_REGISTRY

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


def rand(*shape, low=0.0, high=1.0, dtype=np.float64):
    """float64 throughout: pairs mix families, and a float32 intermediate would be
    compared at float64 tolerance."""
    return _rand(*shape, low=low, high=high, dtype=dtype)


def randn(*shape, dtype=np.float64):
    return _randn(*shape, dtype=dtype)


# per family: (build(lib, *params), params); params keep supports overlapping where the
# divergence is finite (a Uniform inside (0, 1) for Beta, alpha > 2 for Pareto, ...)
F64 = np.float64
FAMILIES = {
    "Bernoulli": (lambda lib, p: lib.distributions.Bernoulli(p), [rand(3, low=0.1, high=0.9)]),
    "Beta": (lambda lib, a, b: lib.distributions.Beta(a, b),
             [rand(3, low=0.5, high=3.0), rand(3, low=0.5, high=3.0)]),
    "Binomial": (lambda lib, p: lib.distributions.Binomial(5, p), [rand(3, low=0.1, high=0.9)]),
    "Categorical": (lambda lib, lg: lib.distributions.Categorical(logits=lg), [randn(3, 4)]),
    "Cauchy": (lambda lib, m, s: lib.distributions.Cauchy(m, s),
               [randn(3), rand(3, low=0.5, high=2.0)]),
    "ContinuousBernoulli": (lambda lib, p: lib.distributions.ContinuousBernoulli(p),
                            [rand(3, low=0.1, high=0.4, dtype=F64)]),
    "Dirichlet": (lambda lib, c: lib.distributions.Dirichlet(c), [rand(3, 4, low=0.5, high=3.0)]),
    "Exponential": (lambda lib, r: lib.distributions.Exponential(r),
                    [rand(3, low=0.5, high=2.0)]),
    "Gamma": (lambda lib, a, r: lib.distributions.Gamma(a, r),
              [rand(3, low=0.5, high=3.0), rand(3, low=0.5, high=2.0)]),
    "Geometric": (lambda lib, p: lib.distributions.Geometric(p), [rand(3, low=0.1, high=0.9)]),
    "Gumbel": (lambda lib, m, s: lib.distributions.Gumbel(m, s),
               [randn(3), rand(3, low=0.5, high=2.0)]),
    "HalfNormal": (lambda lib, s: lib.distributions.HalfNormal(s), [rand(3, low=0.5, high=2.0)]),
    "Independent": (lambda lib, m, s: lib.distributions.Independent(
        lib.distributions.Normal(m, s), 1), [randn(2, 3), rand(2, 3, low=0.5, high=2.0)]),
    "Laplace": (lambda lib, m, s: lib.distributions.Laplace(m, s),
                [randn(3), rand(3, low=0.5, high=2.0)]),
    "LowRankMultivariateNormal": (lambda lib, m, w, d: lib.distributions.LowRankMultivariateNormal(
        m, w, d), [randn(2, 3, dtype=F64), randn(3, 2, dtype=F64),
                   rand(3, low=0.5, high=2.0, dtype=F64)]),
    "MultivariateNormal": (lambda lib, m, a: lib.distributions.MultivariateNormal(
        m, scale_tril=lib.tril(a, -1) + lib.diag_embed(lib.exp(a.diagonal(dim1=-2, dim2=-1)))),
        [randn(2, 3, dtype=F64), randn(3, 3, dtype=F64)]),
    "Normal": (lambda lib, m, s: lib.distributions.Normal(m, s),
               [randn(3), rand(3, low=0.5, high=2.0)]),
    "OneHotCategorical": (lambda lib, lg: lib.distributions.OneHotCategorical(logits=lg),
                          [randn(3, 4)]),
    "Pareto": (lambda lib, s, a: lib.distributions.Pareto(s, a),
               [rand(3, low=0.5, high=2.0), rand(3, low=2.5, high=4.0)]),
    "Poisson": (lambda lib, r: lib.distributions.Poisson(r), [rand(3, low=0.5, high=3.0)]),
    "TransformedDistribution": (lambda lib, m, s: lib.distributions.TransformedDistribution(
        lib.distributions.Normal(m, s), [lib.distributions.transforms.ExpTransform()]),
        [randn(3), rand(3, low=0.5, high=2.0)]),
    "Uniform": (lambda lib, lo, w: lib.distributions.Uniform(lo, lo + w),
                [rand(3, low=0.1, high=0.3), rand(3, low=0.2, high=0.5)]),
}

PAIRS = sorted((p.__name__, q.__name__) for p, q in _KL_REGISTRY
               if p.__name__ != "ExponentialFamily")


@pytest.mark.parametrize("p_name, q_name", PAIRS, ids=[f"{p}-{q}" for p, q in PAIRS])
def test_kl_matches_torch(p_name, q_name):
    build_p, params_p = FAMILIES[p_name]
    build_q, params_q = FAMILIES[q_name]
    if q_name == "Binomial" and p_name == "Binomial":  # same total_count: finite
        params_q = [rand(3, low=0.1, high=0.9)]
    n = len(params_p)
    # the multivariate families have batch (2,): broadcast the others against it
    check(lambda lib, *x: lib.distributions.kl_divergence(build_p(lib, *x[:n]),
                                                          build_q(lib, *x[n:])),
          *params_p, *params_q)


def _bregman(lib):
    if lib is ember:
        return ember.distributions.kl_families._kl_expfamily_expfamily
    return torch.distributions.kl._kl_expfamily_expfamily


def test_exponential_family_bregman_fallback():
    """Same family, no closed form registered: the Bregman divergence of F (checked
    through a subclass, so the Exponential closed form is not what dispatch finds)."""
    class MyExponential(ember.distributions.Exponential):
        pass

    class TorchExponential(torch.distributions.Exponential):
        pass

    check(lambda lib, a, b: _bregman(lib)(
        (MyExponential if lib is ember else TorchExponential)(a),
        (MyExponential if lib is ember else TorchExponential)(b)),
        rand(3, low=0.5, high=2.0), rand(3, low=0.5, high=2.0))
    check(lambda lib, a, b: _bregman(lib)(
        lib.distributions.Dirichlet(a), lib.distributions.Dirichlet(b)),
        rand(2, 3, low=0.5, high=2.0), rand(2, 3, low=0.5, high=2.0))
    with pytest.raises(NotImplementedError, match="different exponential families"):
        _bregman(ember)(
            ember.distributions.Gamma(1.0, 1.0), ember.distributions.Poisson(1.0))


def test_kl_infinite_and_errors():
    d = ember.distributions
    assert d.kl_divergence(d.Normal(0.0, 1.0), d.Exponential(1.0)).item() == float("inf")
    with pytest.raises(NotImplementedError, match="q.total_count > p.total_count"):
        d.kl_divergence(d.Binomial(3, ember.tensor(0.5)), d.Binomial(5, ember.tensor(0.5)))
    with pytest.raises(ValueError, match="different event shapes"):
        d.kl_divergence(d.MultivariateNormal(ember.zeros(2), ember.eye(2)),
                        d.MultivariateNormal(ember.zeros(3), ember.eye(3)))


ERRORS = [
    lambda lib: lib.distributions.Gamma(lib.tensor([1.0, -1.0]), 1.0),
    lambda lib: lib.distributions.Exponential(lib.tensor([0.0])),
    lambda lib: lib.distributions.Beta(lib.tensor([0.5]), lib.tensor([-0.5])),
    lambda lib: lib.distributions.Dirichlet(lib.tensor(1.0)),
    lambda lib: lib.distributions.Dirichlet(lib.tensor([1.0, -2.0])),
    lambda lib: lib.distributions.Gamma(1.0, 1.0).log_prob(lib.tensor([-1.0])),
    lambda lib: lib.distributions.Beta(1.0, 1.0).log_prob(lib.tensor([1.5])),
    lambda lib: lib.distributions.Poisson(lib.tensor([2.0])).log_prob(lib.tensor([1.5])),
    lambda lib: lib.distributions.Binomial(lib.tensor([3.0]), probs=lib.tensor([0.5])).log_prob(
        lib.tensor([4.0])),
    lambda lib: lib.distributions.Binomial(lib.tensor([3.0])),
    lambda lib: lib.distributions.Geometric(lib.tensor([0.0, 0.5])),
    lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), lib.tensor(
        [[1.0, 2.0], [2.0, 1.0]])),
    lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), lib.eye(2), lib.eye(2)),
    lambda lib: lib.distributions.MultivariateNormal(lib.tensor(0.0), lib.eye(2)),
    lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), lib.ones(2)),
    lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), scale_tril=lib.tensor(
        [[1.0, 1.0], [0.0, 1.0]])),
    lambda lib: lib.distributions.LowRankMultivariateNormal(lib.zeros(2), lib.ones(3, 1),
                                                            lib.ones(2)),
    lambda lib: lib.distributions.LowRankMultivariateNormal(lib.zeros(2), lib.ones(2, 1),
                                                            lib.ones(3)),
    lambda lib: lib.distributions.Multinomial(2.5, lib.tensor([0.5, 0.5])),
    lambda lib: lib.distributions.Multinomial(3, lib.tensor([0.5, 0.5])).log_prob(
        lib.tensor([-1.0, 4.0])),
    lambda lib: lib.distributions.OneHotCategorical(lib.tensor([0.5, 0.5])).log_prob(
        lib.tensor([1.0, 1.0])),
    lambda lib: lib.distributions.StudentT(lib.tensor([-1.0])),
    lambda lib: lib.distributions.VonMises(lib.tensor([0.0]), lib.tensor([-1.0])),
    lambda lib: lib.distributions.Pareto(1.0, 2.0).log_prob(lib.tensor([0.5])),
    lambda lib: lib.distributions.LogNormal(0.0, 1.0).log_prob(lib.tensor([-0.5])),
    lambda lib: lib.distributions.MixtureSameFamily(lib.distributions.Categorical(
        lib.ones(3)), lib.distributions.Normal(lib.zeros(2), 1.0)),
    lambda lib: lib.distributions.MixtureSameFamily(
        lib.distributions.Normal(0.0, 1.0), lib.distributions.Normal(lib.zeros(2), 1.0)),
    lambda lib: lib.distributions.TransformedDistribution(lib.distributions.Normal(0.0, 1.0),
                                                          "exp"),
    lambda lib: lib.distributions.TransformedDistribution(
        lib.distributions.Normal(0.0, 1.0),
        [lib.distributions.transforms.StickBreakingTransform()]),
    lambda lib: lib.distributions.Binomial(lib.tensor([2.0, 3.0]), lib.tensor([0.5, 0.5])
                                           ).enumerate_support(),
    lambda lib: lib.distributions.ContinuousBernoulli(lib.tensor([1.5]), validate_args=True),
    lambda lib: lib.distributions.LKJCholesky(1),
    lambda lib: lib.distributions.Wishart(lib.tensor(1.0), lib.eye(3)),
    lambda lib: lib.distributions.Wishart(4.0, lib.eye(3), scale_tril=lib.eye(3)),
    lambda lib: lib.distributions.Wishart(4.0, lib.ones(3)),
    lambda lib: lib.distributions.Wishart(4.0, lib.eye(2)).log_prob(lib.tensor(
        [[1.0, 2.0], [2.0, 1.0]])),
    lambda lib: lib.distributions.GeneralizedPareto(0.0, -1.0, 0.5),
    lambda lib: lib.distributions.InverseGamma(lib.tensor([1.0]), lib.tensor([0.0])),
    lambda lib: lib.distributions.Gamma(1.0, 1.0).log_prob(0.5 if lib is torch else None),
]


@pytest.mark.parametrize("index", range(len(ERRORS)))
def test_errors_match_torch(index):
    fn = ERRORS[index]
    if index == len(ERRORS) - 1:  # numbers are accepted by Gamma.log_prob (as_tensor)
        assert ember.distributions.Gamma(1.0, 1.0).log_prob(0.5).item() == pytest.approx(-0.5)
        return
    ours, theirs = check_raises(fn)
    assert str(ours) == str(theirs)


def test_ambiguous_registration_warns_as_torch():
    for lib in (ember, torch):
        class P(lib.distributions.Normal):
            pass

        class Q(lib.distributions.Normal):
            pass

        lib.distributions.register_kl(P, lib.distributions.Normal)(lambda p, q: 1)
        lib.distributions.register_kl(lib.distributions.Normal, Q)(lambda p, q: 2)
        with pytest.warns(RuntimeWarning, match="Ambiguous kl_divergence\\(P, Q\\). "
                                                 "Please register_kl\\(P, Q\\)"):
            assert lib.distributions.kl_divergence(P(0.0, 1.0), Q(0.0, 1.0)) == 1


def test_kl_zero_mass_and_support_edges_match_torch():
    """A zero probability in p contributes 0, one only in q makes KL infinite; a
    uniform p reaching outside q is infinite; Independents must move the same dims."""
    p_probs = np.array([[0.0, 0.4, 0.6], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]], np.float32)
    q_probs = np.array([[0.3, 0.0, 0.7], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5]], np.float32)
    coin_p, coin_q = np.array([0.0, 1.0, 0.3, 0.0], np.float32), np.array(
        [0.5, 1.0, 0.0, 0.0], np.float32)
    cases = [
        lambda d, t: d.kl_divergence(d.Categorical(t(p_probs)), d.Categorical(t(q_probs))),
        lambda d, t: d.kl_divergence(d.Bernoulli(t(coin_p)), d.Bernoulli(t(coin_q))),
        lambda d, t: d.kl_divergence(d.Uniform(t([0.0, 0.0, -1.0]), t([1.0, 2.0, 1.0])),
                                     d.Uniform(t([0.0, 0.5, -2.0]), t([2.0, 2.0, 2.0]))),
    ]
    for case in cases:
        got = case(ember.distributions, lambda v: ember.tensor(np.asarray(v, np.float32)))
        want = case(torch.distributions, lambda v: torch.tensor(np.asarray(v, np.float32)))
        np.testing.assert_allclose(as_numpy(got), want.numpy(), rtol=1.3e-6, atol=1e-5)
    for lib in (ember, torch):
        d = lib.distributions
        base = d.Normal(lib.zeros(2, 3), 1.0)
        with pytest.raises(NotImplementedError):
            d.kl_divergence(d.Independent(base, 1), d.Independent(base, 2))
