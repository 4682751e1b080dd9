"""RetinaNet (torchvision.models.detection.retinanet): one-stage detector with focal
loss, dense classification and box heads over FPN levels P3-P7."""

from __future__ import annotations

import math
from collections import OrderedDict
from functools import partial

import ember
from ember import nn
from ember.vision.ops import Conv2dNormActivation, FrozenBatchNorm2d, sigmoid_focal_loss
from ember.vision.ops import boxes as box_ops
from ember.vision.ops.feature_pyramid_network import LastLevelP6P7

from .._api import make_weights_enum, register_model
from ..resnet import ResNet50_Weights, resnet50
from . import _utils as det_utils
from ._meta import _ENHANCED_RECIPE, coco_weights
from ._utils import _box_loss, overwrite_eps
from .anchor_utils import AnchorGenerator
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .faster_rcnn import _load, _resolve
from .generalized_rcnn import _check_degenerate
from .transform import GeneralizedRCNNTransform

__all__ = ["RetinaNet", "RetinaNet_ResNet50_FPN_V2_Weights", "RetinaNet_ResNet50_FPN_Weights",
           "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2"]


def _sum(values):
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


def _v1_to_v2_weights(state_dict, prefix: str) -> None:
    # version 1 heads were plain Sequential(conv, relu, ...): conv.0, conv.2, ...
    for i in range(4):
        for kind in ("weight", "bias"):
            old_key, new_key = f"{prefix}conv.{2 * i}.{kind}", f"{prefix}conv.{i}.0.{kind}"
            if old_key in state_dict:
                state_dict[new_key] = state_dict.pop(old_key)


def _default_anchorgen() -> AnchorGenerator:
    sizes = tuple((x, int(x * 2 ** (1.0 / 3)), int(x * 2 ** (2.0 / 3)))
                  for x in [32, 64, 128, 256, 512])
    return AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))


def _flatten_levels(x, width: int):
    """[N, A*width, H, W] -> [N, H*W*A, width], anchors in generation order."""
    N, _, H, W = x.shape
    return x.view(N, -1, width, H, W).permute(0, 3, 4, 1, 2).reshape(N, -1, width)


class _VersionedHead(nn.Module):
    _version = 2

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        version = local_metadata.get("version", None)
        if version is None or version < 2:
            _v1_to_v2_weights(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


def _conv_tower(in_channels: int, norm_layer):
    tower = nn.Sequential(*[Conv2dNormActivation(in_channels, in_channels, norm_layer=norm_layer)
                            for _ in range(4)])
    for layer in tower.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.normal_(layer.weight, std=0.01)
            if layer.bias is not None:
                nn.init.constant_(layer.bias, 0)
    return tower


class RetinaNetClassificationHead(_VersionedHead):
    """Four 3x3 conv layers and a 3x3 conv to ``num_anchors * num_classes`` logits; the
    bias starts at the ``prior_probability`` logit so early training is not swamped by
    background."""

    def __init__(self, in_channels: int, num_anchors: int, num_classes: int,
                 prior_probability: float = 0.01, norm_layer=None) -> None:
        super().__init__()
        self.conv = _conv_tower(in_channels, norm_layer)
        self.cls_logits = nn.Conv2d(in_channels, num_anchors * num_classes, kernel_size=3,
                                    stride=1, padding=1)
        nn.init.normal_(self.cls_logits.weight, std=0.01)
        nn.init.constant_(self.cls_logits.bias,
                          -math.log((1 - prior_probability) / prior_probability))
        self.num_classes = num_classes
        self.num_anchors = num_anchors
        self.BETWEEN_THRESHOLDS = det_utils.Matcher.BETWEEN_THRESHOLDS

    def compute_loss(self, targets, head_outputs, matched_idxs):
        """Focal loss summed over non-ignored anchors, per image divided by its number of
        foreground anchors, averaged over images."""
        losses = []
        for target, logits, matched in zip(targets, head_outputs["cls_logits"], matched_idxs):
            foreground = matched >= 0
            num_foreground = int(foreground.sum())
            gt_classes = ember.zeros_like(logits)
            gt_classes[foreground, target["labels"][matched[foreground]]] = 1.0
            valid = matched != self.BETWEEN_THRESHOLDS
            losses.append(sigmoid_focal_loss(logits[valid], gt_classes[valid], reduction="sum")
                          / max(1, num_foreground))
        return _sum(losses) / len(targets)

    def forward(self, x):
        return ember.cat([_flatten_levels(self.cls_logits(self.conv(f)), self.num_classes)
                          for f in x], dim=1)


class RetinaNetRegressionHead(_VersionedHead):
    """Four 3x3 conv layers and a 3x3 conv to ``num_anchors * 4`` box deltas."""

    def __init__(self, in_channels: int, num_anchors: int, norm_layer=None) -> None:
        super().__init__()
        self.conv = _conv_tower(in_channels, norm_layer)
        self.bbox_reg = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=3, stride=1,
                                  padding=1)
        nn.init.normal_(self.bbox_reg.weight, std=0.01)
        nn.init.zeros_(self.bbox_reg.bias)
        self.box_coder = det_utils.BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
        self._loss_type = "l1"

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        losses = []
        for target, regression, image_anchors, matched in zip(
                targets, head_outputs["bbox_regression"], anchors, matched_idxs):
            fg = ember.where(matched >= 0)[0]
            matched_boxes = target["boxes"][matched[fg]]
            loss = _box_loss(self._loss_type, self.box_coder, image_anchors[fg, :],
                             matched_boxes, regression[fg, :])
            losses.append(loss / max(1, fg.numel()))
        return _sum(losses) / max(1, len(targets))

    def forward(self, x):
        return ember.cat([_flatten_levels(self.bbox_reg(self.conv(f)), 4) for f in x], dim=1)


class RetinaNetHead(nn.Module):
    """The classification and regression heads side by side."""

    def __init__(self, in_channels: int, num_anchors: int, num_classes: int,
                 norm_layer=None) -> None:
        super().__init__()
        self.classification_head = RetinaNetClassificationHead(in_channels, num_anchors,
                                                               num_classes,
                                                               norm_layer=norm_layer)
        self.regression_head = RetinaNetRegressionHead(in_channels, num_anchors,
                                                       norm_layer=norm_layer)

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        return {"classification": self.classification_head.compute_loss(
                    targets, head_outputs, matched_idxs),
                "bbox_regression": self.regression_head.compute_loss(
                    targets, head_outputs, anchors, matched_idxs)}

    def forward(self, x):
        return {"cls_logits": self.classification_head(x),
                "bbox_regression": self.regression_head(x)}


class RetinaNet(nn.Module):
    """RetinaNet (Lin et al., 2017).

    In training, ``model(images, targets)`` returns ``classification`` (focal) and
    ``bbox_regression`` losses; in eval, per image ``boxes``, ``scores``, ``labels``:
    per level the ``topk_candidates`` best (anchor, class) pairs above ``score_thresh``,
    then per-class NMS and ``detections_per_img``.
    """

    def __init__(self, backbone, num_classes, min_size=800, max_size=1333, image_mean=None,
                 image_std=None, anchor_generator=None, head=None, proposal_matcher=None,
                 score_thresh=0.05, nms_thresh=0.5, detections_per_img=300, fg_iou_thresh=0.5,
                 bg_iou_thresh=0.4, topk_candidates=1000, **kwargs) -> None:
        super().__init__()
        if not hasattr(backbone, "out_channels"):
            raise ValueError("backbone should contain an attribute out_channels specifying the "
                             "number of output channels (assumed to be the same for all the "
                             "levels)")
        self.backbone = backbone
        if not isinstance(anchor_generator, (AnchorGenerator, type(None))):
            raise TypeError("anchor_generator should be of type AnchorGenerator or None instead "
                            f"of {type(anchor_generator)}")
        if anchor_generator is None:
            anchor_generator = _default_anchorgen()
        self.anchor_generator = anchor_generator
        if head is None:
            head = RetinaNetHead(backbone.out_channels,
                                 anchor_generator.num_anchors_per_location()[0], num_classes)
        self.head = head
        if proposal_matcher is None:
            proposal_matcher = det_utils.Matcher(fg_iou_thresh, bg_iou_thresh,
                                                 allow_low_quality_matches=True)
        self.proposal_matcher = proposal_matcher
        self.box_coder = det_utils.BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
        if image_mean is None:
            image_mean = [0.485, 0.456, 0.406]
        if image_std is None:
            image_std = [0.229, 0.224, 0.225]
        self.transform = GeneralizedRCNNTransform(min_size, max_size, image_mean, image_std,
                                                  **kwargs)
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.topk_candidates = topk_candidates
        self._has_warned = False

    def eager_outputs(self, losses, detections):
        return losses if self.training else detections

    def compute_loss(self, targets, head_outputs, anchors):
        matched_idxs = []
        for image_anchors, target in zip(anchors, targets):
            if target["boxes"].numel() == 0:
                matched_idxs.append(ember.full((image_anchors.size(0),), -1, dtype=ember.int64,
                                               device=image_anchors.device))
                continue
            matched_idxs.append(self.proposal_matcher(box_ops.box_iou(target["boxes"],
                                                                      image_anchors)))
        return self.head.compute_loss(targets, head_outputs, anchors, matched_idxs)

    def postprocess_detections(self, head_outputs, anchors, image_shapes):
        detections = []
        for index, image_shape in enumerate(image_shapes):
            boxes_all, scores_all, labels_all = [], [], []
            for regression, logits, level_anchors in zip(
                    [br[index] for br in head_outputs["bbox_regression"]],
                    [cl[index] for cl in head_outputs["cls_logits"]], anchors[index]):
                num_classes = logits.shape[-1]
                scores = ember.sigmoid(logits).flatten()
                keep = scores > self.score_thresh
                scores = scores[keep]
                topk_idxs = ember.where(keep)[0]
                num_topk = det_utils._topk_min(topk_idxs, self.topk_candidates, 0)
                scores, idxs = scores.topk(num_topk)
                topk_idxs = topk_idxs[idxs]
                anchor_idxs = ember.div(topk_idxs, num_classes, rounding_mode="floor")
                boxes = self.box_coder.decode_single(regression[anchor_idxs],
                                                     level_anchors[anchor_idxs])
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
        losses, detections = {}, []
        if self.training:
            losses = self.compute_loss(targets, head_outputs, anchors)
        else:
            hw = [x.size(2) * x.size(3) for x in features]
            A = head_outputs["cls_logits"].size(1) // sum(hw)
            per_level = [n * A for n in hw]
            split_outputs = {k: list(v.split(per_level, dim=1)) for k, v in head_outputs.items()}
            split_anchors = [list(a.split(per_level)) for a in anchors]
            detections = self.postprocess_detections(split_outputs, split_anchors,
                                                      images.image_sizes)
            detections = self.transform.postprocess(detections, images.image_sizes,
                                                     original_image_sizes)
        return self.eager_outputs(losses, detections)


def _check_training_targets(targets) -> None:
    if targets is None:
        raise AssertionError("targets should not be none when in training mode")
    for target in targets:
        boxes = target["boxes"]
        if not isinstance(boxes, ember.Tensor):
            raise AssertionError("Expected target boxes to be of type Tensor.")  # noqa: TRY004
        if not (len(boxes.shape) == 2 and boxes.shape[-1] == 4):
            raise AssertionError("Expected target boxes to be a tensor of shape [N, 4].")


RetinaNet_ResNet50_FPN_Weights = make_weights_enum("RetinaNet_ResNet50_FPN_Weights", {
    "COCO_V1": coco_weights(
        "retinanet_resnet50_fpn_coco-eeacb38b.pth", 34014999,
        "https://github.com/pytorch/vision/tree/main/references/detection#retinanet",
        {"box_map": 36.4}, 151.54, 130.267)}, __name__)
RetinaNet_ResNet50_FPN_V2_Weights = make_weights_enum("RetinaNet_ResNet50_FPN_V2_Weights", {
    "COCO_V1": coco_weights(
        "retinanet_resnet50_fpn_v2_coco-5905b1c5.pth", 38198935,
        "https://github.com/pytorch/vision/pull/5756", {"box_map": 41.5}, 152.238,
        146.037, _docs=_ENHANCED_RECIPE)}, __name__)


@register_model()
def retinanet_resnet50_fpn(*, weights: RetinaNet_ResNet50_FPN_Weights | None = None,
                           progress: bool = True, num_classes: int | None = None,
                           weights_backbone: ResNet50_Weights | None = (
                               ResNet50_Weights.IMAGENET1K_V1),
                           trainable_backbone_layers: int | None = None,
                           **kwargs) -> RetinaNet:
    """RetinaNet with a ResNet-50 FPN backbone (P3-P5 plus P6/P7 from P5)."""
    weights, weights_backbone, num_classes = _resolve(
        weights, weights_backbone, num_classes, kwargs, RetinaNet_ResNet50_FPN_Weights,
        ResNet50_Weights, ResNet50_Weights.IMAGENET1K_V1)
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    backbone = _resnet_fpn_extractor(backbone, trainable, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(256, 256))
    model = _load(RetinaNet(backbone, num_classes, **kwargs), weights, progress)
    if weights == RetinaNet_ResNet50_FPN_Weights.COCO_V1:
        overwrite_eps(model, 0.0)
    return model


@register_model()
def retinanet_resnet50_fpn_v2(*, weights: RetinaNet_ResNet50_FPN_V2_Weights | None = None,
                              progress: bool = True, num_classes: int | None = None,
                              weights_backbone: ResNet50_Weights | None = None,
                              trainable_backbone_layers: int | None = None,
                              **kwargs) -> RetinaNet:
    """RetinaNet v2: P6/P7 from C5, GroupNorm heads, GIoU box loss."""
    weights, weights_backbone, num_classes = _resolve(
        weights, weights_backbone, num_classes, kwargs, RetinaNet_ResNet50_FPN_V2_Weights,
        ResNet50_Weights, ResNet50_Weights.IMAGENET1K_V1)
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    backbone = resnet50(weights=weights_backbone, progress=progress)
    backbone = _resnet_fpn_extractor(backbone, trainable, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(2048, 256))
    anchor_generator = _default_anchorgen()
    head = RetinaNetHead(backbone.out_channels, anchor_generator.num_anchors_per_location()[0],
                         num_classes, norm_layer=partial(nn.GroupNorm, 32))
    head.regression_head._loss_type = "giou"
    model = RetinaNet(backbone, num_classes, anchor_generator=anchor_generator, head=head,
                      **kwargs)
    return _load(model, weights, progress)
