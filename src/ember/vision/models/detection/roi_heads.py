"""RoIHeads: the second stage of R-CNN models (box classification and refinement, and
the optional mask and keypoint branches), with their losses and post-processing."""

from __future__ import annotations

import ember
import ember.nn.functional as F
from ember import nn
from ember.vision.ops import boxes as box_ops
from ember.vision.ops import roi_align

from . import _utils as det_utils


def fastrcnn_loss(class_logits, box_regression, labels, regression_targets):
    """Cross-entropy over classes plus smooth-L1 (beta 1/9) on the deltas of each
    positive sample's ground-truth class, divided by the number of samples."""
    labels = ember.cat(labels, dim=0)
    regression_targets = ember.cat(regression_targets, dim=0)
    classification_loss = F.cross_entropy(class_logits, labels)
    pos = ember.where(labels > 0)[0]
    labels_pos = labels[pos]
    N = class_logits.shape[0]
    box_regression = box_regression.reshape(N, box_regression.size(-1) // 4, 4)
    box_loss = F.smooth_l1_loss(box_regression[pos, labels_pos], regression_targets[pos],
                                beta=1 / 9, reduction="sum")
    return classification_loss, box_loss / labels.numel()


def maskrcnn_inference(x, labels):
    """Mask probabilities of each detection's predicted class: per image [K, 1, M, M]."""
    mask_prob = x.sigmoid()
    boxes_per_image = [label.shape[0] for label in labels]
    labels = ember.cat(labels)
    index = ember.arange(x.shape[0], device=labels.device)
    return mask_prob[index, labels][:, None].split(boxes_per_image, dim=0)


def project_masks_on_boxes(gt_masks, boxes, matched_idxs, M: int):
    """Crops each matched ground-truth mask to its proposal and resizes it to M x M
    (with RoIAlign), giving the mask head's targets."""
    matched_idxs = matched_idxs.to(boxes)
    rois = ember.cat([matched_idxs[:, None], boxes], dim=1)
    gt_masks = gt_masks[:, None].to(rois)
    return roi_align(gt_masks, rois, (M, M), 1.0)[:, 0]


def maskrcnn_loss(mask_logits, proposals, gt_masks, gt_labels, mask_matched_idxs):
    """Per-pixel binary cross-entropy of the ground-truth class's mask logits."""
    size = mask_logits.shape[-1]
    labels = ember.cat([gt_label[idxs] for gt_label, idxs in zip(gt_labels, mask_matched_idxs)],
                       dim=0)
    mask_targets = ember.cat([project_masks_on_boxes(m, p, i, size)
                              for m, p, i in zip(gt_masks, proposals, mask_matched_idxs)], dim=0)
    if mask_targets.numel() == 0:
        return mask_logits.sum() * 0
    index = ember.arange(labels.shape[0], device=labels.device)
    return F.binary_cross_entropy_with_logits(mask_logits[index, labels], mask_targets)


def keypoints_to_heatmap(keypoints, rois, heatmap_size: int):
    """Flat heatmap index (y * size + x) of each keypoint inside its RoI, and whether it
    is visible and inside."""
    offset_x = rois[:, 0][:, None]
    offset_y = rois[:, 1][:, None]
    scale_x = (heatmap_size / (rois[:, 2] - rois[:, 0]))[:, None]
    scale_y = (heatmap_size / (rois[:, 3] - rois[:, 1]))[:, None]
    x = keypoints[..., 0]
    y = keypoints[..., 1]
    x_boundary = x == rois[:, 2][:, None]
    y_boundary = y == rois[:, 3][:, None]
    x = ((x - offset_x) * scale_x).floor().long()
    y = ((y - offset_y) * scale_y).floor().long()
    x[x_boundary] = heatmap_size - 1
    y[y_boundary] = heatmap_size - 1
    valid_loc = (x >= 0) & (y >= 0) & (x < heatmap_size) & (y < heatmap_size)
    valid = (valid_loc & (keypoints[..., 2] > 0)).long()
    return (y * heatmap_size + x) * valid, valid


def heatmaps_to_keypoints(maps, rois):
    """Keypoint locations from heatmaps [K, N, H, W]: each map is resized (bicubic) to
    its RoI's size and its argmax taken. Returns [K, N, 3] (x, y, 1) and [K, N] scores."""
    offset_x = rois[:, 0]
    offset_y = rois[:, 1]
    widths = (rois[:, 2] - rois[:, 0]).clamp(min=1)
    heights = (rois[:, 3] - rois[:, 1]).clamp(min=1)
    widths_ceil = widths.ceil()
    heights_ceil = heights.ceil()
    num_keypoints = maps.shape[1]
    xy_preds = ember.zeros((len(rois), 3, num_keypoints), dtype=ember.float32,
                           device=maps.device)
    end_scores = ember.zeros((len(rois), num_keypoints), dtype=ember.float32,
                             device=maps.device)
    for i in range(len(rois)):
        roi_w = int(widths_ceil[i].item())
        roi_h = int(heights_ceil[i].item())
        roi_map = F.interpolate(maps[i][:, None], size=(roi_h, roi_w), mode="bicubic",
                                align_corners=False)[:, 0]
        w = roi_map.shape[2]
        pos = roi_map.reshape(num_keypoints, -1).argmax(dim=1)
        x_int = pos % w
        y_int = ember.div(pos - x_int, w, rounding_mode="floor")
        xy_preds[i, 0, :] = (x_int.float() + 0.5) * (widths[i] / roi_w) + offset_x[i]
        xy_preds[i, 1, :] = (y_int.float() + 0.5) * (heights[i] / roi_h) + offset_y[i]
        xy_preds[i, 2, :] = 1
        end_scores[i, :] = roi_map[ember.arange(num_keypoints, device=roi_map.device),
                                   y_int, x_int]
    return xy_preds.permute(0, 2, 1), end_scores


def keypointrcnn_loss(keypoint_logits, proposals, gt_keypoints, keypoint_matched_idxs):
    """Cross-entropy over each keypoint's heatmap cells, for visible keypoints."""
    N, K, H, W = keypoint_logits.shape
    if H != W:
        raise ValueError("keypoint_logits height and width (last two elements of shape) should "
                         f"be equal. Instead got H = {H} and W = {W}")
    heatmaps, valid = [], []
    for props, gt_kp, midx in zip(proposals, gt_keypoints, keypoint_matched_idxs):
        heatmaps_img, valid_img = keypoints_to_heatmap(gt_kp[midx], props, H)
        heatmaps.append(heatmaps_img.view(-1))
        valid.append(valid_img.view(-1))
    keypoint_targets = ember.cat(heatmaps, dim=0)
    valid = ember.where(ember.cat(valid, dim=0).to(dtype=ember.uint8))[0]
    if keypoint_targets.numel() == 0 or len(valid) == 0:
        return keypoint_logits.sum() * 0
    # reshape, not view: ember's bilinear upsampling may hand back a non-contiguous layout
    keypoint_logits = keypoint_logits.reshape(N * K, H * W)
    return F.cross_entropy(keypoint_logits[valid], keypoint_targets[valid])


def keypointrcnn_inference(x, boxes):
    kp_probs, kp_scores = [], []
    for maps, image_boxes in zip(x.split([b.size(0) for b in boxes], dim=0), boxes):
        probs, scores = heatmaps_to_keypoints(maps, image_boxes)
        kp_probs.append(probs)
        kp_scores.append(scores)
    return kp_probs, kp_scores


def expand_boxes(boxes, scale: float):
    """Boxes grown about their centres by ``scale``."""
    w_half = (boxes[:, 2] - boxes[:, 0]) * 0.5 * scale
    h_half = (boxes[:, 3] - boxes[:, 1]) * 0.5 * scale
    x_c = (boxes[:, 2] + boxes[:, 0]) * 0.5
    y_c = (boxes[:, 3] + boxes[:, 1]) * 0.5
    return ember.stack((x_c - w_half, y_c - h_half, x_c + w_half, y_c + h_half), dim=1)


def expand_masks(mask, padding: int):
    """Zero-pads M x M masks by ``padding``; returns them and the implied box scale."""
    M = mask.shape[-1]
    return F.pad(mask, (padding,) * 4), float(M + 2 * padding) / M


def paste_mask_in_image(mask, box, im_h: int, im_w: int):
    """Resizes one mask (bilinear) to its integer box and writes it into an im_h x im_w
    canvas, cropping what falls outside."""
    x0, y0, x1, y1 = (int(v) for v in box.tolist())
    w = max(x1 - x0 + 1, 1)
    h = max(y1 - y0 + 1, 1)
    mask = F.interpolate(mask.expand((1, 1, -1, -1)), size=(h, w), mode="bilinear",
                         align_corners=False)[0][0]
    im_mask = ember.zeros((im_h, im_w), dtype=mask.dtype, device=mask.device)
    left, right = max(x0, 0), min(x1 + 1, im_w)
    top, bottom = max(y0, 0), min(y1 + 1, im_h)
    if right > left and bottom > top:
        im_mask[top:bottom, left:right] = mask[top - y0:bottom - y0, left - x0:right - x0]
    return im_mask


def paste_masks_in_image(masks, boxes, img_shape, padding: int = 1):
    """[K, 1, M, M] mask probabilities -> [K, 1, H, W] image-sized masks. The masks are
    padded by one cell first so interpolation fades to zero at box edges."""
    masks, scale = expand_masks(masks, padding=padding)
    boxes = expand_boxes(boxes, scale).to(dtype=ember.int64)
    im_h, im_w = img_shape
    pasted = [paste_mask_in_image(m[0], b, im_h, im_w) for m, b in zip(masks, boxes)]
    if pasted:
        return ember.stack(pasted, dim=0)[:, None]
    return masks.new_empty((0, 1, im_h, im_w))


class RoIHeads(nn.Module):
    """Box head (RoI pooling, ``box_head``, ``box_predictor``) plus optional mask and
    keypoint branches.

    In training it matches proposals to ground truth (``fg_iou_thresh``/
    ``bg_iou_thresh``), samples ``batch_size_per_image`` of them and returns losses; in
    eval it decodes boxes per class, drops scores <= ``score_thresh``, runs per-class NMS
    and keeps ``detections_per_img``.
    """

    def __init__(self, box_roi_pool, box_head, box_predictor, fg_iou_thresh, bg_iou_thresh,
                 batch_size_per_image, positive_fraction, bbox_reg_weights, score_thresh,
                 nms_thresh, detections_per_img, mask_roi_pool=None, mask_head=None,
                 mask_predictor=None, keypoint_roi_pool=None, keypoint_head=None,
                 keypoint_predictor=None) -> None:
        super().__init__()
        self.box_similarity = box_ops.box_iou
        self.proposal_matcher = det_utils.Matcher(fg_iou_thresh, bg_iou_thresh,
                                                  allow_low_quality_matches=False)
        self.fg_bg_sampler = det_utils.BalancedPositiveNegativeSampler(batch_size_per_image,
                                                                       positive_fraction)
        if bbox_reg_weights is None:
            bbox_reg_weights = (10.0, 10.0, 5.0, 5.0)
        self.box_coder = det_utils.BoxCoder(bbox_reg_weights)
        self.box_roi_pool = box_roi_pool
        self.box_head = box_head
        self.box_predictor = box_predictor
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.mask_roi_pool = mask_roi_pool
        self.mask_head = mask_head
        self.mask_predictor = mask_predictor
        self.keypoint_roi_pool = keypoint_roi_pool
        self.keypoint_head = keypoint_head
        self.keypoint_predictor = keypoint_predictor

    def has_mask(self) -> bool:
        return (self.mask_roi_pool is not None and self.mask_head is not None
                and self.mask_predictor is not None)

    def has_keypoint(self) -> bool:
        return (self.keypoint_roi_pool is not None and self.keypoint_head is not None
                and self.keypoint_predictor is not None)

    def assign_targets_to_proposals(self, proposals, gt_boxes, gt_labels):
        """Per image: the matched gt index of each proposal (clamped at 0) and its class
        label (0 background, -1 ignored)."""
        matched_idxs, labels = [], []
        for props, boxes, gt_lab in zip(proposals, gt_boxes, gt_labels):
            if boxes.numel() == 0:
                n = props.shape[0]
                clamped = ember.zeros((n,), dtype=ember.int64, device=props.device)
                image_labels = ember.zeros((n,), dtype=ember.int64, device=props.device)
            else:
                matched = self.proposal_matcher(box_ops.box_iou(boxes, props))
                clamped = matched.clamp(min=0)
                image_labels = gt_lab[clamped].to(dtype=ember.int64)
                image_labels[matched == self.proposal_matcher.BELOW_LOW_THRESHOLD] = 0
                image_labels[matched == self.proposal_matcher.BETWEEN_THRESHOLDS] = -1
            matched_idxs.append(clamped)
            labels.append(image_labels)
        return matched_idxs, labels

    def subsample(self, labels):
        pos_masks, neg_masks = self.fg_bg_sampler(labels)
        return [ember.where(pos | neg)[0] for pos, neg in zip(pos_masks, neg_masks)]

    def add_gt_proposals(self, proposals, gt_boxes):
        return [ember.cat((p, g)) for p, g in zip(proposals, gt_boxes)]

    def check_targets(self, targets) -> None:
        if targets is None:
            raise ValueError("targets should not be None")
        if not all("boxes" in t for t in targets):
            raise ValueError("Every element of targets should have a boxes key")
        if not all("labels" in t for t in targets):
            raise ValueError("Every element of targets should have a labels key")
        if self.has_mask() and not all("masks" in t for t in targets):
            raise ValueError("Every element of targets should have a masks key")

    def select_training_samples(self, proposals, targets):
        """Adds the gt boxes to the proposals, matches and samples them; returns the
        sampled proposals, their matched gt indices, labels and regression targets."""
        self.check_targets(targets)
        dtype, device = proposals[0].dtype, proposals[0].device
        gt_boxes = [t["boxes"].to(dtype) for t in targets]
        gt_labels = [t["labels"] for t in targets]
        proposals = self.add_gt_proposals(proposals, gt_boxes)
        matched_idxs, labels = self.assign_targets_to_proposals(proposals, gt_boxes, gt_labels)
        sampled_inds = self.subsample(labels)
        matched_gt_boxes = []
        for img_id, inds in enumerate(sampled_inds):
            proposals[img_id] = proposals[img_id][inds]
            labels[img_id] = labels[img_id][inds]
            matched_idxs[img_id] = matched_idxs[img_id][inds]
            boxes = gt_boxes[img_id]
            if boxes.numel() == 0:
                boxes = ember.zeros((1, 4), dtype=dtype, device=device)
            matched_gt_boxes.append(boxes[matched_idxs[img_id]])
        regression_targets = self.box_coder.encode(matched_gt_boxes, proposals)
        return proposals, matched_idxs, labels, regression_targets

    def postprocess_detections(self, class_logits, box_regression, proposals, image_shapes):
        """Per image: class-specific boxes with score > score_thresh after per-class NMS,
        at most detections_per_img, the background class dropped."""
        device = class_logits.device
        num_classes = class_logits.shape[-1]
        boxes_per_image = [p.shape[0] for p in proposals]
        pred_boxes = self.box_coder.decode(box_regression, proposals)
        pred_scores = F.softmax(class_logits, -1)
        all_boxes, all_scores, all_labels = [], [], []
        for boxes, scores, image_shape in zip(pred_boxes.split(boxes_per_image, 0),
                                              pred_scores.split(boxes_per_image, 0),
                                              image_shapes):
            boxes = box_ops.clip_boxes_to_image(boxes, image_shape)
            labels = ember.arange(num_classes, device=device).view(1, -1).expand_as(scores)
            boxes = boxes[:, 1:].reshape(-1, 4)
            scores = scores[:, 1:].reshape(-1)
            labels = labels[:, 1:].reshape(-1)
            inds = ember.where(scores > self.score_thresh)[0]
            boxes, scores, labels = boxes[inds], scores[inds], labels[inds]
            keep = box_ops.remove_small_boxes(boxes, min_size=1e-2)
            boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
            keep = box_ops.batched_nms(boxes, scores, labels, self.nms_thresh)
            keep = keep[:self.detections_per_img]
            all_boxes.append(boxes[keep])
            all_scores.append(scores[keep])
            all_labels.append(labels[keep])
        return all_boxes, all_scores, all_labels

    def _check_target_types(self, targets) -> None:
        for t in targets:
            if t["boxes"].dtype not in (ember.float32, ember.float64, ember.float16):
                raise TypeError(f"target boxes must of float type, instead got {t['boxes'].dtype}")
            if t["labels"].dtype != ember.int64:
                raise TypeError("target labels must of int64 type, instead got "
                                f"{t['labels'].dtype}")
            if self.has_keypoint() and t["keypoints"].dtype != ember.float32:
                raise TypeError("target keypoints must of float type, instead got "
                                f"{t['keypoints'].dtype}")

    def _positive_proposals(self, proposals, matched_idxs, labels):
        pos_props, pos_matched = [], []
        for props, midx, lab in zip(proposals, matched_idxs, labels):
            pos = ember.where(lab > 0)[0]
            pos_props.append(props[pos])
            pos_matched.append(midx[pos])
        return pos_props, pos_matched

    def forward(self, features, proposals, image_shapes, targets=None):
        """Returns (detections per image, losses): detections are dicts with boxes,
        labels, scores (and masks / keypoints, keypoints_scores); in training the list
        is empty and the losses are filled."""
        if targets is not None:
            self._check_target_types(targets)
        labels = regression_targets = matched_idxs = None
        if self.training:
            proposals, matched_idxs, labels, regression_targets = \
                self.select_training_samples(proposals, targets)
        box_features = self.box_head(self.box_roi_pool(features, proposals, image_shapes))
        class_logits, box_regression = self.box_predictor(box_features)
        result, losses = [], {}
        if self.training:
            loss_classifier, loss_box_reg = fastrcnn_loss(class_logits, box_regression, labels,
                                                          regression_targets)
            losses = {"loss_classifier": loss_classifier, "loss_box_reg": loss_box_reg}
        else:
            boxes, scores, det_labels = self.postprocess_detections(
                class_logits, box_regression, proposals, image_shapes)
            result = [{"boxes": b, "labels": lab, "scores": s}
                      for b, s, lab in zip(boxes, scores, det_labels)]

        if self.has_mask():
            if self.training:
                mask_proposals, pos_matched_idxs = self._positive_proposals(
                    proposals, matched_idxs, labels)
            else:
                mask_proposals = [r["boxes"] for r in result]
            mask_features = self.mask_head(self.mask_roi_pool(features, mask_proposals,
                                                              image_shapes))
            mask_logits = self.mask_predictor(mask_features)
            if self.training:
                losses["loss_mask"] = maskrcnn_loss(
                    mask_logits, mask_proposals, [t["masks"] for t in targets],
                    [t["labels"] for t in targets], pos_matched_idxs)
            else:
                probs = maskrcnn_inference(mask_logits, [r["labels"] for r in result])
                for mask_prob, r in zip(probs, result):
                    r["masks"] = mask_prob

        if self.has_keypoint():
            if self.training:
                kp_proposals, pos_matched_idxs = self._positive_proposals(
                    proposals, matched_idxs, labels)
            else:
                kp_proposals = [r["boxes"] for r in result]
            kp_features = self.keypoint_head(self.keypoint_roi_pool(features, kp_proposals,
                                                                    image_shapes))
            kp_logits = self.keypoint_predictor(kp_features)
            if self.training:
                losses["loss_keypoint"] = keypointrcnn_loss(
                    kp_logits, kp_proposals, [t["keypoints"] for t in targets],
                    pos_matched_idxs)
            else:
                kp_probs, kp_scores = keypointrcnn_inference(kp_logits, kp_proposals)
                for prob, score, r in zip(kp_probs, kp_scores, result):
                    r["keypoints"] = prob
                    r["keypoints_scores"] = score
        return result, losses
