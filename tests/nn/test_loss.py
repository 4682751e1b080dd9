"""Loss functions against PyTorch: values, dtypes, gradients, reductions, errors."""

import warnings

import numpy as np
import pytest
import oracle
import torch
from oracle import RNG, as_numpy, check, check_raises, rand, randn

import ember


def F(lib):
    return lib.nn.functional


def labels(*shape, classes=5, ignore=None):
    t = RNG.integers(0, classes, shape).astype(np.int64)
    if ignore is not None:
        t.reshape(-1)[::3] = ignore
    return t


def signs(*shape):
    return np.where(RNG.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


def probs(*shape, axis=1):
    p = rand(*shape, low=0.1, high=1.0)
    return (p / p.sum(axis=axis, keepdims=True)).astype(np.float32)


REDUCTIONS = ["none", "mean", "sum"]

# name -> (fn(lib, *inputs, reduction), inputs)
CASES = {
    "l1": (lambda lib, a, b, r: F(lib).l1_loss(a, b, reduction=r), (randn(4, 3), randn(4, 3))),
    "l1_weight": (lambda lib, a, b, w, r: oracle.l1_loss(lib, a, b, reduction=r, weight=w),
                  (randn(4, 3), randn(4, 3), rand(4, 3))),
    "mse": (lambda lib, a, b, r: F(lib).mse_loss(a, b, reduction=r), (randn(4, 3), randn(4, 3))),
    "mse_weight": (lambda lib, a, b, w, r: F(lib).mse_loss(a, b, reduction=r, weight=w),
                   (randn(4, 3), randn(4, 3), rand(4, 3))),
    "smooth_l1": (lambda lib, a, b, r: F(lib).smooth_l1_loss(a, b, reduction=r),
                  (randn(4, 3), randn(4, 3))),
    "smooth_l1_beta": (lambda lib, a, b, r: F(lib).smooth_l1_loss(a, b, reduction=r, beta=0.3),
                       (randn(4, 3), randn(4, 3))),
    "smooth_l1_beta0": (lambda lib, a, b, r: F(lib).smooth_l1_loss(a, b, reduction=r, beta=0.0),
                        (randn(4, 3), randn(4, 3))),
    "huber": (lambda lib, a, b, r: F(lib).huber_loss(a, b, reduction=r),
              (randn(4, 3), randn(4, 3))),
    "huber_delta": (lambda lib, a, b, r: F(lib).huber_loss(a, b, reduction=r, delta=0.4),
                    (randn(4, 3), randn(4, 3))),
    "huber_weight": (lambda lib, a, b, w, r: F(lib).huber_loss(a, b, reduction=r, weight=w),
                     (randn(4, 3), randn(4, 3), rand(4, 3))),
    "poisson": (lambda lib, a, b, r: F(lib).poisson_nll_loss(a, b, reduction=r),
                (randn(4, 3), rand(4, 3, high=4))),
    "poisson_full": (lambda lib, a, b, r: F(lib).poisson_nll_loss(a, b, full=True, reduction=r),
                     (randn(4, 3), rand(4, 3, high=4))),
    "poisson_no_log": (lambda lib, a, b, r: F(lib).poisson_nll_loss(a, b, log_input=False,
                                                                   reduction=r),
                       (rand(4, 3, low=0.1, high=3), rand(4, 3, high=4))),
    "gaussian": (lambda lib, a, b, v, r: F(lib).gaussian_nll_loss(a, b, v, reduction=r),
                 (randn(4, 3), randn(4, 3), rand(4, 3, low=0.1))),
    "gaussian_full_homo": (lambda lib, a, b, v, r: F(lib).gaussian_nll_loss(
        a, b, v, full=True, reduction=r), (randn(4, 3), randn(4, 3), rand(4, low=0.1))),
    "gaussian_one": (lambda lib, a, b, v, r: F(lib).gaussian_nll_loss(a, b, v, reduction=r),
                     (randn(4, 3), randn(4, 3), rand(4, 1, low=0.1))),
    "gaussian_clamped": (lambda lib, a, b, v, r: F(lib).gaussian_nll_loss(
        a, b, v, eps=0.3, reduction=r), (randn(4, 3), randn(4, 3), rand(4, 3, low=0.1))),
    "gaussian_float_var": (lambda lib, a, b, r: F(lib).gaussian_nll_loss(a, b, 0.7, reduction=r),
                           (randn(4, 3), randn(4, 3))),
    "bce": (lambda lib, a, b, r: F(lib).binary_cross_entropy(a, b, reduction=r),
            (rand(4, 3, low=0.05, high=0.95), rand(4, 3))),
    "bce_weight": (lambda lib, a, b, w, r: F(lib).binary_cross_entropy(a, b, w.detach(),
                                                                       reduction=r),
                   (rand(4, 3, low=0.05, high=0.95), rand(4, 3), rand(3))),
    # inputs exactly 0 and 1: logs clamped at -100, target gradient +-inf as in PyTorch
    "bce_saturated": (lambda lib, a, b, r: F(lib).binary_cross_entropy(a.detach(), b,
                                                                       reduction=r),
                      (np.round(rand(4, 3)), rand(4, 3))),
    "bce_logits": (lambda lib, a, b, r: F(lib).binary_cross_entropy_with_logits(a, b, reduction=r),
                   (randn(4, 3) * 3, rand(4, 3))),
    "bce_logits_large": (lambda lib, a, b, r: F(lib).binary_cross_entropy_with_logits(
        a * 100, b, reduction=r), (randn(4, 3), rand(4, 3))),
    "bce_logits_pos_weight": (lambda lib, a, b, w, p, r: F(lib).binary_cross_entropy_with_logits(
        a, b, weight=w.detach(), pos_weight=p.detach(), reduction=r),
        (randn(4, 3), rand(4, 3), rand(4, 3), rand(3, low=0.5, high=3))),
    "soft_margin": (lambda lib, a, y, r: F(lib).soft_margin_loss(a, y.detach(), reduction=r),
                    (randn(4, 3), signs(4, 3))),
    "multilabel_soft_margin": (lambda lib, a, y, r: F(lib).multilabel_soft_margin_loss(
        a, y, reduction=r), (randn(4, 3), (rand(4, 3) > 0.5).astype(np.float32))),
    "multilabel_soft_margin_w": (lambda lib, a, y, w, r: F(lib).multilabel_soft_margin_loss(
        a, y, weight=w, reduction=r), (randn(4, 3), (rand(4, 3) > 0.5).astype(np.float32),
                                       rand(3))),
    "kl_div": (lambda lib, a, b, r: F(lib).kl_div(a, b, reduction=r),
               (np.log(probs(4, 3)), probs(4, 3))),
    "kl_div_zero_target": (lambda lib, a, b, r: F(lib).kl_div(a, b.detach(), reduction=r),
                           (np.log(probs(4, 3)),
                            np.concatenate([probs(3, 3), np.zeros((1, 3), np.float32)]))),
    "kl_div_log_target": (lambda lib, a, b, r: F(lib).kl_div(a, b, reduction=r, log_target=True),
                          (np.log(probs(4, 3)), np.log(probs(4, 3)))),
    "margin_ranking": (lambda lib, a, b, y, r: F(lib).margin_ranking_loss(a, b, y, 0.2,
                                                                         reduction=r),
                       (randn(6), randn(6), signs(6))),
    "hinge_embedding": (lambda lib, a, y, r: F(lib).hinge_embedding_loss(a, y, 0.7, reduction=r),
                        (randn(4, 3), signs(4, 3))),
    "cosine_embedding": (lambda lib, a, b, y, r: F(lib).cosine_embedding_loss(a, b, y, 0.1,
                                                                             reduction=r),
                         (randn(5, 4), randn(5, 4), signs(5))),
    "cosine_embedding_1d": (lambda lib, a, b, y, r: F(lib).cosine_embedding_loss(a, b, y,
                                                                                reduction=r),
                            (randn(4), randn(4), np.array(-1.0, np.float32))),
    "multi_margin": (lambda lib, a, t, r: F(lib).multi_margin_loss(a, t, reduction=r),
                     (randn(4, 5), labels(4))),
    "multi_margin_p2_w": (lambda lib, a, t, w, r: F(lib).multi_margin_loss(
        a, t, p=2, margin=0.5, weight=w.detach(), reduction=r), (randn(4, 5), labels(4), rand(5))),
    "multi_margin_1d": (lambda lib, a, t, r: F(lib).multi_margin_loss(a, t, reduction=r),
                        (randn(5), np.array(2))),
    "multilabel_margin": (lambda lib, a, t, r: F(lib).multilabel_margin_loss(a, t, reduction=r),
                          (randn(3, 4), np.array([[3, 0, -1, 1], [0, 1, 2, 3], [-1, 1, 2, 0]]))),
    "multilabel_margin_1d": (lambda lib, a, t, r: F(lib).multilabel_margin_loss(
        a, t, reduction=r), (randn(4), np.array([2, 1, -1, 0]))),
    "triplet": (lambda lib, a, p, n, r: F(lib).triplet_margin_loss(a, p, n, reduction=r),
                (randn(5, 4), randn(5, 4), randn(5, 4))),
    "triplet_p1_swap": (lambda lib, a, p, n, r: F(lib).triplet_margin_loss(
        a, p, n, margin=2.0, p=1, swap=True, reduction=r),
        (randn(5, 4), randn(5, 4), randn(5, 4))),
    "triplet_p3": (lambda lib, a, p, n, r: F(lib).triplet_margin_loss(a, p, n, p=3, reduction=r),
                   (randn(5, 4), randn(5, 4), randn(5, 4))),
    "triplet_distance": (lambda lib, a, p, n, r: F(lib).triplet_margin_with_distance_loss(
        a, p, n, reduction=r), (randn(5, 4), randn(5, 4), randn(5, 4))),
    "triplet_distance_fn": (lambda lib, a, p, n, r: F(lib).triplet_margin_with_distance_loss(
        a, p, n, distance_function=lambda x, y: (x - y).abs().sum(-1), margin=3.0, swap=True,
        reduction=r), (randn(5, 4), randn(5, 4), randn(5, 4))),
    # cross entropy and nll
    "ce": (lambda lib, a, t, r: F(lib).cross_entropy(a, t, reduction=r), (randn(6, 5), labels(6))),
    "ce_large_logits": (lambda lib, a, t, r: F(lib).cross_entropy(a * 1000, t, reduction=r),
                        (randn(6, 5), labels(6))),
    "ce_weight_ignore": (lambda lib, a, t, w, r: F(lib).cross_entropy(
        a, t, weight=w.detach(), ignore_index=-100, reduction=r),
        (randn(6, 5), labels(6, ignore=-100), rand(5, low=0.5, high=2.0))),
    "ce_ignore_class": (lambda lib, a, t, r: F(lib).cross_entropy(a, t, ignore_index=2,
                                                                  reduction=r),
                        (randn(6, 5), labels(6, ignore=2))),
    "ce_smoothing": (lambda lib, a, t, r: F(lib).cross_entropy(a, t, label_smoothing=0.2,
                                                               reduction=r),
                     (randn(6, 5), labels(6))),
    "ce_smoothing_weight_ignore": (lambda lib, a, t, w, r: F(lib).cross_entropy(
        a, t, weight=w.detach(), label_smoothing=0.3, reduction=r),
        (randn(6, 5), labels(6, ignore=-100), rand(5, low=0.5, high=2.0))),
    "ce_kdim": (lambda lib, a, t, r: F(lib).cross_entropy(a, t, reduction=r),
                (randn(2, 5, 3, 4), labels(2, 3, 4))),
    "ce_kdim_weight_ignore_smooth": (lambda lib, a, t, w, r: F(lib).cross_entropy(
        a, t, weight=w.detach(), label_smoothing=0.1, reduction=r),
        (randn(2, 5, 3), labels(2, 3, ignore=-100), rand(5, low=0.5))),
    "ce_unbatched": (lambda lib, a, t, r: F(lib).cross_entropy(a, t, reduction=r),
                     (randn(5), np.array(3))),
    "ce_probs": (lambda lib, a, t, r: F(lib).cross_entropy(a, t, reduction=r),
                 (randn(6, 5), probs(6, 5))),
    "ce_probs_weight_smooth": (lambda lib, a, t, w, r: F(lib).cross_entropy(
        a, t, weight=w.detach(), label_smoothing=0.25, reduction=r),
        (randn(6, 5), probs(6, 5), rand(5, low=0.5))),
    "ce_probs_weight_grad": (lambda lib, a, t, w, r: F(lib).cross_entropy(
        a, t, weight=w, label_smoothing=0.1, reduction=r),
        (randn(2, 5, 3), probs(2, 5, 3), rand(5, low=0.5))),
    "ce_probs_kdim": (lambda lib, a, t, r: F(lib).cross_entropy(a, t, reduction=r),
                      (randn(2, 5, 3), probs(2, 5, 3))),
    "ce_probs_unbatched": (lambda lib, a, t, r: F(lib).cross_entropy(a, t, reduction=r),
                           (randn(5), probs(5, axis=0))),
    "ce_byte_target": (lambda lib, a, t, r: F(lib).cross_entropy(a, t, reduction=r),
                       (randn(6, 5), labels(6).astype(np.uint8))),
    "nll": (lambda lib, a, t, r: F(lib).nll_loss(a, t, reduction=r), (randn(6, 5), labels(6))),
    "nll_weight_ignore": (lambda lib, a, t, w, r: F(lib).nll_loss(a, t, weight=w.detach(),
                                                                  reduction=r),
                          (randn(6, 5), labels(6, ignore=-100), rand(5, low=0.5))),
    "nll_kdim": (lambda lib, a, t, w, r: F(lib).nll_loss(a, t, w.detach(), ignore_index=1,
                                                         reduction=r),
                 (randn(2, 5, 3, 2), labels(2, 3, 2, ignore=1), rand(5, low=0.5))),
    "nll_unbatched": (lambda lib, a, t, r: F(lib).nll_loss(a, t, reduction=r),
                      (randn(5), np.array(1))),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(CASES))
def test_loss(name, reduction):
    fn, inputs = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda lib, *xs: fn(lib, *xs, reduction), *inputs, atol=2e-5, grad_atol=3e-5)


def test_weighted_l1_case_keeps_torchs_weight_under_a_device_mode():
    """The oracle's torch side of l1_weight is w * |a - b| under a torch device mode too."""
    fn, (a, b, w) = CASES["l1_weight"]
    with torch.device("cpu"):
        out = fn(torch, torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(w), "none")
    np.testing.assert_allclose(out.numpy(), w * np.abs(a - b), rtol=1e-6)


@pytest.mark.parametrize("name", ["l1", "mse", "smooth_l1", "huber", "poisson", "gaussian",
                                  "bce", "bce_logits_pos_weight", "kl_div", "cosine_embedding",
                                  "multi_margin_p2_w", "multilabel_margin", "triplet",
                                  "ce_smoothing_weight_ignore", "ce_kdim", "ce_probs",
                                  "nll_kdim", "multilabel_soft_margin", "soft_margin"])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_loss_float64(name, reduction):
    fn, inputs = CASES[name]
    inputs = [x.astype(np.float64) if x.dtype == np.float32 else x for x in inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda lib, *xs: fn(lib, *xs, reduction), *inputs)


# Inputs PyTorch refuses to differentiate (class weights): constants in gradcheck.
NOT_DIFFERENTIABLE = {"ce_smoothing_weight_ignore": {2}, "nll_weight_ignore": {2},
                      "bce": {}, "bce_logits_pos_weight": {2, 3}}


@pytest.mark.parametrize("name", ["ce", "ce_smoothing_weight_ignore", "ce_kdim", "ce_probs",
                                  "nll_weight_ignore", "bce", "bce_logits_pos_weight",
                                  "gaussian", "huber", "smooth_l1", "kl_div", "multi_margin",
                                  "triplet", "cosine_embedding", "poisson_full"])
def test_gradcheck(name):
    from ember.autograd.gradcheck import gradcheck, gradgradcheck

    fn, inputs = CASES[name]
    constant = NOT_DIFFERENTIABLE.get(name, ())
    tensors = [ember.tensor(x.astype(np.float64), requires_grad=i not in constant)
               if x.dtype == np.float32 else ember.tensor(x) for i, x in enumerate(inputs)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert gradcheck(lambda *xs: fn(ember, *xs, "mean"), tensors)
        if name.startswith(("ce", "nll")):
            assert gradgradcheck(lambda *xs: fn(ember, *xs, "sum"), tensors)


def test_ce_mean_divides_by_weights_of_kept_targets():
    x = randn(6, 5)
    t = np.array([0, 1, -100, 3, -100, 4])
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32)
    got = F(ember).cross_entropy(ember.tensor(x), ember.tensor(t), ember.tensor(w)).item()
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    keep = t != -100
    expected = -(w[t[keep]] * logp[keep, t[keep]]).sum() / w[t[keep]].sum()
    assert abs(got - expected) < 1e-5


def test_ce_all_ignored_is_nan():
    check(lambda lib, a, t: F(lib).cross_entropy(a, t), randn(3, 4), np.full(3, -100))


ZERO_WEIGHT, NEGATIVE_WEIGHTS = ([0.0, 1, 1, 1], [0, -100, 0]), ([1.0, -1, 1, 1], [0, -100, 1])


@pytest.mark.parametrize("name, extra, case", [
    ("cross_entropy", {}, ZERO_WEIGHT), ("cross_entropy", {}, NEGATIVE_WEIGHTS),
    ("nll_loss", {}, ZERO_WEIGHT), ("nll_loss", {}, NEGATIVE_WEIGHTS),
    ("cross_entropy", {"label_smoothing": 0.2}, ZERO_WEIGHT)])
def test_mean_over_kept_weights_summing_to_zero(name, extra, case):
    """PyTorch divides by the zero total anyway: a nan (0/0) or inf loss and nan/inf
    gradients at the kept targets, while the ignored one keeps a zero gradient (label
    smoothing's two sums are divided apart: 0/0 in either is a nan loss)."""
    weight, target = case

    def loss(lib, a, t):
        return getattr(F(lib), name)(a, t, weight=lib.tensor(weight, device=a.device),
                                     **extra)

    e_out, _ = check(loss, randn(3, 4), np.array(target))
    assert not np.isfinite(as_numpy(e_out))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_zero_classes_with_every_target_ignored(name, reduction):
    """No classes: every target must be ignored (nan mean, zero sum, +0 per sample, an
    empty gradient); any other target is out of bounds."""
    e_out, t_out = check(lambda lib, a, t: getattr(F(lib), name)(a, t, reduction=reduction),
                         np.zeros((3, 0), np.float32), np.full(3, -100))
    if reduction == "none":
        assert not np.signbit(as_numpy(e_out)).any()
    check_raises(lambda lib, a, t: getattr(F(lib), name)(a, t, reduction=reduction),
                 np.zeros((3, 0), np.float32), np.array([0, -100, -100]))


def test_legacy_size_average_and_reduce():
    for size_average, reduce in [(False, None), (None, False), (True, True), (False, True)]:
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            check(lambda lib, a, b: F(lib).mse_loss(a, b, size_average=size_average,
                                                    reduce=reduce), randn(3, 2), randn(3, 2))


def test_size_mismatch_warns():
    with pytest.warns(UserWarning, match="Using a target size"):
        F(ember).mse_loss(ember.tensor(randn(3)), ember.tensor(randn(3, 1)))


def test_kl_div_mean_warns_and_batchmean():
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F(ember).kl_div(ember.tensor(randn(3)), ember.tensor(rand(3)))
    check(lambda lib, a, b: F(lib).kl_div(a, b, reduction="batchmean"),
          np.log(probs(4, 3)), probs(4, 3))


ERRORS = [
    ("ce_float_target_dtype", lambda lib: F(lib).cross_entropy(
        lib.zeros(4, 5), lib.zeros(4)),
     "expected target dtype to be Long or Byte, but got Float"),
    ("ce_int_target_dtype", lambda lib: F(lib).cross_entropy(
        lib.zeros(4, 5), lib.zeros(4, dtype=lib.int32)),
     "expected target dtype to be Long or Byte, but got Int"),
    ("ce_float_target_shape", lambda lib: F(lib).cross_entropy(lib.zeros(4, 5), lib.zeros(4, 3)),
     "0D or 1D target tensor expected, multi-target not supported"),
    ("ce_out_of_bounds", lambda lib: F(lib).cross_entropy(
        lib.zeros(4, 5), lib.tensor([1, 0, 5, 2])), "Target 5 is out of bounds."),
    ("ce_negative_target", lambda lib: F(lib).cross_entropy(
        lib.zeros(4, 5), lib.tensor([1, 0, -3, 2])), "Target -3 is out of bounds."),
    # the bounds are checked in the loss's forward, after the weight's grad refusal
    ("ce_out_of_bounds_weight_grad", lambda lib: F(lib).cross_entropy(
        lib.zeros(4, 5, requires_grad=True), lib.tensor([1, 0, 5, 2]),
        weight=lib.ones(5, requires_grad=True)),
     "The function 'nll_loss_forward' is not differentiable with respect to argument 'weight'"),
    ("ce_out_of_bounds_smoothing", lambda lib: F(lib).cross_entropy(
        lib.zeros(4, 5), lib.tensor([1, 0, 7, 2]), label_smoothing=0.1),
     "Target 7 is out of bounds."),
    ("ce_out_of_bounds_weighted_ignored", lambda lib: F(lib).cross_entropy(
        lib.zeros(4, 5), lib.tensor([1, -100, -2, 2]), weight=lib.ones(5)),
     "Target -2 is out of bounds."),
    ("nll_out_of_bounds_byte", lambda lib: F(lib).nll_loss(
        lib.zeros(4, 5), lib.tensor([1, 0, 9, 2], dtype=lib.uint8)), "Target 9 is out of bounds."),
    ("nll_out_of_bounds_kdim", lambda lib: F(lib).nll_loss(
        lib.zeros(2, 5, 3), lib.tensor([[1, 0, 2], [5, 0, 1]])), "Target 5 is out of bounds."),
    ("ce_no_classes", lambda lib: F(lib).cross_entropy(
        lib.zeros(3, 0), lib.tensor([-100, 0, -100])), "Target 0 is out of bounds."),
    ("ce_batch", lambda lib: F(lib).cross_entropy(lib.zeros(4, 5), lib.tensor([1, 0, 2])),
     r"Expected input batch_size \(4\) to match target batch_size \(3\)."),
    ("ce_kdim_shape", lambda lib: F(lib).nll_loss(lib.zeros(2, 3, 4),
                                                  lib.zeros(2, 5, dtype=lib.int64)),
     r"Expected target size \[2, 4\], got \[2, 5\]"),
    ("ce_weight_size", lambda lib: F(lib).nll_loss(lib.zeros(4, 5), lib.tensor([1, 0, 2, 2]),
                                                   weight=lib.ones(3)),
     "weight tensor should be defined either for all 5 classes"),
    ("ce_smoothing_range", lambda lib: F(lib).cross_entropy(
        lib.zeros(4, 5), lib.tensor([1, 0, 2, 2]), label_smoothing=1.5),
     "label_smoothing must be between 0.0 and 1.0. Got: 1.5"),
    ("ce_reduction", lambda lib: F(lib).cross_entropy(
        lib.zeros(4, 5), lib.tensor([1, 0, 2, 2]), reduction="foo"),
     "foo is not a valid value for reduction"),
    ("bce_range", lambda lib: F(lib).binary_cross_entropy(lib.tensor([1.5]), lib.tensor([1.0])),
     "all elements of input should be between 0 and 1"),
    ("bce_size", lambda lib: F(lib).binary_cross_entropy(lib.zeros(3), lib.zeros(3, 1)),
     "is deprecated. Please ensure they have the same size."),
    ("bce_logits_size", lambda lib: F(lib).binary_cross_entropy_with_logits(
        lib.zeros(3), lib.zeros(3, 1)), r"Target size \(torch.Size\(\[3, 1\]\)\) must be"),
    ("smooth_l1_beta", lambda lib: F(lib).smooth_l1_loss(lib.zeros(3), lib.zeros(3), beta=-1.0),
     "smooth_l1_loss does not support negative values for beta."),
    ("huber_delta", lambda lib: F(lib).huber_loss(lib.zeros(3), lib.zeros(3), delta=0.0),
     "huber_loss does not support non-positive values for delta."),
    ("multi_margin_p", lambda lib: F(lib).multi_margin_loss(lib.zeros(3, 4),
                                                            lib.tensor([0, 1, 2]), p=3),
     "only p == 1 and p == 2 supported"),
    ("gaussian_negative_var", lambda lib: F(lib).gaussian_nll_loss(
        lib.zeros(3), lib.zeros(3), -lib.ones(3)), "var has negative entry"),
    ("gaussian_var_size", lambda lib: F(lib).gaussian_nll_loss(
        lib.zeros(4, 5), lib.zeros(4, 5), lib.ones(3)), "var is of incorrect size"),
    ("triplet_margin", lambda lib: F(lib).triplet_margin_with_distance_loss(
        lib.zeros(2, 3), lib.zeros(2, 3), lib.zeros(2, 3), margin=0.0),
     "margin must be greater than 0, got 0.0"),
    ("ce_weight_grad", lambda lib: F(lib).cross_entropy(
        lib.zeros(4, 5, requires_grad=True), lib.tensor([1, 0, 2, 2]),
        weight=lib.ones(5, requires_grad=True)),
     "The function 'nll_loss_forward' is not differentiable with respect to argument 'weight'"),
    ("bce_weight_grad", lambda lib: F(lib).binary_cross_entropy(
        lib.full((3,), 0.5), lib.zeros(3), weight=lib.ones(3, requires_grad=True)),
     "'binary_cross_entropy' is not differentiable with respect to argument 'weight'"),
    ("bce_logits_pos_weight_grad", lambda lib: F(lib).binary_cross_entropy_with_logits(
        lib.zeros(3), lib.zeros(3), pos_weight=lib.ones(3, requires_grad=True)),
     "'binary_cross_entropy_with_logits' is not differentiable with respect to argument"),
    ("multi_margin_weight_grad", lambda lib: F(lib).multi_margin_loss(
        lib.zeros(2, 3), lib.tensor([0, 1]), weight=lib.ones(3, requires_grad=True)),
     "'multi_margin_loss' is not differentiable with respect to argument 'weight'"),
    ("soft_margin_target_grad", lambda lib: F(lib).soft_margin_loss(
        lib.zeros(3), lib.ones(3, requires_grad=True)),
     "'soft_margin_loss' is not differentiable with respect to argument 'target'"),
    ("triplet_dims", lambda lib: F(lib).triplet_margin_loss(
        lib.zeros(2, 3), lib.zeros(2, 3), lib.zeros(3)), "expected to have the same number"),
]


@pytest.mark.parametrize("name,fn,match", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, fn, match):
    check_raises(fn, match=match)


# ---------------------------------------------------------------------------
# CTC
# ---------------------------------------------------------------------------


def _ctc_inputs(steps=12, batch=4, classes=6, length=5):
    logits = randn(steps, batch, classes, dtype=np.float64)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    targets = RNG.integers(1, classes, (batch, length))
    targets[1, 2] = targets[1, 1]  # a repeated label needs a blank between
    return log_probs, targets


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ctc_padded_targets(reduction, dtype):
    log_probs, targets = _ctc_inputs()
    check(lambda lib, lp, t: F(lib).ctc_loss(lp, t, lib.tensor([12, 10, 7, 12]),
                                             lib.tensor([5, 3, 2, 0]), reduction=reduction),
          log_probs.astype(dtype), targets, atol=1e-4 if dtype == np.float32 else None)


def test_ctc_concatenated_targets_tuple_lengths_and_blank():
    log_probs, targets = _ctc_inputs()
    flat = np.concatenate([targets[0, :4], targets[1, :2], targets[2, :3], targets[3, :1]])
    flat = np.where(flat == 2, 0, flat)  # blank=2: keep label 2 out of the targets
    check(lambda lib, lp, t: F(lib).ctc_loss(lp, t, (12, 11, 9, 12), (4, 2, 3, 1), blank=2,
                                             reduction="sum"), log_probs, flat)


def test_ctc_unbatched():
    log_probs, targets = _ctc_inputs(batch=2)
    check(lambda lib, lp, t: F(lib).ctc_loss(lp, t, lib.tensor(12), lib.tensor(4),
                                             reduction="none"), log_probs[:, 0], targets[0, :4])


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_infeasible(zero_infinity):
    log_probs, targets = _ctc_inputs(steps=3)
    def fn(lib, lp, t):
        return F(lib).ctc_loss(lp, t, [3, 3, 3, 3], [5, 1, 1, 1], reduction="sum",
                               zero_infinity=zero_infinity)

    if zero_infinity:
        check(fn, log_probs, targets)
    else:
        check(fn, log_probs, targets, grad=False)


def test_ctc_module():
    log_probs, targets = _ctc_inputs()
    check(lambda lib, lp, t: lib.nn.CTCLoss(blank=0, reduction="mean")(
        lp, t, lib.tensor([12, 10, 7, 12]), lib.tensor([5, 3, 2, 0])), log_probs, targets)


# ---------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------

LOSS_MODULES = [
    ("L1Loss()", (randn(4, 3), randn(4, 3))),
    ("L1Loss(reduction='sum')", (randn(4, 3), randn(4, 3))),
    ("MSELoss(reduction='none')", (randn(4, 3), randn(4, 3))),
    ("CrossEntropyLoss()", (randn(6, 5), labels(6))),
    ("CrossEntropyLoss(weight=lib.arange(1.0, 6.0), ignore_index=2, label_smoothing=0.1)",
     (randn(6, 5), labels(6, ignore=2))),
    ("NLLLoss(weight=lib.arange(1.0, 6.0), reduction='sum')", (randn(6, 5), labels(6))),
    ("BCELoss(weight=lib.ones(3) * 0.5)", (rand(4, 3, low=0.05, high=0.95), rand(4, 3))),
    ("BCEWithLogitsLoss(pos_weight=lib.tensor([1.0, 2.0, 3.0]))", (randn(4, 3), rand(4, 3))),
    ("KLDivLoss(reduction='batchmean', log_target=True)",
     (np.log(probs(4, 3)), np.log(probs(4, 3)))),
    ("SmoothL1Loss(beta=0.5)", (randn(4, 3), randn(4, 3))),
    ("HuberLoss(delta=0.5)", (randn(4, 3), randn(4, 3))),
    ("PoissonNLLLoss(full=True)", (randn(4, 3), rand(4, 3, high=4))),
    ("GaussianNLLLoss(full=True)", (randn(4, 3), randn(4, 3), rand(4, 3, low=0.1))),
    ("CosineEmbeddingLoss(margin=0.2)", (randn(5, 4), randn(5, 4), signs(5))),
    ("MarginRankingLoss(margin=0.1)", (randn(6), randn(6), signs(6))),
    ("HingeEmbeddingLoss(margin=0.5)", (randn(4, 3), signs(4, 3))),
    ("SoftMarginLoss()", (randn(4, 3), signs(4, 3))),
    ("MultiLabelSoftMarginLoss(weight=lib.ones(3))",
     (randn(4, 3), (rand(4, 3) > 0.5).astype(np.float32))),
    ("MultiLabelMarginLoss()", (randn(2, 4), np.array([[3, 0, -1, 1], [1, -1, 0, 0]]))),
    ("MultiMarginLoss(p=2, weight=lib.arange(1.0, 6.0))", (randn(4, 5), labels(4))),
    ("TripletMarginLoss(margin=0.5, swap=True)", (randn(5, 4), randn(5, 4), randn(5, 4))),
    ("TripletMarginWithDistanceLoss(swap=True)", (randn(5, 4), randn(5, 4), randn(5, 4))),
    ("MSELoss(size_average=False)", (randn(4, 3), randn(4, 3))),
    ("L1Loss(reduce=False)", (randn(4, 3), randn(4, 3))),
]


def _no_grad_targets(spec, inputs):
    # torch refuses gradients for these targets; they are plain data
    return "Soft" in spec or "Hinge" in spec or "Cosine" in spec or "Ranking" in spec


@pytest.mark.parametrize("spec,inputs", LOSS_MODULES, ids=[m[0] for m in LOSS_MODULES])
def test_loss_module(spec, inputs):
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_mod = eval("torch.nn." + spec, {"torch": torch, "lib": torch})
        e_mod = eval("ember.nn." + spec, {"ember": ember, "lib": ember})
        assert repr(e_mod) == repr(t_mod)
        assert list(e_mod.state_dict()) == list(t_mod.state_dict())
        assert e_mod.reduction == t_mod.reduction

        def fn(lib, *xs):
            module = (e_mod if lib is ember else t_mod).to(xs[0].device)  # pytest --device
            if len(xs) >= 2 and "Gaussian" not in spec and "Triplet" not in spec:
                xs = xs[:-1] + (xs[-1].detach(),) if xs[-1].is_floating_point() else xs
            return module(*xs)

        check(fn, *inputs, atol=2e-5)


def test_loss_module_state_dict_loads_from_torch():
    import torch

    t_mod = torch.nn.BCEWithLogitsLoss(weight=torch.rand(3), pos_weight=torch.rand(3))
    e_mod = ember.nn.BCEWithLogitsLoss(weight=ember.zeros(3), pos_weight=ember.zeros(3))
    e_mod.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    np.testing.assert_array_equal(e_mod.pos_weight.numpy(), t_mod.pos_weight.numpy())


def test_loss_module_paths_and_errors():
    import ember.nn.modules.loss as loss_modules

    for name in loss_modules.__all__:
        assert getattr(ember.nn, name) is getattr(loss_modules, name)
    check_raises(lambda lib: lib.nn.MultiMarginLoss(p=3), match="only p == 1 and p == 2")
    check_raises(lambda lib: lib.nn.TripletMarginWithDistanceLoss(margin=-1.0),
                 match="expected margin to be greater than 0, got -1.0 instead")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ce_empty_batch(reduction):
    check(lambda lib, a, t: F(lib).cross_entropy(a, t, reduction=reduction),
          np.zeros((0, 5), np.float32), np.zeros(0, np.int64))
    check(lambda lib, a, t: F(lib).cross_entropy(a, t.detach(), reduction=reduction),
          np.zeros((0, 5), np.float32), np.zeros((0, 5), np.float32))


def test_grad_fn_names():
    x = ember.zeros(3, 4, requires_grad=True)
    assert F(ember).cross_entropy(x, ember.tensor([0, 1, 2])).grad_fn.name() == "NllLossBackward0"
    assert F(ember).nll_loss(x, ember.tensor([0, 1, 2])).grad_fn.name() == "NllLossBackward0"


def test_loss_modules_take_torchs_keyword_names():
    """forward is written once for most losses: keyword callers must still work."""
    import torch

    x, y, v = randn(4, 3), randn(4, 3), rand(4, 3, low=0.1)
    a, p, n = randn(5, 4), randn(5, 4), randn(5, 4)
    calls = [
        ("MSELoss", {}, dict(input=x, target=y)),
        ("PoissonNLLLoss", {}, dict(log_input=x, target=np.abs(y))),
        ("GaussianNLLLoss", {"eps": 1e-3}, dict(input=x, target=y, var=v)),
        ("MarginRankingLoss", {"margin": 0.3}, dict(input1=a[:, 0], input2=p[:, 0],
                                                      target=signs(5))),
        ("TripletMarginLoss", {"p": 1.0}, dict(anchor=a, positive=p, negative=n)),
        ("TripletMarginWithDistanceLoss", {"margin": 0.5}, dict(anchor=a, positive=p,
                                                               negative=n)),
    ]
    for name, kwargs, inputs in calls:
        t_out = getattr(torch.nn, name)(**kwargs)(**{k: torch.tensor(v) for k, v in
                                                     inputs.items()})
        e_out = getattr(ember.nn, name)(**kwargs)(**{k: ember.tensor(v) for k, v in
                                                     inputs.items()})
        np.testing.assert_allclose(e_out.numpy(), t_out.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)


@pytest.mark.parametrize("size_average,reduce", [(False, None), (None, False), (True, True),
                                                 (None, True)])
def test_loss_module_legacy_reduction_matches_torch(size_average, reduce):
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("L1Loss", "NLLLoss", "KLDivLoss", "MultiMarginLoss", "BCEWithLogitsLoss"):
            t_mod = getattr(torch.nn, name)(size_average=size_average, reduce=reduce)
            e_mod = getattr(ember.nn, name)(size_average=size_average, reduce=reduce)
            assert e_mod.reduction == t_mod.reduction, name


def test_nllloss2d_warns_like_torch_and_computes_nll():
    import torch

    with pytest.warns(FutureWarning) as t_rec:
        torch.nn.NLLLoss2d(ignore_index=1)
    with pytest.warns(FutureWarning) as e_rec:
        e_mod = ember.nn.NLLLoss2d(ignore_index=1)
    assert str(e_rec[0].message) == str(t_rec[0].message) and e_rec[0].filename == __file__
    assert isinstance(e_mod, ember.nn.NLLLoss) and e_mod.ignore_index == 1


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.MultiMarginLoss(weight=lib.ones(2, 2)),
    lambda lib: lib.nn.TripletMarginLoss(margin=0),
])
def test_loss_module_constructor_errors_match_torch(make):
    import torch

    with pytest.raises(ValueError) as t_err:
        make(torch)
    with pytest.raises(ValueError) as e_err:
        make(ember)
    assert str(e_err.value) == str(t_err.value)
