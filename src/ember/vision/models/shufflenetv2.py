"""ShuffleNet V2 (Ma et al. 2018): channel split, a cheap branch, concat, channel shuffle.

Module names follow torchvision (``stage2.0.branch1.0``, ``conv5.0``, ``fc``), so its
checkpoints load. Layers keep PyTorch's default initialisation, as torchvision does.
"""

from __future__ import annotations

from collections.abc import Callable

import ember
from ember import nn

from ._api import (
    apply_weights,
    imagenet_weights,
    make_weights_enum,
    register_model,
    resolve_weights,
)

__all__ = ["ShuffleNetV2", "ShuffleNet_V2_X0_5_Weights", "ShuffleNet_V2_X1_0_Weights",
           "ShuffleNet_V2_X1_5_Weights", "ShuffleNet_V2_X2_0_Weights", "shufflenet_v2_x0_5",
           "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"]


def channel_shuffle(x, groups: int):
    """Interleave the channels of ``groups`` groups, so the next split mixes them."""
    batch, channels, height, width = x.shape
    x = x.view(batch, groups, channels // groups, height, width)
    return x.transpose(1, 2).contiguous().view(batch, channels, height, width)


def _depthwise(channels: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, 3, stride, 1, bias=False, groups=channels)


class InvertedResidual(nn.Module):
    """Stride 1: half the channels pass through, half go through 1x1-dw3x3-1x1. Stride 2:
    both halves are computed from the whole input (``branch1`` downsamples it)."""

    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        if not (1 <= stride <= 3):
            raise ValueError("illegal stride value")
        self.stride = stride
        branch_features = oup // 2
        if stride == 1 and inp != branch_features << 1:
            raise ValueError(
                f"Invalid combination of stride {stride}, inp {inp} and oup {oup} values. If "
                "stride == 1 then inp should be equal to oup // 2 << 1.")
        if stride > 1:
            self.branch1 = nn.Sequential(
                _depthwise(inp, stride), nn.BatchNorm2d(inp),
                nn.Conv2d(inp, branch_features, 1, 1, 0, bias=False),
                nn.BatchNorm2d(branch_features), nn.ReLU(inplace=True))
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else branch_features, branch_features, 1, 1, 0,
                      bias=False),
            nn.BatchNorm2d(branch_features), nn.ReLU(inplace=True),
            _depthwise(branch_features, stride), nn.BatchNorm2d(branch_features),
            nn.Conv2d(branch_features, branch_features, 1, 1, 0, bias=False),
            nn.BatchNorm2d(branch_features), nn.ReLU(inplace=True))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = ember.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = ember.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """Stem conv + max pool, three stages (first block strided), 1x1 conv5, mean, fc.

    Args:
        stages_repeats: blocks in stages 2-4. stages_out_channels: widths of the stem,
        the three stages and conv5. num_classes: fc outputs.
    """

    def __init__(self, stages_repeats: list[int], stages_out_channels: list[int],
                 num_classes: int = 1000,
                 inverted_residual: Callable = InvertedResidual) -> None:
        super().__init__()
        if len(stages_repeats) != 3:
            raise ValueError("expected stages_repeats as list of 3 positive ints")
        if len(stages_out_channels) != 5:
            raise ValueError("expected stages_out_channels as list of 5 positive ints")
        self._stage_out_channels = stages_out_channels
        channels = stages_out_channels[0]
        self.conv1 = nn.Sequential(nn.Conv2d(3, channels, 3, 2, 1, bias=False),
                                   nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for i, (repeats, out) in enumerate(zip(stages_repeats, stages_out_channels[1:]), 2):
            blocks = [inverted_residual(channels, out, 2)]
            blocks += [inverted_residual(out, out, 1) for _ in range(repeats - 1)]
            setattr(self, f"stage{i}", nn.Sequential(*blocks))
            channels = out
        last = stages_out_channels[-1]
        self.conv5 = nn.Sequential(nn.Conv2d(channels, last, 1, 1, 0, bias=False),
                                   nn.BatchNorm2d(last), nn.ReLU(inplace=True))
        self.fc = nn.Linear(last, num_classes)

    def _forward_impl(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))

    def forward(self, x):
        return self._forward_impl(x)


_URL = "https://download.pytorch.org/models/"
_RECIPE = {"recipe": "https://github.com/ericsun99/Shufflenet-v2-Pytorch"}


def _enum(name, file, num_params, acc1, acc5, resize, ops, size):
    weights = imagenet_weights(_URL + file, num_params, acc1, acc5, resize=resize, _ops=ops,
                               _file_size=size, **_RECIPE)
    return make_weights_enum(name, {"IMAGENET1K_V1": weights}, __name__)


ShuffleNet_V2_X0_5_Weights = _enum("ShuffleNet_V2_X0_5_Weights",
                                   "shufflenetv2_x0.5-f707e7126e.pth", 1366792, 60.552,
                                   81.746, 256, 0.04, 5.282)
ShuffleNet_V2_X1_0_Weights = _enum("ShuffleNet_V2_X1_0_Weights",
                                   "shufflenetv2_x1-5666bf0f80.pth", 2278604, 69.362, 88.316,
                                   256, 0.145, 8.791)
ShuffleNet_V2_X1_5_Weights = _enum("ShuffleNet_V2_X1_5_Weights",
                                   "shufflenetv2_x1_5-3c479a10.pth", 3503624, 72.996, 91.086,
                                   232, 0.296, 13.557)
ShuffleNet_V2_X2_0_Weights = _enum("ShuffleNet_V2_X2_0_Weights",
                                   "shufflenetv2_x2_0-8be3c8ee.pth", 7393996, 76.230, 93.006,
                                   232, 0.583, 28.433)


def _shufflenetv2(weights, progress, enum_cls, channels, kwargs) -> ShuffleNetV2:
    weights = resolve_weights(weights, kwargs, enum_cls)
    model = ShuffleNetV2([4, 8, 4], channels, **kwargs)
    return apply_weights(model, weights, progress)


@register_model()
def shufflenet_v2_x0_5(*, weights: ShuffleNet_V2_X0_5_Weights | None = None,
                       progress: bool = True, **kwargs) -> ShuffleNetV2:
    """ShuffleNet V2 with 0.5x output channels, 1.4M parameters."""
    return _shufflenetv2(weights, progress, ShuffleNet_V2_X0_5_Weights,
                         [24, 48, 96, 192, 1024], kwargs)


@register_model()
def shufflenet_v2_x1_0(*, weights: ShuffleNet_V2_X1_0_Weights | None = None,
                       progress: bool = True, **kwargs) -> ShuffleNetV2:
    """ShuffleNet V2 with 1.0x output channels, 2.3M parameters."""
    return _shufflenetv2(weights, progress, ShuffleNet_V2_X1_0_Weights,
                         [24, 116, 232, 464, 1024], kwargs)


@register_model()
def shufflenet_v2_x1_5(*, weights: ShuffleNet_V2_X1_5_Weights | None = None,
                       progress: bool = True, **kwargs) -> ShuffleNetV2:
    """ShuffleNet V2 with 1.5x output channels, 3.5M parameters."""
    return _shufflenetv2(weights, progress, ShuffleNet_V2_X1_5_Weights,
                         [24, 176, 352, 704, 1024], kwargs)


@register_model()
def shufflenet_v2_x2_0(*, weights: ShuffleNet_V2_X2_0_Weights | None = None,
                       progress: bool = True, **kwargs) -> ShuffleNetV2:
    """ShuffleNet V2 with 2.0x output channels, 7.4M parameters."""
    return _shufflenetv2(weights, progress, ShuffleNet_V2_X2_0_Weights,
                         [24, 244, 488, 976, 2048], kwargs)
