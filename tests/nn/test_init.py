"""nn.init: exact bounds, fan rules and gains against PyTorch, distributions checked
statistically (ember's random streams are not torch's), errors with torch's text."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember

init = ember.nn.init

GAINS = [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
         ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 1), ("selu", None)]


@pytest.mark.parametrize("nonlinearity,param", GAINS)
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(
        nonlinearity, param)


@pytest.mark.parametrize("shape", [(3, 4), (5, 2, 3), (6, 4, 3, 2), (2, 3, 1, 1, 4)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(ember.empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def _sample(fn, shape=(400, 500), seed=0, **kwargs):
    ember.manual_seed(seed)
    t = ember.empty(*shape)
    out = fn(t, **kwargs)
    assert out is t
    return t.numpy()


def _uniform_check(values, low, high):
    assert values.min() >= low and values.max() <= high
    width = high - low
    assert abs(values.mean() - (low + high) / 2) < 0.01 * width
    assert abs(values.std() - width / math.sqrt(12)) < 0.01 * width


def _normal_check(values, mean, std):
    assert abs(values.mean() - mean) < 0.01 * std + 1e-6
    assert abs(values.std() - std) < 0.01 * std


def test_uniform_and_normal():
    _uniform_check(_sample(init.uniform_, a=-2.0, b=3.0), -2.0, 3.0)
    _uniform_check(_sample(init.uniform_), 0.0, 1.0)
    _normal_check(_sample(init.normal_, mean=1.5, std=0.3), 1.5, 0.3)


@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier(gain):
    fan_in, fan_out = 500, 400
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    bound = std * math.sqrt(3)
    _uniform_check(_sample(init.xavier_uniform_, gain=gain), -bound, bound)
    _normal_check(_sample(init.xavier_normal_, gain=gain), 0.0, std)


KAIMING = [(0, "fan_in", "leaky_relu"), (math.sqrt(5), "fan_in", "leaky_relu"),
           (0, "fan_out", "relu"), (0.1, "fan_in", "tanh")]


@pytest.mark.parametrize("a,mode,nonlinearity", KAIMING)
def test_kaiming(a, mode, nonlinearity):
    fan = 500 if mode == "fan_in" else 400
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    _uniform_check(_sample(init.kaiming_uniform_, a=a, mode=mode, nonlinearity=nonlinearity),
                   -bound, bound)
    _normal_check(_sample(init.kaiming_normal_, a=a, mode=mode, nonlinearity=nonlinearity),
                  0.0, std)


def test_kaiming_conv_fan_uses_receptive_field():
    values = _sample(init.kaiming_uniform_, shape=(64, 16, 3, 3), a=math.sqrt(5))
    bound = 1 / math.sqrt(16 * 9)
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.95 * bound


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.5, 0.2, 0.0, 1.0),
                                          (0.0, 0.02, -0.04, 0.04)])
def test_trunc_normal_bounds_and_moments(mean, std, a, b):
    values = _sample(init.trunc_normal_, mean=mean, std=std, a=a, b=b)
    assert values.min() >= a and values.max() <= b
    from scipy import stats

    dist = stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
    assert abs(values.mean() - dist.mean()) < 0.01 * std
    assert abs(values.std() - dist.std()) < 0.01 * std
    assert stats.kstest(values.ravel()[:20000], dist.cdf).pvalue > 1e-3


def test_constants_eye_dirac_match_torch():
    for fn, args in [(init.constant_, (0.3,)), (init.ones_, ()), (init.zeros_, ())]:
        e, t = ember.empty(3, 4), torch.empty(3, 4)
        fn(e, *args)
        getattr(torch.nn.init, fn.__name__)(t, *args)
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    for shape in [(3, 5), (5, 3)]:
        e, t = ember.empty(*shape), torch.empty(*shape)
        np.testing.assert_array_equal(init.eye_(e).numpy(), torch.nn.init.eye_(t).numpy())
    for shape, groups in [((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((4, 4, 3, 3, 3), 1),
                          ((2, 5, 3, 3), 1)]:
        e, t = ember.empty(*shape), torch.empty(*shape)
        np.testing.assert_array_equal(init.dirac_(e, groups).numpy(),
                                      torch.nn.init.dirac_(t, groups).numpy())


@pytest.mark.parametrize("shape,gain", [((6, 4), 1.0), ((4, 6), 2.0), ((5, 2, 3), 1.0)])
def test_orthogonal(shape, gain):
    values = _sample(init.orthogonal_, shape=shape, gain=gain).reshape(shape[0], -1)
    rows, cols = values.shape
    gram = values @ values.T if rows <= cols else values.T @ values
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(rows, cols)), atol=1e-5)


def test_sparse():
    values = _sample(init.sparse_, shape=(40, 30), sparsity=0.25, std=0.5)
    assert np.all((values == 0).sum(axis=0) >= 10)
    nonzero = values[values != 0]
    assert abs(nonzero.std() - 0.5) < 0.05


def test_generator_and_no_grad_on_parameters():
    p = ember.nn.Parameter(ember.empty(50, 50))
    g = ember.Generator().manual_seed(11)
    init.kaiming_uniform_(p, generator=g)
    first = p.detach().numpy().copy()
    init.normal_(p, generator=ember.Generator().manual_seed(3))
    init.kaiming_uniform_(p, generator=ember.Generator().manual_seed(11))
    np.testing.assert_array_equal(p.detach().numpy(), first)
    assert p.grad_fn is None and p.requires_grad
    init.trunc_normal_(p, generator=g)
    init.xavier_normal_(p, generator=g)
    init.orthogonal_(p, generator=g)
    init.sparse_(p, 0.1, generator=g)
    assert p.grad_fn is None


def test_zero_element_kaiming_warns():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(ember.empty(0, 3))


ERRORS = [
    (lambda lib: lib.nn.init.calculate_gain("swish"), ValueError),
    (lambda lib: lib.nn.init.calculate_gain("leaky_relu", "x"), ValueError),
    (lambda lib: lib.nn.init.xavier_uniform_(lib.empty(3)), ValueError),
    (lambda lib: lib.nn.init.kaiming_normal_(lib.empty(3, 3), mode="fan_avg"), ValueError),
    (lambda lib: lib.nn.init.eye_(lib.empty(3, 3, 3)), ValueError),
    (lambda lib: lib.nn.init.dirac_(lib.empty(3, 3)), ValueError),
    (lambda lib: lib.nn.init.dirac_(lib.empty(3, 3, 3), groups=2), ValueError),
    (lambda lib: lib.nn.init.orthogonal_(lib.empty(3)), ValueError),
    (lambda lib: lib.nn.init.sparse_(lib.empty(3, 3, 3), 0.1), ValueError),
]


@pytest.mark.parametrize("make,exc", ERRORS)
def test_errors_match_torch(make, exc):
    with pytest.raises(exc) as t_info:
        make(torch)
    with pytest.raises(exc) as e_info:
        make(ember)
    assert str(e_info.value) == str(t_info.value)


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.init.calculate_gain("leaky_relu", True),
    lambda lib: lib.nn.init.calculate_gain(["relu"]),
    lambda lib: lib.nn.init.kaiming_uniform_(lib.empty(2, 2), mode="FAN_AVG"),
])
def test_more_gain_and_mode_errors_match_torch(make):
    with pytest.raises(ValueError) as t_info:
        make(torch)
    with pytest.raises(ValueError) as e_info:
        make(ember)
    assert str(e_info.value) == str(t_info.value)


def test_mode_is_case_insensitive_and_picks_the_fan():
    # fan_in = 3 * 2 = 6, fan_out = 4 * 2 = 8: the bound tells which fan was used
    for mode, fan in (("FAN_IN", 6), ("Fan_Out", 8)):
        values = _sample(init.kaiming_uniform_, shape=(4, 3, 2), mode=mode, nonlinearity="relu")
        assert np.abs(values).max() <= math.sqrt(6.0 / fan)


@pytest.mark.parametrize("name", ["uniform", "normal", "constant", "xavier_uniform",
                                  "xavier_normal", "kaiming_uniform", "kaiming_normal",
                                  "orthogonal", "sparse", "eye", "dirac"])
def test_deprecated_aliases_warn_like_torch_and_forward(name):
    args = {"constant": (0.5,), "sparse": (0.2,)}.get(name, ())
    shape = (3, 3, 3) if name == "dirac" else (4, 3)
    with pytest.warns(FutureWarning) as t_rec:
        getattr(torch.nn.init, name)(torch.empty(*shape), *args)
    with pytest.warns(FutureWarning) as e_rec:
        t = ember.empty(*shape)
        out = getattr(init, name)(t, *args)
    assert str(e_rec[0].message) == str(t_rec[0].message)
    assert e_rec[0].filename == __file__          # points at the caller, as torch's
    assert out is t and getattr(init, name).__name__ == name


def test_trunc_normal_far_mean_warns_like_torch():
    with pytest.warns(UserWarning) as t_rec:
        torch.nn.init.trunc_normal_(torch.empty(3), mean=5.0)
    with pytest.warns(UserWarning) as e_rec:
        init.trunc_normal_(ember.empty(3), mean=5.0)
    assert str(e_rec[0].message) == str(t_rec[0].message)
    assert e_rec[0].filename == __file__


def test_zero_element_warning_points_at_caller():
    for fn in (init.kaiming_uniform_, init.kaiming_normal_):
        with pytest.warns(UserWarning) as rec:
            t = ember.empty(0, 3)
            assert fn(t) is t
        assert rec[0].filename == __file__
