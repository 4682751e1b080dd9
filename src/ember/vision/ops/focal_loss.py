"""torchvision.ops.focal_loss's import path; the loss lives in ``losses.py``."""

from .losses import sigmoid_focal_loss

__all__ = ["sigmoid_focal_loss"]
