"""Audit of issue 4 against PyTorch 2.13: the options, error texts and gradchecks that the
per-family tests (tests/nn/test_conv.py, test_pool.py, test_norm.py, test_resample.py,
test_padding.py, test_dropout.py) leave out, and the ResNet-18 memory budget."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "nn"))
from module_oracle import check_module
from oracle import check, randn

import ember
from ember.autograd import gradcheck

# float32 sums run in another order than PyTorch's kernels
F32 = dict(rtol=1e-4, atol=1e-4)


def F(lib):
    return lib.nn.functional


# ---------------------------------------------------------------------------
# Conv modules: every padding_mode in 1d/2d/3d with stride, dilation, groups, 'same'/'valid'
# ---------------------------------------------------------------------------

SHAPES = {1: (2, 4, 9), 2: (2, 4, 7, 8), 3: (1, 4, 5, 6, 5)}
CONV_OPTIONS = [
    ("pad1", 3, dict(padding=1)),
    ("pad2 stride2 groups2", 3, dict(padding=2, stride=2, groups=2)),
    ("same dilation2 even kernel", 4, dict(padding="same", dilation=2)),
    ("same", 3, dict(padding="same")),
    ("valid depthwise", 3, dict(padding="valid", groups=4)),
    ("tuple pad", 4, dict(padding=(1, 2, 1))),
]
CONV_MODULE_CASES = [(nd, mode, name, k, kw) for nd in (1, 2, 3)
                     for mode in ("zeros", "reflect", "replicate", "circular")
                     for name, k, kw in CONV_OPTIONS]


@pytest.mark.parametrize("nd,mode,name,kernel,kwargs", CONV_MODULE_CASES,
                         ids=[f"{c[0]}d-{c[1]}-{c[2]}" for c in CONV_MODULE_CASES])
def test_conv_module_padding_modes_all_dims(nd, mode, name, kernel, kwargs):
    kwargs = dict(kwargs)
    if isinstance(kwargs["padding"], tuple):
        kwargs["padding"] = kwargs["padding"][:nd]
    out_channels = 8 if kwargs.get("groups") == 4 else 6

    def make(lib):
        return getattr(lib.nn, f"Conv{nd}d")(4, out_channels, kernel, padding_mode=mode, **kwargs)

    e_mod, t_mod, _, _ = check_module(make, randn(*SHAPES[nd]), **F32)
    assert repr(e_mod) == repr(t_mod)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kwargs", [
    dict(stride=2, padding=1, output_padding=1, groups=2, dilation=2),
    dict(stride=3, bias=False), dict(stride=(2, 1, 2), padding=(0, 1, 1), output_padding=(1, 0, 0)),
], ids=["outpad-groups-dilation", "stride3-nobias", "tuples"])
def test_conv_transpose_modules_all_dims(nd, kwargs):
    kwargs = {k: (v[:nd] if isinstance(v, tuple) else v) for k, v in kwargs.items()}
    shape = {1: (2, 4, 5), 2: (2, 4, 4, 5), 3: (1, 4, 3, 3, 2)}[nd]

    def make(lib):
        return getattr(lib.nn, f"ConvTranspose{nd}d")(4, 6, 3, **kwargs)

    e_mod, t_mod, _, _ = check_module(make, randn(*shape), **F32)
    assert repr(e_mod) == repr(t_mod)


FUNCTIONAL_CASES = [
    ("depthwise conv1d", lambda lib, x, w, b: F(lib).conv1d(x, w, b, groups=4, stride=2,
                                                            padding=1),
     [randn(2, 4, 9), randn(8, 1, 3), randn(8)]),
    ("depthwise conv3d", lambda lib, x, w: F(lib).conv3d(x, w, groups=4, padding=1),
     [randn(1, 4, 4, 5, 4), randn(4, 1, 3, 3, 3)]),
    ("conv1d same dilated", lambda lib, x, w: F(lib).conv1d(x, w, padding="same", dilation=3),
     [randn(2, 2, 10), randn(3, 2, 4)]),
    ("conv3d valid", lambda lib, x, w: F(lib).conv3d(x, w, padding="valid", stride=(1, 2, 1)),
     [randn(1, 2, 4, 5, 4), randn(3, 2, 2, 2, 2)]),
    ("unfold all options", lambda lib, x: F(lib).unfold(x, (2, 3), dilation=(2, 1),
                                                        padding=(1, 2), stride=(2, 3)),
     [randn(2, 3, 7, 8)]),
    ("fold all options", lambda lib, x: F(lib).fold(x, (7, 8), (2, 3), dilation=(2, 1),
                                                    padding=(1, 2), stride=(2, 3)),
     [randn(2, 18, 16)]),
    ("unfold unbatched", lambda lib, x: F(lib).unfold(x, 2), [randn(3, 4, 4)]),
    ("fold unbatched", lambda lib, x: F(lib).fold(x, (3, 3), 2), [randn(8, 4)]),
]


@pytest.mark.parametrize("name,fn,inputs", FUNCTIONAL_CASES, ids=[c[0] for c in FUNCTIONAL_CASES])
def test_conv_functional_options(name, fn, inputs):
    check(fn, *inputs, **F32)


# ---------------------------------------------------------------------------
# Pools: the option combinations the pool tests do not draw
# ---------------------------------------------------------------------------

POOL_CASES = [
    ("max_unpool1d", lambda lib, x: F(lib).max_unpool1d(
        *F(lib).max_pool1d(x, 2, return_indices=True), 2), (2, 3, 8)),
    ("max_unpool1d output_size", lambda lib, x: F(lib).max_unpool1d(
        *F(lib).max_pool1d(x, 3, 2, return_indices=True), 3, 2, output_size=[9]), (2, 3, 9)),
    ("max_unpool2d padding", lambda lib, x: F(lib).max_unpool2d(
        *F(lib).max_pool2d(x, 3, 2, 1, return_indices=True), 3, 2, 1), (2, 3, 7, 7)),
    ("max_unpool3d", lambda lib, x: F(lib).max_unpool3d(
        *F(lib).max_pool3d(x, 2, return_indices=True), 2), (1, 2, 4, 4, 4)),
    ("max_pool3d dilation ceil", lambda lib, x: F(lib).max_pool3d(
        x, 2, 2, 1, dilation=2, ceil_mode=True), (1, 2, 7, 6, 7)),
    ("max_pool1d indices ceil", lambda lib, x: F(lib).max_pool1d(
        x, 3, 2, 1, ceil_mode=True, return_indices=True), (2, 3, 10)),
    ("avg_pool1d ceil exclude pad", lambda lib, x: F(lib).avg_pool1d(
        x, 4, 3, 2, ceil_mode=True, count_include_pad=False), (2, 3, 11)),
    ("avg_pool2d ceil exclude pad divisor", lambda lib, x: F(lib).avg_pool2d(
        x, 3, 2, 1, ceil_mode=True, count_include_pad=False, divisor_override=2), (2, 3, 8, 9)),
    ("avg_pool3d divisor ceil", lambda lib, x: F(lib).avg_pool3d(
        x, 3, 2, 1, ceil_mode=True, divisor_override=5), (1, 2, 5, 6, 5)),
    ("avg_pool3d rect include pad", lambda lib, x: F(lib).avg_pool3d(
        x, (2, 3, 2), (1, 2, 2), (1, 1, 0), ceil_mode=True, count_include_pad=True),
     (1, 2, 5, 6, 5)),
    ("lp_pool1d ceil", lambda lib, x: F(lib).lp_pool1d(x, 3, 3, 2, ceil_mode=True), (2, 3, 10)),
    ("lp_pool2d p1", lambda lib, x: F(lib).lp_pool2d(x, 1, 2), (2, 3, 6, 6)),
    ("lp_pool2d p4 stride1", lambda lib, x: F(lib).lp_pool2d(x.abs() + 0.1, 4.0, (2, 3),
                                                             stride=1), (2, 3, 6, 6)),
    ("adaptive_max_pool1d unbatched", lambda lib, x: F(lib).adaptive_max_pool1d(x, 3, True),
     (3, 10)),
    ("adaptive_avg_pool1d upsample", lambda lib, x: F(lib).adaptive_avg_pool1d(x, 13),
     (2, 3, 5)),
    ("adaptive_max_pool2d upsample", lambda lib, x: F(lib).adaptive_max_pool2d(x, (7, 9)),
     (2, 3, 4, 5)),
    ("adaptive_avg_pool3d None", lambda lib, x: F(lib).adaptive_avg_pool3d(x, (None, 2, None)),
     (1, 2, 4, 5, 3)),
    ("max_pool2d float64", lambda lib, x: F(lib).max_pool2d(x.double(), 3, 2, 1, ceil_mode=True),
     (2, 3, 8, 9)),
]


@pytest.mark.parametrize("name,fn,shape", POOL_CASES, ids=[c[0] for c in POOL_CASES])
def test_pool_options(name, fn, shape):
    check(fn, randn(*shape))


FRACTIONAL_CASES = [
    ("2d ratio indices", lambda lib, x, s: F(lib).fractional_max_pool2d(
        x, 2, output_ratio=(0.5, 0.7), _random_samples=s, return_indices=True), (2, 3, 8, 9)),
    ("2d rect kernel size", lambda lib, x, s: F(lib).fractional_max_pool2d(
        x, (3, 2), output_size=(4, 5), _random_samples=s), (2, 3, 8, 9)),
    ("3d ratio indices", lambda lib, x, s: F(lib).fractional_max_pool3d(
        x, 2, output_ratio=0.6, _random_samples=s, return_indices=True), (1, 2, 6, 7, 6)),
]


@pytest.mark.parametrize("name,fn,shape", FRACTIONAL_CASES, ids=[c[0] for c in FRACTIONAL_CASES])
def test_fractional_max_pool_options(name, fn, shape):
    samples = np.random.default_rng(0).random((shape[0], shape[1], len(shape) - 2))

    def run(lib, x, s):
        return fn(lib, x, s.detach().float())

    check(run, randn(*shape), samples)


# ---------------------------------------------------------------------------
# Dropout family: the exact values PyTorch writes (kept/dropped constants), all variants
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["dropout", "alpha_dropout", "feature_alpha_dropout",
                                  "dropout1d", "dropout2d", "dropout3d"])
@pytest.mark.parametrize("p", [0.2, 0.5])
@pytest.mark.parametrize("value", [0.0, 1.0])
def test_dropout_values_are_torchs_constants(name, p, value):
    shape = {"dropout1d": (64, 32, 9), "dropout3d": (16, 32, 2, 2, 2)}.get(name, (64, 32, 3, 3))
    t_out = getattr(torch.nn.functional, name)(torch.full(shape, value), p, training=True)
    e_out = getattr(ember.nn.functional, name)(ember.full(shape, value), p, training=True)
    np.testing.assert_allclose(sorted(set(e_out.numpy().ravel().tolist())),
                               sorted(set(t_out.numpy().ravel().tolist())), rtol=1e-6)
    assert e_out.dtype == ember.float32


# ---------------------------------------------------------------------------
# Error texts: kernel larger than input, channels not divisible by groups, bad padding modes
# ---------------------------------------------------------------------------

def _z(lib, *shape):
    return lib.zeros(*shape)


ERRORS = [
    ("conv1d kernel > input", lambda lib: F(lib).conv1d(_z(lib, 2, 3, 2), _z(lib, 4, 3, 3))),
    ("conv3d kernel > input", lambda lib: F(lib).conv3d(_z(lib, 1, 3, 2, 4, 4),
                                                        _z(lib, 4, 3, 3, 3, 3))),
    ("conv2d dilated kernel > input", lambda lib: F(lib).conv2d(_z(lib, 1, 3, 4, 4),
                                                                _z(lib, 4, 3, 3, 3), dilation=2)),
    ("conv2d padded still small", lambda lib: F(lib).conv2d(_z(lib, 1, 3, 1, 1),
                                                            _z(lib, 4, 3, 5, 5), padding=1)),
    ("conv_transpose2d negative output", lambda lib: F(lib).conv_transpose2d(
        _z(lib, 1, 3, 1, 1), _z(lib, 3, 4, 3, 3), padding=3)),
    ("Conv1d module kernel > input", lambda lib: lib.nn.Conv1d(3, 4, 5)(_z(lib, 2, 3, 3))),
    ("conv2d input channels vs groups", lambda lib: F(lib).conv2d(
        _z(lib, 1, 5, 6, 6), _z(lib, 4, 2, 3, 3), groups=2)),
    ("conv1d input channels vs groups", lambda lib: F(lib).conv1d(
        _z(lib, 1, 6, 6), _z(lib, 4, 2, 3), groups=2)),
    ("conv3d weight not divisible by groups", lambda lib: F(lib).conv3d(
        _z(lib, 1, 6, 4, 4, 4), _z(lib, 5, 2, 3, 3, 3), groups=3)),
    ("conv_transpose2d channels vs groups", lambda lib: F(lib).conv_transpose2d(
        _z(lib, 1, 5, 4, 4), _z(lib, 5, 2, 3, 3), groups=2)),
    ("Conv1d in_channels % groups", lambda lib: lib.nn.Conv1d(5, 4, 3, groups=2)),
    ("Conv3d out_channels % groups", lambda lib: lib.nn.Conv3d(4, 6, 3, groups=4)),
    ("ConvTranspose2d in_channels % groups", lambda lib: lib.nn.ConvTranspose2d(5, 4, 3,
                                                                                groups=2)),
    ("Conv2d groups 0", lambda lib: lib.nn.Conv2d(4, 4, 3, groups=0)),
    ("ConvTranspose1d padding_mode", lambda lib: lib.nn.ConvTranspose1d(
        3, 4, 3, padding_mode="circular")),
    ("ConvTranspose3d padding_mode", lambda lib: lib.nn.ConvTranspose3d(
        3, 4, 3, padding_mode="replicate")),
    ("pad unknown mode", lambda lib: F(lib).pad(_z(lib, 1, 2, 3, 3), (1, 1), mode="symmetric")),
    ("pad reflect too large", lambda lib: F(lib).pad(_z(lib, 1, 2, 3, 3), (3, 3),
                                                     mode="reflect")),
    ("pad odd length", lambda lib: F(lib).pad(_z(lib, 1, 2, 3, 3), (1, 1, 1), mode="reflect")),
    ("pad circular too large", lambda lib: F(lib).pad(_z(lib, 1, 2, 3, 3), (4, 4, 1, 1),
                                                      mode="circular")),
    ("pad replicate rank", lambda lib: F(lib).pad(_z(lib, 1, 2, 3, 3, 3, 3), (1, 1),
                                                  mode="replicate")),
    ("pad value with reflect", lambda lib: F(lib).pad(_z(lib, 1, 2, 3, 3), (1, 1),
                                                      mode="reflect", value=1.0)),
    ("ReflectionPad2d too large", lambda lib: lib.nn.ReflectionPad2d(3)(_z(lib, 1, 1, 3, 3))),
    ("ReflectionPad1d rank", lambda lib: lib.nn.ReflectionPad1d(1)(_z(lib, 1, 1, 3, 3))),
    ("ReplicationPad3d rank", lambda lib: lib.nn.ReplicationPad3d(1)(_z(lib, 1, 3, 3))),
    ("CircularPad2d too large", lambda lib: lib.nn.CircularPad2d(4)(_z(lib, 1, 1, 3, 3))),
    ("max_pool1d kernel > input", lambda lib: F(lib).max_pool1d(_z(lib, 1, 2, 2), 3)),
    ("max_pool3d kernel > input", lambda lib: F(lib).max_pool3d(_z(lib, 1, 2, 2, 5, 5), 3)),
    ("lp_pool2d kernel > input", lambda lib: F(lib).lp_pool2d(_z(lib, 1, 2, 2, 2), 2, 3)),
    ("MaxPool2d module kernel > input", lambda lib: lib.nn.MaxPool2d(4)(_z(lib, 1, 2, 3, 3))),
    ("AvgPool2d module kernel > input", lambda lib: lib.nn.AvgPool2d(4)(_z(lib, 1, 2, 3, 3))),
    ("avg_pool2d pad too big", lambda lib: F(lib).avg_pool2d(_z(lib, 1, 2, 6, 6), 3,
                                                             padding=2)),
    ("avg_pool1d pad too big", lambda lib: F(lib).avg_pool1d(_z(lib, 1, 2, 6), 2, padding=2)),
    ("unfold kernel > input", lambda lib: F(lib).unfold(_z(lib, 1, 2, 2, 2), 3)),
    pytest.param("interpolate unknown mode", lambda lib: F(lib).interpolate(
        _z(lib, 1, 2, 3, 3), scale_factor=2, mode="cubic"), id="interpolate unknown mode",
        marks=pytest.mark.oracle_torch("2.13", "torch 2.11's interpolate has no lanczos mode "
                                       "to list")),
    ("interpolate align_corners with nearest", lambda lib: F(lib).interpolate(
        _z(lib, 1, 2, 3, 3), scale_factor=2, mode="nearest", align_corners=True)),
    ("grid_sample padding_mode", lambda lib: F(lib).grid_sample(
        _z(lib, 1, 2, 3, 3), _z(lib, 1, 2, 2, 2), padding_mode="wrap", align_corners=False)),
    ("grid_sample mode", lambda lib: F(lib).grid_sample(
        _z(lib, 1, 2, 3, 3), _z(lib, 1, 2, 2, 2), mode="area", align_corners=False)),
    ("BatchNorm2d channels", lambda lib: lib.nn.BatchNorm2d(3)(_z(lib, 2, 4, 3, 3))),
    ("BatchNorm1d rank", lambda lib: lib.nn.BatchNorm1d(3)(_z(lib, 2, 3, 3, 3))),
    ("BatchNorm1d one value per channel", lambda lib: lib.nn.BatchNorm1d(3)(_z(lib, 1, 3))),
    ("GroupNorm groups", lambda lib: lib.nn.GroupNorm(3, 4)),
    ("GroupNorm channels", lambda lib: lib.nn.GroupNorm(2, 4)(_z(lib, 2, 6, 3))),
    ("LayerNorm shape", lambda lib: lib.nn.LayerNorm(4)(_z(lib, 2, 5))),
    ("InstanceNorm2d rank", lambda lib: lib.nn.InstanceNorm2d(3)(_z(lib, 3, 4))),
    ("pixel_shuffle channels", lambda lib: F(lib).pixel_shuffle(_z(lib, 1, 5, 3, 3), 2)),
    ("pixel_unshuffle size", lambda lib: F(lib).pixel_unshuffle(_z(lib, 1, 2, 5, 4), 2)),
    ("Dropout2d p", lambda lib: lib.nn.Dropout2d(1.5)),
    ("feature_alpha_dropout p", lambda lib: F(lib).feature_alpha_dropout(_z(lib, 2, 3, 4), -0.1)),
    ("avg_pool1d kernel > input", lambda lib: F(lib).avg_pool1d(_z(lib, 1, 2, 2), 3)),
    ("max_pool1d indices kernel > input",
     lambda lib: F(lib).max_pool1d(_z(lib, 1, 2, 2), 3, return_indices=True)),
    ("lp_pool1d kernel > input", lambda lib: F(lib).lp_pool1d(_z(lib, 1, 2, 2), 2, 3)),
]


def _base(exc):
    for base in (IndexError, ValueError, TypeError, RuntimeError, NotImplementedError):
        if isinstance(exc, base):
            return base
    return type(exc)


@pytest.mark.parametrize("name,fn", ERRORS,
                         ids=[e[0] if isinstance(e, tuple) else e.id for e in ERRORS])
def test_error_type_and_text_match_torch(name, fn):
    with pytest.raises(Exception) as t_info:
        fn(torch)
    with pytest.raises(_base(t_info.value)) as e_info:
        fn(ember)
    assert str(e_info.value) == str(t_info.value)


def test_conv_padding_mode_error_names_the_valid_modes():
    """The valid modes are a set in torch's message (its order follows the string hashes)."""
    for mode in ("symmetric", "zero"):
        for nd in (1, 2, 3):
            with pytest.raises(ValueError) as t_info:
                getattr(torch.nn, f"Conv{nd}d")(3, 4, 3, padding_mode=mode)
            with pytest.raises(ValueError) as e_info:
                getattr(ember.nn, f"Conv{nd}d")(3, 4, 3, padding_mode=mode)
            t_text, e_text = str(t_info.value), str(e_info.value)
            assert e_text.endswith(f", but got padding_mode='{mode}'")
            t_modes = t_text[t_text.index("{") + 1:t_text.index("}")].split(", ")
            e_modes = e_text[e_text.index("{") + 1:e_text.index("}")].split(", ")
            assert sorted(e_modes) == sorted(t_modes)
            assert e_text[:e_text.index("{")] == t_text[:t_text.index("{")]


# ---------------------------------------------------------------------------
# gradcheck in float64 for the ops the family tests do not gradcheck
# ---------------------------------------------------------------------------

_RNG = np.random.default_rng(0)


def _leaf(*shape, positive=False):
    a = _RNG.standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return ember.tensor(a, requires_grad=True)


EF = ember.nn.functional
GRADCHECK = [
    ("conv_transpose3d groups outpad", lambda x, w, b: EF.conv_transpose3d(
        x, w, b, stride=2, output_padding=1, groups=2), [(1, 2, 2, 2, 2), (2, 1, 2, 2, 2), (2,)]),
    ("conv2d same even kernel", lambda x, w: EF.conv2d(x, w, padding="same"),
     [(1, 2, 4, 5), (2, 2, 2, 4)]),
    ("conv2d reflect padding_mode", lambda x, w: EF.conv2d(
        EF.pad(x, (1, 2, 1, 0), mode="reflect"), w), [(1, 2, 4, 4), (2, 2, 2, 3)]),
    ("conv1d circular padding_mode", lambda x, w: EF.conv1d(
        EF.pad(x, (2, 1), mode="circular"), w), [(1, 2, 5), (2, 2, 3)]),
    ("conv3d replicate padding_mode", lambda x, w: EF.conv3d(
        EF.pad(x, (1, 1, 1, 1, 1, 1), mode="replicate"), w), [(1, 1, 2, 3, 2), (1, 1, 2, 2, 2)]),
    ("max_pool3d", lambda x: EF.max_pool3d(x, 2, 1, 1, ceil_mode=True), [(1, 1, 3, 3, 3)]),
    ("max_pool1d dilation", lambda x: EF.max_pool1d(x, 2, 1, 1, dilation=2), [(1, 2, 6)]),
    ("avg_pool1d", lambda x: EF.avg_pool1d(x, 3, 2, 1, ceil_mode=True,
                                           count_include_pad=False), [(1, 2, 7)]),
    ("avg_pool2d divisor", lambda x: EF.avg_pool2d(x, 2, divisor_override=3), [(1, 2, 4, 4)]),
    ("lp_pool1d", lambda x: EF.lp_pool1d(x, 3, 2), "positive", (1, 2, 6)),
    ("lp_pool3d", lambda x: EF.lp_pool3d(x, 2, 2), "positive", (1, 1, 4, 4, 4)),
    ("adaptive_avg_pool1d", lambda x: EF.adaptive_avg_pool1d(x, 3), [(1, 2, 7)]),
    ("adaptive_avg_pool3d", lambda x: EF.adaptive_avg_pool3d(x, (2, 1, 2)), [(1, 1, 3, 3, 3)]),
    ("adaptive_max_pool1d", lambda x: EF.adaptive_max_pool1d(x, 3), [(1, 2, 7)]),
    ("adaptive_max_pool3d", lambda x: EF.adaptive_max_pool3d(x, 2), [(1, 1, 3, 3, 3)]),
    ("max_unpool1d", lambda x: EF.max_unpool1d(x, ember.tensor([[[1, 2, 5]]]), 2), [(1, 1, 3)]),
    ("max_unpool3d", lambda x: EF.max_unpool3d(x, ember.tensor([[[[[0]]]]]), 2),
     [(1, 1, 1, 1, 1)]),
    ("fractional_max_pool3d", lambda x: EF.fractional_max_pool3d(
        x, 2, output_size=2, _random_samples=ember.tensor([[[0.3, 0.6, 0.2]]],
                                                          dtype=ember.float64)),
     [(1, 1, 4, 4, 4)]),
    ("batch_norm 5d", lambda x, w, b: EF.batch_norm(x, None, None, w, b, True),
     [(2, 2, 2, 2, 2), (2,), (2,)]),
    ("instance_norm affine", lambda x, w, b: EF.instance_norm(x, weight=w, bias=b),
     [(2, 2, 3, 3), (2,), (2,)]),
    ("group_norm 4d", lambda x, w, b: EF.group_norm(x, 2, w, b), [(2, 4, 2, 2), (4,), (4,)]),
    ("layer_norm 2-d shape", lambda x, w, b: EF.layer_norm(x, (2, 3), w, b),
     [(2, 2, 3), (2, 3), (2, 3)]),
    ("local_response_norm 4d", lambda x: EF.local_response_norm(x, 2, k=2.0), [(1, 4, 2, 3)]),
    ("interpolate nearest-exact", lambda x: EF.interpolate(x, size=(5, 3), mode="nearest-exact"),
     [(1, 1, 3, 4)]),
    ("interpolate bilinear recompute", lambda x: EF.interpolate(
        x, scale_factor=1.7, mode="bilinear", recompute_scale_factor=True), [(1, 1, 3, 4)]),
    ("interpolate bicubic align", lambda x: EF.interpolate(
        x, size=(5, 6), mode="bicubic", align_corners=True), [(1, 1, 3, 4)]),
    ("interpolate linear align", lambda x: EF.interpolate(
        x, scale_factor=2.5, mode="linear", align_corners=True), [(1, 1, 4)]),
    ("interpolate area 3d", lambda x: EF.interpolate(x, size=(2, 2, 1), mode="area"),
     [(1, 1, 3, 4, 3)]),
    ("pixel_shuffle", lambda x: EF.pixel_shuffle(x, 2), [(1, 8, 2, 3)]),
    ("pixel_unshuffle", lambda x: EF.pixel_unshuffle(x, 2), [(1, 2, 4, 6)]),
    ("channel_shuffle", lambda x: EF.channel_shuffle(x, 2), [(1, 4, 2, 2)]),
    ("grid_sample reflection", lambda x, g: EF.grid_sample(
        x, g, padding_mode="reflection", align_corners=False), [(1, 2, 3, 4), (1, 2, 3, 2)]),
    ("grid_sample 3d border", lambda x, g: EF.grid_sample(
        x, g, padding_mode="border", align_corners=True), [(1, 1, 2, 3, 3), (1, 2, 2, 2, 3)]),
    ("affine_grid 3d", lambda t: EF.affine_grid(t, (1, 1, 2, 3, 2), align_corners=False),
     [(1, 3, 4)]),
    ("pad reflect 3d", lambda x: EF.pad(x, (1, 1, 2, 0, 1, 1), mode="reflect"),
     [(1, 1, 3, 3, 3)]),
    ("pad circular 2d", lambda x: EF.pad(x, (1, 2, 2, 1), mode="circular"), [(1, 1, 3, 3)]),
    ("pad replicate 1d", lambda x: EF.pad(x, (3, 1), mode="replicate"), [(1, 2, 3)]),
    ("pad constant negative", lambda x: EF.pad(x, (-1, 2, 1, -1), value=0.5), [(1, 2, 3, 3)]),
]


@pytest.mark.parametrize("case", GRADCHECK, ids=[c[0] for c in GRADCHECK])
def test_gradcheck_float64(case):
    if len(case) == 4:
        _, fn, _, shape = case
        inputs = [_leaf(*shape, positive=True)]
    else:
        _, fn, shapes = case
        inputs = [_leaf(*s) for s in shapes]
    assert gradcheck(fn, inputs)


# ---------------------------------------------------------------------------
# BatchNorm: momentum=None cumulative average and SyncBatchNorm over several train steps
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,kwargs,shape", [
    ("BatchNorm2d", {"momentum": None}, (4, 3, 3, 2)),
    ("SyncBatchNorm", {}, (4, 3, 5)),
    ("SyncBatchNorm", {"momentum": None, "affine": False}, (4, 3, 2, 2)),
    ("BatchNorm3d", {"momentum": 0.5, "eps": 1e-3}, (2, 3, 2, 2, 2)),
])
def test_running_stats_and_eval_after_steps(name, kwargs, shape):
    t_mod = getattr(torch.nn, name)(3, **kwargs)
    e_mod = getattr(ember.nn, name)(3, **kwargs)
    rng = np.random.default_rng(5)
    for step in range(5):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        t_mod(torch.tensor(x))
        e_mod(ember.tensor(x))
    t_sd, e_sd = t_mod.state_dict(), e_mod.state_dict()
    assert list(e_sd) == list(t_sd)
    for key, value in t_sd.items():
        np.testing.assert_allclose(e_sd[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=key)
        assert str(e_sd[key].dtype) == str(value.dtype), key
    t_mod.eval()
    e_mod.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(e_mod(ember.tensor(x)).detach().numpy(),
                               t_mod(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------
# Memory: ResNet-18 forward+backward at batch 8 on 3x224x224 fits in 4 GiB
# ---------------------------------------------------------------------------

def test_resnet18_forward_backward_batch8_peak_rss_under_4gib():
    bench = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "bench")
    sys.path.insert(0, bench)
    try:
        import bench_cnn
    finally:
        sys.path.remove(bench)
    peak_mib = bench_cnn.resnet18_peak_rss_mib()  # a fresh process: its ru_maxrss is ours
    assert peak_mib < 4096, f"peak RSS {peak_mib:.0f} MiB"


# ---------------------------------------------------------------------------
# interpolate: every mode x dims x align_corners x size / scale_factor / recompute
# ---------------------------------------------------------------------------

_INTERP_SHAPES = {1: (2, 3, 7), 2: (2, 3, 5, 6), 3: (1, 2, 3, 4, 5)}
_INTERP_MODES = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "linear": (1,),
                 "bilinear": (2,), "bicubic": (2,), "trilinear": (3,), "area": (1, 2, 3)}
_INTERP_SIZES = {
    "size": lambda nd: dict(size=(4, 9, 3)[:nd]),
    "scale": lambda nd: dict(scale_factor=1.5),
    "scale_tuple": lambda nd: dict(scale_factor=(0.6, 2.3, 1.7)[:nd]),
    "recompute": lambda nd: dict(scale_factor=1.7, recompute_scale_factor=True),
    "no_recompute_down": lambda nd: dict(scale_factor=0.45, recompute_scale_factor=False),
}
INTERP_CASES = [(mode, nd, align, how) for mode, dims in _INTERP_MODES.items() for nd in dims
                for align in ((None,) if mode in ("nearest", "nearest-exact", "area")
                              else (True, False))
                for how in _INTERP_SIZES]


@pytest.mark.parametrize("mode,nd,align,how", INTERP_CASES,
                         ids=[f"{m}-{n}d-{a}-{h}" for m, n, a, h in INTERP_CASES])
def test_interpolate_every_option(mode, nd, align, how):
    kwargs = _INTERP_SIZES[how](nd)
    check(lambda lib, x: F(lib).interpolate(x, mode=mode, align_corners=align, **kwargs),
          randn(*_INTERP_SHAPES[nd]), rtol=1e-4, atol=1e-5)


RESAMPLE_MODULES = [
    "Upsample(scale_factor=2)", "Upsample(size=(7, 4), mode='bilinear', align_corners=True)",
    "Upsample(scale_factor=1.5, mode='bicubic')", "UpsamplingNearest2d(scale_factor=2)",
    "UpsamplingBilinear2d(size=(7, 9))", "PixelShuffle(2)", "PixelUnshuffle(2)",
    "ChannelShuffle(2)",
]


@pytest.mark.parametrize("spec", RESAMPLE_MODULES)
def test_resample_modules(spec):
    e_mod, t_mod, _, _ = check_module(lambda lib: eval("lib.nn." + spec, {"lib": lib}),
                                      randn(2, 4, 4, 6), rtol=1e-4, atol=1e-5)
    assert repr(e_mod) == repr(t_mod)


# ---------------------------------------------------------------------------
# Padding modules: every kind in 1d/2d/3d, int and tuple padding, batched and unbatched
# ---------------------------------------------------------------------------

PAD_MODULES = [(kind, nd, pad, batched)
               for kind in ("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad",
                            "CircularPad")
               for nd in (1, 2, 3) for pad in ("int", "tuple") for batched in (True, False)]


@pytest.mark.parametrize("kind,nd,pad,batched", PAD_MODULES,
                         ids=[f"{k}{n}d-{p}-{'batched' if b else 'unbatched'}"
                              for k, n, p, b in PAD_MODULES])
def test_padding_modules_every_kind(kind, nd, pad, batched):
    padding = 2 if pad == "int" else (1, 2, 0, 1, 2, 1)[:2 * nd]
    extra = ", 0.5" if kind == "ConstantPad" else ""
    spec = f"{kind}{nd}d({padding!r}{extra})"
    shape = {1: (2, 3, 5), 2: (2, 3, 4, 5), 3: (1, 2, 3, 4, 5)}[nd]
    shape = shape if batched else shape[1:]
    e_mod, t_mod, _, _ = check_module(lambda lib: eval("lib.nn." + spec, {"lib": lib}),
                                      randn(*shape))
    assert repr(e_mod) == repr(t_mod)
