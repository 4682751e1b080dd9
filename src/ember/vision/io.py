"""``torchvision.io`` for images: read/decode to uint8 (C, H, W) tensors, encode PNG/JPEG.

Pillow does the codec work (torchvision links libpng/libjpeg directly); results are
the same layout and dtypes: uint8 for 8-bit images, uint16 for 16-bit PNGs.
"""

from __future__ import annotations

import io as _io
import os
from enum import Enum

import numpy as np

import ember

__all__ = ["ImageReadMode", "read_file", "write_file", "decode_image", "read_image",
           "decode_png", "decode_jpeg", "encode_png", "encode_jpeg", "write_png",
           "write_jpeg"]


class ImageReadMode(Enum):
    """Channels to decode to: as stored, gray, gray+alpha, RGB or RGB+alpha."""

    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = RGB_ALPHA


_PIL_MODE = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA",
             ImageReadMode.RGB: "RGB", ImageReadMode.RGB_ALPHA: "RGBA"}


def _pil():
    from PIL import Image, ImageOps
    return Image, ImageOps


def read_file(path) -> ember.Tensor:
    """The file's bytes as a 1-D uint8 tensor."""
    with open(os.fspath(path), "rb") as f:
        data = f.read()
    if not data:
        raise RuntimeError(f"File {path} is empty")
    return ember.from_numpy(np.frombuffer(data, dtype=np.uint8).copy())


def write_file(filename, data: ember.Tensor) -> None:
    """Write a 1-D uint8 tensor's bytes to ``filename``."""
    with open(os.fspath(filename), "wb") as f:
        f.write(data.detach().cpu().numpy().astype(np.uint8).tobytes())


def _read_mode(mode) -> ImageReadMode:
    if isinstance(mode, str):
        key = mode.upper()
        if key not in ImageReadMode.__members__:
            raise ValueError(f"Unknown image read mode {mode}")
        return ImageReadMode[key]
    return mode


def _bytes_of(input) -> bytes:
    if not isinstance(input, ember.Tensor):
        return bytes(read_file(str(input)).numpy())
    if input.dtype != ember.uint8:
        raise RuntimeError("Expected a torch.uint8 tensor")
    if input.ndim != 1:
        raise RuntimeError("Expected a one dimensional tensor")
    return input.detach().cpu().numpy().tobytes()


def _image_to_tensor(img, mode: ImageReadMode) -> ember.Tensor:
    if mode in _PIL_MODE:
        img = img.convert(_PIL_MODE[mode])
    elif img.mode == "P":  # palettes are expanded, as libpng's decoder does
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode == "1":
        img = img.convert("L")
    elif img.mode == "CMYK":
        img = img.convert("RGB")
    arr = np.array(img)
    if img.mode in ("I;16", "I;16B", "I;16L"):
        arr = arr.astype(np.uint16)
    elif img.mode == "I":
        arr = arr.astype(np.uint16)  # 16-bit PNGs open as "I" in some Pillow versions
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return ember.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def decode_image(input, mode=ImageReadMode.UNCHANGED,
                 apply_exif_orientation: bool = False) -> ember.Tensor:
    """Decode PNG/JPEG/GIF/BMP/WEBP bytes (a uint8 tensor) or a path to (C, H, W)."""
    Image, ImageOps = _pil()
    data = _bytes_of(input)
    try:
        img = Image.open(_io.BytesIO(data))
        img.load()
    except Exception as exc:  # Pillow raises several types; report one, as torchvision
        raise RuntimeError(f"Unsupported image file. Only jpeg, png, webp and gif are "
                           f"currently supported. ({exc})") from None
    if apply_exif_orientation:
        img = ImageOps.exif_transpose(img)
    return _image_to_tensor(img, _read_mode(mode))


def read_image(path, mode=ImageReadMode.UNCHANGED,
               apply_exif_orientation: bool = False) -> ember.Tensor:
    """Read an image file into a uint8 (C, H, W) tensor."""
    return decode_image(read_file(path), mode, apply_exif_orientation)


def decode_png(input, mode=ImageReadMode.UNCHANGED,
               apply_exif_orientation: bool = False) -> ember.Tensor:
    return decode_image(input, mode, apply_exif_orientation)


def decode_jpeg(input, mode=ImageReadMode.UNCHANGED, device="cpu",
                apply_exif_orientation: bool = False):
    if isinstance(input, (list, tuple)):
        return [decode_jpeg(x, mode, device, apply_exif_orientation) for x in input]
    return decode_image(input, mode, apply_exif_orientation).to(device)


def _check_encodable(input) -> np.ndarray:
    if input.dtype != ember.uint8:
        raise RuntimeError("Input tensor dtype should be uint8")
    if input.ndim != 3:
        raise RuntimeError("Input tensor dimension should be 3")
    channels = input.shape[0]
    if channels not in (1, 3):
        raise RuntimeError(f"The number of channels should be 1 or 3, got: {channels}")
    arr = np.ascontiguousarray(input.detach().cpu().numpy().transpose(1, 2, 0))
    return arr[:, :, 0] if channels == 1 else arr


def _encode(arr: np.ndarray, fmt: str, **options) -> ember.Tensor:
    Image, _ = _pil()
    buffer = _io.BytesIO()
    Image.fromarray(arr).save(buffer, format=fmt, **options)
    return ember.from_numpy(np.frombuffer(buffer.getvalue(), dtype=np.uint8).copy())


def encode_png(input: ember.Tensor, compression_level: int = 6) -> ember.Tensor:
    """A uint8 (C, H, W) image, C in {1, 3}, as PNG file bytes in a 1-D uint8 tensor."""
    if not 0 <= compression_level <= 9:
        raise RuntimeError("Compression level should be between 0 and 9")
    return _encode(_check_encodable(input), "PNG", compress_level=compression_level)


def encode_jpeg(input, quality: int = 75):
    """A uint8 (C, H, W) image (or a list of them) as JPEG bytes."""
    if quality < 1 or quality > 100:
        raise ValueError("Image quality should be a positive number between 1 and 100")
    if isinstance(input, (list, tuple)):
        return [encode_jpeg(x, quality) for x in input]
    return _encode(_check_encodable(input), "JPEG", quality=quality)


def write_png(input: ember.Tensor, filename, compression_level: int = 6) -> None:
    write_file(filename, encode_png(input, compression_level))


def write_jpeg(input: ember.Tensor, filename, quality: int = 75) -> None:
    write_file(filename, encode_jpeg(input, quality))
