"""The VideoClassification inference preset and the Kinetics-400 weights entries shared by
the video classifiers."""

from __future__ import annotations

from functools import partial

import ember
from ember import nn

_KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
_KINETICS_STD = (0.22803, 0.22145, 0.216989)


class VideoClassification(nn.Module):
    """torchvision's video preset: frames (..., T, C, H, W) are resized (no antialias, as
    the weights were trained), center-cropped, scaled to [0, 1], normalized, and returned
    channels-first as (..., C, T, H, W)."""

    def __init__(self, *, crop_size, resize_size, mean=_KINETICS_MEAN, std=_KINETICS_STD,
                 interpolation=None) -> None:
        from ember.vision.transforms.functional import InterpolationMode

        super().__init__()
        self.crop_size = list(crop_size)
        self.resize_size = list(resize_size)
        self.mean = list(mean)
        self.std = list(std)
        self.interpolation = interpolation or InterpolationMode.BILINEAR

    def forward(self, vid):
        from ember.vision.transforms import functional as TF

        need_squeeze = vid.dim() < 5
        if need_squeeze:
            vid = vid.unsqueeze(0)
        n, t, c, h, w = vid.shape
        vid = vid.reshape(-1, c, h, w)
        vid = TF.resize(vid, self.resize_size, interpolation=self.interpolation,
                        antialias=False)
        vid = TF.center_crop(vid, self.crop_size)
        vid = TF.convert_image_dtype(vid, ember.float)
        vid = TF.normalize(vid, mean=self.mean, std=self.std)
        crop_h, crop_w = self.crop_size
        vid = vid.reshape(n, t, c, crop_h, crop_w).permute(0, 2, 1, 3, 4)
        return vid.squeeze(0) if need_squeeze else vid

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(\n    crop_size={self.crop_size}\n"
                f"    resize_size={self.resize_size}\n    mean={self.mean}\n"
                f"    std={self.std}\n    interpolation={self.interpolation}\n)")


def kinetics_weights(url: str, num_params: int, acc1: float, acc5: float, ops: float,
                     file_size: float, *, crop=(112, 112), resize=(128, 171), recipe: str = "",
                     min_size=(1, 1), **extra):
    """A Weights entry for a Kinetics-400 classifier (400 classes; the class names are not
    bundled, ``num_classes`` carries the count)."""
    from .._api import Weights

    preset = {k: extra.pop(k) for k in ("mean", "std") if k in extra}
    meta = {"min_size": min_size, "num_classes": 400, "num_params": num_params,
            "recipe": recipe or
            "https://github.com/pytorch/vision/tree/main/references/video_classification",
            "_metrics": {"Kinetics-400": {"acc@1": acc1, "acc@5": acc5}},
            "_ops": ops, "_file_size": file_size, **extra}
    return Weights(url=url, transforms=partial(VideoClassification, crop_size=crop,
                                               resize_size=resize, **preset), meta=meta)

