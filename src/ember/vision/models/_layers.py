"""Building blocks shared by several architectures.

The torchvision.ops layers (Conv2dNormActivation, SqueezeExcitation, StochasticDepth,
Permute, MLP) live in ``ember.vision.ops`` and are re-exported here, so models and
``torchvision.ops`` users share one implementation and the same state_dict keys.
"""

from __future__ import annotations

from collections.abc import Callable

from ember import nn
from ember.vision.ops.misc import MLP, Conv2dNormActivation, Permute, SqueezeExcitation
from ember.vision.ops.stochastic_depth import StochasticDepth

__all__ = [
    "MLP",
    "Conv2dNormActivation",
    "Permute",
    "SqueezeExcitation",
    "StochasticDepth",
    "init_conv_norm_linear",
    "inverted_residual_layers",
    "make_divisible",
]


def make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of ``divisor`` without losing more than 10%."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def inverted_residual_layers(in_channels: int, expanded: int, out_channels: int,
                             kernel_size: int, stride: int, norm_layer: Callable,
                             activation_layer: Callable, *, expand: bool | None = None,
                             dilation: int = 1, squeeze: nn.Module | None = None,
                             plain_projection: bool = False) -> list[nn.Module]:
    """The body of an inverted residual block (MobileNetV2/V3, EfficientNet's MBConv):
    a 1x1 expansion to ``expanded`` channels (when ``expand``; by default when the width
    changes), a depthwise conv, ``squeeze`` (a squeeze-excitation module) if given, and
    a linear 1x1 projection. ``plain_projection`` registers the projection as a bare
    Conv2d and norm, as MobileNetV2 does, instead of one Conv2dNormActivation."""
    if expand is None:
        expand = expanded != in_channels
    layers: list[nn.Module] = []
    if expand:
        layers.append(Conv2dNormActivation(in_channels, expanded, kernel_size=1,
                                           norm_layer=norm_layer,
                                           activation_layer=activation_layer))
    layers.append(Conv2dNormActivation(expanded, expanded, kernel_size=kernel_size,
                                       stride=stride, dilation=dilation, groups=expanded,
                                       norm_layer=norm_layer,
                                       activation_layer=activation_layer))
    if squeeze is not None:
        layers.append(squeeze)
    if plain_projection:
        layers += [nn.Conv2d(expanded, out_channels, 1, 1, 0, bias=False),
                   norm_layer(out_channels)]
    else:
        layers.append(Conv2dNormActivation(expanded, out_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=None))
    return layers


def _normal_001(linear: nn.Linear) -> None:
    nn.init.normal_(linear.weight, 0, 0.01)


def init_conv_norm_linear(model: nn.Module, init_linear: Callable = _normal_001) -> None:
    """torchvision's initialisation for VGG and the mobile nets: convs kaiming-normal
    (fan_out), norm layers weight 1 and bias 0, ``init_linear(linear)`` for each Linear's
    weight (default: normal, std 0.01); every bias 0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            init_linear(m)
            nn.init.zeros_(m.bias)
