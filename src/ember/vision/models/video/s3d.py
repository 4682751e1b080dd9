"""S3D (Xie et al. 2018): an Inception-v1 network whose 3D convs are separable into a
spatial 1xkxk and a temporal kx1x1 conv."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import ember
from ember import nn
from ember.vision.ops.misc import Conv3dNormActivation

from .._api import apply_weights, make_weights_enum, register_model, resolve_weights
from ._utils import kinetics_weights

__all__ = ["S3D", "S3D_Weights", "s3d"]


class TemporalSeparableConv(nn.Sequential):
    """1xkxk conv-BN-ReLU (spatial stride) then kx1x1 conv-BN-ReLU (temporal stride)."""

    def __init__(self, in_planes: int, out_planes: int, kernel_size: int, stride: int,
                 padding: int, norm_layer: Callable) -> None:
        super().__init__(
            Conv3dNormActivation(in_planes, out_planes, kernel_size=(1, kernel_size, kernel_size),
                                 stride=(1, stride, stride), padding=(0, padding, padding),
                                 bias=False, norm_layer=norm_layer),
            Conv3dNormActivation(out_planes, out_planes, kernel_size=(kernel_size, 1, 1),
                                 stride=(stride, 1, 1), padding=(padding, 0, 0), bias=False,
                                 norm_layer=norm_layer),
        )


class SepInceptionBlock3D(nn.Module):
    """Four branches concatenated on channels: 1x1x1; 1x1x1 then separable 3x3x3 (twice,
    with different widths); 3x3x3 max pool then 1x1x1."""

    def __init__(self, in_planes: int, b0_out: int, b1_mid: int, b1_out: int, b2_mid: int,
                 b2_out: int, b3_out: int, norm_layer: Callable) -> None:
        super().__init__()
        self.branch0 = Conv3dNormActivation(in_planes, b0_out, kernel_size=1, stride=1,
                                            norm_layer=norm_layer)
        self.branch1 = nn.Sequential(
            Conv3dNormActivation(in_planes, b1_mid, kernel_size=1, stride=1,
                                 norm_layer=norm_layer),
            TemporalSeparableConv(b1_mid, b1_out, kernel_size=3, stride=1, padding=1,
                                  norm_layer=norm_layer))
        self.branch2 = nn.Sequential(
            Conv3dNormActivation(in_planes, b2_mid, kernel_size=1, stride=1,
                                 norm_layer=norm_layer),
            TemporalSeparableConv(b2_mid, b2_out, kernel_size=3, stride=1, padding=1,
                                  norm_layer=norm_layer))
        self.branch3 = nn.Sequential(
            nn.MaxPool3d(kernel_size=(3, 3, 3), stride=1, padding=1),
            Conv3dNormActivation(in_planes, b3_out, kernel_size=1, stride=1,
                                 norm_layer=norm_layer))

    def forward(self, x):
        return ember.cat((self.branch0(x), self.branch1(x), self.branch2(x),
                          self.branch3(x)), 1)


class S3D(nn.Module):
    """S3D for clips (N, 3, T, H, W): the features end with a (2, 7, 7) average pool, so
    inputs need at least 14 frames of 224x224 (the weights' ``min_size``).

    Args:
        num_classes: classifier width (a 1x1x1 conv). Default 400.
        dropout: dropout before the classifier.
        norm_layer: default BatchNorm3d(eps=0.001, momentum=0.001).
    """

    def __init__(self, num_classes: int = 400, dropout: float = 0.2,
                 norm_layer: Callable | None = None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = partial(nn.BatchNorm3d, eps=0.001, momentum=0.001)
        block = partial(SepInceptionBlock3D, norm_layer=norm_layer)
        self.features = nn.Sequential(
            TemporalSeparableConv(3, 64, 7, 2, 3, norm_layer),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
            Conv3dNormActivation(64, 64, kernel_size=1, stride=1, norm_layer=norm_layer),
            TemporalSeparableConv(64, 192, 3, 1, 1, norm_layer),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
            block(192, 64, 96, 128, 16, 32, 32),
            block(256, 128, 128, 192, 32, 96, 64),
            nn.MaxPool3d(kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(1, 1, 1)),
            block(480, 192, 96, 208, 16, 48, 64),
            block(512, 160, 112, 224, 24, 64, 64),
            block(512, 128, 128, 256, 24, 64, 64),
            block(512, 112, 144, 288, 32, 64, 64),
            block(528, 256, 160, 320, 32, 128, 128),
            nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0)),
            block(832, 256, 160, 320, 32, 128, 128),
            block(832, 384, 192, 384, 48, 128, 128),
        )
        self.avgpool = nn.AvgPool3d(kernel_size=(2, 7, 7), stride=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Conv3d(1024, num_classes, kernel_size=1, stride=1, bias=True),
        )

    def forward(self, x):
        x = self.classifier(self.avgpool(self.features(x)))
        return ember.mean(x, dim=(2, 3, 4))


S3D_Weights = make_weights_enum("S3D_Weights", {
    "KINETICS400_V1": kinetics_weights(
        "https://download.pytorch.org/models/s3d-d76dad2f.pth", 8320048, 68.368, 88.050,
        17.979, 31.972, crop=(224, 224), resize=(256, 256), min_size=(224, 224),
        min_temporal_size=14,
        recipe="https://github.com/pytorch/vision/tree/main/references/video_classification#s3d"),
}, __name__)


@register_model()
def s3d(*, weights: S3D_Weights | None = None, progress: bool = True, **kwargs) -> S3D:
    """Separable 3D CNN, 8.3M parameters."""
    weights = resolve_weights(weights, kwargs, S3D_Weights)
    return apply_weights(S3D(**kwargs), weights, progress)
