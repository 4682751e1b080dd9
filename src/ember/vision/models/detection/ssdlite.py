"""SSDlite (torchvision.models.detection.ssdlite): SSD with depthwise-separable heads and
extra layers on a MobileNetV3-Large backbone, for 320x320 inputs."""

from __future__ import annotations

import warnings
from collections import OrderedDict
from functools import partial

from ember import nn
from ember.vision.ops import Conv2dNormActivation

from .._api import make_weights_enum, register_model
from ..mobilenet import MobileNet_V3_Large_Weights, mobilenet_v3_large
from . import _utils as det_utils
from ._meta import coco_weights
from .anchor_utils import DefaultBoxGenerator
from .backbone_utils import _validate_trainable_layers
from .faster_rcnn import _load, _resolve
from .ssd import SSD, SSDScoringHead

__all__ = ["SSDLite320_MobileNet_V3_Large_Weights", "ssdlite320_mobilenet_v3_large"]


def _prediction_block(in_channels: int, out_channels: int, kernel_size: int, norm_layer):
    """Depthwise conv + norm + ReLU6, then a 1x1 conv: a cheap 3x3 predictor."""
    return nn.Sequential(
        Conv2dNormActivation(in_channels, in_channels, kernel_size=kernel_size,
                             groups=in_channels, norm_layer=norm_layer,
                             activation_layer=nn.ReLU6),
        nn.Conv2d(in_channels, out_channels, 1))


def _extra_block(in_channels: int, out_channels: int, norm_layer):
    """1x1 reduce, stride-2 depthwise 3x3, 1x1 expand (all ReLU6): halves the map."""
    mid = out_channels // 2
    return nn.Sequential(
        Conv2dNormActivation(in_channels, mid, kernel_size=1, norm_layer=norm_layer,
                             activation_layer=nn.ReLU6),
        Conv2dNormActivation(mid, mid, kernel_size=3, stride=2, groups=mid,
                             norm_layer=norm_layer, activation_layer=nn.ReLU6),
        Conv2dNormActivation(mid, out_channels, kernel_size=1, norm_layer=norm_layer,
                             activation_layer=nn.ReLU6))


def _normal_init(conv: nn.Module) -> None:
    for layer in conv.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.normal_(layer.weight, mean=0.0, std=0.03)
            if layer.bias is not None:
                nn.init.constant_(layer.bias, 0.0)


class SSDLiteClassificationHead(SSDScoringHead):
    def __init__(self, in_channels: list[int], num_anchors: list[int], num_classes: int,
                 norm_layer) -> None:
        cls_logits = nn.ModuleList([_prediction_block(c, num_classes * a, 3, norm_layer)
                                    for c, a in zip(in_channels, num_anchors)])
        _normal_init(cls_logits)
        super().__init__(cls_logits, num_classes)


class SSDLiteRegressionHead(SSDScoringHead):
    def __init__(self, in_channels: list[int], num_anchors: list[int], norm_layer) -> None:
        bbox_reg = nn.ModuleList([_prediction_block(c, 4 * a, 3, norm_layer)
                                  for c, a in zip(in_channels, num_anchors)])
        _normal_init(bbox_reg)
        super().__init__(bbox_reg, 4)


class SSDLiteHead(nn.Module):
    def __init__(self, in_channels: list[int], num_anchors: list[int], num_classes: int,
                 norm_layer) -> None:
        super().__init__()
        self.classification_head = SSDLiteClassificationHead(in_channels, num_anchors,
                                                             num_classes, norm_layer)
        self.regression_head = SSDLiteRegressionHead(in_channels, num_anchors, norm_layer)

    def forward(self, x):
        return {"bbox_regression": self.regression_head(x),
                "cls_logits": self.classification_head(x)}


class SSDLiteFeatureExtractorMobileNet(nn.Module):
    """MobileNet features split at the C4 block's expansion (two maps), plus four extra
    stride-2 blocks: six feature maps."""

    def __init__(self, backbone: nn.Module, c4_pos: int, norm_layer, width_mult: float = 1.0,
                 min_depth: int = 16) -> None:
        super().__init__()
        if backbone[c4_pos].use_res_connect:
            raise ValueError("backbone[c4_pos].use_res_connect should be False")
        self.features = nn.Sequential(
            nn.Sequential(*backbone[:c4_pos], backbone[c4_pos].block[0]),
            nn.Sequential(backbone[c4_pos].block[1:], *backbone[c4_pos + 1:]))

        def depth(d):
            return max(min_depth, int(d * width_mult))

        self.extra = nn.ModuleList([
            _extra_block(backbone[-1].out_channels, depth(512), norm_layer),
            _extra_block(depth(512), depth(256), norm_layer),
            _extra_block(depth(256), depth(256), norm_layer),
            _extra_block(depth(256), depth(128), norm_layer)])
        _normal_init(self.extra)

    def forward(self, x):
        output = []
        for block in (*self.features, *self.extra):
            x = block(x)
            output.append(x)
        return OrderedDict([(str(i), v) for i, v in enumerate(output)])


def _mobilenet_extractor(backbone, trainable_layers: int, norm_layer):
    features = backbone.features
    stage_indices = ([0] + [i for i, b in enumerate(features) if getattr(b, "_is_cn", False)]
                     + [len(features) - 1])
    num_stages = len(stage_indices)
    if not 0 <= trainable_layers <= num_stages:
        raise ValueError("trainable_layers should be in the range [0, {num_stages}], instead "
                         "got {trainable_layers}")
    freeze_before = (len(features) if trainable_layers == 0
                     else stage_indices[num_stages - trainable_layers])
    for block in features[:freeze_before]:
        for parameter in block.parameters():
            parameter.requires_grad_(False)
    return SSDLiteFeatureExtractorMobileNet(features, stage_indices[-2], norm_layer)


SSDLite320_MobileNet_V3_Large_Weights = make_weights_enum(
    "SSDLite320_MobileNet_V3_Large_Weights", {
        "COCO_V1": coco_weights(
            "ssdlite320_mobilenet_v3_large_coco-a79551df.pth", 3440060,
            "https://github.com/pytorch/vision/tree/main/references/detection"
            "#ssdlite320-mobilenetv3-large", {"box_map": 21.3}, 0.583, 13.418)}, __name__)


@register_model()
def ssdlite320_mobilenet_v3_large(
        *, weights: SSDLite320_MobileNet_V3_Large_Weights | None = None, progress: bool = True,
        num_classes: int | None = None,
        weights_backbone: MobileNet_V3_Large_Weights | None = (
            MobileNet_V3_Large_Weights.IMAGENET1K_V1),
        trainable_backbone_layers: int | None = None, norm_layer=None, **kwargs) -> SSD:
    """SSDlite320 on MobileNetV3-Large (Howard et al., 2019). Without backbone weights
    the backbone's tail is halved (``reduced_tail``), as torchvision does. ``**kwargs``
    go to :class:`SSD` (torchvision also forwards them to the MobileNet builder, which
    rejects SSD's arguments)."""
    weights, weights_backbone, num_classes = _resolve(
        weights, weights_backbone, num_classes, kwargs, SSDLite320_MobileNet_V3_Large_Weights,
        MobileNet_V3_Large_Weights, MobileNet_V3_Large_Weights.IMAGENET1K_V1)
    if "size" in kwargs:
        warnings.warn("The size of the model is already fixed; ignoring the parameter.")
        kwargs.pop("size")
    trainable = _validate_trainable_layers(weights is not None or weights_backbone is not None,
                                           trainable_backbone_layers, 6, 6)
    if norm_layer is None:
        norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)
    backbone = mobilenet_v3_large(weights=weights_backbone, progress=progress,
                                  norm_layer=norm_layer, reduced_tail=weights_backbone is None)
    if weights_backbone is None:
        _normal_init(backbone)
    backbone = _mobilenet_extractor(backbone, trainable, norm_layer)
    size = (320, 320)
    anchor_generator = DefaultBoxGenerator([[2, 3] for _ in range(6)], min_ratio=0.2,
                                           max_ratio=0.95)
    out_channels = det_utils.retrieve_out_channels(backbone, size)
    num_anchors = anchor_generator.num_anchors_per_location()
    if len(out_channels) != len(anchor_generator.aspect_ratios):
        raise ValueError(
            f"The length of the output channels from the backbone {len(out_channels)} do not "
            "match the length of the anchor generator aspect ratios "
            f"{len(anchor_generator.aspect_ratios)}")
    defaults = {"score_thresh": 0.001, "nms_thresh": 0.55, "detections_per_img": 300,
                "topk_candidates": 300, "image_mean": [0.5, 0.5, 0.5],
                "image_std": [0.5, 0.5, 0.5]}
    model = SSD(backbone, anchor_generator, size, num_classes,
                head=SSDLiteHead(out_channels, num_anchors, num_classes, norm_layer),
                **{**defaults, **kwargs})
    return _load(model, weights, progress)
