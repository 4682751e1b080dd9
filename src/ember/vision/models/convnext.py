"""ConvNeXt (Liu et al. 2022, "A ConvNet for the 2020s"): depthwise 7x7 convs, LayerNorm,
inverted-bottleneck MLPs with GELU, layer scale and stochastic depth.

Module names follow torchvision (``features.1.0.block.3``, ``features.1.0.layer_scale``),
so its checkpoints load.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import ember
import ember.nn.functional as F
from ember import nn

from ._api import (
    apply_weights,
    imagenet_weights,
    make_weights_enum,
    register_model,
    resolve_weights,
)
from ._layers import Conv2dNormActivation, Permute, StochasticDepth

__all__ = [
    "ConvNeXt",
    "ConvNeXt_Base_Weights",
    "ConvNeXt_Large_Weights",
    "ConvNeXt_Small_Weights",
    "ConvNeXt_Tiny_Weights",
    "convnext_base",
    "convnext_large",
    "convnext_small",
    "convnext_tiny",
]


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW tensor (normalising each pixel)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    """dw7x7 conv, LayerNorm, Linear 4x, GELU, Linear, scaled by ``layer_scale``, with a
    stochastic-depth residual."""

    def __init__(self, dim: int, layer_scale: float, stochastic_depth_prob: float,
                 norm_layer: Callable | None = None) -> None:
        super().__init__()
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-6)
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            norm_layer(dim),
            nn.Linear(in_features=dim, out_features=4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(in_features=4 * dim, out_features=dim, bias=True),
            Permute([0, 3, 1, 2]))
        self.layer_scale = nn.Parameter(ember.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, input):
        result = self.stochastic_depth(self.layer_scale * self.block(input))
        return result + input


class CNBlockConfig:
    """One stage (Section 3 of the paper): width, width after the downsampling layer that
    follows it (None for the last stage), number of blocks."""

    def __init__(self, input_channels: int, out_channels: int | None,
                 num_layers: int) -> None:
        self.input_channels = input_channels
        self.out_channels = out_channels
        self.num_layers = num_layers

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(input_channels={self.input_channels}, "
                f"out_channels={self.out_channels}, num_layers={self.num_layers})")


class ConvNeXt(nn.Module):
    """Patchify stem (4x4/4 conv + LayerNorm2d), stages of CNBlocks separated by
    LayerNorm2d + 2x2/2 conv, global average pool, LayerNorm2d, flatten, Linear.

    Args:
        block_setting: list of CNBlockConfig. stochastic_depth_prob: drop probability of
        the last block (linearly increasing from 0). layer_scale: initial layer scale.
        num_classes: classifier outputs. block, norm_layer: module classes.
    """

    def __init__(self, block_setting: list[CNBlockConfig], stochastic_depth_prob: float = 0.0,
                 layer_scale: float = 1e-6, num_classes: int = 1000,
                 block: Callable | None = None, norm_layer: Callable | None = None,
                 **kwargs) -> None:
        super().__init__()
        if not block_setting:
            raise ValueError("The block_setting should not be empty")
        if not (isinstance(block_setting, Sequence)
                and all(isinstance(s, CNBlockConfig) for s in block_setting)):
            raise TypeError("The block_setting should be List[CNBlockConfig]")
        block = block or CNBlock
        norm_layer = norm_layer or partial(LayerNorm2d, eps=1e-6)
        layers: list[nn.Module] = [Conv2dNormActivation(
            3, block_setting[0].input_channels, kernel_size=4, stride=4, padding=0,
            norm_layer=norm_layer, activation_layer=None, bias=True)]
        total_stage_blocks = sum(cnf.num_layers for cnf in block_setting)
        stage_block_id = 0
        for cnf in block_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                sd_prob = stochastic_depth_prob * stage_block_id / (total_stage_blocks - 1.0)
                stage.append(block(cnf.input_channels, layer_scale, sd_prob))
                stage_block_id += 1
            layers.append(nn.Sequential(*stage))
            if cnf.out_channels is not None:
                layers.append(nn.Sequential(
                    norm_layer(cnf.input_channels),
                    nn.Conv2d(cnf.input_channels, cnf.out_channels, kernel_size=2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = block_setting[-1]
        last_channels = last.out_channels if last.out_channels is not None else \
            last.input_channels
        self.classifier = nn.Sequential(norm_layer(last_channels), nn.Flatten(1),
                                        nn.Linear(last_channels, num_classes))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def _forward_impl(self, x):
        return self.classifier(self.avgpool(self.features(x)))

    def forward(self, x):
        return self._forward_impl(x)


_URL = "https://download.pytorch.org/models/"
_META = {"min_size": (32, 32),
         "recipe": "https://github.com/pytorch/vision/tree/main/references/classification"
                   "#convnext"}


def _enum(name, file, num_params, acc1, acc5, resize, ops, size):
    weights = imagenet_weights(_URL + file, num_params, acc1, acc5, resize=resize,
                               interpolation="bilinear", _ops=ops, _file_size=size, **_META)
    return make_weights_enum(name, {"IMAGENET1K_V1": weights}, __name__)


ConvNeXt_Tiny_Weights = _enum("ConvNeXt_Tiny_Weights", "convnext_tiny-983f1562.pth",
                              28589128, 82.520, 96.146, 236, 4.456, 109.119)
ConvNeXt_Small_Weights = _enum("ConvNeXt_Small_Weights", "convnext_small-0c510722.pth",
                               50223688, 83.616, 96.650, 230, 8.684, 191.703)
ConvNeXt_Base_Weights = _enum("ConvNeXt_Base_Weights", "convnext_base-6075fbad.pth",
                              88591464, 84.062, 96.870, 232, 15.355, 338.064)
ConvNeXt_Large_Weights = _enum("ConvNeXt_Large_Weights", "convnext_large-ea097f82.pth",
                               197767336, 84.414, 96.976, 232, 34.361, 754.537)


def _convnext(widths, depths, default_sd, weights, progress, enum_cls, kwargs) -> ConvNeXt:
    weights = resolve_weights(weights, kwargs, enum_cls)
    outs = [*widths[1:], None]
    block_setting = [CNBlockConfig(w, o, d) for w, o, d in zip(widths, outs, depths)]
    stochastic_depth_prob = kwargs.pop("stochastic_depth_prob", default_sd)
    model = ConvNeXt(block_setting, stochastic_depth_prob=stochastic_depth_prob, **kwargs)
    return apply_weights(model, weights, progress)


@register_model()
def convnext_tiny(*, weights: ConvNeXt_Tiny_Weights | None = None, progress: bool = True,
                  **kwargs) -> ConvNeXt:
    """ConvNeXt-Tiny, 28.6M parameters."""
    return _convnext((96, 192, 384, 768), (3, 3, 9, 3), 0.1, weights, progress,
                     ConvNeXt_Tiny_Weights, kwargs)


@register_model()
def convnext_small(*, weights: ConvNeXt_Small_Weights | None = None, progress: bool = True,
                   **kwargs) -> ConvNeXt:
    """ConvNeXt-Small, 50.2M parameters."""
    return _convnext((96, 192, 384, 768), (3, 3, 27, 3), 0.4, weights, progress,
                     ConvNeXt_Small_Weights, kwargs)


@register_model()
def convnext_base(*, weights: ConvNeXt_Base_Weights | None = None, progress: bool = True,
                  **kwargs) -> ConvNeXt:
    """ConvNeXt-Base, 88.6M parameters."""
    return _convnext((128, 256, 512, 1024), (3, 3, 27, 3), 0.5, weights, progress,
                     ConvNeXt_Base_Weights, kwargs)


@register_model()
def convnext_large(*, weights: ConvNeXt_Large_Weights | None = None, progress: bool = True,
                   **kwargs) -> ConvNeXt:
    """ConvNeXt-Large, 197.8M parameters."""
    return _convnext((192, 384, 768, 1536), (3, 3, 27, 3), 0.5, weights, progress,
                     ConvNeXt_Large_Weights, kwargs)
