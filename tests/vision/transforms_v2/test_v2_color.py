"""v2 colour functionals against torch running torchvision v2's arithmetic (written out
below as reference code): exact on uint8, assert_close tolerances on float32."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember.vision import tv_tensors as T
from ember.vision.transforms import v2
from ember.vision.transforms.v2 import functional as F

RNG = np.random.default_rng(21)


def ref_gray(t, keep_dtype=True):
    r, g, b = t.unbind(-3)
    gray = r.mul(0.2989).add_(g, alpha=0.587).add_(b, alpha=0.114).unsqueeze(-3)
    return gray.to(t.dtype) if keep_dtype else gray


def ref_blend(a, b, ratio):
    fp = a.is_floating_point()
    out = a.mul(ratio).add_(b, alpha=1.0 - ratio).clamp_(0, 1.0 if fp else 255)
    return out if fp else out.to(a.dtype)


def ref_brightness(t, f):
    out = t.mul(f).clamp_(0, 1.0 if t.is_floating_point() else 255)
    return out if t.is_floating_point() else out.to(t.dtype)


def ref_saturation(t, f):
    gray = ref_gray(t, False)
    return ref_blend(t, gray if t.is_floating_point() else gray.floor_(), f)


def ref_contrast(t, f):
    gray = ref_gray(t, False)
    gray = gray if t.is_floating_point() else gray.floor_()
    return ref_blend(t, gray.mean(dim=(-3, -2, -1), keepdim=True), f)


def ref_sharpness(t, f):
    fp = t.is_floating_point()
    kdtype = t.dtype if fp else torch.float32
    a, b = 1.0 / 13.0, 5.0 / 13.0
    kernel = torch.tensor([[a, a, a], [a, b, a], [a, a, a]], dtype=kdtype).expand(3, 1, 3, 3)
    out = t.to(kdtype, copy=True).reshape(-1, *t.shape[-3:])
    blurred = torch.nn.functional.conv2d(out, kernel, groups=3)
    if not fp:
        blurred = blurred.round_()
    inner = out[..., 1:-1, 1:-1]
    inner.add_(blurred.sub_(inner), alpha=1.0 - f)
    out = out.clamp_(0, 1.0 if fp else 255).reshape(t.shape)
    return out if fp else out.to(t.dtype)


def ref_gamma(t, gamma, gain=1.0):
    fp = t.is_floating_point()
    out = t.pow(gamma) if fp else t.to(torch.float32).mul_(1.0 / 255).pow_(gamma)
    if gain != 1.0:
        out = out.mul_(gain).clamp_(0.0, 1.0)
    return out if fp else out.mul(255 + 1.0 - 1e-3).to(t.dtype)


def ref_autocontrast(t):
    fp = t.is_floating_point()
    bound = 1.0 if fp else 255
    x = t if fp else t.to(torch.float32)
    low = x.amin(dim=(-2, -1), keepdim=True)
    high = x.amax(dim=(-2, -1), keepdim=True)
    flat = high == low
    inv_scale = high.sub(low).mul_(1.0 / bound)
    low[flat] = 0.0
    inv_scale[flat] = 1.0
    return x.sub(low).div_(inv_scale).clamp_(0, bound).to(t.dtype)


def ref_posterize(t, bits):
    if t.is_floating_point():
        levels = 1 << bits
        return t.mul(levels).floor_().clamp_(0, levels - 1).mul_(1.0 / levels)
    return t & (((1 << bits) - 1) << (8 - bits))


def ref_solarize(t, threshold):
    inverted = 1.0 - t if t.is_floating_point() else t.bitwise_not()
    return torch.where(t >= threshold, inverted, t)


CASES = [
    ("grayscale", ref_gray, lambda x: F.rgb_to_grayscale(x)),
    ("brightness", lambda t: ref_brightness(t, 1.37), lambda x: F.adjust_brightness(x, 1.37)),
    ("saturation", lambda t: ref_saturation(t, 0.63), lambda x: F.adjust_saturation(x, 0.63)),
    ("contrast", lambda t: ref_contrast(t, 1.41), lambda x: F.adjust_contrast(x, 1.41)),
    ("sharpness", lambda t: ref_sharpness(t, 1.7), lambda x: F.adjust_sharpness(x, 1.7)),
    ("gamma", lambda t: ref_gamma(t, 0.8), lambda x: F.adjust_gamma(x, 0.8)),
    ("gamma_gain", lambda t: ref_gamma(t, 1.3, 0.9), lambda x: F.adjust_gamma(x, 1.3, 0.9)),
    ("autocontrast", ref_autocontrast, lambda x: F.autocontrast(x)),
    ("posterize", lambda t: ref_posterize(t, 3), lambda x: F.posterize(x, 3)),
    ("solarize", lambda t: ref_solarize(t, 0.5 if t.is_floating_point() else 128),
     lambda x: F.solarize(x, 0.5 if x.is_floating_point() else 128)),
]


@pytest.mark.parametrize("name, ref, ours", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("kind", ["uint8", "float32"])
def test_color_kernels_against_torch_reference(name, ref, ours, kind):
    for shape in ((3, 9, 11), (2, 3, 5, 4)):
        if kind == "uint8":
            data = RNG.integers(0, 256, shape, dtype=np.uint8)
        else:
            data = RNG.random(shape).astype(np.float32)
        data[..., 0, :, :2] = data[..., 0, :1, :1]  # a run of equal values
        expected = ref(torch.tensor(data))
        got = ours(T.Image(ember.tensor(data)))
        assert type(got) is T.Image and str(got.dtype) == str(expected.dtype)
        if kind == "uint8":
            np.testing.assert_array_equal(got.numpy(), expected.numpy())
        else:
            torch.testing.assert_close(torch.from_numpy(got.numpy()), expected)


def test_equalize_on_float_goes_through_uint8():
    data = RNG.random((3, 8, 8)).astype(np.float32)
    as_u8 = F.to_dtype(ember.tensor(data), ember.uint8, scale=True)
    expected = F.to_dtype(F.equalize(as_u8), ember.float32, scale=True)
    np.testing.assert_array_equal(F.equalize(ember.tensor(data)).numpy(), expected.numpy())


def test_color_transforms_on_video_and_errors():
    video = T.Video(ember.tensor(RNG.integers(0, 256, (2, 3, 6, 6), dtype=np.uint8)))
    out = v2.RandomPhotometricDistort(p=1.0)(video)
    assert type(out) is T.Video and out.shape == (2, 3, 6, 6)
    with pytest.raises(TypeError, match="bits must be a positive integer in the range"):
        F.posterize(video, 9)


@pytest.mark.parametrize("kind", ["uint8", "float32"])
@pytest.mark.parametrize("clip", [True, False])
def test_gaussian_noise_against_torch_formula(kind, clip):
    shape = (3, 6, 7)
    data = (RNG.integers(0, 256, shape, dtype=np.uint8) if kind == "uint8"
            else RNG.random(shape).astype(np.float32))
    ember.manual_seed(4)
    noise = ember.randn(*shape).numpy()  # the draw the kernel makes under this seed
    ember.manual_seed(4)
    out = v2.GaussianNoise(mean=0.1, sigma=0.2, clip=clip)(T.Image(ember.tensor(data)))
    t = torch.tensor(data)
    if kind == "uint8":
        ref = t + (0.1 * 255 + torch.tensor(noise) * (0.2 * 255)).to(torch.int16)
        ref = (ref.clamp(0, 255) if clip else ref).to(torch.uint8)
    else:
        ref = t + (0.1 + torch.tensor(noise) * 0.2)
        ref = ref.clamp(0, 1) if clip else ref
    assert type(out) is T.Image
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    with pytest.raises(ValueError, match="sigma shouldn't be negative. Got -1"):
        F.gaussian_noise(ember.zeros(1, 2, 2), sigma=-1)


def test_per_type_kernel_names():
    video = ember.tensor(RNG.integers(0, 256, (2, 3, 3, 8, 8), dtype=np.uint8))
    np.testing.assert_array_equal(F.resize_video(video, [4, 4]).numpy(),
                                  F.resize(T.Video(video), [4, 4]).numpy())
    mask = ember.tensor(RNG.integers(0, 3, (8, 8)))
    assert F.crop_mask(mask, 1, 2, 3, 4).shape == (3, 4)
    np.testing.assert_array_equal(F.horizontal_flip_mask(mask).numpy(), mask.numpy()[:, ::-1])
    assert F.elastic_transform is F.elastic and F.get_image_num_channels(video) == 3


class _FixedMix(v2.AugMix):
    """AugMix with fixed Dirichlet draws (as torchvision's own tests pin them)."""

    def __init__(self, original_weight, **kwargs):
        super().__init__(**kwargs)
        self.original_weight = original_weight

    def _sample_dirichlet(self, params):
        n, k = params.shape
        if k == 2:
            row = [self.original_weight, 1.0 - self.original_weight]
        else:
            row = [1.0 / k] * k
        return ember.tensor([row] * n)


def test_augmix_weights_and_inputs():
    data = RNG.integers(0, 256, (2, 3, 12, 12), dtype=np.uint8)
    out = _FixedMix(1.0)(ember.tensor(data))  # all weight on the original
    np.testing.assert_array_equal(out.numpy(), data)
    ember.manual_seed(3)
    a = v2.AugMix()(T.Image(ember.tensor(data[0])))
    ember.manual_seed(3)
    b = v2.AugMix()(T.Image(ember.tensor(data[0])))
    assert type(a) is T.Image and a.dtype == ember.uint8
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    video = v2.AugMix(all_ops=False, chain_depth=2)(T.Video(ember.tensor(data)))
    assert type(video) is T.Video and video.shape == (2, 3, 12, 12)
    with pytest.raises(ValueError, match=r"The severity must be between \[1, 10\]. Got 0"):
        v2.AugMix(severity=0)
    with pytest.raises(TypeError, match="does not support bounding boxes"):
        v2.AugMix()(T.Image(ember.tensor(data[0])),
                    T.BoundingBoxes([[0, 0, 1, 1]], format="XYXY", canvas_size=(12, 12)))


def test_jpeg_tensor_path_equals_pillows_round_trip():
    import io

    from PIL import Image as PILImage
    data = RNG.integers(0, 256, (2, 3, 16, 16), dtype=np.uint8)
    out = F.jpeg(T.Image(ember.tensor(data)), quality=40)
    for frame, got in zip(data, out.numpy()):
        buffer = io.BytesIO()
        PILImage.fromarray(frame.transpose(1, 2, 0)).save(buffer, format="JPEG", quality=40)
        expected = np.asarray(PILImage.open(buffer)).transpose(2, 0, 1)
        np.testing.assert_array_equal(got, expected)
    pil = F.jpeg(PILImage.fromarray(data[0].transpose(1, 2, 0)), quality=40)
    np.testing.assert_array_equal(np.asarray(pil).transpose(2, 0, 1), out.numpy()[0])
    ember.manual_seed(0)
    assert v2.JPEG((5, 50))(T.Image(ember.tensor(data))).shape == data.shape
    with pytest.raises(ValueError, match="quality must be an integer from 1 to 100"):
        v2.JPEG(0)
