"""Image ops on PIL images: Pillow does the pixel work, as in torchvision's PIL backend."""

from __future__ import annotations

import numpy as np

try:
    from PIL import Image, ImageEnhance, ImageOps
except ImportError:  # Pillow is the optional ``vision`` extra
    Image = ImageEnhance = ImageOps = None


def is_pil_image(img) -> bool:
    return Image is not None and isinstance(img, Image.Image)


def require_pil(img) -> None:
    if not is_pil_image(img):
        raise TypeError(f"img should be PIL Image. Got {type(img)}")


def get_image_num_channels(img) -> int:
    require_pil(img)
    return len(img.getbands())


def get_dimensions(img) -> list[int]:
    require_pil(img)
    width, height = img.size
    return [get_image_num_channels(img), height, width]


def get_image_size(img) -> list[int]:
    require_pil(img)
    return list(img.size)


def parse_fill(fill, img, name: str = "fillcolor") -> dict:
    """Turn a number or sequence into the fill Pillow expects for this image's mode."""
    num_channels = get_image_num_channels(img)
    if fill is None:
        fill = 0
    if isinstance(fill, (int, float)) and num_channels > 1:
        fill = tuple([fill] * num_channels)
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = tuple(fill) * num_channels
        elif len(fill) != num_channels:
            raise ValueError("The number of elements in 'fill' does not match the number of "
                             f"channels of the image ({len(fill)} != {num_channels})")
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(x) for x in fill) if isinstance(fill, tuple) else int(fill)
    return {name: fill}


def hflip(img):
    require_pil(img)
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def vflip(img):
    require_pil(img)
    return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)


def crop(img, top: int, left: int, height: int, width: int):
    require_pil(img)
    return img.crop((left, top, left + width, top + height))


def resize(img, size: list[int], interpolation: int):
    require_pil(img)
    return img.resize(tuple(size[::-1]), interpolation)


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    require_pil(img)
    if isinstance(padding, int):
        padding = [padding]
    padding = list(padding)
    if len(padding) == 1:
        padding = padding * 4
    elif len(padding) == 2:
        padding = padding * 2
    left, top, right, bottom = padding
    crop_ltrb = [max(-p, 0) for p in (left, top, right, bottom)]
    if any(crop_ltrb):  # negative padding removes border pixels
        img = img.crop((crop_ltrb[0], crop_ltrb[1], img.width - crop_ltrb[2],
                        img.height - crop_ltrb[3]))
        left, top, right, bottom = (max(p, 0) for p in (left, top, right, bottom))
    palette = img.getpalette() if img.mode == "P" else None
    if padding_mode == "constant":
        out = ImageOps.expand(img, border=(left, top, right, bottom),
                              **parse_fill(fill, img, name="fill"))
    else:
        arr = np.asarray(img)
        widths = ((top, bottom), (left, right)) + (((0, 0),) if arr.ndim == 3 else ())
        out = Image.fromarray(np.pad(arr, widths, mode=padding_mode))
    if palette is not None:
        out.putpalette(palette)
    return out


def rotate(img, angle: float, interpolation: int = 0, expand: bool = False, center=None,
           fill=None):
    require_pil(img)
    return img.rotate(angle, interpolation, expand, center, **parse_fill(fill, img))


def affine(img, matrix: list[float], interpolation: int = 0, fill=None):
    require_pil(img)
    return img.transform(img.size, Image.Transform.AFFINE, matrix, interpolation,
                         **parse_fill(fill, img))


def perspective(img, coeffs: list[float], interpolation: int = 2, fill=None):
    require_pil(img)
    return img.transform(img.size, Image.Transform.PERSPECTIVE, coeffs, interpolation,
                         **parse_fill(fill, img))


def adjust_brightness(img, factor: float):
    require_pil(img)
    return ImageEnhance.Brightness(img).enhance(factor)


def adjust_contrast(img, factor: float):
    require_pil(img)
    return ImageEnhance.Contrast(img).enhance(factor)


def adjust_saturation(img, factor: float):
    require_pil(img)
    return ImageEnhance.Color(img).enhance(factor)


def adjust_sharpness(img, factor: float):
    require_pil(img)
    return ImageEnhance.Sharpness(img).enhance(factor)


def adjust_hue(img, factor: float):
    require_pil(img)
    input_mode = img.mode
    if input_mode in {"L", "1", "I", "F"}:
        return img
    h, s, v = img.convert("HSV").split()
    np_h = np.array(h, dtype=np.uint8)
    # uint8 arithmetic wraps around, which is the hue rotation we want
    np_h += np.array(factor * 255).astype(np.int8).astype(np.uint8)
    h = Image.fromarray(np_h, "L")
    return Image.merge("HSV", (h, s, v)).convert(input_mode)


def adjust_gamma(img, gamma: float, gain: float = 1.0):
    require_pil(img)
    input_mode = img.mode
    img = img.convert("RGB")
    levels = np.arange(256) / 255.0
    gamma_map = ((255 + 1 - 1e-3) * gain * levels ** gamma).astype(np.int64).tolist()
    return img.point(gamma_map * 3).convert(input_mode)


def to_grayscale(img, num_output_channels: int = 1):
    require_pil(img)
    if num_output_channels == 1:
        return img.convert("L")
    if num_output_channels == 3:
        gray = np.array(img.convert("L"), dtype=np.uint8)
        return Image.fromarray(np.dstack([gray, gray, gray]), "RGB")
    raise ValueError("num_output_channels should be either 1 or 3")


def posterize(img, bits: int):
    require_pil(img)
    return ImageOps.posterize(img, bits)


def solarize(img, threshold: float):
    require_pil(img)
    return ImageOps.solarize(img, threshold)


def invert(img):
    require_pil(img)
    return ImageOps.invert(img)


def equalize(img):
    require_pil(img)
    return ImageOps.equalize(img)


def autocontrast(img):
    require_pil(img)
    return ImageOps.autocontrast(img)
