"""Quantizable MobileNetV3-Large (torchvision.models.quantization.mobilenetv3).

The squeeze-excitation scales the input through a ``FloatFunctional`` multiply (an int8
product needs its own output quantizers) with a Hardsigmoid gate, which ``convert``
keeps unobserved on its fixed 1/256 grid; the shortcut add goes through a
``FloatFunctional`` too, Hardswish becomes ``nn.quantized.Hardswish``.
``fuse_model()`` folds conv-bn(-relu) runs and the SE's fc1 + ReLU.

torchvision builds ``quantize=True`` by quantization-aware training preparation
(``prepare_qat``) so its QAT checkpoint loads before ``convert``; ember has no QAT
modules, so ``quantize=True`` without weights runs the post-training recipe instead
(same int8 layout), and the QAT checkpoint is refused with that reason.
"""

from __future__ import annotations

from functools import partial

import ember.ao.quantization as aq
import ember.nn.quantized as nnq
from ember import nn

from .._api import (
    ImageClassification,
    Weights,
    apply_weights,
    make_weights_enum,
    register_model,
    resolve_weights,
)
from .._layers import Conv2dNormActivation, SqueezeExcitation
from ..mobilenet import (
    InvertedResidualV3,
    MobileNet_V3_Large_Weights,
    MobileNetV3,
    _mobilenet_v3_conf,
)
from .utils import _fuse_modules, _pop_backend, _replace_relu, quantize_model

__all__ = ["MobileNet_V3_Large_QuantizedWeights", "QuantizableMobileNetV3",
           "mobilenet_v3_large"]


class QuantizableSqueezeExcitation(SqueezeExcitation):
    """SE whose input scaling is an observable multiply (Hardsigmoid gate)."""

    _version = 2

    def __init__(self, *args, **kwargs) -> None:
        kwargs["scale_activation"] = nn.Hardsigmoid
        super().__init__(*args, **kwargs)
        self.skip_mul = nnq.FloatFunctional()

    def forward(self, input):
        return self.skip_mul.mul(self._scale(input), input)

    def fuse_model(self, is_qat: bool | None = None) -> None:
        _fuse_modules(self, ["fc1", "activation"], is_qat, inplace=True)


class QuantizableInvertedResidual(InvertedResidualV3):
    """MobileNetV3 block with the quantizable SE and an observable shortcut add."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, se_layer=QuantizableSqueezeExcitation, **kwargs)
        self.skip_add = nnq.FloatFunctional()

    def forward(self, x):
        if self.use_res_connect:
            return self.skip_add.add(x, self.block(x))
        return self.block(x)


class QuantizableMobileNetV3(MobileNetV3):
    """MobileNetV3 between a QuantStub and a DeQuantStub."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.quant = aq.QuantStub()
        self.dequant = aq.DeQuantStub()

    def forward(self, x):
        x = self.avgpool(self.features(self.quant(x)))
        # the tensor's own flatten: it keeps a quantized tensor's quantizer
        return self.dequant(self.classifier(x.flatten(1)))

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """conv + bn (+ ReLU; a Hardswish stays separate) and each SE's fc1 + ReLU."""
        for m in self.modules():
            if type(m) is Conv2dNormActivation:
                names = ["0", "1"]
                if len(m) == 3 and type(m[2]) is nn.ReLU:
                    names.append("2")
                _fuse_modules(m, names, is_qat, inplace=True)
            elif type(m) is QuantizableSqueezeExcitation:
                m.fuse_model(is_qat)


MobileNet_V3_Large_QuantizedWeights = make_weights_enum(
    "MobileNet_V3_Large_QuantizedWeights", {
        "IMAGENET1K_QNNPACK_V1": Weights(
            url="https://download.pytorch.org/models/quantized/"
                "mobilenet_v3_large_qnnpack-5bcacf28.pth",
            transforms=partial(ImageClassification, crop_size=224),
            meta={"num_params": 5483032, "min_size": (1, 1), "num_classes": 1000,
                  "backend": "qnnpack",
                  "recipe": "https://github.com/pytorch/vision/tree/main/references/"
                            "classification#qat-mobilenetv3",
                  "unquantized": MobileNet_V3_Large_Weights.IMAGENET1K_V1,
                  "_metrics": {"ImageNet-1K": {"acc@1": 73.004, "acc@5": 90.858}},
                  "_ops": 0.217, "_file_size": 21.554})}, __name__)


@register_model(name="quantized_mobilenet_v3_large")
def mobilenet_v3_large(*, weights: MobileNet_V3_Large_QuantizedWeights
                       | MobileNet_V3_Large_Weights | None = None, progress: bool = True,
                       quantize: bool = False, **kwargs) -> QuantizableMobileNetV3:
    """Quantizable MobileNetV3-Large; ``quantize=True`` gives an int8 model by the
    post-training recipe (default backend "qnnpack")."""
    weights = resolve_weights(weights, kwargs, MobileNet_V3_Large_QuantizedWeights
                              if quantize else MobileNet_V3_Large_Weights)
    backend = _pop_backend(weights, kwargs, "qnnpack")
    if quantize and weights is not None:
        raise NotImplementedError(
            "the quantized MobileNetV3 weights are a quantization-aware-training checkpoint "
            "(fake-quantize modules), and ember has no QAT modules to load it into")
    setting, last_channel = _mobilenet_v3_conf(
        "mobilenet_v3_large", width_mult=kwargs.pop("width_mult", 1.0),
        reduced_tail=kwargs.pop("reduced_tail", False), dilated=kwargs.pop("dilated", False))
    model = QuantizableMobileNetV3(setting, last_channel, block=QuantizableInvertedResidual,
                                   **kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, backend)
    return apply_weights(model, weights, progress)
