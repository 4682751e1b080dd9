"""torchvision.ops.ps_roi_pool's import path; the op lives in ``roi_pool.py``."""

from .roi_pool import PSRoIPool, ps_roi_pool

__all__ = ["PSRoIPool", "ps_roi_pool"]
