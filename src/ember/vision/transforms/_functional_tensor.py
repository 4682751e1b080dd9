"""Image ops on ember tensors shaped (..., C, H, W), as torchvision's tensor backend.

Everything is written with ember ops, so it runs on any device and float inputs keep
their autograd history (resize, crops, flips, pad, affine warps and colour blends are
differentiable, as in torchvision). Integer images are computed in float32 and rounded
back, which is what torchvision does.
"""

from __future__ import annotations

import numpy as np

import ember
import ember.nn.functional as F

from . import _resample

_INT_MAX = {
    ember.uint8: 255, ember.int8: 127, ember.int16: 32767, ember.uint16: 65535,
    ember.int32: 2 ** 31 - 1, ember.int64: 2 ** 63 - 1, ember.bool: 1,
}


def max_value(dtype) -> float | int:
    """The value of full intensity: 1.0 for float images, the type's maximum for ints."""
    return _INT_MAX.get(dtype, 1.0)


def assert_image_tensor(img) -> None:
    if img.ndim < 2:
        raise TypeError("Tensor is not a torch image.")


def get_dimensions(img) -> list[int]:
    assert_image_tensor(img)
    channels = 1 if img.ndim == 2 else img.shape[-3]
    height, width = img.shape[-2:]
    return [channels, height, width]


def assert_channels(img, permitted) -> None:
    c = get_dimensions(img)[0]
    if c not in permitted:
        raise TypeError(f"Input image tensor permitted channel values are {permitted}, "
                        f"but found {c}")


def _check_point_op_image(img, uint8_only: bool = False) -> None:
    """The checks torchvision's per-pixel colour ops (posterize, invert, solarize,
    autocontrast, equalize) make, in its order: an image tensor of at least 3 dimensions,
    uint8 where the op needs it, 1 or 3 channels."""
    assert_image_tensor(img)
    if img.ndim < 3:
        raise TypeError(f"Input image tensor should have at least 3 dimensions, "
                        f"but found {img.ndim}")
    if uint8_only and img.dtype != ember.uint8:
        raise TypeError(f"Only torch.uint8 image tensors are supported, but found {img.dtype}")
    assert_channels(img, [1, 3])


def _to_batch(img, float_dtypes=(ember.float32, ember.float64)):
    """View any (..., C, H, W) or (H, W) image as (N, C, H, W) in a float dtype.

    Returns the batch and what ``_from_batch`` needs to undo it (shape and dtype), so
    every op below handles single images and arbitrarily batched ones alike.
    """
    shape, dtype = tuple(img.shape), img.dtype
    c = 1 if img.ndim == 2 else shape[-3]
    batch = img.reshape(-1, c, shape[-2], shape[-1])
    if dtype not in float_dtypes:
        batch = batch.to(float_dtypes[0])
    return batch, (shape, dtype)


def _from_batch(batch, state):
    shape, dtype = state
    out = batch.reshape(shape[:-2] + tuple(batch.shape[-2:]))
    if out.dtype != dtype:
        if not dtype.is_floating_point:
            out = ember.round(out)
        out = out.to(dtype)
    return out


# ----------------------------------------------------------------------------- geometry

def crop(img, top: int, left: int, height: int, width: int):
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        padding_ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                        max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        return pad(_last_two(img, slice(max(top, 0), bottom), slice(max(left, 0), right)),
                   padding_ltrb, fill=0)
    return _last_two(img, slice(top, bottom), slice(left, right))


_ALL = slice(None)


def _last_two(img, rows, cols):
    """``img[..., rows, cols]``, spelled with one slice per leading dim: plain slices take
    indexing's fast path (1 us, where an Ellipsis costs 4.7)."""
    return img[(_ALL,) * (img.ndim - 2) + (rows, cols)]


def hflip(img):
    assert_image_tensor(img)
    return img.flip(-1)


def vflip(img):
    assert_image_tensor(img)
    return img.flip(-2)


def _parse_pad(padding) -> list[int]:
    if isinstance(padding, int):
        return [padding] * 4
    padding = list(padding)
    if len(padding) == 1:
        return padding * 4
    if len(padding) == 2:
        return [padding[0], padding[1], padding[0], padding[1]]
    return padding  # left, top, right, bottom


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad the last two dims; ``padding`` is int, (lr, tb) or (left, top, right, bottom).

    Non-constant modes gather with an index vector built by ``numpy.pad`` on ``arange``
    (one ``index_select`` per axis), so edge/reflect/symmetric work for every dtype.
    """
    assert_image_tensor(img)
    left, top, right, bottom = _parse_pad(padding)
    if isinstance(fill, (tuple, list)):
        if len(fill) == 1:
            fill = fill[0]
        elif padding_mode == "constant":
            return _pad_per_channel(img, [left, top, right, bottom], fill)
    if min(left, top, right, bottom) < 0:  # negative padding crops first
        h, w = img.shape[-2:]
        img = img[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
        left, top, right, bottom = (max(p, 0) for p in (left, top, right, bottom))
    if padding_mode == "constant":
        if img.ndim == 2:
            return F.pad(img[None], [left, right, top, bottom], value=float(fill))[0]
        return F.pad(img, [left, right, top, bottom], value=float(fill))
    np_mode = {"edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}[padding_mode]
    h, w = img.shape[-2:]
    if padding_mode == "reflect" and (left >= w or right >= w or top >= h or bottom >= h):
        raise RuntimeError("Padding size should be less than the corresponding input "
                           f"dimension, but got: padding ({left}, {right}) at dimension "
                           f"{img.ndim - 1} of input {list(img.shape)}")
    cols = np.pad(np.arange(w), (left, right), mode=np_mode)
    rows = np.pad(np.arange(h), (top, bottom), mode=np_mode)
    out = img.index_select(-1, ember.tensor(cols, device=img.device))
    return out.index_select(-2, ember.tensor(rows, device=img.device))


def _pad_per_channel(img, ltrb, fill):
    """Constant padding with one fill value per channel (a PIL-style colour)."""
    channels = get_dimensions(img)[0]
    if len(fill) != channels:
        raise ValueError("The number of elements in 'fill' does not match the number of "
                         f"channels of the image ({len(fill)} != {channels})")
    padded = pad(img, ltrb, 0)
    inside = pad(ember.ones(img.shape[-2:], dtype=ember.bool, device=img.device), ltrb, 0)
    colour = ember.tensor(fill, device=img.device).to(img.dtype).view(-1, 1, 1)
    return ember.where(inside, padded, colour)


def resize(img, size: list[int], interpolation: str = "bilinear", antialias=True):
    assert_image_tensor(img)
    if antialias is None or interpolation not in ("bilinear", "bicubic"):
        antialias = False
    batch, state = _to_batch(img)
    if interpolation in ("bilinear", "bicubic"):
        out = _resample.resize_matrix(batch, list(size), interpolation, bool(antialias))
    else:
        out = F.interpolate(batch, size=list(size), mode=interpolation)
    if interpolation == "bicubic" and state[1] == ember.uint8:
        out = out.clamp(min=0, max=255)
    return _from_batch(out, state)


def _affine_grid(matrix, w, h, ow, oh):
    """(oh, ow, 2) sampling grid of an inverse affine map, in grid_sample's [-1, 1] units.

    The map acts on pixel centres relative to the image centre and is normalised by the
    input size afterwards, so an output canvas of another size (rotate with expand)
    works, unlike ``F.affine_grid``.
    """
    theta = np.asarray(matrix, dtype=np.float64).reshape(2, 3)
    xs = np.linspace(-ow * 0.5 + 0.5, ow * 0.5 - 0.5, ow)
    ys = np.linspace(-oh * 0.5 + 0.5, oh * 0.5 - 0.5, oh)
    base = np.stack([np.broadcast_to(xs, (oh, ow)), np.broadcast_to(ys[:, None], (oh, ow)),
                     np.ones((oh, ow))], axis=-1)
    return base @ (theta.T / np.array([0.5 * w, 0.5 * h]))


def _perspective_grid(coeffs, ow, oh):
    """Pillow's perspective map: x' = (a x + b y + c) / (g x + h y + 1), likewise y'."""
    xs = np.linspace(0.5, ow - 0.5, ow)
    ys = np.linspace(0.5, oh - 0.5, oh)
    x, y = np.meshgrid(xs, ys)
    a, b, c, d, e, f, g, h = coeffs
    denom = g * x + h * y + 1.0
    gx = (a * x + b * y + c) / denom / (0.5 * ow) - 1.0
    gy = (d * x + e * y + f) / denom / (0.5 * oh) - 1.0
    return np.stack([gx, gy], axis=-1)


def _apply_grid(img, grid, mode: str, fill):
    """Sample every image of the batch on ``grid``; outside pixels take ``fill``.

    A channel of ones rides along through the same sampling: where it comes back below
    one the output saw the outside, and fill is blended in by that weight.
    """
    batch, state = _to_batch(img, (_grid_dtype(img),))
    n = batch.shape[0]
    if fill is not None:
        mask = ember.ones((n, 1) + tuple(batch.shape[2:]), dtype=batch.dtype,
                          device=batch.device)
        batch = ember.cat((batch, mask), dim=1)
    out = _resample.grid_sample(batch, grid, mode)
    if fill is not None:
        mask = out[:, -1:]
        out = out[:, :-1]
        fill_list = list(fill) if isinstance(fill, (tuple, list)) else [float(fill)]
        fill_img = ember.tensor(fill_list, dtype=out.dtype, device=out.device).view(
            1, len(fill_list), 1, 1)
        if mode == "nearest":
            out = ember.where(mask < 0.5, fill_img.expand_as(out), out)
        else:
            out = out * mask + (1.0 - mask) * fill_img
    return _from_batch(out, state)


def _grid_dtype(img):
    return img.dtype if img.is_floating_point() else ember.float32


def affine(img, matrix, interpolation: str = "nearest", fill=None):
    assert_image_tensor(img)
    h, w = img.shape[-2:]
    return _apply_grid(img, _affine_grid(matrix, w, h, w, h), interpolation, fill)


def compute_affine_output_size(matrix, w: int, h: int) -> tuple[int, int]:
    """Canvas that holds the whole transformed image (Pillow's rotate(expand=True))."""
    pts = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                    [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], dtype=np.float32)
    theta = np.asarray(matrix, dtype=np.float32).reshape(2, 3)
    new_pts = pts @ theta.T
    shift = np.array([w * 0.5, h * 0.5], dtype=np.float32)
    min_vals, max_vals = new_pts.min(axis=0) + shift, new_pts.max(axis=0) + shift
    tol = np.float32(1e-4)  # drop 1e-15 noise before ceil/floor
    cmax = np.ceil(np.trunc(max_vals / tol) * tol)
    cmin = np.floor(np.trunc(min_vals / tol) * tol)
    size = cmax - cmin
    return int(size[0]), int(size[1])


def rotate(img, matrix, interpolation: str = "nearest", expand: bool = False, fill=None):
    assert_image_tensor(img)
    h, w = img.shape[-2:]
    ow, oh = compute_affine_output_size(matrix, w, h) if expand else (w, h)
    return _apply_grid(img, _affine_grid(matrix, w, h, ow, oh), interpolation, fill)


def perspective(img, coeffs, interpolation: str = "bilinear", fill=None):
    assert_image_tensor(img)
    h, w = img.shape[-2:]
    return _apply_grid(img, _perspective_grid(coeffs, w, h), interpolation, fill)


def _gaussian_kernel1d(ksize: int, sigma: float):
    half = (ksize - 1) * 0.5
    x = np.linspace(-half, half, ksize)
    pdf = np.exp(-0.5 * (x / sigma) ** 2)
    return pdf / pdf.sum()


def gaussian_blur(img, kernel_size: list[int], sigma: list[float]):
    """Gaussian blur: reflect-pad, then the separable kernel one axis at a time."""
    assert_image_tensor(img)
    kx = _gaussian_kernel1d(kernel_size[0], sigma[0])
    ky = _gaussian_kernel1d(kernel_size[1], sigma[1])
    batch, state = _to_batch(img, (_grid_dtype(img),))
    padding = [kernel_size[0] // 2, kernel_size[0] // 2, kernel_size[1] // 2,
               kernel_size[1] // 2]
    batch = F.pad(batch, padding, mode="reflect")
    return _from_batch(_resample.separable_blur(batch, kx, ky), state)


def erase(img, i: int, j: int, h: int, w: int, v, inplace: bool = False):
    if not inplace:
        img = img.clone()
    img[..., i:i + h, j:j + w] = v
    return img


# ----------------------------------------------------------------------------- colour

def _blend(img1, img2, ratio: float):
    ratio = float(ratio)
    bound = max_value(img1.dtype)
    return (ratio * img1 + (1.0 - ratio) * img2).clamp(0, bound).to(img1.dtype)


def rgb_to_grayscale(img, num_output_channels: int = 1):
    if img.ndim < 3:
        raise TypeError(f"Input image tensor should have at least 3 dimensions, "
                        f"but found {img.ndim}")
    assert_channels(img, [1, 3])
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if img.shape[-3] == 3:
        r, g, b = img.unbind(dim=-3)
        # ITU-R 601-2 luma, the weights Pillow's "L" conversion uses
        gray = (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype).unsqueeze(dim=-3)
    else:
        gray = img.clone()
    if num_output_channels == 3:
        return gray.expand(img.shape)
    return gray


def adjust_brightness(img, factor: float):
    assert_image_tensor(img)
    assert_channels(img, [1, 3])
    return _blend(img, ember.zeros_like(img), factor)


def adjust_contrast(img, factor: float):
    assert_image_tensor(img)
    assert_channels(img, [3, 1])
    dtype = _grid_dtype(img)
    gray = rgb_to_grayscale(img) if img.shape[-3] == 3 else img
    mean = ember.mean(gray.to(dtype), dim=(-3, -2, -1), keepdim=True)
    return _blend(img, mean, factor)


def adjust_saturation(img, factor: float):
    assert_image_tensor(img)
    assert_channels(img, [1, 3])
    if get_dimensions(img)[0] == 1:  # as Pillow: nothing to saturate
        return img
    return _blend(img, rgb_to_grayscale(img), factor)


def _rgb2hsv(img):
    r, g, b = img.unbind(dim=-3)
    maxc = ember.amax(img, dim=-3)
    minc = ember.amin(img, dim=-3)
    # where max == min, S and H are 0; replacing the divisors by 1 there avoids NaNs
    eqc = maxc == minc
    cr = maxc - minc
    ones = ember.ones_like(maxc)
    s = cr / ember.where(eqc, ones, maxc)
    cr_divisor = ember.where(eqc, ones, cr)
    rc = (maxc - r) / cr_divisor
    gc = (maxc - g) / cr_divisor
    bc = (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = ember.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return ember.stack((h, s, maxc), dim=-3)


def _hsv2rgb(img):
    h, s, v = img.unbind(dim=-3)
    i = ember.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.to(ember.int32) % 6
    p = ember.clamp(v * (1.0 - s), 0.0, 1.0)
    q = ember.clamp(v * (1.0 - s * f), 0.0, 1.0)
    t = ember.clamp(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    # each hue sector i picks (r, g, b) from (v, q, p, p, t, v) etc.; one gather does it
    choices = ember.stack((v, q, p, p, t, v, t, v, v, q, p, p, p, p, t, v, v, q), dim=-3)
    choices = choices.unflatten(-3, (3, 6))
    sector = i.to(ember.int64).unsqueeze(-3).unsqueeze(-3).expand(*choices.shape[:-3], 1,
                                                                 *choices.shape[-2:])
    return choices.gather(-3, sector).squeeze(-3)


def adjust_hue(img, factor: float):
    assert_image_tensor(img)
    assert_channels(img, [1, 3])
    if get_dimensions(img)[0] == 1:
        return img
    orig_dtype = img.dtype
    hsv = _rgb2hsv(convert_image_dtype(img, ember.float32))
    h, s, v = hsv.unbind(dim=-3)
    h = (h + factor) % 1.0
    return convert_image_dtype(_hsv2rgb(ember.stack((h, s, v), dim=-3)), orig_dtype)


def adjust_gamma(img, gamma: float, gain: float = 1.0):
    assert_channels(img, [1, 3])
    dtype = img.dtype
    result = img if img.is_floating_point() else convert_image_dtype(img, ember.float32)
    result = (gain * result ** gamma).clamp(0, 1)
    return convert_image_dtype(result, dtype)


def _blurred_degenerate_image(img):
    """Pillow's SMOOTH filter (3x3, centre weight 5) on the interior; border kept."""
    kernel = np.ones((3, 3))
    kernel[1, 1] = 5.0
    kernel /= kernel.sum()
    batch, state = _to_batch(img, (_grid_dtype(img),))
    smooth = F.pad(_resample.correlate_taps(batch, kernel), [1, 1, 1, 1])
    inner = ember.zeros(batch.shape[-2:], dtype=ember.bool, device=img.device)
    inner[1:-1, 1:-1] = True
    return ember.where(inner, _from_batch(smooth, state), img)


def adjust_sharpness(img, factor: float):
    assert_image_tensor(img)
    assert_channels(img, [1, 3])
    if img.shape[-1] <= 2 or img.shape[-2] <= 2:
        return img
    return _blend(img, _blurred_degenerate_image(img), factor)


def posterize(img, bits: int):
    _check_point_op_image(img, uint8_only=True)
    return img & -int(2 ** (8 - bits))  # keeps the top ``bits`` bits


def invert(img):
    _check_point_op_image(img)
    return max_value(img.dtype) - img


def solarize(img, threshold: float):
    _check_point_op_image(img)
    if threshold > max_value(img.dtype):
        raise TypeError("Threshold should be less than bound of img.")
    return ember.where(img >= threshold, invert(img), img)


def autocontrast(img):
    _check_point_op_image(img)
    bound = max_value(img.dtype)
    dtype = _grid_dtype(img)
    minimum = img.amin(dim=(-2, -1), keepdim=True).to(dtype)
    maximum = img.amax(dim=(-2, -1), keepdim=True).to(dtype)
    flat = maximum == minimum  # a constant channel is left as it is
    minimum = ember.where(flat, ember.zeros_like(minimum), minimum)
    scale = ember.where(flat, ember.ones_like(maximum), bound / (maximum - minimum))
    return ((img - minimum) * scale).clamp(0, bound).to(img.dtype)


def equalize(img):
    """Histogram equalisation per image and channel, as Pillow's ImageOps.equalize.

    All histograms come from one bincount over (channel index * 256 + value), and the
    lookup tables are applied with one gather, so batches cost no Python loop.
    """
    _check_point_op_image(img, uint8_only=True)
    values = img.detach().cpu().numpy()
    planes = values.reshape(-1, values.shape[-2] * values.shape[-1]).astype(np.int64)
    n = planes.shape[0]
    offsets = np.arange(n)[:, None] * 256
    hist = np.bincount((planes + offsets).ravel(), minlength=n * 256).reshape(n, 256)
    # step = (count of all pixels but those of the last non-empty bin) // 255
    last_nonzero = 255 - np.argmax(hist[:, ::-1] != 0, axis=1)
    step = (hist.sum(axis=1) - hist[np.arange(n), last_nonzero]) // 255
    safe_step = np.maximum(step, 1)[:, None]
    lut = (np.cumsum(hist, axis=1) + safe_step // 2) // safe_step
    lut = np.concatenate([np.zeros((n, 1), np.int64), lut[:, :-1]], axis=1).clip(0, 255)
    mapped = np.take_along_axis(lut, planes, axis=1)
    out = np.where(step[:, None] == 0, planes, mapped).astype(np.uint8)
    return ember.tensor(out.reshape(values.shape), device=img.device)


# ----------------------------------------------------------------------------- dtype

def convert_image_dtype(image, dtype=ember.float32):
    """Rescale intensities between dtypes: ints span [0, max], floats span [0, 1]."""
    if image.dtype == dtype:
        return image
    if image.is_floating_point():
        if dtype.is_floating_point:
            return image.to(dtype)
        if (image.dtype == ember.float32 and dtype in (ember.int32, ember.int64)) or (
                image.dtype == ember.float64 and dtype == ember.int64):
            raise RuntimeError(f"The cast from {image.dtype} to {dtype} cannot be performed "
                               "safely.")
        # max + 1 - eps maps [0, 1] evenly onto the integer range (1.0 -> max)
        eps = 1e-3
        return image.mul(float(max_value(dtype)) + 1.0 - eps).to(dtype)
    input_max = float(max_value(image.dtype))
    if dtype.is_floating_point:
        return image.to(dtype) / input_max
    output_max = float(max_value(dtype))
    if input_max > output_max:
        factor = int((input_max + 1) // (output_max + 1))
        return ember.div(image, factor, rounding_mode="floor").to(dtype)
    factor = int((output_max + 1) // (input_max + 1))
    return image.to(dtype) * factor


def _per_channel(values, dtype, device):
    """Normalize's mean or std as a tensor, one value per channel shaped (C, 1, 1) when
    given 1-D. A list of numbers is built in that shape directly (a view costs more than
    the conversion)."""
    if type(values) in (list, tuple) and values and all(type(v) in (float, int) for v in values):
        return ember.as_tensor([[[v]] for v in values], dtype=dtype, device=device)
    values = ember.as_tensor(values, dtype=dtype, device=device)
    return values.view(-1, 1, 1) if values.ndim == 1 else values


def normalize(tensor, mean, std, inplace: bool = False):
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tensor.size()}")
    dtype = tensor.dtype
    mean = _per_channel(mean, dtype, tensor.device)
    std = _per_channel(std, dtype, tensor.device)
    if not bool(std.all()):  # (NaN is nonzero, as in std == 0)
        raise ValueError(f"std evaluated to zero after conversion to {dtype}, leading to "
                         "division by zero.")
    if inplace:
        return tensor.sub_(mean).div_(std)
    return (tensor - mean) / std
