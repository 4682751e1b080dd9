"""ember.vision.transforms classes: outputs against the functional ops / torch / Pillow,
pipelines, reproducibility under ember.manual_seed, argument errors and reprs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import ember
from ember.vision import transforms as T
from ember.vision.transforms import functional as VF

RNG = np.random.default_rng(11)


def u8(*shape):
    return RNG.integers(0, 256, shape, dtype=np.uint8)


def as_np(t):
    return np.asarray(t.detach().numpy())


def pil_rgb(h=12, w=14):
    return Image.fromarray(u8(h, w, 3))


def same(a, b):
    """Equal images: both PIL, both tensors, or sequences of them."""
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, Image.Image):
        return a.size == b.size and a.mode == b.mode and np.array_equal(np.asarray(a),
                                                                        np.asarray(b))
    return tuple(a.shape) == tuple(b.shape) and np.array_equal(as_np(a), as_np(b))


# ------------------------------------------------------------------ deterministic ones

def test_totensor_normalize_pipeline_matches_torch():
    img = pil_rgb()
    pipe = T.Compose([T.CenterCrop(10), T.ToTensor(),
                      T.Normalize([0.5, 0.4, 0.3], [0.2, 0.2, 0.2])])
    out = pipe(img)
    arr = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)[:, 1:11, 2:12].float() / 255
    expected = (arr - torch.tensor([0.5, 0.4, 0.3]).view(-1, 1, 1)) / 0.2
    assert out.dtype == ember.float32 and tuple(out.shape) == (3, 10, 10)
    np.testing.assert_allclose(as_np(out), expected.numpy(), rtol=1.3e-6, atol=1e-5)


@pytest.mark.parametrize("transform,fn", [
    (T.Resize(7), lambda im: VF.resize(im, 7)),
    (T.Resize((5, 6), interpolation=T.InterpolationMode.NEAREST),
     lambda im: VF.resize(im, [5, 6], T.InterpolationMode.NEAREST)),
    (T.CenterCrop((4, 6)), lambda im: VF.center_crop(im, [4, 6])),
    (T.FiveCrop(5), lambda im: VF.five_crop(im, 5)),
    (T.TenCrop(5, vertical_flip=True), lambda im: VF.ten_crop(im, 5, True)),
    (T.Pad([1, 2], fill=3, padding_mode="constant"), lambda im: VF.pad(im, [1, 2], 3)),
    (T.Pad(2, padding_mode="symmetric"), lambda im: VF.pad(im, 2, padding_mode="symmetric")),
    (T.Grayscale(3), lambda im: VF.rgb_to_grayscale(im, 3)),
    (T.Lambda(VF.hflip), VF.hflip),
    (T.RandomHorizontalFlip(p=1.0), VF.hflip),
    (T.RandomVerticalFlip(p=1.0), VF.vflip),
    (T.RandomHorizontalFlip(p=0.0), lambda im: im),
    (T.RandomGrayscale(p=1.0), lambda im: VF.rgb_to_grayscale(im, 3)),
    (T.RandomRotation((30, 30)), lambda im: VF.rotate(im, 30.0, fill=0)),
    (T.RandomAffine((10, 10), scale=(1.1, 1.1), shear=(5, 5, 2, 2)),
     lambda im: VF.affine(im, 10.0, [0, 0], 1.1, [5.0, 2.0], fill=0)),
    (T.ColorJitter(), lambda im: im),
    (T.RandomApply([T.RandomHorizontalFlip(p=1.0)], p=1.0), VF.hflip),
    (T.RandomApply([T.RandomHorizontalFlip(p=1.0)], p=0.0), lambda im: im),
    (T.RandomInvert(p=1.0), VF.invert),
    (T.RandomPosterize(4, p=1.0), lambda im: VF.posterize(im, 4)),
    (T.RandomSolarize(128, p=1.0), lambda im: VF.solarize(im, 128)),
    (T.RandomEqualize(p=1.0), VF.equalize),
    (T.RandomAutocontrast(p=1.0), VF.autocontrast),
    (T.RandomAdjustSharpness(2.0, p=1.0), lambda im: VF.adjust_sharpness(im, 2.0)),
])
@pytest.mark.parametrize("kind", ["pil", "tensor"])
def test_transform_equals_functional(transform, fn, kind):
    img = pil_rgb()
    if kind == "tensor":
        img = VF.pil_to_tensor(img)
    assert same(transform(img), fn(img))


def test_pil_and_tensor_agree_on_geometry():
    img = pil_rgb()
    t = VF.pil_to_tensor(img)
    for transform in (T.CenterCrop(8), T.Pad([1, 2, 3, 4], padding_mode="reflect"),
                      T.RandomVerticalFlip(p=1.0), T.Pad(3, padding_mode="edge")):
        np.testing.assert_array_equal(as_np(transform(t)),
                                      np.asarray(transform(img)).transpose(2, 0, 1))


def test_convert_image_dtype_and_to_pil_image():
    t = VF.pil_to_tensor(pil_rgb())
    f = T.ConvertImageDtype(ember.float32)(t)
    np.testing.assert_allclose(as_np(f), as_np(t) / 255.0, rtol=1e-6)
    back = T.ToPILImage()(f)
    assert back.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(back).transpose(2, 0, 1), as_np(t))
    assert T.ToPILImage(mode="F")(f[:1]).mode == "F"


def test_gaussian_blur_fixed_sigma():
    t = VF.pil_to_tensor(pil_rgb())
    assert same(T.GaussianBlur(3, sigma=1.5)(t), VF.gaussian_blur(t, [3, 3], [1.5, 1.5]))


# ------------------------------------------------------------------ random ones

def _t_img():
    return ember.tensor(u8(3, 16, 18))


RANDOM_TRANSFORMS = [
    T.RandomCrop(10),
    T.RandomCrop((8, 20), pad_if_needed=True, padding_mode="reflect"),
    T.RandomCrop(12, padding=3, fill=5),
    T.RandomResizedCrop(9),
    T.RandomResizedCrop((6, 8), scale=(0.5, 0.9), ratio=(0.5, 2.0)),
    T.RandomHorizontalFlip(),
    T.RandomRotation(45, interpolation=T.InterpolationMode.BILINEAR, expand=True),
    T.RandomAffine(20, translate=(0.2, 0.1), scale=(0.8, 1.2), shear=10),
    T.RandomPerspective(p=1.0),
    T.ColorJitter(0.4, 0.4, 0.4, 0.1),
    T.GaussianBlur(5),
    T.RandomChoice([T.RandomHorizontalFlip(1.0), T.Grayscale(3)], p=[0.3, 0.7]),
    T.RandomOrder([T.ColorJitter(brightness=0.5), T.RandomHorizontalFlip(1.0)]),
    T.AutoAugment(T.AutoAugmentPolicy.IMAGENET),
    T.AutoAugment(T.AutoAugmentPolicy.CIFAR10),
    T.AutoAugment(T.AutoAugmentPolicy.SVHN),
    T.RandAugment(),
    T.TrivialAugmentWide(),
]


@pytest.mark.parametrize("transform", RANDOM_TRANSFORMS, ids=lambda t: type(t).__name__)
def test_random_transforms_reproducible_under_manual_seed(transform):
    for img in (_t_img(), pil_rgb(16, 18)):
        ember.manual_seed(3)
        first = [transform(img) for _ in range(4)]
        ember.manual_seed(3)
        second = [transform(img) for _ in range(4)]
        assert all(same(a, b) for a, b in zip(first, second))
        if isinstance(img, ember.Tensor):
            assert all(o.dtype == ember.uint8 and o.shape[0] == 3 for o in first)


@pytest.mark.parametrize("transform", RANDOM_TRANSFORMS[:5], ids=lambda t: type(t).__name__)
def test_random_crops_tensor_and_pil_draw_the_same_region(transform):
    img = pil_rgb(16, 18)
    ember.manual_seed(5)
    out_pil = transform(img)
    ember.manual_seed(5)
    out_t = transform(VF.pil_to_tensor(img))
    assert tuple(out_t.shape[1:]) == out_pil.size[::-1]
    if not isinstance(transform, T.RandomResizedCrop):  # resampling filters differ
        np.testing.assert_array_equal(as_np(out_t), np.asarray(out_pil).transpose(2, 0, 1))


def test_random_crop_region_is_a_slice():
    data = u8(3, 16, 18)
    ember.manual_seed(0)
    out = as_np(T.RandomCrop((7, 9))(ember.tensor(data)))
    ember.manual_seed(0)
    i, j, h, w = T.RandomCrop.get_params(ember.tensor(data), (7, 9))
    np.testing.assert_array_equal(out, data[:, i:i + h, j:j + w])
    seen = set()
    for _ in range(30):
        seen.add(T.RandomCrop.get_params(ember.tensor(data), (7, 9))[:2])
    assert len(seen) > 5 and all(0 <= i <= 9 and 0 <= j <= 9 for i, j in seen)


def test_random_resized_crop_params_in_range():
    img = ember.zeros(3, 40, 50)
    for _ in range(20):
        i, j, h, w = T.RandomResizedCrop.get_params(img, (0.2, 0.6), (0.75, 1.333))
        assert 0 <= i and i + h <= 40 and 0 <= j and j + w <= 50
        assert 0.15 * 2000 <= h * w <= 0.65 * 2000
    # impossible ratio falls back to the centre crop
    assert T.RandomResizedCrop.get_params(img, (1.0, 1.0), (10.0, 20.0)) == (17, 0, 5, 50)
    assert tuple(T.RandomResizedCrop(8)(img).shape) == (3, 8, 8)


def test_random_erasing():
    x = ember.rand(3, 20, 20)
    ember.manual_seed(1)
    out = T.RandomErasing(p=1.0, value=(0.1, 0.2, 0.3))(x)
    erased = ~np.isclose(as_np(out), as_np(x))
    assert erased.any()
    np.testing.assert_allclose(as_np(out)[0][erased[0]], 0.1, rtol=1e-6)
    rows, cols = np.nonzero(erased[0])
    assert erased[0][rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()
    ember.manual_seed(1)
    random_fill = T.RandomErasing(p=1.0, value="random")(x)
    assert tuple(random_fill.shape) == (3, 20, 20)
    assert same(T.RandomErasing(p=0.0)(x), x)
    inplace = ember.rand(3, 8, 8)
    ember.manual_seed(2)
    assert T.RandomErasing(p=1.0, inplace=True)(inplace) is inplace
    with pytest.raises(ValueError, match="If value is a sequence, it should have either a single "
                                         "value or 3"):
        T.RandomErasing(p=1.0, value=[1, 2])(x)


def test_random_apply_probability_and_random_choice_weights():
    ember.manual_seed(0)
    flips = sum(same(T.RandomHorizontalFlip()(ember.arange(4.).view(1, 1, 4)),
                     ember.arange(4.).flip(-1).view(1, 1, 4)) for _ in range(400))
    assert 150 < flips < 250
    picks = T.RandomChoice([T.Lambda(lambda x: 0), T.Lambda(lambda x: 1)], p=[0.2, 0.8])
    counts = sum(picks(None) for _ in range(400))
    assert 270 < counts < 360
    order = T.RandomOrder([T.Lambda(lambda x: x + "a"), T.Lambda(lambda x: x + "b")])
    assert {order("") for _ in range(40)} == {"ab", "ba"}


def test_random_perspective_moves_corners_inward():
    img = ember.ones(1, 20, 20)
    ember.manual_seed(0)
    out = T.RandomPerspective(distortion_scale=0.6, p=1.0, fill=0)(img)
    assert as_np(out).min() == 0.0 and as_np(out).max() == 1.0
    start, end = T.RandomPerspective.get_params(20, 20, 0.5)
    assert start == [[0, 0], [19, 0], [19, 19], [0, 19]]
    assert 0 <= end[0][0] <= 5 and 14 <= end[1][0] <= 19


def test_color_jitter_ranges_and_order():
    cj = T.ColorJitter(brightness=0.5, contrast=(0.2, 0.3), hue=0.2)
    assert cj.brightness == (0.5, 1.5) and cj.contrast == (0.2, 0.3)
    assert cj.saturation is None and cj.hue == (-0.2, 0.2)
    fn_idx, b, c, s, h = T.ColorJitter.get_params(cj.brightness, cj.contrast, None, cj.hue)
    assert sorted(fn_idx.tolist()) == [0, 1, 2, 3] and s is None
    assert 0.5 <= b <= 1.5 and 0.2 <= c <= 0.3 and -0.2 <= h <= 0.2


def test_autoaugment_policies_on_tensor_and_pil():
    img = pil_rgb(16, 18)
    t = VF.pil_to_tensor(img)
    policy = T.AutoAugment(T.AutoAugmentPolicy.IMAGENET)
    for seed in range(4):
        ember.manual_seed(seed)
        out_t = policy(t)
        ember.manual_seed(seed)
        out_p = policy(img)
        assert tuple(out_t.shape) == (3, 16, 18) and out_p.size == (18, 16)
    assert T.TrivialAugmentWide()._augmentation_space(31)["Posterize"][0].tolist()[:3] == [8, 8, 8]
    assert T.RandAugment()._augmentation_space(31, (10, 10))["Posterize"][0][-1] == 4


@pytest.mark.parametrize("policy", list(T.AutoAugmentPolicy))
def test_autoaugment_applies_the_drawn_sub_policy(policy):
    from ember.vision.transforms.autoaugment import _apply_op
    img = VF.pil_to_tensor(pil_rgb(16, 18))
    transform = T.AutoAugment(policy)
    for seed in range(6):
        ember.manual_seed(seed)
        policy_id, probs, signs = T.AutoAugment.get_params(len(transform.policies))
        expected = img
        for i, (name, p, magnitude_id) in enumerate(transform.policies[policy_id]):
            if probs[i] <= p:
                magnitudes, signed = transform._augmentation_space(10, (18, 16))[name]
                magnitude = float(magnitudes[magnitude_id]) if magnitude_id is not None else 0.0
                if signed and signs[i] == 0:
                    magnitude = -magnitude
                expected = _apply_op(expected, name, magnitude, T.InterpolationMode.NEAREST, None)
        ember.manual_seed(seed)
        assert same(transform(img), expected)
    space = transform._augmentation_space(10, (331, 331))
    np.testing.assert_allclose(space["TranslateX"][0][-1], 150.0, rtol=1e-6)
    assert space["Posterize"][0].tolist() == [8, 8, 7, 7, 6, 6, 5, 5, 4, 4]
    np.testing.assert_allclose(space["Solarize"][0][[0, -1]], [255.0, 0.0])


# ------------------------------------------------------------------ errors and reprs

@pytest.mark.parametrize("make,exc,msg", [
    (lambda: T.RandomCrop(20)(ember.zeros(3, 10, 10)), ValueError,
     r"Required crop size \(20, 20\) is larger than input image size \(10, 10\)"),
    (lambda: T.CenterCrop([1, 2, 3]), ValueError,
     r"Please provide only two dimensions \(h, w\) for size."),
    (lambda: T.Normalize([0.5], [0.5])(ember.zeros(1, 3, 3, dtype=ember.uint8)), TypeError,
     "Input tensor should be a float tensor. Got torch.uint8."),
    (lambda: T.Resize(2.5), TypeError, "Size should be int or sequence. Got <class 'float'>"),
    (lambda: T.PILToTensor()(ember.zeros(3, 2, 2)), TypeError, "pic should be PIL Image"),
    (lambda: T.Resize([1, 2, 3]), ValueError,
     "If size is a sequence, it should have 1 or 2 values"),
    (lambda: T.Pad([1, 2, 3]), ValueError,
     "Padding must be an int or a 1, 2, or 4 element tuple, not a 3 element tuple"),
    (lambda: T.Pad(1, padding_mode="wrap"), ValueError, "Padding mode should be either constant"),
    (lambda: T.Lambda(3), TypeError, "Argument lambd should be callable, got 'int'"),
    (lambda: T.RandomChoice(T.Grayscale()), TypeError, "Argument transforms should be a sequence"),
    (lambda: T.RandomRotation(-5), ValueError,
     "If degrees is a single number, it must be positive."),
    (lambda: T.RandomRotation([1, 2, 3]), ValueError, "degrees should be a sequence of length 2."),
    (lambda: T.RandomAffine(0, translate=(0.5, 2.0)), ValueError,
     "translation values should be between 0 and 1"),
    (lambda: T.RandomAffine(0, scale=(0.0, 1.0)), ValueError, "scale values should be positive"),
    (lambda: T.RandomAffine(0, shear=[1, 2, 3]), ValueError,
     "shear should be a sequence of length 2 or 4."),
    (lambda: T.ColorJitter(brightness=-1), ValueError,
     "If brightness is a single number, it must be non negative."),
    (lambda: T.ColorJitter(hue=0.7), ValueError,
     r"hue values should be between \(-0.5, 0.5\), but got \[-0.7, 0.7\]."),
    (lambda: T.ColorJitter(contrast=[1, 2, 3]), TypeError,
     "contrast should be a single number or a list/tuple with length 2."),
    (lambda: T.GaussianBlur(4), ValueError,
     "Kernel size value should be an odd and positive number."),
    (lambda: T.GaussianBlur(3, sigma=(2.0, 1.0)), ValueError,
     r"sigma values should be positive and of the form \(min, max\)."),
    (lambda: T.GaussianBlur(3, sigma=-1), ValueError,
     "If sigma is a single number, it must be positive."),
    (lambda: T.RandomErasing(value="x"), ValueError, "If value is str, it should be 'random'"),
    (lambda: T.RandomErasing(scale=(0.1, 2.0)), ValueError, "Scale should be between 0 and 1"),
    (lambda: T.RandomErasing(p=2), ValueError,
     "Random erasing probability should be between 0 and 1"),
    (lambda: T.RandomResizedCrop(5, scale=0.5), TypeError, "Scale should be a sequence"),
    (lambda: T.ToTensor()("x"), TypeError, "pic should be PIL Image or ndarray"),
    (lambda: T.AutoAugment("x"), ValueError, "The provided policy x is not recognized."),
])
def test_argument_errors(make, exc, msg):
    with pytest.raises(exc, match=msg):
        make()


def test_reprs():
    pipe = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                      T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
    assert repr(pipe) == (
        "Compose(\n"
        "    Resize(size=256, interpolation=bilinear, max_size=None, antialias=True)\n"
        "    CenterCrop(size=(224, 224))\n"
        "    ToTensor()\n"
        "    Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])\n"
        ")")
    assert repr(T.RandomHorizontalFlip()) == "RandomHorizontalFlip(p=0.5)"
    assert repr(T.RandomResizedCrop(8)) == (
        "RandomResizedCrop(size=(8, 8), scale=(0.08, 1.0), ratio=(0.75, 1.3333), "
        "interpolation=bilinear, antialias=True)")
    assert repr(T.RandomAffine(10, scale=(0.9, 1.1))) == (
        "RandomAffine(degrees=[-10.0, 10.0], scale=(0.9, 1.1))")
    assert repr(T.RandomRotation(5)) == (
        "RandomRotation(degrees=[-5.0, 5.0], interpolation=nearest, expand=False, fill=0)")
    assert repr(T.GaussianBlur(3)) == "GaussianBlur(kernel_size=(3, 3), sigma=(0.1, 2.0))"
    assert repr(T.RandomApply([T.Grayscale()], p=0.3)) == (
        "RandomApply(\n    p=0.3\n    Grayscale(num_output_channels=1)\n)")


def test_pipelines_pickle_for_worker_processes():
    import pickle
    pipe = T.Compose([T.RandomResizedCrop(8), T.ColorJitter(0.2, 0.2), T.ToTensor(),
                      T.Normalize([0.5] * 3, [0.5] * 3), T.RandomErasing(),
                      T.AutoAugment(T.AutoAugmentPolicy.CIFAR10)])
    clone = pickle.loads(pickle.dumps(pipe))
    assert repr(clone) == repr(pipe)
    img = pil_rgb()
    ember.manual_seed(9)
    first = T.Compose(clone.transforms[:5])(img)
    ember.manual_seed(9)
    assert same(first, T.Compose(pipe.transforms[:5])(img))


def test_scale_ratio_warning():
    with pytest.warns(UserWarning, match=r"Scale and ratio should be of kind \(min, max\)"):
        T.RandomResizedCrop(5, scale=(1.0, 0.5))
