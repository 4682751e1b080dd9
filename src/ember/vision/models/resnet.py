"""ResNet, ResNeXt and Wide ResNet (He et al. 2015; Xie et al. 2016; Zagoruyko 2016).

Module names match torchvision's (conv1, bn1, layer1.0.conv1, ..., fc), so its checkpoints
load with ``load_state_dict``.
"""

# No ``from __future__ import annotations``: forward's annotations must be the Tensor class
# itself (as torchvision's are) for a traced GraphModule's signature to read as torch.fx's.
from typing import Callable

import ember
from ember import nn

from ._api import (
    apply_weights,
    imagenet_weights,
    make_weights_enum,
    register_model,
    resolve_weights,
)

__all__ = [
    "ResNet", "BasicBlock", "Bottleneck",
    "ResNet18_Weights", "ResNet34_Weights", "ResNet50_Weights", "ResNet101_Weights",
    "ResNet152_Weights", "ResNeXt50_32X4D_Weights", "ResNeXt101_32X8D_Weights",
    "ResNeXt101_64X4D_Weights", "Wide_ResNet50_2_Weights", "Wide_ResNet101_2_Weights",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
    "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1,
            dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs with a shortcut (ResNet-18/34)."""

    expansion: int = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1,
                 norm_layer: Callable | None = None) -> None:
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (grouped for ResNeXt, stride here as V1.5), 1x1 expand x4."""

    expansion: int = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1,
                 norm_layer: Callable | None = None) -> None:
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """Stem (7x7 conv, max pool), four stages of blocks, global average pool, fc.

    Args:
        block: BasicBlock or Bottleneck. layers: blocks per stage, e.g. [2, 2, 2, 2].
        num_classes: size of the fc output. zero_init_residual: start each block's last
        BN at zero so residual branches begin as identity.
    """

    def __init__(self, block, layers: list[int], num_classes: int = 1000,
                 zero_init_residual: bool = False, groups: int = 1,
                 width_per_group: int = 64,
                 replace_stride_with_dilation: list[bool] | None = None,
                 norm_layer: Callable | None = None) -> None:
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("replace_stride_with_dilation should be None or a 3-element "
                             f"tuple, got {replace_stride_with_dilation}")
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3,
                               bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2,
                                       dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2,
                                       dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2,
                                       dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1,
                    dilate: bool = False) -> nn.Sequential:
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups,
                        self.base_width, previous_dilation, norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups,
                                base_width=self.base_width, dilation=self.dilation,
                                norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def _forward_impl(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = ember.flatten(self.avgpool(x), 1)
        return self.fc(x)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        # Split as torchvision's, so subclasses that override _forward_impl keep working.
        return self._forward_impl(x)


_URL = "https://download.pytorch.org/models/"


def _v1_v2(cls_name, v1, v2=None):
    """An enum with IMAGENET1K_V1 (and V2, trained with torchvision's newer recipe)."""
    members = {"IMAGENET1K_V1": imagenet_weights(_URL + v1[0], *v1[1:])}
    if v2 is not None:
        members["IMAGENET1K_V2"] = imagenet_weights(_URL + v2[0], *v2[1:], resize=232)
    members["DEFAULT"] = members["IMAGENET1K_V2" if v2 else "IMAGENET1K_V1"]
    return make_weights_enum(cls_name, members, __name__)


ResNet18_Weights = _v1_v2("ResNet18_Weights", ("resnet18-f37072fd.pth", 11689512, 69.758,
                                               89.078))
ResNet34_Weights = _v1_v2("ResNet34_Weights", ("resnet34-b627a593.pth", 21797672, 73.314,
                                               91.420))
ResNet50_Weights = _v1_v2("ResNet50_Weights",
                          ("resnet50-0676ba61.pth", 25557032, 76.130, 92.862),
                          ("resnet50-11ad3fa6.pth", 25557032, 80.858, 95.434))
ResNet101_Weights = _v1_v2("ResNet101_Weights",
                           ("resnet101-63fe2227.pth", 44549160, 77.374, 93.546),
                           ("resnet101-cd907fc2.pth", 44549160, 81.886, 95.780))
ResNet152_Weights = _v1_v2("ResNet152_Weights",
                           ("resnet152-394f9c45.pth", 60192808, 78.312, 94.046),
                           ("resnet152-f82ba261.pth", 60192808, 82.284, 96.002))
ResNeXt50_32X4D_Weights = _v1_v2("ResNeXt50_32X4D_Weights",
                                 ("resnext50_32x4d-7cdf4587.pth", 25028904, 77.618, 93.698),
                                 ("resnext50_32x4d-1a0047aa.pth", 25028904, 81.198, 95.340))
ResNeXt101_32X8D_Weights = _v1_v2("ResNeXt101_32X8D_Weights",
                                  ("resnext101_32x8d-8ba56ff5.pth", 88791336, 79.312, 94.526),
                                  ("resnext101_32x8d-110c445d.pth", 88791336, 82.834, 96.228))
ResNeXt101_64X4D_Weights = _v1_v2("ResNeXt101_64X4D_Weights",
                                  ("resnext101_64x4d-173b62eb.pth", 83455272, 83.246, 96.454))
Wide_ResNet50_2_Weights = _v1_v2("Wide_ResNet50_2_Weights",
                                 ("wide_resnet50_2-95faca4d.pth", 68883240, 78.468, 94.086),
                                 ("wide_resnet50_2-9ba9bcbe.pth", 68883240, 81.602, 95.758))
Wide_ResNet101_2_Weights = _v1_v2("Wide_ResNet101_2_Weights",
                                  ("wide_resnet101_2-32ee1156.pth", 126886696, 78.848, 94.284),
                                  ("wide_resnet101_2-d733dc28.pth", 126886696, 82.510, 96.020))


def _resnet(block, layers, weights, progress, enum_cls, kwargs) -> ResNet:
    weights = resolve_weights(weights, kwargs, enum_cls)
    model = ResNet(block, layers, **kwargs)
    return apply_weights(model, weights, progress)


@register_model()
def resnet18(*, weights: ResNet18_Weights | None = None, progress: bool = True,
             **kwargs) -> ResNet:
    """ResNet-18: BasicBlock x [2, 2, 2, 2], 11.7M parameters."""
    return _resnet(BasicBlock, [2, 2, 2, 2], weights, progress, ResNet18_Weights, kwargs)


@register_model()
def resnet34(*, weights: ResNet34_Weights | None = None, progress: bool = True,
             **kwargs) -> ResNet:
    """ResNet-34: BasicBlock x [3, 4, 6, 3]."""
    return _resnet(BasicBlock, [3, 4, 6, 3], weights, progress, ResNet34_Weights, kwargs)


@register_model()
def resnet50(*, weights: ResNet50_Weights | None = None, progress: bool = True,
             **kwargs) -> ResNet:
    """ResNet-50: Bottleneck x [3, 4, 6, 3]."""
    return _resnet(Bottleneck, [3, 4, 6, 3], weights, progress, ResNet50_Weights, kwargs)


@register_model()
def resnet101(*, weights: ResNet101_Weights | None = None, progress: bool = True,
              **kwargs) -> ResNet:
    """ResNet-101: Bottleneck x [3, 4, 23, 3]."""
    return _resnet(Bottleneck, [3, 4, 23, 3], weights, progress, ResNet101_Weights, kwargs)


@register_model()
def resnet152(*, weights: ResNet152_Weights | None = None, progress: bool = True,
              **kwargs) -> ResNet:
    """ResNet-152: Bottleneck x [3, 8, 36, 3]."""
    return _resnet(Bottleneck, [3, 8, 36, 3], weights, progress, ResNet152_Weights, kwargs)


@register_model()
def resnext50_32x4d(*, weights: ResNeXt50_32X4D_Weights | None = None,
                    progress: bool = True, **kwargs) -> ResNet:
    """ResNeXt-50 32x4d: 32 groups of width 4 in each bottleneck."""
    kwargs.update(groups=32, width_per_group=4)
    return _resnet(Bottleneck, [3, 4, 6, 3], weights, progress, ResNeXt50_32X4D_Weights,
                   kwargs)


@register_model()
def resnext101_32x8d(*, weights: ResNeXt101_32X8D_Weights | None = None,
                     progress: bool = True, **kwargs) -> ResNet:
    """ResNeXt-101 32x8d."""
    kwargs.update(groups=32, width_per_group=8)
    return _resnet(Bottleneck, [3, 4, 23, 3], weights, progress, ResNeXt101_32X8D_Weights,
                   kwargs)


@register_model()
def resnext101_64x4d(*, weights: ResNeXt101_64X4D_Weights | None = None,
                     progress: bool = True, **kwargs) -> ResNet:
    """ResNeXt-101 64x4d."""
    kwargs.update(groups=64, width_per_group=4)
    return _resnet(Bottleneck, [3, 4, 23, 3], weights, progress, ResNeXt101_64X4D_Weights,
                   kwargs)


@register_model()
def wide_resnet50_2(*, weights: Wide_ResNet50_2_Weights | None = None,
                    progress: bool = True, **kwargs) -> ResNet:
    """Wide ResNet-50-2: bottlenecks twice as wide inside."""
    kwargs.update(width_per_group=128)
    return _resnet(Bottleneck, [3, 4, 6, 3], weights, progress, Wide_ResNet50_2_Weights,
                   kwargs)


@register_model()
def wide_resnet101_2(*, weights: Wide_ResNet101_2_Weights | None = None,
                     progress: bool = True, **kwargs) -> ResNet:
    """Wide ResNet-101-2."""
    kwargs.update(width_per_group=128)
    return _resnet(Bottleneck, [3, 4, 23, 3], weights, progress, Wide_ResNet101_2_Weights,
                   kwargs)
