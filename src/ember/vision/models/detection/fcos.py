"""FCOS (torchvision.models.detection.fcos): anchor-free one-stage detector; each FPN
location regresses distances to the four box edges plus a centerness score."""

from __future__ import annotations

import math
from collections import OrderedDict
from functools import partial

import ember
from ember import nn
from ember.vision.ops import FrozenBatchNorm2d, generalized_box_iou_loss, sigmoid_focal_loss
from ember.vision.ops import boxes as box_ops
from ember.vision.ops.feature_pyramid_network import LastLevelP6P7

from .._api import make_weights_enum, register_model
from ..resnet import ResNet50_Weights, resnet50
from . import _utils as det_utils
from ._meta import coco_weights
from .anchor_utils import AnchorGenerator
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .faster_rcnn import _load, _resolve
from .generalized_rcnn import _check_degenerate
from .retinanet import _check_training_targets, _flatten_levels
from .transform import GeneralizedRCNNTransform

__all__ = ["FCOS", "FCOS_ResNet50_FPN_Weights", "fcos_resnet50_fpn"]


def _tower(in_channels: int, num_convs: int, norm_layer) -> nn.Sequential:
    layers = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, in_channels, kernel_size=3, stride=1, padding=1),
                   norm_layer(in_channels), nn.ReLU()]
    tower = nn.Sequential(*layers)
    for layer in tower.children():
        if isinstance(layer, nn.Conv2d):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.constant_(layer.bias, 0)
    return tower


class FCOSClassificationHead(nn.Module):
    """``num_convs`` conv+GroupNorm+ReLU layers, then per-location class logits."""

    def __init__(self, in_channels: int, num_anchors: int, num_classes: int,
                 num_convs: int = 4, prior_probability: float = 0.01, norm_layer=None) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.num_anchors = num_anchors
        self.conv = _tower(in_channels, num_convs, norm_layer or partial(nn.GroupNorm, 32))
        self.cls_logits = nn.Conv2d(in_channels, num_anchors * num_classes, kernel_size=3,
                                    stride=1, padding=1)
        nn.init.normal_(self.cls_logits.weight, std=0.01)
        nn.init.constant_(self.cls_logits.bias,
                          -math.log((1 - prior_probability) / prior_probability))

    def forward(self, x):
        return ember.cat([_flatten_levels(self.cls_logits(self.conv(f)), self.num_classes)
                          for f in x], dim=1)


class FCOSRegressionHead(nn.Module):
    """``num_convs`` conv+GroupNorm+ReLU layers, then ReLU'd edge distances (4) and a
    centerness logit per location."""

    def __init__(self, in_channels: int, num_anchors: int, num_convs: int = 4,
                 norm_layer=None) -> None:
        super().__init__()
        self.conv = _tower(in_channels, num_convs, norm_layer or partial(nn.GroupNorm, 32))
        self.bbox_reg = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=3, stride=1,
                                  padding=1)
        self.bbox_ctrness = nn.Conv2d(in_channels, num_anchors * 1, kernel_size=3, stride=1,
                                      padding=1)
        for layer in (self.bbox_reg, self.bbox_ctrness):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        regression, ctrness = [], []
        for features in x:
            feature = self.conv(features)
            regression.append(_flatten_levels(nn.functional.relu(self.bbox_reg(feature)), 4))
            ctrness.append(_flatten_levels(self.bbox_ctrness(feature), 1))
        return ember.cat(regression, dim=1), ember.cat(ctrness, dim=1)


class FCOSHead(nn.Module):
    """Classification and regression heads with FCOS's three losses."""

    def __init__(self, in_channels: int, num_anchors: int, num_classes: int,
                 num_convs: int | None = 4) -> None:
        super().__init__()
        self.box_coder = det_utils.BoxLinearCoder(normalize_by_size=True)
        self.classification_head = FCOSClassificationHead(in_channels, num_anchors, num_classes,
                                                          num_convs)
        self.regression_head = FCOSRegressionHead(in_channels, num_anchors, num_convs)

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        """Focal loss on classes, GIoU on foreground boxes, BCE on centerness; each
        divided by the number of foreground locations."""
        cls_logits = head_outputs["cls_logits"]
        gt_classes_all, gt_boxes_all = [], []
        for target, matched in zip(targets, matched_idxs):
            if len(target["labels"]) == 0:
                gt_classes = target["labels"].new_zeros((len(matched),))
                gt_boxes = target["boxes"].new_zeros((len(matched), 4))
            else:
                gt_classes = target["labels"][matched.clip(min=0)]
                gt_boxes = target["boxes"][matched.clip(min=0)]
            gt_classes[matched < 0] = -1  # background
            gt_classes_all.append(gt_classes)
            gt_boxes_all.append(gt_boxes)
        gt_boxes = ember.stack(gt_boxes_all)
        gt_classes = ember.stack(gt_classes_all)
        anchors = ember.stack(anchors)
        foreground = gt_classes >= 0
        num_foreground = foreground.sum().item()
        class_targets = ember.zeros_like(cls_logits)
        class_targets[foreground, gt_classes[foreground]] = 1.0
        loss_cls = sigmoid_focal_loss(cls_logits, class_targets, reduction="sum")
        pred_boxes = self.box_coder.decode(head_outputs["bbox_regression"], anchors)
        loss_bbox_reg = generalized_box_iou_loss(pred_boxes[foreground], gt_boxes[foreground],
                                                 reduction="sum")
        reg_targets = self.box_coder.encode(anchors, gt_boxes)
        if len(reg_targets) == 0:
            ctrness_targets = reg_targets.new_zeros(reg_targets.size()[:-1])
        else:
            left_right = reg_targets[:, :, [0, 2]]
            top_bottom = reg_targets[:, :, [1, 3]]
            ctrness_targets = ember.sqrt(
                (left_right.min(dim=-1)[0] / left_right.max(dim=-1)[0])
                * (top_bottom.min(dim=-1)[0] / top_bottom.max(dim=-1)[0]))
        pred_ctrness = head_outputs["bbox_ctrness"].squeeze(dim=2)
        loss_ctrness = nn.functional.binary_cross_entropy_with_logits(
            pred_ctrness[foreground], ctrness_targets[foreground], reduction="sum")
        n = max(1, num_foreground)
        return {"classification": loss_cls / n, "bbox_regression": loss_bbox_reg / n,
                "bbox_ctrness": loss_ctrness / n}

    def forward(self, x):
        bbox_regression, bbox_ctrness = self.regression_head(x)
        return {"cls_logits": self.classification_head(x), "bbox_regression": bbox_regression,
                "bbox_ctrness": bbox_ctrness}


class FCOS(nn.Module):
    """FCOS (Tian et al., 2019): one "anchor" per location, of the level's stride,
    only to define the location and its scale range.

    Training returns ``classification``, ``bbox_regression`` and ``bbox_ctrness``
    losses; eval returns per image ``boxes``, ``scores`` (sqrt of class probability
    times centerness), ``labels``.
    """

    def __init__(self, backbone: nn.Module, num_classes: int, min_size: int = 800,
                 max_size: int = 1333, image_mean=None, image_std=None, anchor_generator=None,
                 head=None, center_sampling_radius: float = 1.5, score_thresh: float = 0.2,
                 nms_thresh: float = 0.6, detections_per_img: int = 100,
                 topk_candidates: int = 1000, **kwargs) -> None:
        super().__init__()
        if not hasattr(backbone, "out_channels"):
            raise ValueError("backbone should contain an attribute out_channels specifying the "
                             "number of output channels (assumed to be the same for all the "
                             "levels)")
        self.backbone = backbone
        if not isinstance(anchor_generator, (AnchorGenerator, type(None))):
            raise TypeError("anchor_generator should be of type AnchorGenerator or None, "
                            f"instead  got {type(anchor_generator)}")
        if anchor_generator is None:
            sizes = ((8,), (16,), (32,), (64,), (128,))  # the levels' strides
            anchor_generator = AnchorGenerator(sizes, ((1.0,),) * len(sizes))
        self.anchor_generator = anchor_generator
        if self.anchor_generator.num_anchors_per_location()[0] != 1:
            raise ValueError("anchor_generator.num_anchors_per_location()[0] should be 1 "
                             "instead of "
                             f"{anchor_generator.num_anchors_per_location()[0]}")
        if head is None:
            head = FCOSHead(backbone.out_channels, anchor_generator.num_anchors_per_location()[0],
                            num_classes)
        self.head = head
        self.box_coder = det_utils.BoxLinearCoder(normalize_by_size=True)
        if image_mean is None:
            image_mean = [0.485, 0.456, 0.406]
        if image_std is None:
            image_std = [0.229, 0.224, 0.225]
        self.transform = GeneralizedRCNNTransform(min_size, max_size, image_mean, image_std,
                                                  **kwargs)
        self.center_sampling_radius = center_sampling_radius
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.topk_candidates = topk_candidates
        self._has_warned = False

    def eager_outputs(self, losses, detections):
        return losses if self.training else detections

    def compute_loss(self, targets, head_outputs, anchors, num_anchors_per_level):
        """Matches each location to the smallest gt box that contains it, whose centre is
        within ``center_sampling_radius`` strides, and whose size suits the level."""
        matched_idxs = []
        for image_anchors, target in zip(anchors, targets):
            if target["boxes"].numel() == 0:
                matched_idxs.append(ember.full((image_anchors.size(0),), -1, dtype=ember.int64,
                                               device=image_anchors.device))
                continue
            gt_boxes = target["boxes"]
            gt_centers = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
            anchor_centers = (image_anchors[:, :2] + image_anchors[:, 2:]) / 2
            anchor_sizes = image_anchors[:, 2] - image_anchors[:, 0]
            match = ((anchor_centers[:, None, :] - gt_centers[None, :, :]).abs_().max(dim=2)
                     .values < self.center_sampling_radius * anchor_sizes[:, None])
            x, y = anchor_centers.unsqueeze(dim=2).unbind(dim=1)
            x0, y0, x1, y1 = gt_boxes.unsqueeze(dim=0).unbind(dim=2)
            dist = ember.stack([x - x0, y - y0, x1 - x, y1 - y], dim=2)
            match &= dist.min(dim=2).values > 0
            lower = anchor_sizes * 4
            lower[:num_anchors_per_level[0]] = 0
            upper = anchor_sizes * 8
            upper[-num_anchors_per_level[-1]:] = float("inf")
            dist = dist.max(dim=2).values
            match &= (dist > lower[:, None]) & (dist < upper[:, None])
            # among the matches, the smallest box wins
            gt_areas = (gt_boxes[:, 2] - gt_boxes[:, 0]) * (gt_boxes[:, 3] - gt_boxes[:, 1])
            match = match.to(ember.float32) * (1e8 - gt_areas[None, :])
            best, matched = match.max(dim=1)
            matched[best < 1e-5] = -1
            matched_idxs.append(matched)
        return self.head.compute_loss(targets, head_outputs, anchors, matched_idxs)

    def postprocess_detections(self, head_outputs, anchors, image_shapes):
        detections = []
        for index, image_shape in enumerate(image_shapes):
            boxes_all, scores_all, labels_all = [], [], []
            for regression, logits, ctrness, level_anchors in zip(
                    [br[index] for br in head_outputs["bbox_regression"]],
                    [cl[index] for cl in head_outputs["cls_logits"]],
                    [bc[index] for bc in head_outputs["bbox_ctrness"]], anchors[index]):
                num_classes = logits.shape[-1]
                scores = ember.sqrt(ember.sigmoid(logits) * ember.sigmoid(ctrness)).flatten()
                keep = scores > self.score_thresh
                scores = scores[keep]
                topk_idxs = ember.where(keep)[0]
                num_topk = det_utils._topk_min(topk_idxs, self.topk_candidates, 0)
                scores, idxs = scores.topk(num_topk)
                topk_idxs = topk_idxs[idxs]
                anchor_idxs = ember.div(topk_idxs, num_classes, rounding_mode="floor")
                boxes = self.box_coder.decode(regression[anchor_idxs], level_anchors[anchor_idxs])
                boxes_all.append(box_ops.clip_boxes_to_image(boxes, image_shape))
                scores_all.append(scores)
                labels_all.append(topk_idxs % num_classes)
            boxes = ember.cat(boxes_all, dim=0)
            scores = ember.cat(scores_all, dim=0)
            labels = ember.cat(labels_all, dim=0)
            keep = box_ops.batched_nms(boxes, scores, labels, self.nms_thresh)
            keep = keep[:self.detections_per_img]
            detections.append({"boxes": boxes[keep], "scores": scores[keep],
                               "labels": labels[keep]})
        return detections

    def forward(self, images, targets=None):
        if self.training:
            _check_training_targets(targets)
        original_image_sizes = [(img.shape[-2], img.shape[-1]) for img in images]
        images, targets = self.transform(images, targets)
        if targets is not None:
            _check_degenerate(targets)
        features = self.backbone(images.tensors)
        if isinstance(features, ember.Tensor):
            features = OrderedDict([("0", features)])
        features = list(features.values())
        head_outputs = self.head(features)
        anchors = self.anchor_generator(images, features)
        per_level = [x.size(2) * x.size(3) for x in features]
        losses, detections = {}, []
        if self.training:
            losses = self.compute_loss(targets, head_outputs, anchors, per_level)
        else:
            split_outputs = {k: list(v.split(per_level, dim=1)) for k, v in head_outputs.items()}
            split_anchors = [list(a.split(per_level)) for a in anchors]
            detections = self.postprocess_detections(split_outputs, split_anchors,
                                                      images.image_sizes)
            detections = self.transform.postprocess(detections, images.image_sizes,
                                                     original_image_sizes)
        return self.eager_outputs(losses, detections)


FCOS_ResNet50_FPN_Weights = make_weights_enum("FCOS_ResNet50_FPN_Weights", {
    "COCO_V1": coco_weights(
        "fcos_resnet50_fpn_coco-99b0c9b7.pth", 32269600,
        "https://github.com/pytorch/vision/tree/main/references/detection#fcos-resnet-50-fpn",
        {"box_map": 39.2}, 128.207, 123.608)}, __name__)


@register_model()
def fcos_resnet50_fpn(*, weights: FCOS_ResNet50_FPN_Weights | None = None,
                      progress: bool = True, num_classes: int | None = None,
                      weights_backbone: ResNet50_Weights | None = ResNet50_Weights.IMAGENET1K_V1,
                      trainable_backbone_layers: int | None = None, **kwargs) -> FCOS:
    """FCOS with a ResNet-50 FPN backbone (P3-P5 plus P6/P7)."""
    weights, weights_backbone, num_classes = _resolve(
        weights, weights_backbone, num_classes, kwargs, FCOS_ResNet50_FPN_Weights,
        ResNet50_Weights, ResNet50_Weights.IMAGENET1K_V1)
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    backbone = _resnet_fpn_extractor(backbone, trainable, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(256, 256))
    return _load(FCOS(backbone, num_classes, **kwargs), weights, progress)
