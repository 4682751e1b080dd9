"""FCN (Long et al. 2015) on a dilated ResNet: the last two stages keep stride 8 and an
``FCNHead`` (3x3 conv, BN, ReLU, dropout, 1x1 conv) predicts per-pixel classes."""

from __future__ import annotations

from ember import nn

from .._api import make_weights_enum, register_model
from .._utils import IntermediateLayerGetter
from ..resnet import ResNet, ResNet50_Weights, ResNet101_Weights, resnet50, resnet101
from ._utils import _SimpleSegmentationModel, resolve_segmentation_weights, segmentation_weights

__all__ = ["FCN", "FCN_ResNet50_Weights", "FCN_ResNet101_Weights", "fcn_resnet50",
           "fcn_resnet101"]

_URL = "https://download.pytorch.org/models/"


class FCN(_SimpleSegmentationModel):
    """Fully Convolutional Network: ``backbone`` returns ``{"out", "aux"}`` features,
    ``classifier`` (and ``aux_classifier``) turn them into class maps."""


class FCNHead(nn.Sequential):
    """3x3 conv to ``in_channels // 4``, BN, ReLU, Dropout(0.1), 1x1 conv to ``channels``."""

    def __init__(self, in_channels: int, channels: int) -> None:
        inter_channels = in_channels // 4
        super().__init__(
            nn.Conv2d(in_channels, inter_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(inter_channels),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Conv2d(inter_channels, channels, 1),
        )


FCN_ResNet50_Weights = make_weights_enum("FCN_ResNet50_Weights", {
    "COCO_WITH_VOC_LABELS_V1": segmentation_weights(
        _URL + "fcn_resnet50_coco-1167a1af.pth", 35322218, 60.5, 91.4, 152.717, 135.009,
        "#fcn_resnet50"),
}, __name__)
FCN_ResNet101_Weights = make_weights_enum("FCN_ResNet101_Weights", {
    "COCO_WITH_VOC_LABELS_V1": segmentation_weights(
        _URL + "fcn_resnet101_coco-7ecb50ca.pth", 54314346, 63.7, 91.9, 232.738, 207.711,
        "#deeplabv3_resnet101"),
}, __name__)


def _fcn_resnet(backbone: ResNet, num_classes: int, aux: bool | None) -> FCN:
    return_layers = {"layer4": "out"}
    if aux:
        return_layers["layer3"] = "aux"
    backbone = IntermediateLayerGetter(backbone, return_layers=return_layers)
    aux_classifier = FCNHead(1024, num_classes) if aux else None
    return FCN(backbone, FCNHead(2048, num_classes), aux_classifier)


def _build(resnet_fn, enum_cls, backbone_enum, weights, progress, num_classes, aux_loss,
           weights_backbone, kwargs):
    weights, weights_backbone, num_classes, aux_loss = resolve_segmentation_weights(
        weights, weights_backbone, kwargs, enum_cls, backbone_enum, num_classes, aux_loss)
    backbone = resnet_fn(weights=weights_backbone, progress=progress,
                         replace_stride_with_dilation=[False, True, True])
    model = _fcn_resnet(backbone, num_classes, aux_loss)
    if weights is not None:
        model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
    return model


@register_model()
def fcn_resnet50(*, weights: FCN_ResNet50_Weights | None = None, progress: bool = True,
                 num_classes: int | None = None, aux_loss: bool | None = None,
                 weights_backbone: ResNet50_Weights | None = ResNet50_Weights.IMAGENET1K_V1,
                 **kwargs) -> FCN:
    """FCN with a dilated ResNet-50 backbone, 35.3M parameters (with the aux head).

    As torchvision, ``weights_backbone`` defaults to the ImageNet ResNet-50 checkpoint;
    pass ``weights_backbone=None`` for a randomly initialised model.
    """
    return _build(resnet50, FCN_ResNet50_Weights, ResNet50_Weights, weights, progress,
                  num_classes, aux_loss, weights_backbone, kwargs)


@register_model()
def fcn_resnet101(*, weights: FCN_ResNet101_Weights | None = None, progress: bool = True,
                  num_classes: int | None = None, aux_loss: bool | None = None,
                  weights_backbone: ResNet101_Weights | None = ResNet101_Weights.IMAGENET1K_V1,
                  **kwargs) -> FCN:
    """FCN with a dilated ResNet-101 backbone, 54.3M parameters (with the aux head)."""
    return _build(resnet101, FCN_ResNet101_Weights, ResNet101_Weights, weights, progress,
                  num_classes, aux_loss, weights_backbone, kwargs)
