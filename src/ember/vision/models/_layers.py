"""Building blocks shared by several architectures (torchvision.ops' layers).

Submodule names and registration order follow torchvision, so state_dict keys match.
"""

from __future__ import annotations

from typing import Callable

import ember
from ember import nn


def make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of ``divisor`` without losing more than 10%."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class Conv2dNormActivation(nn.Sequential):
    """Conv2d, then a norm layer, then an activation, as keys ``0``, ``1``, ``2``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, padding: int | None = None, groups: int = 1,
                 norm_layer: Callable | None = nn.BatchNorm2d,
                 activation_layer: Callable | None = nn.ReLU, dilation: int = 1,
                 inplace: bool | None = True, bias: bool | None = None) -> None:
        if padding is None:
            padding = (kernel_size - 1) // 2 * dilation
        if bias is None:
            bias = norm_layer is None
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                            dilation=dilation, groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            params = {} if inplace is None else {"inplace": inplace}
            layers.append(activation_layer(**params))
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """Channel attention: global pool, two 1x1 convs, a gate that scales the input."""

    def __init__(self, input_channels: int, squeeze_channels: int,
                 activation: Callable = nn.ReLU,
                 scale_activation: Callable = nn.Sigmoid) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, input):
        scale = self.avgpool(input)
        scale = self.activation(self.fc1(scale))
        scale = self.scale_activation(self.fc2(scale))
        return scale * input


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


class StochasticDepth(nn.Module):
    """Drop whole residual branches per sample ("row") or per batch ("batch") in training."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        if p < 0.0 or p > 1.0:
            raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
        if mode not in ("batch", "row"):
            raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
        self.p = p
        self.mode = mode

    def forward(self, input):
        if not self.training or self.p == 0.0:
            return input
        survival_rate = 1.0 - self.p
        size = [input.shape[0]] + [1] * (input.ndim - 1) if self.mode == "row" else \
            [1] * input.ndim
        noise = (ember.rand(size, dtype=input.dtype, device=input.device)
                 < survival_rate).to(input.dtype)
        if survival_rate > 0.0:
            noise = noise / survival_rate
        return input * noise

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p}, mode={self.mode})"


class Permute(nn.Module):
    """Reorder dimensions inside a Sequential (ConvNeXt and Swin switch between NCHW for
    convolutions and NHWC for LayerNorm/Linear over channels)."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(*self.dims)


class MLP(nn.Sequential):
    """Linear layers of ``hidden_channels`` widths; each but the last is followed by an
    optional norm, the activation and dropout; the last by dropout only. Keys 0, 1, ...
    as torchvision.ops.MLP, so Swin/MaxViT checkpoints load."""

    def __init__(self, in_channels: int, hidden_channels: list[int],
                 norm_layer: Callable | None = None,
                 activation_layer: Callable | None = nn.ReLU, inplace: bool | None = None,
                 bias: bool = True, dropout: float = 0.0) -> None:
        params = {} if inplace is None else {"inplace": inplace}
        layers: list[nn.Module] = []
        in_dim = in_channels
        for hidden_dim in hidden_channels[:-1]:
            layers.append(nn.Linear(in_dim, hidden_dim, bias=bias))
            if norm_layer is not None:
                layers.append(norm_layer(hidden_dim))
            layers.append(activation_layer(**params))
            layers.append(nn.Dropout(dropout, **params))
            in_dim = hidden_dim
        layers.append(nn.Linear(in_dim, hidden_channels[-1], bias=bias))
        layers.append(nn.Dropout(dropout, **params))
        super().__init__(*layers)
