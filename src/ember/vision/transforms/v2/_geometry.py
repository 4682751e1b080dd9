"""Geometric v2 transforms: one set of random parameters moves images, masks, boxes and
keypoints of a sample together. Parameters are drawn from ember's generator in
torchvision's order, so ``ember.manual_seed`` makes a pipeline reproducible and single
images give v1's result."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence

import ember
from ember.vision import tv_tensors

from .. import transforms as _v1
from .._base import _randint, _uniform
from ..functional import InterpolationMode
from . import functional as F
from ._transform import Transform, _RandomApplyTransform
from ._utils import (
    _check_sequence_input,
    _get_fill,
    _setup_fill_arg,
    _setup_number_or_seq,
    _setup_size,
    get_bounding_boxes,
    has_all,
    has_any,
    query_size,
)
from .functional._geometry import _interpolation
from .functional._utils import is_pure_tensor

_SIZE_MSG = "Please provide only two dimensions (h, w) for size."


class RandomHorizontalFlip(_RandomApplyTransform):
    """Flip the sample left-right with probability p (boxes and keypoints move along)."""

    _v1_transform_cls = _v1.RandomHorizontalFlip

    def transform(self, inpt, params):
        return self._call_kernel(F.horizontal_flip, inpt)


class RandomVerticalFlip(_RandomApplyTransform):
    _v1_transform_cls = _v1.RandomVerticalFlip

    def transform(self, inpt, params):
        return self._call_kernel(F.vertical_flip, inpt)


class Resize(Transform):
    """Resize to ``size`` (h, w) or the shorter edge to ``size``; ``size=None`` with
    ``max_size`` bounds the longer edge."""

    _v1_transform_cls = _v1.Resize

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias=True):
        super().__init__()
        if isinstance(size, int):
            size = [size]
        elif isinstance(size, Sequence) and len(size) in (1, 2):
            size = list(size)
        elif size is None:
            if not isinstance(max_size, int):
                raise ValueError(  # noqa: TRY004
                    f"max_size must be an integer when size is None, but got "
                    f"{max_size} instead.")
        else:
            raise ValueError(f"size can be an integer, a sequence of one or two integers, or "
                             f"None, but got {size} instead.")
        self.size = size
        self.interpolation = _interpolation(interpolation)
        self.max_size = max_size
        self.antialias = antialias

    def transform(self, inpt, params):
        return self._call_kernel(F.resize, inpt, self.size, interpolation=self.interpolation,
                                 max_size=self.max_size, antialias=self.antialias)


class CenterCrop(Transform):
    _v1_transform_cls = _v1.CenterCrop

    def __init__(self, size):
        super().__init__()
        self.size = _setup_size(size, error_msg=_SIZE_MSG)

    def transform(self, inpt, params):
        return self._call_kernel(F.center_crop, inpt, output_size=self.size)


class RandomResizedCrop(Transform):
    """Crop a random area (``scale``) and aspect ratio (``ratio``), resize to ``size``."""

    _v1_transform_cls = _v1.RandomResizedCrop

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        super().__init__()
        self.size = _setup_size(size, error_msg=_SIZE_MSG)
        if not isinstance(scale, Sequence) or len(scale) != 2:
            raise TypeError("Scale should be a sequence of two floats.")
        if not isinstance(ratio, Sequence) or len(ratio) != 2:
            raise TypeError("Ratio should be a sequence of two floats.")
        if (scale[0] > scale[1]) or (ratio[0] > ratio[1]):
            warnings.warn("Scale and ratio should be of kind (min, max)")
        self.scale, self.ratio = scale, ratio
        self.interpolation = _interpolation(interpolation)
        self.antialias = antialias
        # float32, as torchvision draws it (ember's v1 uses double precision here)
        self._log_ratio = ember.log(ember.tensor(list(ratio))).tolist()

    def make_params(self, flat_inputs):
        height, width = query_size(flat_inputs)
        area = height * width
        log_ratio = self._log_ratio
        for _ in range(10):
            target_area = area * _uniform(self.scale[0], self.scale[1])
            aspect_ratio = float(ember.exp(ember.empty(1).uniform_(log_ratio[0],
                                                                   log_ratio[1])).item())
            w = round(math.sqrt(target_area * aspect_ratio))
            h = round(math.sqrt(target_area / aspect_ratio))
            if 0 < w <= width and 0 < h <= height:
                i = _randint(0, height - h + 1)
                j = _randint(0, width - w + 1)
                break
        else:
            in_ratio = float(width) / float(height)
            if in_ratio < min(self.ratio):
                w, h = width, round(width / min(self.ratio))
            elif in_ratio > max(self.ratio):
                h, w = height, round(height * max(self.ratio))
            else:
                w, h = width, height
            i, j = (height - h) // 2, (width - w) // 2
        return {"top": i, "left": j, "height": h, "width": w}

    def transform(self, inpt, params):
        return self._call_kernel(F.resized_crop, inpt, **params, size=self.size,
                                 interpolation=self.interpolation, antialias=self.antialias)


class FiveCrop(Transform):
    """Four corners and the centre; images and videos only."""

    _v1_transform_cls = _v1.FiveCrop

    def __init__(self, size):
        super().__init__()
        self.size = _setup_size(size, error_msg=_SIZE_MSG)

    def check_inputs(self, flat_inputs):
        if has_any(flat_inputs, tv_tensors.BoundingBoxes, tv_tensors.Mask):
            raise TypeError(f"BoundingBoxes'es and Mask's are not supported by "
                            f"{type(self).__name__}()")

    def transform(self, inpt, params):
        return self._call_kernel(F.five_crop, inpt, self.size)


class TenCrop(FiveCrop):
    _v1_transform_cls = _v1.TenCrop

    def __init__(self, size, vertical_flip=False):
        super().__init__(size)
        self.vertical_flip = vertical_flip

    def transform(self, inpt, params):
        return self._call_kernel(F.ten_crop, inpt, self.size, vertical_flip=self.vertical_flip)


def _check_padding_arg(padding):
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if isinstance(padding, (tuple, list)) and len(padding) not in (1, 2, 4):
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding)} element tuple")


def _check_padding_mode_arg(padding_mode):
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")


class Pad(Transform):
    """Pad the sample's borders; ``fill`` may be a dict per type ({Image: 0, Mask: 255})."""

    _v1_transform_cls = _v1.Pad

    def __init__(self, padding, fill=0, padding_mode="constant"):
        super().__init__()
        _check_padding_arg(padding)
        _check_padding_mode_arg(padding_mode)
        if not isinstance(padding, int):
            padding = list(padding)
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode
        self._fill = _setup_fill_arg(fill)

    def transform(self, inpt, params):
        fill = _get_fill(self._fill, type(inpt))
        return self._call_kernel(F.pad, inpt, padding=self.padding, fill=fill,
                                 padding_mode=self.padding_mode)


class RandomZoomOut(_RandomApplyTransform):
    """Place the sample on a canvas ``side_range`` times larger, at a random offset."""

    def __init__(self, fill=0, side_range=(1.0, 4.0), p=0.5):
        super().__init__(p=p)
        self.fill = fill
        self._fill = _setup_fill_arg(fill)
        _check_sequence_input(side_range, "side_range", req_sizes=(2,))
        self.side_range = side_range
        if side_range[0] < 1.0 or side_range[0] > side_range[1]:
            raise ValueError(f"Invalid side range provided {side_range}.")

    def make_params(self, flat_inputs):
        orig_h, orig_w = query_size(flat_inputs)
        r = self.side_range[0] + float(ember.rand(1).item()) * (
            self.side_range[1] - self.side_range[0])
        canvas_width, canvas_height = int(orig_w * r), int(orig_h * r)
        r = ember.rand(2).tolist()
        left = int((canvas_width - orig_w) * r[0])
        top = int((canvas_height - orig_h) * r[1])
        right = canvas_width - (left + orig_w)
        bottom = canvas_height - (top + orig_h)
        return {"padding": [left, top, right, bottom]}

    def transform(self, inpt, params):
        fill = _get_fill(self._fill, type(inpt))
        return self._call_kernel(F.pad, inpt, **params, fill=fill)


_setup_angle = _v1._setup_angle  # the same check as v1


class RandomRotation(Transform):
    """Rotate by an angle drawn from ``degrees``; boxes become the rotated corners' hull."""

    _v1_transform_cls = _v1.RandomRotation

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False,
                 center=None, fill=0):
        super().__init__()
        self.degrees = _setup_angle(degrees, name="degrees", req_sizes=(2,))
        self.interpolation = _interpolation(interpolation)
        self.expand = expand
        self.fill = fill
        self._fill = _setup_fill_arg(fill)
        if center is not None:
            _check_sequence_input(center, "center", req_sizes=(2,))
        self.center = center

    def make_params(self, flat_inputs):
        return {"angle": _uniform(self.degrees[0], self.degrees[1])}

    def transform(self, inpt, params):
        fill = _get_fill(self._fill, type(inpt))
        return self._call_kernel(F.rotate, inpt, **params, interpolation=self.interpolation,
                                 expand=self.expand, center=self.center, fill=fill)


class RandomAffine(Transform):
    """Random rotation, translation (fraction of size), scale and shear."""

    _v1_transform_cls = _v1.RandomAffine

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation=InterpolationMode.NEAREST, fill=0, center=None):
        super().__init__()
        self.degrees = _setup_angle(degrees, name="degrees", req_sizes=(2,))
        if translate is not None:
            _check_sequence_input(translate, "translate", req_sizes=(2,))
            for t in translate:
                if not 0.0 <= t <= 1.0:
                    raise ValueError("translation values should be between 0 and 1")
        self.translate = translate
        if scale is not None:
            _check_sequence_input(scale, "scale", req_sizes=(2,))
            for s in scale:
                if s <= 0:
                    raise ValueError("scale values should be positive")
        self.scale = scale
        self.shear = None if shear is None else _setup_angle(shear, "shear", (2, 4))
        self.interpolation = _interpolation(interpolation)
        self.fill = fill
        self._fill = _setup_fill_arg(fill)
        if center is not None:
            _check_sequence_input(center, "center", req_sizes=(2,))
        self.center = center

    def make_params(self, flat_inputs):
        height, width = query_size(flat_inputs)
        angle = _uniform(self.degrees[0], self.degrees[1])
        if self.translate is not None:
            max_dx = float(self.translate[0] * width)
            max_dy = float(self.translate[1] * height)
            tx = round(_uniform(-max_dx, max_dx))
            ty = round(_uniform(-max_dy, max_dy))
            translate = (tx, ty)
        else:
            translate = (0, 0)
        scale = 1.0 if self.scale is None else _uniform(self.scale[0], self.scale[1])
        shear_x = shear_y = 0.0
        if self.shear is not None:
            shear_x = _uniform(self.shear[0], self.shear[1])
            if len(self.shear) == 4:
                shear_y = _uniform(self.shear[2], self.shear[3])
        return {"angle": angle, "translate": translate, "scale": scale,
                "shear": (shear_x, shear_y)}

    def transform(self, inpt, params):
        fill = _get_fill(self._fill, type(inpt))
        return self._call_kernel(F.affine, inpt, **params, interpolation=self.interpolation,
                                 fill=fill, center=self.center)


class RandomCrop(Transform):
    """Crop ``size`` at a random place, after optional ``padding`` / ``pad_if_needed``."""

    _v1_transform_cls = _v1.RandomCrop

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0,
                 padding_mode="constant"):
        super().__init__()
        self.size = _setup_size(size, error_msg=_SIZE_MSG)
        if pad_if_needed or padding is not None:
            if padding is not None:
                _check_padding_arg(padding)
            _check_padding_mode_arg(padding_mode)
        self.padding = F._geometry._parse_pad_padding(padding) if padding else None
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self._fill = _setup_fill_arg(fill)
        self.padding_mode = padding_mode

    def make_params(self, flat_inputs):
        padded_height, padded_width = query_size(flat_inputs)
        if self.padding is not None:
            pad_left, pad_right, pad_top, pad_bottom = self.padding
            padded_height += pad_top + pad_bottom
            padded_width += pad_left + pad_right
        else:
            pad_left = pad_right = pad_top = pad_bottom = 0
        cropped_height, cropped_width = self.size
        if self.pad_if_needed:
            if padded_height < cropped_height:
                diff = cropped_height - padded_height
                pad_top += diff
                pad_bottom += diff
                padded_height += 2 * diff
            if padded_width < cropped_width:
                diff = cropped_width - padded_width
                pad_left += diff
                pad_right += diff
                padded_width += 2 * diff
        if padded_height < cropped_height or padded_width < cropped_width:
            padded = "padded " if self.padding is not None else ""
            raise ValueError(f"Required crop size {(cropped_height, cropped_width)} is larger "
                             f"than {padded}input image size {(padded_height, padded_width)}.")
        padding = [pad_left, pad_top, pad_right, pad_bottom]
        top = left = 0
        if padded_height > cropped_height:
            top = int(ember.randint(0, padded_height - cropped_height + 1, size=()).item())
        if padded_width > cropped_width:
            left = int(ember.randint(0, padded_width - cropped_width + 1, size=()).item())
        return {"needs_crop": padded_height > cropped_height or padded_width > cropped_width,
                "top": top, "left": left, "height": cropped_height, "width": cropped_width,
                "needs_pad": any(padding), "padding": padding}

    def transform(self, inpt, params):
        if params["needs_pad"]:
            fill = _get_fill(self._fill, type(inpt))
            inpt = self._call_kernel(F.pad, inpt, padding=params["padding"], fill=fill,
                                     padding_mode=self.padding_mode)
        if params["needs_crop"]:
            inpt = self._call_kernel(F.crop, inpt, top=params["top"], left=params["left"],
                                     height=params["height"], width=params["width"])
        return inpt


class RandomPerspective(_RandomApplyTransform):
    """Move each corner inwards by up to ``distortion_scale`` of half the size."""

    _v1_transform_cls = _v1.RandomPerspective

    def __init__(self, distortion_scale=0.5, p=0.5, interpolation=InterpolationMode.BILINEAR,
                 fill=0):
        super().__init__(p=p)
        if not 0 <= distortion_scale <= 1:
            raise ValueError("Argument distortion_scale value should be between 0 and 1")
        self.distortion_scale = distortion_scale
        self.interpolation = _interpolation(interpolation)
        self.fill = fill
        self._fill = _setup_fill_arg(fill)

    def make_params(self, flat_inputs):
        height, width = query_size(flat_inputs)
        start, end = _v1.RandomPerspective.get_params(width, height, self.distortion_scale)
        return {"startpoints": start, "endpoints": end}

    def transform(self, inpt, params):
        fill = _get_fill(self._fill, type(inpt))
        return self._call_kernel(F.perspective, inpt, **params, fill=fill,
                                 interpolation=self.interpolation)


def _box_iou(boxes, box):
    """IoU of XYXY ``boxes`` (N, 4) with one box (1, 4)."""
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    box_area = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
    lt = ember.maximum(boxes[:, :2], box[:, :2])
    rb = ember.minimum(boxes[:, 2:], box[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, 0] * wh[:, 1]
    return inter / (area + box_area - inter)


class RandomIoUCrop(Transform):
    """SSD's random crop: keep a crop whose IoU with some box centred inside it reaches a
    randomly chosen threshold. Boxes outside are zeroed: follow with SanitizeBoundingBoxes."""

    def __init__(self, min_scale=0.3, max_scale=1.0, min_aspect_ratio=0.5,
                 max_aspect_ratio=2.0, sampler_options=None, trials=40):
        super().__init__()
        self.min_scale, self.max_scale = min_scale, max_scale
        self.min_aspect_ratio, self.max_aspect_ratio = min_aspect_ratio, max_aspect_ratio
        if sampler_options is None:
            sampler_options = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]
        self.options = sampler_options
        self.trials = trials

    def check_inputs(self, flat_inputs):
        if not (has_all(flat_inputs, tv_tensors.BoundingBoxes)
                and has_any(flat_inputs, F._type_conversion.F_pil.is_pil_image,
                            tv_tensors.Image, is_pure_tensor)):
            raise TypeError(f"{type(self).__name__}() requires input sample to contain tensor "
                            "or PIL images and bounding boxes. Sample can also contain masks.")

    def make_params(self, flat_inputs):
        orig_h, orig_w = query_size(flat_inputs)
        bboxes = get_bounding_boxes(flat_inputs)
        xyxy = F.convert_bounding_box_format(F._utils.unwrap(bboxes), bboxes.format, "XYXY")
        cx = 0.5 * (xyxy[..., 0] + xyxy[..., 2])
        cy = 0.5 * (xyxy[..., 1] + xyxy[..., 3])
        while True:
            idx = int(ember.randint(low=0, high=len(self.options), size=(1,)).item())
            min_jaccard_overlap = self.options[idx]
            if min_jaccard_overlap >= 1.0:  # the "leave as is" option
                return {}
            for _ in range(self.trials):
                r = (self.min_scale + (self.max_scale - self.min_scale) * ember.rand(2)).tolist()
                new_w, new_h = int(orig_w * r[0]), int(orig_h * r[1])
                if new_h == 0 or not (self.min_aspect_ratio <= new_w / new_h
                                      <= self.max_aspect_ratio):
                    continue
                r = ember.rand(2).tolist()
                left, top = int((orig_w - new_w) * r[0]), int((orig_h - new_h) * r[1])
                right, bottom = left + new_w, top + new_h
                if left == right or top == bottom:
                    continue
                inside = (left < cx) & (cx < right) & (top < cy) & (cy < bottom)
                if not bool(inside.any()):
                    continue
                crop_box = ember.tensor([[left, top, right, bottom]], dtype=xyxy.dtype,
                                        device=xyxy.device)
                if float(_box_iou(xyxy[inside], crop_box).max()) < min_jaccard_overlap:
                    continue
                return {"top": top, "left": left, "height": new_h, "width": new_w,
                        "is_within_crop_area": inside}

    def transform(self, inpt, params):
        if not params:
            return inpt
        output = self._call_kernel(F.crop, inpt, top=params["top"], left=params["left"],
                                   height=params["height"], width=params["width"])
        if isinstance(output, tv_tensors.BoundingBoxes):
            # mark boxes outside as degenerate; SanitizeBoundingBoxes removes them
            output[~params["is_within_crop_area"]] = 0
        return output


class ScaleJitter(Transform):
    """Large Scale Jitter: resize to ``target_size`` (h, w) times a scale drawn from
    ``scale_range``, keeping the aspect ratio."""

    def __init__(self, target_size, scale_range=(0.1, 2.0), interpolation="bilinear",
                 antialias=True):
        super().__init__()
        self.target_size, self.scale_range = target_size, scale_range
        self.interpolation, self.antialias = interpolation, antialias

    def make_params(self, flat_inputs):
        orig_height, orig_width = query_size(flat_inputs)
        scale = self.scale_range[0] + ember.rand(1) * (self.scale_range[1] - self.scale_range[0])
        r = min(self.target_size[1] / orig_height, self.target_size[0] / orig_width) * scale
        # float32 products, as torchvision's int(size * tensor)
        return {"size": (int((orig_height * r).item()), int((orig_width * r).item()))}

    def transform(self, inpt, params):
        return self._call_kernel(F.resize, inpt, size=params["size"],
                                 interpolation=self.interpolation, antialias=self.antialias)


class RandomShortestSize(Transform):
    """Resize the shorter edge to one of ``min_size`` (random), the longer edge bounded by
    ``max_size``."""

    def __init__(self, min_size, max_size=None, interpolation="bilinear", antialias=True):
        super().__init__()
        self.min_size = [min_size] if isinstance(min_size, int) else list(min_size)
        self.max_size, self.interpolation, self.antialias = max_size, interpolation, antialias

    def make_params(self, flat_inputs):
        orig_height, orig_width = query_size(flat_inputs)
        min_size = self.min_size[int(ember.randint(0, len(self.min_size), ()).item())]
        r = min_size / min(orig_height, orig_width)
        if self.max_size is not None:
            r = min(r, self.max_size / max(orig_height, orig_width))
        return {"size": (int(orig_height * r), int(orig_width * r))}

    def transform(self, inpt, params):
        return self._call_kernel(F.resize, inpt, size=params["size"],
                                 interpolation=self.interpolation, antialias=self.antialias)


class RandomResize(Transform):
    """Resize the shorter edge to a size drawn from [min_size, max_size)."""

    def __init__(self, min_size, max_size, interpolation="bilinear", antialias=True):
        super().__init__()
        self.min_size, self.max_size = min_size, max_size
        self.interpolation, self.antialias = interpolation, antialias

    def make_params(self, flat_inputs):
        return {"size": [int(ember.randint(self.min_size, self.max_size, ()).item())]}

    def transform(self, inpt, params):
        return self._call_kernel(F.resize, inpt, params["size"],
                                 interpolation=self.interpolation, antialias=self.antialias)


class ElasticTransform(Transform):
    """Elastic deformation: a smoothed random displacement field (``alpha`` strength,
    ``sigma`` smoothness) moves pixels, masks, boxes and keypoints alike."""

    def __init__(self, alpha=50.0, sigma=5.0, interpolation="bilinear", fill=0):
        super().__init__()
        self.alpha = _setup_number_or_seq(alpha, "alpha")
        self.sigma = _setup_number_or_seq(sigma, "sigma")
        self.interpolation = interpolation
        self.fill = fill
        self._fill = _setup_fill_arg(fill)

    def _field(self, height, width, sigma, alpha, extent):
        field = ember.rand(1, 1, height, width) * 2 - 1
        if sigma > 0.0:
            size = int(8 * sigma + 1)
            size += 1 - size % 2  # odd
            field = self._call_kernel(F.gaussian_blur, field, [size, size], list(self.sigma))
        return field * alpha / extent

    def make_params(self, flat_inputs):
        height, width = query_size(flat_inputs)
        dx = self._field(height, width, self.sigma[0], self.alpha[0], width)
        dy = self._field(height, width, self.sigma[1], self.alpha[1], height)
        return {"displacement": ember.cat([dx, dy], 1).permute([0, 2, 3, 1])}

    def transform(self, inpt, params):
        fill = _get_fill(self._fill, type(inpt))
        return self._call_kernel(F.elastic, inpt, **params, fill=fill,
                                 interpolation=self.interpolation)
