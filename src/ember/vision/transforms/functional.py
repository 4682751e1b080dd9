"""``torchvision.transforms.functional``: each op on PIL images and on ember tensors.

Tensor images are (..., C, H, W); any leading dims are a batch. PIL images go to Pillow
(``_functional_pil``), tensors to ember ops (``_functional_tensor``); argument checks
and messages live here, once for both, as torchvision's.
"""

from __future__ import annotations

import math
import numbers
import sys
import warnings
from enum import Enum

import numpy as np

import ember

from . import _functional_pil as F_pil
from . import _functional_tensor as F_t


class InterpolationMode(Enum):
    """Interpolation modes; the values are ember.nn.functional.interpolate mode names."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    # PIL-only modes
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_MODES = {
    InterpolationMode.NEAREST: 0, InterpolationMode.NEAREST_EXACT: 0,
    InterpolationMode.BILINEAR: 2, InterpolationMode.BICUBIC: 3,
    InterpolationMode.BOX: 4, InterpolationMode.HAMMING: 5, InterpolationMode.LANCZOS: 1,
}
_FROM_PIL_INT = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR,
                 3: InterpolationMode.BICUBIC, 4: InterpolationMode.BOX,
                 5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}


def _interpolation(interpolation) -> InterpolationMode:
    if isinstance(interpolation, int):
        return _FROM_PIL_INT[interpolation]
    if not isinstance(interpolation, InterpolationMode):
        raise TypeError("Argument interpolation should be a InterpolationMode or a "
                        "corresponding Pillow integer constant")
    return interpolation


def _is_tensor(img) -> bool:
    return isinstance(img, ember.Tensor)


def _check_image(img) -> None:
    if not _is_tensor(img):
        F_pil.require_pil(img)


# ----------------------------------------------------------------------------- info

def get_dimensions(img) -> list[int]:
    """[channels, height, width] of a tensor or PIL image."""
    if _is_tensor(img):
        return F_t.get_dimensions(img)
    return F_pil.get_dimensions(img)


def get_image_size(img) -> list[int]:
    """[width, height]."""
    if _is_tensor(img):
        _, h, w = F_t.get_dimensions(img)
        return [w, h]
    return F_pil.get_image_size(img)


def get_image_num_channels(img) -> int:
    if _is_tensor(img):
        return F_t.get_dimensions(img)[0]
    return F_pil.get_image_num_channels(img)


# ----------------------------------------------------------------------------- conversion

def _numpy_to_chw(pic: np.ndarray):
    if pic.ndim == 2:
        pic = pic[:, :, None]
    return ember.from_numpy(np.ascontiguousarray(pic.transpose((2, 0, 1))))


def to_tensor(pic) -> ember.Tensor:
    """PIL image or HWC ndarray -> CHW tensor; uint8 data is scaled to [0, 1] floats."""
    is_numpy = isinstance(pic, np.ndarray)
    if not (F_pil.is_pil_image(pic) or is_numpy):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if is_numpy and pic.ndim not in (2, 3):
        raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
    if is_numpy:
        img = _numpy_to_chw(pic)
    else:
        np_types = {"I": np.int32, "I;16" if sys.byteorder == "little" else "I;16B": np.int16,
                    "F": np.float32}
        arr = np.array(pic, np_types.get(pic.mode, np.uint8), copy=True)
        if pic.mode == "1":
            arr = 255 * arr
        arr = arr.reshape(pic.size[1], pic.size[0], F_pil.get_image_num_channels(pic))
        img = _numpy_to_chw(arr)
    if img.dtype == ember.uint8:
        return img.to(ember.get_default_dtype()).div(255)
    return img


def pil_to_tensor(pic) -> ember.Tensor:
    """PIL image -> CHW tensor of the image's own dtype (no scaling)."""
    if not F_pil.is_pil_image(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    arr = np.array(pic, copy=True)
    arr = arr.reshape(pic.size[1], pic.size[0], F_pil.get_image_num_channels(pic))
    return ember.from_numpy(arr).permute((2, 0, 1))


def to_pil_image(pic, mode: str | None = None):
    """CHW tensor or HWC ndarray -> PIL image; floats are scaled by 255 unless mode 'F'."""
    if isinstance(pic, ember.Tensor):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        if pic.ndim == 2:
            pic = pic.unsqueeze(0)
        if pic.shape[-3] > 4:
            raise ValueError(f"pic should not have > 4 channels. Got {pic.shape[-3]} channels.")
        if pic.is_floating_point() and mode != "F":
            pic = pic.mul(255).byte()
        npimg = np.transpose(pic.detach().cpu().numpy(), (1, 2, 0))
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        if pic.ndim == 2:
            pic = np.expand_dims(pic, 2)
        if pic.shape[-1] > 4:
            raise ValueError(f"pic should not have > 4 channels. Got {pic.shape[-1]} channels.")
        npimg = pic
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    channels = npimg.shape[2]
    if channels == 1:
        npimg = npimg[:, :, 0]
        expected = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16",
                    np.dtype(np.uint16): "I;16", np.dtype(np.int32): "I",
                    np.dtype(np.float32): "F"}.get(npimg.dtype)
        if mode is not None and mode != expected:
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type {np.dtype}. "
                             f"Should be {expected}")
        mode = expected
        if npimg.dtype == np.int16:  # Pillow stores I;16 as unsigned
            npimg = npimg.astype(np.uint16)
    else:
        permitted = {2: ["LA"], 3: ["RGB", "YCbCr", "HSV"], 4: ["RGBA", "CMYK", "RGBX"]}
        if mode is not None and mode not in permitted[channels]:
            raise ValueError(f"Only modes {permitted[channels]} are supported for "
                             f"{channels}D inputs")
        if mode is None and npimg.dtype == np.uint8:
            mode = permitted[channels][0]
    if mode is None:
        raise TypeError(f"Input type {npimg.dtype} is not supported")
    if mode in ("I;16", "I", "F", "L", "LA", "RGB", "RGBA"):
        return F_pil.Image.fromarray(npimg)
    return F_pil.Image.fromarray(npimg, mode=mode)


def convert_image_dtype(image: ember.Tensor, dtype=ember.float32) -> ember.Tensor:
    if not isinstance(image, ember.Tensor):
        raise TypeError("Input img should be Tensor Image")
    return F_t.convert_image_dtype(image, dtype)


def normalize(tensor: ember.Tensor, mean, std, inplace: bool = False) -> ember.Tensor:
    """(tensor - mean) / std per channel.

    Args:
        tensor: float tensor image (..., C, H, W).
        mean, std: one value per channel (or one for all).
        inplace: write the result into ``tensor``.
    """
    if not isinstance(tensor, ember.Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    return F_t.normalize(tensor, mean, std, inplace)


# ----------------------------------------------------------------------------- geometry

def _compute_resized_output_size(image_size, size, max_size=None) -> list[int]:
    h, w = image_size
    short, long = (w, h) if w <= h else (h, w)
    if len(size) == 1:
        requested_short = size[0]
        new_short, new_long = requested_short, int(requested_short * long / short)
        if max_size is not None:
            if max_size <= requested_short:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the "
                                 f"requested size for the smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    else:
        new_w, new_h = size[1], size[0]
    return [new_h, new_w]


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
           antialias: bool | None = True):
    """Resize to (h, w), or the smaller edge to ``size`` keeping the aspect ratio.

    Args:
        img: PIL image or tensor (..., C, H, W).
        size: (h, w), or an int / 1-element sequence for the smaller edge.
        interpolation: an InterpolationMode (or Pillow int); tensors take nearest,
            nearest-exact, bilinear and bicubic.
        max_size: bound on the longer edge when ``size`` is the smaller edge.
        antialias: low-pass filter when shrinking tensors (PIL always does).

    Example:
        >>> resize(ember.rand(3, 32, 48), 16).shape
        torch.Size([3, 16, 24])
    """
    interpolation = _interpolation(interpolation)
    if isinstance(size, (list, tuple)):
        if len(size) not in (1, 2):
            raise ValueError("Size must be an int or a 1 or 2 element tuple/list, not a "
                             f"{len(size)} element tuple/list")
        if max_size is not None and len(size) != 1:
            raise ValueError("max_size should only be passed if size specifies the length of "
                             "the smaller edge, i.e. size should be an int or a sequence of "
                             "length 1 in torchscript mode.")
    _, height, width = get_dimensions(img)
    size = [size] if isinstance(size, int) else list(size)
    output_size = _compute_resized_output_size((height, width), size, max_size)
    if [height, width] == output_size:
        return img
    if not _is_tensor(img):
        if antialias is False:
            warnings.warn("Anti-alias option is always applied for PIL Image input. "
                          "Argument antialias is ignored.")
        return F_pil.resize(img, output_size, _PIL_MODES[interpolation])
    if interpolation.value not in ("nearest", "nearest-exact", "bilinear", "bicubic"):
        raise ValueError(f"Interpolation mode {interpolation} is unsupported for tensors")
    return F_t.resize(img, output_size, interpolation.value, antialias)


def crop(img, top: int, left: int, height: int, width: int):
    """The (height, width) region at (top, left); zero-padded where it leaves the image."""
    if _is_tensor(img):
        return F_t.crop(img, top, left, height, width)
    return F_pil.crop(img, top, left, height, width)


def _pair(size):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) == 1:
        return size[0], size[0]
    return size


def center_crop(img, output_size):
    output_size = _pair(output_size)
    _, image_height, image_width = get_dimensions(img)
    crop_height, crop_width = output_size
    if crop_width > image_width or crop_height > image_height:
        padding_ltrb = [
            (crop_width - image_width) // 2 if crop_width > image_width else 0,
            (crop_height - image_height) // 2 if crop_height > image_height else 0,
            (crop_width - image_width + 1) // 2 if crop_width > image_width else 0,
            (crop_height - image_height + 1) // 2 if crop_height > image_height else 0,
        ]
        img = pad(img, padding_ltrb, fill=0)
        _, image_height, image_width = get_dimensions(img)
        if crop_width == image_width and crop_height == image_height:
            return img
    crop_top = int(round((image_height - crop_height) / 2.0))
    crop_left = int(round((image_width - crop_width) / 2.0))
    return crop(img, crop_top, crop_left, crop_height, crop_width)


def resized_crop(img, top: int, left: int, height: int, width: int, size,
                 interpolation=InterpolationMode.BILINEAR, antialias: bool | None = True):
    img = crop(img, top, left, height, width)
    return resize(img, size, interpolation, antialias=antialias)


def hflip(img):
    return F_t.hflip(img) if _is_tensor(img) else F_pil.hflip(img)


def vflip(img):
    return F_t.vflip(img) if _is_tensor(img) else F_pil.vflip(img)


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad by int, (left/right, top/bottom) or (left, top, right, bottom).

    Args:
        padding: pixels to add; negative values crop.
        fill: constant value, or one value per channel, for ``padding_mode='constant'``.
        padding_mode: constant, edge (repeat the border), reflect (mirror without
            repeating the border) or symmetric (mirror repeating it).
    """
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg")
    if not isinstance(padding_mode, str):
        raise TypeError("Got inappropriate padding_mode arg")
    if isinstance(padding, (tuple, list)) and len(padding) not in (1, 2, 4):
        raise ValueError("Padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding)} element tuple")
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    if _is_tensor(img):
        return F_t.pad(img, padding, fill, padding_mode)
    return F_pil.pad(img, padding, fill, padding_mode)


def five_crop(img, size):
    """Four corner crops and the centre crop, in the order tl, tr, bl, br, center."""
    size = _pair(size)
    if len(size) != 2:
        raise ValueError("Please provide only two dimensions (h, w) for size.")
    _, image_height, image_width = get_dimensions(img)
    crop_height, crop_width = size
    if crop_width > image_width or crop_height > image_height:
        raise ValueError(f"Requested crop size {size} is bigger than input size "
                         f"{(image_height, image_width)}")
    tl = crop(img, 0, 0, crop_height, crop_width)
    tr = crop(img, 0, image_width - crop_width, crop_height, crop_width)
    bl = crop(img, image_height - crop_height, 0, crop_height, crop_width)
    br = crop(img, image_height - crop_height, image_width - crop_width, crop_height,
              crop_width)
    center = center_crop(img, [crop_height, crop_width])
    return tl, tr, bl, br, center


def ten_crop(img, size, vertical_flip: bool = False):
    """five_crop of the image and of its flip (horizontal unless ``vertical_flip``)."""
    size = _pair(size)
    if len(size) != 2:
        raise ValueError("Please provide only two dimensions (h, w) for size.")
    first_five = five_crop(img, size)
    flipped = vflip(img) if vertical_flip else hflip(img)
    return first_five + five_crop(flipped, size)


def _get_inverse_affine_matrix(center, angle, translate, scale, shear,
                               inverted: bool = True) -> list[float]:
    """The 2x3 matrix (row-major) of output -> input pixel coordinates.

    The forward map is M = T * C * R * S * Sh * C^-1 (translate, centre, rotate, scale,
    shear); sampling needs its inverse, which is built here in closed form.
    """
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    if inverted:
        matrix = [x / scale for x in (d, -b, 0.0, -c, a, 0.0)]
        matrix[2] += matrix[0] * (-cx - tx) + matrix[1] * (-cy - ty)
        matrix[5] += matrix[3] * (-cx - tx) + matrix[4] * (-cy - ty)
        matrix[2] += cx
        matrix[5] += cy
    else:
        matrix = [x * scale for x in (a, b, 0.0, c, d, 0.0)]
        matrix[2] += matrix[0] * (-cx) + matrix[1] * (-cy)
        matrix[5] += matrix[3] * (-cx) + matrix[4] * (-cy)
        matrix[2] += cx + tx
        matrix[5] += cy + ty
    return matrix


def _tensor_fill(fill, channels):
    if fill is None:
        return None
    if isinstance(fill, (int, float)):
        return [float(fill)] * channels
    return [float(f) for f in fill]


def rotate(img, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False,
           center=None, fill=None):
    """Rotate counter-clockwise by ``angle`` degrees about ``center`` (default: middle).

    Args:
        expand: grow the canvas to hold the whole rotated image.
        center: (x, y) in pixels from the top-left corner.
        fill: value of pixels from outside the input (number or one per channel).
    """
    interpolation = _interpolation(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    if not _is_tensor(img):
        return F_pil.rotate(img, angle, _PIL_MODES[interpolation], expand, center, fill)
    center_f = [0.0, 0.0]
    if center is not None:
        _, height, width = get_dimensions(img)
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    # the grid maps output to input, so the tensor path uses the opposite angle
    matrix = _get_inverse_affine_matrix(center_f, -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    return F_t.rotate(img, matrix, interpolation.value, expand,
                      _tensor_fill(fill, get_dimensions(img)[0]))


def affine(img, angle: float, translate, scale: float, shear,
           interpolation=InterpolationMode.NEAREST, fill=None, center=None):
    """Rotation, translation (pixels), scale and shear (degrees) about the centre.

    Args:
        angle: degrees, clockwise (as torchvision) for tensors and PIL images alike.
        translate: (dx, dy) in pixels.
        scale: overall scale, > 0.
        shear: x shear in degrees, or (x, y).
        fill, center: as in ``rotate``.
    """
    interpolation = _interpolation(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if not isinstance(translate, (list, tuple)):
        raise TypeError("Argument translate should be a sequence")
    if len(translate) != 2:
        raise ValueError("Argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError("Argument scale should be positive")
    if not isinstance(shear, (numbers.Number, list, tuple)):
        raise TypeError("Shear should be either a single value or a sequence of two values")
    angle = float(angle)
    shear = [shear, 0.0] if isinstance(shear, numbers.Number) else list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    channels, height, width = get_dimensions(img)
    if not _is_tensor(img):
        if center is None:
            center = [width * 0.5, height * 0.5]
        matrix = _get_inverse_affine_matrix(center, angle, translate, scale, shear)
        return F_pil.affine(img, matrix, _PIL_MODES[interpolation], fill)
    center_f = [0.0, 0.0]
    if center is not None:
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    translate_f = [1.0 * t for t in translate]
    matrix = _get_inverse_affine_matrix(center_f, angle, translate_f, scale, shear)
    return F_t.affine(img, matrix, interpolation.value, _tensor_fill(fill, channels))


def _get_perspective_coeffs(startpoints, endpoints) -> list[float]:
    """Solve the 8 coefficients mapping endpoints back onto startpoints (least squares)."""
    if len(startpoints) != 4 or len(endpoints) != 4:
        raise ValueError(f"Please provide exactly four corners, got {len(startpoints)} "
                         f"startpoints and {len(endpoints)} endpoints.")
    end = np.asarray(endpoints, dtype=np.float64)
    start = np.asarray(startpoints, dtype=np.float64)
    a_matrix = np.zeros((8, 8))
    a_matrix[0::2, 0:2] = end
    a_matrix[0::2, 2] = 1
    a_matrix[1::2, 3:5] = end
    a_matrix[1::2, 5] = 1
    a_matrix[0::2, 6:8] = -start[:, :1] * end
    a_matrix[1::2, 6:8] = -start[:, 1:] * end
    solution = np.linalg.lstsq(a_matrix, start.reshape(8), rcond=None)[0]
    return solution.astype(np.float32).tolist()


def perspective(img, startpoints, endpoints, interpolation=InterpolationMode.BILINEAR,
                fill=None):
    """Warp so the four ``startpoints`` corners land on ``endpoints``."""
    coeffs = _get_perspective_coeffs(startpoints, endpoints)
    interpolation = _interpolation(interpolation)
    if not _is_tensor(img):
        return F_pil.perspective(img, coeffs, _PIL_MODES[interpolation], fill)
    return F_t.perspective(img, coeffs, interpolation.value,
                           _tensor_fill(fill, get_dimensions(img)[0]))


# ----------------------------------------------------------------------------- colour

def _nonneg(value, name):
    if value < 0:
        raise ValueError(f"{name} ({value}) is not non-negative.")


def adjust_brightness(img, brightness_factor: float):
    _nonneg(brightness_factor, "brightness_factor")
    if _is_tensor(img):
        return F_t.adjust_brightness(img, brightness_factor)
    return F_pil.adjust_brightness(img, brightness_factor)


def adjust_contrast(img, contrast_factor: float):
    _nonneg(contrast_factor, "contrast_factor")
    if _is_tensor(img):
        return F_t.adjust_contrast(img, contrast_factor)
    return F_pil.adjust_contrast(img, contrast_factor)


def adjust_saturation(img, saturation_factor: float):
    _nonneg(saturation_factor, "saturation_factor")
    if _is_tensor(img):
        return F_t.adjust_saturation(img, saturation_factor)
    return F_pil.adjust_saturation(img, saturation_factor)


def adjust_hue(img, hue_factor: float):
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if _is_tensor(img):
        return F_t.adjust_hue(img, hue_factor)
    return F_pil.adjust_hue(img, hue_factor)


def adjust_gamma(img, gamma: float, gain: float = 1):
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    if _is_tensor(img):
        return F_t.adjust_gamma(img, gamma, gain)
    return F_pil.adjust_gamma(img, gamma, gain)


def adjust_sharpness(img, sharpness_factor: float):
    _nonneg(sharpness_factor, "sharpness_factor")
    if _is_tensor(img):
        return F_t.adjust_sharpness(img, sharpness_factor)
    return F_pil.adjust_sharpness(img, sharpness_factor)


def rgb_to_grayscale(img, num_output_channels: int = 1):
    if _is_tensor(img):
        return F_t.rgb_to_grayscale(img, num_output_channels)
    return F_pil.to_grayscale(img, num_output_channels)


def to_grayscale(img, num_output_channels: int = 1):
    """PIL-only grayscale conversion (tensors use ``rgb_to_grayscale``)."""
    if F_pil.is_pil_image(img):
        return F_pil.to_grayscale(img, num_output_channels)
    raise TypeError("Input should be PIL Image")


def posterize(img, bits: int):
    if not 0 <= bits <= 8:
        raise ValueError(f"The number if bits should be between 0 and 8. Got {bits}")
    return F_t.posterize(img, bits) if _is_tensor(img) else F_pil.posterize(img, bits)


def solarize(img, threshold: float):
    return F_t.solarize(img, threshold) if _is_tensor(img) else F_pil.solarize(img, threshold)


def invert(img):
    return F_t.invert(img) if _is_tensor(img) else F_pil.invert(img)


def equalize(img):
    return F_t.equalize(img) if _is_tensor(img) else F_pil.equalize(img)


def autocontrast(img):
    return F_t.autocontrast(img) if _is_tensor(img) else F_pil.autocontrast(img)


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur with a Gaussian kernel (odd sizes); sigma defaults to 0.3*((k-1)*0.5-1)+0.8."""
    if not isinstance(kernel_size, (int, list, tuple)):
        raise TypeError(f"kernel_size should be int or a sequence of integers. "
                        f"Got {type(kernel_size)}")
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    if len(kernel_size) != 2:
        raise ValueError(f"If kernel_size is a sequence its length should be 2. "
                         f"Got {len(kernel_size)}")
    for ksize in kernel_size:
        if ksize % 2 == 0 or ksize < 0:
            raise ValueError(f"kernel_size should have odd and positive integers. "
                             f"Got {kernel_size}")
    if sigma is None:
        sigma = [ksize * 0.15 + 0.35 for ksize in kernel_size]
    if not isinstance(sigma, (int, float, list, tuple)):
        raise TypeError(f"sigma should be either float or sequence of floats. Got {type(sigma)}")
    if isinstance(sigma, (int, float)):
        sigma = [float(sigma), float(sigma)]
    if isinstance(sigma, (list, tuple)) and len(sigma) == 1:
        sigma = [sigma[0], sigma[0]]
    if len(sigma) != 2:
        raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
    for s in sigma:
        if s <= 0.0:
            raise ValueError(f"sigma should have positive values. Got {sigma}")
    if _is_tensor(img):
        return F_t.gaussian_blur(img, list(kernel_size), list(sigma))
    F_pil.require_pil(img)
    # PIL images go through the tensor kernel so both give the same numbers
    blurred = F_t.gaussian_blur(pil_to_tensor(img), list(kernel_size), list(sigma))
    return to_pil_image(blurred, mode=img.mode)


def erase(img: ember.Tensor, i: int, j: int, h: int, w: int, v, inplace: bool = False):
    """Set the (h, w) region at (i, j) to ``v`` (a value or a broadcastable tensor)."""
    if not isinstance(img, ember.Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    return F_t.erase(img, i, j, h, w, v, inplace)


__all__ = [
    "InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels",
    "to_tensor", "pil_to_tensor", "to_pil_image", "convert_image_dtype", "normalize",
    "resize", "crop", "center_crop", "resized_crop", "hflip", "vflip", "pad", "five_crop",
    "ten_crop", "rotate", "affine", "perspective", "adjust_brightness", "adjust_contrast",
    "adjust_saturation", "adjust_hue", "adjust_gamma", "adjust_sharpness",
    "rgb_to_grayscale", "to_grayscale", "posterize", "solarize", "invert", "equalize",
    "autocontrast", "gaussian_blur", "erase",
]
