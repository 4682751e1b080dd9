"""Warps with their own sampling grids: perspective (a homography) and elastic (a
displacement field). Images use v1's grid kernels; boxes and keypoints move through the
same point machinery as the affine kernels in ``_geometry``."""

from __future__ import annotations

import numpy as np

import ember

from ... import _functional_pil as F_pil
from ... import _functional_tensor as F_t
from ... import functional as F1
from ...functional import InterpolationMode
from ._geometry import (
    _NEAREST,
    _XYXY,
    _boxes_by_points,
    _interpolation,
    _mask_kernel,
    _points_kernel,
    _register_boxes,
    _register_keypoints,
    _register_mask,
)
from ._meta import _check_axis_aligned, _clamp_bounding_boxes, _convert_bounding_box_format
from ._utils import dispatcher, register_image_kernel

# ----------------------------------------------------------------------------- perspective

@dispatcher
def perspective(inpt, startpoints, endpoints, interpolation=InterpolationMode.BILINEAR,
                fill=None, coefficients=None):
    """Warp so the four ``startpoints`` land on ``endpoints`` (or by the 8 ``coefficients``
    of the output -> input map); boxes follow their corners."""


def _perspective_coefficients(startpoints, endpoints, coefficients) -> list[float]:
    if coefficients is not None:
        if startpoints is not None and endpoints is not None:
            raise ValueError("The startpoints/endpoints and the coefficients shouldn't be "
                             "defined concurrently.")
        if len(coefficients) != 8:
            raise ValueError("Argument coefficients should have 8 float values")
        return list(coefficients)
    if startpoints is not None and endpoints is not None:
        return F1._get_perspective_coeffs(startpoints, endpoints)
    raise ValueError("Either the startpoints/endpoints or the coefficients must have non "
                     "`None` values.")


def perspective_image(image, startpoints, endpoints, interpolation=InterpolationMode.BILINEAR,
                      fill=None, coefficients=None):
    coeffs = _perspective_coefficients(startpoints, endpoints, coefficients)
    interpolation = _interpolation(interpolation)
    if not isinstance(image, ember.Tensor):
        return F_pil.perspective(image, coeffs, F1._PIL_MODES[interpolation], fill)
    channels = F_t.get_dimensions(image)[0]
    return F_t.perspective(image, coeffs, interpolation.value, F1._tensor_fill(fill, channels))


def perspective_mask(mask, startpoints, endpoints, fill=0, coefficients=None, **kwargs):
    return _mask_kernel(perspective_image)(mask, startpoints, endpoints, _NEAREST,
                                           0 if fill is None else fill, coefficients)


def _perspective_points_fn(coeffs, canvas_size):
    """Points move by the inverse of the sampling map (output -> input) the image uses."""
    a, b, c, d, e, f, g, h = coeffs
    forward = np.linalg.inv(np.array([[a, b, c], [d, e, f], [g, h, 1.0]], dtype=np.float64))
    forward = forward / forward[2, 2]

    def point_fn(points):
        weights = ember.tensor(forward.T, dtype=ember.float64, device=points.device)
        ones = ember.ones(points.shape[0], 1, dtype=ember.float64, device=points.device)
        moved = ember.cat((points.to(ember.float64), ones), dim=-1) @ weights
        return (moved[:, :2] / moved[:, 2:]).to(points.dtype), canvas_size
    return point_fn


def perspective_bounding_boxes(bounding_boxes, format, canvas_size, startpoints, endpoints,
                               coefficients=None, clamping_mode="soft"):
    coeffs = _perspective_coefficients(startpoints, endpoints, coefficients)
    fn = _perspective_points_fn(coeffs, canvas_size)
    return _boxes_by_points(bounding_boxes, format, canvas_size, fn, clamping_mode)[0]


def perspective_keypoints(keypoints, canvas_size, startpoints, endpoints, coefficients=None):
    coeffs = _perspective_coefficients(startpoints, endpoints, coefficients)
    return _points_kernel(keypoints, _perspective_points_fn(coeffs, canvas_size))[0]


register_image_kernel(perspective, perspective_image, pil_kernel=perspective_image)
_register_mask(perspective, perspective_mask)
_register_boxes(perspective, lambda b, f, c, startpoints, endpoints, coefficients=None,
                clamping_mode="soft", **kw:
                (perspective_bounding_boxes(b, f, c, startpoints, endpoints, coefficients,
                                            clamping_mode), c))
_register_keypoints(perspective, lambda p, c, startpoints, endpoints, coefficients=None, **kw:
                    (perspective_keypoints(p, c, startpoints, endpoints, coefficients), c))


# ----------------------------------------------------------------------------- elastic

@dispatcher
def elastic(inpt, displacement, interpolation=InterpolationMode.BILINEAR, fill=None):
    """Move each pixel by ``displacement`` (1, H, W, 2), in grid_sample's [-1, 1] units."""


def _identity_grid(height: int, width: int) -> np.ndarray:
    xs = np.linspace((-width + 1) / width, (width - 1) / width, width)
    ys = np.linspace((-height + 1) / height, (height - 1) / height, height)
    return np.stack([np.broadcast_to(xs, (height, width)),
                     np.broadcast_to(ys[:, None], (height, width))], axis=-1)


def _check_displacement(displacement, height, width):
    if not isinstance(displacement, ember.Tensor):
        raise TypeError("Argument displacement should be a Tensor")
    expected = (1, height, width, 2)
    if tuple(displacement.shape) != expected:
        raise ValueError(f"Argument displacement shape should be {expected}, but given "
                         f"{displacement.shape}")


def elastic_image(image, displacement, interpolation=InterpolationMode.BILINEAR, fill=None):
    interpolation = _interpolation(interpolation)
    if not isinstance(image, ember.Tensor):  # PIL: through a tensor and back
        tensor = elastic_image(F1.pil_to_tensor(image), displacement, interpolation, fill)
        return F1.to_pil_image(tensor, mode=image.mode)
    height, width = image.shape[-2:]
    _check_displacement(displacement, height, width)
    dtype = image.dtype if image.is_floating_point() else ember.float32
    # the grid is a constant of the warp (torchvision draws it without gradient)
    offsets = displacement.detach().to(dtype).cpu().numpy()[0]
    grid = _identity_grid(height, width).astype(offsets.dtype) + offsets
    channels = F_t.get_dimensions(image)[0]
    return F_t._apply_grid(image, grid, interpolation.value, F1._tensor_fill(fill, channels))


def elastic_mask(mask, displacement, fill=None, **kwargs):
    return _mask_kernel(elastic_image)(mask, displacement, _NEAREST, fill)


def _elastic_points(points, canvas_size, displacement):
    """Look up where each (rounded) point samples from, by the inverse displacement."""
    height, width = canvas_size
    _check_displacement(displacement, height, width)
    inverse = ember.tensor(_identity_grid(height, width), dtype=points.dtype,
                           device=points.device) - displacement[0].to(points.device, points.dtype)
    index_x = points[:, 0].to(ember.int64).clamp(0, width - 1)
    index_y = points[:, 1].to(ember.int64).clamp(0, height - 1)
    size = ember.tensor([float(width), float(height)], dtype=points.dtype, device=points.device)
    return (inverse[index_y, index_x] + 1) * (0.5 * size) - 0.5


def elastic_bounding_boxes(bounding_boxes, format, canvas_size, displacement,
                           clamping_mode="soft"):
    """Corners (rounded up) move by the inverse displacement at their pixel."""
    _check_axis_aligned(format)
    if bounding_boxes.numel() == 0:
        return bounding_boxes
    dtype, shape = bounding_boxes.dtype, bounding_boxes.shape
    floats = bounding_boxes if bounding_boxes.is_floating_point() else bounding_boxes.float()
    xyxy = _convert_bounding_box_format(floats, format, _XYXY).reshape(-1, 4)
    corners = ember.ceil(xyxy[:, [0, 1, 2, 1, 2, 3, 0, 3]].reshape(-1, 2))
    moved = _elastic_points(corners, canvas_size, displacement).reshape(-1, 4, 2)
    out = ember.cat((moved.amin(dim=1), moved.amax(dim=1)), dim=1).to(dtype)
    out = _clamp_bounding_boxes(out, _XYXY, canvas_size, clamping_mode)
    return _convert_bounding_box_format(out, _XYXY, format).reshape(shape)


def elastic_keypoints(keypoints, canvas_size, displacement):
    if keypoints.numel() == 0:
        return keypoints
    floats = keypoints if keypoints.is_floating_point() else keypoints.float()
    moved = _elastic_points(floats.reshape(-1, 2), canvas_size, displacement)
    return moved.to(keypoints.dtype).reshape(keypoints.shape)


register_image_kernel(elastic, elastic_image, pil_kernel=elastic_image)
_register_mask(elastic, elastic_mask)
_register_boxes(elastic, lambda b, f, c, displacement, clamping_mode="soft", **kw:
                (elastic_bounding_boxes(b, f, c, displacement, clamping_mode), c))
_register_keypoints(elastic, lambda p, c, displacement, **kw:
                    (elastic_keypoints(p, c, displacement), c))
