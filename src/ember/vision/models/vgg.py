"""VGG 11/13/16/19 with and without batch norm (Simonyan & Zisserman 2014).

``features`` from a layer list, a 7x7 adaptive pool, a three-Linear ``classifier``;
indices as torchvision's, so its checkpoints load.
"""

from __future__ import annotations

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
from ._layers import init_conv_norm_linear

__all__ = [
    "VGG", "VGG11_Weights", "VGG11_BN_Weights",
    "VGG13_Weights", "VGG13_BN_Weights", "VGG16_Weights", "VGG16_BN_Weights",
    "VGG19_Weights", "VGG19_BN_Weights", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
    "vgg16_bn", "vgg19", "vgg19_bn",
]

_URL = "https://download.pytorch.org/models/"


_CFGS: dict[str, list] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
          512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


def make_layers(cfg: list, batch_norm: bool = False) -> nn.Sequential:
    """3x3 convs (each followed by BN if asked, then ReLU) with 2x2 max pools at "M"."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` from make_layers, 7x7 adaptive pool, a three-Linear classifier."""

    def __init__(self, features: nn.Module, num_classes: int = 1000,
                 init_weights: bool = True, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            init_conv_norm_linear(self)

    def forward(self, x):
        x = ember.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def _vgg_enum(name, file, params, acc1, acc5):
    return make_weights_enum(name, {"IMAGENET1K_V1": imagenet_weights(
        _URL + file, params, acc1, acc5)}, __name__)


VGG11_Weights = _vgg_enum("VGG11_Weights", "vgg11-8a719046.pth", 132863336, 69.020, 88.628)
VGG11_BN_Weights = _vgg_enum("VGG11_BN_Weights", "vgg11_bn-6002323d.pth", 132868840,
                             70.370, 89.810)
VGG13_Weights = _vgg_enum("VGG13_Weights", "vgg13-19584684.pth", 133047848, 69.928, 89.246)
VGG13_BN_Weights = _vgg_enum("VGG13_BN_Weights", "vgg13_bn-abd245e5.pth", 133053736,
                             71.586, 90.374)
_VGG16_V1 = imagenet_weights(_URL + "vgg16-397923af.pth", 138357544, 71.592, 90.382)
# SSD300's backbone: only ``features`` hold trained values; inputs in 0-255 units
_VGG16_FEATURES = imagenet_weights(
    _URL + "vgg16_features-amdegroot-88682ab5.pth", 138357544, float("nan"), float("nan"),
    min_size=(32, 32), categories=None, _ops=15.47, _file_size=527.802,
    recipe="https://github.com/amdegroot/ssd.pytorch#training-ssd")
_VGG16_FEATURES.transforms = partial(ImageClassification, crop_size=224,
                                     mean=(0.48235, 0.45882, 0.40784),
                                     std=(1.0 / 255.0, 1.0 / 255.0, 1.0 / 255.0))
VGG16_Weights = make_weights_enum("VGG16_Weights", {
    "IMAGENET1K_V1": _VGG16_V1, "IMAGENET1K_FEATURES": _VGG16_FEATURES,
    "DEFAULT": _VGG16_V1}, __name__)
VGG16_BN_Weights = _vgg_enum("VGG16_BN_Weights", "vgg16_bn-6c64b313.pth", 138365992,
                             73.360, 91.516)
VGG19_Weights = _vgg_enum("VGG19_Weights", "vgg19-dcbb9e9d.pth", 143667240, 72.376, 90.876)
VGG19_BN_Weights = _vgg_enum("VGG19_BN_Weights", "vgg19_bn-c79401a0.pth", 143678248,
                             74.218, 91.842)


def _vgg(cfg: str, batch_norm: bool, weights, progress: bool, enum_cls, kwargs) -> VGG:
    weights = resolve_weights(weights, kwargs, enum_cls)
    if weights is not None:
        kwargs["init_weights"] = False
    model = VGG(make_layers(_CFGS[cfg], batch_norm=batch_norm), **kwargs)
    return apply_weights(model, weights, progress)


@register_model()
def vgg11(*, weights: VGG11_Weights | None = None, progress: bool = True, **kwargs) -> VGG:
    """VGG-11 (configuration "A")."""
    return _vgg("A", False, weights, progress, VGG11_Weights, kwargs)


@register_model()
def vgg11_bn(*, weights: VGG11_BN_Weights | None = None, progress: bool = True,
             **kwargs) -> VGG:
    """VGG-11 with batch norm."""
    return _vgg("A", True, weights, progress, VGG11_BN_Weights, kwargs)


@register_model()
def vgg13(*, weights: VGG13_Weights | None = None, progress: bool = True, **kwargs) -> VGG:
    """VGG-13 (configuration "B")."""
    return _vgg("B", False, weights, progress, VGG13_Weights, kwargs)


@register_model()
def vgg13_bn(*, weights: VGG13_BN_Weights | None = None, progress: bool = True,
             **kwargs) -> VGG:
    """VGG-13 with batch norm."""
    return _vgg("B", True, weights, progress, VGG13_BN_Weights, kwargs)


@register_model()
def vgg16(*, weights: VGG16_Weights | None = None, progress: bool = True, **kwargs) -> VGG:
    """VGG-16 (configuration "D")."""
    return _vgg("D", False, weights, progress, VGG16_Weights, kwargs)


@register_model()
def vgg16_bn(*, weights: VGG16_BN_Weights | None = None, progress: bool = True,
             **kwargs) -> VGG:
    """VGG-16 with batch norm."""
    return _vgg("D", True, weights, progress, VGG16_BN_Weights, kwargs)


@register_model()
def vgg19(*, weights: VGG19_Weights | None = None, progress: bool = True, **kwargs) -> VGG:
    """VGG-19 (configuration "E")."""
    return _vgg("E", False, weights, progress, VGG19_Weights, kwargs)


@register_model()
def vgg19_bn(*, weights: VGG19_BN_Weights | None = None, progress: bool = True,
             **kwargs) -> VGG:
    """VGG-19 with batch norm."""
    return _vgg("E", True, weights, progress, VGG19_BN_Weights, kwargs)
