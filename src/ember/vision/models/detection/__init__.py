"""ember.vision.models.detection: torchvision's object detection models.

Faster R-CNN, Mask R-CNN, Keypoint R-CNN, RetinaNet, FCOS, SSD and SSDlite with their
building blocks, under torchvision's module names, so state_dict keys and checkpoints
are interchangeable.
"""

from .faster_rcnn import *
from .faster_rcnn import __all__ as _faster_all
from .fcos import *
from .fcos import __all__ as _fcos_all
from .keypoint_rcnn import *
from .keypoint_rcnn import __all__ as _keypoint_all
from .mask_rcnn import *
from .mask_rcnn import __all__ as _mask_all
from .retinanet import *
from .retinanet import __all__ as _retinanet_all
from .ssd import *
from .ssd import __all__ as _ssd_all
from .ssdlite import *
from .ssdlite import __all__ as _ssdlite_all

__all__ = [*_faster_all, *_mask_all, *_keypoint_all,  # noqa: PLE0604
           *_retinanet_all, *_fcos_all, *_ssd_all, *_ssdlite_all]
