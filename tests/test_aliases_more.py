"""Top-level spellings of Tensor methods, the deprecated torch.range, the dropout family at
the top level, nn.functional ops with torch's positional signatures and the recurrent cells,
each compared with PyTorch."""

import warnings

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


# name -> the input's range, for the in-place unary aliases (torch.abs_(x) is x.abs_())
UNARY_INPLACE = {
    "abs_": (-2, 2), "acos_": (-0.9, 0.9), "acosh_": (1.1, 3), "asin_": (-0.9, 0.9),
    "asinh_": (-2, 2), "atan_": (-2, 2), "atanh_": (-0.9, 0.9), "arccos_": (-0.9, 0.9),
    "arccosh_": (1.1, 3), "arcsin_": (-0.9, 0.9), "arcsinh_": (-2, 2), "arctan_": (-2, 2),
    "arctanh_": (-0.9, 0.9), "ceil_": (-3, 3), "floor_": (-3, 3), "round_": (-3, 3),
    "trunc_": (-3, 3), "fix_": (-3, 3), "frac_": (-3, 3), "cos_": (-2, 2), "cosh_": (-2, 2),
    "sin_": (-2, 2), "sinh_": (-2, 2), "tan_": (-1, 1), "tanh_": (-2, 2), "exp_": (-2, 2),
    "exp2_": (-2, 2), "expm1_": (-2, 2), "erf_": (-2, 2), "erfc_": (-2, 2), "log_": (0.1, 3),
    "log10_": (0.1, 3), "log1p_": (0.1, 3), "log2_": (0.1, 3), "neg_": (-2, 2),
    "negative_": (-2, 2), "reciprocal_": (0.5, 3), "rsqrt_": (0.5, 3), "sigmoid_": (-2, 2),
    "sinc_": (-2, 2), "sqrt_": (0.1, 3), "square_": (-2, 2), "deg2rad_": (-90, 90),
    "rad2deg_": (-2, 2), "logit_": (0.1, 0.9), "nan_to_num_": (-2, 2), "zero_": (-2, 2),
}


# PyTorch has no backward for these in-place forms (acosh_, asinh_, atanh_ raise
# NotImplementedError; square_ saved the value it overwrote): values only for them.
NO_TORCH_BACKWARD = {"acosh_", "arccosh_", "asinh_", "arcsinh_", "atanh_", "arctanh_", "square_"}


@pytest.mark.parametrize("name", sorted(UNARY_INPLACE))
def test_unary_inplace_alias(name):
    low, high = UNARY_INPLACE[name]
    data = rand(3, 4, low=low, high=high)

    def fn(lib, x):
        y = x * 1  # a non-leaf: in-place on it keeps the graph
        out = getattr(lib, name)(y)
        assert out is y
        return out

    check(fn, data, grad=name not in NO_TORCH_BACKWARD)


INPLACE_WITH_ARGS = {
    "clamp_": (lambda lib, y: lib.clamp_(y, -0.5, 0.5)),
    "clamp_min_": (lambda lib, y: lib.clamp_min_(y, -0.2)),
    "clamp_max_": (lambda lib, y: lib.clamp_max_(y, 0.3)),
    "clip_": (lambda lib, y: lib.clip_(y, max=0.1)),
    "xlogy_": (lambda lib, y: lib.xlogy_(y, 3.0)),
    "fill_": (lambda lib, y: lib.fill_(y, 2.5)),
    "index_put_": (lambda lib, y: lib.index_put_(y, (lib.tensor([0, 2]),), lib.tensor(7.0))),
}


@pytest.mark.parametrize("name", sorted(INPLACE_WITH_ARGS))
def test_inplace_alias_with_arguments(name):
    fn = INPLACE_WITH_ARGS[name]
    check(lambda lib, x: fn(lib, x * 1), randn(3, 4))


def test_alias_of_non_tensor_raises_type_error():
    check_raises(lambda lib: lib.abs_(3.0))


def test_detach_and_get_device_and_signedness():
    x = ember.ones(3, requires_grad=True)
    assert ember.detach(x).requires_grad is False
    y = x * 2
    assert ember.detach_(y) is y and not y.requires_grad
    assert ember.get_device(ember.ones(3, device="cpu")) == torch.get_device(torch.ones(3)) == -1
    assert ember.get_device(x) == (-1 if oracle.DEVICE == "cpu" else 0)  # cuda: the index
    for dtype in ("uint8", "int8", "float32", "bool"):
        assert ember.is_signed(ember.ones(1, dtype=getattr(ember, dtype))) == \
            torch.is_signed(torch.ones(1, dtype=getattr(torch, dtype)))


@pytest.mark.parametrize("name", ["greater", "greater_equal", "less", "less_equal", "not_equal"])
def test_comparison_aliases(name):
    a = np.array([1.0, 2.0, 3.0], np.float32)
    check(lambda lib, x: getattr(lib, name)(x, 2.0), a, grad=False)
    check(lambda lib, x, y: getattr(lib, name)(x, y), a, a[::-1].copy(), grad=False)


def test_fill_value_and_gradients():
    check(lambda lib, x: lib.fill(x, 2.5), randn(2, 3))
    check(lambda lib, x, v: lib.fill(x, v), randn(2, 3), np.array(1.5, np.float64))
    check(lambda lib, x: lib.fill(x.long() if False else x, 7), np.arange(4, dtype=np.int64),
          grad=False)
    check_raises(lambda lib, x, v: lib.fill(x, v), randn(3), randn(2),
                 match="fill_ only supports 0-dimension value tensor")


def test_range_is_inclusive_and_warns():
    for args, kwargs in [((1, 4), {}), ((0, 1, 0.25), {}), ((4, 1, -1), {}),
                         ((1, 4), {"dtype": "int64"}), ((0.5, 2), {}), ((0, 10, 3), {})]:
        kw_t = {k: getattr(torch, v) for k, v in kwargs.items()}
        kw_e = {k: getattr(ember, v) for k, v in kwargs.items()}
        with pytest.warns(UserWarning, match="torch.range is deprecated"):
            e = ember.range(*args, **kw_e)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = torch.range(*args, **kw_t)
        assert str(e.dtype) == str(t.dtype)
        np.testing.assert_allclose(as_numpy(e), as_numpy(t))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_raises(lambda lib: lib.range(1, 4, 0), match="step must be nonzero")
        check_raises(lambda lib: lib.range(4, 1), match="inconsistent with step sign")


def test_predicates_and_scalar_tensor():
    assert ember.is_same_size(ember.ones(2, 3), ember.ones(2, 3))
    assert not ember.is_same_size(ember.ones(2, 3), ember.ones(3, 2))
    assert ember.is_inference(ember.ones(1)) == torch.is_inference(torch.ones(1))
    for value, dtype in [(3, None), (True, None), (2.5, None), (3, "int64"), (1.5, "float64")]:
        e = ember.scalar_tensor(value, dtype=None if dtype is None else getattr(ember, dtype))
        t = torch.scalar_tensor(value, dtype=None if dtype is None else getattr(torch, dtype))
        assert e.shape == t.shape == () and str(e.dtype) == str(t.dtype)
        assert e.item() == t.item()
    check_raises(lambda lib: lib.scalar_tensor(2 + 1j))


def test_dropout_family_identity_in_eval_and_at_p0():
    for name in ("alpha_dropout", "feature_alpha_dropout", "feature_dropout"):
        check(lambda lib, x, name=name: getattr(lib, name)(x, 0.5, False), randn(2, 3, 4))
        check(lambda lib, x, name=name: getattr(lib, name)(x, 0.0, True), randn(2, 3, 4))
    for name in ("dropout_", "alpha_dropout_", "feature_alpha_dropout_", "feature_dropout_"):
        x = ember.randn(2, 3, 4)
        assert getattr(ember, name)(x, 0.5, False) is x


def test_dropout_family_in_training():
    ember.manual_seed(0)
    x = ember.ones(200, 50, 2)
    out = ember.feature_dropout(x, 0.5, True)
    # whole channels (dim 1) are zeroed: each (n, c) pair is all zero or all 2
    per_channel = as_numpy(out).reshape(200, 50, 2)
    assert np.all(per_channel[..., 0] == per_channel[..., 1])
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert 0.4 < (per_channel == 0).mean() < 0.6
    y = ember.ones(1000)
    assert ember.dropout_(y, 1.0, True) is y and float(y.abs().sum()) == 0
    z = ember.alpha_dropout(ember.randn(20000), 0.3, True)  # keeps mean 0 and variance 1
    assert abs(float(z.mean())) < 0.05 and abs(float(z.std()) - 1) < 0.05


FUNCTIONAL = {
    "bilinear": (lambda lib, a, b, w, bias: lib.bilinear(a, b, w, bias),
                 (randn(4, 3), randn(4, 5), randn(2, 3, 5), randn(2))),
    "bce_logits": (lambda lib, x, t: lib.binary_cross_entropy_with_logits(x, t, None, None, 0),
                   (randn(3, 4), rand(3, 4))),
    "bce_logits_sum": (lambda lib, x, t: lib.binary_cross_entropy_with_logits(
        x, t, lib.tensor([0.5, 1.0, 2.0, 1.5]), lib.tensor([2.0, 1.0, 1.0, 0.5]), 2),
        (randn(3, 4), rand(3, 4))),
    "bce_logits_default": (lambda lib, x, t: lib.binary_cross_entropy_with_logits(x, t),
                           (randn(3, 4), rand(3, 4))),
    "cosine_similarity": (lambda lib, a, b: lib.cosine_similarity(a, b, 0), (randn(3, 4), randn(3, 4))),
    "pairwise_distance": (lambda lib, a, b: lib.pairwise_distance(a, b, 1.0, 1e-6, True),
                          (randn(3, 4), randn(3, 4))),
    "cosine_embedding_loss": (lambda lib, a, b: lib.cosine_embedding_loss(
        a, b, lib.tensor([1.0, -1.0, 1.0]), 0.1, 2), (randn(3, 4), randn(3, 4))),
    "hinge_embedding_loss": (lambda lib, x: lib.hinge_embedding_loss(
        x, lib.tensor([1.0, -1.0, 1.0]), 0.5, 0), (randn(3),)),
    "margin_ranking_loss": (lambda lib, a, b: lib.margin_ranking_loss(
        a, b, lib.tensor([1.0, -1.0, 1.0]), 0.2), (randn(3), randn(3))),
    "margin_ranking_loss_mean": (lambda lib, a, b: lib.margin_ranking_loss(
        a, b, lib.tensor([1.0, -1.0, 1.0]), 0.2, 1), (randn(3), randn(3))),
    "ctc_loss_default": (lambda lib, lp: lib.ctc_loss(
        lp.log_softmax(2), lib.tensor([[1, 2], [2, 2]]), [5, 4], [2, 2]), (randn(5, 2, 4),)),
    "kl_div": (lambda lib, x, t: lib.kl_div(x, t), (randn(3, 4), rand(3, 4))),
    "kl_div_mean": (lambda lib, x, t: lib.kl_div(x, t, 1), (randn(3, 4), rand(3, 4))),
    "kl_div_log_target": (lambda lib, x, t: lib.kl_div(x, t, 2, log_target=True),
                          (randn(3, 4), randn(3, 4))),
    "poisson_nll_loss": (lambda lib, x, t: lib.poisson_nll_loss(x, t, True, True, 1e-8, 1),
                         (randn(3, 4), rand(3, 4, high=4))),
    "triplet_margin_loss": (lambda lib, a, p, n: lib.triplet_margin_loss(
        a, p, n, 1.0, 2.0, 1e-6, True, 0), (randn(3, 4), randn(3, 4), randn(3, 4))),
    "ctc_loss": (lambda lib, lp: lib.ctc_loss(
        lp.log_softmax(2), lib.tensor([[1, 2], [2, 2]]), [5, 4], [2, 2], 0, 1, False),
        (randn(5, 2, 4),)),
    "rms_norm": (lambda lib, x, w: lib.rms_norm(x, [4], w, 1e-5), (randn(3, 4), randn(4))),
    "constant_pad_nd": (lambda lib, x: lib.constant_pad_nd(x, [1, 2, 0, 1], 0.5), (randn(2, 3),)),
    "convolution": (lambda lib, x, w, b: lib.convolution(x, w, b, [1, 2], [1, 0], [1, 1], False,
                                                         [0, 0], 1),
                    (randn(2, 3, 5, 6), randn(4, 3, 3, 3), randn(4))),
    "convolution_1d": (lambda lib, x, w: lib.convolution(x, w, None, [1], [0], [2], False, [0],
                                                         2), (randn(2, 4, 9), randn(2, 2, 3))),
    "convolution_transposed": (lambda lib, x, w: lib.convolution(
        x, w, None, [2, 2], [1, 1], [1, 1], True, [1, 1], 1), (randn(1, 3, 4, 4), randn(3, 2, 3, 3))),
    "pdist": (lambda lib, x: lib.pdist(x), (randn(5, 3),)),
    "pdist_p1": (lambda lib, x: lib.pdist(x, 1), (randn(4, 3),)),
    "pdist_inf_ties": (lambda lib, x: lib.pdist(x, float("inf")),
                       (np.array([[1.0, 2], [1, 2], [0, 3], [2, 1]], np.float32),)),
    "pdist_p0_repeated_rows": (lambda lib, x: lib.pdist(x, 0),
                               (np.array([[1.0, 2], [1, 2], [0, 3]], np.float32),)),
    "gru_cell": (lambda lib, x, h, wi, wh, bi, bh: lib.gru_cell(x, h, wi, wh, bi, bh),
                 (randn(3, 4), randn(3, 5), randn(15, 4), randn(15, 5), randn(15), randn(15))),
    "lstm_cell": (lambda lib, x, h, c, wi, wh: lib.lstm_cell(x, (h, c), wi, wh),
                  (randn(3, 4), randn(3, 5), randn(3, 5), randn(20, 4), randn(20, 5))),
    "rnn_tanh_cell": (lambda lib, x, h, wi, wh, bi: lib.rnn_tanh_cell(x, h, wi, wh, bi),
                      (randn(3, 4), randn(3, 5), randn(5, 4), randn(5, 5), randn(5))),
    "rnn_relu_cell": (lambda lib, x, h, wi, wh: lib.rnn_relu_cell(x, h, wi, wh),
                      (randn(3, 4), randn(3, 5), randn(5, 4), randn(5, 5))),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_functional_top_level(name):
    fn, inputs = FUNCTIONAL[name]
    check(fn, *inputs)


def test_functional_top_level_errors():
    check_raises(lambda lib: lib.convolution(lib.ones(1, 1, 3), lib.ones(1, 1, 1, 1), None, [1],
                                             [0], [1], False, [0], 1),
                 match="Expected 4-dimensional input for 4-dimensional weight")
    check_raises(lambda lib: lib.constant_pad_nd(lib.ones(2), [1]), match="Length of pad must be even")
    check_raises(lambda lib: lib.lstm_cell(lib.ones(1, 2), (lib.ones(1, 3),), lib.ones(12, 2),
                                           lib.ones(12, 3)), match="expects two hidden states")
    # any reduction code other than 1 (mean) and 2 (sum) reduces nothing, as torch's
    check(lambda lib, x: lib.hinge_embedding_loss(x, lib.ones(2), 1.0, 3), randn(2))


def test_pdist_errors():
    check_raises(lambda lib, x: lib.pdist(x), randn(2, 3, 4), match="2D")
    check_raises(lambda lib, x: lib.pdist(x, -1), randn(3, 4), match="non-negative")


def _check_bags(fn, *inputs, last_offset=False):
    """embedding_bag's (output, offset2bag, bag_size, max_indices): the last three are laid
    out per device (CUDA's kernel fills offset2bag and bag_size in every mode, CPU's not),
    so all four are compared where torch runs on ember's device, else the output only.
    With ``include_last_offset`` torch's CUDA kernel never writes bag_size's last entry
    (memory left as allocated), so that entry is not compared on cuda."""
    with oracle.on_device(ember):
        assert len(fn(ember, *[oracle.to_ember(x) for x in inputs])) == 4
    if oracle.DEVICE == oracle.TORCH_DEVICE:
        if last_offset and oracle.DEVICE == "cuda":
            def written(lib, *args):
                output, offset2bag, bag_size, max_indices = fn(lib, *args)
                return output, offset2bag, bag_size[:-1], max_indices
            return check(written, *inputs)
        return check(fn, *inputs)
    return check(lambda lib, *args: fn(lib, *args)[0], *inputs)


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_embedding_bag_tuple(mode):
    weight = randn(6, 3)
    indices = np.array([0, 2, 1, 4, 4, 3], np.int64)
    offsets = np.array([0, 2, 2, 5], np.int64)
    _check_bags(lambda lib, w, i, o: lib.embedding_bag(w, i, o, False, mode),
                weight, indices, offsets)


def test_embedding_bag_mean_with_padding_idx():
    weight = randn(6, 3)
    _check_bags(lambda lib, w: lib.embedding_bag(w, lib.tensor([0, 1, 2, 3, 4, 5]),
                                                 lib.tensor([0, 3]), False, 1, False, None,
                                                 False, 2), weight)


def test_top_level_dropout_errors_are_runtime_errors():
    for name in ("dropout", "dropout_", "alpha_dropout", "alpha_dropout_",
                 "feature_alpha_dropout", "feature_alpha_dropout_", "feature_dropout",
                 "feature_dropout_"):
        check_raises(lambda lib, x, name=name: getattr(lib, name)(x, 1.5, False), randn(2, 3),
                     match="dropout probability has to be between 0 and 1")
    check_raises(lambda lib, x: lib.feature_dropout(x, 0.5, True), randn(3),
                 match="at least 2 dimensions")


def test_embedding_bag_weighted_sum_and_last_offset():
    weight, per_sample = randn(6, 3), rand(6)
    _check_bags(lambda lib, w, p: lib.embedding_bag(w, lib.tensor([0, 2, 1, 4, 4, 3]),
                                                    lib.tensor([0, 2, 2, 6]), False, 0, False,
                                                    p, True), weight, per_sample,
                last_offset=True)
