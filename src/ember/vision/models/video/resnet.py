"""Video ResNets (Tran et al. 2018): R3D (full 3x3x3 convs), MC3 (3D convs in the first
stage, spatial-only after) and R(2+1)D (each 3D conv factored into a spatial 1x3x3 and a
temporal 3x1x1 conv, with the mid width that keeps the parameter count of the 3D conv)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ember
from ember import nn

from .._api import apply_weights, make_weights_enum, register_model, resolve_weights
from ._utils import kinetics_weights

__all__ = [
    "MC3_18_Weights",
    "R2Plus1D_18_Weights",
    "R3D_18_Weights",
    "VideoResNet",
    "mc3_18",
    "r2plus1d_18",
    "r3d_18",
]


class Conv3DSimple(nn.Conv3d):
    """A full 3x3x3 convolution, strided in time and space."""

    def __init__(self, in_planes: int, out_planes: int, midplanes: int | None = None,
                 stride: int = 1, padding: int = 1) -> None:
        super().__init__(in_planes, out_planes, kernel_size=(3, 3, 3), stride=stride,
                         padding=padding, bias=False)

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        return stride, stride, stride


class Conv2Plus1D(nn.Sequential):
    """(2+1)D: 1x3x3 conv to ``midplanes``, BN, ReLU, then a 3x1x1 temporal conv."""

    def __init__(self, in_planes: int, out_planes: int, midplanes: int, stride: int = 1,
                 padding: int = 1) -> None:
        super().__init__(
            nn.Conv3d(in_planes, midplanes, kernel_size=(1, 3, 3), stride=(1, stride, stride),
                      padding=(0, padding, padding), bias=False),
            nn.BatchNorm3d(midplanes),
            nn.ReLU(inplace=True),
            nn.Conv3d(midplanes, out_planes, kernel_size=(3, 1, 1), stride=(stride, 1, 1),
                      padding=(padding, 0, 0), bias=False),
        )

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        return stride, stride, stride


class Conv3DNoTemporal(nn.Conv3d):
    """A spatial-only 1x3x3 convolution (MC3's later stages): time is never strided."""

    def __init__(self, in_planes: int, out_planes: int, midplanes: int | None = None,
                 stride: int = 1, padding: int = 1) -> None:
        super().__init__(in_planes, out_planes, kernel_size=(1, 3, 3),
                         stride=(1, stride, stride), padding=(0, padding, padding), bias=False)

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        return 1, stride, stride


def _midplanes(inplanes: int, planes: int) -> int:
    # the (2+1)D width whose two factor convs hold as many weights as one 3x3x3 conv
    return (inplanes * planes * 3 * 3 * 3) // (inplanes * 3 * 3 + 3 * planes)


class BasicBlock(nn.Module):
    """Two ``conv_builder`` convs with BN (and ReLU after the first), plus the shortcut."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, conv_builder: Callable, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        midplanes = _midplanes(inplanes, planes)
        self.conv1 = nn.Sequential(conv_builder(inplanes, planes, midplanes, stride),
                                   nn.BatchNorm3d(planes), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(conv_builder(planes, planes, midplanes),
                                   nn.BatchNorm3d(planes))
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + residual)


class Bottleneck(nn.Module):
    """1x1x1 reduce, a ``conv_builder`` conv, 1x1x1 expand (x4), plus the shortcut."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, conv_builder: Callable, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        midplanes = _midplanes(inplanes, planes)
        self.conv1 = nn.Sequential(nn.Conv3d(inplanes, planes, kernel_size=1, bias=False),
                                   nn.BatchNorm3d(planes), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(conv_builder(planes, planes, midplanes, stride),
                                   nn.BatchNorm3d(planes), nn.ReLU(inplace=True))
        self.conv3 = nn.Sequential(
            nn.Conv3d(planes, planes * self.expansion, kernel_size=1, bias=False),
            nn.BatchNorm3d(planes * self.expansion))
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv3(self.conv2(self.conv1(x))) + residual)


class BasicStem(nn.Sequential):
    """3x7x7 conv (spatial stride 2) to 64 channels, BN, ReLU."""

    def __init__(self) -> None:
        super().__init__(
            nn.Conv3d(3, 64, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3),
                      bias=False),
            nn.BatchNorm3d(64),
            nn.ReLU(inplace=True),
        )


class R2Plus1dStem(nn.Sequential):
    """The factored stem: 1x7x7 conv to 45 channels, BN, ReLU, 3x1x1 conv to 64, BN, ReLU."""

    def __init__(self) -> None:
        super().__init__(
            nn.Conv3d(3, 45, kernel_size=(1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3),
                      bias=False),
            nn.BatchNorm3d(45),
            nn.ReLU(inplace=True),
            nn.Conv3d(45, 64, kernel_size=(3, 1, 1), stride=(1, 1, 1), padding=(1, 0, 0),
                      bias=False),
            nn.BatchNorm3d(64),
            nn.ReLU(inplace=True),
        )


class VideoResNet(nn.Module):
    """Stem, four stages (64..512 channels; stages 2-4 stride 2), global average pool, fc.

    Args:
        block: BasicBlock or Bottleneck.
        conv_makers: one conv class per stage (Conv3DSimple, Conv3DNoTemporal, Conv2Plus1D).
        layers: blocks per stage.
        stem: the stem module's class.
        num_classes: width of ``fc``. Default 400 (Kinetics).
        zero_init_residual: start each Bottleneck's last BN at zero.

    Shape: (N, 3, T, H, W) -> (N, num_classes).
    """

    def __init__(self, block, conv_makers: Sequence, layers: list[int], stem: Callable,
                 num_classes: int = 400, zero_init_residual: bool = False) -> None:
        super().__init__()
        self.inplanes = 64
        self.stem = stem()
        self.layer1 = self._make_layer(block, conv_makers[0], 64, layers[0], stride=1)
        self.layer2 = self._make_layer(block, conv_makers[1], 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, conv_makers[2], 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, conv_makers[3], 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.conv3[1].weight, 0)

    def _make_layer(self, block, conv_builder, planes: int, blocks: int,
                    stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv3d(self.inplanes, planes * block.expansion, kernel_size=1,
                          stride=conv_builder.get_downsample_stride(stride), bias=False),
                nn.BatchNorm3d(planes * block.expansion))
        layers = [block(self.inplanes, planes, conv_builder, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, conv_builder) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(ember.flatten(self.avgpool(x), 1))


_URL = "https://download.pytorch.org/models/"

R3D_18_Weights = make_weights_enum("R3D_18_Weights", {
    "KINETICS400_V1": kinetics_weights(_URL + "r3d_18-b3b3357e.pth", 33371472, 63.200,
                                       83.479, 40.697, 127.359),
}, __name__)
MC3_18_Weights = make_weights_enum("MC3_18_Weights", {
    "KINETICS400_V1": kinetics_weights(_URL + "mc3_18-a90a0ba3.pth", 11695440, 63.960,
                                       84.130, 43.343, 44.672),
}, __name__)
R2Plus1D_18_Weights = make_weights_enum("R2Plus1D_18_Weights", {
    "KINETICS400_V1": kinetics_weights(_URL + "r2plus1d_18-91a641e6.pth", 31505325, 67.463,
                                       86.175, 40.519, 120.318),
}, __name__)


def _video_resnet(conv_makers, stem, weights, progress, enum_cls, kwargs) -> VideoResNet:
    weights = resolve_weights(weights, kwargs, enum_cls)
    model = VideoResNet(BasicBlock, conv_makers, [2, 2, 2, 2], stem, **kwargs)
    return apply_weights(model, weights, progress)


@register_model()
def r3d_18(*, weights: R3D_18_Weights | None = None, progress: bool = True,
           **kwargs) -> VideoResNet:
    """18-layer ResNet3D (3x3x3 convs throughout), 33.4M parameters."""
    return _video_resnet([Conv3DSimple] * 4, BasicStem, weights, progress, R3D_18_Weights,
                         kwargs)


@register_model()
def mc3_18(*, weights: MC3_18_Weights | None = None, progress: bool = True,
           **kwargs) -> VideoResNet:
    """18-layer Mixed Convolution net (3D convs in stage 1, 2D after), 11.7M parameters."""
    return _video_resnet([Conv3DSimple] + [Conv3DNoTemporal] * 3, BasicStem, weights,
                         progress, MC3_18_Weights, kwargs)


@register_model()
def r2plus1d_18(*, weights: R2Plus1D_18_Weights | None = None, progress: bool = True,
                **kwargs) -> VideoResNet:
    """18-layer R(2+1)D (every 3D conv factored in space and time), 31.5M parameters."""
    return _video_resnet([Conv2Plus1D] * 4, R2Plus1dStem, weights, progress,
                         R2Plus1D_18_Weights, kwargs)
