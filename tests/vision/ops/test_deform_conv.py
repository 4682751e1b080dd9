"""deform_conv2d / DeformConv2d against a per-tap loop written with torch, and against
conv2d where the offsets are zero or whole pixels."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from oracle import check

import ember
from ember.vision import ops

RNG = np.random.default_rng(17)


def _bilinear(img, y, x):
    """torchvision's deformable bilinear_interpolate of a [C, H, W] map at tensor y, x."""
    height, width = img.shape[-2:]
    yf, xf = float(y.detach()), float(x.detach())
    if yf <= -1 or height <= yf or xf <= -1 or width <= xf:
        return img.new_zeros(img.shape[0])
    y0, x0 = math.floor(yf), math.floor(xf)
    ly, lx = y - y0, x - x0
    total = img.new_zeros(img.shape[0])
    for yc, wy in ((y0, 1 - ly), (y0 + 1, ly)):
        for xc, wx in ((x0, 1 - lx), (x0 + 1, lx)):
            if 0 <= yc < height and 0 <= xc < width:
                total = total + wy * wx * img[:, yc, xc]
    return total


def ref_deform_conv2d(x, offset, weight, bias, stride, padding, dilation, mask):
    b, c_in, _, _ = x.shape
    c_out, c_per_w, kh, kw = weight.shape
    groups_w = c_in // c_per_w
    groups_off = offset.shape[1] // (2 * kh * kw)
    c_per_off = c_in // groups_off
    out_h, out_w = offset.shape[2:]
    outs = []
    for n in range(b):
        columns = []  # one [C_in * KH * KW] column per output position
        for oh in range(out_h):
            for ow in range(out_w):
                taps = []
                for g in range(groups_off):
                    img = x[n, g * c_per_off:(g + 1) * c_per_off]
                    for i in range(kh):
                        for j in range(kw):
                            t = i * kw + j
                            y = oh * stride - padding + i * dilation + offset[n, g * 2 * kh * kw + 2 * t, oh, ow]
                            xx = ow * stride - padding + j * dilation + offset[n, g * 2 * kh * kw + 2 * t + 1, oh, ow]
                            value = _bilinear(img, y, xx)
                            if mask is not None:
                                value = value * mask[n, g * kh * kw + t, oh, ow]
                            taps.append(value)
                # taps: [G * K] of [C / G] -> ordered (channel, tap)
                per_group = torch.stack(taps).reshape(groups_off, kh * kw, c_per_off)
                columns.append(per_group.permute(0, 2, 1).reshape(-1))
        cols = torch.stack(columns, 1).reshape(groups_w, c_per_w * kh * kw, out_h * out_w)
        out = weight.reshape(groups_w, c_out // groups_w, -1) @ cols
        out = out.reshape(c_out, out_h, out_w)
        outs.append(out if bias is None else out + bias[:, None, None])
    return torch.stack(outs)


CASES = [
    # batch, c_in, c_out, size, kernel, stride, padding, dilation, weight groups, offset groups, mask
    (1, 2, 3, (5, 6), 3, 1, 1, 1, 1, 1, False),
    (2, 4, 2, (6, 5), 3, 2, 1, 1, 2, 2, True),
    (1, 3, 2, (7, 7), 2, 1, 0, 2, 1, 1, True),
]


@pytest.mark.parametrize("b,c_in,c_out,size,k,stride,padding,dilation,gw,goff,use_mask", CASES)
def test_deform_conv2d_matches_reference(b, c_in, c_out, size, k, stride, padding, dilation,
                                         gw, goff, use_mask):
    h, w = size
    out_h = (h + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    out_w = (w + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    x = RNG.standard_normal((b, c_in, h, w)).astype(np.float32)
    # offsets up to 2.5 pixels push some taps past the border
    offset = RNG.uniform(-2.5, 2.5, (b, 2 * goff * k * k, out_h, out_w)).astype(np.float32)
    weight = RNG.standard_normal((c_out, c_in // gw, k, k)).astype(np.float32)
    bias = RNG.standard_normal(c_out).astype(np.float32)
    mask = RNG.uniform(0, 1, (b, goff * k * k, out_h, out_w)).astype(np.float32) if use_mask else None

    def fn(lib, x, offset, weight, bias, mask):
        if lib is ember:
            return ops.deform_conv2d(x, offset, weight, bias, stride, padding, dilation, mask)
        return ref_deform_conv2d(x, offset, weight, bias, stride, padding, dilation, mask)
    check(fn, x, offset, weight, bias, mask, rtol=1e-4, atol=1e-5)


def test_zero_and_integer_offsets_are_a_convolution():
    x = torch.randn(2, 4, 6, 7)
    weight = torch.randn(6, 2, 3, 3)
    bias = torch.randn(6)
    zero = torch.zeros(2, 18, 6, 7)
    out = ops.deform_conv2d(ember.tensor(x.numpy()), ember.tensor(zero.numpy()),
                            ember.tensor(weight.numpy()), ember.tensor(bias.numpy()),
                            padding=1)
    expected = TF.conv2d(x, weight, bias, padding=1, groups=2)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
    # every tap shifted by (+1, -1) pixels reads the input shifted the other way
    shift = zero.clone()
    shift[:, 0::2], shift[:, 1::2] = 1.0, -1.0
    moved = ops.deform_conv2d(ember.tensor(x.numpy()), ember.tensor(shift.numpy()),
                              ember.tensor(weight.numpy()), None, padding=1)
    # out[oh, ow] sums w[i, j] * x[oh + i, ow + j - 2] (zero outside): an unpadded conv
    # over z[a, b] = x[a, b - 2], cropped to the output size
    z = TF.pad(x, (3, 3, 3, 3))[:, :, 3:, 1:]
    expected = TF.conv2d(z, weight, groups=2)[:, :, :6, :7]
    np.testing.assert_allclose(moved.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_gradcheck_all_inputs():
    x = ember.tensor(RNG.standard_normal((1, 2, 4, 4)), requires_grad=True)
    # offsets kept off integer coordinates, where the bilinear weights have kinks
    offset = ember.tensor(RNG.uniform(0.1, 0.4, (1, 8, 3, 3))
                          * RNG.choice([-1.0, 1.0], (1, 8, 3, 3)), requires_grad=True)
    weight = ember.tensor(RNG.standard_normal((3, 2, 2, 2)), requires_grad=True)
    bias = ember.tensor(RNG.standard_normal(3), requires_grad=True)
    mask = ember.tensor(RNG.uniform(0, 1, (1, 4, 3, 3)), requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda *a: ops.deform_conv2d(a[0], a[1], a[2], a[3], mask=a[4]),
        (x, offset, weight, bias, mask))


def test_module_and_errors():
    m = ops.DeformConv2d(4, 6, 3, padding=1, groups=2, bias=False)
    assert repr(m) == "DeformConv2d(4, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=2, bias=False)"
    assert repr(ops.DeformConv2d(2, 2, (1, 3), dilation=2)) == \
        "DeformConv2d(2, 2, kernel_size=(1, 3), stride=(1, 1), dilation=(2, 2))"
    assert list(m.state_dict()) == ["weight"] and m.weight.shape == (6, 2, 3, 3)
    x = ember.randn(1, 4, 5, 5)
    offset = ember.zeros(1, 18, 5, 5)
    np.testing.assert_array_equal(m(x, offset).detach().numpy(),
                                  ops.deform_conv2d(x, offset, m.weight, padding=1).detach().numpy())
    bound = 1 / math.sqrt(2 * 9)
    with_bias = ops.DeformConv2d(2, 5, 3)
    assert float(with_bias.bias.detach().abs().max()) <= bound
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        ops.DeformConv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        ops.DeformConv2d(4, 3, 3, groups=2)
    with pytest.raises(RuntimeError, match=r"should be a multiple of 2 \* weight.size\[2\]"):
        ops.deform_conv2d(x, ember.zeros(1, 4, 5, 5), m.weight, padding=1)


def test_double_backward():
    x = ember.tensor(RNG.standard_normal((1, 1, 3, 3)), requires_grad=True)
    offset = ember.tensor(RNG.uniform(0.1, 0.4, (1, 8, 2, 2)), requires_grad=True)
    weight = ember.tensor(RNG.standard_normal((1, 1, 2, 2)), requires_grad=True)
    assert ember.autograd.gradgradcheck(ops.deform_conv2d, (x, offset, weight))
