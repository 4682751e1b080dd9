"""torchvision.ops.diou_loss's import path; the loss lives in ``losses.py``."""

from .losses import distance_box_iou_loss

__all__ = ["distance_box_iou_loss"]
