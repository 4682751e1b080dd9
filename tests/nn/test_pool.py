"""Pooling ops and modules against PyTorch: values, indices, gradients, error texts."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(__file__))
import oracle  # noqa: E402
from module_oracle import check_module  # noqa: E402
from oracle import check, check_raises, rand, randn  # noqa: E402

import ember  # noqa: E402
from ember.autograd import gradcheck, gradgradcheck  # noqa: E402


def F(lib):
    return lib.nn.functional


POOL_CASES = [
    # (name, fn(lib, x), input shape)
    ("max1d", lambda lib, x: F(lib).max_pool1d(x, 3, 2, 1, return_indices=True), (2, 3, 11)),
    ("max1d ceil dil", lambda lib, x: F(lib).max_pool1d(x, 2, 2, 1, 2, ceil_mode=True),
     (2, 3, 10)),
    ("max2d", lambda lib, x: F(lib).max_pool2d(x, 2), (2, 3, 8, 8)),
    ("max2d indices", lambda lib, x: F(lib).max_pool2d(x, 3, 2, 1, return_indices=True),
     (2, 3, 9, 8)),
    ("max2d ceil rect", lambda lib, x: F(lib).max_pool2d(
        x, (3, 2), (2, 3), (1, 0), dilation=(1, 2), ceil_mode=True, return_indices=True),
     (2, 2, 9, 10)),
    ("max2d unbatched", lambda lib, x: F(lib).max_pool2d(x, 2, return_indices=True), (3, 5, 5)),
    ("max3d", lambda lib, x: F(lib).max_pool3d(x, 2, 1, 1, ceil_mode=True, return_indices=True),
     (1, 2, 4, 5, 3)),
    ("avg1d", lambda lib, x: F(lib).avg_pool1d(x, 3, 2, 1, ceil_mode=True), (2, 3, 10)),
    ("avg1d no pad count", lambda lib, x: F(lib).avg_pool1d(x, 3, 2, 1,
                                                            count_include_pad=False), (2, 3, 9)),
    ("avg2d", lambda lib, x: F(lib).avg_pool2d(x, 2), (2, 3, 8, 8)),
    ("avg2d pad ceil", lambda lib, x: F(lib).avg_pool2d(x, 3, 2, 1, ceil_mode=True),
     (2, 3, 8, 9)),
    ("avg2d exclude pad", lambda lib, x: F(lib).avg_pool2d(x, (3, 2), (2, 1), (1, 1), True,
                                                           False), (2, 3, 8, 9)),
    ("avg2d divisor", lambda lib, x: F(lib).avg_pool2d(x, 3, 2, 1, divisor_override=4),
     (1, 2, 7, 7)),
    ("avg3d", lambda lib, x: F(lib).avg_pool3d(x, 2, 2, 1, ceil_mode=True,
                                               count_include_pad=False), (1, 2, 5, 4, 5)),
    ("lp1d", lambda lib, x: F(lib).lp_pool1d(x, 2, 3, 2), (2, 3, 10)),
    ("lp2d", lambda lib, x: F(lib).lp_pool2d(x, 3, (2, 3), ceil_mode=True), (2, 3, 7, 8)),
    ("lp3d", lambda lib, x: F(lib).lp_pool3d(x, 1.5, 2), (1, 2, 4, 4, 4)),
    ("adaptive avg1d", lambda lib, x: F(lib).adaptive_avg_pool1d(x, 4), (2, 3, 10)),
    ("adaptive avg2d", lambda lib, x: F(lib).adaptive_avg_pool2d(x, (3, 5)), (2, 3, 7, 9)),
    ("adaptive avg2d global", lambda lib, x: F(lib).adaptive_avg_pool2d(x, 1), (2, 3, 7, 9)),
    ("adaptive avg2d divisible", lambda lib, x: F(lib).adaptive_avg_pool2d(x, (4, 3)),
     (2, 3, 8, 9)),
    ("adaptive avg2d none", lambda lib, x: F(lib).adaptive_avg_pool2d(x, (None, 4)),
     (2, 3, 5, 9)),
    ("adaptive avg2d upsample", lambda lib, x: F(lib).adaptive_avg_pool2d(x, 7), (1, 2, 4, 5)),
    ("adaptive avg3d", lambda lib, x: F(lib).adaptive_avg_pool3d(x, (2, 3, 2)), (1, 2, 5, 7, 3)),
    ("adaptive max1d", lambda lib, x: F(lib).adaptive_max_pool1d(x, 4, True), (2, 3, 10)),
    ("adaptive max2d", lambda lib, x: F(lib).adaptive_max_pool2d(x, (3, 5), True),
     (2, 3, 7, 9)),
    ("adaptive max2d unbatched", lambda lib, x: F(lib).adaptive_max_pool2d(x, 2, True),
     (3, 5, 5)),
    ("adaptive max3d", lambda lib, x: F(lib).adaptive_max_pool3d(x, (2, 3, 2), True),
     (1, 2, 5, 7, 3)),
]


@pytest.mark.parametrize("name,fn,shape", POOL_CASES, ids=[c[0] for c in POOL_CASES])
def test_pool_matches_torch(name, fn, shape):
    x = randn(*shape)
    if name.startswith("lp"):
        x = np.abs(x) + 0.1  # fractional powers of negatives are NaN in both
    check(fn, x, rtol=1e-5, atol=1e-6)


def test_pool_modules_return_indices():
    x = randn(2, 3, 8, 9)
    for make in (lambda lib: lib.nn.MaxPool2d(3, 2, 1, return_indices=True),
                 lambda lib: lib.nn.AdaptiveMaxPool2d((3, 2), return_indices=True),
                 lambda lib: lib.nn.MaxPool1d(2, return_indices=True)):
        def fn(lib, x, make=make):
            return make(lib)(x if "1d" not in repr(make(lib)) else x[0])

        check(fn, x)


def test_max_pool_ties_nan_and_inf():
    """First maximum in scan order wins ties, a NaN wins its window."""
    x = np.zeros((1, 1, 4, 6), dtype=np.float32)
    x[0, 0, 1, 1] = np.nan
    x[0, 0, 2, 4] = np.inf
    x[0, 0, 3, 0] = -np.inf
    check(lambda lib, x: F(lib).max_pool2d(x, 2, 1, return_indices=True), x, grad=False)
    check(lambda lib, x: F(lib).adaptive_max_pool2d(x, (3, 4), True), x, grad=False)


def test_max_pool_integer_input():
    x = np.random.default_rng(0).integers(-50, 50, (2, 3, 7, 7))

    def pool(lib, x):
        return F(lib).max_pool2d(x, 3, 2, 1, return_indices=True)

    if oracle.DEVICE == "cuda":  # the CUDA kernels are floating-point only
        oracle.raises_on_cuda(pool, [x], NotImplementedError,
                        "\"max_pool2d_with_indices_out_cuda_frame\" not implemented for 'Long'")
    else:
        check(pool, x, grad=False)



@st.composite
def pool_configs(draw):
    nd = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    size = tuple(max(draw(st.integers(1, 8 if nd < 3 else 5)), d * (k - 1) + 1)
                 for k, d in zip(kernel, dilation))
    return nd, kernel, stride, dilation, padding, size, draw(st.booleans())


@settings(max_examples=40, deadline=None)
@given(pool_configs(), st.integers(0, 2**31 - 1))
def test_max_pool_drawn_configurations(config, seed):
    nd, kernel, stride, dilation, padding, size, ceil_mode = config
    x = np.random.default_rng(seed).standard_normal((2, 2) + size)
    op = f"max_pool{nd}d"
    check(lambda lib, x: getattr(F(lib), op)(x, kernel, stride, padding, dilation, ceil_mode,
                                             True), x)


@settings(max_examples=40, deadline=None)
@given(pool_configs(), st.integers(0, 2**31 - 1), st.booleans(), st.sampled_from([None, 3]))
def test_avg_pool_drawn_configurations(config, seed, count_include_pad, divisor):
    nd, kernel, stride, _, padding, size, ceil_mode = config
    padding = tuple(min(p, k // 2) for p, k in zip(padding, kernel))
    x = np.random.default_rng(seed).standard_normal((2, 2) + size)
    op = f"avg_pool{nd}d"
    extra = () if nd == 1 else (divisor,)
    check(lambda lib, x: getattr(F(lib), op)(x, kernel, stride, padding, ceil_mode,
                                             count_include_pad, *extra), x)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.data(), st.integers(0, 2**31 - 1))
def test_adaptive_pools_drawn_configurations(nd, data, seed):
    size = tuple(data.draw(st.integers(1, 9 if nd < 3 else 5)) for _ in range(nd))
    out = tuple(data.draw(st.integers(1, 6)) for _ in range(nd))
    x = np.random.default_rng(seed).standard_normal((2, 3) + size)
    check(lambda lib, x: getattr(F(lib), f"adaptive_avg_pool{nd}d")(x, out), x)
    check(lambda lib, x: getattr(F(lib), f"adaptive_max_pool{nd}d")(x, out, True), x)


FRACTIONAL_CASES = [
    ("2d size", 2, (2, 3, 9, 8), dict(kernel_size=(2, 3), output_size=(5, 4))),
    ("2d ratio", 2, (2, 3, 10, 8), dict(kernel_size=2, output_ratio=(0.5, 0.6))),
    ("2d unbatched", 2, (3, 7, 7), dict(kernel_size=3, output_size=3)),
    ("2d output 1", 2, (1, 2, 5, 5), dict(kernel_size=2, output_size=(1, 4))),
    ("3d", 3, (2, 2, 5, 6, 7), dict(kernel_size=(2, 2, 3), output_size=(3, 4, 3))),
]


@pytest.mark.parametrize("name,nd,shape,kwargs", FRACTIONAL_CASES,
                         ids=[c[0] for c in FRACTIONAL_CASES])
def test_fractional_max_pool_matches_torch(name, nd, shape, kwargs):
    x = randn(*shape)
    batch = shape[0] if len(shape) == nd + 2 else 1
    samples = rand(batch, shape[-nd - 1], nd)
    op = f"fractional_max_pool{nd}d"

    def fn(lib, x):
        s = lib.tensor(samples)
        return getattr(F(lib), op)(x, return_indices=True, _random_samples=s, **kwargs)

    check(fn, x)


def test_max_unpool_round_trip():
    def fn2(lib, x):
        y, idx = F(lib).max_pool2d(x, 2, 2, return_indices=True)
        return F(lib).max_unpool2d(y * 3, idx, 2, output_size=x.shape)

    check(fn2, randn(2, 3, 7, 8))

    def fn1(lib, x):
        y, idx = F(lib).max_pool1d(x, 3, 3, return_indices=True)
        return F(lib).max_unpool1d(y, idx, 3)

    check(fn1, randn(2, 3, 9))

    def fn3(lib, x):
        y, idx = F(lib).max_pool3d(x, 2, return_indices=True)
        return F(lib).max_unpool3d(y, idx, 2)

    check(fn3, randn(1, 2, 4, 4, 6))


def _leaf(*shape, positive=False):
    data = np.random.default_rng(sum(shape)).standard_normal(shape)
    if positive:
        data = np.abs(data) + 0.5
    return ember.tensor(data, requires_grad=True)


GRADCHECK_CASES = [
    ("max_pool2d", lambda x: F(ember).max_pool2d(x, 2, 1, 1), (1, 2, 4, 4)),
    ("max_pool1d", lambda x: F(ember).max_pool1d(x, 3, 2, 1, ceil_mode=True), (1, 2, 6)),
    ("avg_pool2d", lambda x: F(ember).avg_pool2d(x, 3, 2, 1, ceil_mode=True,
                                                 count_include_pad=False), (1, 2, 5, 5)),
    ("avg_pool3d", lambda x: F(ember).avg_pool3d(x, 2, 1), (1, 1, 3, 3, 3)),
    ("lp_pool2d", lambda x: F(ember).lp_pool2d(x, 2, 2), (1, 2, 4, 4)),
    ("adaptive_avg_pool2d", lambda x: F(ember).adaptive_avg_pool2d(x, (2, 3)), (1, 2, 5, 4)),
    ("adaptive_max_pool2d", lambda x: F(ember).adaptive_max_pool2d(x, (2, 3)), (1, 2, 5, 4)),
    ("fractional_max_pool2d", lambda x: F(ember).fractional_max_pool2d(
        x, 2, output_size=3, _random_samples=ember.tensor([[[0.3, 0.7]]], dtype=ember.float64)),
     (1, 1, 5, 5)),
]


@pytest.mark.parametrize("name,fn,shape", GRADCHECK_CASES, ids=[c[0] for c in GRADCHECK_CASES])
def test_gradcheck(name, fn, shape):
    x = _leaf(*shape, positive=name.startswith("lp"))
    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


def test_max_unpool_gradcheck():
    idx = ember.tensor([[[[0, 3], [9, 14]]]])
    assert gradcheck(lambda x: F(ember).max_unpool2d(x, idx, 2), [_leaf(1, 1, 2, 2)])


ERROR_CASES = [
    ("max2d output too small", lambda lib, x: F(lib).max_pool2d(x, 3), (1, 1, 2, 2),
     r"Given input size: \(1x2x2\). Calculated output size: \(1x0x0\). Output size is too "
     r"small"),
    ("max2d pad too big", lambda lib, x: F(lib).max_pool2d(x, 3, padding=2), (1, 1, 5, 5),
     r"pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and "
     r"dilation=1"),
    ("max1d pad too big", lambda lib, x: F(lib).max_pool1d(x, 3, padding=2), (1, 1, 5),
     r"max_pool1d\(\) padding should be at most half of kernel size, but got padding=2 and "
     r"kernel_size=3"),
    ("max2d dilated pad", lambda lib, x: F(lib).max_pool2d(x, 3, padding=2, dilation=2),
     (1, 1, 9, 9), r"pad should be smaller than or equal to half of kernel size, but got "
                   r"padW = 2, padH = 2, kW = 3, kH = 3"),
    ("max3d pad", lambda lib, x: F(lib).max_pool3d(x, 3, padding=2), (1, 1, 9, 9, 9),
     r"but got kT: 3 kW: 3 kH: 3 padT: 2 padW: 2 padH: 2"),
    ("max1d too small", lambda lib, x: F(lib).max_pool1d(x, 3), (1, 1, 2),
     r"max_pool1d\(\) Invalid computed output size: 0"),
    ("avg2d too small", lambda lib, x: F(lib).avg_pool2d(x, 3), (1, 1, 2, 2),
     r"Output size is too small"),
    ("avg3d too small", lambda lib, x: F(lib).avg_pool3d(x, 3), (1, 1, 2, 2, 2),
     r"input image \(T: 2 H: 2 W: 2\) smaller than kernel size \(kT: 3 kH: 3 kW: 3\)"),
    ("zero stride", lambda lib, x: F(lib).max_pool2d(x, 2, stride=0), (1, 1, 5, 5),
     r"stride should not be zero"),
    ("adaptive rank", lambda lib, x: F(lib).adaptive_avg_pool2d(x, 2), (1, 1, 1, 5, 5),
     r"adaptive_avg_pool2d\(\): Expected 3D or 4D tensor, but got \[1, 1, 1, 5, 5\]"),
    ("fractional too large", lambda lib, x: F(lib).fractional_max_pool2d(x, 3, output_size=4),
     (1, 1, 5, 5), r"fractional_max_pool2d\(\): pool height 3 too large relative to input "
                   r"height 5"),
    ("module fractional args", lambda lib, x: lib.nn.FractionalMaxPool2d(2), (1,),
     r"FractionalMaxPool2d requires specifying either an output size, or a pooling ratio"),
    ("module fractional ratio", lambda lib, x: lib.nn.FractionalMaxPool2d(2, output_ratio=1.5),
     (1,), r"output_ratio must be between 0 and 1 \(got 1.5\)"),
]


@pytest.mark.parametrize("name,fn,shape,match", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_match_torch(name, fn, shape, match):
    check_raises(fn, randn(*shape), match=match)


def test_unpool_invalid_index():
    def fn(lib, x):
        return F(lib).max_unpool2d(x, lib.tensor([[[[0, 1], [2, 30]]]]), 2)

    check_raises(fn, randn(1, 1, 2, 2),
                 match=r"Found an invalid max index: 30 \(output volumes are of size 4x4")


MODULE_CASES = [
    ("MaxPool1d", lambda lib: lib.nn.MaxPool1d(3, 2, 1), (2, 3, 9)),
    ("MaxPool2d", lambda lib: lib.nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
     (2, 3, 8, 9)),
    ("MaxPool3d", lambda lib: lib.nn.MaxPool3d(2), (1, 2, 4, 4, 4)),
    ("AvgPool1d", lambda lib: lib.nn.AvgPool1d(3, 2, 1), (2, 3, 9)),
    ("AvgPool2d", lambda lib: lib.nn.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 8, 9)),
    ("AvgPool3d", lambda lib: lib.nn.AvgPool3d(2, divisor_override=3), (1, 2, 4, 4, 4)),
    ("LPPool1d", lambda lib: lib.nn.LPPool1d(2, 3), (2, 3, 9)),
    ("LPPool2d", lambda lib: lib.nn.LPPool2d(2, 2), (2, 3, 8, 8)),
    ("LPPool3d", lambda lib: lib.nn.LPPool3d(2, 2), (1, 2, 4, 4, 4)),
    ("AdaptiveAvgPool1d", lambda lib: lib.nn.AdaptiveAvgPool1d(4), (2, 3, 9)),
    ("AdaptiveAvgPool2d", lambda lib: lib.nn.AdaptiveAvgPool2d((1, 1)), (2, 3, 8, 9)),
    ("AdaptiveAvgPool3d", lambda lib: lib.nn.AdaptiveAvgPool3d(2), (1, 2, 4, 5, 4)),
    ("AdaptiveMaxPool1d", lambda lib: lib.nn.AdaptiveMaxPool1d(4), (2, 3, 9)),
    ("AdaptiveMaxPool2d", lambda lib: lib.nn.AdaptiveMaxPool2d((3, 2)), (2, 3, 8, 9)),
    ("AdaptiveMaxPool3d", lambda lib: lib.nn.AdaptiveMaxPool3d(2), (1, 2, 4, 5, 4)),
]


@pytest.mark.parametrize("name,make,shape", MODULE_CASES, ids=[c[0] for c in MODULE_CASES])
def test_modules_match_torch(name, make, shape):
    x = randn(*shape)
    if name.startswith("LP"):
        x = np.abs(x) + 0.1
    e_mod, t_mod, _, _ = check_module(make, x, rtol=1e-5, atol=1e-6)
    assert repr(e_mod) == repr(t_mod)


def test_fractional_and_unpool_modules():
    samples = rand(2, 3, 2)

    def make(lib):
        return lib.nn.FractionalMaxPool2d(2, output_size=(4, 3),
                                          _random_samples=lib.tensor(samples))

    e_mod, t_mod, _, _ = check_module(make, randn(2, 3, 8, 7))
    assert list(e_mod.state_dict()) == list(t_mod.state_dict()) == ["_random_samples"]
    assert repr(e_mod) == repr(t_mod)
    assert repr(ember.nn.MaxUnpool2d(2)) == repr(torch.nn.MaxUnpool2d(2))
    y, idx = ember.nn.MaxPool2d(2, return_indices=True)(ember.tensor(randn(1, 1, 4, 4)))
    assert tuple(ember.nn.MaxUnpool2d(2)(y, idx).shape) == (1, 1, 4, 4)


def test_fractional_without_samples_draws_them():
    out = F(ember).fractional_max_pool2d(ember.randn(2, 3, 9, 9), 2, output_ratio=0.5)
    assert tuple(out.shape) == (2, 3, 4, 4)


def test_empty_batch():
    x = randn(0, 3, 6, 6)
    check(lambda lib, x: F(lib).max_pool2d(x, 2, return_indices=True), x)
    check(lambda lib, x: F(lib).avg_pool2d(x, 2), x)


@pytest.mark.parametrize("fn,output_size,nd", [
    ("adaptive_avg_pool1d", 0, 1), ("adaptive_avg_pool2d", 0, 2), ("adaptive_avg_pool2d", (0, 2), 2),
    ("adaptive_avg_pool2d", (2, 0), 2), ("adaptive_avg_pool3d", 0, 3), ("adaptive_max_pool2d", 0, 2),
])
def test_adaptive_pool_to_an_empty_output(fn, output_size, nd):
    """An output size of 0 gives an empty result, as PyTorch's forward (not a crash)."""
    results = []
    for lib in (torch, ember):
        out = getattr(lib.nn.functional, fn)(lib.ones((1, 2) + (4,) * nd), output_size)
        results.append((tuple(out.shape), str(out.dtype)))
    assert results[1] == results[0]


# bfloat16 (ml_dtypes' 'V' kind): max pools fill padding with -inf, 1-d/2-d average pools
# sum in float32 and cast back, as PyTorch's kernels (3-d average pooling refuses it).
@pytest.mark.parametrize("name, fn", [
    ("max_pool2d", lambda F, t: F.max_pool2d(t, 3, 2, 1)),
    ("max_pool1d", lambda F, t: F.max_pool1d(t[0], 2)),
    ("max_pool3d", lambda F, t: F.max_pool3d(t[None], 2)),
    ("max_unpool2d", lambda F, t: F.max_unpool2d(*F.max_pool2d(t, 2, return_indices=True), 2)),
    ("avg_pool2d", lambda F, t: F.avg_pool2d(t, 3, 2, 1)),
    ("avg_pool1d", lambda F, t: F.avg_pool1d(t[0], 3)),
])
def test_pools_take_bfloat16_like_torch(name, fn):
    check(lambda lib, x: fn(lib.nn.functional, x.to(lib.bfloat16)),
          np.sin(np.arange(144, dtype=np.float32)).reshape(1, 4, 6, 6) * 3,
          rtol=1e-2, atol=2e-2)


def test_avg_pool3d_refuses_bfloat16_like_torch():
    from oracle import check_raises

    check_raises(lambda lib, x: lib.nn.functional.avg_pool3d(x.to(lib.bfloat16), 2),
                 np.ones((1, 1, 2, 2, 2), np.float32))


@pytest.mark.parametrize("name, fn", [
    ("max_pool2d padded", lambda lib, t: lib.nn.functional.max_pool2d(t, 3, 2, 1)),
    ("max_pool2d indices", lambda lib, t: lib.nn.functional.max_pool2d(
        t, 2, return_indices=True)[1]),
    ("avg_pool2d", lambda lib, t: lib.nn.functional.avg_pool2d(t, 3, 2, 1)),
    ("max_pool3d", lambda lib, t: lib.nn.functional.max_pool3d(
        t[None].to(memory_format=lib.channels_last_3d), 2)),
])
def test_pools_keep_channels_last_like_torch(name, fn):
    strides = []
    for lib in (ember, torch):
        x = lib.arange(2 * 3 * 6 * 6, dtype=lib.float32).reshape(2, 3, 6, 6).sin()
        x = x.to(memory_format=lib.channels_last).requires_grad_()
        strides.append(fn(lib, x).stride())
    assert strides[0] == strides[1]
