"""Colour functionals: images and videos only (v1's kernels, shared); masks, boxes and
keypoints have no kernel, so v2 transforms pass them through untouched."""

from __future__ import annotations

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
        (posterize, F1.posterize, None),
        (solarize, F1.solarize, None),
        (invert, F1.invert, None),
        (equalize, F1.equalize, None),
        (autocontrast, F1.autocontrast, None),
        (permute_channels, permute_channels_image, _permute_channels_pil)):
    # v1's functionals take tensors and PIL images alike
    register_image_kernel(_functional, _kernel, pil_kernel=_pil or _kernel)
