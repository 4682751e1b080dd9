"""AlexNet (Krizhevsky 2014, the "one weird trick" variant torchvision ships).

A ``features`` Sequential of five convs and three max pools, a 6x6 adaptive pool and
a ``classifier`` Sequential, indexed exactly as torchvision's.
"""

from __future__ import annotations

import ember
from ember import nn

from ._api import (
    apply_weights,
    imagenet_weights,
    make_weights_enum,
    register_model,
    resolve_weights,
)

__all__ = ["AlexNet", "AlexNet_Weights", "alexnet"]

_URL = "https://download.pytorch.org/models/"


class AlexNet(nn.Module):
    """Five convs, three max pools, 6x6 adaptive pool, three Linear layers with dropout."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        x = ember.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


AlexNet_Weights = make_weights_enum("AlexNet_Weights", {
    "IMAGENET1K_V1": imagenet_weights(_URL + "alexnet-owt-7be5be79.pth", 61100840,
                                      56.522, 79.066)}, __name__)


@register_model()
def alexnet(*, weights: AlexNet_Weights | None = None, progress: bool = True,
            **kwargs) -> AlexNet:
    """AlexNet, 61.1M parameters."""
    weights = resolve_weights(weights, kwargs, AlexNet_Weights)
    return apply_weights(AlexNet(**kwargs), weights, progress)
