"""ember.vision.transforms.v2: on plain images v2 equals ember's v1 (tested against torch)
under the same seed; box kernels against hand-computed values and torch reference code;
boxes, masks and keypoints follow the pixels; the pure-tensor heuristic; the detection
tutorial flow end to end on synthetic data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

import ember
from ember.vision import transforms as v1
from ember.vision import tv_tensors as T
from ember.vision.transforms import v2
from ember.vision.transforms.v2 import functional as F

RNG = np.random.default_rng(3)


def u8_image(h=12, w=14):
    return ember.tensor(RNG.integers(0, 256, (3, h, w), dtype=np.uint8))


def float_image(h=12, w=14):
    return ember.tensor(RNG.random((3, h, w)).astype(np.float32))


def np_of(t):
    return np.asarray(t.detach().numpy())


# ----------------------------------------------------------------------------- v2 == v1

V1_PAIRS = [
    (lambda m: m.RandomHorizontalFlip(p=0.5), 4),
    (lambda m: m.RandomVerticalFlip(p=0.5), 4),
    (lambda m: m.RandomResizedCrop((6, 7), antialias=True), -3),
    (lambda m: m.CenterCrop(7), 1),
    (lambda m: m.CenterCrop((16, 5)), 1),
    (lambda m: m.Resize(9), -1),
    (lambda m: m.Resize((5, 11), interpolation=m.InterpolationMode.NEAREST), 1),
    (lambda m: m.RandomRotation(40, fill=3), 3),
    (lambda m: m.RandomRotation(25, expand=True), 2),
    (lambda m: m.RandomAffine(20, translate=(0.2, 0.1), scale=(0.8, 1.2), shear=(-5, 5, -3, 3)),
     3),
    (lambda m: m.ColorJitter(0.4, 0.4, 0.4, 0.1), 3),
    (lambda m: m.GaussianBlur(3, (0.5, 1.5)), 2),
    (lambda m: m.Grayscale(3), 1),
    (lambda m: m.RandomGrayscale(p=0.5), 4),
    (lambda m: m.Pad([1, 2, 3, 4], fill=7, padding_mode="constant"), 1),
    (lambda m: m.Pad(2, padding_mode="reflect"), 1),
    (lambda m: m.RandomPerspective(0.4, p=1.0), 2),
    (lambda m: m.RandomCrop(8), 3),
    (lambda m: m.RandomInvert(p=0.5), 3),
    (lambda m: m.RandomPosterize(3, p=0.5), 3),
    (lambda m: m.RandomSolarize(100, p=0.5), 3),
    (lambda m: m.RandomEqualize(p=0.5), 3),
    (lambda m: m.RandomAdjustSharpness(2.0, p=0.5), 3),
    (lambda m: m.TrivialAugmentWide(), 3),
    (lambda m: m.RandAugment(), 2),
    (lambda m: m.AutoAugment(), 2),
]


@pytest.mark.parametrize("make, draws", V1_PAIRS)
def test_v2_on_a_plain_image_equals_v1(make, draws):
    """Same seed -> the same draws -> the same pixels, for tensors, Images and PIL.

    (A negative count means float images: torchvision v2 resizes uint8 bilinear/bicubic
    with PyTorch's native uint8 kernel, tested against torch below.)"""
    t1, t2 = make(v1), make(v2)
    for seed in range(abs(draws)):
        img = float_image() if draws < 0 else u8_image()
        ember.manual_seed(seed)
        expected = t1(img)
        ember.manual_seed(seed)
        got = t2(img)
        assert type(got) is ember.Tensor
        np.testing.assert_array_equal(np_of(got), np_of(expected))
        ember.manual_seed(seed)
        wrapped = t2(T.Image(img))
        assert type(wrapped) is T.Image
        np.testing.assert_array_equal(np_of(wrapped), np_of(expected))
    pil = PILImage.fromarray(RNG.integers(0, 256, (10, 12, 3), dtype=np.uint8))
    ember.manual_seed(0)
    expected = t1(pil)
    ember.manual_seed(0)
    np.testing.assert_array_equal(np.asarray(t2(pil)), np.asarray(expected))


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("shape, size", [((3, 12, 14), [7, 9]), ((1, 12, 14), [20, 23]),
                                         ((4, 31, 17), [10, 30]), ((2, 3, 5, 64), [5, 13])])
def test_uint8_resize_equals_torch_native_uint8(mode, antialias, shape, size):
    """uint8 images take torch's uint8 interpolate, as torchvision v2 on CPU does."""
    data = RNG.integers(0, 256, shape, dtype=np.uint8)
    ref = torch.nn.functional.interpolate(
        torch.tensor(data).reshape(-1, *shape[-3:]), size=size, mode=mode,
        antialias=antialias, align_corners=False).reshape(*shape[:-2], *size)
    out = F.resize(T.Image(ember.tensor(data)), size, interpolation=mode, antialias=antialias)
    assert type(out) is T.Image and out.dtype == ember.uint8
    np.testing.assert_array_equal(np_of(out), ref.numpy())


def test_random_resized_crop_uint8_against_torch():
    img = u8_image(20, 24)
    transform = v2.RandomResizedCrop((9, 11))
    ember.manual_seed(4)
    params = transform.make_params([img])
    ember.manual_seed(4)
    out = transform(img)
    top, left, h, w = params["top"], params["left"], params["height"], params["width"]
    crop = torch.tensor(np_of(img))[None, :, top:top + h, left:left + w]
    ref = torch.nn.functional.interpolate(crop, size=(9, 11), mode="bilinear",
                                          antialias=True, align_corners=False)[0]
    np.testing.assert_array_equal(np_of(out), ref.numpy())


def test_interpolation_names_and_random_resizes():
    img = float_image()
    by_name = v2.Resize(7, interpolation="bicubic")(img)
    by_mode = v2.Resize(7, interpolation=v2.InterpolationMode.BICUBIC)(img)
    np.testing.assert_array_equal(np_of(by_name), np_of(by_mode))
    with pytest.raises(ValueError, match="Invalid interpolation mode: 'cubic'"):
        F.resize(img, 5, interpolation="cubic")
    ember.manual_seed(2)
    scale = float(ember.rand(1).item()) * 1.5 + 0.5
    ember.manual_seed(2)
    out = v2.ScaleJitter((16, 20), scale_range=(0.5, 2.0))(img)
    r = torch.tensor([scale], dtype=torch.float32) * min(20 / 12, 16 / 14)
    assert tuple(out.shape[-2:]) == (int(12 * r), int(14 * r))
    out = v2.RandomShortestSize([6, 8, 10], max_size=11)(img)
    assert min(out.shape[-2:]) in (6, 8, 10) or max(out.shape[-2:]) == 11
    out = v2.RandomResize(5, 9)(img)
    assert 5 <= min(out.shape[-2:]) < 9
    assert v2.Resize(None, max_size=7)(img).shape == (3, 6, 7)


def test_random_erasing_and_normalize_match_torch_reference():
    x = RNG.random((3, 10, 12)).astype(np.float32)
    out = v2.Normalize([0.1, 0.2, 0.3], [0.5, 0.6, 0.7])(T.Image(ember.tensor(x)))
    ref = (torch.tensor(x) - torch.tensor([0.1, 0.2, 0.3]).view(3, 1, 1)) / torch.tensor(
        [0.5, 0.6, 0.7]).view(3, 1, 1)
    assert type(out) is T.Image
    np.testing.assert_allclose(np_of(out), ref.numpy(), rtol=1.3e-6, atol=1e-5)
    ember.manual_seed(1)
    erased = v2.RandomErasing(p=1.0, value=0.5)(ember.tensor(x))
    changed = np_of(erased) != x
    rows, cols = np.nonzero(changed.any(0))
    block = np.zeros_like(changed[0])
    block[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
    assert changed.any() and (changed.any(0) == block).all()  # one rectangle, set to 0.5
    np.testing.assert_array_equal(np_of(erased)[:, block], 0.5)


@pytest.mark.parametrize("src, dst", [
    (np.uint8, torch.float32), (np.uint8, torch.float64), (np.float32, torch.uint8),
    (np.uint8, torch.int16), (np.int16, torch.uint8), (np.float64, torch.uint8),
])
def test_to_dtype_scale_matches_torchvision_arithmetic(src, dst):
    if np.issubdtype(src, np.floating):
        data = RNG.random((3, 4, 5)).astype(src)
    else:
        data = RNG.integers(0, np.iinfo(src).max, (3, 4, 5)).astype(src)
    xt = torch.tensor(data)
    if dst.is_floating_point:
        ref = xt.to(dst).mul_(1.0 / np.iinfo(src).max)  # int -> float
    elif xt.is_floating_point():
        ref = xt.mul(float(torch.iinfo(dst).max) + 1.0 - 1e-3).to(dst)
    else:
        bits = {torch.uint8: 8, torch.int16: 15}
        shift = abs(bits[xt.dtype] - bits[dst])
        ref = (xt >> shift).to(dst) if bits[xt.dtype] > bits[dst] else xt.to(dst) << shift
    out = v2.ToDtype(getattr(ember, str(dst).split(".")[1]), scale=True)(T.Image(
        ember.tensor(data)))
    assert str(out.dtype) == str(ref.dtype)
    np.testing.assert_array_equal(np_of(out), ref.numpy())


def test_to_dtype_dict_and_masks():
    img, mask = T.Image(u8_image()), T.Mask(ember.ones(12, 14, dtype=ember.uint8))
    out_img, out_mask = v2.ToDtype(ember.float32)(img, mask)
    assert out_img.dtype == ember.float32 and out_mask.dtype == ember.uint8
    out_img, out_mask = v2.ToDtype({T.Image: ember.float64, T.Mask: ember.int64})(img, mask)
    assert out_img.dtype == ember.float64 and out_mask.dtype == ember.int64
    assert type(out_mask) is T.Mask
    with pytest.raises(ValueError, match="No dtype was specified for type"):
        v2.ToDtype({T.Image: ember.float32})(img, mask)


def test_to_image_and_pure_tensor():
    arr = RNG.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    for src in (arr, PILImage.fromarray(arr), ember.tensor(arr.transpose(2, 0, 1).copy())):
        out = v2.ToImage()(src)
        assert type(out) is T.Image and out.dtype == ember.uint8
        np.testing.assert_array_equal(np_of(out), arr.transpose(2, 0, 1))
    assert v2.ToImage()(arr[:, :, 0]).shape == (1, 5, 6)
    sample = {"img": T.Image(ember.zeros(1, 2, 2)), "n": 3}
    out = v2.ToPureTensor()(sample)
    assert type(out["img"]) is ember.Tensor and out["n"] == 3


# ----------------------------------------------------------------------------- box kernels

def torch_xyxy(boxes, fmt):
    b = torch.as_tensor(boxes, dtype=torch.float64)
    if fmt == "XYWH":
        return torch.cat([b[:, :2], b[:, :2] + b[:, 2:]], 1)
    if fmt == "CXCYWH":
        return torch.cat([b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2], 1)
    return b


BOXES = np.array([[1.5, 2.0, 9.0, 7.5], [0.0, 0.0, 4.0, 3.0], [6.0, 1.0, 13.0, 11.0]])


@pytest.mark.parametrize("fmt", ["XYXY", "XYWH", "CXCYWH"])
def test_convert_format_roundtrip_against_torch(fmt):
    xyxy = torch.tensor(BOXES)
    if fmt == "XYWH":
        data = torch.cat([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], 1)
    elif fmt == "CXCYWH":
        data = torch.cat([(xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]], 1)
    else:
        data = xyxy
    boxes = T.BoundingBoxes(data.numpy(), format=fmt, canvas_size=(12, 14))
    out = F.convert_bounding_box_format(boxes, new_format="XYXY")
    assert out.format is T.BoundingBoxFormat.XYXY
    np.testing.assert_allclose(np_of(out), BOXES)
    back = F.convert_bounding_box_format(out, new_format=fmt)
    np.testing.assert_allclose(np_of(back), data.numpy())
    # integer CXCYWH -> XYXY is computed in float and truncated, as torchvision's
    ints = F.convert_bounding_box_format(ember.tensor([[5, 5, 3, 3]]), old_format="CXCYWH",
                                         new_format="XYXY")
    assert ints.tolist() == [[3, 3, 6, 6]]


def test_flip_boxes_hand_computed():
    boxes = T.BoundingBoxes([[2, 3, 10, 12]], format="XYXY", canvas_size=(16, 20))
    assert F.horizontal_flip(boxes).tolist() == [[10, 3, 18, 12]]
    assert F.vertical_flip(boxes).tolist() == [[2, 4, 10, 13]]
    xywh = T.BoundingBoxes([[2, 3, 8, 9]], format="XYWH", canvas_size=(16, 20))
    assert F.horizontal_flip(xywh).tolist() == [[10, 3, 8, 9]]
    points = T.KeyPoints([[0.0, 0.0], [19.0, 15.0]], canvas_size=(16, 20))
    assert F.horizontal_flip(points).tolist() == [[19.0, 0.0], [0.0, 15.0]]


@pytest.mark.parametrize("fmt", ["XYXY", "XYWH", "CXCYWH"])
@pytest.mark.parametrize("op", ["resize", "crop", "pad", "center_crop", "resized_crop"])
def test_box_kernels_against_torch_reference(fmt, op):
    """Each kernel equals a direct torch computation on XYXY corners, clamped to the
    new canvas where torchvision clamps (crop and pad; resize does not)."""
    xyxy = torch.tensor(BOXES)
    boxes = T.BoundingBoxes(np_of(F.convert_bounding_box_format(
        ember.tensor(BOXES), old_format="XYXY", new_format=fmt)), format=fmt,
        canvas_size=(12, 14))
    scale = torch.tensor([1.0, 1.0, 1.0, 1.0])
    if op == "resize":
        out = F.resize(boxes, [6, 21])
        ref, canvas = xyxy * torch.tensor([21 / 14, 6 / 12, 21 / 14, 6 / 12]), (6, 21)
    elif op == "crop":
        out = F.crop(boxes, 2, 3, 7, 8)
        ref, canvas = xyxy - torch.tensor([3.0, 2, 3, 2]), (7, 8)
    elif op == "pad":
        out = F.pad(boxes, [1, 2, 3, 4])
        ref, canvas = xyxy + torch.tensor([1.0, 2, 1, 2]), (18, 18)
    elif op == "center_crop":
        out = F.center_crop(boxes, [6, 8])
        ref, canvas = xyxy - torch.tensor([3.0, 3, 3, 3]), (6, 8)
    else:
        out = F.resized_crop(boxes, 2, 3, 7, 8, [14, 4])
        ref = (xyxy - torch.tensor([3.0, 2, 3, 2])).clamp(min=0)
        ref = torch.minimum(ref, torch.tensor([8.0, 7, 8, 7]))
        scale = torch.tensor([4 / 8, 14 / 7, 4 / 8, 14 / 7])
        canvas = (14, 4)
    if op in ("crop", "pad", "center_crop"):
        ref = torch.minimum(ref.clamp(min=0), torch.tensor(
            [canvas[1], canvas[0], canvas[1], canvas[0]], dtype=ref.dtype))
    ref = ref * scale
    assert out.canvas_size == canvas and out.format.value == fmt
    got = F.convert_bounding_box_format(out, new_format="XYXY")
    np.testing.assert_allclose(np_of(got), ref.numpy(), atol=1e-12)


@pytest.mark.parametrize("angle, expand", [(90, True), (30, False), (-45, True)])
def test_rotate_boxes_against_torch_corners(angle, expand):
    h, w = 12, 14
    boxes = T.BoundingBoxes(BOXES, format="XYXY", canvas_size=(h, w))
    out = F.rotate(boxes, angle, expand=expand)
    # torch reference: rotate corners counter-clockwise about the centre (y points down)
    rad = math.radians(angle)
    rot = torch.tensor([[math.cos(rad), math.sin(rad)], [-math.sin(rad), math.cos(rad)]],
                       dtype=torch.float64)
    b = torch.tensor(BOXES)
    corners = torch.stack([b[:, [0, 1]], b[:, [2, 1]], b[:, [2, 3]], b[:, [0, 3]]], 1)
    centre = torch.tensor([w / 2, h / 2], dtype=torch.float64)
    moved = (corners - centre) @ rot.T + centre
    frame = torch.tensor([[0.0, 0], [w, 0], [w, h], [0, h]], dtype=torch.float64)
    frame = (frame - centre) @ rot.T + centre
    if expand:
        moved = moved - frame.amin(0)
    ref = torch.cat([moved.amin(1), moved.amax(1)], 1)
    new_h, new_w = out.canvas_size
    if expand:
        # the expanded canvas is the image kernel's, so image and boxes agree
        image = F.rotate(T.Image(ember.zeros(1, h, w)), angle, expand=True)
        assert (new_h, new_w) == tuple(image.shape[-2:])
    ref = torch.minimum(ref.clamp(min=0), torch.tensor([new_w, new_h, new_w, new_h],
                                                       dtype=ref.dtype))
    np.testing.assert_allclose(np_of(out), ref.numpy(), atol=1e-9)


def _mask_bbox(mask):
    rows, cols = np.nonzero(np_of(mask))
    return [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]


@pytest.mark.parametrize("transform", [
    v2.RandomHorizontalFlip(p=1.0), v2.RandomVerticalFlip(p=1.0),
    v2.RandomRotation((90, 90), expand=True), v2.RandomRotation((-90, -90)),
    v2.Pad([2, 1, 0, 3]), v2.RandomCrop(9), v2.CenterCrop(8), v2.RandomZoomOut(p=1.0),
    v2.RandomAffine(0, translate=(0.3, 0.3)),
    v2.Resize((24, 28), interpolation=v2.InterpolationMode.NEAREST),
])
def test_boxes_follow_masks_and_pixels(transform):
    """A box drawn around a mask's rectangle still encloses it after the transform."""
    mask = np.zeros((12, 14), np.uint8)
    mask[3:8, 5:12] = 1
    box = T.BoundingBoxes([[5, 3, 12, 8]], format="XYXY", canvas_size=(12, 14))
    image = T.Image(ember.tensor(mask[None] * 200))
    ember.manual_seed(7)
    out_img, out_mask, out_box = transform(image, T.Mask(ember.tensor(mask)), box)
    assert type(out_mask) is T.Mask and type(out_box) is T.BoundingBoxes
    assert tuple(out_box.canvas_size) == tuple(out_mask.shape[-2:]) == tuple(
        out_img.shape[-2:])
    np.testing.assert_array_equal(np_of(out_img)[0] > 0, np_of(out_mask) > 0)
    np.testing.assert_allclose(np_of(out_box)[0], _mask_bbox(out_mask), atol=1e-4)


def test_keypoints_follow_pixels():
    points = T.KeyPoints([[3.0, 2.0], [10.0, 7.0]], canvas_size=(12, 14))
    mask = np.zeros((12, 14), np.uint8)
    mask[2, 3] = mask[7, 10] = 1
    for transform in (v2.RandomHorizontalFlip(p=1.0), v2.Pad(3), v2.CenterCrop(10)):
        out_mask, out_points = transform(T.Mask(ember.tensor(mask)), points)
        rows, cols = np.nonzero(np_of(out_mask))
        assert sorted(zip(cols.tolist(), rows.tolist())) == sorted(
            tuple(p) for p in np_of(out_points).tolist())


def test_clamp_and_sanitize():
    boxes = T.BoundingBoxes([[-2, 1, 5, 30], [3, 3, 3, 9], [1, 1, 4, 4], [20, 0, 30, 5]],
                            format="XYXY", canvas_size=(10, 10))
    clamped = v2.ClampBoundingBoxes()(boxes)
    assert clamped.tolist() == [[0, 1, 5, 10], [3, 3, 3, 9], [1, 1, 4, 4], [10, 0, 10, 5]]
    labels = ember.tensor([1, 2, 3, 4])
    masks = T.Mask(ember.zeros(4, 10, 10))
    out = v2.SanitizeBoundingBoxes()({"boxes": clamped, "labels": labels, "masks": masks,
                                      "semantic": T.Mask(ember.zeros(10, 10))})
    assert out["boxes"].tolist() == [[0, 1, 5, 10], [1, 1, 4, 4]]
    assert out["labels"].tolist() == [1, 3] and out["masks"].shape == (2, 10, 10)
    assert out["semantic"].shape == (10, 10)
    kept, valid = F.sanitize_bounding_boxes(ember.tensor([[0, 0, 1, 1], [0, 0, 0, 5]]),
                                            format="XYXY", canvas_size=(4, 4))
    assert kept.tolist() == [[0, 0, 1, 1]] and valid.tolist() == [True, False]
    with pytest.raises(ValueError, match="Could not infer where the labels are"):
        v2.SanitizeBoundingBoxes()({"boxes": boxes})


# ----------------------------------------------------------------------------- dispatch

def test_pure_tensor_heuristic():
    first, second = u8_image(), u8_image()
    out1, out2 = v2.RandomHorizontalFlip(p=1.0)(first, second)
    np.testing.assert_array_equal(np_of(out1), np_of(first.flip(-1)))
    assert out2 is second  # only the first plain tensor is the image
    img = T.Image(u8_image())
    _, out_plain = v2.RandomHorizontalFlip(p=1.0)(img, first)
    assert out_plain is first  # with an Image present, plain tensors pass through
    sample = (img, {"label": 3, "name": "x", "extra": [first]})
    out = v2.Resize(6)(sample)
    assert out[1]["label"] == 3 and out[1]["name"] == "x" and out[1]["extra"][0] is first
    assert out[0].shape == (3, 6, 7)


def test_functional_errors_and_passthrough():
    mask = T.Mask(ember.zeros(4, 4))
    with pytest.raises(TypeError, match="Functional F.adjust_brightness supports inputs of"):
        F.adjust_brightness(mask, 0.5)
    assert v2.ColorJitter(brightness=0.5)(mask) is mask  # transforms pass through
    with pytest.raises(TypeError, match="Input tensor should be a float tensor"):
        v2.Normalize([0.5], [0.5])(T.Image(ember.zeros(1, 2, 2, dtype=ember.uint8)))
    with pytest.raises(ValueError, match="Found multiple HxW dimensions"):
        v2.RandomCrop(2)(T.Image(ember.zeros(1, 4, 4)), T.Mask(ember.zeros(5, 5)))


def test_reproducible_under_manual_seed():
    pipeline = v2.Compose([v2.RandomResizedCrop(8), v2.RandomHorizontalFlip(),
                           v2.RandomPhotometricDistort(p=1.0), v2.RandomErasing(p=1.0)])
    img = T.Image(u8_image())
    ember.manual_seed(3)
    a = pipeline(img)
    ember.manual_seed(3)
    b = pipeline(img)
    np.testing.assert_array_equal(np_of(a), np_of(b))


def test_mixup_cutmix_against_torch_formula():
    imgs = RNG.random((4, 3, 6, 6)).astype(np.float32)
    labels = np.array([0, 1, 2, 1])
    ember.manual_seed(0)
    out_img, out_lab = v2.MixUp(num_classes=3)(ember.tensor(imgs), ember.tensor(labels))
    onehot = torch.nn.functional.one_hot(torch.tensor(labels), 3).float()
    lam = float(out_lab[0, 0])  # the label of sample 0 (class 0) mixed with sample 3's
    ref = torch.tensor(imgs).roll(1, 0) * (1 - lam) + torch.tensor(imgs) * lam
    np.testing.assert_allclose(np_of(out_img), ref.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np_of(out_lab), (onehot.roll(1, 0) * (1 - lam) +
                                                onehot * lam).numpy(), rtol=1e-6)
    ember.manual_seed(1)
    out_img, out_lab = v2.CutMix(num_classes=3)(ember.tensor(imgs), ember.tensor(labels))
    pasted = (np_of(out_img) != imgs).any(axis=(0, 1))
    lam = 1.0 - pasted.sum() / 36.0 if pasted.any() else float(out_lab[0, 0])
    np.testing.assert_allclose(np_of(out_lab), (onehot.roll(1, 0) * (1 - lam) +
                                                onehot * lam).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="num_classes must be passed"):
        v2.MixUp()(ember.tensor(imgs), ember.tensor(labels))


# ----------------------------------------------------------------------------- tutorial

def test_object_detection_tutorial_flow():
    """'Transforms v2: getting started' / detection: PIL image + target dict through the
    tutorial's pipeline, then a DataLoader-style batch of plain tensors."""
    arr = RNG.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    boxes = T.BoundingBoxes([[10, 8, 40, 30], [45, 20, 60, 44], [0, 0, 2, 2]],
                            format="XYXY", canvas_size=(48, 64))
    masks = T.Mask(ember.zeros(3, 48, 64, dtype=ember.uint8))
    target = {"boxes": boxes, "masks": masks, "labels": ember.tensor([1, 2, 3]),
              "image_id": 7}
    transforms = v2.Compose([
        v2.ToImage(),
        v2.RandomPhotometricDistort(p=1),
        v2.RandomZoomOut(fill={T.Image: (123, 117, 104), "others": 0}),
        v2.RandomIoUCrop(),
        v2.RandomHorizontalFlip(p=1),
        v2.SanitizeBoundingBoxes(),
        v2.ToDtype(ember.float32, scale=True),
    ])
    ember.manual_seed(0)
    img, out = transforms(PILImage.fromarray(arr), target)
    assert type(img) is T.Image and img.dtype == ember.float32
    assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0
    assert out["image_id"] == 7 and type(out["boxes"]) is T.BoundingBoxes
    assert out["boxes"].canvas_size == tuple(img.shape[-2:])
    n = out["boxes"].shape[0]
    assert out["labels"].shape == (n,) and out["masks"].shape[0] == n
    xyxy = np_of(out["boxes"])
    assert (xyxy[:, 2] > xyxy[:, 0]).all() and (xyxy[:, 3] > xyxy[:, 1]).all()
    ember.manual_seed(0)
    img2, _ = transforms(PILImage.fromarray(arr), target)
    np.testing.assert_array_equal(np_of(img2), np_of(img))
    plain_img, plain_out = v2.ToPureTensor()(img, out)
    assert type(plain_img) is ember.Tensor and type(plain_out["boxes"]) is ember.Tensor


def test_sanitize_keypoints():
    points = T.KeyPoints([[[1.0, 1.0], [2.0, 3.0]], [[-1.0, 0.0], [1.0, 1.0]],
                          [[3.0, 9.9], [0.0, 0.0]], [[4.0, 10.0], [1.0, 1.0]]],
                         canvas_size=(10, 5))
    labels = ember.tensor([1, 2, 3, 4])
    out_points, out_labels = v2.SanitizeKeyPoints(labels_getter=lambda s: s[1])(points, labels)
    assert type(out_points) is T.KeyPoints and out_labels.tolist() == [1, 3]
    assert out_points.shape == (2, 2, 2)
    kept, valid = F.sanitize_keypoints(ember.tensor([[1.0, 2.0], [5.0, 1.0]]), canvas_size=(4, 5))
    assert kept.tolist() == [[1.0, 2.0]] and valid.tolist() == [True, False]
    with pytest.raises(ValueError, match="canvas_size cannot be None"):
        F.sanitize_keypoints(ember.zeros(1, 2))


def test_transforms_that_refuse_inputs():
    pil = PILImage.fromarray(RNG.integers(0, 256, (6, 6, 3), dtype=np.uint8))
    with pytest.raises(TypeError, match=r"Normalize\(\) does not support PIL images."):
        v2.Normalize([0.5] * 3, [0.5] * 3)(pil)
    img = T.Image(ember.zeros(3, 8, 8))
    with pytest.raises(TypeError, match="BoundingBoxes'es and Mask's are not supported by "
                                        r"FiveCrop\(\)"):
        v2.FiveCrop(4)(img, T.Mask(ember.zeros(8, 8)))
    assert len(v2.TenCrop(4)(img)) == 10
    with pytest.warns(UserWarning, match=r"RandomErasing\(\) is currently passing through"):
        v2.RandomErasing(p=1.0)(img, T.Mask(ember.zeros(8, 8)))
    with pytest.raises(TypeError, match=r"RandomIoUCrop\(\) requires input sample"):
        v2.RandomIoUCrop()(img)
