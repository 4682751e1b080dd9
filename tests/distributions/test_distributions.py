"""ember.distributions against torch.distributions: densities, moments, entropies, KL
divergences and their gradients; sample shapes, dtypes and ranges; reprs and the
validation errors with PyTorch's messages."""

import numpy as np
import oracle
import pytest
import torch
from oracle import as_numpy, check, check_raises, rand, randn

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


def _positive(*shape):
    return rand(*shape, low=0.5, high=2.0)


def _probs(*shape):
    p = rand(*shape, low=0.1, high=1.0)
    return p / p.sum(-1, keepdims=True)


# (name, build(lib, *params), params): every query below runs on each row.
DISTRIBUTIONS = [
    ("normal", lambda lib, loc, scale: lib.distributions.Normal(loc, scale),
     [randn(3, 4), _positive(3, 4)]),
    ("normal_broadcast", lambda lib, loc, scale: lib.distributions.Normal(loc, scale),
     [randn(3, 1), _positive(4)]),
    ("uniform", lambda lib, low, width: lib.distributions.Uniform(low, low + width),
     [randn(5), _positive(5)]),
    ("categorical_probs", lambda lib, p: lib.distributions.Categorical(probs=p),
     [_probs(2, 3, 5)]),
    ("categorical_logits", lambda lib, logits: lib.distributions.Categorical(logits=logits),
     [randn(4, 6)]),
    ("bernoulli_probs", lambda lib, p: lib.distributions.Bernoulli(probs=p),
     [rand(6, low=0.05, high=0.95)]),
    ("bernoulli_logits", lambda lib, logits: lib.distributions.Bernoulli(logits=logits),
     [randn(2, 3)]),
    ("independent_normal", lambda lib, loc, scale: lib.distributions.Independent(
        lib.distributions.Normal(loc, scale), 1), [randn(3, 4), _positive(3, 4)]),
]

VALUES = {  # a value in each support, shaped sample_shape + batch + event
    "normal": randn(2, 3, 4), "normal_broadcast": randn(3, 4),
    "uniform": None,  # built from the parameters below
    "categorical_probs": np.array([[[0, 4, 2], [1, 1, 3]]]),
    "categorical_logits": np.array([5, 0, 3, 1]),
    "bernoulli_probs": np.array([0, 1, 1, 0, 1, 0], dtype=np.float32),
    "bernoulli_logits": np.array([[1, 0, 1], [0, 0, 1]], dtype=np.float32),
    "independent_normal": randn(3, 4),
}


def _value(name, lib, params):
    if name == "uniform":
        low, width = params
        return low + 0.3 * width
    return lib.tensor(VALUES[name])


@pytest.mark.parametrize("name, build, params", DISTRIBUTIONS, ids=[d[0] for d in DISTRIBUTIONS])
def test_log_prob_and_gradients(name, build, params):
    check(lambda lib, *p: build(lib, *p).log_prob(_value(name, lib, p).detach()), *params)


@pytest.mark.parametrize("name, build, params", DISTRIBUTIONS, ids=[d[0] for d in DISTRIBUTIONS])
def test_entropy_and_moments(name, build, params):
    check(lambda lib, *p: build(lib, *p).entropy(), *params)
    check(lambda lib, *p: (build(lib, *p).mean, build(lib, *p).variance), *params)


@pytest.mark.parametrize("name, build, params", DISTRIBUTIONS, ids=[d[0] for d in DISTRIBUTIONS])
def test_shapes_and_repr(name, build, params):
    e = build(ember, *[ember.tensor(p) for p in params])
    t = build(torch, *[torch.tensor(p) for p in params])
    assert (e.batch_shape, e.event_shape) == (t.batch_shape, t.event_shape)
    assert repr(e) == repr(t)
    assert repr(e.support) == repr(t.support)
    for shape in [(), (2,), (3, 2)]:
        e_sample, t_sample = e.sample(shape), t.sample(shape)
        assert e_sample.shape == t_sample.shape and str(e_sample.dtype) == str(t_sample.dtype)
        assert not e_sample.requires_grad
        assert bool(e.support.check(e_sample).all())


@pytest.mark.parametrize("name", ["normal", "uniform"])
def test_rsample_carries_gradients_to_the_parameters(name):
    loc = ember.tensor([0.5, -1.0], requires_grad=True)
    scale = ember.tensor([2.0, 0.5], requires_grad=True)
    if name == "normal":
        dist = ember.distributions.Normal(loc, scale)
    else:
        dist = ember.distributions.Uniform(loc, loc + scale)
    draws = dist.rsample((20000,))
    assert draws.requires_grad and draws.shape == (20000, 2)
    draws.mean(0).sum().backward()
    if name == "normal":
        np.testing.assert_allclose(as_numpy(loc.grad), [1.0, 1.0], rtol=1e-3)
        np.testing.assert_allclose(as_numpy(draws.mean(0).detach()), [0.5, -1.0], atol=0.05)
        np.testing.assert_allclose(as_numpy(draws.std(0).detach()), [2.0, 0.5], rtol=0.05)
    else:
        np.testing.assert_allclose(as_numpy(scale.grad), [0.5, 0.5], atol=0.02)
        assert bool(((draws >= loc) & (draws < loc + scale)).all())


def test_categorical_samples_follow_the_probabilities():
    ember.manual_seed(0)
    probs = ember.tensor([0.1, 0.6, 0.3])
    draws = ember.distributions.Categorical(probs * 5).sample((20000,))
    assert draws.dtype == ember.int64
    np.testing.assert_allclose(np.bincount(as_numpy(draws), minlength=3) / 20000,
                               [0.1, 0.6, 0.3], atol=0.02)
    coins = ember.distributions.Bernoulli(ember.tensor([0.2, 0.9])).sample((20000,))
    np.testing.assert_allclose(as_numpy(coins.mean(0)), [0.2, 0.9], atol=0.02)


@pytest.mark.parametrize("build", [
    lambda lib, x: lib.distributions.Normal(x, 1.5).cdf(x + 0.3),
    lambda lib, x: lib.distributions.Normal(x, 1.5).icdf(lib.sigmoid(x)),
    lambda lib, x: lib.distributions.Uniform(x - 1, x + 1).cdf(x + 0.5),
    lambda lib, x: lib.distributions.Uniform(x - 1, x + 1).icdf(lib.sigmoid(x)),
    lambda lib, x: lib.distributions.Categorical(logits=x).enumerate_support(),
    lambda lib, x: lib.distributions.Bernoulli(logits=x).enumerate_support(expand=False),
    lambda lib, x: lib.distributions.Categorical(logits=x).probs,
    lambda lib, x: lib.distributions.Bernoulli(logits=x).probs,
    lambda lib, x: lib.distributions.Bernoulli(probs=lib.sigmoid(x)).logits,
    lambda lib, x: lib.distributions.Normal(x, 2.0).expand((3, 2, 4)).log_prob(x),
    lambda lib, x: lib.distributions.Categorical(logits=x).expand((5, 2)).entropy(),
    lambda lib, x: lib.distributions.Normal(x, 2.0).perplexity(),
    lambda lib, x: lib.distributions.Categorical(logits=x).mode,
], ids=["normal_cdf", "normal_icdf", "uniform_cdf", "uniform_icdf", "categorical_support",
        "bernoulli_support", "logits_to_probs", "binary_logits_to_probs", "probs_to_logits",
        "expand_normal", "expand_categorical", "perplexity", "mode"])
def test_other_queries(build):
    check(build, randn(2, 4))


KL_PAIRS = [
    ("normal", lambda lib, a, b, c, d: (lib.distributions.Normal(a, lib.exp(b)),
                                        lib.distributions.Normal(c, lib.exp(d)))),
    ("categorical", lambda lib, a, b, c, d: (lib.distributions.Categorical(logits=a),
                                             lib.distributions.Categorical(logits=c))),
    ("bernoulli", lambda lib, a, b, c, d: (lib.distributions.Bernoulli(logits=a),
                                           lib.distributions.Bernoulli(logits=c))),
    ("uniform", lambda lib, a, b, c, d: (lib.distributions.Uniform(a, a + lib.exp(b)),
                                         lib.distributions.Uniform(a - 1, a + lib.exp(b) + 1))),
    ("independent", lambda lib, a, b, c, d: (
        lib.distributions.Independent(lib.distributions.Normal(a, lib.exp(b)), 1),
        lib.distributions.Independent(lib.distributions.Normal(c, lib.exp(d)), 1))),
]


@pytest.mark.parametrize("name, build", KL_PAIRS, ids=[k[0] for k in KL_PAIRS])
def test_kl_divergence(name, build):
    check(lambda lib, *x: lib.distributions.kl_divergence(*build(lib, *x)),
          *[randn(3, 4) for _ in range(4)])


def test_kl_edge_cases_and_registration():
    check(lambda lib, p, q: lib.distributions.kl_divergence(
        lib.distributions.Categorical(p), lib.distributions.Categorical(q)),
        np.array([0.5, 0.5, 0.0], dtype=np.float32), np.array([0.0, 0.5, 0.5], dtype=np.float32),
        grad=False)
    check(lambda lib, a: lib.distributions.kl_divergence(
        lib.distributions.Uniform(a, a + 2), lib.distributions.Uniform(a + 1, a + 2)),
        randn(3), grad=False)

    class Shifted(ember.distributions.Normal):
        pass

    @ember.distributions.register_kl(Shifted, ember.distributions.Normal)
    def _kl_shifted(p, q):
        return ember.zeros(p.batch_shape)

    # the most specific registration wins over the inherited Normal-Normal one
    assert ember.distributions.kl_divergence(Shifted(1.0, 1.0), ember.distributions.Normal(
        0.0, 1.0)).item() == 0.0


@pytest.mark.parametrize("fn", [
    lambda lib: lib.distributions.Normal(lib.tensor([1.0, 2.0]), lib.tensor([1.0, -1.0])),
    lambda lib: lib.distributions.Categorical(),
    lambda lib: lib.distributions.Categorical(lib.tensor([0.5, 0.5]), lib.zeros(2)),
    lambda lib: lib.distributions.Categorical(lib.tensor(0.5)),
    lambda lib: lib.distributions.Categorical(lib.tensor([0.2, 0.8])).log_prob(
        lib.tensor([0, 1, 5])),
    lambda lib: lib.distributions.Normal(0.0, 1.0).log_prob(0.5),
    lambda lib: lib.distributions.Bernoulli(lib.tensor([1.5])),
    lambda lib: lib.distributions.Bernoulli(0.3).log_prob(lib.tensor(0.5)),
    lambda lib: lib.distributions.Uniform(1.0, 0.0),
    lambda lib: lib.distributions.Normal(lib.zeros(3), 1.0).log_prob(lib.zeros(2)),
    lambda lib: lib.distributions.Independent(lib.distributions.Normal(lib.zeros(3), 1.0),
                                              1).log_prob(lib.zeros(2)),
    lambda lib: lib.distributions.kl_divergence(
        lib.distributions.Normal(0.0, 1.0), lib.distributions.Categorical(lib.ones(2))),
    lambda lib: lib.distributions.Independent(lib.distributions.Normal(0.0, 1.0), 1),
], ids=["negative_scale", "neither", "both", "scalar_probs", "outside_support",
        "not_a_tensor", "probs_above_one", "bernoulli_non_binary", "empty_uniform",
        "not_broadcastable", "event_shape", "kl_missing", "too_many_dims"])
def test_errors_match_torch(fn):
    ours, theirs = check_raises(fn)
    assert str(ours) == str(theirs)


def test_validation_can_be_turned_off():
    dist = ember.distributions.Normal(ember.tensor([0.0]), ember.tensor([-1.0]),
                                      validate_args=False)
    assert dist.scale.item() == -1.0
    ember.distributions.Distribution.set_default_validate_args(False)
    try:
        # without validation the value goes straight to gather, as in PyTorch
        with pytest.raises(RuntimeError, match="out of bounds"):
            ember.distributions.Categorical(ember.tensor([0.5, 0.5])).log_prob(
                ember.tensor([7]))
    finally:
        ember.distributions.Distribution.set_default_validate_args(True)
    assert ember.distributions.Distribution._validate_args is True


def test_policy_gradient_pattern():
    """REINFORCE: -log_prob(sampled action) * return, backpropagated to the logits."""
    for lib in (ember, torch):
        logits = lib.tensor([[0.2, -0.1, 0.4], [1.0, 0.0, -1.0]], requires_grad=True)
        dist = lib.distributions.Categorical(logits=logits)
        loss = (-dist.log_prob(lib.tensor([2, 0])) * lib.tensor([1.5, -0.5])).sum()
        loss.backward()
        if lib is ember:
            ours = as_numpy(logits.grad)
        else:
            np.testing.assert_allclose(ours, as_numpy(logits.grad), rtol=1e-6, atol=1e-7)


def test_reachable_as_attribute_and_submodules():
    from ember.distributions import categorical
    from ember.distributions.normal import Normal

    assert ember.distributions.Normal is Normal
    assert categorical.Categorical is ember.distributions.Categorical
    assert ember.distributions.constraints.positive.check(ember.tensor(2.0)).item()
