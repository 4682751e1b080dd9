"""Sampling helpers of the flow models and the OpticalFlow inference preset."""

from __future__ import annotations

import ember
import ember.nn.functional as F
from ember import nn


def grid_sample(img, absolute_grid, mode: str = "bilinear", align_corners: bool | None = None):
    """``F.grid_sample`` with pixel coordinates (x, y) in the last axis of
    ``absolute_grid`` instead of [-1, 1] ones (y is left alone for one-row images)."""
    h, w = img.shape[-2:]
    xgrid, ygrid = absolute_grid.split([1, 1], dim=-1)
    xgrid = 2 * xgrid / (w - 1) - 1
    if h > 1:
        ygrid = 2 * ygrid / (h - 1) - 1
    return F.grid_sample(img, ember.cat([xgrid, ygrid], dim=-1), mode=mode,
                         align_corners=align_corners)


def make_coords_grid(batch_size: int, h: int, w: int, device="cpu"):
    """(batch, 2, h, w) float pixel coordinates, channel 0 = x (column), 1 = y (row)."""
    device = ember.device(device)
    rows, cols = ember.meshgrid(ember.arange(h, device=device), ember.arange(w, device=device),
                                indexing="ij")
    coords = ember.stack([cols, rows], dim=0).float()
    return coords[None].repeat(batch_size, 1, 1, 1)


def upsample_flow(flow, up_mask=None, factor: int = 8):
    """Flow at 1/``factor`` resolution -> full resolution, scaled by ``factor``.

    Without ``up_mask``: bilinear (align_corners=True). With it (B, 9*factor^2, h, w):
    each fine pixel is a convex combination (softmax over 9) of the 3x3 coarse
    neighbourhood, as in RAFT's appendix B.
    """
    batch_size, num_channels, h, w = flow.shape
    new_h, new_w = h * factor, w * factor
    if up_mask is None:
        return factor * F.interpolate(flow, size=(new_h, new_w), mode="bilinear",
                                      align_corners=True)
    up_mask = ember.softmax(up_mask.view(batch_size, 1, 9, factor, factor, h, w), dim=2)
    neighbours = F.unfold(factor * flow, kernel_size=3, padding=1)
    neighbours = neighbours.view(batch_size, num_channels, 9, 1, 1, h, w)
    upsampled = ember.sum(up_mask * neighbours, dim=2)
    return upsampled.permute(0, 1, 4, 2, 5, 3).reshape(batch_size, num_channels, new_h, new_w)


class OpticalFlow(nn.Module):
    """torchvision's flow preset: both images to float in [0, 1], then mapped to [-1, 1]
    (normalize with mean 0.5, std 0.5), contiguous. Takes PIL images or tensors."""

    def forward(self, img1, img2):
        from ember.vision.transforms import functional as TF

        images = []
        for img in (img1, img2):
            if not isinstance(img, ember.Tensor):
                img = TF.pil_to_tensor(img)
            img = TF.convert_image_dtype(img, ember.float)
            img = TF.normalize(img, mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
            images.append(img.contiguous())
        return images[0], images[1]

    def __repr__(self) -> str:
        return self.__class__.__name__ + "()"
