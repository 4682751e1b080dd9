"""Quantizable MobileNetV2 (torchvision.models.quantization.mobilenetv2).

ReLU6 becomes ReLU (the fused int8 conv clamps at zero only; calibration then picks the
range), the shortcut add goes through a ``FloatFunctional``, and ``fuse_model()`` folds
every conv-bn(-relu). State-dict keys equal torchvision's, before and after conversion.
"""

from __future__ import annotations

from functools import partial

import ember.ao.quantization as aq
import ember.nn.quantized as nnq
from ember import nn
from ember.nn.quantized.modules import _QuantizedAdaptiveAvgPool2d

from .._api import (
    ImageClassification,
    Weights,
    apply_weights,
    make_weights_enum,
    register_model,
    resolve_weights,
)
from .._layers import Conv2dNormActivation
from ..mobilenet import InvertedResidual, MobileNet_V2_Weights, MobileNetV2
from .utils import _fuse_modules, _pop_backend, _replace_relu, quantize_model

__all__ = ["MobileNet_V2_QuantizedWeights", "QuantizableMobileNetV2", "mobilenet_v2"]

# Global average pooling that also reads int8 tensors (ember's float pooling does not),
# used functionally so the module tree stays torchvision's.
_GLOBAL_POOL = _QuantizedAdaptiveAvgPool2d((1, 1))


class QuantizableInvertedResidual(InvertedResidual):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.skip_add = nnq.FloatFunctional()

    def forward(self, x):
        if self.use_res_connect:
            return self.skip_add.add(x, self.conv(x))
        return self.conv(x)

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """The projection is a bare conv + BN pair inside ``conv``: fold each such pair."""
        for idx in range(len(self.conv)):
            if type(self.conv[idx]) is nn.Conv2d:
                _fuse_modules(self.conv, [str(idx), str(idx + 1)], is_qat, inplace=True)


class QuantizableMobileNetV2(MobileNetV2):
    """MobileNetV2 between a QuantStub and a DeQuantStub."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.quant = aq.QuantStub()
        self.dequant = aq.DeQuantStub()

    def forward(self, x):
        x = self.features(self.quant(x))
        x = self.classifier(_GLOBAL_POOL(x).flatten(1))
        return self.dequant(x)

    def fuse_model(self, is_qat: bool | None = None) -> None:
        for m in self.modules():
            if type(m) is Conv2dNormActivation:
                _fuse_modules(m, ["0", "1", "2"], is_qat, inplace=True)
            if type(m) is QuantizableInvertedResidual:
                m.fuse_model(is_qat)


MobileNet_V2_QuantizedWeights = make_weights_enum("MobileNet_V2_QuantizedWeights", {
    "IMAGENET1K_QNNPACK_V1": Weights(
        url="https://download.pytorch.org/models/quantized/mobilenet_v2_qnnpack_37f702c5.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta={"num_params": 3504872, "min_size": (1, 1), "num_classes": 1000,
              "backend": "qnnpack",
              "recipe": "https://github.com/pytorch/vision/tree/main/references/"
                        "classification#qat-mobilenetv2",
              "unquantized": MobileNet_V2_Weights.IMAGENET1K_V1,
              "_metrics": {"ImageNet-1K": {"acc@1": 71.658, "acc@5": 90.150}},
              "_ops": 0.301, "_file_size": 3.423})}, __name__)


@register_model(name="quantized_mobilenet_v2")
def mobilenet_v2(*, weights: MobileNet_V2_QuantizedWeights | MobileNet_V2_Weights
                 | None = None, progress: bool = True, quantize: bool = False,
                 **kwargs) -> QuantizableMobileNetV2:
    """Quantizable MobileNetV2; ``quantize=True`` gives the int8 model (default backend
    "qnnpack", the one its quantized weights were trained for)."""
    weights = resolve_weights(weights, kwargs, MobileNet_V2_QuantizedWeights if quantize
                              else MobileNet_V2_Weights)
    backend = _pop_backend(weights, kwargs, "qnnpack")
    model = QuantizableMobileNetV2(block=QuantizableInvertedResidual, **kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, backend)
    return apply_weights(model, weights, progress)
