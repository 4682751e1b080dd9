"""ember.vision.models.detection: torchvision's object detection models.

Faster R-CNN, Mask R-CNN and Keypoint R-CNN with their building blocks, under
torchvision's module names, so state_dict keys and checkpoints are interchangeable.
"""

from .faster_rcnn import *
from .faster_rcnn import __all__ as _faster_all
from .keypoint_rcnn import *
from .keypoint_rcnn import __all__ as _keypoint_all
from .mask_rcnn import *
from .mask_rcnn import __all__ as _mask_all

__all__ = [*_faster_all, *_mask_all, *_keypoint_all]  # noqa: PLE0604
