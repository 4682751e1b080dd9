"""EfficientNet-B0 (Tan & Le 2019): MBConv blocks with squeeze-excitation and SiLU.

Only B0 is built here; ``EfficientNet`` takes any MBConv setting list, so the wider and
deeper variants are a config away. Names follow torchvision (``features.1.0.block``).
"""

from __future__ import annotations

import copy
import math
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
    StochasticDepth,
    init_conv_norm_linear,
    inverted_residual_layers,
    make_divisible,
)

__all__ = ["EfficientNet", "EfficientNet_B0_Weights", "efficientnet_b0", "MBConvConfig"]


class MBConvConfig:
    """One stage: expand ratio, kernel, first stride, in/out channels, repeats."""

    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int,
                 out_channels: int, num_layers: int, width_mult: float = 1.0,
                 depth_mult: float = 1.0) -> None:
        self.expand_ratio = expand_ratio
        self.kernel = kernel
        self.stride = stride
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.num_layers = int(math.ceil(num_layers * depth_mult))

    @staticmethod
    def adjust_channels(channels: int, width_mult: float, min_value: int | None = None):
        return make_divisible(channels * width_mult, 8, min_value)


class MBConv(nn.Module):
    """Expand 1x1, depthwise kxk, SE (squeeze to in/4), project 1x1; residual with drop."""

    def __init__(self, cnf: MBConvConfig, stochastic_depth_prob: float,
                 norm_layer: Callable, se_layer: Callable = SqueezeExcitation) -> None:
        super().__init__()
        if not (1 <= cnf.stride <= 2):
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        squeeze = se_layer(expanded, max(1, cnf.input_channels // 4),
                           activation=partial(nn.SiLU, inplace=True))
        layers = inverted_residual_layers(cnf.input_channels, expanded, cnf.out_channels,
                                          cnf.kernel, cnf.stride, norm_layer, nn.SiLU,
                                          squeeze=squeeze)
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input):
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + input
        return result


def _uniform_by_fan_out(linear: nn.Linear) -> None:
    init_range = 1.0 / math.sqrt(linear.out_features)
    nn.init.uniform_(linear.weight, -init_range, init_range)


class EfficientNet(nn.Module):
    """Stem, MBConv stages (drop probability growing linearly with depth), head conv."""

    def __init__(self, inverted_residual_setting: list[MBConvConfig], dropout: float,
                 stochastic_depth_prob: float = 0.2, num_classes: int = 1000,
                 norm_layer: Callable | None = None, last_channel: int | None = None) -> None:
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        norm_layer = norm_layer or nn.BatchNorm2d
        first_out = inverted_residual_setting[0].input_channels
        layers: list[nn.Module] = [Conv2dNormActivation(
            3, first_out, kernel_size=3, stride=2, norm_layer=norm_layer,
            activation_layer=nn.SiLU)]
        total_blocks = sum(cnf.num_layers for cnf in inverted_residual_setting)
        block_id = 0
        for cnf in inverted_residual_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                sd_prob = stochastic_depth_prob * float(block_id) / total_blocks
                stage.append(MBConv(block_cnf, sd_prob, norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        lastconv_in = inverted_residual_setting[-1].out_channels
        lastconv_out = last_channel if last_channel is not None else 4 * lastconv_in
        layers.append(Conv2dNormActivation(lastconv_in, lastconv_out, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(lastconv_out, num_classes))
        init_conv_norm_linear(self, _uniform_by_fan_out)

    def forward(self, x):
        x = ember.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


EfficientNet_B0_Weights = make_weights_enum("EfficientNet_B0_Weights", {
    "IMAGENET1K_V1": imagenet_weights(
        "https://download.pytorch.org/models/efficientnet_b0_rwightman-7f5810bc.pth",
        5288548, 77.692, 93.532, crop=224, resize=256,
        interpolation="bicubic")}, __name__)


def _b0_setting(width_mult: float = 1.0, depth_mult: float = 1.0) -> list[MBConvConfig]:
    conf = partial(MBConvConfig, width_mult=width_mult, depth_mult=depth_mult)
    return [conf(1, 3, 1, 32, 16, 1), conf(6, 3, 2, 16, 24, 2), conf(6, 5, 2, 24, 40, 2),
            conf(6, 3, 2, 40, 80, 3), conf(6, 5, 1, 80, 112, 3), conf(6, 5, 2, 112, 192, 4),
            conf(6, 3, 1, 192, 320, 1)]


@register_model()
def efficientnet_b0(*, weights: EfficientNet_B0_Weights | None = None,
                    progress: bool = True, **kwargs) -> EfficientNet:
    """EfficientNet-B0, 5.3M parameters."""
    weights = resolve_weights(weights, kwargs, EfficientNet_B0_Weights)
    model = EfficientNet(_b0_setting(), kwargs.pop("dropout", 0.2), **kwargs)
    return apply_weights(model, weights, progress)
