"""normalize, gaussian_blur, to_dtype, erase and the box sanitizer."""

from __future__ import annotations

import ember
from ember.vision import tv_tensors
from ember.vision.tv_tensors import BoundingBoxFormat

from ... import _functional_tensor as F_t
from ... import functional as F1
from ._meta import _check_axis_aligned, _convert_bounding_box_format
from ._utils import _register_kernel_internal, dispatcher, is_pure_tensor, register_image_kernel


@dispatcher
def normalize(inpt, mean, std, inplace=False):
    """(x - mean) / std per channel, on float tensor images and videos (not PIL)."""


@dispatcher
def gaussian_blur(inpt, kernel_size, sigma=None):
    """Separable Gaussian blur with reflect padding."""


@dispatcher
def to_dtype(inpt, dtype=ember.float32, scale=False):
    """Cast; with ``scale`` image intensities are rescaled ([0, 255] uint8 <-> [0, 1])."""


@dispatcher
def erase(inpt, i, j, h, w, v, inplace=False):
    """Set the (h, w) region at (i, j) to ``v``."""


def normalize_image(image, mean, std, inplace=False):
    return F_t.normalize(image, mean, std, inplace)


def gaussian_blur_image(image, kernel_size, sigma=None):
    return F1.gaussian_blur(image, kernel_size, sigma)


def erase_image(image, i, j, h, w, v, inplace=False):
    return F_t.erase(image, i, j, h, w, v, inplace)


_VALUE_BITS = {ember.uint8: 8, ember.int8: 7, ember.int16: 15, ember.uint16: 16,
               ember.int32: 31, ember.int64: 63}


def to_dtype_image(image, dtype=ember.float32, scale=False):
    """torchvision's to_dtype: float->int multiplies by (max + 1 - 1e-3), int->float by
    1 / max, int->int shifts by the difference in value bits."""
    if image.dtype == dtype:
        return image
    if not scale:
        return image.to(dtype)
    if image.is_floating_point():
        if dtype.is_floating_point:
            return image.to(dtype)
        if (image.dtype == ember.float32 and dtype in (ember.int32, ember.int64)) or (
                image.dtype == ember.float64 and dtype == ember.int64):
            raise RuntimeError(f"The conversion from {image.dtype} to {dtype} cannot be "
                               "performed safely.")
        return image.mul(float(F_t.max_value(dtype)) + 1.0 - 1e-3).to(dtype)
    if dtype.is_floating_point:
        return image.to(dtype).mul(1.0 / F_t.max_value(image.dtype))
    shift = abs(_VALUE_BITS[image.dtype] - _VALUE_BITS[dtype])
    if _VALUE_BITS[image.dtype] > _VALUE_BITS[dtype]:
        return ember.div(image, 2 ** shift, rounding_mode="floor").to(dtype)
    return image.to(dtype) * (2 ** shift)


def convert_image_dtype(image, dtype=ember.float32):
    """[deprecated] ``to_dtype(image, dtype, scale=True)``."""
    return to_dtype_image(image, dtype, scale=True)


register_image_kernel(normalize, normalize_image)
register_image_kernel(gaussian_blur, gaussian_blur_image, pil_kernel=gaussian_blur_image)
register_image_kernel(erase, erase_image)
register_image_kernel(to_dtype, to_dtype_image)
for _cls in (tv_tensors.Mask, tv_tensors.BoundingBoxes, tv_tensors.KeyPoints):
    # TVTensor.to keeps the class and metadata, so no unwrapping is needed
    _register_kernel_internal(to_dtype, _cls, tv_tensor_wrapper=False)(
        lambda inpt, dtype, scale=False: inpt.to(dtype))


def _get_sanitize_bounding_boxes_mask(boxes, format, canvas_size, min_size=1.0, min_area=1.0):
    """True for boxes at least ``min_size`` wide and high, of ``min_area``, inside the canvas."""
    _check_axis_aligned(format)
    xyxy = _convert_bounding_box_format(boxes, format, BoundingBoxFormat.XYXY)
    ws, hs = xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]
    valid = (ws >= min_size) & (hs >= min_size) & (xyxy >= 0).all(dim=-1) & \
        (ws * hs >= min_area)
    image_h, image_w = canvas_size
    valid &= (xyxy[:, 0] <= image_w) & (xyxy[:, 2] <= image_w)
    valid &= (xyxy[:, 1] <= image_h) & (xyxy[:, 3] <= image_h)
    return valid


def sanitize_bounding_boxes(bounding_boxes, format=None, canvas_size=None, min_size=1.0,
                            min_area=1.0):
    """Drop degenerate or outside boxes; returns (kept boxes, boolean mask of kept)."""
    if is_pure_tensor(bounding_boxes):
        if format is None or canvas_size is None:
            raise ValueError(
                "format and canvas_size cannot be None if bounding_boxes is a pure tensor. "
                f"Got format={format} and canvas_size={canvas_size}."
                "Set those to appropriate values or pass bounding_boxes as a "
                "tv_tensors.BoundingBoxes object.")
        if isinstance(format, str):
            format = BoundingBoxFormat[format.upper()]
        valid = _get_sanitize_bounding_boxes_mask(bounding_boxes, format, canvas_size,
                                                  min_size, min_area)
        return bounding_boxes[valid], valid
    if not isinstance(bounding_boxes, tv_tensors.BoundingBoxes):
        raise ValueError(  # noqa: TRY004
            "bounding_boxes must be a tv_tensors.BoundingBoxes instance or a "
            "pure tensor.")
    if format is not None or canvas_size is not None:
        raise ValueError(
            "format and canvas_size must be None when bounding_boxes is a "
            f"tv_tensors.BoundingBoxes instance. Got format={format} and "
            f"canvas_size={canvas_size}. Leave those to None or pass bounding_boxes as a "
            "pure tensor.")
    valid = _get_sanitize_bounding_boxes_mask(bounding_boxes, bounding_boxes.format,
                                              bounding_boxes.canvas_size, min_size, min_area)
    return tv_tensors.wrap(bounding_boxes[valid], like=bounding_boxes), valid


@dispatcher
def uniform_temporal_subsample(inpt, num_samples):
    """``num_samples`` equispaced frames of a video (..., T, C, H, W)."""


def uniform_temporal_subsample_video(video, num_samples):
    t_max = video.shape[-4] - 1
    indices = ember.linspace(0, t_max, num_samples, device=video.device).long()
    return video.index_select(-4, indices)


_register_kernel_internal(uniform_temporal_subsample, ember.Tensor)(
    uniform_temporal_subsample_video)
_register_kernel_internal(uniform_temporal_subsample, tv_tensors.Video)(
    uniform_temporal_subsample_video)


def _get_sanitize_keypoints_mask(keypoints, canvas_size):
    """True for points (or whole groups of points) inside [0, W) x [0, H)."""
    height, width = canvas_size
    x, y = keypoints[..., 0], keypoints[..., 1]
    valid = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    return valid.flatten(start_dim=1).all(dim=1) if valid.ndim > 1 else valid


def sanitize_keypoints(key_points, canvas_size=None):
    """Drop keypoints (or groups) outside the image; returns (kept, boolean mask)."""
    if is_pure_tensor(key_points):
        if canvas_size is None:
            raise ValueError("canvas_size cannot be None if key_points is a pure tensor. Set it "
                             "to an appropriate value or pass key_points as a "
                             "tv_tensors.KeyPoints object.")
        valid = _get_sanitize_keypoints_mask(key_points, canvas_size)
        return key_points[valid], valid
    if not isinstance(key_points, tv_tensors.KeyPoints):
        raise ValueError(  # noqa: TRY004
            "key_points must be a tv_tensors.KeyPoints instance or a pure tensor.")
    if canvas_size is not None:
        raise ValueError("canvas_size must be None when key_points is a tv_tensors.KeyPoints "
                         f"instance. Got canvas_size={canvas_size}. Leave it to None or pass "
                         "key_points as a pure tensor.")
    valid = _get_sanitize_keypoints_mask(key_points, key_points.canvas_size)
    return tv_tensors.wrap(key_points[valid], like=key_points), valid


@dispatcher
def gaussian_noise(inpt, mean=0.0, sigma=0.1, clip=True):
    """Add N(mean, sigma) noise (on the [0, 1] scale; uint8 images scale it by 255)."""


def gaussian_noise_image(image, mean=0.0, sigma=0.1, clip=True):
    if sigma < 0:
        raise ValueError(f"sigma shouldn't be negative. Got {sigma}")
    if image.is_floating_point():
        out = image + (mean + ember.randn_like(image) * sigma)
        return out.clamp(0, 1) if clip else out
    if image.dtype == ember.uint8:
        # int16 holds image + noise without wrapping around, as torchvision's
        noise = (mean * 255 + ember.randn_like(image, dtype=ember.float32) * (sigma * 255))
        out = image + noise.to(ember.int16)
        return (out.clamp(0, 255) if clip else out).to(ember.uint8)
    raise ValueError(f"Input tensor is expected to be in uint8 or float dtype, got "
                     f"dtype={image.dtype}")


register_image_kernel(gaussian_noise, gaussian_noise_image)


@dispatcher
def jpeg(inpt, quality):
    """JPEG-compress and decode each image at ``quality`` (1-100): compression artefacts."""


def jpeg_image(image, quality):
    from ember.vision import io
    original_shape = image.shape
    flat = image.reshape((-1,) + tuple(image.shape[-3:]))
    if flat.shape[0] == 0:
        return image.clone()
    decoded = [io.decode_jpeg(io.encode_jpeg(frame, quality=quality)) for frame in flat.unbind(0)]
    return ember.stack(decoded, dim=0).reshape(original_shape)


def _jpeg_image_pil(image, quality):
    import io as _io

    from ... import _functional_pil as F_pil
    raw = _io.BytesIO()
    image.save(raw, format="JPEG", quality=quality)
    return F_pil.Image.open(raw).copy()


register_image_kernel(jpeg, jpeg_image, pil_kernel=_jpeg_image_pil)
