"""torchvision's per-type kernel names (``resize_video``, ``crop_mask``, ...).

One image kernel serves images and videos (leading dims are a batch), so the ``_video``
names are the image kernels; masks have their own kernels where sampling differs.
"""

from __future__ import annotations

import ember

from . import _color, _geometry, _meta, _misc, _warps
from ._utils import _KERNEL_REGISTRY


def _tensor_kernel(functional):
    return _KERNEL_REGISTRY[functional][ember.Tensor]


adjust_brightness_image = _tensor_kernel(_color.adjust_brightness)
adjust_contrast_image = _tensor_kernel(_color.adjust_contrast)
adjust_gamma_image = _tensor_kernel(_color.adjust_gamma)
adjust_hue_image = _tensor_kernel(_color.adjust_hue)
adjust_saturation_image = _tensor_kernel(_color.adjust_saturation)
adjust_sharpness_image = _tensor_kernel(_color.adjust_sharpness)
autocontrast_image = _color.autocontrast_image
equalize_image = _color.equalize_image
invert_image = _tensor_kernel(_color.invert)
posterize_image = _color.posterize_image
solarize_image = _tensor_kernel(_color.solarize)
rgb_to_grayscale_image = _tensor_kernel(_color.rgb_to_grayscale)
five_crop_image = _tensor_kernel(_geometry.five_crop)
ten_crop_image = _tensor_kernel(_geometry.ten_crop)

adjust_brightness_video = adjust_brightness_image
adjust_contrast_video = adjust_contrast_image
adjust_gamma_video = adjust_gamma_image
adjust_hue_video = adjust_hue_image
adjust_saturation_video = adjust_saturation_image
adjust_sharpness_video = adjust_sharpness_image
autocontrast_video = autocontrast_image
equalize_video = equalize_image
invert_video = invert_image
posterize_video = posterize_image
solarize_video = solarize_image
permute_channels_video = _color.permute_channels_image
five_crop_video = five_crop_image
ten_crop_video = ten_crop_image
affine_video = _geometry.affine_image
center_crop_video = _geometry.center_crop_image
crop_video = _geometry.crop_image
horizontal_flip_video = _geometry.horizontal_flip_image
vertical_flip_video = _geometry.vertical_flip_image
pad_video = _geometry.pad_image
resize_video = _geometry.resize_image
resized_crop_video = _geometry.resized_crop_image
rotate_video = _geometry.rotate_image
perspective_video = _warps.perspective_image
elastic_video = _warps.elastic_image
gaussian_blur_video = _misc.gaussian_blur_image
gaussian_noise_video = _misc.gaussian_noise_image
normalize_video = _misc.normalize_image
to_dtype_video = _misc.to_dtype_image
get_dimensions_video = _meta.get_dimensions_image
get_num_channels_video = _meta.get_num_channels_image
get_size_video = _meta.get_size_image
get_num_frames_video = _meta.get_num_frames_video

horizontal_flip_mask = _tensor_kernel(_geometry.horizontal_flip)
vertical_flip_mask = _tensor_kernel(_geometry.vertical_flip)
crop_mask = _geometry._mask_kernel(_geometry.crop_image)
center_crop_mask = _geometry._mask_kernel(_geometry.center_crop_image)

get_size_bounding_boxes = _meta._get_size_canvas
get_size_keypoints = _meta._get_size_canvas
get_image_num_channels = _meta.get_num_channels
elastic_transform = _warps.elastic
gaussian_noise = _misc.gaussian_noise
gaussian_noise_image = _misc.gaussian_noise_image

__all__ = [
    "adjust_brightness_image", "adjust_brightness_video", "adjust_contrast_image",
    "adjust_contrast_video", "adjust_gamma_image", "adjust_gamma_video", "adjust_hue_image",
    "adjust_hue_video", "adjust_saturation_image", "adjust_saturation_video",
    "adjust_sharpness_image", "adjust_sharpness_video", "affine_video", "autocontrast_image",
    "autocontrast_video", "center_crop_mask", "center_crop_video", "crop_mask", "crop_video",
    "elastic_transform", "elastic_video", "equalize_image", "equalize_video",
    "five_crop_image", "five_crop_video", "gaussian_blur_video", "gaussian_noise",
    "gaussian_noise_image", "gaussian_noise_video", "get_dimensions_video",
    "get_image_num_channels", "get_num_channels_video", "get_num_frames_video",
    "get_size_bounding_boxes", "get_size_keypoints", "get_size_video", "horizontal_flip_mask",
    "horizontal_flip_video", "invert_image", "invert_video", "normalize_video", "pad_video",
    "permute_channels_video", "perspective_video", "posterize_image", "posterize_video",
    "resize_video", "resized_crop_video", "rgb_to_grayscale_image", "rotate_video",
    "solarize_image", "solarize_video", "ten_crop_image", "ten_crop_video", "to_dtype_video",
    "vertical_flip_mask", "vertical_flip_video",
]
