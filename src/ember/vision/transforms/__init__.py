"""``ember.vision.transforms``: torchvision.transforms (v1) on PIL images and tensors."""

from __future__ import annotations

from . import functional
from .autoaugment import AutoAugment, AutoAugmentPolicy, RandAugment, TrivialAugmentWide
from .transforms import *  # noqa: F403
from .transforms import __all__ as _transform_names

__all__ = ["functional", "AutoAugment", "AutoAugmentPolicy", "RandAugment",
           "TrivialAugmentWide", *_transform_names]
