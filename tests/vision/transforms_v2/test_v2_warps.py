"""v2 affine/rotate on images against torch running torchvision v2's warp (inverse
matrix, normalised affine grid, grid_sample with a ones channel carrying the fill):
exact on uint8, assert_close on float32."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember
from ember.vision import tv_tensors as T
from ember.vision.transforms import v2
from ember.vision.transforms.v2 import functional as F

RNG = np.random.default_rng(8)


def inverse_affine(center, angle, translate, scale, shear):
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [x / scale for x in (d, -b, 0.0, -c, a, 0.0)]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty) + cx
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty) + cy
    return m


def expanded_size(m, w, h):
    pts = torch.tensor([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                        [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]])
    new = pts @ torch.tensor(m, dtype=torch.float).view(2, 3).T
    halves = torch.tensor((0.5 * w, 0.5 * h))
    low, high = new.amin(0) + halves, new.amax(0) + halves
    size = (high * 1e4).trunc() * 1e-4
    size = size.ceil() - ((low * 1e4).trunc() * 1e-4).floor()
    return int(size[0]), int(size[1])


def ref_warp(t, m, mode, fill, expand=False):
    h, w = t.shape[-2:]
    dtype = t.dtype if t.is_floating_point() else torch.float32
    ow, oh = expanded_size(m, w, h) if expand else (w, h)
    base = torch.empty(1, oh, ow, 3, dtype=dtype)
    base[..., 0].copy_(torch.linspace((1.0 - ow) * 0.5, (ow - 1.0) * 0.5, steps=ow))
    base[..., 1].copy_(torch.linspace((1.0 - oh) * 0.5, (oh - 1.0) * 0.5, steps=oh)[:, None])
    base[..., 2].fill_(1)
    theta = torch.tensor(m, dtype=dtype).reshape(1, 2, 3).transpose(1, 2)
    theta = theta / torch.tensor([0.5 * w, 0.5 * h], dtype=dtype)
    grid = base.view(1, oh * ow, 3).bmm(theta).view(1, oh, ow, 2)
    x = t.reshape(-1, *t.shape[-3:]).to(dtype)
    grid = grid.expand(x.shape[0], -1, -1, -1)
    if fill is not None:
        x = torch.cat((x, torch.ones((x.shape[0], 1, h, w), dtype=dtype)), 1)
    x = torch.nn.functional.grid_sample(x, grid, mode=mode, padding_mode="zeros",
                                        align_corners=False)
    if fill is not None:
        x, mask = x[:, :-1], x[:, -1:].expand_as(x[:, :-1])
        fill_img = torch.tensor(fill if isinstance(fill, list) else [float(fill)],
                                dtype=dtype).view(1, -1, 1, 1)
        if mode == "nearest":
            x = torch.where(mask < 0.5, fill_img.expand_as(x), x)
        else:
            x = (x - fill_img) * mask + fill_img
    out = x if t.is_floating_point() else x.round().to(t.dtype)
    return out.reshape(*t.shape[:-2], oh, ow)


def compare(got, expected, uint8_atol=0):
    assert type(got) is T.Image
    if expected.is_floating_point():
        # ember builds the sampling grid in float64 and rounds it once, torchvision in
        # float32: coordinates differ by an ulp, which a steep fill edge turns into ~1e-5
        torch.testing.assert_close(torch.from_numpy(got.numpy()), expected, rtol=1e-5,
                                   atol=5e-5)
    else:
        np.testing.assert_allclose(got.numpy().astype(int), expected.numpy().astype(int),
                                   rtol=0, atol=uint8_atol)


@pytest.mark.parametrize("kind", ["uint8", "float32"])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill", [None, 7.0, [1.0, 2.0, 3.0]])
def test_affine_and_rotate_against_torch_reference(kind, mode, fill):
    for _ in range(3):
        shape = (3, 10, 13)
        data = (RNG.integers(0, 256, shape, dtype=np.uint8) if kind == "uint8"
                else RNG.random(shape).astype(np.float32))
        angle = float(RNG.uniform(-60, 60))
        translate = [int(RNG.integers(-3, 4)), int(RNG.integers(-3, 4))]
        scale = float(RNG.uniform(0.7, 1.3))
        shear = [float(RNG.uniform(-10, 10)), float(RNG.uniform(-10, 10))]
        image = T.Image(ember.tensor(data))
        m = inverse_affine([0.0, 0.0], angle, translate, scale, shear)
        compare(F.affine(image, angle, translate, scale, shear, interpolation=mode, fill=fill),
                ref_warp(torch.tensor(data), m, mode, fill))
        m = inverse_affine([0.0, 0.0], -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
        compare(F.rotate(image, angle, interpolation=mode, expand=True, fill=fill),
                ref_warp(torch.tensor(data), m, mode, fill, expand=True))


def perspective_coeffs(startpoints, endpoints):
    """torchvision's least squares for the output -> input homography, in float64."""
    a_matrix = torch.zeros(8, 8, dtype=torch.float64)
    for i, (p1, p2) in enumerate(zip(endpoints, startpoints)):
        a_matrix[2 * i] = torch.tensor([p1[0], p1[1], 1, 0, 0, 0, -p2[0] * p1[0],
                                        -p2[0] * p1[1]])
        a_matrix[2 * i + 1] = torch.tensor([0, 0, 0, p1[0], p1[1], 1, -p2[1] * p1[0],
                                            -p2[1] * p1[1]])
    b_matrix = torch.tensor(startpoints, dtype=torch.float64).view(8)
    return torch.linalg.lstsq(a_matrix, b_matrix, driver="gels").solution.to(torch.float32)


@pytest.mark.parametrize("use_coefficients", [False, True])
def test_perspective_boxes_against_torch_reference(use_coefficients):
    start = [[0, 0], [23, 0], [23, 19], [0, 19]]
    end = [[2, 1], [21, 3], [22, 18], [1, 17]]
    boxes = np.array([[6.0, 5.0, 15.0, 12.0], [0.0, 0.0, 24.0, 20.0], [20.0, 2.0, 23.0, 9.0]])
    coeffs = perspective_coeffs(start, end)
    homography = torch.cat([coeffs.double(), torch.ones(1, dtype=torch.float64)]).view(3, 3)
    forward = torch.linalg.inv(homography)
    b = torch.tensor(boxes)
    corners = torch.stack([b[:, [0, 1]], b[:, [2, 1]], b[:, [2, 3]], b[:, [0, 3]]], 1)
    points = torch.cat([corners, torch.ones(3, 4, 1, dtype=torch.float64)], -1) @ forward.T
    points = points[..., :2] / points[..., 2:]
    ref = torch.cat([points.amin(1), points.amax(1)], 1)
    ref = torch.minimum(ref.clamp(min=0), torch.tensor([24.0, 20, 24, 20], dtype=ref.dtype))
    arg = T.BoundingBoxes(boxes, format="XYXY", canvas_size=(20, 24))
    if use_coefficients:
        out = F.perspective(arg, None, None, coefficients=coeffs.tolist())
    else:
        out = F.perspective(arg, start, end)
    assert type(out) is T.BoundingBoxes and out.canvas_size == (20, 24)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="shouldn't be defined concurrently"):
        F.perspective(arg, start, end, coefficients=coeffs.tolist())


def ref_blur(t, kernel_size, sigma):
    """torchvision v2's blur: softmax-normalised Gaussian taps, reflect pad, conv2d."""
    dtype = t.dtype if t.is_floating_point() else torch.float32
    taps = []
    for k, s in zip(kernel_size, sigma):
        lim = (k - 1) / (2.0 * math.sqrt(2.0))
        x = torch.linspace(-lim, lim, steps=k, dtype=dtype)
        taps.append(torch.softmax(x.div(s).pow(2).neg(), dim=0))
    kernel = taps[1].unsqueeze(-1) * taps[0]
    x = t.reshape(-1, *t.shape[-3:]).to(dtype)
    kernel = kernel.expand(x.shape[1], 1, *kernel.shape)
    pad = [kernel_size[0] // 2] * 2 + [kernel_size[1] // 2] * 2
    x = torch.nn.functional.conv2d(torch.nn.functional.pad(x, pad, mode="reflect"), kernel,
                                   groups=x.shape[1])
    x = x if t.is_floating_point() else x.round()
    return x.to(t.dtype).reshape(t.shape)


@pytest.mark.parametrize("kind", ["uint8", "float32"])
@pytest.mark.parametrize("kernel_size, sigma", [([3, 3], [0.8, 0.8]), ([5, 3], [1.7, 0.4]),
                                                ([7, 5], [1.1, 2.0])])
def test_gaussian_blur_against_torch_reference(kind, kernel_size, sigma):
    shape = (2, 3, 11, 13)
    data = (RNG.integers(0, 256, shape, dtype=np.uint8) if kind == "uint8"
            else RNG.random(shape).astype(np.float32))
    got = F.gaussian_blur(T.Image(ember.tensor(data)), kernel_size, sigma)
    # uint8 blur rounds a float sum: the two sum in different orders, so a value within an
    # ulp of .5 can round either way (one pixel in a few thousand, off by one)
    compare(got, ref_blur(torch.tensor(data), kernel_size, sigma), uint8_atol=1)


def identity_grid(h, w, dtype=torch.float32):
    grid = torch.empty(1, h, w, 2, dtype=dtype)
    grid[..., 0].copy_(torch.linspace((-w + 1) / w, (w - 1) / w, w, dtype=dtype))
    grid[..., 1].copy_(torch.linspace((-h + 1) / h, (h - 1) / h, h, dtype=dtype)[:, None])
    return grid


@pytest.mark.parametrize("kind", ["uint8", "float32"])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_elastic_against_torch_reference(kind, mode):
    h, w = 14, 16
    disp = ((RNG.random((1, h, w, 2)) - 0.5) * 0.3).astype(np.float32)
    data = (RNG.integers(0, 256, (3, h, w), dtype=np.uint8) if kind == "uint8"
            else RNG.random((3, h, w)).astype(np.float32))
    t = torch.tensor(data)
    dtype = t.dtype if t.is_floating_point() else torch.float32
    grid = identity_grid(h, w, dtype) + torch.tensor(disp).to(dtype)
    x = torch.nn.functional.grid_sample(t[None].to(dtype), grid, mode=mode,
                                        padding_mode="zeros", align_corners=False)[0]
    expected = x if t.is_floating_point() else x.round().to(t.dtype)
    compare(F.elastic(T.Image(ember.tensor(data)), ember.tensor(disp), interpolation=mode),
            expected)
    # boxes: corners, rounded up, move by the inverse displacement at their pixel
    boxes = torch.tensor([[2.3, 3.1, 9.0, 11.5], [0.0, 0.0, 16.0, 14.0]])
    inverse = identity_grid(h, w) - torch.tensor(disp)
    corners = boxes[:, [[0, 1], [2, 1], [2, 3], [0, 3]]].reshape(-1, 2).ceil().long()
    moved = inverse[0, corners[:, 1].clamp(0, h - 1), corners[:, 0].clamp(0, w - 1)]
    moved = ((moved + 1) * (0.5 * torch.tensor([w, h])) - 0.5).reshape(-1, 4, 2)
    ref = torch.cat([moved.amin(1), moved.amax(1)], 1)
    ref = torch.minimum(ref.clamp(min=0), torch.tensor([w, h, w, h], dtype=ref.dtype))
    out = F.elastic(T.BoundingBoxes(boxes.numpy(), format="XYXY", canvas_size=(h, w)),
                    ember.tensor(disp))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-6)


def test_elastic_transform_moves_the_sample_together():
    img = T.Image(ember.tensor(RNG.integers(0, 256, (3, 14, 16), dtype=np.uint8)))
    boxes = T.BoundingBoxes([[2, 3, 9, 11]], format="XYXY", canvas_size=(14, 16))
    ember.manual_seed(0)
    out_img, out_boxes, out_mask = v2.ElasticTransform(alpha=20.0, sigma=1.0)(
        img, boxes, T.Mask(ember.zeros(14, 16)))
    assert (type(out_img), type(out_boxes), type(out_mask)) == (T.Image, T.BoundingBoxes,
                                                                T.Mask)
    ember.manual_seed(0)
    again = v2.ElasticTransform(alpha=20.0, sigma=1.0)(img)
    np.testing.assert_array_equal(again.numpy(), out_img.numpy())
