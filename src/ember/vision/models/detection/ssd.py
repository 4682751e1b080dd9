"""SSD (torchvision.models.detection.ssd): single-shot detector over a VGG-16 feature
pyramid with default boxes, hard-negative mining and per-class NMS."""

from __future__ import annotations

import warnings
from collections import OrderedDict

import ember
import ember.nn.functional as F
from ember import nn
from ember.vision.ops import boxes as box_ops

from .._api import make_weights_enum, register_model
from ..vgg import VGG16_Weights, vgg16
from . import _utils as det_utils
from ._meta import coco_weights
from .anchor_utils import DefaultBoxGenerator
from .backbone_utils import _validate_trainable_layers
from .faster_rcnn import _load, _resolve
from .generalized_rcnn import _check_degenerate
from .transform import GeneralizedRCNNTransform

__all__ = ["SSD300_VGG16_Weights", "ssd300_vgg16"]

SSD300_VGG16_Weights = make_weights_enum("SSD300_VGG16_Weights", {
    "COCO_V1": coco_weights(
        "ssd300_vgg16_coco-b556d3b4.pth", 35641826,
        "https://github.com/pytorch/vision/tree/main/references/detection#ssd300-vgg16",
        {"box_map": 25.1}, 34.858, 135.988)}, __name__)


def _xavier_init(conv: nn.Module) -> None:
    for layer in conv.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.constant_(layer.bias, 0.0)


class SSDScoringHead(nn.Module):
    """One conv per feature map (``module_list``), outputs flattened to
    [N, sum(H*W*A), num_columns] in default-box order."""

    def __init__(self, module_list: nn.ModuleList, num_columns: int) -> None:
        super().__init__()
        self.module_list = module_list
        self.num_columns = num_columns

    def _get_result_from_module_list(self, x, idx: int):
        return self.module_list[idx](x)

    def forward(self, x):
        results = []
        for i, features in enumerate(x):
            out = self._get_result_from_module_list(features, i)
            N, _, H, W = out.shape
            out = out.view(N, -1, self.num_columns, H, W).permute(0, 3, 4, 1, 2)
            results.append(out.reshape(N, -1, self.num_columns))
        return ember.cat(results, dim=1)


class SSDClassificationHead(SSDScoringHead):
    """A 3x3 conv per map giving ``num_classes`` logits per default box."""

    def __init__(self, in_channels: list[int], num_anchors: list[int], num_classes: int) -> None:
        cls_logits = nn.ModuleList([nn.Conv2d(c, num_classes * a, kernel_size=3, padding=1)
                                    for c, a in zip(in_channels, num_anchors)])
        _xavier_init(cls_logits)
        super().__init__(cls_logits, num_classes)


class SSDRegressionHead(SSDScoringHead):
    """A 3x3 conv per map giving 4 box deltas per default box."""

    def __init__(self, in_channels: list[int], num_anchors: list[int]) -> None:
        bbox_reg = nn.ModuleList([nn.Conv2d(c, 4 * a, kernel_size=3, padding=1)
                                  for c, a in zip(in_channels, num_anchors)])
        _xavier_init(bbox_reg)
        super().__init__(bbox_reg, 4)


class SSDHead(nn.Module):
    def __init__(self, in_channels: list[int], num_anchors: list[int], num_classes: int) -> None:
        super().__init__()
        self.classification_head = SSDClassificationHead(in_channels, num_anchors, num_classes)
        self.regression_head = SSDRegressionHead(in_channels, num_anchors)

    def forward(self, x):
        return {"bbox_regression": self.regression_head(x),
                "cls_logits": self.classification_head(x)}


class SSD(nn.Module):
    """SSD (Liu et al., 2016) on a fixed input ``size``.

    Training returns ``bbox_regression`` (smooth-L1 on matched boxes) and
    ``classification`` (cross-entropy on positives plus the hardest negatives, at most
    ``(1 - positive_fraction) / positive_fraction`` per positive), both divided by the
    number of positives. Eval returns per image ``boxes``, ``scores``, ``labels``.
    """

    def __init__(self, backbone: nn.Module, anchor_generator: DefaultBoxGenerator,
                 size: tuple[int, int], num_classes: int, image_mean=None, image_std=None,
                 head: nn.Module | None = None, score_thresh: float = 0.01,
                 nms_thresh: float = 0.45, detections_per_img: int = 200,
                 iou_thresh: float = 0.5, topk_candidates: int = 400,
                 positive_fraction: float = 0.25, **kwargs) -> None:
        super().__init__()
        self.backbone = backbone
        self.anchor_generator = anchor_generator
        self.box_coder = det_utils.BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
        if head is None:
            if hasattr(backbone, "out_channels"):
                out_channels = backbone.out_channels
            else:
                out_channels = det_utils.retrieve_out_channels(backbone, size)
            if len(out_channels) != len(anchor_generator.aspect_ratios):
                raise ValueError(
                    f"The length of the output channels from the backbone ({len(out_channels)}) "
                    "do not match the length of the anchor generator aspect ratios "
                    f"({len(anchor_generator.aspect_ratios)})")
            head = SSDHead(out_channels, self.anchor_generator.num_anchors_per_location(),
                           num_classes)
        self.head = head
        self.proposal_matcher = det_utils.SSDMatcher(iou_thresh)
        if image_mean is None:
            image_mean = [0.485, 0.456, 0.406]
        if image_std is None:
            image_std = [0.229, 0.224, 0.225]
        self.transform = GeneralizedRCNNTransform(min(size), max(size), image_mean, image_std,
                                                  size_divisible=1, fixed_size=size, **kwargs)
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.topk_candidates = topk_candidates
        self.neg_to_pos_ratio = (1.0 - positive_fraction) / positive_fraction
        self._has_warned = False

    def eager_outputs(self, losses, detections):
        return losses if self.training else detections

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        bbox_regression = head_outputs["bbox_regression"]
        cls_logits = head_outputs["cls_logits"]
        num_foreground = 0
        bbox_loss, cls_targets = [], []
        for target, regression, logits, image_anchors, matched in zip(
                targets, bbox_regression, cls_logits, anchors, matched_idxs):
            fg = ember.where(matched >= 0)[0]
            fg_matched = matched[fg]
            num_foreground += fg_matched.numel()
            target_regression = self.box_coder.encode_single(target["boxes"][fg_matched],
                                                             image_anchors[fg, :])
            bbox_loss.append(F.smooth_l1_loss(regression[fg, :], target_regression,
                                              reduction="sum"))
            gt_classes = ember.zeros((logits.size(0),), dtype=target["labels"].dtype,
                                     device=target["labels"].device)
            gt_classes[fg] = target["labels"][fg_matched]
            cls_targets.append(gt_classes)
        bbox_loss = ember.stack(bbox_loss)
        cls_targets = ember.stack(cls_targets)
        num_classes = cls_logits.size(-1)
        cls_loss = F.cross_entropy(cls_logits.view(-1, num_classes), cls_targets.view(-1),
                                   reduction="none").view(cls_targets.size())
        # hard-negative mining: the highest-loss background boxes, a fixed ratio per positive
        foreground = cls_targets > 0
        num_negative = self.neg_to_pos_ratio * foreground.sum(1, keepdim=True)
        negative_loss = cls_loss.clone()
        negative_loss[foreground] = -float("inf")
        order = negative_loss.sort(1, descending=True)[1]
        background = order.sort(1)[1] < num_negative
        N = max(1, num_foreground)
        return {"bbox_regression": bbox_loss.sum() / N,
                "classification": (cls_loss[foreground].sum() + cls_loss[background].sum()) / N}

    def forward(self, images, targets=None):
        if self.training:
            _check_targets(targets)
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
            matched_idxs = []
            for image_anchors, target in zip(anchors, targets):
                if target["boxes"].numel() == 0:
                    matched_idxs.append(ember.full((image_anchors.size(0),), -1,
                                                   dtype=ember.int64,
                                                   device=image_anchors.device))
                    continue
                matched_idxs.append(self.proposal_matcher(box_ops.box_iou(target["boxes"],
                                                                          image_anchors)))
            losses = self.compute_loss(targets, head_outputs, anchors, matched_idxs)
        else:
            detections = self.postprocess_detections(head_outputs, anchors, images.image_sizes)
            detections = self.transform.postprocess(detections, images.image_sizes,
                                                     original_image_sizes)
        return self.eager_outputs(losses, detections)

    def postprocess_detections(self, head_outputs, image_anchors, image_shapes):
        """Per class: scores above score_thresh, the topk_candidates best; then per-class
        NMS over all classes and detections_per_img."""
        pred_scores = F.softmax(head_outputs["cls_logits"], dim=-1)
        num_classes = pred_scores.size(-1)
        device = pred_scores.device
        detections = []
        for boxes, scores, anchors, image_shape in zip(head_outputs["bbox_regression"],
                                                       pred_scores, image_anchors,
                                                       image_shapes):
            boxes = box_ops.clip_boxes_to_image(self.box_coder.decode_single(boxes, anchors),
                                                image_shape)
            all_boxes, all_scores, all_labels = [], [], []
            for label in range(1, num_classes):
                score = scores[:, label]
                keep = score > self.score_thresh
                score, box = score[keep], boxes[keep]
                score, idxs = score.topk(det_utils._topk_min(score, self.topk_candidates, 0))
                all_boxes.append(box[idxs])
                all_scores.append(score)
                all_labels.append(ember.full_like(score, fill_value=label, dtype=ember.int64,
                                                  device=device))
            boxes = ember.cat(all_boxes, dim=0)
            scores = ember.cat(all_scores, dim=0)
            labels = ember.cat(all_labels, dim=0)
            keep = box_ops.batched_nms(boxes, scores, labels, self.nms_thresh)
            keep = keep[:self.detections_per_img]
            detections.append({"boxes": boxes[keep], "scores": scores[keep],
                               "labels": labels[keep]})
        return detections


def _check_targets(targets) -> None:
    if targets is None:
        raise AssertionError("targets should not be none when in training mode")
    for target in targets:
        boxes = target["boxes"]
        if not isinstance(boxes, ember.Tensor):
            raise AssertionError(  # noqa: TRY004 - torchvision asserts
                f"Expected target boxes to be of type Tensor, got {type(boxes)}.")
        if not (len(boxes.shape) == 2 and boxes.shape[-1] == 4):
            raise AssertionError("Expected target boxes to be a tensor of shape [N, 4], got "
                                 f"{boxes.shape}.")


class SSDFeatureExtractorVGG(nn.Module):
    """VGG-16 up to conv4_3 (L2-normalised and scaled by a learned ``scale_weight``),
    then conv5 + dilated fc6/fc7 and four (five when ``highres``) extra stride-2 blocks:
    six (seven) feature maps."""

    def __init__(self, backbone: nn.Module, highres: bool) -> None:
        super().__init__()
        pools = [i for i, layer in enumerate(backbone) if isinstance(layer, nn.MaxPool2d)]
        maxpool3_pos, maxpool4_pos = pools[2], pools[3]
        backbone[maxpool3_pos].ceil_mode = True  # 300 px input: 75 -> 38 as in the paper
        self.scale_weight = nn.Parameter(ember.ones(512) * 20)
        self.features = nn.Sequential(*backbone[:maxpool4_pos])
        specs = [(1024, 256, 512, {"padding": 1, "stride": 2}),
                 (512, 128, 256, {"padding": 1, "stride": 2}),
                 (256, 128, 256, {}), (256, 128, 256, {})]
        extra = nn.ModuleList([_extra_block(i, m, o, 3, kw) for i, m, o, kw in specs])
        if highres:
            extra.append(_extra_block(256, 128, 256, 4, {}))
        _xavier_init(extra)
        fc = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=False),
            nn.Conv2d(in_channels=512, out_channels=1024, kernel_size=3, padding=6, dilation=6),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels=1024, out_channels=1024, kernel_size=1),
            nn.ReLU(inplace=True),
        )
        _xavier_init(fc)
        extra.insert(0, nn.Sequential(*backbone[maxpool4_pos:-1], fc))
        self.extra = extra

    def forward(self, x):
        x = self.features(x)
        output = [self.scale_weight.view(1, -1, 1, 1) * F.normalize(x)]
        for block in self.extra:
            x = block(x)
            output.append(x)
        return OrderedDict([(str(i), v) for i, v in enumerate(output)])


def _extra_block(in_channels, mid, out_channels, kernel, conv_kwargs):
    return nn.Sequential(nn.Conv2d(in_channels, mid, kernel_size=1), nn.ReLU(inplace=True),
                         nn.Conv2d(mid, out_channels, kernel_size=kernel, **conv_kwargs),
                         nn.ReLU(inplace=True))


def _vgg_extractor(backbone, highres: bool, trainable_layers: int) -> SSDFeatureExtractorVGG:
    features = backbone.features
    stage_indices = [0] + [i for i, b in enumerate(features) if isinstance(b, nn.MaxPool2d)][:-1]
    num_stages = len(stage_indices)
    if not 0 <= trainable_layers <= num_stages:
        raise AssertionError(f"trainable_layers should be in the range [0, {num_stages}]. "
                             f"Instead got {trainable_layers}")
    freeze_before = (len(features) if trainable_layers == 0
                     else stage_indices[num_stages - trainable_layers])
    for block in features[:freeze_before]:
        for parameter in block.parameters():
            parameter.requires_grad_(False)
    return SSDFeatureExtractorVGG(features, highres)


@register_model()
def ssd300_vgg16(*, weights: SSD300_VGG16_Weights | None = None, progress: bool = True,
                 num_classes: int | None = None,
                 weights_backbone: VGG16_Weights | None = VGG16_Weights.IMAGENET1K_FEATURES,
                 trainable_backbone_layers: int | None = None, **kwargs) -> SSD:
    """SSD300 with a VGG-16 backbone; inputs are resized to 300x300."""
    weights, weights_backbone, num_classes = _resolve(
        weights, weights_backbone, num_classes, kwargs, SSD300_VGG16_Weights, VGG16_Weights,
        VGG16_Weights.IMAGENET1K_FEATURES)
    if "size" in kwargs:
        warnings.warn("The size of the model is already fixed; ignoring the parameter.")
        kwargs.pop("size")
    trainable = _validate_trainable_layers(weights is not None or weights_backbone is not None,
                                           trainable_backbone_layers, 5, 4)
    backbone = _vgg_extractor(vgg16(weights=weights_backbone, progress=progress), False,
                              trainable)
    anchor_generator = DefaultBoxGenerator(
        [[2], [2, 3], [2, 3], [2, 3], [2], [2]],
        scales=[0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05], steps=[8, 16, 32, 64, 100, 300])
    defaults = {"image_mean": [0.48235, 0.45882, 0.40784],
                "image_std": [1.0 / 255.0, 1.0 / 255.0, 1.0 / 255.0]}  # undo ToTensor's /255
    model = SSD(backbone, anchor_generator, (300, 300), num_classes, **{**defaults, **kwargs})
    return _load(model, weights, progress)
