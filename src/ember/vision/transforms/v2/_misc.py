"""Normalize, GaussianBlur, ToDtype, Lambda, SanitizeBoundingBoxes and friends."""

from __future__ import annotations

import warnings

import ember
from ember.vision import tv_tensors

from .. import transforms as _v1
from .._base import _uniform
from . import functional as F
from ._transform import Transform
from ._utils import (
    _parse_labels_getter,
    _setup_number_or_seq,
    _setup_size,
    get_bounding_boxes,
    has_any,
    tree_flatten,
    tree_unflatten,
)
from .functional._utils import is_pure_tensor


class Identity(Transform):
    def transform(self, inpt, params):
        return inpt


class Lambda(Transform):
    """Apply ``lambd`` to the leaves of the given ``types`` (all by default)."""

    _transformed_types = (object,)

    def __init__(self, lambd, *types):
        super().__init__()
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd
        self.types = types or self._transformed_types

    def transform(self, inpt, params):
        return self.lambd(inpt) if isinstance(inpt, self.types) else inpt

    def extra_repr(self) -> str:
        extras = []
        name = getattr(self.lambd, "__name__", None)
        if name:
            extras.append(name)
        extras.append(f"types={[type.__name__ for type in self.types]}")
        return ", ".join(extras)


class Normalize(Transform):
    """Per-channel (x - mean) / std on float images and videos."""

    _v1_transform_cls = _v1.Normalize

    def __init__(self, mean, std, inplace=False):
        super().__init__()
        self.mean, self.std, self.inplace = list(mean), list(std), inplace

    def check_inputs(self, flat_inputs):
        if has_any(flat_inputs, F._type_conversion.F_pil.is_pil_image):
            raise TypeError(f"{type(self).__name__}() does not support PIL images.")

    def transform(self, inpt, params):
        return self._call_kernel(F.normalize, inpt, mean=self.mean, std=self.std,
                                 inplace=self.inplace)


class GaussianBlur(Transform):
    """Blur with a sigma drawn uniformly from ``sigma`` = (min, max) per call."""

    _v1_transform_cls = _v1.GaussianBlur

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        super().__init__()
        self.kernel_size = _setup_size(kernel_size,
                                       "Kernel size should be a tuple/list of two integers")
        for ks in self.kernel_size:
            if ks <= 0 or ks % 2 == 0:
                raise ValueError("Kernel size value should be an odd and positive number.")
        self.sigma = _setup_number_or_seq(sigma, "sigma")
        if not 0.0 < self.sigma[0] <= self.sigma[1]:
            raise ValueError(f"sigma values should be positive and of the form (min, max). "
                             f"Got {self.sigma}")

    def make_params(self, flat_inputs):
        sigma = _uniform(self.sigma[0], self.sigma[1])
        return {"sigma": [sigma, sigma]}

    def transform(self, inpt, params):
        return self._call_kernel(F.gaussian_blur, inpt, self.kernel_size, **params)


class ToDtype(Transform):
    """Cast images/videos to ``dtype`` (scaling intensities when ``scale``); a dict
    ``{tv_tensors.Mask: ember.int64, "others": None}`` sets a dtype per type."""

    def __init__(self, dtype, scale=False):
        super().__init__()
        if not isinstance(dtype, (dict, ember.dtype)):
            raise ValueError(  # noqa: TRY004
                f"dtype must be a dict or a torch.dtype, got {type(dtype)} instead")
        if isinstance(dtype, dict) and ember.Tensor in dtype and any(
                cls in dtype for cls in (tv_tensors.Image, tv_tensors.Video)):
            warnings.warn("Got `dtype` values for `torch.Tensor` and either "
                          "`tv_tensors.Image` or `tv_tensors.Video`. Note that a plain "
                          "`torch.Tensor` will *not* be transformed by this (or any other "
                          "transformation) in case a `tv_tensors.Image` or `tv_tensors.Video` "
                          "is present in the input.")
        self.dtype, self.scale = dtype, scale

    def transform(self, inpt, params):
        if isinstance(self.dtype, ember.dtype):
            # as ConvertImageDtype: a plain dtype concerns images and videos only
            if not is_pure_tensor(inpt) and not isinstance(inpt, (tv_tensors.Image,
                                                                  tv_tensors.Video)):
                return inpt
            dtype = self.dtype
        elif type(inpt) in self.dtype:
            dtype = self.dtype[type(inpt)]
        elif "others" in self.dtype:
            dtype = self.dtype["others"]
        else:
            raise ValueError(
                f"No dtype was specified for type {type(inpt)}. If you only need to convert "
                "the dtype of images or videos, you can just pass e.g. dtype=torch.float32. If "
                "you're passing a dict as dtype, you can use \"others\" as a catch-all key e.g. "
                "dtype={tv_tensors.Mask: torch.int64, \"others\": None} to pass-through the rest "
                "of the inputs.")
        supports_scaling = is_pure_tensor(inpt) or isinstance(inpt, (tv_tensors.Image,
                                                                     tv_tensors.Video))
        if dtype is None:
            if self.scale and supports_scaling:
                warnings.warn("scale was set to True but no dtype was specified for images or "
                              "videos: no scaling will be done.")
            return inpt
        return self._call_kernel(F.to_dtype, inpt, dtype=dtype, scale=self.scale)


class ConvertImageDtype(Transform):
    """[deprecated] ``ToDtype(dtype, scale=True)``."""

    _v1_transform_cls = _v1.ConvertImageDtype

    def __init__(self, dtype=ember.float32):
        super().__init__()
        self.dtype = dtype

    def transform(self, inpt, params):
        return self._call_kernel(F.to_dtype, inpt, dtype=self.dtype, scale=True)


def _parse_labels(labels):
    if labels is None:
        return None
    msg = "The labels in the input to forward() must be a tensor or None, got {type} instead."
    if isinstance(labels, ember.Tensor):
        return (labels,)
    if isinstance(labels, (tuple, list)):
        for entry in labels:
            if not isinstance(entry, ember.Tensor):
                raise ValueError(msg.format(type=type(entry)))  # noqa: TRY004
        return labels
    raise ValueError(msg.format(type=type(labels)))


class SanitizeBoundingBoxes(Transform):
    """Remove boxes smaller than ``min_size``/``min_area`` or outside the canvas, with
    their labels (found by ``labels_getter``) and per-instance masks."""

    def __init__(self, min_size=1.0, min_area=1.0, labels_getter="default"):
        super().__init__()
        if min_size < 1:
            raise ValueError(f"min_size must be >= 1, got {min_size}.")
        if min_area < 1:
            raise ValueError(f"min_area must be >= 1, got {min_area}.")
        self.min_size, self.min_area = min_size, min_area
        self.labels_getter = labels_getter
        self._labels_getter = _parse_labels_getter(labels_getter)

    def forward(self, *inputs):
        inputs = inputs if len(inputs) > 1 else inputs[0]
        labels = _parse_labels(self._labels_getter(inputs))
        flat_inputs, spec = tree_flatten(inputs)
        boxes = get_bounding_boxes(flat_inputs)
        for label in labels or ():
            if boxes.shape[0] != label.shape[0]:
                raise ValueError(
                    f"Number of boxes (shape={boxes.shape}) and must match the number of "
                    f"labels.Found labels with shape={label.shape}).")
        valid = F._misc._get_sanitize_bounding_boxes_mask(
            F._utils.unwrap(boxes), boxes.format, boxes.canvas_size, self.min_size,
            self.min_area)
        params = {"valid": valid, "labels": labels}
        return tree_unflatten([self.transform(inpt, params) for inpt in flat_inputs], spec)

    _sanitized_types = (tv_tensors.BoundingBoxes, tv_tensors.Mask)

    def transform(self, inpt, params):
        is_label = params["labels"] is not None and any(inpt is label
                                                        for label in params["labels"])
        if not (is_label or isinstance(inpt, self._sanitized_types)):
            return inpt
        try:
            output = F._utils.unwrap(inpt)[params["valid"]]
        except (IndexError, RuntimeError):
            # a semantic mask (H, W) does not follow the boxes
            return inpt
        return output if is_label else tv_tensors.wrap(output, like=inpt)


class SanitizeKeyPoints(SanitizeBoundingBoxes):
    """Remove keypoints (or whole groups of them) outside the image, with their labels."""

    _sanitized_types = (tv_tensors.KeyPoints,)

    def __init__(self, labels_getter=None):
        Transform.__init__(self)
        self.labels_getter = labels_getter
        self._labels_getter = _parse_labels_getter(labels_getter)

    def forward(self, *inputs):
        inputs = inputs if len(inputs) > 1 else inputs[0]
        labels = _parse_labels(self._labels_getter(inputs))
        flat_inputs, spec = tree_flatten(inputs)
        try:
            points = next(x for x in flat_inputs if isinstance(x, tv_tensors.KeyPoints))
        except StopIteration:
            raise ValueError("No keypoints were found in the sample") from None
        for label in labels or ():
            if points.shape[0] != label.shape[0]:
                raise ValueError(
                    f"Number of kepyoints (shape={points.shape}) must match the number of "
                    f"labels.Found labels with shape={label.shape}).")
        valid = F._misc._get_sanitize_keypoints_mask(F._utils.unwrap(points),
                                                     points.canvas_size)
        params = {"valid": valid, "labels": labels}
        return tree_unflatten([self.transform(inpt, params) for inpt in flat_inputs], spec)


class LinearTransformation(Transform):
    """Flatten, subtract ``mean_vector``, multiply by ``transformation_matrix``."""

    _v1_transform_cls = _v1.LinearTransformation

    def __init__(self, transformation_matrix, mean_vector):
        super().__init__()
        self._v1 = _v1.LinearTransformation(transformation_matrix, mean_vector)
        self.transformation_matrix, self.mean_vector = transformation_matrix, mean_vector

    def check_inputs(self, flat_inputs):
        if has_any(flat_inputs, F._type_conversion.F_pil.is_pil_image):
            raise TypeError(f"{type(self).__name__}() does not support PIL images.")

    def transform(self, inpt, params):
        if not (is_pure_tensor(inpt) or isinstance(inpt, (tv_tensors.Image, tv_tensors.Video))):
            return inpt
        output = self._v1(F._utils.unwrap(inpt) if not is_pure_tensor(inpt) else inpt)
        return output if is_pure_tensor(inpt) else tv_tensors.wrap(output, like=inpt)




class UniformTemporalSubsample(Transform):
    """Keep ``num_samples`` equispaced frames of videos (T is dim -4)."""

    _transformed_types = (ember.Tensor,)

    def __init__(self, num_samples):
        super().__init__()
        self.num_samples = num_samples

    def transform(self, inpt, params):
        return self._call_kernel(F.uniform_temporal_subsample, inpt, self.num_samples)


class GaussianNoise(Transform):
    """Add Gaussian noise to images and videos (clipped to the valid range by default)."""

    def __init__(self, mean=0.0, sigma=0.1, clip=True):
        super().__init__()
        self.mean, self.sigma, self.clip = mean, sigma, clip

    def transform(self, inpt, params):
        return self._call_kernel(F.gaussian_noise, inpt, mean=self.mean, sigma=self.sigma,
                                 clip=self.clip)
