"""RoI max pooling (Fast R-CNN) and position-sensitive RoI average pooling (R-FCN).

Boxes are rounded to whole feature-map pixels and split into integer bins; see
``_roi.py``. Gradients flow to ``input`` (to each bin's maximum for ``roi_pool``).
"""

from __future__ import annotations

from ember import nn

from ._roi import _pair, pool_windows, rois_tensor
from .roi_align import _check_ps_channels

__all__ = ["PSRoIPool", "RoIPool", "ps_roi_pool", "roi_pool"]


def roi_pool(input, boxes, output_size, spatial_scale: float = 1.0):
    """Max of each bin of each box (boxes given as in :func:`roi_align`); empty bins are 0.

    Returns:
        Tensor[K, C, output_size[0], output_size[1]].
    """
    rois = rois_tensor(input, boxes, "roi_pool")
    pooled_h, pooled_w = _pair(output_size)
    return pool_windows(input, rois, pooled_h, pooled_w, spatial_scale,
                        position_sensitive=False)


def ps_roi_pool(input, boxes, output_size, spatial_scale: float = 1.0):
    """Position-sensitive RoI pooling: bin ``(i, j)`` of output channel ``c`` is the mean
    of its window in input channel ``(c * PH + i) * PW + j``.

    Returns:
        Tensor[K, C / (PH * PW), PH, PW].
    """
    rois = rois_tensor(input, boxes, "ps_roi_pool")
    pooled_h, pooled_w = _pair(output_size)
    _check_ps_channels(input, pooled_h, pooled_w)
    return pool_windows(input, rois, pooled_h, pooled_w, spatial_scale,
                        position_sensitive=True)


class RoIPool(nn.Module):
    """See :func:`roi_pool`."""

    def __init__(self, output_size, spatial_scale: float) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input, rois):
        return roi_pool(input, rois, self.output_size, self.spatial_scale)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(output_size={self.output_size}, "
                f"spatial_scale={self.spatial_scale})")


class PSRoIPool(nn.Module):
    """See :func:`ps_roi_pool`."""

    def __init__(self, output_size: int, spatial_scale: float) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input, rois):
        return ps_roi_pool(input, rois, self.output_size, self.spatial_scale)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(output_size={self.output_size}, "
                f"spatial_scale={self.spatial_scale})")
