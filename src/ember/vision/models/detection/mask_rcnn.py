"""Mask R-CNN (torchvision.models.detection.mask_rcnn): Faster R-CNN plus a mask branch
predicting a 28x28 mask per detection and class."""

from __future__ import annotations

from collections import OrderedDict

from ember import nn
from ember.vision.ops import Conv2dNormActivation, FrozenBatchNorm2d, MultiScaleRoIAlign

from .._api import make_weights_enum, register_model
from ..resnet import ResNet50_Weights, resnet50
from ._meta import _ENHANCED_RECIPE, coco_weights
from ._utils import overwrite_eps
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .faster_rcnn import (
    FasterRCNN,
    FastRCNNConvFCHead,
    _default_anchorgen,
    _load,
    _resolve,
)
from .rpn import RPNHead

__all__ = [
    "MaskRCNN",
    "MaskRCNN_ResNet50_FPN_V2_Weights",
    "MaskRCNN_ResNet50_FPN_Weights",
    "maskrcnn_resnet50_fpn",
    "maskrcnn_resnet50_fpn_v2",
]


class MaskRCNN(FasterRCNN):
    """Faster R-CNN with a mask branch: ``mask_roi_pool`` (14x14 RoIAlign),
    ``mask_head`` (four 3x3 convs) and ``mask_predictor`` (2x deconv, per-class logits).

    Training targets also need ``masks`` (uint8 [N, H, W]); the losses gain
    ``loss_mask``. In eval each detection gets ``masks`` [N, 1, H, W] of probabilities
    in the original image size. Other arguments as :class:`FasterRCNN`.
    """

    def __init__(self, backbone, num_classes=None, *args, mask_roi_pool=None, mask_head=None,
                 mask_predictor=None, **kwargs) -> None:
        if not isinstance(mask_roi_pool, (MultiScaleRoIAlign, type(None))):
            raise TypeError("mask_roi_pool should be of type MultiScaleRoIAlign or None instead "
                            f"of {type(mask_roi_pool)}")
        if num_classes is not None and mask_predictor is not None:
            raise ValueError("num_classes should be None when mask_predictor is specified")
        out_channels = backbone.out_channels
        if mask_roi_pool is None:
            mask_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"],
                                               output_size=14, sampling_ratio=2)
        if mask_head is None:
            mask_head = MaskRCNNHeads(out_channels, (256, 256, 256, 256), 1)
        if mask_predictor is None:
            mask_predictor = MaskRCNNPredictor(256, 256, num_classes)
        super().__init__(backbone, num_classes, *args, **kwargs)
        self.roi_heads.mask_roi_pool = mask_roi_pool
        self.roi_heads.mask_head = mask_head
        self.roi_heads.mask_predictor = mask_predictor


class MaskRCNNHeads(nn.Sequential):
    """3x3 conv (+norm) + ReLU layers, one per entry of ``layers``."""

    _version = 2

    def __init__(self, in_channels: int, layers, dilation: int, norm_layer=None) -> None:
        blocks = []
        previous = in_channels
        for features in layers:
            blocks.append(Conv2dNormActivation(previous, features, kernel_size=3, stride=1,
                                               padding=dilation, dilation=dilation,
                                               norm_layer=norm_layer))
            previous = features
        super().__init__(*blocks)
        for layer in self.modules():
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # version 1 named the convs mask_fcn1..4
        version = local_metadata.get("version", None)
        if version is None or version < 2:
            for i in range(len(self)):
                for kind in ("weight", "bias"):
                    old_key, new_key = f"{prefix}mask_fcn{i + 1}.{kind}", f"{prefix}{i}.0.{kind}"
                    if old_key in state_dict:
                        state_dict[new_key] = state_dict.pop(old_key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


class MaskRCNNPredictor(nn.Sequential):
    """2x2 stride-2 transposed conv, ReLU, 1x1 conv to one mask logit map per class."""

    def __init__(self, in_channels: int, dim_reduced: int, num_classes: int) -> None:
        super().__init__(OrderedDict([
            ("conv5_mask", nn.ConvTranspose2d(in_channels, dim_reduced, 2, 2, 0)),
            ("relu", nn.ReLU(inplace=True)),
            ("mask_fcn_logits", nn.Conv2d(dim_reduced, num_classes, 1, 1, 0)),
        ]))
        for name, param in self.named_parameters():
            if "weight" in name:
                nn.init.kaiming_normal_(param, mode="fan_out", nonlinearity="relu")


MaskRCNN_ResNet50_FPN_Weights = make_weights_enum("MaskRCNN_ResNet50_FPN_Weights", {
    "COCO_V1": coco_weights(
        "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth", 44401393,
        "https://github.com/pytorch/vision/tree/main/references/detection#mask-r-cnn",
        {"box_map": 37.9, "mask_map": 34.6}, 134.38, 169.84)}, __name__)
MaskRCNN_ResNet50_FPN_V2_Weights = make_weights_enum("MaskRCNN_ResNet50_FPN_V2_Weights", {
    "COCO_V1": coco_weights(
        "maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth", 46359409,
        "https://github.com/pytorch/vision/pull/5773", {"box_map": 47.4, "mask_map": 41.8},
        333.577, 177.219, _docs=_ENHANCED_RECIPE)}, __name__)


@register_model()
def maskrcnn_resnet50_fpn(*, weights: MaskRCNN_ResNet50_FPN_Weights | None = None,
                          progress: bool = True, num_classes: int | None = None,
                          weights_backbone: ResNet50_Weights | None = (
                              ResNet50_Weights.IMAGENET1K_V1),
                          trainable_backbone_layers: int | None = None, **kwargs) -> MaskRCNN:
    """Mask R-CNN with a ResNet-50 FPN backbone (He et al., 2017). Arguments as
    :func:`fasterrcnn_resnet50_fpn`; **kwargs go to :class:`MaskRCNN`."""
    weights, weights_backbone, num_classes = _resolve(
        weights, weights_backbone, num_classes, kwargs, MaskRCNN_ResNet50_FPN_Weights,
        ResNet50_Weights, ResNet50_Weights.IMAGENET1K_V1)
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    model = MaskRCNN(_resnet_fpn_extractor(backbone, trainable), num_classes=num_classes,
                     **kwargs)
    _load(model, weights, progress)
    if weights == MaskRCNN_ResNet50_FPN_Weights.COCO_V1:
        overwrite_eps(model, 0.0)
    return model


@register_model()
def maskrcnn_resnet50_fpn_v2(*, weights: MaskRCNN_ResNet50_FPN_V2_Weights | None = None,
                             progress: bool = True, num_classes: int | None = None,
                             weights_backbone: ResNet50_Weights | None = None,
                             trainable_backbone_layers: int | None = None,
                             **kwargs) -> MaskRCNN:
    """Mask R-CNN v2 (Li et al., 2021): BatchNorm FPN and heads, two-conv RPN head."""
    weights, weights_backbone, num_classes = _resolve(
        weights, weights_backbone, num_classes, kwargs, MaskRCNN_ResNet50_FPN_V2_Weights,
        ResNet50_Weights, ResNet50_Weights.IMAGENET1K_V1)
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    backbone = resnet50(weights=weights_backbone, progress=progress)
    backbone = _resnet_fpn_extractor(backbone, trainable, norm_layer=nn.BatchNorm2d)
    anchor_generator = _default_anchorgen()
    rpn_head = RPNHead(backbone.out_channels, anchor_generator.num_anchors_per_location()[0],
                       conv_depth=2)
    box_head = FastRCNNConvFCHead((backbone.out_channels, 7, 7), [256, 256, 256, 256], [1024],
                                  norm_layer=nn.BatchNorm2d)
    mask_head = MaskRCNNHeads(backbone.out_channels, [256, 256, 256, 256], 1,
                              norm_layer=nn.BatchNorm2d)
    model = MaskRCNN(backbone, num_classes=num_classes, rpn_anchor_generator=anchor_generator,
                     rpn_head=rpn_head, box_head=box_head, mask_head=mask_head, **kwargs)
    return _load(model, weights, progress)
