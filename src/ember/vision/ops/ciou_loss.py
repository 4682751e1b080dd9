"""torchvision.ops.ciou_loss's import path; the loss lives in ``losses.py``."""

from .losses import complete_box_iou_loss

__all__ = ["complete_box_iou_loss"]
