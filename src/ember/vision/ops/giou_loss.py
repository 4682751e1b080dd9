"""torchvision.ops.giou_loss's import path; the loss lives in ``losses.py``."""

from .losses import generalized_box_iou_loss

__all__ = ["generalized_box_iou_loss"]
