"""DenseNet-121/161/169/201 (Huang et al. 2016): each layer sees every earlier feature map.

Names follow torchvision (``features.denseblock1.denselayer1.norm1``); checkpoints from
before the ``norm.1 -> norm1`` rename load too.
"""

from __future__ import annotations

import re
from collections import OrderedDict

import ember
from ember import nn

from ._api import (
    apply_weights,
    imagenet_weights,
    make_weights_enum,
    register_model,
    resolve_weights,
)

__all__ = ["DenseNet", "DenseNet121_Weights", "DenseNet161_Weights", "DenseNet169_Weights",
           "DenseNet201_Weights", "densenet121", "densenet161", "densenet169", "densenet201"]

_URL = "https://download.pytorch.org/models/"


class _DenseLayer(nn.Module):
    """BN-ReLU-1x1 conv bottleneck to bn_size*k channels, then BN-ReLU-3x3 conv to k."""

    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int,
                 drop_rate: float, memory_efficient: bool = False) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1,
                               stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1,
                               padding=1, bias=False)
        self.drop_rate = float(drop_rate)
        # Kept for signature parity: activation checkpointing is not needed on NumPy.
        self.memory_efficient = memory_efficient

    def forward(self, input):
        prev = [input] if isinstance(input, ember.Tensor) else input
        concated = ember.cat(prev, 1)
        bottleneck = self.conv1(self.relu1(self.norm1(concated)))
        new_features = self.conv2(self.relu2(self.norm2(bottleneck)))
        if self.drop_rate > 0:
            new_features = nn.functional.dropout(new_features, p=self.drop_rate,
                                                 training=self.training)
        return new_features


class _DenseBlock(nn.ModuleDict):
    def __init__(self, num_layers: int, num_input_features: int, bn_size: int,
                 growth_rate: int, drop_rate: float, memory_efficient: bool = False) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = _DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size,
                                drop_rate, memory_efficient)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, init_features):
        features = [init_features]
        for layer in self.values():
            features.append(layer(features))
        return ember.cat(features, 1)


class _Transition(nn.Sequential):
    """BN-ReLU-1x1 conv halving the channels, 2x2 average pool."""

    def __init__(self, num_input_features: int, num_output_features: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1,
                              stride=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """Args: growth_rate (k), block_config (layers per block), num_init_features,
    bn_size (bottleneck width factor), drop_rate, num_classes."""

    def __init__(self, growth_rate: int = 32, block_config: tuple = (6, 12, 24, 16),
                 num_init_features: int = 64, bn_size: int = 4, drop_rate: float = 0,
                 num_classes: int = 1000, memory_efficient: bool = False) -> None:
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(3, num_init_features, kernel_size=7, stride=2, padding=3,
                                bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ]))
        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            block = _DenseBlock(num_layers, num_features, bn_size, growth_rate, drop_rate,
                                memory_efficient)
            self.features.add_module(f"denseblock{i + 1}", block)
            num_features = num_features + num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}",
                                         _Transition(num_features, num_features // 2))
                num_features = num_features // 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        out = nn.functional.relu(self.features(x), inplace=True)
        out = ember.flatten(nn.functional.adaptive_avg_pool2d(out, (1, 1)), 1)
        return self.classifier(out)


_OLD_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|"
    r"running_var))$")


def _rename_old_keys(state_dict):
    """The published files predate the ``norm.1`` -> ``norm1`` rename; map them."""
    fixed = OrderedDict()
    for key, value in state_dict.items():
        match = _OLD_KEY.match(key)
        fixed[match.group(1) + match.group(2) if match else key] = value
    return fixed


def _enum(name, file, params, acc1, acc5):
    return make_weights_enum(name, {"IMAGENET1K_V1": imagenet_weights(
        _URL + file, params, acc1, acc5, min_size=(29, 29))}, __name__)


DenseNet121_Weights = _enum("DenseNet121_Weights", "densenet121-a639ec97.pth", 7978856,
                            74.434, 91.972)
DenseNet161_Weights = _enum("DenseNet161_Weights", "densenet161-8d451a50.pth", 28681000,
                            77.138, 93.560)
DenseNet169_Weights = _enum("DenseNet169_Weights", "densenet169-b2777c0a.pth", 14149480,
                            75.600, 92.806)
DenseNet201_Weights = _enum("DenseNet201_Weights", "densenet201-c1103571.pth", 20013928,
                            76.896, 93.370)


def _densenet(growth_rate, block_config, num_init_features, weights, progress, enum_cls,
              kwargs) -> DenseNet:
    weights = resolve_weights(weights, kwargs, enum_cls)
    model = DenseNet(growth_rate, block_config, num_init_features, **kwargs)
    return apply_weights(model, weights, progress, _rename_old_keys)


@register_model()
def densenet121(*, weights: DenseNet121_Weights | None = None, progress: bool = True,
                **kwargs) -> DenseNet:
    """DenseNet-121 (k=32, blocks 6-12-24-16), 8.0M parameters."""
    return _densenet(32, (6, 12, 24, 16), 64, weights, progress, DenseNet121_Weights, kwargs)


@register_model()
def densenet161(*, weights: DenseNet161_Weights | None = None, progress: bool = True,
                **kwargs) -> DenseNet:
    """DenseNet-161 (k=48, blocks 6-12-36-24)."""
    return _densenet(48, (6, 12, 36, 24), 96, weights, progress, DenseNet161_Weights, kwargs)


@register_model()
def densenet169(*, weights: DenseNet169_Weights | None = None, progress: bool = True,
                **kwargs) -> DenseNet:
    """DenseNet-169 (k=32, blocks 6-12-32-32)."""
    return _densenet(32, (6, 12, 32, 32), 64, weights, progress, DenseNet169_Weights, kwargs)


@register_model()
def densenet201(*, weights: DenseNet201_Weights | None = None, progress: bool = True,
                **kwargs) -> DenseNet:
    """DenseNet-201 (k=32, blocks 6-12-48-32)."""
    return _densenet(32, (6, 12, 48, 32), 64, weights, progress, DenseNet201_Weights, kwargs)
