"""Quantizable MobileNetV3-Large (torchvision.models.quantization.mobilenetv3).

The squeeze-excitation scales the input through a ``FloatFunctional`` multiply (an int8
product needs its own output quantizers) with a Hardsigmoid gate, which ``convert``
keeps unobserved on its fixed 1/256 grid; the shortcut add goes through a
``FloatFunctional`` too, Hardswish becomes ``nn.quantized.Hardswish``.
``fuse_model()`` folds conv-bn(-relu) runs and the SE's fc1 + ReLU.

``quantize=True`` is built as torchvision builds it: the model is fused for
quantization-aware training and prepared (``prepare_qat``, the backend's default QAT
qconfig), the QAT checkpoint (fake-quantize scales, BatchNorm statistics) loads into it,
and ``convert`` then folds the BatchNorms and quantizes.
"""

from __future__ import annotations

from functools import partial

import ember
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
from .utils import _fuse_modules, _pop_backend, _replace_relu

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

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys, error_msgs):
        """Checkpoints older than version 2 predate the Hardsigmoid's fixed-parameter
        fake quantizer: a QAT-prepared module fills in its defaults, as torchvision."""
        version = local_metadata.get("version", None)
        if hasattr(self, "qconfig") and (version is None or version < 2):
            post = "scale_activation.activation_post_process."
            defaults = {
                post + "scale": ember.tensor([1.0]),
                post + "activation_post_process.scale": ember.tensor([1.0]),
                post + "zero_point": ember.tensor([0], dtype=ember.int32),
                post + "activation_post_process.zero_point":
                    ember.tensor([0], dtype=ember.int32),
                post + "fake_quant_enabled": ember.tensor([1]),
                post + "observer_enabled": ember.tensor([1]),
            }
            for key, value in defaults.items():
                state_dict.setdefault(prefix + key, value)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)

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
    """Quantizable MobileNetV3-Large; ``quantize=True`` gives the int8 model, prepared
    for quantization-aware training so the QAT checkpoint loads, then converted (default
    backend "qnnpack"), as torchvision builds it."""
    weights = resolve_weights(weights, kwargs, MobileNet_V3_Large_QuantizedWeights
                              if quantize else MobileNet_V3_Large_Weights)
    backend = _pop_backend(weights, kwargs, "qnnpack")
    setting, last_channel = _mobilenet_v3_conf(
        "mobilenet_v3_large", width_mult=kwargs.pop("width_mult", 1.0),
        reduced_tail=kwargs.pop("reduced_tail", False), dilated=kwargs.pop("dilated", False))
    model = QuantizableMobileNetV3(setting, last_channel, block=QuantizableInvertedResidual,
                                   **kwargs)
    _replace_relu(model)
    if quantize:
        _prepare_qat(model, backend)
    apply_weights(model, weights, progress)
    if quantize:
        aq.convert(model, inplace=True)
        model.eval()
    return model


def _prepare_qat(model: QuantizableMobileNetV3, backend: str) -> None:
    """torchvision's preparation of the QAT checkpoint's layout: QAT fusion, the
    backend's default QAT qconfig, ``prepare_qat`` in place (the model in training)."""
    model.fuse_model(is_qat=True)
    model.qconfig = aq.get_default_qat_qconfig(backend)
    aq.prepare_qat(model, inplace=True)
