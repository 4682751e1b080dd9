"""RoI Align (Mask R-CNN) and its position-sensitive variant (R-FCN), with their modules.

Both average bilinear samples taken on a regular grid inside each output bin; see
``_roi.py`` for how the samples are gathered. Gradients flow to ``input`` (boxes are
treated as constants, as torchvision's kernels do).
"""

from __future__ import annotations

from ember import nn

from ._roi import _pair, bilinear_pool, rois_tensor

__all__ = ["PSRoIAlign", "RoIAlign", "ps_roi_align", "roi_align"]


def roi_align(input, boxes, output_size, spatial_scale: float = 1.0,
              sampling_ratio: int = -1, aligned: bool = False):
    """Region of Interest Align: bilinearly sampled average pooling of each box.

    Args:
        input (Tensor[N, C, H, W]): feature maps.
        boxes (Tensor[K, 5] or list of Tensor[L, 4]): ``(x1, y1, x2, y2)`` boxes; as one
            tensor its first column is the image index, as a list entry i is image i.
        output_size (int or (height, width)): bins per box.
        spatial_scale (float): maps box coordinates to feature-map coordinates.
        sampling_ratio (int): sample points per bin axis; <= 0 adapts
            (``ceil(roi_size / output_size)`` per box).
        aligned (bool): shift boxes by -0.5 pixel (Detectron2's convention); when False
            boxes are at least 1x1.

    Returns:
        Tensor[K, C, output_size[0], output_size[1]].
    """
    rois = rois_tensor(input, boxes, "roi_align")
    pooled_h, pooled_w = _pair(output_size)
    return bilinear_pool(input, rois, pooled_h, pooled_w, spatial_scale, sampling_ratio,
                         offset=0.5 if aligned else 0.0, clamp_extent=not aligned,
                         position_sensitive=False)


def ps_roi_align(input, boxes, output_size, spatial_scale: float = 1.0,
                 sampling_ratio: int = -1):
    """Position-sensitive RoI Align: bin ``(i, j)`` of output channel ``c`` averages
    bilinear samples of input channel ``(c * PH + i) * PW + j`` (boxes shifted by -0.5).

    Returns:
        Tensor[K, C / (PH * PW), PH, PW].
    """
    rois = rois_tensor(input, boxes, "ps_roi_align")
    pooled_h, pooled_w = _pair(output_size)
    _check_ps_channels(input, pooled_h, pooled_w)
    return bilinear_pool(input, rois, pooled_h, pooled_w, spatial_scale, sampling_ratio,
                         offset=0.5, clamp_extent=False, position_sensitive=True)


def _check_ps_channels(input, pooled_h, pooled_w):
    if input.shape[1] % (pooled_h * pooled_w) != 0:
        raise RuntimeError("input channels must be a multiple of pooling height * pooling width")


class RoIAlign(nn.Module):
    """See :func:`roi_align`."""

    def __init__(self, output_size, spatial_scale: float, sampling_ratio: int,
                 aligned: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned

    def forward(self, input, rois):
        return roi_align(input, rois, self.output_size, self.spatial_scale,
                         self.sampling_ratio, self.aligned)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(output_size={self.output_size}, "
                f"spatial_scale={self.spatial_scale}, sampling_ratio={self.sampling_ratio}, "
                f"aligned={self.aligned})")


class PSRoIAlign(nn.Module):
    """See :func:`ps_roi_align`."""

    def __init__(self, output_size, spatial_scale: float, sampling_ratio: int) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio

    def forward(self, input, rois):
        return ps_roi_align(input, rois, self.output_size, self.spatial_scale,
                            self.sampling_ratio)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(output_size={self.output_size}, "
                f"spatial_scale={self.spatial_scale}, sampling_ratio={self.sampling_ratio})")
