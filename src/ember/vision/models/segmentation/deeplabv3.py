"""DeepLabV3 (Chen et al. 2017): atrous spatial pyramid pooling (parallel dilated 3x3
convs, a 1x1 conv and an image-level pooling branch) on a dilated ResNet or MobileNetV3."""

from __future__ import annotations

from collections.abc import Sequence

import ember
import ember.nn.functional as F
from ember import nn

from .._api import make_weights_enum, register_model
from .._utils import IntermediateLayerGetter
from ..mobilenet import MobileNet_V3_Large_Weights, MobileNetV3, mobilenet_v3_large
from ..resnet import ResNet, ResNet50_Weights, ResNet101_Weights, resnet50, resnet101
from ._utils import _SimpleSegmentationModel, resolve_segmentation_weights, segmentation_weights
from .fcn import FCNHead

__all__ = [
    "DeepLabV3",
    "DeepLabV3_MobileNet_V3_Large_Weights",
    "DeepLabV3_ResNet50_Weights",
    "DeepLabV3_ResNet101_Weights",
    "deeplabv3_mobilenet_v3_large",
    "deeplabv3_resnet50",
    "deeplabv3_resnet101",
]

_URL = "https://download.pytorch.org/models/"


class DeepLabV3(_SimpleSegmentationModel):
    """DeepLabV3: ``backbone`` features -> ``DeepLabHead`` (ASPP), optional FCN aux head."""


class DeepLabHead(nn.Sequential):
    """ASPP, a 3x3 conv-BN-ReLU, and a 1x1 conv to ``num_classes``."""

    def __init__(self, in_channels: int, num_classes: int,
                 atrous_rates: Sequence[int] = (12, 24, 36)) -> None:
        super().__init__(
            ASPP(in_channels, atrous_rates),
            nn.Conv2d(256, 256, 3, padding=1, bias=False),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            nn.Conv2d(256, num_classes, 1),
        )


class ASPPConv(nn.Sequential):
    """A 3x3 conv dilated by ``dilation`` (padding keeps the size), BN, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, dilation: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation,
                      bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )


class ASPPPooling(nn.Sequential):
    """Image-level context: global average pool, 1x1 conv-BN-ReLU, upsampled back."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )

    def forward(self, x):
        size = x.shape[-2:]
        for mod in self:
            x = mod(x)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """Five parallel branches (1x1 conv, three dilated 3x3 convs, pooling) concatenated
    and projected to ``out_channels`` (1x1 conv, BN, ReLU, Dropout(0.5))."""

    def __init__(self, in_channels: int, atrous_rates: Sequence[int],
                 out_channels: int = 256) -> None:
        super().__init__()
        modules: list[nn.Module] = [nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU())]
        for rate in tuple(atrous_rates):
            modules.append(ASPPConv(in_channels, out_channels, rate))
        modules.append(ASPPPooling(in_channels, out_channels))
        self.convs = nn.ModuleList(modules)
        self.project = nn.Sequential(
            nn.Conv2d(len(self.convs) * out_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Dropout(0.5),
        )

    def forward(self, x):
        return self.project(ember.cat([conv(x) for conv in self.convs], dim=1))


DeepLabV3_ResNet50_Weights = make_weights_enum("DeepLabV3_ResNet50_Weights", {
    "COCO_WITH_VOC_LABELS_V1": segmentation_weights(
        _URL + "deeplabv3_resnet50_coco-cd0a2569.pth", 42004074, 66.4, 92.4, 178.722,
        160.515, "#deeplabv3_resnet50"),
}, __name__)
DeepLabV3_ResNet101_Weights = make_weights_enum("DeepLabV3_ResNet101_Weights", {
    "COCO_WITH_VOC_LABELS_V1": segmentation_weights(
        _URL + "deeplabv3_resnet101_coco-586e9e4e.pth", 60996202, 67.4, 92.4, 258.743,
        233.217, "#fcn_resnet101"),
}, __name__)
DeepLabV3_MobileNet_V3_Large_Weights = make_weights_enum(
    "DeepLabV3_MobileNet_V3_Large_Weights", {
        "COCO_WITH_VOC_LABELS_V1": segmentation_weights(
            _URL + "deeplabv3_mobilenet_v3_large-fc3c493d.pth", 11029328, 60.3, 91.2, 10.452,
            42.301, "#deeplabv3_mobilenet_v3_large"),
    }, __name__)


def _deeplabv3_resnet(backbone: ResNet, num_classes: int, aux: bool | None) -> DeepLabV3:
    return_layers = {"layer4": "out"}
    if aux:
        return_layers["layer3"] = "aux"
    backbone = IntermediateLayerGetter(backbone, return_layers=return_layers)
    aux_classifier = FCNHead(1024, num_classes) if aux else None
    return DeepLabV3(backbone, DeepLabHead(2048, num_classes), aux_classifier)


def mobilenet_stage_indices(features: nn.Sequential) -> list[int]:
    """Positions of the stem, every strided block (``_is_cn``) and the last layer: the
    C0..Cn feature levels that the MobileNetV3 heads read from."""
    strided = [i for i, b in enumerate(features) if getattr(b, "_is_cn", False)]
    return [0] + strided + [len(features) - 1]


def _deeplabv3_mobilenetv3(backbone: MobileNetV3, num_classes: int,
                           aux: bool | None) -> DeepLabV3:
    features = backbone.features
    stage_indices = mobilenet_stage_indices(features)
    out_pos = stage_indices[-1]  # C5, output stride 16 with the dilated tail
    aux_pos = stage_indices[-4]  # C2, output stride 8
    out_inplanes = features[out_pos].out_channels
    aux_inplanes = features[aux_pos].out_channels
    return_layers = {str(out_pos): "out"}
    if aux:
        return_layers[str(aux_pos)] = "aux"
    body = IntermediateLayerGetter(features, return_layers=return_layers)
    aux_classifier = FCNHead(aux_inplanes, num_classes) if aux else None
    return DeepLabV3(body, DeepLabHead(out_inplanes, num_classes), aux_classifier)


def _build(make_backbone, make_model, enum_cls, backbone_enum, weights, progress,
           num_classes, aux_loss, weights_backbone, kwargs):
    weights, weights_backbone, num_classes, aux_loss = resolve_segmentation_weights(
        weights, weights_backbone, kwargs, enum_cls, backbone_enum, num_classes, aux_loss)
    model = make_model(make_backbone(weights_backbone, progress), num_classes, aux_loss)
    if weights is not None:
        model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
    return model


def _dilated(resnet_fn):
    def make(weights_backbone, progress):
        return resnet_fn(weights=weights_backbone, progress=progress,
                         replace_stride_with_dilation=[False, True, True])
    return make


def _mobilenet_backbone(weights_backbone, progress):
    return mobilenet_v3_large(weights=weights_backbone, progress=progress, dilated=True)


@register_model()
def deeplabv3_resnet50(*, weights: DeepLabV3_ResNet50_Weights | None = None,
                       progress: bool = True, num_classes: int | None = None,
                       aux_loss: bool | None = None,
                       weights_backbone: ResNet50_Weights | None = ResNet50_Weights.IMAGENET1K_V1,
                       **kwargs) -> DeepLabV3:
    """DeepLabV3 with a dilated ResNet-50 backbone, 42.0M parameters (with the aux head)."""
    return _build(_dilated(resnet50), _deeplabv3_resnet, DeepLabV3_ResNet50_Weights,
                  ResNet50_Weights, weights, progress, num_classes, aux_loss,
                  weights_backbone, kwargs)


@register_model()
def deeplabv3_resnet101(*, weights: DeepLabV3_ResNet101_Weights | None = None,
                        progress: bool = True, num_classes: int | None = None,
                        aux_loss: bool | None = None,
                        weights_backbone: ResNet101_Weights | None =
                        ResNet101_Weights.IMAGENET1K_V1,
                        **kwargs) -> DeepLabV3:
    """DeepLabV3 with a dilated ResNet-101 backbone, 61.0M parameters (with the aux head)."""
    return _build(_dilated(resnet101), _deeplabv3_resnet, DeepLabV3_ResNet101_Weights,
                  ResNet101_Weights, weights, progress, num_classes, aux_loss,
                  weights_backbone, kwargs)


@register_model()
def deeplabv3_mobilenet_v3_large(
        *, weights: DeepLabV3_MobileNet_V3_Large_Weights | None = None,
        progress: bool = True, num_classes: int | None = None, aux_loss: bool | None = None,
        weights_backbone: MobileNet_V3_Large_Weights | None =
        MobileNet_V3_Large_Weights.IMAGENET1K_V1,
        **kwargs) -> DeepLabV3:
    """DeepLabV3 on MobileNetV3-Large with a dilated tail, 11.0M parameters (with aux)."""
    return _build(_mobilenet_backbone, _deeplabv3_mobilenetv3,
                  DeepLabV3_MobileNet_V3_Large_Weights, MobileNet_V3_Large_Weights, weights,
                  progress, num_classes, aux_loss, weights_backbone, kwargs)
