"""MultiScaleRoIAlign: RoI Align over an FPN, each box read from the level its size picks
(Eq. 1 of the FPN paper)."""

from __future__ import annotations

import math

import ember
from ember import nn

from .boxes import box_area
from .roi_align import roi_align

__all__ = ["LevelMapper", "MultiScaleRoIAlign", "initLevelMapper"]


class LevelMapper:
    """Maps boxes to pyramid levels: ``floor(lvl0 + log2(sqrt(area) / s0) + eps)`` clamped
    to ``[k_min, k_max]``, returned relative to ``k_min``."""

    def __init__(self, k_min: int, k_max: int, canonical_scale: int = 224,
                 canonical_level: int = 4, eps: float = 1e-6) -> None:
        self.k_min = k_min
        self.k_max = k_max
        self.s0 = canonical_scale
        self.lvl0 = canonical_level
        self.eps = eps

    def __call__(self, boxlists):
        s = ember.sqrt(ember.cat([box_area(boxlist) for boxlist in boxlists]))
        target_lvls = ember.floor(self.lvl0 + ember.log2(s / self.s0)
                                  + ember.tensor(self.eps, dtype=s.dtype, device=s.device))
        target_lvls = ember.clamp(target_lvls, min=self.k_min, max=self.k_max)
        return (target_lvls.to(ember.int64) - self.k_min).to(ember.int64)


def initLevelMapper(k_min: int, k_max: int, canonical_scale: int = 224,
                    canonical_level: int = 4, eps: float = 1e-6) -> LevelMapper:
    return LevelMapper(k_min, k_max, canonical_scale, canonical_level, eps)


def _convert_to_roi_format(boxes):
    concat_boxes = ember.cat(boxes, dim=0)
    ids = ember.cat([ember.full_like(b[:, :1], i) for i, b in enumerate(boxes)], dim=0)
    return ember.cat([ids, concat_boxes], dim=1)


def _infer_scale(feature, original_size) -> float:
    """The power of two closest to feature size / image size (first axis decides)."""
    scales = []
    for s1, s2 in zip(feature.shape[-2:], original_size):
        approx_scale = float(s1) / float(s2)
        scales.append(2 ** float(ember.tensor(approx_scale).log2().round()))
    return scales[0]


def _setup_scales(features, image_shapes, canonical_scale, canonical_level):
    if not image_shapes:
        raise ValueError("images list should not be empty")
    max_x = max(shape[0] for shape in image_shapes)
    max_y = max(shape[1] for shape in image_shapes)
    scales = [_infer_scale(feat, (max_x, max_y)) for feat in features]
    lvl_min = -math.log2(scales[0])
    lvl_max = -math.log2(scales[-1])
    mapper = initLevelMapper(int(lvl_min), int(lvl_max), canonical_scale=canonical_scale,
                             canonical_level=canonical_level)
    return scales, mapper


class MultiScaleRoIAlign(nn.Module):
    """RoI Align over the feature maps named ``featmap_names`` of an FPN output dict.

    ``forward(x, boxes, image_shapes)``: ``x`` the feature dict, ``boxes`` a list of
    Tensor[L, 4] per image, ``image_shapes`` the (h, w) of each image (the scales of the
    levels are inferred from them on the first call).

    Returns:
        Tensor[K, C, output_size[0], output_size[1]] in the order of the boxes.
    """

    def __init__(self, featmap_names: list[str], output_size, sampling_ratio: int, *,
                 canonical_scale: int = 224, canonical_level: int = 4) -> None:
        super().__init__()
        if isinstance(output_size, int):
            output_size = (output_size, output_size)
        self.featmap_names = featmap_names
        self.sampling_ratio = sampling_ratio
        self.output_size = tuple(output_size)
        self.scales = None
        self.map_levels = None
        self.canonical_scale = canonical_scale
        self.canonical_level = canonical_level

    def forward(self, x, boxes, image_shapes):
        x_filtered = [v for k, v in x.items() if k in self.featmap_names]
        if self.scales is None or self.map_levels is None:
            self.scales, self.map_levels = _setup_scales(
                x_filtered, image_shapes, self.canonical_scale, self.canonical_level)
        rois = _convert_to_roi_format(boxes)
        if len(x_filtered) == 1:
            return roi_align(x_filtered[0], rois, output_size=self.output_size,
                             spatial_scale=self.scales[0], sampling_ratio=self.sampling_ratio)
        levels = self.map_levels(boxes)
        first = x_filtered[0]
        pieces, positions = [], []
        for level, (feature, scale) in enumerate(zip(x_filtered, self.scales)):
            idx_in_level = ember.where(levels == level)[0]
            pieces.append(roi_align(feature, rois[idx_in_level], output_size=self.output_size,
                                    spatial_scale=scale, sampling_ratio=self.sampling_ratio
                                    ).to(first.dtype))
            positions.append(idx_in_level)
        # Put each level's rows back at its boxes' positions (a permutation of 0..K-1).
        order = ember.argsort(ember.cat(positions))
        return ember.cat(pieces)[order]

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(featmap_names={self.featmap_names}, "
                f"output_size={self.output_size}, sampling_ratio={self.sampling_ratio})")
