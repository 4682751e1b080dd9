"""Geometric functionals: the image kernels are v1's (one implementation for both APIs);
masks reuse them with nearest sampling, and boxes/keypoints move by the same geometry.

Boxes go through one point kernel: their corners are mapped by the transform's forward
affine matrix and the enclosing axis-aligned box is taken, then clamped to the canvas
according to the boxes' ``clamping_mode``. Keypoints are mapped directly.
"""

from __future__ import annotations

import ember
from ember.vision import tv_tensors
from ember.vision.tv_tensors import BoundingBoxFormat

from ... import _functional_tensor as F_t
from ... import functional as F1
from ...functional import InterpolationMode
from ...functional import _interpolation as _v1_interpolation
from ._meta import _check_axis_aligned, _clamp_bounding_boxes, _convert_bounding_box_format
from ._uint8_resize import resize_uint8
from ._utils import _register_kernel_internal, dispatcher, register_image_kernel, unwrap

_NEAREST = InterpolationMode.NEAREST
_INTERPOLATION_STRING_TO_MODE = {mode.value: mode for mode in InterpolationMode}


def _interpolation(interpolation) -> InterpolationMode:
    """v2 also takes the mode's name ("bilinear", "nearest-exact", ...)."""
    if isinstance(interpolation, str):
        if interpolation not in _INTERPOLATION_STRING_TO_MODE:
            raise ValueError(f"Invalid interpolation mode: '{interpolation}'. Supported string "
                             f"values are: {list(_INTERPOLATION_STRING_TO_MODE.keys())}.")
        return _INTERPOLATION_STRING_TO_MODE[interpolation]
    if isinstance(interpolation, (int, InterpolationMode)):
        return _v1_interpolation(interpolation)
    raise ValueError("Argument interpolation should be an `InterpolationMode` or a "
                     f"corresponding Pillow integer constant, but got {interpolation}.")
_XYXY = BoundingBoxFormat.XYXY


def _register_boxes(functional, kernel):
    """Register a ``kernel(boxes_tensor, format, canvas_size, **kw) -> (out, canvas)``."""
    def dispatch(inpt, *args, **kwargs):
        output, canvas_size = kernel(unwrap(inpt), inpt.format, inpt.canvas_size, *args,
                                     clamping_mode=inpt.clamping_mode, **kwargs)
        return tv_tensors.wrap(output, like=inpt, canvas_size=canvas_size)
    _register_kernel_internal(functional, tv_tensors.BoundingBoxes,
                              tv_tensor_wrapper=False)(dispatch)


def _register_keypoints(functional, kernel):
    """Register a ``kernel(points_tensor, canvas_size, **kw) -> (out, canvas)``."""
    def dispatch(inpt, *args, **kwargs):
        output, canvas_size = kernel(unwrap(inpt), inpt.canvas_size, *args, **kwargs)
        return tv_tensors.wrap(output, like=inpt, canvas_size=canvas_size)
    _register_kernel_internal(functional, tv_tensors.KeyPoints,
                              tv_tensor_wrapper=False)(dispatch)


def _register_mask(functional, kernel):
    _register_kernel_internal(functional, tv_tensors.Mask)(kernel)


def _as_image_batch(mask):
    """Masks may be (H, W); image kernels want a channel dim. Returns (mask3d, squeeze)."""
    if mask.ndim < 3:
        return mask.unsqueeze(0), True
    return mask, False


def _mask_kernel(image_kernel, **fixed):
    def kernel(mask, *args, **kwargs):
        kwargs.update(fixed)
        batch, squeeze = _as_image_batch(mask)
        out = image_kernel(batch, *args, **kwargs)
        return out.squeeze(0) if squeeze else out
    return kernel


# ----------------------------------------------------------------------------- points

def _map_points(points, matrix):
    """(N, 2) float points through a 2x3 forward affine matrix (row-major list)."""
    theta = ember.tensor(matrix, dtype=points.dtype, device=points.device).reshape(2, 3)
    ones = ember.ones(points.shape[0], 1, dtype=points.dtype, device=points.device)
    return ember.cat((points, ones), dim=-1) @ theta.T


def _boxes_by_points(boxes, format, canvas_size, point_fn, clamping_mode, new_canvas=None):
    """Move box corners with ``point_fn`` and take the enclosing box.

    ``point_fn(points (M, 2)) -> (points, canvas)``; the canvas it returns (or
    ``new_canvas``) is the boxes' new canvas.
    """
    _check_axis_aligned(format)
    if boxes.numel() == 0:
        return boxes, canvas_size
    dtype, shape = boxes.dtype, boxes.shape
    floats = boxes if boxes.is_floating_point() else boxes.float()
    xyxy = _convert_bounding_box_format(floats, format, _XYXY).reshape(-1, 4)
    corners = xyxy[:, [0, 1, 2, 1, 2, 3, 0, 3]].reshape(-1, 2)
    moved, canvas = point_fn(corners)
    moved = moved.reshape(-1, 4, 2)
    out = ember.cat((moved.amin(dim=1), moved.amax(dim=1)), dim=1)
    canvas = new_canvas or canvas
    out = _clamp_bounding_boxes(out, _XYXY, canvas, clamping_mode)
    out = _convert_bounding_box_format(out, _XYXY, format).reshape(shape)
    return out.to(dtype), canvas


def _offset(boxes, format, dx, dy):
    """Shift boxes by (dx, dy): corners move, sizes stay."""
    if format == _XYXY:
        delta = [dx, dy, dx, dy]
    else:
        delta = [dx, dy, 0, 0]
    return boxes + ember.tensor(delta, dtype=boxes.dtype, device=boxes.device)


# ----------------------------------------------------------------------------- flips

@dispatcher
def horizontal_flip(inpt):
    """Mirror left-right: images and masks flip, boxes and keypoints move with them."""


@dispatcher
def vertical_flip(inpt):
    """Mirror top-bottom."""


hflip, vflip = horizontal_flip, vertical_flip


def horizontal_flip_image(image):
    return F_t.hflip(image)


def vertical_flip_image(image):
    return F_t.vflip(image)


def horizontal_flip_bounding_boxes(bounding_boxes, format, canvas_size):
    """x -> W - x for every corner (a box's right edge becomes its left)."""
    _check_axis_aligned(format)
    shape = bounding_boxes.shape
    boxes = bounding_boxes.reshape(-1, 4)
    a, b, c, d = boxes.unbind(-1)
    width = canvas_size[1]
    if format == _XYXY:
        out = (width - c, b, width - a, d)
    elif format == BoundingBoxFormat.XYWH:
        out = (width - (a + c), b, c, d)
    else:
        out = (width - a, b, c, d)
    return ember.stack(out, dim=-1).reshape(shape)


def vertical_flip_bounding_boxes(bounding_boxes, format, canvas_size):
    _check_axis_aligned(format)
    shape = bounding_boxes.shape
    boxes = bounding_boxes.reshape(-1, 4)
    a, b, c, d = boxes.unbind(-1)
    height = canvas_size[0]
    if format == _XYXY:
        out = (a, height - d, c, height - b)
    elif format == BoundingBoxFormat.XYWH:
        out = (a, height - (b + d), c, d)
    else:
        out = (a, height - b, c, d)
    return ember.stack(out, dim=-1).reshape(shape)


def horizontal_flip_keypoints(keypoints, canvas_size):
    """Keypoints are pixel indices, so x -> (W - 1) - x."""
    x, y = keypoints.unbind(-1)
    return ember.stack(((canvas_size[1] - 1) - x, y), dim=-1)


def vertical_flip_keypoints(keypoints, canvas_size):
    x, y = keypoints.unbind(-1)
    return ember.stack((x, (canvas_size[0] - 1) - y), dim=-1)


horizontal_flip_mask, vertical_flip_mask = F1.hflip, F1.vflip

for _functional, _image, _boxes, _points in (
        (horizontal_flip, F1.hflip, horizontal_flip_bounding_boxes, horizontal_flip_keypoints),
        (vertical_flip, F1.vflip, vertical_flip_bounding_boxes, vertical_flip_keypoints)):
    register_image_kernel(_functional, _image, pil_kernel=_image)
    _register_mask(_functional, _image)
    _register_boxes(_functional, lambda b, f, c, clamping_mode, _k=_boxes: (_k(b, f, c), c))
    _register_keypoints(_functional, lambda p, c, _k=_points: (_k(p, c), c))


# ----------------------------------------------------------------------------- resize

def _compute_resized_output_size(canvas_size, size, max_size=None) -> list[int]:
    """(h, w) after resize; ``size=None`` bounds the longer edge by ``max_size``."""
    if isinstance(size, int):
        size = [size]
    elif max_size is not None and size is not None and len(size) != 1:
        raise ValueError("max_size should only be passed if size is None or specifies the "
                         "length of the smaller edge, i.e. size should be an int or a sequence "
                         "of length 1 in torchscript mode.")
    if size is not None:
        return F1._compute_resized_output_size(canvas_size, list(size), max_size)
    if max_size is None:
        raise ValueError("max_size must be an integer when size is None, but got None instead.")
    h, w = canvas_size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = int(max_size * short / long), max_size
    return [new_long, new_short] if w <= h else [new_short, new_long]


@dispatcher
def resize(inpt, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
           antialias=True):
    """Resize to ``size`` (h, w), or the shorter edge to ``size``; boxes scale along."""


def resize_image(image, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias=True):
    interpolation = _interpolation(interpolation)
    _, height, width = F1.get_dimensions(image)
    new_size = _compute_resized_output_size((height, width), size, max_size)
    if (isinstance(image, ember.Tensor) and image.dtype == ember.uint8
            and interpolation in (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC)
            and image.device.type == "cpu" and [height, width] != list(new_size)
            and image.numel() > 0):
        # torchvision v2 resizes uint8 natively on CPU (fixed point, rounded per pass)
        return resize_uint8(image, new_size, interpolation.value, bool(antialias))
    return F1.resize(image, new_size, interpolation, antialias=antialias)


def resize_mask(mask, size, interpolation=InterpolationMode.NEAREST, max_size=None, **kwargs):
    """Masks only take nearest(-exact) sampling: other modes fall back to nearest."""
    interpolation = _interpolation(interpolation)
    if interpolation not in (_NEAREST, InterpolationMode.NEAREST_EXACT):
        interpolation = _NEAREST
    return _mask_kernel(resize_image)(mask, size, interpolation, max_size)


def resize_bounding_boxes(bounding_boxes, canvas_size, size, max_size=None,
                          format=_XYXY, clamping_mode="soft"):
    """Scale x by new_w / old_w and y by new_h / old_h (not clamped, as torchvision)."""
    _check_axis_aligned(format)
    old_h, old_w = canvas_size
    new_h, new_w = _compute_resized_output_size(canvas_size, size, max_size)
    if (new_h, new_w) == (old_h, old_w):
        return bounding_boxes, canvas_size
    w_ratio, h_ratio = new_w / old_w, new_h / old_h
    ratios = ember.tensor([w_ratio, h_ratio, w_ratio, h_ratio], device=bounding_boxes.device)
    return bounding_boxes.mul(ratios).to(bounding_boxes.dtype), (new_h, new_w)


def resize_keypoints(keypoints, size, canvas_size, max_size=None):
    old_h, old_w = canvas_size
    new_h, new_w = _compute_resized_output_size(canvas_size, size, max_size)
    if (new_h, new_w) == (old_h, old_w):
        return keypoints, canvas_size
    ratios = ember.tensor([new_w / old_w, new_h / old_h], device=keypoints.device)
    return keypoints.mul(ratios).to(keypoints.dtype), (new_h, new_w)


def _resize_image_pil(image, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                      antialias=True):
    return resize_image(image, size, interpolation, max_size, antialias)


register_image_kernel(resize, resize_image, pil_kernel=_resize_image_pil)
_register_mask(resize, resize_mask)
_register_boxes(resize, lambda b, f, c, size, max_size=None, clamping_mode="soft", **kw:
                resize_bounding_boxes(b, c, size, max_size, format=f,
                                      clamping_mode=clamping_mode))
_register_keypoints(resize, lambda p, c, size, max_size=None, **kw:
                    resize_keypoints(p, size, c, max_size))


# ----------------------------------------------------------------------------- crops

@dispatcher
def crop(inpt, top, left, height, width):
    """The (height, width) region at (top, left); zero-padded where it leaves the image."""


def crop_image(image, top, left, height, width):
    return F1.crop(image, top, left, height, width)


def crop_bounding_boxes(bounding_boxes, format, top, left, height, width,
                        clamping_mode="soft"):
    _check_axis_aligned(format)
    boxes = _offset(bounding_boxes, format, -left, -top)
    canvas_size = (height, width)
    return _clamp_bounding_boxes(boxes, format, canvas_size, clamping_mode), canvas_size


def crop_keypoints(keypoints, top, left, height, width):
    shift = ember.tensor([left, top], dtype=keypoints.dtype, device=keypoints.device)
    return keypoints - shift, (height, width)


crop_mask = _mask_kernel(crop_image)
register_image_kernel(crop, crop_image, pil_kernel=crop_image)
_register_mask(crop, crop_mask)
_register_boxes(crop, lambda b, f, c, top, left, height, width, clamping_mode="soft":
                crop_bounding_boxes(b, f, top, left, height, width, clamping_mode))
_register_keypoints(crop, lambda p, c, top, left, height, width:
                    crop_keypoints(p, top, left, height, width))


def _center_crop_parse_output_size(output_size) -> list[int]:
    if isinstance(output_size, int):
        return [output_size, output_size]
    if isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        return [output_size[0], output_size[0]]
    return list(output_size)


def _center_crop_anchor(crop_h, crop_w, image_h, image_w):
    return round((image_h - crop_h) / 2.0), round((image_w - crop_w) / 2.0)


@dispatcher
def center_crop(inpt, output_size):
    """Crop the centre (zero-padding an image smaller than ``output_size``)."""


def center_crop_image(image, output_size):
    return F1.center_crop(image, _center_crop_parse_output_size(output_size))


def center_crop_bounding_boxes(bounding_boxes, format, canvas_size, output_size,
                               clamping_mode="soft"):
    crop_h, crop_w = _center_crop_parse_output_size(output_size)
    top, left = _center_crop_anchor(crop_h, crop_w, *canvas_size)
    return crop_bounding_boxes(bounding_boxes, format, top, left, crop_h, crop_w, clamping_mode)


def center_crop_keypoints(keypoints, canvas_size, output_size):
    crop_h, crop_w = _center_crop_parse_output_size(output_size)
    top, left = _center_crop_anchor(crop_h, crop_w, *canvas_size)
    return crop_keypoints(keypoints, top, left, crop_h, crop_w)


center_crop_mask = _mask_kernel(center_crop_image)
register_image_kernel(center_crop, center_crop_image, pil_kernel=center_crop_image)
_register_mask(center_crop, center_crop_mask)
_register_boxes(center_crop, center_crop_bounding_boxes)
_register_keypoints(center_crop, center_crop_keypoints)


@dispatcher
def resized_crop(inpt, top, left, height, width, size,
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
    """Crop, then resize to ``size``."""


def resized_crop_image(image, top, left, height, width, size,
                       interpolation=InterpolationMode.BILINEAR, antialias=True):
    return resize_image(crop_image(image, top, left, height, width), size, interpolation,
                        antialias=antialias)


def resized_crop_mask(mask, top, left, height, width, size, **kwargs):
    return resize_mask(_mask_kernel(crop_image)(mask, top, left, height, width), size)


def resized_crop_bounding_boxes(bounding_boxes, format, top, left, height, width, size,
                                clamping_mode="soft"):
    boxes, canvas = crop_bounding_boxes(bounding_boxes, format, top, left, height, width,
                                        clamping_mode)
    return resize_bounding_boxes(boxes, canvas, size, format=format,
                                 clamping_mode=clamping_mode)


def resized_crop_keypoints(keypoints, top, left, height, width, size):
    points, canvas = crop_keypoints(keypoints, top, left, height, width)
    return resize_keypoints(points, size, canvas)


register_image_kernel(resized_crop, resized_crop_image, pil_kernel=resized_crop_image)
_register_mask(resized_crop, resized_crop_mask)
_register_boxes(resized_crop, lambda b, f, c, top, left, height, width, size,
                clamping_mode="soft", **kw:
                resized_crop_bounding_boxes(b, f, top, left, height, width, size,
                                            clamping_mode))
_register_keypoints(resized_crop, lambda p, c, top, left, height, width, size, **kw:
                    resized_crop_keypoints(p, top, left, height, width, size))


@dispatcher
def five_crop(inpt, size):
    """Four corner crops and the centre crop (images and videos)."""


@dispatcher
def ten_crop(inpt, size, vertical_flip=False):
    """five_crop of the image and of its flip."""


register_image_kernel(five_crop, F1.five_crop, pil_kernel=F1.five_crop)
register_image_kernel(ten_crop, F1.ten_crop, pil_kernel=F1.ten_crop)


# ----------------------------------------------------------------------------- pad

def _parse_pad_padding(padding) -> list[int]:
    """int / [all] / [lr, tb] / [l, t, r, b] -> [left, right, top, bottom]."""
    if isinstance(padding, int):
        return [padding] * 4
    if isinstance(padding, (tuple, list)):
        if len(padding) == 1:
            return [padding[0]] * 4
        if len(padding) == 2:
            return [padding[0], padding[0], padding[1], padding[1]]
        if len(padding) == 4:
            return [padding[0], padding[2], padding[1], padding[3]]
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple or list. "
                         f"Found {len(padding)}")
    raise TypeError(f"`padding` should be an integer or tuple or list of integers, but got "
                    f"{padding}")


@dispatcher
def pad(inpt, padding, fill=None, padding_mode="constant"):
    """Pad by int, (lr, tb) or (left, top, right, bottom); boxes shift by (left, top)."""


def pad_image(image, padding, fill=None, padding_mode="constant"):
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("`padding_mode` should be either `'constant'`, `'edge'`, `'reflect'` "
                         f"or `'symmetric'`, but got `'{padding_mode}'`.")
    left, right, top, bottom = _parse_pad_padding(padding)
    return F1.pad(image, [left, top, right, bottom], 0 if fill is None else fill, padding_mode)


def pad_mask(mask, padding, fill=None, padding_mode="constant"):
    if isinstance(fill, (tuple, list)):
        raise ValueError("Non-scalar fill value is not supported")  # noqa: TRY004
    return _mask_kernel(pad_image)(mask, padding, 0 if fill is None else fill, padding_mode)


def pad_bounding_boxes(bounding_boxes, format, canvas_size, padding, padding_mode="constant",
                       clamping_mode="soft"):
    if padding_mode != "constant":
        raise ValueError(f"Padding mode '{padding_mode}' is not supported with bounding boxes")
    _check_axis_aligned(format)
    left, right, top, bottom = _parse_pad_padding(padding)
    boxes = _offset(bounding_boxes, format, left, top)
    canvas = (canvas_size[0] + top + bottom, canvas_size[1] + left + right)
    return _clamp_bounding_boxes(boxes, format, canvas, clamping_mode), canvas


def pad_keypoints(keypoints, canvas_size, padding, padding_mode="constant"):
    if padding_mode != "constant":
        raise ValueError(f"Padding mode '{padding_mode}' is not supported with KeyPoints "
                         "(supported modes are constant)")
    left, right, top, bottom = _parse_pad_padding(padding)
    shift = ember.tensor([left, top], dtype=keypoints.dtype, device=keypoints.device)
    return keypoints + shift, (canvas_size[0] + top + bottom, canvas_size[1] + left + right)


register_image_kernel(pad, pad_image, pil_kernel=pad_image)
_register_mask(pad, pad_mask)
_register_boxes(pad, lambda b, f, c, padding, padding_mode="constant", clamping_mode="soft",
                **kw: pad_bounding_boxes(b, f, c, padding, padding_mode, clamping_mode))
_register_keypoints(pad, lambda p, c, padding, padding_mode="constant", **kw:
                    pad_keypoints(p, c, padding, padding_mode))


# ----------------------------------------------------------------------------- affine

def _affine_parse(angle, translate, scale, shear, center):
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if not isinstance(translate, (list, tuple)):
        raise TypeError("Argument translate should be a sequence")
    if len(translate) != 2:
        raise ValueError("Argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError("Argument scale should be positive")
    if isinstance(shear, (int, float)):
        shear = [shear, 0.0]
    shear = list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    return float(angle), [float(t) for t in translate], [float(s) for s in shear], center


def _affine_points_fn(canvas_size, angle, translate, scale, shear, center, expand):
    """The point map of an affine (or rotate with expand) about ``center`` in pixels."""
    height, width = canvas_size
    if center is None:
        center = [width * 0.5, height * 0.5]
    forward = F1._get_inverse_affine_matrix(center, angle, translate, scale, shear,
                                            inverted=False)

    def point_fn(points):
        moved = _map_points(points, forward)
        if not expand:
            return moved, canvas_size
        frame = ember.tensor([[0.0, 0.0], [0.0, float(height)], [float(width), float(height)],
                              [float(width), 0.0]], dtype=points.dtype, device=points.device)
        shift = _map_points(frame, forward).amin(dim=0, keepdim=True)
        # the canvas as the image kernel computes it (about the centre, in centred
        # coordinates), so image and boxes agree on the new size (torchvision's box kernel
        # passes pixel coordinates here and can come out one pixel off the image)
        centred = [center[0] - width * 0.5, center[1] - height * 0.5]
        inverse = F1._get_inverse_affine_matrix(centred, angle, translate, scale, shear)
        new_w, new_h = F_t.compute_affine_output_size(inverse, width, height)
        return moved - shift, (new_h, new_w)
    return point_fn


@dispatcher
def affine(inpt, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST,
           fill=None, center=None):
    """Rotate (degrees, clockwise), translate (pixels), scale and shear about ``center``."""


def affine_image(image, angle, translate, scale, shear, interpolation=_NEAREST, fill=None,
                 center=None):
    return F1.affine(image, angle, list(translate), scale, shear,
                     interpolation=_interpolation(interpolation), fill=fill, center=center)


def affine_mask(mask, angle, translate, scale, shear, fill=0, center=None, **kwargs):
    return _mask_kernel(affine_image)(mask, angle, translate, scale, shear, _NEAREST,
                                      0 if fill is None else fill, center)


def affine_bounding_boxes(bounding_boxes, format, canvas_size, angle, translate, scale, shear,
                          center=None, clamping_mode="soft"):
    angle, translate, shear, center = _affine_parse(angle, translate, scale, shear, center)
    fn = _affine_points_fn(canvas_size, angle, translate, scale, shear, center, False)
    return _boxes_by_points(bounding_boxes, format, canvas_size, fn, clamping_mode)[0]


def affine_keypoints(keypoints, canvas_size, angle, translate, scale, shear, center=None):
    angle, translate, shear, center = _affine_parse(angle, translate, scale, shear, center)
    fn = _affine_points_fn(canvas_size, angle, translate, scale, shear, center, False)
    return _points_kernel(keypoints, fn)


def _points_kernel(keypoints, point_fn):
    if keypoints.numel() == 0:
        return keypoints, None
    dtype, shape = keypoints.dtype, keypoints.shape
    floats = keypoints if keypoints.is_floating_point() else keypoints.float()
    moved, canvas = point_fn(floats.reshape(-1, 2))
    return moved.reshape(shape).to(dtype), canvas


register_image_kernel(affine, affine_image, pil_kernel=affine_image)
_register_mask(affine, affine_mask)
_register_boxes(affine, lambda b, f, c, angle, translate, scale, shear, center=None,
                clamping_mode="soft", **kw:
                (affine_bounding_boxes(b, f, c, angle, translate, scale, shear, center,
                                       clamping_mode), c))
_register_keypoints(affine, lambda p, c, angle, translate, scale, shear, center=None, **kw:
                    (affine_keypoints(p, c, angle, translate, scale, shear, center)[0], c))


@dispatcher
def rotate(inpt, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None,
           fill=None):
    """Rotate counter-clockwise by ``angle`` degrees; ``expand`` grows the canvas."""


def rotate_image(image, angle, interpolation=_NEAREST, expand=False, center=None, fill=None):
    return F1.rotate(image, angle, _interpolation(interpolation), expand, center, fill)


def rotate_mask(mask, angle, expand=False, center=None, fill=0, **kwargs):
    return _mask_kernel(rotate_image)(mask, angle, _NEAREST, expand, center,
                                      0 if fill is None else fill)


def rotate_bounding_boxes(bounding_boxes, format, canvas_size, angle, expand=False,
                          center=None, clamping_mode="soft"):
    # rotate is counter-clockwise, affine's angle clockwise: the same map with -angle
    fn = _affine_points_fn(canvas_size, -float(angle), [0.0, 0.0], 1.0, [0.0, 0.0], center,
                           expand)
    return _boxes_by_points(bounding_boxes, format, canvas_size, fn, clamping_mode)


def rotate_keypoints(keypoints, canvas_size, angle, expand=False, center=None):
    fn = _affine_points_fn(canvas_size, -float(angle), [0.0, 0.0], 1.0, [0.0, 0.0], center,
                           expand)
    points, canvas = _points_kernel(keypoints, fn)
    return points, canvas or canvas_size


register_image_kernel(rotate, rotate_image, pil_kernel=rotate_image)
_register_mask(rotate, rotate_mask)
_register_boxes(rotate, lambda b, f, c, angle, expand=False, center=None,
                clamping_mode="soft", **kw:
                rotate_bounding_boxes(b, f, c, angle, expand, center, clamping_mode))
_register_keypoints(rotate, lambda p, c, angle, expand=False, center=None, **kw:
                    rotate_keypoints(p, c, angle, expand, center))
