"""Sizes of any input, and the box-format and clamping kernels of bounding boxes."""

from __future__ import annotations

import ember
from ember.vision import tv_tensors
from ember.vision.tv_tensors import BoundingBoxFormat, is_rotated_bounding_format

from ... import _functional_pil as F_pil
from ... import _functional_tensor as F_t
from ._utils import (
    _register_kernel_internal,
    dispatcher,
    is_pure_tensor,
    register_image_kernel,
    unwrap,
)

# ----------------------------------------------------------------------------- sizes

@dispatcher
def get_dimensions(inpt) -> list[int]:
    """[channels, height, width] of an image or video."""


@dispatcher
def get_num_channels(inpt) -> int:
    """Channels of an image or video."""


@dispatcher
def get_size(inpt) -> list[int]:
    """[height, width] of an image, video, mask, boxes' or keypoints' canvas."""


@dispatcher
def get_num_frames(inpt) -> int:
    """Frames of a video."""


def get_dimensions_image(image) -> list[int]:
    return F_t.get_dimensions(image)


def get_num_channels_image(image) -> int:
    return F_t.get_dimensions(image)[0]


def get_size_image(image) -> list[int]:
    return F_t.get_dimensions(image)[1:]


def _get_size_image_pil(image) -> list[int]:
    width, height = F_pil.get_image_size(image)
    return [height, width]


def get_size_mask(mask) -> list[int]:
    return list(mask.shape[-2:])


def get_num_frames_video(video) -> int:
    return video.shape[-4]


register_image_kernel(get_dimensions, get_dimensions_image, pil_kernel=F_pil.get_dimensions)
register_image_kernel(get_num_channels, get_num_channels_image,
                      pil_kernel=F_pil.get_image_num_channels)
register_image_kernel(get_size, get_size_image, pil_kernel=_get_size_image_pil)
_register_kernel_internal(get_size, tv_tensors.Mask)(get_size_mask)
_register_kernel_internal(get_num_frames, ember.Tensor)(get_num_frames_video)
_register_kernel_internal(get_num_frames, tv_tensors.Video)(get_num_frames_video)


@_register_kernel_internal(get_size, tv_tensors.BoundingBoxes, tv_tensor_wrapper=False)
@_register_kernel_internal(get_size, tv_tensors.KeyPoints, tv_tensor_wrapper=False)
def _get_size_canvas(inpt) -> list[int]:
    return list(inpt.canvas_size)


# ----------------------------------------------------------------------------- box formats

def _to_xyxy(boxes, fmt):
    """Any axis-aligned format -> XYXY, in torchvision's arithmetic order (integer
    CXCYWH boxes are computed in float and truncated, as torchvision does)."""
    if fmt == BoundingBoxFormat.XYWH:
        x, y, w, h = boxes.unbind(-1)
        return ember.stack((x, y, x + w, y + h), dim=-1)
    if fmt == BoundingBoxFormat.CXCYWH:
        floats = boxes if boxes.is_floating_point() else boxes.float()
        cx, cy, w, h = floats.unbind(-1)
        x1, y1 = cx - w / 2, cy - h / 2
        return ember.stack((x1, y1, x1 + w, y1 + h), dim=-1).to(boxes.dtype)
    return boxes


def _from_xyxy(boxes, fmt):
    x1, y1, x2, y2 = boxes.unbind(-1)
    if fmt == BoundingBoxFormat.XYWH:
        return ember.stack((x1, y1, x2 - x1, y2 - y1), dim=-1)
    if fmt == BoundingBoxFormat.CXCYWH:
        w, h = x2 - x1, y2 - y1
        rounding = None if boxes.is_floating_point() else "floor"
        cx = ember.div(x1 * 2 + w, 2, rounding_mode=rounding)
        cy = ember.div(y1 * 2 + h, 2, rounding_mode=rounding)
        return ember.stack((cx, cy, w, h), dim=-1)
    return boxes


def _check_axis_aligned(fmt) -> None:
    if is_rotated_bounding_format(fmt):
        raise NotImplementedError(f"ember's v2 kernels transform axis-aligned boxes only "
                                  f"(XYXY, XYWH, CXCYWH), got {fmt}")


def _convert_bounding_box_format(boxes, old_format, new_format, inplace: bool = False):
    if isinstance(old_format, str):
        old_format = BoundingBoxFormat[old_format.upper()]
    if isinstance(new_format, str):
        new_format = BoundingBoxFormat[new_format.upper()]
    if new_format == old_format:
        return boxes
    _check_axis_aligned(old_format)
    _check_axis_aligned(new_format)
    out = _from_xyxy(_to_xyxy(boxes, old_format), new_format)
    if inplace:
        return boxes.copy_(out)
    return out


def convert_bounding_box_format(inpt, old_format=None, new_format=None, inplace: bool = False):
    """Convert boxes between XYXY, XYWH and CXCYWH (a BoundingBoxes knows its old format)."""
    if new_format is None:
        raise TypeError("convert_bounding_box_format() missing 1 required argument: "
                        "'new_format'")
    if is_pure_tensor(inpt):
        if old_format is None:
            raise ValueError("For pure tensor inputs, `old_format` has to be passed.")
        return _convert_bounding_box_format(inpt, old_format, new_format, inplace)
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        if old_format is not None:
            raise ValueError("For bounding box tv_tensor inputs, `old_format` must not be "
                             "passed.")
        if isinstance(new_format, str):
            new_format = BoundingBoxFormat[new_format.upper()]
        output = _convert_bounding_box_format(unwrap(inpt), inpt.format, new_format, inplace)
        return tv_tensors.wrap(output, like=inpt, format=new_format)
    raise TypeError(f"Input can either be a plain tensor or a bounding box tv_tensor, but got "
                    f"{type(inpt)} instead.")


# ----------------------------------------------------------------------------- clamping

def _clamp_bounding_boxes(boxes, format, canvas_size, clamping_mode="soft"):
    """Clip boxes to the canvas (in XYXY); "soft" and "hard" agree for axis-aligned boxes."""
    if clamping_mode is None:
        return boxes.clone()
    in_dtype = boxes.dtype
    boxes = boxes.clone() if boxes.is_floating_point() else boxes.float()
    xyxy = _convert_bounding_box_format(boxes, format, BoundingBoxFormat.XYXY)
    height, width = canvas_size
    x1, y1, x2, y2 = xyxy.unbind(-1)
    xyxy = ember.stack((x1.clamp(0, width), y1.clamp(0, height), x2.clamp(0, width),
                        y2.clamp(0, height)), dim=-1)
    return _convert_bounding_box_format(xyxy, BoundingBoxFormat.XYXY, format).to(in_dtype)


def clamp_bounding_boxes(inpt, format=None, canvas_size=None, clamping_mode="auto"):
    """Clip boxes to their canvas (see ClampBoundingBoxes)."""
    if clamping_mode is not None and clamping_mode not in ("soft", "hard", "auto"):
        raise ValueError(f"clamping_mode must be soft, hard, auto or None, got {clamping_mode}")
    if is_pure_tensor(inpt):
        if format is None or canvas_size is None or clamping_mode == "auto":
            raise ValueError("For pure tensor inputs, `format`, `canvas_size` and "
                             "`clamping_mode` have to be passed.")
        if isinstance(format, str):
            format = BoundingBoxFormat[format.upper()]
        _check_axis_aligned(format)
        return _clamp_bounding_boxes(inpt, format, canvas_size, clamping_mode)
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        if format is not None or canvas_size is not None:
            raise ValueError("For bounding box tv_tensor inputs, `format` and `canvas_size` "
                             "must not be passed.")
        if clamping_mode == "auto":
            clamping_mode = inpt.clamping_mode
        _check_axis_aligned(inpt.format)
        output = _clamp_bounding_boxes(unwrap(inpt), inpt.format, inpt.canvas_size,
                                       clamping_mode)
        return tv_tensors.wrap(output, like=inpt)
    raise TypeError(f"Input can either be a plain tensor or a bounding box tv_tensor, but got "
                    f"{type(inpt)} instead.")


def _clamp_keypoints(keypoints, canvas_size):
    # keypoints are pixel indices: the last valid one is size - 1 (boxes end at size)
    dtype = keypoints.dtype
    points = keypoints if keypoints.is_floating_point() else keypoints.float()
    x, y = points.unbind(-1)
    out = ember.stack((x.clamp(0, canvas_size[1] - 1), y.clamp(0, canvas_size[0] - 1)), dim=-1)
    return out.to(dtype)


def clamp_keypoints(inpt, canvas_size=None):
    """Clip keypoints to [0, size - 1] on each axis."""
    if is_pure_tensor(inpt):
        if canvas_size is None:
            raise ValueError("For pure tensor inputs, `canvas_size` has to be passed.")
        return _clamp_keypoints(inpt, canvas_size)
    if isinstance(inpt, tv_tensors.KeyPoints):
        if canvas_size is not None:
            raise ValueError("For keypoints tv_tensor inputs, `canvas_size` must not be passed.")
        return tv_tensors.wrap(_clamp_keypoints(unwrap(inpt), inpt.canvas_size), like=inpt)
    raise TypeError(f"Input can either be a plain tensor or a keypoints tv_tensor, but got "
                    f"{type(inpt)} instead.")
