"""GeneralizedRCNNTransform: normalise, resize and batch images (and their targets)
before an R-CNN-style model, and map predictions back to the original image sizes."""

from __future__ import annotations

import math

import ember
import ember.nn.functional as F
from ember import nn

from .image_list import ImageList
from .roi_heads import paste_masks_in_image


def _resize_image_and_masks(image, self_min_size: int, self_max_size: int, target=None,
                            fixed_size=None):
    """Bilinear resize so the short side is ``self_min_size`` unless that makes the
    long side exceed ``self_max_size``; target masks follow with nearest resizing."""
    size = None
    scale_factor = None
    recompute_scale_factor = None
    if fixed_size is not None:
        size = [fixed_size[1], fixed_size[0]]
    else:
        im_shape = image.shape[-2:]
        scale_factor = min(self_min_size / min(im_shape), self_max_size / max(im_shape))
        recompute_scale_factor = True
    image = F.interpolate(image[None], size=size, scale_factor=scale_factor, mode="bilinear",
                          recompute_scale_factor=recompute_scale_factor,
                          align_corners=False)[0]
    if target is not None and "masks" in target:
        masks = F.interpolate(target["masks"][:, None].float(), size=size,
                              scale_factor=scale_factor,
                              recompute_scale_factor=recompute_scale_factor)[:, 0]
        target["masks"] = masks.byte()
    return image, target


class GeneralizedRCNNTransform(nn.Module):
    """Normalises each image with ``image_mean``/``image_std``, resizes it (short side
    ``min_size``, long side at most ``max_size``, or ``fixed_size``), pads the batch to a
    multiple of ``size_divisible`` and rescales the targets' boxes, masks and keypoints.

    Returns an :class:`ImageList` and the transformed targets.
    """

    def __init__(self, min_size, max_size: int, image_mean, image_std,
                 size_divisible: int = 32, fixed_size=None, **kwargs) -> None:
        super().__init__()
        if not isinstance(min_size, (list, tuple)):
            min_size = (min_size,)
        self.min_size = min_size
        self.max_size = max_size
        self.image_mean = image_mean
        self.image_std = image_std
        self.size_divisible = size_divisible
        self.fixed_size = fixed_size
        self._skip_resize = kwargs.pop("_skip_resize", False)

    def forward(self, images, targets=None):
        images = list(images)
        if targets is not None:
            targets = [dict(t) for t in targets]  # shallow copies: the caller's stay intact
        for i, image in enumerate(images):
            target = targets[i] if targets is not None else None
            if image.dim() != 3:
                raise ValueError("images is expected to be a list of 3d tensors of shape "
                                 f"[C, H, W], got {image.shape}")
            image = self.normalize(image)
            image, target = self.resize(image, target)
            images[i] = image
            if targets is not None and target is not None:
                targets[i] = target
        image_sizes = [tuple(img.shape[-2:]) for img in images]
        batched = self.batch_images(images, size_divisible=self.size_divisible)
        return ImageList(batched, [(int(h), int(w)) for h, w in image_sizes]), targets

    def normalize(self, image):
        if not image.is_floating_point():
            raise TypeError("Expected input images to be of floating type (in range [0, 1]), "
                            f"but found type {image.dtype} instead")
        mean = ember.as_tensor(self.image_mean, dtype=image.dtype, device=image.device)
        std = ember.as_tensor(self.image_std, dtype=image.dtype, device=image.device)
        return (image - mean[:, None, None]) / std[:, None, None]

    def torch_choice(self, k):
        """``random.choice`` drawn from ember's generator, so seeding ember reproduces it."""
        index = int(ember.empty(1).uniform_(0.0, float(len(k))).item())
        return k[index]

    def resize(self, image, target=None):
        h, w = image.shape[-2:]
        if self.training:
            if self._skip_resize:
                return image, target
            size = self.torch_choice(self.min_size)
        else:
            size = self.min_size[-1]
        image, target = _resize_image_and_masks(image, size, self.max_size, target,
                                                self.fixed_size)
        if target is None:
            return image, target
        target["boxes"] = resize_boxes(target["boxes"], (h, w), image.shape[-2:])
        if "keypoints" in target:
            target["keypoints"] = resize_keypoints(target["keypoints"], (h, w),
                                                   image.shape[-2:])
        return image, target

    def max_by_axis(self, the_list):
        maxes = list(the_list[0])
        for sublist in the_list[1:]:
            for index, item in enumerate(sublist):
                maxes[index] = max(maxes[index], item)
        return maxes

    def batch_images(self, images, size_divisible: int = 32):
        """Zero-pads the images to one [N, C, H, W] tensor with H, W multiples of
        ``size_divisible`` (the backbone's total stride)."""
        max_size = self.max_by_axis([list(img.shape) for img in images])
        stride = float(size_divisible)
        max_size[1] = int(math.ceil(float(max_size[1]) / stride) * stride)
        max_size[2] = int(math.ceil(float(max_size[2]) / stride) * stride)
        batched = images[0].new_full([len(images)] + max_size, 0)
        for i, img in enumerate(images):
            batched[i, :img.shape[0], :img.shape[1], :img.shape[2]].copy_(img)
        return batched

    def postprocess(self, result, image_shapes, original_image_sizes):
        """Maps boxes/keypoints back to the original sizes and pastes masks into images."""
        if self.training:
            return result
        for pred, im_s, o_im_s in zip(result, image_shapes, original_image_sizes):
            pred["boxes"] = resize_boxes(pred["boxes"], im_s, o_im_s)
            if "masks" in pred:
                pred["masks"] = paste_masks_in_image(pred["masks"], pred["boxes"], o_im_s)
            if "keypoints" in pred:
                pred["keypoints"] = resize_keypoints(pred["keypoints"], im_s, o_im_s)
        return result

    def __repr__(self) -> str:
        indent = "\n    "
        return (f"{self.__class__.__name__}("
                f"{indent}Normalize(mean={self.image_mean}, std={self.image_std})"
                f"{indent}Resize(min_size={self.min_size}, max_size={self.max_size}, "
                "mode='bilinear')\n)")


def _ratios(new_size, original_size, device):
    # float32 tensors divided, as torchvision does, so rescaled coordinates round alike
    return [ember.tensor(s, dtype=ember.float32, device=device)
            / ember.tensor(s_orig, dtype=ember.float32, device=device)
            for s, s_orig in zip(new_size, original_size)]


def resize_keypoints(keypoints, original_size, new_size):
    ratio_h, ratio_w = _ratios(new_size, original_size, keypoints.device)
    resized = keypoints.clone()
    resized[..., 0] *= ratio_w
    resized[..., 1] *= ratio_h
    return resized


def resize_boxes(boxes, original_size, new_size):
    ratio_h, ratio_w = _ratios(new_size, original_size, boxes.device)
    xmin, ymin, xmax, ymax = boxes.unbind(1)
    return ember.stack((xmin * ratio_w, ymin * ratio_h, xmax * ratio_w, ymax * ratio_h), dim=1)
