"""Audit of issue 3's losses, nn.init and nn.utils items against PyTorch 2.13: option
combinations and argument checks that tests/nn/test_loss.py, test_init.py and
test_utils.py do not cover."""

from __future__ import annotations

import math
import os
import sys
import warnings

import numpy as np
import pytest
import torch
from scipy import stats

sys.path.insert(0, os.path.dirname(__file__))
from module_oracle import check_module
from oracle import RNG, assert_same, check, check_raises, rand, randn

import ember


def F(lib):
    return lib.nn.functional


def labels(*shape, classes=5, ignore=None):
    t = RNG.integers(0, classes, shape).astype(np.int64)
    if ignore is not None:
        t.reshape(-1)[::3] = ignore
    return t


def probs(*shape, axis=1):
    p = rand(*shape, low=0.1, high=1.0)
    return (p / p.sum(axis=axis, keepdims=True)).astype(np.float32)


def signs(*shape):
    return np.where(RNG.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------------
# Losses: option combinations, every reduction
# ---------------------------------------------------------------------------

LOSSES = {
    "bce_logits_pos_weight_kdim": (
        lambda lib, a, b, p, r: F(lib).binary_cross_entropy_with_logits(
            a, b, pos_weight=p.detach(), reduction=r),
        (randn(2, 3, 4, 4), rand(2, 3, 4, 4), rand(3, 1, 1, low=0.5, high=2))),
    "bce_logits_weight_broadcast": (
        lambda lib, a, b, w, r: F(lib).binary_cross_entropy_with_logits(
            a, b, weight=w.detach(), reduction=r), (randn(2, 3, 4), rand(2, 3, 4), rand(4))),
    "ce_all_ignored_kdim": (
        lambda lib, a, t, r: F(lib).cross_entropy(a, t, ignore_index=0, reduction=r),
        (randn(2, 5, 3), np.zeros((2, 3), np.int64))),
    "ce_smoothing_ignore_kdim": (
        lambda lib, a, t, r: F(lib).cross_entropy(a, t, ignore_index=2, label_smoothing=0.3,
                                                  reduction=r),
        (randn(2, 5, 3, 2), labels(2, 3, 2, ignore=2))),
    "ce_probs_negative_ignore_index": (
        lambda lib, a, t, r: F(lib).cross_entropy(a, t.detach(), ignore_index=-5, reduction=r),
        (randn(6, 5), probs(6, 5))),
    "ce_float64_smoothing": (
        lambda lib, a, t, r: F(lib).cross_entropy(a, t, reduction=r, label_smoothing=0.05),
        (randn(6, 5, dtype=np.float64), labels(6))),
    "kl_div_batchmean_log_target": (
        lambda lib, a, b, r: F(lib).kl_div(a, b, reduction="batchmean" if r == "mean" else r,
                                           log_target=True),
        (np.log(probs(4, 3)), np.log(probs(4, 3)))),
    "poisson_eps_no_log": (
        lambda lib, a, b, r: F(lib).poisson_nll_loss(a, b, log_input=False, eps=0.5,
                                                     reduction=r),
        (rand(4, 3, low=0.0, high=2), rand(4, 3, high=4))),
    "gaussian_broadcast_var": (
        lambda lib, a, b, v, r: F(lib).gaussian_nll_loss(a, b, v, reduction=r),
        (randn(4, 3, 2), randn(4, 3, 2), rand(4, 3, 1, low=0.1))),
    "hinge_default_margin": (
        lambda lib, a, y, r: F(lib).hinge_embedding_loss(a, y.detach(), reduction=r),
        (randn(4, 3), signs(4, 3))),
    "margin_ranking_2d": (
        lambda lib, a, b, y, r: F(lib).margin_ranking_loss(a, b, y.detach(), reduction=r),
        (randn(4, 3), randn(4, 3), signs(4, 3))),
    "triplet_eps": (
        lambda lib, a, p, n, r: F(lib).triplet_margin_loss(a, p, n, eps=0.1, reduction=r),
        (randn(5, 4), randn(5, 4), randn(5, 4))),
    "triplet_unbatched": (
        lambda lib, a, p, n, r: F(lib).triplet_margin_loss(a, p, n, reduction=r),
        (randn(4), randn(4), randn(4))),
    "cosine_embedding_negative_margin": (
        lambda lib, a, b, y, r: F(lib).cosine_embedding_loss(a, b, y.detach(), margin=-0.5,
                                                             reduction=r),
        (randn(5, 4), randn(5, 4), signs(5))),
    "nll_default_ignore_kdim": (
        lambda lib, a, t, r: F(lib).nll_loss(a, t, reduction=r),
        (randn(2, 5, 3), labels(2, 3, ignore=-100))),
    "smooth_l1_large_beta_float64": (
        lambda lib, a, b, r: F(lib).smooth_l1_loss(a, b, beta=5.0, reduction=r),
        (randn(4, 3, dtype=np.float64), randn(4, 3, dtype=np.float64))),
    "l1_mixed_dtypes": (
        lambda lib, a, b, r: F(lib).l1_loss(a, b.detach(), reduction=r),
        (randn(4, 3), randn(4, 3, dtype=np.float64))),
    "multi_margin_margin2": (
        lambda lib, a, t, r: F(lib).multi_margin_loss(a, t, margin=2.0, reduction=r),
        (randn(4, 5), labels(4))),
}


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_options(name, reduction):
    fn, inputs = LOSSES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda lib, *xs: fn(lib, *xs, reduction), *inputs, rtol=1e-5, atol=1e-5)


def test_ce_probability_target_refuses_ignore_index():
    check_raises(lambda lib, a, t: F(lib).cross_entropy(a, t, ignore_index=1),
                 randn(3, 4), probs(3, 4),
                 match="ignore_index is not supported for floating point target")
    check_raises(lambda lib, a, t: lib.nn.CrossEntropyLoss(ignore_index=0)(a, t),
                 randn(3, 4), probs(3, 4),
                 match="ignore_index is not supported for floating point target")


def test_cross_entropy_is_one_fused_node():
    """log_softmax and nll in one Function: the graph has a single node above the input."""
    x = ember.zeros(3, 4, requires_grad=True)
    loss = F(ember).cross_entropy(x * 1, ember.tensor([0, 1, 2]), label_smoothing=0.1)
    assert loss.grad_fn.next_functions[0][0].name() == "MulBackward0"
    big = ember.tensor([[1e4, -1e4, 0.0]], requires_grad=True)
    value = F(ember).cross_entropy(big, ember.tensor([1]))
    assert math.isfinite(float(value)) and abs(float(value) - 2e4) < 1


@pytest.mark.parametrize("spec,inputs", [
    ("CrossEntropyLoss(reduction='none', label_smoothing=0.2)", (randn(2, 5, 3), labels(2, 3))),
    ("CrossEntropyLoss(reduction='sum')", (randn(6, 5), probs(6, 5))),
    ("NLLLoss(ignore_index=1, reduction='none')", (randn(2, 5, 3), labels(2, 3))),
    ("BCEWithLogitsLoss(weight=lib.ones(3) * 2, pos_weight=lib.ones(3) * 3, reduction='sum')",
     (randn(4, 3), rand(4, 3))),
    ("KLDivLoss(reduction='sum')", (np.log(probs(4, 3)), probs(4, 3))),
    ("PoissonNLLLoss(log_input=False, eps=0.1, reduction='none')",
     (rand(4, 3, low=0.1), rand(4, 3, high=4))),
    ("GaussianNLLLoss(eps=0.5, reduction='sum')", (randn(4, 3), randn(4, 3), rand(4, 3))),
    (("TripletMarginWithDistanceLoss(distance_function=lib.nn.PairwiseDistance(p=1), "
      "margin=0.5, reduction='none')"), (randn(5, 4), randn(5, 4), randn(5, 4))),
    ("MultiMarginLoss(p=1, margin=0.5, reduction='sum')", (randn(4, 5), labels(4))),
    ("SmoothL1Loss(beta=0.0, reduction='none')", (randn(4, 3), randn(4, 3))),
    ("HuberLoss(delta=2.0, reduction='sum')", (randn(4, 3), randn(4, 3))),
])
def test_loss_module_options(spec, inputs):
    t_mod = eval("torch.nn." + spec, {"torch": torch, "lib": torch})
    e_mod = eval("ember.nn." + spec, {"ember": ember, "lib": ember})
    assert repr(e_mod) == repr(t_mod)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())

    def fn(lib, *xs):
        module = (e_mod if lib is ember else t_mod).to(xs[0].device)  # pytest --device
        if "Gaussian" not in spec and "Triplet" not in spec and xs[-1].is_floating_point():
            xs = xs[:-1] + (xs[-1].detach(),)
        return module(*xs)

    check(fn, *inputs, rtol=1e-5, atol=2e-5)


# ---------------------------------------------------------------------------
# nn.init: every random initialiser honours generator= like PyTorch's, same distribution
# ---------------------------------------------------------------------------

INITS = [
    ("uniform_", {"a": -0.3, "b": 0.7}), ("normal_", {"mean": 0.5, "std": 2.0}),
    ("xavier_uniform_", {"gain": 1.5}), ("xavier_normal_", {}),
    ("kaiming_uniform_", {"a": 0.2, "mode": "fan_out", "nonlinearity": "leaky_relu"}),
    ("kaiming_normal_", {"mode": "fan_in", "nonlinearity": "relu"}),
    ("trunc_normal_", {"mean": 0.1, "std": 0.5, "a": -0.5, "b": 1.0}),
    ("orthogonal_", {"gain": 2.0}), ("sparse_", {"sparsity": 0.3, "std": 0.1}),
]


@pytest.mark.parametrize("name,kwargs", INITS, ids=[i[0] for i in INITS])
def test_init_generator_reproducible_and_global_stream_untouched(name, kwargs):
    fn = getattr(ember.nn.init, name)
    a, b, c = ember.empty(60, 50), ember.empty(60, 50), ember.empty(60, 50)
    ember.manual_seed(5)
    fn(a, generator=ember.Generator().manual_seed(1), **kwargs)
    after = float(ember.rand(1))
    ember.manual_seed(5)
    fn(b, generator=ember.Generator().manual_seed(1), **kwargs)
    fn(c, generator=ember.Generator().manual_seed(2), **kwargs)
    ember.manual_seed(5)
    assert float(ember.rand(1)) == after, "generator= must leave the global stream alone"
    assert np.array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy())
    # the same distribution as torch's (two-sample KS on the values)
    t = torch.empty(60, 50)
    getattr(torch.nn.init, name)(t, generator=torch.Generator().manual_seed(1), **kwargs)
    if name == "orthogonal_":
        np.testing.assert_allclose(a.numpy().T @ a.numpy(), 4.0 * np.eye(50), atol=1e-4)
    else:
        assert stats.ks_2samp(a.numpy().ravel(), t.numpy().ravel()).pvalue > 1e-4


@pytest.mark.parametrize("nonlinearity,param", [
    ("linear", None), ("conv1d", None), ("conv_transpose3d", None), ("sigmoid", None),
    ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.3),
    ("leaky_relu", 2), ("selu", None)])
def test_calculate_gain_every_nonlinearity(nonlinearity, param):
    assert ember.nn.init.calculate_gain(nonlinearity, param) == \
        torch.nn.init.calculate_gain(nonlinearity, param)


def test_init_functions_return_their_tensor_and_record_no_graph():
    p = ember.nn.Parameter(ember.empty(4, 3, 3))
    for name, kwargs in INITS[:-1] + [("constant_", {"val": 2.0}), ("ones_", {}),
                                      ("zeros_", {}), ("dirac_", {})]:
        assert getattr(ember.nn.init, name)(p, **kwargs) is p, name
        assert p.grad_fn is None and p.requires_grad


# ---------------------------------------------------------------------------
# nn.utils: clip_grad_norm_ / clip_grad_value_ with foreach, every norm_type; conv norms
# ---------------------------------------------------------------------------

GRADS = [randn(3, 4), randn(5), randn(2, 2, 2)]


def _params(lib, grads):
    params = []
    for g in grads:
        p = lib.nn.Parameter(lib.zeros(*g.shape, dtype=getattr(lib, str(g.dtype))))
        p.grad = lib.tensor(g)
        params.append(p)
    return params


@pytest.mark.parametrize("foreach", [None, True, False])
@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, -math.inf, 0.0, 3])
def test_clip_grad_norm_foreach_and_norm_types(foreach, norm_type):
    t_params, e_params = _params(torch, GRADS), _params(ember, GRADS)
    t_norm = torch.nn.utils.clip_grad_norm_(t_params, 0.5, norm_type, foreach=foreach)
    e_norm = ember.nn.utils.clip_grad_norm_(e_params, 0.5, norm_type, foreach=foreach)
    assert_same(e_norm, t_norm, 1e-5, 1e-7)
    for e, t in zip(e_params, t_params):
        assert_same(e.grad, t.grad, 1e-5, 1e-7)


@pytest.mark.parametrize("foreach", [None, True, False])
def test_clip_grad_value_foreach(foreach):
    t_params, e_params = _params(torch, GRADS), _params(ember, GRADS)
    torch.nn.utils.clip_grad_value_(t_params, 0.3, foreach=foreach)
    ember.nn.utils.clip_grad_value_(e_params, 0.3, foreach=foreach)
    for e, t in zip(e_params, t_params):
        assert_same(e.grad, t.grad)


def test_clip_grad_norm_nan_mixed_dtypes_and_split_helpers():
    nan = [np.array([1.0, np.nan], np.float32)]
    t_params, e_params = _params(torch, nan), _params(ember, nan)
    assert_same(ember.nn.utils.clip_grad_norm_(e_params, 1.0),
                torch.nn.utils.clip_grad_norm_(t_params, 1.0))
    assert_same(e_params[0].grad, t_params[0].grad)
    mixed = [randn(3, dtype=np.float64), randn(2)]
    t_params, e_params = _params(torch, mixed), _params(ember, mixed)
    assert_same(ember.nn.utils.clip_grad_norm_(e_params, 0.1),
                torch.nn.utils.clip_grad_norm_(t_params, 0.1))
    for e, t in zip(e_params, t_params):
        assert_same(e.grad, t.grad)
    t_params, e_params = _params(torch, GRADS), _params(ember, GRADS)
    assert_same(ember.nn.utils.get_total_norm([p.grad for p in e_params], 3.0),
                torch.nn.utils.get_total_norm([p.grad for p in t_params], 3.0))
    ember.nn.utils.clip_grads_with_norm_(e_params, 0.2, ember.tensor(5.0))
    torch.nn.utils.clip_grads_with_norm_(t_params, 0.2, torch.tensor(5.0))
    for e, t in zip(e_params, t_params):
        assert_same(e.grad, t.grad)


P = "nn.utils.parametrizations."
NORMED = [
    (P + "spectral_norm(lib.nn.Conv2d(3, 4, 3))", (2, 3, 5, 5)),
    (P + "spectral_norm(lib.nn.ConvTranspose2d(3, 4, 3))", (2, 3, 5, 5)),
    (P + "weight_norm(lib.nn.Conv2d(3, 4, 3))", (2, 3, 5, 5)),
    (P + "weight_norm(lib.nn.ConvTranspose1d(3, 4, 3), dim=1)", (2, 3, 5)),
    ("nn.utils.spectral_norm(lib.nn.ConvTranspose2d(3, 4, 3))", (2, 3, 5, 5)),
    ("nn.utils.weight_norm(lib.nn.Conv1d(3, 4, 3), dim=None)", (2, 3, 5)),
    (P + "orthogonal(lib.nn.Linear(4, 4))", (3, 4)),
]


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("spec,shape", NORMED, ids=[n[0] for n in NORMED])
def test_weight_and_spectral_norm_on_convs(spec, shape, train):
    e_mod, t_mod, _, _ = check_module(lambda lib: eval("lib." + spec), randn(*shape),
                                      train=train, rtol=1e-4, atol=1e-5)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())


@pytest.mark.parametrize("train", [True, False])
def test_spectral_norm_on_embedding(train):
    e_mod, t_mod, _, _ = check_module(
        lambda lib: lib.nn.utils.parametrizations.spectral_norm(lib.nn.Embedding(5, 4)),
        np.array([1, 2, 4]), train=train, rtol=1e-5, atol=1e-5)
    for key, value in t_mod.state_dict().items():
        assert_same(e_mod.state_dict()[key], value, 1e-5, 1e-6, what=key)
