"""MobileNetV2 (Sandler et al. 2018) and MobileNetV3 large/small (Howard et al. 2019).

Inverted residual blocks: 1x1 expand, depthwise 3x3/5x5, (squeeze-excitation), 1x1
project. Names follow torchvision (``features.N.conv`` in V2, ``features.N.block`` in V3).
"""

from __future__ import annotations

from functools import partial
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
from ._layers import (
    Conv2dNormActivation,
    SqueezeExcitation,
    init_conv_norm_linear,
    inverted_residual_layers,
    make_divisible,
)

__all__ = [
    "MobileNetV2", "MobileNet_V2_Weights", "mobilenet_v2", "MobileNetV3",
    "MobileNet_V3_Large_Weights", "MobileNet_V3_Small_Weights", "mobilenet_v3_large",
    "mobilenet_v3_small",
]

_URL = "https://download.pytorch.org/models/"


class InvertedResidual(nn.Module):
    """MobileNetV2 block; the shortcut applies when shape is kept (stride 1, same width)."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int,
                 norm_layer: Callable | None = None) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride should be 1 or 2 instead of {stride}")
        norm_layer = norm_layer or nn.BatchNorm2d
        self.stride = stride
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = inverted_residual_layers(inp, hidden_dim, oup, 3, stride, norm_layer, nn.ReLU6,
                                          expand=expand_ratio != 1, plain_projection=True)
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup
        self._is_cn = stride > 1

    def forward(self, x):
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    """Stem conv, 17 inverted residual blocks, 1x1 conv to 1280, dropout + Linear."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0,
                 inverted_residual_setting: list[list[int]] | None = None,
                 round_nearest: int = 8, block: Callable | None = None,
                 norm_layer: Callable | None = None, dropout: float = 0.2) -> None:
        super().__init__()
        block = block or InvertedResidual
        norm_layer = norm_layer or nn.BatchNorm2d
        input_channel = 32
        last_channel = 1280
        if inverted_residual_setting is None:
            inverted_residual_setting = [
                # expansion t, channels c, repeats n, first stride s
                [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
                [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
            ]
        if len(inverted_residual_setting) == 0 or len(inverted_residual_setting[0]) != 4:
            raise ValueError("inverted_residual_setting should be non-empty or a 4-element "
                             f"list, got {inverted_residual_setting}")
        input_channel = make_divisible(input_channel * width_mult, round_nearest)
        self.last_channel = make_divisible(last_channel * max(1.0, width_mult), round_nearest)
        features: list[nn.Module] = [Conv2dNormActivation(
            3, input_channel, stride=2, norm_layer=norm_layer, activation_layer=nn.ReLU6)]
        for t, c, n, s in inverted_residual_setting:
            output_channel = make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                stride = s if i == 0 else 1
                features.append(block(input_channel, output_channel, stride, expand_ratio=t,
                                      norm_layer=norm_layer))
                input_channel = output_channel
        features.append(Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1,
                                             norm_layer=norm_layer,
                                             activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout),
                                        nn.Linear(self.last_channel, num_classes))
        init_conv_norm_linear(self)

    def forward(self, x):
        x = self.features(x)
        x = ember.flatten(nn.functional.adaptive_avg_pool2d(x, (1, 1)), 1)
        return self.classifier(x)


class InvertedResidualConfig:
    """One MobileNetV3 block's settings, channel counts scaled by ``width_mult``."""

    def __init__(self, input_channels: int, kernel: int, expanded_channels: int,
                 out_channels: int, use_se: bool, activation: str, stride: int,
                 dilation: int, width_mult: float) -> None:
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.kernel = kernel
        self.expanded_channels = self.adjust_channels(expanded_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.use_se = use_se
        self.use_hs = activation == "HS"
        self.stride = stride
        self.dilation = dilation

    @staticmethod
    def adjust_channels(channels: int, width_mult: float) -> int:
        return make_divisible(channels * width_mult, 8)


class InvertedResidualV3(nn.Module):
    """MobileNetV3 block: expand, depthwise (dilated when asked), SE, project."""

    def __init__(self, cnf: InvertedResidualConfig, norm_layer: Callable,
                 se_layer: Callable = partial(SqueezeExcitation,
                                              scale_activation=nn.Hardsigmoid)) -> None:
        super().__init__()
        if not (1 <= cnf.stride <= 2):
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        activation_layer = nn.Hardswish if cnf.use_hs else nn.ReLU
        squeeze = None
        if cnf.use_se:
            squeeze_channels = make_divisible(cnf.expanded_channels // 4, 8)
            squeeze = se_layer(cnf.expanded_channels, squeeze_channels)
        stride = 1 if cnf.dilation > 1 else cnf.stride
        layers = inverted_residual_layers(
            cnf.input_channels, cnf.expanded_channels, cnf.out_channels, cnf.kernel, stride,
            norm_layer, activation_layer, dilation=cnf.dilation, squeeze=squeeze)
        self.block = nn.Sequential(*layers)
        self.out_channels = cnf.out_channels
        self._is_cn = cnf.stride > 1

    def forward(self, input):
        result = self.block(input)
        if self.use_res_connect:
            result = result + input
        return result


class MobileNetV3(nn.Module):
    """Stem, V3 blocks, 1x1 conv to 6x the last width, pool, two-Linear classifier."""

    def __init__(self, inverted_residual_setting: list[InvertedResidualConfig],
                 last_channel: int, num_classes: int = 1000, block: Callable | None = None,
                 norm_layer: Callable | None = None, dropout: float = 0.2) -> None:
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        block = block or InvertedResidualV3
        norm_layer = norm_layer or partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        first_out = inverted_residual_setting[0].input_channels
        layers: list[nn.Module] = [Conv2dNormActivation(
            3, first_out, kernel_size=3, stride=2, norm_layer=norm_layer,
            activation_layer=nn.Hardswish)]
        for cnf in inverted_residual_setting:
            layers.append(block(cnf, norm_layer))
        lastconv_in = inverted_residual_setting[-1].out_channels
        lastconv_out = 6 * lastconv_in
        layers.append(Conv2dNormActivation(lastconv_in, lastconv_out, kernel_size=1,
                                           norm_layer=norm_layer,
                                           activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(lastconv_out, last_channel), nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True), nn.Linear(last_channel, num_classes))
        init_conv_norm_linear(self)

    def forward(self, x):
        x = ember.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def _mobilenet_v3_conf(arch: str, width_mult: float = 1.0, reduced_tail: bool = False,
                       dilated: bool = False):
    bneck = partial(InvertedResidualConfig, width_mult=width_mult)
    rd = 2 if reduced_tail else 1
    dil = 2 if dilated else 1
    if arch == "mobilenet_v3_large":
        rows = [
            (16, 3, 16, 16, False, "RE", 1, 1), (16, 3, 64, 24, False, "RE", 2, 1),
            (24, 3, 72, 24, False, "RE", 1, 1), (24, 5, 72, 40, True, "RE", 2, 1),
            (40, 5, 120, 40, True, "RE", 1, 1), (40, 5, 120, 40, True, "RE", 1, 1),
            (40, 3, 240, 80, False, "HS", 2, 1), (80, 3, 200, 80, False, "HS", 1, 1),
            (80, 3, 184, 80, False, "HS", 1, 1), (80, 3, 184, 80, False, "HS", 1, 1),
            (80, 3, 480, 112, True, "HS", 1, 1), (112, 3, 672, 112, True, "HS", 1, 1),
            (112, 5, 672, 160 // rd, True, "HS", 2, dil),
            (160 // rd, 5, 960 // rd, 160 // rd, True, "HS", 1, dil),
            (160 // rd, 5, 960 // rd, 160 // rd, True, "HS", 1, dil),
        ]
        last_channel = make_divisible(1280 // rd * width_mult, 8)
    elif arch == "mobilenet_v3_small":
        rows = [
            (16, 3, 16, 16, True, "RE", 2, 1), (16, 3, 72, 24, False, "RE", 2, 1),
            (24, 3, 88, 24, False, "RE", 1, 1), (24, 5, 96, 40, True, "HS", 2, 1),
            (40, 5, 240, 40, True, "HS", 1, 1), (40, 5, 240, 40, True, "HS", 1, 1),
            (40, 5, 120, 48, True, "HS", 1, 1), (48, 5, 144, 48, True, "HS", 1, 1),
            (48, 5, 288, 96 // rd, True, "HS", 2, dil),
            (96 // rd, 5, 576 // rd, 96 // rd, True, "HS", 1, dil),
            (96 // rd, 5, 576 // rd, 96 // rd, True, "HS", 1, dil),
        ]
        last_channel = make_divisible(1024 // rd * width_mult, 8)
    else:
        raise ValueError(f"Unsupported model type {arch}")
    return [bneck(*row) for row in rows], last_channel


MobileNet_V2_Weights = make_weights_enum("MobileNet_V2_Weights", {
    "IMAGENET1K_V1": imagenet_weights(_URL + "mobilenet_v2-b0353104.pth", 3504872,
                                      71.878, 90.286),
    "IMAGENET1K_V2": imagenet_weights(_URL + "mobilenet_v2-7ebf99e0.pth", 3504872,
                                      72.154, 90.822, resize=232),
}, __name__)
MobileNet_V3_Large_Weights = make_weights_enum("MobileNet_V3_Large_Weights", {
    "IMAGENET1K_V1": imagenet_weights(_URL + "mobilenet_v3_large-8738ca79.pth", 5483032,
                                      74.042, 91.340),
    "IMAGENET1K_V2": imagenet_weights(_URL + "mobilenet_v3_large-5c1a4163.pth", 5483032,
                                      75.274, 92.566, resize=232),
}, __name__)
MobileNet_V3_Small_Weights = make_weights_enum("MobileNet_V3_Small_Weights", {
    "IMAGENET1K_V1": imagenet_weights(_URL + "mobilenet_v3_small-047dcff4.pth", 2542856,
                                      67.668, 87.402),
}, __name__)


@register_model()
def mobilenet_v2(*, weights: MobileNet_V2_Weights | None = None, progress: bool = True,
                 **kwargs) -> MobileNetV2:
    """MobileNetV2, 3.5M parameters."""
    weights = resolve_weights(weights, kwargs, MobileNet_V2_Weights)
    return apply_weights(MobileNetV2(**kwargs), weights, progress)


def _mobilenet_v3(arch, weights, progress, enum_cls, kwargs) -> MobileNetV3:
    weights = resolve_weights(weights, kwargs, enum_cls)
    setting, last_channel = _mobilenet_v3_conf(
        arch, width_mult=kwargs.pop("width_mult", 1.0),
        reduced_tail=kwargs.pop("reduced_tail", False), dilated=kwargs.pop("dilated", False))
    return apply_weights(MobileNetV3(setting, last_channel, **kwargs), weights, progress,
                         None)


@register_model()
def mobilenet_v3_large(*, weights: MobileNet_V3_Large_Weights | None = None,
                       progress: bool = True, **kwargs) -> MobileNetV3:
    """MobileNetV3-Large, 5.5M parameters."""
    return _mobilenet_v3("mobilenet_v3_large", weights, progress, MobileNet_V3_Large_Weights,
                         kwargs)


@register_model()
def mobilenet_v3_small(*, weights: MobileNet_V3_Small_Weights | None = None,
                       progress: bool = True, **kwargs) -> MobileNetV3:
    """MobileNetV3-Small, 2.5M parameters."""
    return _mobilenet_v3("mobilenet_v3_small", weights, progress, MobileNet_V3_Small_Weights,
                         kwargs)
