"""torchvision's module path for MobileNetV3 (the code lives in ``mobilenet``)."""

from .mobilenet import (
    InvertedResidualConfig,
    MobileNet_V3_Large_Weights,
    MobileNet_V3_Small_Weights,
    MobileNetV3,
    mobilenet_v3_large,
    mobilenet_v3_small,
)

__all__ = ["MobileNetV3", "MobileNet_V3_Large_Weights", "MobileNet_V3_Small_Weights",
           "mobilenet_v3_large", "mobilenet_v3_small", "InvertedResidualConfig"]
