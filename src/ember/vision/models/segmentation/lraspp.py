"""Lite R-ASPP (Howard et al. 2019, MobileNetV3 paper): a cheap segmentation head that
gates 1x1-conv features of the stride-16 map by a pooled sigmoid and adds a linear
classifier on the stride-8 map."""

from __future__ import annotations

from collections import OrderedDict

import ember.nn.functional as F
from ember import nn

from .._api import make_weights_enum, register_model
from .._utils import IntermediateLayerGetter
from ..mobilenet import MobileNet_V3_Large_Weights, MobileNetV3, mobilenet_v3_large
from ._utils import resolve_segmentation_weights, segmentation_weights
from .deeplabv3 import mobilenet_stage_indices

__all__ = ["LRASPP", "LRASPP_MobileNet_V3_Large_Weights", "lraspp_mobilenet_v3_large"]


class LRASPP(nn.Module):
    """``backbone`` returns ``{"low", "high"}`` feature maps; ``classifier`` (an
    ``LRASPPHead``) combines them; the result is upsampled to the input size.

    Returns an OrderedDict with ``"out"`` only (no auxiliary head).
    """

    def __init__(self, backbone: nn.Module, low_channels: int, high_channels: int,
                 num_classes: int, inter_channels: int = 128) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = LRASPPHead(low_channels, high_channels, num_classes, inter_channels)

    def forward(self, input):
        features = self.backbone(input)
        out = self.classifier(features)
        result = OrderedDict()
        result["out"] = F.interpolate(out, size=input.shape[-2:], mode="bilinear",
                                      align_corners=False)
        return result


class LRASPPHead(nn.Module):
    """high -> 1x1 conv-BN-ReLU, times a sigmoid gate from its global average; upsampled
    to the low map's size and classified; plus a 1x1 classifier on the low map."""

    def __init__(self, low_channels: int, high_channels: int, num_classes: int,
                 inter_channels: int) -> None:
        super().__init__()
        self.cbr = nn.Sequential(
            nn.Conv2d(high_channels, inter_channels, 1, bias=False),
            nn.BatchNorm2d(inter_channels),
            nn.ReLU(inplace=True),
        )
        self.scale = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(high_channels, inter_channels, 1, bias=False),
            nn.Sigmoid(),
        )
        self.low_classifier = nn.Conv2d(low_channels, num_classes, 1)
        self.high_classifier = nn.Conv2d(inter_channels, num_classes, 1)

    def forward(self, input):
        low, high = input["low"], input["high"]
        x = self.cbr(high) * self.scale(high)
        x = F.interpolate(x, size=low.shape[-2:], mode="bilinear", align_corners=False)
        return self.low_classifier(low) + self.high_classifier(x)


def _lraspp_mobilenetv3(backbone: MobileNetV3, num_classes: int) -> LRASPP:
    features = backbone.features
    stage_indices = mobilenet_stage_indices(features)
    low_pos = stage_indices[-4]  # C2, output stride 8
    high_pos = stage_indices[-1]  # C5, output stride 16
    low_channels = features[low_pos].out_channels
    high_channels = features[high_pos].out_channels
    body = IntermediateLayerGetter(features, return_layers={str(low_pos): "low",
                                                            str(high_pos): "high"})
    return LRASPP(body, low_channels, high_channels, num_classes)


LRASPP_MobileNet_V3_Large_Weights = make_weights_enum("LRASPP_MobileNet_V3_Large_Weights", {
    "COCO_WITH_VOC_LABELS_V1": segmentation_weights(
        "https://download.pytorch.org/models/lraspp_mobilenet_v3_large-d234d4ea.pth",
        3221538, 57.9, 91.2, 2.086, 12.49, "#lraspp_mobilenet_v3_large"),
}, __name__)


@register_model()
def lraspp_mobilenet_v3_large(
        *, weights: LRASPP_MobileNet_V3_Large_Weights | None = None, progress: bool = True,
        num_classes: int | None = None,
        weights_backbone: MobileNet_V3_Large_Weights | None =
        MobileNet_V3_Large_Weights.IMAGENET1K_V1,
        **kwargs) -> LRASPP:
    """Lite R-ASPP on MobileNetV3-Large with a dilated tail, 3.2M parameters.

    Raises NotImplementedError for ``aux_loss=True``: this model has no auxiliary head.
    """
    if kwargs.pop("aux_loss", False):
        raise NotImplementedError("This model does not use auxiliary loss")
    weights, weights_backbone, num_classes, _ = resolve_segmentation_weights(
        weights, weights_backbone, kwargs, LRASPP_MobileNet_V3_Large_Weights,
        MobileNet_V3_Large_Weights, num_classes, None, has_aux=False)
    backbone = mobilenet_v3_large(weights=weights_backbone, progress=progress, dilated=True)
    model = _lraspp_mobilenetv3(backbone, num_classes)
    if weights is not None:
        model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
    return model
