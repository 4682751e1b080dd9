"""ember.vision.transforms.functional against PyTorch (where torch has the op) and Pillow.

Tensor ops are compared with the torch computation torchvision performs (slicing,
flip, interpolate, pad, affine_grid + grid_sample, conv2d with the documented Gaussian
kernel), including gradients through the oracle; PIL ops with Pillow run directly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from oracle import check, rand
from PIL import Image, ImageEnhance, ImageOps

import ember
from ember.vision.transforms import InterpolationMode
from ember.vision.transforms import functional as VF

RNG = np.random.default_rng(7)


def u8(*shape):
    return RNG.integers(0, 256, shape, dtype=np.uint8)


def pil_rgb(h=9, w=11):
    return Image.fromarray(u8(h, w, 3))


def as_np(t):
    return np.asarray(t.detach().numpy())


def to_chw(img):
    return np.asarray(img).transpose(2, 0, 1) if np.asarray(img).ndim == 3 else np.asarray(img)


def vision_or_torch(vision_fn, torch_fn):
    """A check() callable: the ember branch runs ember.vision, the torch branch the spec."""
    return lambda lib, *xs: vision_fn(*xs) if lib is ember else torch_fn(*xs)


# ------------------------------------------------------------------ normalize, dtypes

@pytest.mark.parametrize("shape,mean,std", [
    ((3, 4, 5), [0.5, 0.4, 0.3], [0.2, 0.3, 0.4]),
    ((2, 3, 4, 5), [0.1, 0.2, 0.3], [1.0, 2.0, 3.0]),
    ((1, 4, 4), [0.5], [0.25]),
    ((2, 2, 3, 3, 3), (0.0, 1.0, 2.0), (1.0, 1.0, 0.5)),
    ((3, 4, 5), [0, 1, 2], [1, 2, 4]),
    ((3, 4, 5), [0.5, 1, 2], (1, 0.5, 4.0)),
])
def test_normalize_matches_torch(shape, mean, std):
    def spec(x):
        m = torch.tensor(mean, dtype=x.dtype).view(-1, 1, 1)
        s = torch.tensor(std, dtype=x.dtype).view(-1, 1, 1)
        return (x - m) / s
    check(vision_or_torch(lambda x: VF.normalize(x, mean, std), spec), rand(*shape))


def test_normalize_float64_and_inplace():
    x = rand(3, 4, 4, dtype=np.float64)
    check(vision_or_torch(lambda t: VF.normalize(t, [1, 2, 3], [2, 2, 2]),
                          lambda t: (t - torch.tensor([1., 2, 3], dtype=t.dtype).view(-1, 1, 1))
                          / 2), x)
    e = ember.tensor(x)
    out = VF.normalize(e, [0.5] * 3, [0.5] * 3, inplace=True)
    assert out is e
    np.testing.assert_allclose(as_np(e), (x - 0.5) / 0.5)


@pytest.mark.parametrize("make_stats", [
    lambda lib: (lib.tensor([0.5, 0.4, 0.3]), lib.tensor([0.2, 0.3, 0.4])),
    lambda lib: (lib.tensor([0.5, 0.4, 0.3], dtype=lib.float64), [0.2, 0.3, 0.4]),
    lambda lib: (lib.full((3, 1, 1), 0.5), lib.rand(3, 4, 5) + 0.5),
    lambda lib: (np.array([0.5, 0.4, 0.3]), (np.float64(0.2), 0.3, 0.4)),
    lambda lib: ([0.5], [True]),
], ids=["tensors", "float64_tensor_and_list", "per_pixel", "numpy", "bool_std"])
def test_normalize_tensor_and_array_statistics(make_stats):
    torch.manual_seed(0)
    mean, std = make_stats(torch)
    mean_e, std_e = (ember.tensor(v.numpy()) if isinstance(v, torch.Tensor) else v
                     for v in (mean, std))
    x = rand(3, 4, 5)

    def spec(t):
        m = torch.as_tensor(mean, dtype=t.dtype)
        s = torch.as_tensor(std, dtype=t.dtype)
        return (t - (m.view(-1, 1, 1) if m.ndim == 1 else m)) / (
            s.view(-1, 1, 1) if s.ndim == 1 else s)

    check(vision_or_torch(lambda t: VF.normalize(t, mean_e, std_e), spec), x)


def test_normalize_nan_std_is_not_zero():
    out = VF.normalize(ember.ones(1, 2, 2), [0.0], [float("nan")])
    assert bool(out.isnan().all())


@pytest.mark.parametrize("args,exc,msg", [
    ((ember.zeros(3, 4, 4, dtype=ember.half), [0.5], [1e-10]), ValueError,
     "std evaluated to zero after conversion to torch.float16"),
    ((ember.zeros(3, 4, 4), [0.5], ember.tensor([1.0, 0.0, 2.0])), ValueError,
     "std evaluated to zero"),
    ((ember.zeros(3, 4, 4, dtype=ember.uint8), [0.5], [0.5]), TypeError,
     "Input tensor should be a float tensor. Got torch.uint8."),
    ((ember.zeros(4, 4), [0.5], [0.5]), ValueError,
     r"Expected tensor to be a tensor image of size \(..., C, H, W\)"),
    ((ember.zeros(3, 4, 4), [0.5], [0.0]), ValueError,
     "std evaluated to zero after conversion to torch.float32, leading to division by zero."),
    ((np.zeros((3, 4, 4)), [0.5], [0.5]), TypeError, "img should be Tensor Image"),
])
def test_normalize_errors(args, exc, msg):
    with pytest.raises(exc, match=msg):
        VF.normalize(*args)


@pytest.mark.parametrize("src,dst,expected", [
    (np.array([0, 128, 255], np.uint8), ember.float32, np.array([0, 128 / 255, 1], np.float32)),
    (np.array([0.0, 0.5, 1.0], np.float32), ember.uint8, np.array([0, 127, 255], np.uint8)),
    (np.array([0, 1, 255], np.uint8), ember.int16, np.array([0, 128, 32640], np.int16)),
    (np.array([0, 32767, 256], np.int16), ember.uint8, np.array([0, 255, 2], np.uint8)),
    (np.array([0.25, 1.0], np.float32), ember.float64, np.array([0.25, 1.0])),
])
def test_convert_image_dtype(src, dst, expected):
    out = VF.convert_image_dtype(ember.tensor(src.reshape(1, 1, -1)), dst)
    assert out.dtype == dst
    np.testing.assert_allclose(as_np(out).ravel(), expected, rtol=1e-6)


def test_convert_image_dtype_unsafe_cast():
    with pytest.raises(RuntimeError, match="The cast from torch.float32 to torch.int32 cannot "
                                           "be performed safely."):
        VF.convert_image_dtype(ember.zeros(1, 2, 2), ember.int32)


# ------------------------------------------------------------------ crops and flips

CROPS = [
    ("crop", (3, 8, 10), lambda x: VF.crop(x, 1, 2, 4, 5), lambda x: x[..., 1:5, 2:7]),
    ("crop_batch", (2, 3, 8, 10), lambda x: VF.crop(x, 0, 0, 8, 3), lambda x: x[..., :8, :3]),
    ("crop_2d", (8, 10), lambda x: VF.crop(x, 2, 1, 3, 4), lambda x: x[2:5, 1:5]),
    ("crop_5d", (2, 2, 3, 8, 10), lambda x: VF.crop(x, 1, 1, 2, 2), lambda x: x[..., 1:3, 1:3]),
    ("crop_outside_2d", (6, 6), lambda x: VF.crop(x, 4, -1, 4, 3),
     lambda x: TF.pad(x[None, 4:6, 0:2], [1, 0, 0, 2])[0]),
    ("crop_outside", (3, 6, 6), lambda x: VF.crop(x, -2, 3, 5, 5),
     lambda x: TF.pad(x[..., 0:3, 3:6], [0, 2, 2, 0])),
    ("center_crop", (3, 8, 10), lambda x: VF.center_crop(x, [4, 5]), lambda x: x[..., 2:6, 2:7]),
    ("center_crop_odd", (3, 7, 9), lambda x: VF.center_crop(x, 4), lambda x: x[..., 2:6, 2:6]),
    ("center_crop_pad", (1, 3, 4), lambda x: VF.center_crop(x, [6, 7]),
     lambda x: TF.pad(x, [1, 2, 1, 2])),
    ("hflip", (3, 5, 6), VF.hflip, lambda x: torch.flip(x, [-1])),
    ("vflip", (2, 3, 5, 6), VF.vflip, lambda x: torch.flip(x, [-2])),
    ("hflip_2d", (5, 6), VF.hflip, lambda x: torch.flip(x, [-1])),
    ("resized_crop", (3, 8, 8), lambda x: VF.resized_crop(x, 1, 1, 6, 6, [3, 3]),
     lambda x: TF.interpolate(x[None, :, 1:7, 1:7], size=[3, 3], mode="bilinear",
                              align_corners=False, antialias=True)[0]),
]


@pytest.mark.parametrize("name,shape,ember_fn,torch_fn", CROPS, ids=[c[0] for c in CROPS])
def test_crops_and_flips_match_torch(name, shape, ember_fn, torch_fn):
    check(vision_or_torch(ember_fn, torch_fn), rand(*shape))


def test_five_and_ten_crop():
    x = rand(3, 8, 10)
    tx = torch.from_numpy(x)
    crops = VF.five_crop(ember.tensor(x), [4, 5])
    expected = [tx[:, :4, :5], tx[:, :4, 5:], tx[:, 4:, :5], tx[:, 4:, 5:], tx[:, 2:6, 2:7]]
    for got, want in zip(crops, expected):
        np.testing.assert_array_equal(as_np(got), want.numpy())
    ten = VF.ten_crop(ember.tensor(x), 4, vertical_flip=True)
    assert len(ten) == 10
    np.testing.assert_array_equal(as_np(ten[5]), torch.flip(tx, [-2])[:, :4, :4].numpy())
    pil_crops = VF.five_crop(pil_rgb(8, 10), (4, 5))
    assert [c.size for c in pil_crops] == [(5, 4)] * 5
    with pytest.raises(ValueError, match=r"Requested crop size \(9, 9\) is bigger than input "
                                         r"size \(8, 10\)"):
        VF.five_crop(ember.tensor(x), 9)


@pytest.mark.parametrize("fn,pil_op", [
    (lambda im: VF.crop(im, 1, 2, 4, 5), lambda im: im.crop((2, 1, 7, 5))),
    (lambda im: VF.center_crop(im, 4), lambda im: im.crop((4, 2, 8, 6))),
    (VF.hflip, lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
    (VF.vflip, lambda im: im.transpose(Image.Transpose.FLIP_TOP_BOTTOM)),
])
def test_pil_crops_and_flips_match_tensor(fn, pil_op):
    img = pil_rgb(9, 11)
    np.testing.assert_array_equal(np.asarray(fn(img)), np.asarray(pil_op(img)))
    np.testing.assert_array_equal(as_np(fn(VF.pil_to_tensor(img))), to_chw(pil_op(img)))


# ------------------------------------------------------------------ pad

@pytest.mark.parametrize("padding,mode,torch_pad,torch_mode", [
    (2, "constant", [2, 2, 2, 2], "constant"),
    ([1, 3], "constant", [1, 1, 3, 3], "constant"),
    ([1, 2, 3, 4], "constant", [1, 3, 2, 4], "constant"),
    ([1, 2, 3, 0], "edge", [1, 3, 2, 0], "replicate"),
    ([2, 1, 0, 3], "reflect", [2, 0, 1, 3], "reflect"),
    ([-1, 2, 1, -2], "reflect", [-1, 1, 2, -2], "reflect"),
    ([-1, 1, 2, 0], "constant", [-1, 2, 1, 0], "constant"),
])
def test_pad_matches_torch(padding, mode, torch_pad, torch_mode):
    check(vision_or_torch(lambda x: VF.pad(x, padding, padding_mode=mode),
                          lambda x: TF.pad(x[None], torch_pad, mode=torch_mode)[0]),
          rand(3, 5, 6))


@pytest.mark.parametrize("padding", [2, [1, 3], [1, 2, 3, 4], [3, 0, 1, 5]])
@pytest.mark.parametrize("mode", ["edge", "reflect", "symmetric", "constant"])
def test_pad_uint8_tensor_and_pil_match_numpy(padding, mode):
    data = u8(6, 7, 3)
    p = [padding] * 4 if isinstance(padding, int) else list(padding)
    if len(p) == 2:
        p = p * 2
    left, top, right, bottom = p
    kwargs = {"constant_values": 9} if mode == "constant" else {}
    expected = np.pad(data, ((top, bottom), (left, right), (0, 0)),
                      mode=mode, **kwargs)
    out_pil = VF.pad(Image.fromarray(data), padding, fill=9, padding_mode=mode)
    np.testing.assert_array_equal(np.asarray(out_pil), expected)
    out_t = VF.pad(ember.tensor(data.transpose(2, 0, 1).copy()), padding, fill=9,
                   padding_mode=mode)
    assert out_t.dtype == ember.uint8
    np.testing.assert_array_equal(as_np(out_t), expected.transpose(2, 0, 1))


@pytest.mark.parametrize("padding", [[1, 0], [2, 1, 0, 3], [-1, 2, 1, -1]])
def test_pad_constant_fill_per_channel(padding):
    img = pil_rgb(4, 5)
    out = VF.pad(img, padding, fill=(10, 20, 30))
    if padding[0] > 0:
        np.testing.assert_array_equal(np.asarray(out)[1, :padding[0]],
                                      [[10, 20, 30]] * padding[0])
    out_t = VF.pad(VF.pil_to_tensor(img), padding, fill=(10, 20, 30))
    np.testing.assert_array_equal(as_np(out_t), to_chw(out))
    with pytest.raises(ValueError, match="The number of elements in 'fill' does not match the "
                                         r"number of channels of the image \(2 != 3\)"):
        VF.pad(VF.pil_to_tensor(img), 1, fill=(1, 2))


@pytest.mark.parametrize("args,exc,msg", [
    ((ember.zeros(1, 3, 3), "x"), TypeError, "Got inappropriate padding arg"),
    ((ember.zeros(1, 3, 3), 1, "x"), TypeError, "Got inappropriate fill arg"),
    ((ember.zeros(1, 3, 3), [1, 2, 3]), ValueError,
     "Padding must be an int or a 1, 2, or 4 element tuple, not a 3 element tuple"),
    ((ember.zeros(1, 3, 3), 1, 0, "wrap"), ValueError,
     "Padding mode should be either constant, edge, reflect or symmetric"),
])
def test_pad_errors(args, exc, msg):
    with pytest.raises(exc, match=msg):
        VF.pad(*args)


# ------------------------------------------------------------------ resize

@pytest.mark.parametrize("shape,size,mode,antialias", [
    ((3, 12, 10), [5, 4], "bilinear", True),
    ((3, 12, 10), [5, 4], "bilinear", False),
    ((2, 3, 8, 9), [13, 15], "bilinear", True),
    ((3, 12, 10), [6, 7], "bicubic", True),
    ((3, 12, 10), [6, 17], "bicubic", False),
    ((3, 5, 6), [11, 4], "bicubic", True),
    ((3, 5, 6), [11, 13], "bilinear", True),
    ((2, 7, 9), [7, 4], "bilinear", False),
    ((3, 12, 10), [6, 7], "nearest", True),
    ((1, 3, 7, 9), [4, 5], "nearest-exact", False),
])
def test_resize_matches_interpolate(shape, size, mode, antialias):
    align = False if mode in ("bilinear", "bicubic") else None
    aa = antialias and mode in ("bilinear", "bicubic")

    def spec(x):
        batch = x.reshape(-1, *x.shape[-3:])
        out = TF.interpolate(batch, size=size, mode=mode, align_corners=align, antialias=aa)
        return out.reshape(*x.shape[:-2], *size)
    mode_enum = InterpolationMode(mode)
    check(vision_or_torch(lambda x: VF.resize(x, size, mode_enum, antialias=antialias), spec),
          rand(*shape), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size,max_size,expected", [
    (6, None, (6, 7)),
    ([6], None, (6, 7)),
    (6, 7, (6, 7)),
    (6, 6, None),
    (10, 11, (10, 11)),
    (12, 13, (11, 13)),
    ([3, 9], None, (3, 9)),
])
def test_resize_sizes_and_uint8_rounding(size, max_size, expected):
    data = u8(3, 12, 14)
    if expected is None:
        with pytest.raises(ValueError, match="max_size = 6 must be strictly greater than the "
                                             "requested size for the smaller edge size"):
            VF.resize(ember.tensor(data), size, max_size=max_size)
        return
    out = VF.resize(ember.tensor(data), size, max_size=max_size)
    assert tuple(out.shape) == (3, *expected) and out.dtype == ember.uint8
    ref = TF.interpolate(torch.from_numpy(data)[None].float(), size=list(expected),
                         mode="bilinear", align_corners=False, antialias=True)
    # float kernels may differ in the last bit, which can flip a .5 rounding
    diff = as_np(out).astype(int) - ref.round()[0].numpy().astype(int)
    assert np.abs(diff).max() <= 1 and np.mean(diff != 0) < 0.01
    as_float = VF.resize(ember.tensor(data.astype(np.float32)), size, max_size=max_size)
    np.testing.assert_array_equal(as_np(out), np.round(as_np(as_float)).astype(np.uint8))
    pil = VF.resize(Image.fromarray(data.transpose(1, 2, 0)), size, max_size=max_size)
    assert pil.size == expected[::-1]


def test_resize_pil_uses_pillow():
    img = pil_rgb(12, 14)
    for mode, pil_mode in [(InterpolationMode.BILINEAR, Image.Resampling.BILINEAR),
                           (InterpolationMode.NEAREST, Image.Resampling.NEAREST),
                           (InterpolationMode.LANCZOS, Image.Resampling.LANCZOS)]:
        np.testing.assert_array_equal(np.asarray(VF.resize(img, [5, 6], mode)),
                                      np.asarray(img.resize((6, 5), pil_mode)))
    assert VF.resize(img, [12, 14]) is img
    with pytest.raises(ValueError, match="Size must be an int or a 1 or 2 element tuple/list, "
                                         "not a 3 element tuple/list"):
        VF.resize(img, [1, 2, 3])
    with pytest.raises(TypeError, match="Argument interpolation should be a InterpolationMode"):
        VF.resize(img, 4, interpolation="bilinear")


# ------------------------------------------------------------------ rotate / affine / perspective

def _forward_affine(angle, translate, scale, shear, center):
    """Documented map: T(translate) C R(angle) S(scale) Shear C^-1, as a 3x3 matrix."""
    rot = math.radians(angle)
    sx, sy = (math.radians(s) for s in shear)
    cx, cy = center
    shear_x = np.array([[1, -math.tan(sx), 0], [0, 1, 0], [0, 0, 1]])
    shear_y = np.array([[1, 0, 0], [-math.tan(sy), 1, 0], [0, 0, 1]])
    rotation = np.array([[math.cos(rot), -math.sin(rot), 0], [math.sin(rot), math.cos(rot), 0],
                         [0, 0, 1]])
    s = np.diag([scale, scale, 1.0])
    c = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]])
    t = np.array([[1, 0, translate[0]], [0, 1, translate[1]], [0, 0, 1]])
    return t @ c @ rotation @ s @ shear_y @ shear_x @ np.linalg.inv(c)


def _torch_warp(x, inverse, mode):
    """grid_sample with an inverse pixel map (centre-origin coords) turned into theta."""
    h, w = x.shape[-2:]
    theta = torch.tensor([[inverse[0, 0], inverse[0, 1] * h / w, 2 * inverse[0, 2] / w],
                          [inverse[1, 0] * w / h, inverse[1, 1], 2 * inverse[1, 2] / h]],
                         dtype=x.dtype)[None]
    grid = TF.affine_grid(theta, [1, *x.shape[-3:]], align_corners=False)
    return TF.grid_sample(x[None], grid, mode=mode, padding_mode="zeros",
                          align_corners=False)[0]


@pytest.mark.parametrize("angle,translate,scale,shear,mode", [
    (30.0, [0, 0], 1.0, [0.0, 0.0], "bilinear"),
    (-45.0, [1, 2], 1.2, [10.0, 0.0], "bilinear"),
    (15.0, [-2, 1], 0.8, [5.0, -8.0], "nearest"),
    (0.0, [3, 0], 1.0, [0.0, 0.0], "bilinear"),
])
def test_affine_matches_affine_grid(angle, translate, scale, shear, mode):
    inverse = np.linalg.inv(_forward_affine(angle, translate, scale, shear, (0.0, 0.0)))
    check(vision_or_torch(
        lambda x: VF.affine(x, angle, translate, scale, shear, InterpolationMode(mode)),
        lambda x: _torch_warp(x, inverse, mode)), rand(2, 8, 10, dtype=np.float64))


def test_rotate_90_is_rot90_and_pil_agrees():
    data = u8(3, 8, 8)
    t = ember.tensor(data)
    expected = np.rot90(data, 1, axes=(1, 2))
    np.testing.assert_array_equal(as_np(VF.rotate(t, 90.0)), expected)
    pil = VF.rotate(Image.fromarray(data.transpose(1, 2, 0)), 90.0)
    np.testing.assert_array_equal(to_chw(pil), expected)
    np.testing.assert_array_equal(as_np(VF.rotate(t[None], 180.0))[0],
                                  data[:, ::-1, ::-1])


def test_rotate_expand_and_fill():
    data = u8(3, 6, 10)
    img = Image.fromarray(data.transpose(1, 2, 0))
    out_t = VF.rotate(ember.tensor(data), 30.0, expand=True, fill=[7, 8, 9])
    out_p = VF.rotate(img, 30.0, expand=True, fill=(7, 8, 9))
    assert tuple(out_t.shape[1:]) == out_p.size[::-1]
    np.testing.assert_array_equal(as_np(out_t)[:, 0, 0], [7, 8, 9])
    np.testing.assert_array_equal(np.asarray(out_p)[0, 0], [7, 8, 9])
    # tensor and PIL nearest rotations pick the same source pixel almost everywhere
    mismatch = np.mean(as_np(out_t) != to_chw(out_p))
    assert mismatch < 0.1


@pytest.mark.parametrize("angle,center", [(37.0, None), (-20.0, [2, 3])])
def test_rotate_matches_affine_grid(angle, center):
    h, w = 7, 9
    c = (0.0, 0.0) if center is None else (center[0] - w * 0.5, center[1] - h * 0.5)
    # rotate turns counter-clockwise on screen: the same as affine by -angle
    inverse = np.linalg.inv(_forward_affine(-angle, [0, 0], 1.0, [0, 0], c))
    check(vision_or_torch(lambda x: VF.rotate(x, angle, InterpolationMode.BILINEAR,
                                              center=center),
                          lambda x: _torch_warp(x, inverse, "bilinear")),
          rand(3, h, w, dtype=np.float64))


def test_affine_pil_matches_pillow_transform():
    img = pil_rgb(10, 12)
    out = VF.affine(img, 0.0, [2, 1], 1.0, 0.0)
    expected = img.transform(img.size, Image.Transform.AFFINE, (1, 0, -2, 0, 1, -1),
                             Image.Resampling.NEAREST)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(expected))
    t_out = VF.affine(VF.pil_to_tensor(img), 0.0, [2, 1], 1.0, 0.0)
    np.testing.assert_array_equal(as_np(t_out), to_chw(expected))


@pytest.mark.parametrize("args,exc,msg", [
    ((1.0, [0, 0], 1.0, 0.0), None, None),
    (("a", [0, 0], 1.0, 0.0), TypeError, "Argument angle should be int or float"),
    ((1.0, 0, 1.0, 0.0), TypeError, "Argument translate should be a sequence"),
    ((1.0, [0], 1.0, 0.0), ValueError, "Argument translate should be a sequence of length 2"),
    ((1.0, [0, 0], 0.0, 0.0), ValueError, "Argument scale should be positive"),
    ((1.0, [0, 0], 1.0, [1, 2, 3]), ValueError, "Shear should be a sequence containing two"),
])
def test_affine_errors(args, exc, msg):
    x = ember.zeros(1, 4, 4)
    if exc is None:
        assert tuple(VF.affine(x, *args).shape) == (1, 4, 4)
        return
    with pytest.raises(exc, match=msg):
        VF.affine(x, *args)


def test_perspective_tensor_matches_pillow_formula_and_pil():
    h, w = 8, 10
    start = [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]
    end = [[1, 1], [w - 2, 0], [w - 1, h - 2], [0, h - 1]]
    coeffs = VF._get_perspective_coeffs(start, end)
    # the coefficients map each endpoint back onto its startpoint
    a, b, c, d, e, f, g, k = coeffs
    for (sx, sy), (ex, ey) in zip(start, end):
        den = g * ex + k * ey + 1
        assert abs((a * ex + b * ey + c) / den - sx) < 1e-4
        assert abs((d * ex + e * ey + f) / den - sy) < 1e-4

    def spec(x):
        xs, ys = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
        den = g * xs + k * ys + 1
        gx = (a * xs + b * ys + c) / den / (w / 2) - 1
        gy = (d * xs + e * ys + f) / den / (h / 2) - 1
        grid = torch.tensor(np.stack([gx, gy], -1)[None], dtype=x.dtype)
        return TF.grid_sample(x[None], grid, mode="bilinear", align_corners=False)[0]
    check(vision_or_torch(lambda x: VF.perspective(x, start, end), spec),
          rand(3, h, w, dtype=np.float64))
    img = pil_rgb(h, w)
    expected = img.transform(img.size, Image.Transform.PERSPECTIVE, coeffs,
                             Image.Resampling.BILINEAR)
    np.testing.assert_array_equal(np.asarray(VF.perspective(img, start, end)),
                                  np.asarray(expected))
    identity = VF.perspective(VF.pil_to_tensor(img), start, start,
                              InterpolationMode.NEAREST)
    np.testing.assert_array_equal(as_np(identity), to_chw(img))
    with pytest.raises(ValueError, match="Please provide exactly four corners, got 3 "
                                         "startpoints and 4 endpoints."):
        VF.perspective(img, start[:3], end)


# ------------------------------------------------------------------ blur

@pytest.mark.parametrize("shape,ksize,sigma", [
    ((3, 9, 10), [3, 3], [1.0, 1.0]),
    ((2, 1, 8, 8), [5, 3], [1.5, 0.7]),
    ((3, 9, 10), 5, None),
])
def test_gaussian_blur_matches_conv2d(shape, ksize, sigma):
    kx, ky = (ksize, ksize) if isinstance(ksize, int) else ksize
    sx, sy = sigma if sigma is not None else (kx * 0.15 + 0.35, ky * 0.15 + 0.35)

    def kernel1d(k, s, dtype):
        x = torch.linspace(-(k - 1) / 2, (k - 1) / 2, k, dtype=torch.float64)
        pdf = torch.exp(-0.5 * (x / s) ** 2)
        return (pdf / pdf.sum()).to(dtype)

    def spec(x):
        batch = x.reshape(-1, *x.shape[-3:])
        c = batch.shape[1]
        k2d = kernel1d(ky, sy, x.dtype)[:, None] @ kernel1d(kx, sx, x.dtype)[None, :]
        padded = TF.pad(batch, [kx // 2, kx // 2, ky // 2, ky // 2], mode="reflect")
        return TF.conv2d(padded, k2d.expand(c, 1, ky, kx), groups=c).reshape(x.shape)
    check(vision_or_torch(lambda x: VF.gaussian_blur(x, ksize, sigma), spec),
          rand(*shape, dtype=np.float64))


def test_gaussian_blur_uint8_and_pil():
    data = u8(3, 9, 10)
    out = VF.gaussian_blur(ember.tensor(data), 3, 1.0)
    ref = VF.gaussian_blur(ember.tensor(data.astype(np.float32)), 3, 1.0)
    assert out.dtype == ember.uint8
    np.testing.assert_array_equal(as_np(out), np.round(as_np(ref)).astype(np.uint8))
    pil = VF.gaussian_blur(Image.fromarray(data.transpose(1, 2, 0)), 3, 1.0)
    assert pil.mode == "RGB"
    np.testing.assert_array_equal(to_chw(pil), as_np(out))


@pytest.mark.parametrize("ksize,sigma,exc,msg", [
    (4, None, ValueError, r"kernel_size should have odd and positive integers. Got \[4, 4\]"),
    ([3, 3, 3], None, ValueError, "If kernel_size is a sequence its length should be 2. Got 3"),
    (3.0, None, TypeError, "kernel_size should be int or a sequence of integers"),
    (3, -1.0, ValueError, r"sigma should have positive values. Got \[-1.0, -1.0\]"),
    (3, "a", TypeError, "sigma should be either float or sequence of floats"),
])
def test_gaussian_blur_errors(ksize, sigma, exc, msg):
    with pytest.raises(exc, match=msg):
        VF.gaussian_blur(ember.zeros(1, 5, 5), ksize, sigma)


# ------------------------------------------------------------------ colour

def _blend_spec(x, other, ratio):
    return (ratio * x + (1.0 - ratio) * other).clamp(0, 1)


def _gray_spec(x):
    return (0.2989 * x[..., 0, :, :] + 0.587 * x[..., 1, :, :] + 0.114 * x[..., 2, :, :]
            ).unsqueeze(-3)


COLOUR_FLOAT = [
    ("brightness", lambda x: VF.adjust_brightness(x, 1.3),
     lambda x: _blend_spec(x, torch.zeros_like(x), 1.3)),
    ("contrast", lambda x: VF.adjust_contrast(x, 0.6),
     lambda x: _blend_spec(x, _gray_spec(x).mean(dim=(-3, -2, -1), keepdim=True), 0.6)),
    ("saturation", lambda x: VF.adjust_saturation(x, 1.7),
     lambda x: _blend_spec(x, _gray_spec(x), 1.7)),
    ("grayscale", VF.rgb_to_grayscale, _gray_spec),
    ("grayscale3", lambda x: VF.rgb_to_grayscale(x, 3), lambda x: _gray_spec(x).expand_as(x)),
    ("gamma", lambda x: VF.adjust_gamma(x, 0.7, 1.1),
     lambda x: (1.1 * x ** 0.7).clamp(0, 1)),
    ("invert", VF.invert, lambda x: 1.0 - x),
]


@pytest.mark.parametrize("name,ember_fn,torch_fn", COLOUR_FLOAT, ids=[c[0] for c in COLOUR_FLOAT])
def test_colour_float_matches_torch(name, ember_fn, torch_fn):
    check(vision_or_torch(ember_fn, torch_fn), rand(2, 3, 5, 6, low=0.05, high=0.95))


def test_adjust_hue_float_against_colorsys():
    import colorsys
    x = rand(3, 4, 5)
    out = as_np(VF.adjust_hue(ember.tensor(x), 0.2))
    pixels = x.reshape(3, -1).T
    shifted = [colorsys.hsv_to_rgb((h + 0.2) % 1.0, s, v)
               for h, s, v in (colorsys.rgb_to_hsv(*p) for p in pixels)]
    np.testing.assert_allclose(out.reshape(3, -1).T, np.array(shifted), atol=1e-5)
    np.testing.assert_allclose(as_np(VF.adjust_hue(ember.tensor(x), 0.0)), x, atol=1e-6)


PIL_COLOUR = [
    ("brightness", lambda im: VF.adjust_brightness(im, 1.4),
     lambda im: ImageEnhance.Brightness(im).enhance(1.4), 1),
    ("contrast", lambda im: VF.adjust_contrast(im, 0.5),
     lambda im: ImageEnhance.Contrast(im).enhance(0.5), 2),
    ("saturation", lambda im: VF.adjust_saturation(im, 0.3),
     lambda im: ImageEnhance.Color(im).enhance(0.3), 2),
    ("sharpness", lambda im: VF.adjust_sharpness(im, 2.0),
     lambda im: ImageEnhance.Sharpness(im).enhance(2.0), 2),
    ("hue", lambda im: VF.adjust_hue(im, 0.1), None, 12),
    ("grayscale", VF.rgb_to_grayscale, lambda im: im.convert("L"), 1),
    ("posterize", lambda im: VF.posterize(im, 3), lambda im: ImageOps.posterize(im, 3), 0),
    ("solarize", lambda im: VF.solarize(im, 100), lambda im: ImageOps.solarize(im, 100), 0),
    ("invert", VF.invert, ImageOps.invert, 0),
    ("equalize", VF.equalize, ImageOps.equalize, 0),
    ("autocontrast", VF.autocontrast, ImageOps.autocontrast, 1),
    ("gamma", lambda im: VF.adjust_gamma(im, 0.8), None, 1),
]


@pytest.mark.parametrize("name,fn,pil_op,tol", PIL_COLOUR, ids=[c[0] for c in PIL_COLOUR])
def test_colour_uint8_tensor_matches_pillow(name, fn, pil_op, tol):
    img = Image.fromarray(RNG.integers(20, 230, (10, 12, 3), dtype=np.uint8))
    pil_out = fn(img)
    if pil_op is not None:
        np.testing.assert_array_equal(np.asarray(pil_out), np.asarray(pil_op(img)))
    t_out = fn(VF.pil_to_tensor(img))
    assert t_out.dtype == ember.uint8
    diff = np.abs(as_np(t_out).astype(int) - to_chw(pil_out).astype(int))
    assert diff.max() <= tol, f"{name}: max diff {diff.max()}"
    batch = ember.stack([VF.pil_to_tensor(img)] * 2)
    np.testing.assert_array_equal(as_np(fn(batch))[1], as_np(t_out))


def test_equalize_batch_and_flat_channel():
    data = u8(2, 3, 6, 7)
    data[1, 2] = 40
    out = as_np(VF.equalize(ember.tensor(data)))
    for b in range(2):
        expected = np.asarray(ImageOps.equalize(Image.fromarray(data[b].transpose(1, 2, 0))))
        np.testing.assert_array_equal(out[b], expected.transpose(2, 0, 1))


@pytest.mark.parametrize("fn,img,exc,msg", [
    (lambda x: VF.adjust_brightness(x, -1), ember.zeros(3, 2, 2), ValueError,
     r"brightness_factor \(-1\) is not non-negative."),
    (lambda x: VF.adjust_hue(x, 0.7), ember.zeros(3, 2, 2), ValueError,
     r"hue_factor \(0.7\) is not in \[-0.5, 0.5\]."),
    (lambda x: VF.posterize(x, 3), ember.zeros(3, 2, 2), TypeError,
     "Only torch.uint8 image tensors are supported, but found torch.float32"),
    (lambda x: VF.adjust_contrast(x, 1.0), ember.zeros(2, 2, 2), TypeError,
     r"Input image tensor permitted channel values are \[3, 1\], but found 2"),
    (lambda x: VF.solarize(x, 2.0), ember.zeros(3, 2, 2), TypeError,
     "Threshold should be less than bound of img."),
    (lambda x: VF.rgb_to_grayscale(x, 2), ember.zeros(3, 2, 2), ValueError,
     "num_output_channels should be either 1 or 3"),
    (lambda x: VF.adjust_gamma(x, -1), ember.zeros(3, 2, 2), ValueError,
     "Gamma should be a non-negative real number"),
])
def test_colour_errors(fn, img, exc, msg):
    with pytest.raises(exc, match=msg):
        fn(img)


def test_to_grayscale_is_pil_only():
    img = pil_rgb(4, 5)
    np.testing.assert_array_equal(np.asarray(VF.to_grayscale(img, 3))[..., 0],
                                  np.asarray(img.convert("L")))
    with pytest.raises(TypeError, match="Input should be PIL Image"):
        VF.to_grayscale(ember.zeros(3, 4, 4))


def test_single_channel_hue_and_saturation_are_identity():
    x = ember.rand(1, 4, 4)
    assert VF.adjust_hue(x, 0.3) is x
    assert VF.adjust_saturation(x, 0.3) is x


# ------------------------------------------------------------------ erase, sizes

def test_erase():
    x = rand(3, 6, 7)
    check(vision_or_torch(lambda t: VF.erase(t, 1, 2, 3, 4, 0.5),
                          lambda t: torch.where(_region_mask(t.shape), 0.5, t)), x)
    e = ember.tensor(x)
    assert VF.erase(e, 0, 0, 2, 2, 0.0, inplace=True) is e
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        VF.erase(np.zeros((3, 4, 4)), 0, 0, 1, 1, 0)


def _region_mask(shape):
    mask = torch.zeros(shape[-2:], dtype=torch.bool)
    mask[1:4, 2:6] = True
    return mask


def test_image_info():
    img = pil_rgb(5, 8)
    assert VF.get_dimensions(img) == [3, 5, 8]
    assert VF.get_image_size(img) == [8, 5]
    assert VF.get_image_num_channels(Image.new("LA", (2, 2))) == 2
    t = ember.zeros(2, 4, 5, 8)
    assert VF.get_dimensions(t) == [4, 5, 8]
    assert VF.get_image_size(t) == [8, 5]
    assert VF.get_image_num_channels(ember.zeros(5, 8)) == 1
    with pytest.raises(TypeError, match="Tensor is not a torch image."):
        VF.get_dimensions(ember.zeros(3))
    with pytest.raises(TypeError, match="img should be PIL Image"):
        VF.get_dimensions(np.zeros((2, 2)))


def test_gradcheck_through_warps():
    gradcheck = ember.autograd.gradcheck
    x = ember.tensor(rand(1, 5, 6, dtype=np.float64), requires_grad=True)
    assert gradcheck(lambda t: VF.rotate(t, 20.0, InterpolationMode.BILINEAR), (x,))
    assert gradcheck(lambda t: VF.resize(t, [3, 4]), (x,))
    assert gradcheck(lambda t: VF.gaussian_blur(t, 3, 0.8), (x,))
    assert gradcheck(lambda t: VF.pad(t, [1, 2], padding_mode="symmetric"), (x,))
