"""Colour functionals: images and videos only (v1's kernels, shared); masks, boxes and
keypoints have no kernel, so v2 transforms pass them through untouched."""

from __future__ import annotations

import ember

from ... import _functional_tensor as F_t
from ... import functional as F1
from ._utils import dispatcher, register_image_kernel


@dispatcher
def adjust_brightness(inpt, brightness_factor):
    """Blend with black: 0 gives black, 1 the original."""


@dispatcher
def adjust_contrast(inpt, contrast_factor):
    """Blend with the mean grey level."""


@dispatcher
def adjust_saturation(inpt, saturation_factor):
    """Blend with the grayscale image."""


@dispatcher
def adjust_hue(inpt, hue_factor):
    """Rotate the hue by ``hue_factor`` turns, in [-0.5, 0.5]."""


@dispatcher
def adjust_gamma(inpt, gamma, gain=1):
    """gain * x ** gamma on [0, 1] intensities."""


@dispatcher
def adjust_sharpness(inpt, sharpness_factor):
    """Blend with Pillow's SMOOTH-blurred image."""


@dispatcher
def rgb_to_grayscale(inpt, num_output_channels=1):
    """ITU-R 601-2 luma, repeated to ``num_output_channels`` (1 or 3)."""


@dispatcher
def grayscale_to_rgb(inpt):
    """Repeat one channel three times (RGB input is returned as is)."""


@dispatcher
def posterize(inpt, bits):
    """Keep the top ``bits`` bits of each uint8 channel."""


@dispatcher
def solarize(inpt, threshold):
    """Invert the pixels at or above ``threshold``."""


@dispatcher
def invert(inpt):
    """max - x for each pixel."""


@dispatcher
def equalize(inpt):
    """Histogram equalisation per channel (uint8)."""


@dispatcher
def autocontrast(inpt):
    """Stretch each channel to the full intensity range."""


@dispatcher
def permute_channels(inpt, permutation):
    """Reorder the channels: ``output[..., i, :, :] = input[..., permutation[i], :, :]``."""


to_grayscale = rgb_to_grayscale


def grayscale_to_rgb_image(image):
    if image.shape[-3] >= 3:
        return image
    return F_t.rgb_to_grayscale(image, num_output_channels=3)


def _grayscale_to_rgb_pil(image):
    return image.convert(mode="RGB")


def autocontrast_image(image):
    """torchvision v2's autocontrast: (x - min) / ((max - min) / bound). v1 multiplies by
    bound / (max - min) instead, which rounds differently on integer images."""
    if image.shape[-3] not in (1, 3):
        raise TypeError("Input image tensor permitted channel values are 1 or 3, but found "
                        f"{image.shape[-3]}")
    if image.numel() == 0:
        return image
    bound = F_t.max_value(image.dtype)
    float_image = image if image.is_floating_point() else image.to(ember.float32)
    minimum = float_image.amin(dim=(-2, -1), keepdim=True)
    maximum = float_image.amax(dim=(-2, -1), keepdim=True)
    flat = maximum == minimum  # a constant channel is left as it is
    inv_scale = ember.where(flat, ember.ones_like(maximum), (maximum - minimum) * (1.0 / bound))
    minimum = ember.where(flat, ember.zeros_like(minimum), minimum)
    return ((float_image - minimum) / inv_scale).clamp(0, bound).to(image.dtype)


def posterize_image(image, bits):
    """Keep ``bits`` bits; v2 also posterizes float images (to 2**bits levels)."""
    if not isinstance(bits, int) or not 0 <= bits <= 8:
        raise TypeError(f"bits must be a positive integer in the range [0, 8], got {bits} "
                        "instead.")
    if image.is_floating_point():
        levels = 1 << bits
        return ember.floor(image * levels).clamp(0, levels - 1) * (1.0 / levels)
    return F_t.posterize(image, bits)


def equalize_image(image):
    """v1's uint8 equalisation; other dtypes go through uint8 and back, as v2."""
    if image.numel() == 0:
        return image
    if image.dtype == ember.uint8:
        return F_t.equalize(image)
    from ._misc import to_dtype_image
    as_uint8 = to_dtype_image(image, ember.uint8, scale=True)
    return to_dtype_image(F_t.equalize(as_uint8), image.dtype, scale=True)


def permute_channels_image(image, permutation):
    shape = image.shape
    channels, height, width = shape[-3:]
    batch = image.reshape(-1, channels, height, width)
    return batch[:, list(permutation)].reshape(shape)


def _permute_channels_pil(image, permutation):
    from ... import functional as F
    return F.to_pil_image(permute_channels_image(F.pil_to_tensor(image), permutation))


for _functional, _kernel, _pil in (
        (adjust_brightness, F1.adjust_brightness, None),
        (adjust_contrast, F1.adjust_contrast, None),
        (adjust_saturation, F1.adjust_saturation, None),
        (adjust_hue, F1.adjust_hue, None),
        (adjust_gamma, F1.adjust_gamma, None),
        (adjust_sharpness, F1.adjust_sharpness, None),
        (rgb_to_grayscale, F1.rgb_to_grayscale, None),
        (grayscale_to_rgb, grayscale_to_rgb_image, _grayscale_to_rgb_pil),
        (posterize, posterize_image, F1.posterize),
        (solarize, F1.solarize, None),
        (invert, F1.invert, None),
        (equalize, equalize_image, F1.equalize),
        (autocontrast, autocontrast_image, F1.autocontrast),
        (permute_channels, permute_channels_image, _permute_channels_pil)):
    # v1's functionals take tensors and PIL images alike
    register_image_kernel(_functional, _kernel, pil_kernel=_pil or _kernel)
