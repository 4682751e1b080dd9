"""EfficientNet B0..B7 (Tan & Le 2019) and EfficientNetV2 S/M/L (Tan & Le 2021).

B0..B7 are one MBConv table (squeeze-excitation, SiLU) scaled in width and depth;
V2 starts with Fused-MBConv stages (one full kxk conv instead of 1x1 + depthwise).
Names follow torchvision (``features.1.0.block``), so its checkpoints load.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from functools import partial

import ember
from ember import nn

from ._api import (
    ImageClassification,
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

__all__ = [
    "EfficientNet",
    "EfficientNet_B0_Weights",
    "EfficientNet_B1_Weights",
    "EfficientNet_B2_Weights",
    "EfficientNet_B3_Weights",
    "EfficientNet_B4_Weights",
    "EfficientNet_B5_Weights",
    "EfficientNet_B6_Weights",
    "EfficientNet_B7_Weights",
    "EfficientNet_V2_L_Weights",
    "EfficientNet_V2_M_Weights",
    "EfficientNet_V2_S_Weights",
    "MBConvConfig",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "efficientnet_b4",
    "efficientnet_b5",
    "efficientnet_b6",
    "efficientnet_b7",
    "efficientnet_v2_l",
    "efficientnet_v2_m",
    "efficientnet_v2_s",
]


class _MBConvConfig:
    """One stage: expand ratio, kernel, first stride, in/out channels, repeats, and the
    block class that builds it (MBConv or FusedMBConv)."""

    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int,
                 out_channels: int, num_layers: int, block: Callable) -> None:
        self.expand_ratio = expand_ratio
        self.kernel = kernel
        self.stride = stride
        self.input_channels = input_channels
        self.out_channels = out_channels
        self.num_layers = num_layers
        self.block = block

    @staticmethod
    def adjust_channels(channels: int, width_mult: float, min_value: int | None = None):
        return make_divisible(channels * width_mult, 8, min_value)

    def __repr__(self) -> str:
        fields = ("expand_ratio", "kernel", "stride", "input_channels", "out_channels",
                  "num_layers", "block")
        return f"{type(self).__name__}(" + ", ".join(
            f"{f}={getattr(self, f)!r}" for f in fields) + ")"

    def _fields(self) -> tuple:
        return (self.expand_ratio, self.kernel, self.stride, self.input_channels,
                self.out_channels, self.num_layers, self.block)

    def __eq__(self, other) -> bool:  # dataclass equality, as torchvision's configs have
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None


class MBConvConfig(_MBConvConfig):
    """An MBConv stage (EfficientNet Table 1, EfficientNetV2 Table 4): channels scale by
    ``width_mult`` (rounded to multiples of 8) and repeats by ``depth_mult`` (rounded up),
    which is all that separates B1..B7 from B0."""

    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int,
                 out_channels: int, num_layers: int, width_mult: float = 1.0,
                 depth_mult: float = 1.0, block: Callable | None = None) -> None:
        super().__init__(expand_ratio, kernel, stride,
                         self.adjust_channels(input_channels, width_mult),
                         self.adjust_channels(out_channels, width_mult),
                         self.adjust_depth(num_layers, depth_mult), block or MBConv)

    @staticmethod
    def adjust_depth(num_layers: int, depth_mult: float) -> int:
        return math.ceil(num_layers * depth_mult)


class FusedMBConvConfig(_MBConvConfig):
    """A Fused-MBConv stage (EfficientNetV2 Table 4): no width or depth scaling."""

    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int,
                 out_channels: int, num_layers: int, block: Callable | None = None) -> None:
        super().__init__(expand_ratio, kernel, stride, input_channels, out_channels,
                         num_layers, block or FusedMBConv)


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


class FusedMBConv(nn.Module):
    """EfficientNetV2's early-stage block: the expand 1x1 and depthwise kxk fuse into one
    full kxk conv (faster on accelerators at high resolution), then a linear 1x1 project;
    with expand ratio 1 the kxk conv alone maps in to out. No squeeze-excitation."""

    def __init__(self, cnf: FusedMBConvConfig, stochastic_depth_prob: float,
                 norm_layer: Callable) -> None:
        super().__init__()
        if not (1 <= cnf.stride <= 2):
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        fused_out = expanded if expanded != cnf.input_channels else cnf.out_channels
        layers: list[nn.Module] = [Conv2dNormActivation(
            cnf.input_channels, fused_out, kernel_size=cnf.kernel, stride=cnf.stride,
            norm_layer=norm_layer, activation_layer=nn.SiLU)]
        if expanded != cnf.input_channels:
            layers.append(Conv2dNormActivation(expanded, cnf.out_channels, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=None))
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
    """Stem, MBConv / FusedMBConv stages (drop probability growing linearly with depth
    over all blocks), head conv; ``last_channel`` defaults to 4x the last stage's width."""

    def __init__(self, inverted_residual_setting: list[_MBConvConfig], dropout: float,
                 stochastic_depth_prob: float = 0.2, num_classes: int = 1000,
                 norm_layer: Callable | None = None, last_channel: int | None = None) -> None:
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not (isinstance(inverted_residual_setting, Sequence)
                and all(isinstance(s, _MBConvConfig) for s in inverted_residual_setting)):
            raise TypeError("The inverted_residual_setting should be List[MBConvConfig]")
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
                stage.append(block_cnf.block(block_cnf, sd_prob, norm_layer))
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


_URL = "https://download.pytorch.org/models/"
_RECIPE = "https://github.com/pytorch/vision/tree/main/references/classification#"
_V1_META = {"recipe": _RECIPE + "efficientnet-v1"}
_V2_META = {"recipe": _RECIPE + "efficientnet-v2", "min_size": (33, 33)}


def _weights(file: str, params: int, acc1: float, acc5: float, crop: int, resize: int,
             interpolation: str, ops: float, size: float, meta: dict, **transform_kw):
    """One entry as torchvision lists it; ``transform_kw`` (mean/std) reach the preset."""
    w = imagenet_weights(_URL + file, params, acc1, acc5, crop=crop, resize=resize,
                         interpolation=interpolation, _ops=ops, _file_size=size, **meta)
    if transform_kw:
        w.transforms = partial(ImageClassification, crop_size=crop, resize_size=resize,
                               interpolation=interpolation, **transform_kw)
    return w


def _ported(file, params, acc1, acc5, crop, resize, ops, size):
    """Weights ported from the original paper's checkpoints (bicubic preset)."""
    return _weights(file, params, acc1, acc5, crop, resize, "bicubic", ops, size, _V1_META)


EfficientNet_B0_Weights = make_weights_enum("EfficientNet_B0_Weights", {
    "IMAGENET1K_V1": _ported("efficientnet_b0_rwightman-7f5810bc.pth", 5288548, 77.692,
                             93.532, 224, 256, 0.386, 20.451)}, __name__)
EfficientNet_B1_Weights = make_weights_enum("EfficientNet_B1_Weights", {
    "IMAGENET1K_V1": _ported("efficientnet_b1_rwightman-bac287d4.pth", 7794184, 78.642,
                             94.186, 240, 256, 0.687, 30.134),
    "IMAGENET1K_V2": _weights(
        "efficientnet_b1-c27df63c.pth", 7794184, 79.838, 94.934, 240, 255, "bilinear",
        0.687, 30.136,
        {"recipe": "https://github.com/pytorch/vision/issues/3995"
                   "#new-recipe-with-lr-wd-crop-tuning"})}, __name__)
EfficientNet_B2_Weights = make_weights_enum("EfficientNet_B2_Weights", {
    "IMAGENET1K_V1": _ported("efficientnet_b2_rwightman-c35c1473.pth", 9109994, 80.608,
                             95.310, 288, 288, 1.088, 35.174)}, __name__)
EfficientNet_B3_Weights = make_weights_enum("EfficientNet_B3_Weights", {
    "IMAGENET1K_V1": _ported("efficientnet_b3_rwightman-b3899882.pth", 12233232, 82.008,
                             96.054, 300, 320, 1.827, 47.184)}, __name__)
EfficientNet_B4_Weights = make_weights_enum("EfficientNet_B4_Weights", {
    "IMAGENET1K_V1": _ported("efficientnet_b4_rwightman-23ab8bcd.pth", 19341616, 83.384,
                             96.594, 380, 384, 4.394, 74.489)}, __name__)
EfficientNet_B5_Weights = make_weights_enum("EfficientNet_B5_Weights", {
    "IMAGENET1K_V1": _ported("efficientnet_b5_lukemelas-1a07897c.pth", 30389784, 83.444,
                             96.628, 456, 456, 10.266, 116.864)}, __name__)
EfficientNet_B6_Weights = make_weights_enum("EfficientNet_B6_Weights", {
    "IMAGENET1K_V1": _ported("efficientnet_b6_lukemelas-24a108a5.pth", 43040704, 84.008,
                             96.916, 528, 528, 19.068, 165.362)}, __name__)
EfficientNet_B7_Weights = make_weights_enum("EfficientNet_B7_Weights", {
    "IMAGENET1K_V1": _ported("efficientnet_b7_lukemelas-c5b4e57e.pth", 66347960, 84.122,
                             96.908, 600, 600, 37.746, 254.675)}, __name__)
EfficientNet_V2_S_Weights = make_weights_enum("EfficientNet_V2_S_Weights", {
    "IMAGENET1K_V1": _weights("efficientnet_v2_s-dd5fe13b.pth", 21458488, 84.228, 96.878,
                              384, 384, "bilinear", 8.366, 82.704, _V2_META)}, __name__)
EfficientNet_V2_M_Weights = make_weights_enum("EfficientNet_V2_M_Weights", {
    "IMAGENET1K_V1": _weights("efficientnet_v2_m-dc08266a.pth", 54139356, 85.112, 97.156,
                              480, 480, "bilinear", 24.582, 208.01, _V2_META)}, __name__)
# V2-L's weights are ported from the paper's TF checkpoints, trained on [-1, 1] inputs.
EfficientNet_V2_L_Weights = make_weights_enum("EfficientNet_V2_L_Weights", {
    "IMAGENET1K_V1": _weights("efficientnet_v2_l-59c71312.pth", 118515272, 85.808, 97.788,
                              480, 480, "bicubic", 56.08, 454.573, _V2_META,
                              mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))}, __name__)


def _b_setting(width_mult: float = 1.0, depth_mult: float = 1.0) -> list[MBConvConfig]:
    """EfficientNet Table 1 (B0), scaled in width and depth for B1..B7."""
    conf = partial(MBConvConfig, width_mult=width_mult, depth_mult=depth_mult)
    return [conf(1, 3, 1, 32, 16, 1), conf(6, 3, 2, 16, 24, 2), conf(6, 5, 2, 24, 40, 2),
            conf(6, 3, 2, 40, 80, 3), conf(6, 5, 1, 80, 112, 3), conf(6, 5, 2, 112, 192, 4),
            conf(6, 3, 1, 192, 320, 1)]



# EfficientNetV2 Table 4 (S) and torchvision's M/L: (fused?, expand, kernel, stride, in,
# out, repeats); all kernels are 3x3.
_V2_TABLES = {
    "s": [(1, 1, 1, 24, 24, 2), (1, 4, 2, 24, 48, 4), (1, 4, 2, 48, 64, 4),
          (0, 4, 2, 64, 128, 6), (0, 6, 1, 128, 160, 9), (0, 6, 2, 160, 256, 15)],
    "m": [(1, 1, 1, 24, 24, 3), (1, 4, 2, 24, 48, 5), (1, 4, 2, 48, 80, 5),
          (0, 4, 2, 80, 160, 7), (0, 6, 1, 160, 176, 14), (0, 6, 2, 176, 304, 18),
          (0, 6, 1, 304, 512, 5)],
    "l": [(1, 1, 1, 32, 32, 4), (1, 4, 2, 32, 64, 7), (1, 4, 2, 64, 96, 7),
          (0, 4, 2, 96, 192, 10), (0, 6, 1, 192, 224, 19), (0, 6, 2, 224, 384, 25),
          (0, 6, 1, 384, 640, 7)],
}


def _v2_setting(size: str) -> list[_MBConvConfig]:
    return [(FusedMBConvConfig if fused else MBConvConfig)(e, 3, s, i, o, n)
            for fused, e, s, i, o, n in _V2_TABLES[size]]


def _efficientnet(setting, dropout: float, last_channel: int | None, weights, progress: bool,
                  kwargs: dict, norm_layer: Callable | None = None) -> EfficientNet:
    """Build and load; ``norm_layer`` is the variant's BatchNorm (passing one in
    ``kwargs`` too is a duplicate-argument TypeError, as in torchvision)."""
    extra = {} if norm_layer is None else {"norm_layer": norm_layer}
    model = EfficientNet(setting, kwargs.pop("dropout", dropout), last_channel=last_channel,
                         **extra, **kwargs)
    return apply_weights(model, weights, progress)


# B5..B7 (and V2) checkpoints were trained with these BatchNorm settings.
_BN_B5_B7 = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
_BN_V2 = partial(nn.BatchNorm2d, eps=1e-03)


@register_model()
def efficientnet_b0(*, weights: EfficientNet_B0_Weights | None = None,
                    progress: bool = True, **kwargs) -> EfficientNet:
    """EfficientNet-B0, 5.3M parameters."""
    weights = resolve_weights(weights, kwargs, EfficientNet_B0_Weights)
    return _efficientnet(_b_setting(1.0, 1.0), 0.2, None, weights, progress, kwargs)


@register_model()
def efficientnet_b1(*, weights: EfficientNet_B1_Weights | None = None,
                    progress: bool = True, **kwargs) -> EfficientNet:
    """EfficientNet-B1 (depth x1.1), 7.8M parameters."""
    weights = resolve_weights(weights, kwargs, EfficientNet_B1_Weights)
    return _efficientnet(_b_setting(1.0, 1.1), 0.2, None, weights, progress, kwargs)


@register_model()
def efficientnet_b2(*, weights: EfficientNet_B2_Weights | None = None,
                    progress: bool = True, **kwargs) -> EfficientNet:
    """EfficientNet-B2 (width x1.1, depth x1.2), 9.1M parameters."""
    weights = resolve_weights(weights, kwargs, EfficientNet_B2_Weights)
    return _efficientnet(_b_setting(1.1, 1.2), 0.3, None, weights, progress, kwargs)


@register_model()
def efficientnet_b3(*, weights: EfficientNet_B3_Weights | None = None,
                    progress: bool = True, **kwargs) -> EfficientNet:
    """EfficientNet-B3 (width x1.2, depth x1.4), 12.2M parameters."""
    weights = resolve_weights(weights, kwargs, EfficientNet_B3_Weights)
    return _efficientnet(_b_setting(1.2, 1.4), 0.3, None, weights, progress, kwargs)


@register_model()
def efficientnet_b4(*, weights: EfficientNet_B4_Weights | None = None,
                    progress: bool = True, **kwargs) -> EfficientNet:
    """EfficientNet-B4 (width x1.4, depth x1.8), 19.3M parameters."""
    weights = resolve_weights(weights, kwargs, EfficientNet_B4_Weights)
    return _efficientnet(_b_setting(1.4, 1.8), 0.4, None, weights, progress, kwargs)


@register_model()
def efficientnet_b5(*, weights: EfficientNet_B5_Weights | None = None,
                    progress: bool = True, **kwargs) -> EfficientNet:
    """EfficientNet-B5 (width x1.6, depth x2.2), 30.4M parameters."""
    weights = resolve_weights(weights, kwargs, EfficientNet_B5_Weights)
    return _efficientnet(_b_setting(1.6, 2.2), 0.4, None, weights, progress, kwargs,
                         _BN_B5_B7)


@register_model()
def efficientnet_b6(*, weights: EfficientNet_B6_Weights | None = None,
                    progress: bool = True, **kwargs) -> EfficientNet:
    """EfficientNet-B6 (width x1.8, depth x2.6), 43.0M parameters."""
    weights = resolve_weights(weights, kwargs, EfficientNet_B6_Weights)
    return _efficientnet(_b_setting(1.8, 2.6), 0.5, None, weights, progress, kwargs,
                         _BN_B5_B7)


@register_model()
def efficientnet_b7(*, weights: EfficientNet_B7_Weights | None = None,
                    progress: bool = True, **kwargs) -> EfficientNet:
    """EfficientNet-B7 (width x2.0, depth x3.1), 66.3M parameters."""
    weights = resolve_weights(weights, kwargs, EfficientNet_B7_Weights)
    return _efficientnet(_b_setting(2.0, 3.1), 0.5, None, weights, progress, kwargs,
                         _BN_B5_B7)


@register_model()
def efficientnet_v2_s(*, weights: EfficientNet_V2_S_Weights | None = None,
                      progress: bool = True, **kwargs) -> EfficientNet:
    """EfficientNetV2-S, 21.5M parameters."""
    weights = resolve_weights(weights, kwargs, EfficientNet_V2_S_Weights)
    return _efficientnet(_v2_setting("s"), 0.2, 1280, weights, progress, kwargs, _BN_V2)


@register_model()
def efficientnet_v2_m(*, weights: EfficientNet_V2_M_Weights | None = None,
                      progress: bool = True, **kwargs) -> EfficientNet:
    """EfficientNetV2-M, 54.1M parameters."""
    weights = resolve_weights(weights, kwargs, EfficientNet_V2_M_Weights)
    return _efficientnet(_v2_setting("m"), 0.3, 1280, weights, progress, kwargs, _BN_V2)


@register_model()
def efficientnet_v2_l(*, weights: EfficientNet_V2_L_Weights | None = None,
                      progress: bool = True, **kwargs) -> EfficientNet:
    """EfficientNetV2-L, 118.5M parameters."""
    weights = resolve_weights(weights, kwargs, EfficientNet_V2_L_Weights)
    return _efficientnet(_v2_setting("l"), 0.4, 1280, weights, progress, kwargs, _BN_V2)
