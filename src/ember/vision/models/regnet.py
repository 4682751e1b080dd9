"""RegNetY and RegNetX (Radosavovic et al. 2020, "Designing Network Design Spaces").

Stage widths and depths come from the quantised linear rule of the paper
(``BlockParams.from_init_params``), computed in float32 as torchvision does so the same
widths come out. Module names follow torchvision (``trunk_output.block1.block1-0.f.b``),
so its checkpoints load.
"""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from collections.abc import Callable
from functools import partial

import ember
from ember import nn

from ._api import (
    apply_weights,
    imagenet_weights,
    make_weights_enum,
    register_model,
    resolve_weights,
)
from ._layers import Conv2dNormActivation, SqueezeExcitation, make_divisible

__all__ = [
    "RegNet",
    "RegNet_X_1_6GF_Weights",
    "RegNet_X_3_2GF_Weights",
    "RegNet_X_8GF_Weights",
    "RegNet_X_16GF_Weights",
    "RegNet_X_32GF_Weights",
    "RegNet_X_400MF_Weights",
    "RegNet_X_800MF_Weights",
    "RegNet_Y_1_6GF_Weights",
    "RegNet_Y_3_2GF_Weights",
    "RegNet_Y_8GF_Weights",
    "RegNet_Y_16GF_Weights",
    "RegNet_Y_32GF_Weights",
    "RegNet_Y_128GF_Weights",
    "RegNet_Y_400MF_Weights",
    "RegNet_Y_800MF_Weights",
    "regnet_x_1_6gf",
    "regnet_x_3_2gf",
    "regnet_x_8gf",
    "regnet_x_16gf",
    "regnet_x_32gf",
    "regnet_x_400mf",
    "regnet_x_800mf",
    "regnet_y_1_6gf",
    "regnet_y_3_2gf",
    "regnet_y_8gf",
    "regnet_y_16gf",
    "regnet_y_32gf",
    "regnet_y_128gf",
    "regnet_y_400mf",
    "regnet_y_800mf",
]


class SimpleStemIN(Conv2dNormActivation):
    """ImageNet stem: strided 3x3 conv, norm, activation."""

    def __init__(self, width_in: int, width_out: int, norm_layer: Callable,
                 activation_layer: Callable) -> None:
        super().__init__(width_in, width_out, kernel_size=3, stride=2, norm_layer=norm_layer,
                         activation_layer=activation_layer)


class BottleneckTransform(nn.Sequential):
    """1x1 (``a``), grouped 3x3 (``b``), squeeze-excitation (``se``, RegNetY), 1x1 (``c``)."""

    def __init__(self, width_in: int, width_out: int, stride: int, norm_layer: Callable,
                 activation_layer: Callable, group_width: int, bottleneck_multiplier: float,
                 se_ratio: float | None) -> None:
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        w_b = round(width_out * bottleneck_multiplier)
        groups = w_b // group_width
        layers["a"] = Conv2dNormActivation(width_in, w_b, kernel_size=1, stride=1,
                                           norm_layer=norm_layer,
                                           activation_layer=activation_layer)
        layers["b"] = Conv2dNormActivation(w_b, w_b, kernel_size=3, stride=stride,
                                           groups=groups, norm_layer=norm_layer,
                                           activation_layer=activation_layer)
        if se_ratio:
            # The squeeze width follows the block's input width, as in the paper.
            layers["se"] = SqueezeExcitation(w_b, round(se_ratio * width_in),
                                             activation=activation_layer)
        layers["c"] = Conv2dNormActivation(w_b, width_out, kernel_size=1, stride=1,
                                           norm_layer=norm_layer, activation_layer=None)
        super().__init__(layers)


class ResBottleneckBlock(nn.Module):
    """x + F(x), with a strided 1x1 projection (``proj``) when the shape changes."""

    def __init__(self, width_in: int, width_out: int, stride: int, norm_layer: Callable,
                 activation_layer: Callable, group_width: int = 1,
                 bottleneck_multiplier: float = 1.0, se_ratio: float | None = None) -> None:
        super().__init__()
        self.proj = None
        if width_in != width_out or stride != 1:
            self.proj = Conv2dNormActivation(width_in, width_out, kernel_size=1, stride=stride,
                                             norm_layer=norm_layer, activation_layer=None)
        self.f = BottleneckTransform(width_in, width_out, stride, norm_layer, activation_layer,
                                     group_width, bottleneck_multiplier, se_ratio)
        self.activation = activation_layer(inplace=True)

    def forward(self, x):
        shortcut = x if self.proj is None else self.proj(x)
        return self.activation(shortcut + self.f(x))


class AnyStage(nn.Sequential):
    """``depth`` blocks of one width; the first one strides. Named ``block{stage}-{i}``."""

    def __init__(self, width_in: int, width_out: int, stride: int, depth: int,
                 block_constructor: Callable, norm_layer: Callable,
                 activation_layer: Callable, group_width: int, bottleneck_multiplier: float,
                 se_ratio: float | None = None, stage_index: int = 0) -> None:
        super().__init__()
        for i in range(depth):
            block = block_constructor(width_in if i == 0 else width_out, width_out,
                                      stride if i == 0 else 1, norm_layer, activation_layer,
                                      group_width, bottleneck_multiplier, se_ratio)
            self.add_module(f"block{stage_index}-{i}", block)


class BlockParams:
    """Per-stage depths, widths, group widths, bottleneck multipliers and strides."""

    def __init__(self, depths: list[int], widths: list[int], group_widths: list[int],
                 bottleneck_multipliers: list[float], strides: list[int],
                 se_ratio: float | None = None) -> None:
        self.depths = depths
        self.widths = widths
        self.group_widths = group_widths
        self.bottleneck_multipliers = bottleneck_multipliers
        self.strides = strides
        self.se_ratio = se_ratio

    @classmethod
    def from_init_params(cls, depth: int, w_0: int, w_a: float, w_m: float, group_width: int,
                         bottleneck_multiplier: float = 1.0, se_ratio: float | None = None,
                         **kwargs) -> BlockParams:
        """The paper's design rule: block j has width w_0 + w_a * j, snapped in log space
        to w_0 * w_m^k and quantised to multiples of 8; runs of equal width form stages.
        Computed in float32 (as torchvision's tensors are), so widths agree bit for bit."""
        quant, stride = 8, 2
        if w_a < 0 or w_0 <= 0 or w_m <= 1 or w_0 % 8 != 0:
            raise ValueError("Invalid RegNet settings")
        widths_cont = ember.arange(depth) * w_a + w_0
        block_capacity = ember.round(ember.log(widths_cont / w_0) / math.log(w_m))
        scaled = w_0 * ember.pow(w_m, block_capacity)
        block_widths = (ember.round(scaled / quant) * quant).int().tolist()
        num_stages = len(set(block_widths))
        # A stage starts wherever the width changes; the trailing 0 closes the last one.
        splits = [w != wp for w, wp in zip(block_widths + [0], [0] + block_widths)]
        stage_widths = [w for w, t in zip(block_widths, splits[:-1]) if t]
        starts = [d for d, t in enumerate(splits) if t]
        stage_depths = [b - a for a, b in itertools.pairwise(starts)]
        bottleneck_multipliers = [bottleneck_multiplier] * num_stages
        stage_widths, group_widths = cls._adjust_widths_groups_compatibilty(
            stage_widths, bottleneck_multipliers, [group_width] * num_stages)
        return cls(depths=stage_depths, widths=stage_widths, group_widths=group_widths,
                   bottleneck_multipliers=bottleneck_multipliers,
                   strides=[stride] * num_stages, se_ratio=se_ratio)

    def _get_expanded_params(self):
        return zip(self.widths, self.strides, self.depths, self.group_widths,
                   self.bottleneck_multipliers)

    @staticmethod
    def _adjust_widths_groups_compatibilty(stage_widths: list[int],
                                           bottleneck_ratios: list[float],
                                           group_widths: list[int]):
        """Make each bottleneck width a multiple of its group width (shrinking the group
        width when it exceeds the bottleneck width)."""
        widths = [int(w * b) for w, b in zip(stage_widths, bottleneck_ratios)]
        group_widths_min = [min(g, w_bot) for g, w_bot in zip(group_widths, widths)]
        ws_bot = [make_divisible(w_bot, g) for w_bot, g in zip(widths, group_widths_min)]
        stage_widths = [int(w_bot / b) for w_bot, b in zip(ws_bot, bottleneck_ratios)]
        return stage_widths, group_widths_min


class RegNet(nn.Module):
    """Stem, stages from ``block_params`` (``trunk_output.blockN``), average pool, fc.

    Args:
        block_params: a BlockParams (e.g. ``BlockParams.from_init_params(...)``).
        num_classes: fc outputs. stem_width: stem channels. stem_type, block_type,
        norm_layer, activation: module classes (defaults: SimpleStemIN,
        ResBottleneckBlock, BatchNorm2d, ReLU).
    """

    def __init__(self, block_params: BlockParams, num_classes: int = 1000,
                 stem_width: int = 32, stem_type: Callable | None = None,
                 block_type: Callable | None = None, norm_layer: Callable | None = None,
                 activation: Callable | None = None) -> None:
        super().__init__()
        stem_type = stem_type or SimpleStemIN
        norm_layer = norm_layer or nn.BatchNorm2d
        block_type = block_type or ResBottleneckBlock
        activation = activation or nn.ReLU
        self.stem = stem_type(3, stem_width, norm_layer, activation)
        current_width = stem_width
        stages = []
        for i, (width_out, stride, depth, group_width, bottleneck_multiplier) in enumerate(
                block_params._get_expanded_params()):
            stages.append((f"block{i + 1}", AnyStage(
                current_width, width_out, stride, depth, block_type, norm_layer, activation,
                group_width, bottleneck_multiplier, block_params.se_ratio,
                stage_index=i + 1)))
            current_width = width_out
        self.trunk_output = nn.Sequential(OrderedDict(stages))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_features=current_width, out_features=num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.avgpool(self.trunk_output(self.stem(x)))
        return self.fc(x.flatten(start_dim=1))


# -- weights ---------------------------------------------------------------------------------

_URL = "https://download.pytorch.org/models/"
_NEW_RECIPE = "https://github.com/pytorch/vision/issues/3995#new-recipe"
_FIXRES = _NEW_RECIPE + "-with-fixres"
_LINEAR_PROBE = "https://github.com/pytorch/vision/pull/5793"
_SWAG = {"recipe": "https://github.com/facebookresearch/SWAG",
         "license": "https://github.com/facebookresearch/SWAG/blob/main/LICENSE"}


def _v1(file, params, acc1, acc5, ops, size, recipe):
    return imagenet_weights(_URL + file, params, acc1, acc5, recipe=recipe, _ops=ops,
                            _file_size=size)


def _v2(file, params, acc1, acc5, ops, size, recipe=_NEW_RECIPE):
    return imagenet_weights(_URL + file, params, acc1, acc5, resize=232, recipe=recipe,
                            _ops=ops, _file_size=size)


def _swag(file, params, acc1, acc5, ops, size, linear_probe):
    crop = 224 if linear_probe else 384
    meta = dict(_SWAG, recipe=_LINEAR_PROBE) if linear_probe else _SWAG
    return imagenet_weights(_URL + file, params, acc1, acc5, crop=crop, resize=crop,
                            interpolation="bicubic", _ops=ops, _file_size=size, **meta)


def _enum(name, members, default="IMAGENET1K_V2"):
    members = dict(members)
    members["DEFAULT"] = members[default]
    return make_weights_enum(name, members, __name__)


_CLASSIC = "https://github.com/pytorch/vision/tree/main/references/classification#small-models"
_MEDIUM = "https://github.com/pytorch/vision/tree/main/references/classification#medium-models"
_LARGE = "https://github.com/pytorch/vision/tree/main/references/classification#large-models"


def _pair(name, stem, params, v1, v2, ops, size, recipe, extra=None, size2=None,
          recipe2=_NEW_RECIPE):
    members = {"IMAGENET1K_V1": _v1(f"{stem}-{v1[0]}.pth", params, v1[1], v1[2], ops, size,
                                    recipe),
               "IMAGENET1K_V2": _v2(f"{stem}-{v2[0]}.pth", params, v2[1], v2[2], ops,
                                    size2 or size, recipe2)}
    members.update(extra or {})
    return _enum(name, members)


RegNet_Y_400MF_Weights = _pair("RegNet_Y_400MF_Weights", "regnet_y_400mf", 4344144,
                               ("c65dace8", 74.046, 91.716), ("e6988f5f", 75.804, 92.742),
                               0.402, 16.806, _CLASSIC)
RegNet_Y_800MF_Weights = _pair("RegNet_Y_800MF_Weights", "regnet_y_800mf", 6432512,
                               ("1b27b58c", 76.420, 93.136), ("58fc7688", 78.828, 94.502),
                               0.834, 24.774, _CLASSIC)
RegNet_Y_1_6GF_Weights = _pair("RegNet_Y_1_6GF_Weights", "regnet_y_1_6gf", 11202430,
                               ("b11a554e", 77.950, 93.966), ("0d7bc02a", 80.876, 95.444),
                               1.612, 43.152, _CLASSIC)
RegNet_Y_3_2GF_Weights = _pair("RegNet_Y_3_2GF_Weights", "regnet_y_3_2gf", 19436338,
                               ("b5a9779c", 78.948, 94.576), ("9180c971", 81.982, 95.972),
                               3.176, 74.567, _MEDIUM)
RegNet_Y_8GF_Weights = _pair("RegNet_Y_8GF_Weights", "regnet_y_8gf", 39381472,
                             ("d0d0e4a8", 80.032, 95.048), ("dc2b1b54", 82.828, 96.330),
                             8.473, 150.701, _MEDIUM)
RegNet_Y_16GF_Weights = _pair(
    "RegNet_Y_16GF_Weights", "regnet_y_16gf", 83590140, ("9e6ed7dd", 80.424, 95.240),
    ("3e4a00f9", 82.886, 96.328), 15.912, 319.49, _LARGE,
    {"IMAGENET1K_SWAG_E2E_V1": _swag("regnet_y_16gf_swag-43afe44d.pth", 83590140, 86.012,
                                     98.054, 46.735, 319.49, False),
     "IMAGENET1K_SWAG_LINEAR_V1": _swag("regnet_y_16gf_lc_swag-f3ec0043.pth", 83590140,
                                        83.976, 97.244, 15.912, 319.49, True)})
RegNet_Y_32GF_Weights = _pair(
    "RegNet_Y_32GF_Weights", "regnet_y_32gf", 145046770, ("4dee3f7a", 80.878, 95.340),
    ("8db6d4b5", 83.368, 96.498), 32.28, 554.076, _LARGE,
    {"IMAGENET1K_SWAG_E2E_V1": _swag("regnet_y_32gf_swag-04fdfa75.pth", 145046770, 86.838,
                                     98.362, 94.826, 554.076, False),
     "IMAGENET1K_SWAG_LINEAR_V1": _swag("regnet_y_32gf_lc_swag-e1583746.pth", 145046770,
                                        84.622, 97.480, 32.28, 554.076, True)})
RegNet_Y_128GF_Weights = _enum("RegNet_Y_128GF_Weights", {
    "IMAGENET1K_SWAG_E2E_V1": _swag("regnet_y_128gf_swag-c8ce3e52.pth", 644812894, 88.228,
                                    98.682, 374.57, 2461.564, False),
    "IMAGENET1K_SWAG_LINEAR_V1": _swag("regnet_y_128gf_lc_swag-cbe8ce12.pth", 644812894,
                                       86.068, 97.844, 127.518, 2461.564, True),
}, default="IMAGENET1K_SWAG_E2E_V1")
RegNet_X_400MF_Weights = _pair("RegNet_X_400MF_Weights", "regnet_x_400mf", 5495976,
                               ("adf1edd5", 72.834, 90.950), ("62229a5f", 74.864, 92.322),
                               0.414, 21.258, _CLASSIC, size2=21.257, recipe2=_FIXRES)
RegNet_X_800MF_Weights = _pair("RegNet_X_800MF_Weights", "regnet_x_800mf", 7259656,
                               ("ad17e45c", 75.212, 92.348), ("94a99ebd", 77.522, 93.826),
                               0.8, 27.945, _CLASSIC, recipe2=_FIXRES)
RegNet_X_1_6GF_Weights = _pair("RegNet_X_1_6GF_Weights", "regnet_x_1_6gf", 9190136,
                               ("e3633e7f", 77.040, 93.440), ("a12f2b72", 79.668, 94.922),
                               1.603, 35.339, _CLASSIC, recipe2=_FIXRES)
RegNet_X_3_2GF_Weights = _pair("RegNet_X_3_2GF_Weights", "regnet_x_3_2gf", 15296552,
                               ("f342aeae", 78.364, 93.992), ("7071aa85", 81.196, 95.430),
                               3.177, 58.756, _MEDIUM)
RegNet_X_8GF_Weights = _pair("RegNet_X_8GF_Weights", "regnet_x_8gf", 39572648,
                             ("03ceed89", 79.344, 94.686), ("2b70d774", 81.682, 95.678),
                             7.995, 151.456, _MEDIUM)
RegNet_X_16GF_Weights = _pair("RegNet_X_16GF_Weights", "regnet_x_16gf", 54278536,
                              ("2007eb11", 80.058, 94.944), ("ba3796d7", 82.716, 96.196),
                              15.941, 207.627, _MEDIUM)
RegNet_X_32GF_Weights = _pair("RegNet_X_32GF_Weights", "regnet_x_32gf", 107811560,
                              ("9d47f8d0", 80.622, 95.248), ("6eb8fdc6", 83.014, 96.288),
                              31.736, 412.039, _LARGE)


# -- builders: (depth, w_0, w_a, w_m, group_width) from the paper's tables -------------------

def _regnet(weights, progress, enum_cls, kwargs, depth, w_0, w_a, w_m, group_width,
            se_ratio=None) -> RegNet:
    weights = resolve_weights(weights, kwargs, enum_cls)
    params = BlockParams.from_init_params(depth=depth, w_0=w_0, w_a=w_a, w_m=w_m,
                                          group_width=group_width, se_ratio=se_ratio)
    norm_layer = kwargs.pop("norm_layer", partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1))
    model = RegNet(params, norm_layer=norm_layer, **kwargs)
    return apply_weights(model, weights, progress)


@register_model()
def regnet_y_400mf(*, weights: RegNet_Y_400MF_Weights | None = None, progress: bool = True,
                   **kwargs) -> RegNet:
    """RegNetY-400MF, 4.3M parameters."""
    return _regnet(weights, progress, RegNet_Y_400MF_Weights, kwargs, 16, 48, 27.89, 2.09, 8,
                   0.25)


@register_model()
def regnet_y_800mf(*, weights: RegNet_Y_800MF_Weights | None = None, progress: bool = True,
                   **kwargs) -> RegNet:
    """RegNetY-800MF, 6.4M parameters."""
    return _regnet(weights, progress, RegNet_Y_800MF_Weights, kwargs, 14, 56, 38.84, 2.4, 16,
                   0.25)


@register_model()
def regnet_y_1_6gf(*, weights: RegNet_Y_1_6GF_Weights | None = None, progress: bool = True,
                   **kwargs) -> RegNet:
    """RegNetY-1.6GF, 11.2M parameters."""
    return _regnet(weights, progress, RegNet_Y_1_6GF_Weights, kwargs, 27, 48, 20.71, 2.65, 24,
                   0.25)


@register_model()
def regnet_y_3_2gf(*, weights: RegNet_Y_3_2GF_Weights | None = None, progress: bool = True,
                   **kwargs) -> RegNet:
    """RegNetY-3.2GF, 19.4M parameters."""
    return _regnet(weights, progress, RegNet_Y_3_2GF_Weights, kwargs, 21, 80, 42.63, 2.66, 24,
                   0.25)


@register_model()
def regnet_y_8gf(*, weights: RegNet_Y_8GF_Weights | None = None, progress: bool = True,
                 **kwargs) -> RegNet:
    """RegNetY-8GF, 39.4M parameters."""
    return _regnet(weights, progress, RegNet_Y_8GF_Weights, kwargs, 17, 192, 76.82, 2.19, 56,
                   0.25)


@register_model()
def regnet_y_16gf(*, weights: RegNet_Y_16GF_Weights | None = None, progress: bool = True,
                  **kwargs) -> RegNet:
    """RegNetY-16GF, 83.6M parameters."""
    return _regnet(weights, progress, RegNet_Y_16GF_Weights, kwargs, 18, 200, 106.23, 2.48,
                   112, 0.25)


@register_model()
def regnet_y_32gf(*, weights: RegNet_Y_32GF_Weights | None = None, progress: bool = True,
                  **kwargs) -> RegNet:
    """RegNetY-32GF, 145M parameters."""
    return _regnet(weights, progress, RegNet_Y_32GF_Weights, kwargs, 20, 232, 115.89, 2.53,
                   232, 0.25)


@register_model()
def regnet_y_128gf(*, weights: RegNet_Y_128GF_Weights | None = None, progress: bool = True,
                   **kwargs) -> RegNet:
    """RegNetY-128GF, 645M parameters (SWAG weights only)."""
    return _regnet(weights, progress, RegNet_Y_128GF_Weights, kwargs, 27, 456, 160.83, 2.52,
                   264, 0.25)


@register_model()
def regnet_x_400mf(*, weights: RegNet_X_400MF_Weights | None = None, progress: bool = True,
                   **kwargs) -> RegNet:
    """RegNetX-400MF, 5.5M parameters."""
    return _regnet(weights, progress, RegNet_X_400MF_Weights, kwargs, 22, 24, 24.48, 2.54, 16)


@register_model()
def regnet_x_800mf(*, weights: RegNet_X_800MF_Weights | None = None, progress: bool = True,
                   **kwargs) -> RegNet:
    """RegNetX-800MF, 7.3M parameters."""
    return _regnet(weights, progress, RegNet_X_800MF_Weights, kwargs, 16, 56, 35.73, 2.28, 16)


@register_model()
def regnet_x_1_6gf(*, weights: RegNet_X_1_6GF_Weights | None = None, progress: bool = True,
                   **kwargs) -> RegNet:
    """RegNetX-1.6GF, 9.2M parameters."""
    return _regnet(weights, progress, RegNet_X_1_6GF_Weights, kwargs, 18, 80, 34.01, 2.25, 24)


@register_model()
def regnet_x_3_2gf(*, weights: RegNet_X_3_2GF_Weights | None = None, progress: bool = True,
                   **kwargs) -> RegNet:
    """RegNetX-3.2GF, 15.3M parameters."""
    return _regnet(weights, progress, RegNet_X_3_2GF_Weights, kwargs, 25, 88, 26.31, 2.25, 48)


@register_model()
def regnet_x_8gf(*, weights: RegNet_X_8GF_Weights | None = None, progress: bool = True,
                 **kwargs) -> RegNet:
    """RegNetX-8GF, 39.6M parameters."""
    return _regnet(weights, progress, RegNet_X_8GF_Weights, kwargs, 23, 80, 49.56, 2.88, 120)


@register_model()
def regnet_x_16gf(*, weights: RegNet_X_16GF_Weights | None = None, progress: bool = True,
                  **kwargs) -> RegNet:
    """RegNetX-16GF, 54.3M parameters."""
    return _regnet(weights, progress, RegNet_X_16GF_Weights, kwargs, 22, 216, 55.59, 2.1, 128)


@register_model()
def regnet_x_32gf(*, weights: RegNet_X_32GF_Weights | None = None, progress: bool = True,
                  **kwargs) -> RegNet:
    """RegNetX-32GF, 108M parameters."""
    return _regnet(weights, progress, RegNet_X_32GF_Weights, kwargs, 23, 320, 69.86, 2.0, 168)
