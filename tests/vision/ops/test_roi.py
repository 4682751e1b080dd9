"""RoI Align / RoI Pool and their position-sensitive variants against per-bin loops in torch.

The references follow torchvision's documented C++ kernels step by step (one RoI, one
bin, one sample point at a time, coordinates in the input's dtype), so values and input
gradients are compared through the oracle; hand-checked values on a linear ramp and
float64 gradchecks complete the picture.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from oracle import check

import ember
from ember.vision import ops

RNG = np.random.default_rng(5)


def _scalar_type(t):
    return np.float32 if t.dtype == torch.float32 else np.float64


def _bilinear(img, y, x):
    """torchvision's bilinear_interpolate for one point of a [C, H, W] map."""
    height, width = img.shape[-2:]
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return img.new_zeros(img.shape[0])
    y, x = max(y, 0), max(x, 0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_high = y_low = height - 1
        y = type(y)(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_high = x_low = width - 1
        x = type(x)(x_low)
    else:
        x_high = x_low + 1
    ly, lx = float(y - y_low), float(x - x_low)
    hy, hx = 1.0 - ly, 1.0 - lx
    return (hy * hx * img[:, y_low, x_low] + hy * lx * img[:, y_low, x_high]
            + ly * hx * img[:, y_high, x_low] + ly * lx * img[:, y_high, x_high])


def ref_roi_align(input, rois, out_h, out_w, scale, sampling_ratio, aligned,
                  position_sensitive=False):
    T = _scalar_type(input)
    offset = T(0.5) if aligned or position_sensitive else T(0.0)
    outs = []
    for roi in rois.detach().numpy().astype(T):
        img = input[int(roi[0])]
        sw, sh, ew, eh = (roi[1:] * T(scale) - offset)
        rw, rh = ew - sw, eh - sh
        if not (aligned or position_sensitive):
            rw, rh = max(rw, T(1)), max(rh, T(1))
        bh, bw = rh / T(out_h), rw / T(out_w)
        gh = sampling_ratio if sampling_ratio > 0 else math.ceil(rh / T(out_h))
        gw = sampling_ratio if sampling_ratio > 0 else math.ceil(rw / T(out_w))
        count = gh * gw if position_sensitive else max(gh * gw, 1)
        channels = img.shape[0] // (out_h * out_w) if position_sensitive else img.shape[0]
        bins = []
        for ph in range(out_h):
            for pw in range(out_w):
                acc = img.new_zeros(img.shape[0])
                for iy in range(gh):
                    y = sh + T(ph) * bh + T(iy + 0.5) * bh / T(gh)
                    for ix in range(gw):
                        x = sw + T(pw) * bw + T(ix + 0.5) * bw / T(gw)
                        acc = acc + _bilinear(img, y, x)
                if position_sensitive:
                    acc = acc[[(c * out_h + ph) * out_w + pw for c in range(channels)]]
                bins.append(acc / count)
        outs.append(torch.stack(bins, -1).reshape(channels, out_h, out_w))
    return torch.stack(outs)


def ref_roi_pool(input, rois, out_h, out_w, scale, position_sensitive=False):
    T = _scalar_type(input)
    height, width = input.shape[-2:]
    outs = []
    for roi in rois.detach().numpy().astype(T):
        img = input[int(roi[0])]
        sw, sh, ew, eh = (int(math.copysign(math.floor(abs(v) + 0.5), v))
                          for v in roi[1:] * T(scale))
        plus = 0 if position_sensitive else 1
        rw, rh = max(ew - sw + plus, 1), max(eh - sh + plus, 1)
        bh, bw = T(rh) / T(out_h), T(rw) / T(out_w)
        channels = img.shape[0] // (out_h * out_w) if position_sensitive else img.shape[0]
        bins = []
        for ph in range(out_h):
            for pw in range(out_w):
                h0 = min(max(int(np.floor(T(ph) * bh)) + sh, 0), height)
                h1 = min(max(int(np.ceil(T(ph + 1) * bh)) + sh, 0), height)
                w0 = min(max(int(np.floor(T(pw) * bw)) + sw, 0), width)
                w1 = min(max(int(np.ceil(T(pw + 1) * bw)) + sw, 0), width)
                if h1 <= h0 or w1 <= w0:
                    bins.append(img.new_zeros(channels))
                    continue
                if position_sensitive:
                    chans = [(c * out_h + ph) * out_w + pw for c in range(channels)]
                    bins.append(img[chans, h0:h1, w0:w1].mean((1, 2)))
                else:
                    bins.append(img[:, h0:h1, w0:w1].reshape(channels, -1).max(1).values)
        outs.append(torch.stack(bins, -1).reshape(channels, out_h, out_w))
    return torch.stack(outs)


def rois(k, n_images=2, size=(7, 8), spill=1.5, dtype=np.float32):
    """Random RoIs, some reaching past the map (by up to ``spill`` pixels)."""
    height, width = size
    x1 = RNG.uniform(-spill, width - 1, k)
    y1 = RNG.uniform(-spill, height - 1, k)
    x2 = x1 + RNG.uniform(0.3, width / 1.5, k)
    y2 = y1 + RNG.uniform(0.3, height / 1.5, k)
    batch = RNG.integers(0, n_images, k)
    return np.stack([batch, x1, y1, x2, y2], 1).astype(dtype)


def feature(n=2, c=3, h=7, w=8, dtype=np.float32):
    return RNG.standard_normal((n, c, h, w)).astype(dtype)


ALIGN_CASES = [
    # output_size, spatial_scale, sampling_ratio, aligned
    (2, 1.0, 2, False),
    ((3, 2), 1.0, -1, False),
    (3, 0.5, -1, True),
    ((2, 3), 1.0, 1, True),
    (2, 2.0, 0, False),
]


@pytest.mark.parametrize("output_size,scale,sampling_ratio,aligned", ALIGN_CASES)
def test_roi_align(output_size, scale, sampling_ratio, aligned):
    out_h, out_w = (output_size, output_size) if isinstance(output_size, int) else output_size

    def fn(lib, x, r):
        if lib is ember:
            return ops.roi_align(x, r, output_size, scale, sampling_ratio, aligned)
        return ref_roi_align(x, r, out_h, out_w, scale, sampling_ratio, aligned)
    check(fn, feature(), rois(5, spill=2.5 / scale), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("sampling_ratio", [2, -1])
def test_ps_roi_align(sampling_ratio):
    def fn(lib, x, r):
        if lib is ember:
            return ops.ps_roi_align(x, r, (2, 3), 0.5, sampling_ratio)
        return ref_roi_align(x, r, 2, 3, 0.5, sampling_ratio, True, position_sensitive=True)
    check(fn, feature(c=12, h=6, w=7), rois(4, size=(12, 14)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("output_size,scale", [(2, 1.0), ((3, 2), 0.5), (4, 1.0)])
def test_roi_pool(output_size, scale):
    out_h, out_w = (output_size, output_size) if isinstance(output_size, int) else output_size

    def fn(lib, x, r):
        if lib is ember:
            return ops.roi_pool(x, r, output_size, scale)
        return ref_roi_pool(x, r, out_h, out_w, scale)
    check(fn, feature(), rois(5, spill=2.0 / scale))


@pytest.mark.parametrize("output_size,scale", [(2, 1.0), ((2, 3), 0.5)])
def test_ps_roi_pool(output_size, scale):
    out_h, out_w = (output_size, output_size) if isinstance(output_size, int) else output_size

    def fn(lib, x, r):
        if lib is ember:
            return ops.ps_roi_pool(x, r, output_size, scale)
        return ref_roi_pool(x, r, out_h, out_w, scale, position_sensitive=True)
    check(fn, feature(c=2 * out_h * out_w), rois(4, spill=1.0 / scale))


def test_float64_and_list_boxes():
    x = feature(dtype=np.float64)
    r = rois(4, dtype=np.float64)
    ex, tx = ember.tensor(x), torch.from_numpy(x)
    out = ops.roi_align(ex, ember.tensor(r), 3, 1.0, -1, True)
    ref = ref_roi_align(tx, torch.from_numpy(r), 3, 3, 1.0, -1, True)
    assert out.dtype == ember.float64
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12, atol=1e-12)
    # boxes as a list of per-image Tensor[L, 4] mean image i for entry i
    per_image = [ember.tensor(r[r[:, 0] == i, 1:]) for i in range(2)]
    stacked = np.concatenate([r[r[:, 0] == i] for i in range(2)])
    for op in (ops.roi_align, ops.roi_pool):
        np.testing.assert_array_equal(op(ex, per_image, 2).numpy(),
                                      op(ex, ember.tensor(stacked), 2).numpy())


def test_hand_values_on_a_ramp():
    # f(y, x) = x + 10 y is linear, so each bilinear bin average is f at the bin centre.
    ramp = (ember.arange(8.0)[None, :] + 10 * ember.arange(8.0)[:, None])[None, None]
    box = ember.tensor([[0., 1., 1., 5., 5.]])
    np.testing.assert_allclose(ops.roi_align(ramp, box, 2, sampling_ratio=2).numpy()[0, 0],
                               [[22, 24], [42, 44]], rtol=1e-6)
    np.testing.assert_allclose(
        ops.roi_align(ramp, box, 2, sampling_ratio=2, aligned=True).numpy()[0, 0],
        [[16.5, 18.5], [36.5, 38.5]], rtol=1e-6)
    # roi_pool: box (0,0)-(3,3) covers 4x4 pixels, bins of 2: each bin's bottom-right
    grid = ember.arange(64.0).reshape(1, 1, 8, 8)
    np.testing.assert_array_equal(
        ops.roi_pool(grid, ember.tensor([[0., 0., 0., 3., 3.]]), 2).numpy()[0, 0],
        [[9, 11], [25, 27]])
    # a box entirely outside the map pools to zeros
    far = ember.tensor([[0., 20., 20., 30., 30.]])
    assert float(ops.roi_align(ramp, far, 2).abs().sum()) == 0.0
    assert float(ops.roi_pool(ramp, far, 2).abs().sum()) == 0.0


def test_empty_rois_and_modules():
    x = ember.tensor(feature())
    assert ops.roi_align(x, ember.zeros((0, 5)), 3).shape == (0, 3, 3, 3)
    assert ops.roi_pool(x, ember.zeros((0, 5)), (2, 4)).shape == (0, 3, 2, 4)
    r = ember.tensor(rois(3))
    mod = ops.RoIAlign((2, 2), spatial_scale=0.5, sampling_ratio=2, aligned=True)
    np.testing.assert_array_equal(mod(x, r).numpy(), ops.roi_align(x, r, (2, 2), 0.5, 2, True).numpy())
    assert repr(mod) == "RoIAlign(output_size=(2, 2), spatial_scale=0.5, sampling_ratio=2, aligned=True)"
    pool = ops.RoIPool(3, 1.0)
    np.testing.assert_array_equal(pool(x, r).numpy(), ops.roi_pool(x, r, 3).numpy())
    assert repr(pool) == "RoIPool(output_size=3, spatial_scale=1.0)"
    assert repr(ops.PSRoIAlign(2, 0.25, -1)) == \
        "PSRoIAlign(output_size=2, spatial_scale=0.25, sampling_ratio=-1)"
    assert repr(ops.PSRoIPool(2, 0.25)) == "PSRoIPool(output_size=2, spatial_scale=0.25)"


def test_bad_boxes():
    x = ember.tensor(feature())
    with pytest.raises(AssertionError, match=r"not correct as Tensor\[K, 5\]"):
        ops.roi_align(x, ember.zeros((2, 4)), 2)
    with pytest.raises(AssertionError, match=r"List\[Tensor\[L, 4\]\]"):
        ops.roi_pool(x, [ember.zeros((2, 5))], 2)
    with pytest.raises(RuntimeError, match="input channels must be a multiple of pooling"):
        ops.ps_roi_align(x, ember.tensor(rois(2)), 2)


@pytest.mark.parametrize("op,kwargs", [
    (ops.roi_align, {"sampling_ratio": -1, "aligned": False}),
    (ops.roi_align, {"sampling_ratio": 2, "aligned": True}),
    (ops.ps_roi_align, {"sampling_ratio": 2}),
    (ops.roi_pool, {}),
    (ops.ps_roi_pool, {}),
])
def test_gradcheck(op, kwargs):
    x = ember.tensor(feature(1, 4, 5, 6, dtype=np.float64), requires_grad=True)
    r = ember.tensor(np.array([[0, 0.3, 0.6, 4.2, 3.9], [0, 2.2, 1.1, 5.4, 4.6]]))
    assert ember.autograd.gradcheck(lambda t: op(t, r, 2, 1.0, **kwargs), (x,))


def test_roi_align_double_backward():
    # built from matmuls, so its gradient is differentiable again (torchvision's is not)
    x = ember.tensor(feature(1, 2, 4, 5, dtype=np.float64), requires_grad=True)
    r = ember.tensor(np.array([[0, 0.3, 0.6, 3.2, 2.9]]))
    assert ember.autograd.gradgradcheck(lambda t: ops.roi_align(t, r, 2, 1.0, 2, True) ** 2, (x,))


def test_boxes_must_match_the_input_dtype():
    x = ember.tensor(feature())
    with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'input' to have the "
                       r"same type as tensor for argument #2 'rois'; but type torch.FloatTensor "
                       r"does not equal torch.DoubleTensor \(while checking arguments for "
                       "roi_align_forward_kernel\\)"):
        ops.roi_align(x, ember.tensor(rois(2, dtype=np.float64)), 2)
    with pytest.raises(RuntimeError, match="roi_pool_forward_kernel"):
        ops.roi_pool(x, [ember.zeros((1, 4), dtype=ember.float64)], 2)
