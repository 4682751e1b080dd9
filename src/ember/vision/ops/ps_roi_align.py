"""torchvision.ops.ps_roi_align's import path; the op lives in ``roi_align.py``."""

from .roi_align import PSRoIAlign, ps_roi_align

__all__ = ["PSRoIAlign", "ps_roi_align"]
