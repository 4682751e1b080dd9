"""Backbones for the detectors: a classifier's stages under a FeaturePyramidNetwork.

The classifier keeps its own module names under ``body.``, so ImageNet checkpoints and
torchvision's detection checkpoints load unchanged.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from ember import nn
from ember.vision.ops import FrozenBatchNorm2d
from ember.vision.ops.feature_pyramid_network import (
    ExtraFPNBlock,
    FeaturePyramidNetwork,
    LastLevelMaxPool,
)

from .. import mobilenet, resnet
from .._utils import IntermediateLayerGetter, _legacy_weights


class BackboneWithFPN(nn.Module):
    """``backbone``'s outputs named in ``return_layers`` fed through an FPN.

    Args:
        backbone: the feature extractor; its direct children run in order.
        return_layers: {child name: output name}.
        in_channels_list: channels of each returned map. out_channels: the FPN width.
        extra_blocks: extra FPN levels (default: a max-pooled "pool" level).
        norm_layer: normalisation inside the FPN (none by default).
    """

    def __init__(self, backbone: nn.Module, return_layers: dict[str, str],
                 in_channels_list: list[int], out_channels: int,
                 extra_blocks: ExtraFPNBlock | None = None,
                 norm_layer: Callable | None = None) -> None:
        super().__init__()
        if extra_blocks is None:
            extra_blocks = LastLevelMaxPool()
        self.body = IntermediateLayerGetter(backbone, return_layers=return_layers)
        self.fpn = FeaturePyramidNetwork(in_channels_list=in_channels_list,
                                         out_channels=out_channels,
                                         extra_blocks=extra_blocks, norm_layer=norm_layer)
        self.out_channels = out_channels

    def forward(self, x):
        return self.fpn(self.body(x))


def _enum_of(builder):
    from .._api import get_model_weights

    return get_model_weights(builder)


def resnet_fpn_backbone(*, backbone_name: str, weights=None,
                        norm_layer: Callable = FrozenBatchNorm2d, trainable_layers: int = 3,
                        returned_layers: list[int] | None = None,
                        extra_blocks: ExtraFPNBlock | None = None, **kwargs) -> BackboneWithFPN:
    """A ResNet (``backbone_name``, e.g. "resnet50") with an FPN on top; the stem and
    the first ``5 - trainable_layers`` stages are frozen.

    Example::

        >>> backbone = resnet_fpn_backbone(backbone_name="resnet18", weights=None)
        >>> [(k, v.shape) for k, v in backbone(ember.rand(1, 3, 64, 64)).items()]
        [('0', ember.Size([1, 256, 16, 16])), ('1', ember.Size([1, 256, 8, 8])),
         ('2', ember.Size([1, 256, 4, 4])), ('3', ember.Size([1, 256, 2, 2])),
         ('pool', ember.Size([1, 256, 1, 1]))]
    """
    builder = getattr(resnet, backbone_name)
    weights = _legacy_weights(kwargs, weights, "weights", "pretrained",
                              _enum_of(builder)["IMAGENET1K_V1"])
    if kwargs:
        raise TypeError(f"resnet_fpn_backbone() got an unexpected keyword argument "
                        f"'{next(iter(kwargs))}'")
    backbone = builder(weights=weights, norm_layer=norm_layer)
    return _resnet_fpn_extractor(backbone, trainable_layers, returned_layers, extra_blocks)


def _resnet_fpn_extractor(backbone, trainable_layers: int,
                          returned_layers: list[int] | None = None,
                          extra_blocks: ExtraFPNBlock | None = None,
                          norm_layer: Callable | None = None) -> BackboneWithFPN:
    if trainable_layers < 0 or trainable_layers > 5:
        raise ValueError(f"Trainable layers should be in the range [0,5], got {trainable_layers}")
    layers_to_train = ["layer4", "layer3", "layer2", "layer1", "conv1"][:trainable_layers]
    if trainable_layers == 5:
        layers_to_train.append("bn1")
    for name, parameter in backbone.named_parameters():
        if not any(name.startswith(layer) for layer in layers_to_train):
            parameter.requires_grad_(False)
    if extra_blocks is None:
        extra_blocks = LastLevelMaxPool()
    if returned_layers is None:
        returned_layers = [1, 2, 3, 4]
    if min(returned_layers) <= 0 or max(returned_layers) >= 5:
        raise ValueError(f"Each returned layer should be in the range [1,4]. Got {returned_layers}")
    return_layers = {f"layer{k}": str(v) for v, k in enumerate(returned_layers)}
    in_channels_stage2 = backbone.inplanes // 8
    in_channels_list = [in_channels_stage2 * 2 ** (i - 1) for i in returned_layers]
    return BackboneWithFPN(backbone, return_layers, in_channels_list, 256,
                           extra_blocks=extra_blocks, norm_layer=norm_layer)


def _validate_trainable_layers(is_trained: bool, trainable_backbone_layers: int | None,
                               max_value: int, default_value: int) -> int:
    """Without pretrained weights every layer trains (with torchvision's warning when a
    count was asked for); otherwise the count defaults to ``default_value``."""
    if not is_trained:
        if trainable_backbone_layers is not None:
            warnings.warn(
                "Changing trainable_backbone_layers has no effect if neither pretrained nor "
                "pretrained_backbone have been set to True, falling back to "
                f"trainable_backbone_layers={max_value} so that all layers are trainable")
        trainable_backbone_layers = max_value
    if trainable_backbone_layers is None:
        trainable_backbone_layers = default_value
    if trainable_backbone_layers < 0 or trainable_backbone_layers > max_value:
        raise ValueError(f"Trainable backbone layers should be in the range [0,{max_value}], "
                         f"got {trainable_backbone_layers} ")
    return trainable_backbone_layers


def mobilenet_backbone(*, backbone_name: str, weights=None, fpn: bool,
                       norm_layer: Callable = FrozenBatchNorm2d, trainable_layers: int = 2,
                       returned_layers: list[int] | None = None,
                       extra_blocks: ExtraFPNBlock | None = None, **kwargs) -> nn.Module:
    """A MobileNet's ``features`` with an FPN (``fpn=True``) or a 1x1 conv to 256."""
    builder = getattr(mobilenet, backbone_name)
    weights = _legacy_weights(kwargs, weights, "weights", "pretrained",
                              _enum_of(builder)["IMAGENET1K_V1"])
    if kwargs:
        raise TypeError(f"mobilenet_backbone() got an unexpected keyword argument "
                        f"'{next(iter(kwargs))}'")
    backbone = builder(weights=weights, norm_layer=norm_layer)
    return _mobilenet_extractor(backbone, fpn, trainable_layers, returned_layers, extra_blocks)


def _mobilenet_extractor(backbone, fpn: bool, trainable_layers: int,
                         returned_layers: list[int] | None = None,
                         extra_blocks: ExtraFPNBlock | None = None,
                         norm_layer: Callable | None = None) -> nn.Module:
    features = backbone.features
    # stages start at the stem and at every strided block ("C_n" in the papers)
    stage_indices = ([0] + [i for i, b in enumerate(features) if getattr(b, "_is_cn", False)]
                     + [len(features) - 1])
    num_stages = len(stage_indices)
    if trainable_layers < 0 or trainable_layers > num_stages:
        raise ValueError(f"Trainable layers should be in the range [0,{num_stages}], "
                         f"got {trainable_layers} ")
    freeze_before = (len(features) if trainable_layers == 0
                     else stage_indices[num_stages - trainable_layers])
    for block in features[:freeze_before]:
        for parameter in block.parameters():
            parameter.requires_grad_(False)
    out_channels = 256
    if fpn:
        if extra_blocks is None:
            extra_blocks = LastLevelMaxPool()
        if returned_layers is None:
            returned_layers = [num_stages - 2, num_stages - 1]
        if min(returned_layers) < 0 or max(returned_layers) >= num_stages:
            raise ValueError(f"Each returned layer should be in the range [0,{num_stages - 1}], "
                             f"got {returned_layers} ")
        return_layers = {f"{stage_indices[k]}": str(v) for v, k in enumerate(returned_layers)}
        in_channels_list = [features[stage_indices[i]].out_channels for i in returned_layers]
        return BackboneWithFPN(features, return_layers, in_channels_list, out_channels,
                               extra_blocks=extra_blocks, norm_layer=norm_layer)
    model = nn.Sequential(features, nn.Conv2d(features[-1].out_channels, out_channels, 1))
    model.out_channels = out_channels
    return model
