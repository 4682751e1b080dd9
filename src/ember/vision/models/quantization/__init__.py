"""ember.vision.models.quantization: torchvision's quantizable classifiers.

``quantize=True`` returns an int8 model (post-training static quantization, eager
mode); without it, a float model with quant/dequant stubs and ``fuse_model()``, ready
for a user's own calibration. Builders register as ``quantized_<name>``.
"""

from __future__ import annotations

from .googlenet import GoogLeNet_QuantizedWeights, QuantizableGoogLeNet, googlenet
from .inception import Inception_V3_QuantizedWeights, QuantizableInception3, inception_v3
from .mobilenetv2 import MobileNet_V2_QuantizedWeights, QuantizableMobileNetV2, mobilenet_v2
from .mobilenetv3 import (
    MobileNet_V3_Large_QuantizedWeights,
    QuantizableMobileNetV3,
    mobilenet_v3_large,
)
from .resnet import (
    QuantizableResNet,
    ResNet18_QuantizedWeights,
    ResNet50_QuantizedWeights,
    ResNeXt101_32X8D_QuantizedWeights,
    ResNeXt101_64X4D_QuantizedWeights,
    resnet18,
    resnet50,
    resnext101_32x8d,
    resnext101_64x4d,
)
from .shufflenetv2 import (
    QuantizableShuffleNetV2,
    ShuffleNet_V2_X0_5_QuantizedWeights,
    ShuffleNet_V2_X1_0_QuantizedWeights,
    ShuffleNet_V2_X1_5_QuantizedWeights,
    ShuffleNet_V2_X2_0_QuantizedWeights,
    shufflenet_v2_x0_5,
    shufflenet_v2_x1_0,
    shufflenet_v2_x1_5,
    shufflenet_v2_x2_0,
)
from .utils import quantize_model

__all__ = [
    "GoogLeNet_QuantizedWeights",
    "Inception_V3_QuantizedWeights",
    "MobileNet_V2_QuantizedWeights",
    "MobileNet_V3_Large_QuantizedWeights",
    "QuantizableGoogLeNet",
    "QuantizableInception3",
    "QuantizableMobileNetV2",
    "QuantizableMobileNetV3",
    "QuantizableResNet",
    "QuantizableShuffleNetV2",
    "ResNeXt101_32X8D_QuantizedWeights",
    "ResNeXt101_64X4D_QuantizedWeights",
    "ResNet18_QuantizedWeights",
    "ResNet50_QuantizedWeights",
    "ShuffleNet_V2_X0_5_QuantizedWeights",
    "ShuffleNet_V2_X1_0_QuantizedWeights",
    "ShuffleNet_V2_X1_5_QuantizedWeights",
    "ShuffleNet_V2_X2_0_QuantizedWeights",
    "googlenet",
    "inception_v3",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "quantize_model",
    "resnet18",
    "resnet50",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0",
    "shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0",
]
