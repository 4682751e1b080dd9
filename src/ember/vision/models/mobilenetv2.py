"""torchvision's module path for MobileNetV2 (the code lives in ``mobilenet``)."""

from .mobilenet import InvertedResidual, MobileNet_V2_Weights, MobileNetV2, mobilenet_v2

__all__ = ["MobileNetV2", "MobileNet_V2_Weights", "mobilenet_v2", "InvertedResidual"]
