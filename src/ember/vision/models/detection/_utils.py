"""Shared detection machinery: box encoding, gt matching, balanced sampling, box losses.

Written after torchvision.models.detection._utils, with its names and arguments, so
code that builds custom heads from these pieces carries over.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import ember
import ember.nn.functional as F
from ember import nn
from ember.vision.ops import (
    FrozenBatchNorm2d,
    complete_box_iou_loss,
    distance_box_iou_loss,
    generalized_box_iou_loss,
)


class BalancedPositiveNegativeSampler:
    """Picks up to ``batch_size_per_image`` elements per image, at most
    ``positive_fraction`` of them positive, at random: the RPN and box head see a fixed
    mix of foreground and background instead of the ~99% background they would see."""

    def __init__(self, batch_size_per_image: int, positive_fraction: float) -> None:
        self.batch_size_per_image = batch_size_per_image
        self.positive_fraction = positive_fraction

    def __call__(self, matched_idxs):
        """``matched_idxs``: per image, -1 (ignore), 0 (negative) or >= 1 (positive).
        Returns two lists of uint8 masks per image: the positives and negatives picked."""
        pos_masks, neg_masks = [], []
        for matched in matched_idxs:
            positive = ember.where(matched >= 1)[0]
            negative = ember.where(matched == 0)[0]
            num_pos = min(positive.numel(), int(self.batch_size_per_image * self.positive_fraction))
            num_neg = min(negative.numel(), self.batch_size_per_image - num_pos)
            pos_pick = positive[ember.randperm(positive.numel(), device=positive.device)[:num_pos]]
            neg_pick = negative[ember.randperm(negative.numel(), device=negative.device)[:num_neg]]
            pos_mask = ember.zeros_like(matched, dtype=ember.uint8)
            neg_mask = ember.zeros_like(matched, dtype=ember.uint8)
            pos_mask[pos_pick] = 1
            neg_mask[neg_pick] = 1
            pos_masks.append(pos_mask)
            neg_masks.append(neg_mask)
        return pos_masks, neg_masks


def encode_boxes(reference_boxes, proposals, weights):
    """Regression targets (dx, dy, dw, dh) that move ``proposals`` onto
    ``reference_boxes``, scaled by ``weights`` (a 4-element tensor)."""
    wx, wy, ww, wh = weights[0], weights[1], weights[2], weights[3]
    px1, py1, px2, py2 = (proposals[:, i].unsqueeze(1) for i in range(4))
    gx1, gy1, gx2, gy2 = (reference_boxes[:, i].unsqueeze(1) for i in range(4))
    ex_w, ex_h = px2 - px1, py2 - py1
    ex_x, ex_y = px1 + 0.5 * ex_w, py1 + 0.5 * ex_h
    gt_w, gt_h = gx2 - gx1, gy2 - gy1
    gt_x, gt_y = gx1 + 0.5 * gt_w, gy1 + 0.5 * gt_h
    return ember.cat((wx * (gt_x - ex_x) / ex_w, wy * (gt_y - ex_y) / ex_h,
                      ww * ember.log(gt_w / ex_w), wh * ember.log(gt_h / ex_h)), dim=1)


class BoxCoder:
    """Encodes boxes as offsets from reference boxes and back (Faster R-CNN's
    parameterisation). ``bbox_xform_clip`` caps dw/dh so exp() cannot overflow."""

    def __init__(self, weights: tuple[float, float, float, float],
                 bbox_xform_clip: float = math.log(1000.0 / 16)) -> None:
        self.weights = weights
        self.bbox_xform_clip = bbox_xform_clip

    def encode(self, reference_boxes, proposals):
        boxes_per_image = [len(b) for b in reference_boxes]
        targets = self.encode_single(ember.cat(reference_boxes, dim=0), ember.cat(proposals, dim=0))
        return targets.split(boxes_per_image, 0)

    def encode_single(self, reference_boxes, proposals):
        weights = ember.as_tensor(self.weights, dtype=reference_boxes.dtype,
                                  device=reference_boxes.device)
        return encode_boxes(reference_boxes, proposals, weights)

    def decode(self, rel_codes, boxes):
        """Decodes per-image ``boxes`` (a list) with ``rel_codes``; returns [sum, K, 4]."""
        if not isinstance(boxes, (list, tuple)):
            raise AssertionError("This function expects boxes of type list or tuple.")  # noqa: TRY004
        if not isinstance(rel_codes, ember.Tensor):
            raise AssertionError(  # noqa: TRY004 - torchvision asserts
                "This function expects rel_codes of type torch.Tensor.")
        box_sum = sum(b.size(0) for b in boxes)
        if box_sum > 0:
            rel_codes = rel_codes.reshape(box_sum, -1)
        pred_boxes = self.decode_single(rel_codes, ember.cat(boxes, dim=0))
        if box_sum > 0:
            pred_boxes = pred_boxes.reshape(box_sum, -1, 4)
        return pred_boxes

    def decode_single(self, rel_codes, boxes):
        """Applies ``rel_codes`` [N, 4K] to reference ``boxes`` [N, 4]; returns [N, 4K]."""
        boxes = boxes.to(rel_codes.dtype)
        widths = boxes[:, 2] - boxes[:, 0]
        heights = boxes[:, 3] - boxes[:, 1]
        ctr_x = boxes[:, 0] + 0.5 * widths
        ctr_y = boxes[:, 1] + 0.5 * heights
        wx, wy, ww, wh = self.weights
        dx = rel_codes[:, 0::4] / wx
        dy = rel_codes[:, 1::4] / wy
        dw = ember.clamp(rel_codes[:, 2::4] / ww, max=self.bbox_xform_clip)
        dh = ember.clamp(rel_codes[:, 3::4] / wh, max=self.bbox_xform_clip)
        pred_x = dx * widths[:, None] + ctr_x[:, None]
        pred_y = dy * heights[:, None] + ctr_y[:, None]
        half_w = 0.5 * (ember.exp(dw) * widths[:, None])
        half_h = 0.5 * (ember.exp(dh) * heights[:, None])
        return ember.stack((pred_x - half_w, pred_y - half_h, pred_x + half_w, pred_y + half_h),
                           dim=2).flatten(1)


class BoxLinearCoder:
    """FCOS's coding: distances from the reference box centre to the four target edges,
    optionally divided by the reference box's size."""

    def __init__(self, normalize_by_size: bool = True) -> None:
        self.normalize_by_size = normalize_by_size

    def encode(self, reference_boxes, proposals):
        ctr_x = 0.5 * (reference_boxes[..., 0] + reference_boxes[..., 2])
        ctr_y = 0.5 * (reference_boxes[..., 1] + reference_boxes[..., 3])
        targets = ember.stack((ctr_x - proposals[..., 0], ctr_y - proposals[..., 1],
                               proposals[..., 2] - ctr_x, proposals[..., 3] - ctr_y), dim=-1)
        if self.normalize_by_size:
            targets = targets / _wh_wh(reference_boxes)
        return targets

    def decode(self, rel_codes, boxes):
        boxes = boxes.to(dtype=rel_codes.dtype)
        ctr_x = 0.5 * (boxes[..., 0] + boxes[..., 2])
        ctr_y = 0.5 * (boxes[..., 1] + boxes[..., 3])
        if self.normalize_by_size:
            rel_codes = rel_codes * _wh_wh(boxes)
        return ember.stack((ctr_x - rel_codes[..., 0], ctr_y - rel_codes[..., 1],
                            ctr_x + rel_codes[..., 2], ctr_y + rel_codes[..., 3]), dim=-1)


def _wh_wh(boxes):
    w = boxes[..., 2] - boxes[..., 0]
    h = boxes[..., 3] - boxes[..., 1]
    return ember.stack((w, h, w, h), dim=-1)


class Matcher:
    """Assigns each prediction (column of an M x N quality matrix) the ground truth it
    overlaps most, or BELOW_LOW_THRESHOLD (-1) / BETWEEN_THRESHOLDS (-2) when that best
    quality is under ``low_threshold`` / between the thresholds.

    With ``allow_low_quality_matches`` every ground truth keeps its best predictions even
    below the thresholds, so no object goes without a positive anchor.
    """

    BELOW_LOW_THRESHOLD = -1
    BETWEEN_THRESHOLDS = -2

    def __init__(self, high_threshold: float, low_threshold: float,
                 allow_low_quality_matches: bool = False) -> None:
        if not low_threshold <= high_threshold:
            raise AssertionError("low_threshold should be <= high_threshold")
        self.high_threshold = high_threshold
        self.low_threshold = low_threshold
        self.allow_low_quality_matches = allow_low_quality_matches

    def __call__(self, match_quality_matrix):
        if match_quality_matrix.numel() == 0:
            if match_quality_matrix.shape[0] == 0:
                raise ValueError("No ground-truth boxes available for one of the images "
                                 "during training")
            raise ValueError("No proposal boxes available for one of the images during training")
        matched_vals, matches = match_quality_matrix.max(dim=0)
        all_matches = matches.clone() if self.allow_low_quality_matches else None
        below = matched_vals < self.low_threshold
        between = (matched_vals >= self.low_threshold) & (matched_vals < self.high_threshold)
        matches[below] = self.BELOW_LOW_THRESHOLD
        matches[between] = self.BETWEEN_THRESHOLDS
        if self.allow_low_quality_matches:
            self.set_low_quality_matches_(matches, all_matches, match_quality_matrix)
        return matches

    def set_low_quality_matches_(self, matches, all_matches, match_quality_matrix) -> None:
        """Re-matches the predictions that tie for each ground truth's best quality."""
        best_per_gt = match_quality_matrix.max(dim=1)[0]
        pred_inds = ember.where(match_quality_matrix == best_per_gt[:, None])[1]
        matches[pred_inds] = all_matches[pred_inds]


class SSDMatcher(Matcher):
    """SSD's rule: one threshold, and each ground truth claims its best default box."""

    def __init__(self, threshold: float) -> None:
        super().__init__(threshold, threshold, allow_low_quality_matches=False)

    def __call__(self, match_quality_matrix):
        matches = super().__call__(match_quality_matrix)
        best_pred_per_gt = match_quality_matrix.max(dim=1)[1]
        matches[best_pred_per_gt] = ember.arange(best_pred_per_gt.size(0), dtype=ember.int64,
                                                 device=best_pred_per_gt.device)
        return matches


def overwrite_eps(model: nn.Module, eps: float) -> None:
    """Sets every FrozenBatchNorm2d's eps: the original checkpoints were trained with
    eps=0 (before torchvision's fix), so loading them needs eps=0.0 to reproduce them."""
    for module in model.modules():
        if isinstance(module, FrozenBatchNorm2d):
            module.eps = eps


def retrieve_out_channels(model: nn.Module, size: tuple[int, int]) -> list[int]:
    """Channel counts of a backbone's outputs, found by running a zero image of ``size``
    (w, h) through it in eval mode."""
    was_training = model.training
    model.eval()
    with ember.no_grad():
        device = next(model.parameters()).device
        features = model(ember.zeros((1, 3, size[1], size[0]), device=device))
        if isinstance(features, ember.Tensor):
            features = OrderedDict([("0", features)])
        out_channels = [x.size(1) for x in features.values()]
    if was_training:
        model.train()
    return out_channels


def _topk_min(input, orig_kval: int, axis: int) -> int:
    return min(orig_kval, input.size(axis))


def _box_loss(type: str, box_coder: BoxCoder, anchors_per_image, matched_gt_boxes_per_image,
              bbox_regression_per_image, cnf: dict | None = None):
    """Summed box regression loss of one image: l1 / smooth_l1 on encoded offsets, or an
    IoU-family loss on decoded boxes."""
    if type not in ("l1", "smooth_l1", "ciou", "diou", "giou"):
        raise AssertionError(f"Unsupported loss: {type}")
    cnf = cnf or {}
    if type in ("l1", "smooth_l1"):
        target = box_coder.encode_single(matched_gt_boxes_per_image, anchors_per_image)
        if type == "l1":
            return F.l1_loss(bbox_regression_per_image, target, reduction="sum")
        return F.smooth_l1_loss(bbox_regression_per_image, target, reduction="sum",
                                beta=cnf.get("beta", 1.0))
    boxes = box_coder.decode_single(bbox_regression_per_image, anchors_per_image)
    loss_fn = {"ciou": complete_box_iou_loss, "diou": distance_box_iou_loss,
               "giou": generalized_box_iou_loss}[type]
    return loss_fn(boxes, matched_gt_boxes_per_image, reduction="sum", eps=cnf.get("eps", 1e-7))
