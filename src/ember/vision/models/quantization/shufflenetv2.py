"""Quantizable ShuffleNet V2 (torchvision.models.quantization.shufflenetv2).

The branch concatenation goes through a ``FloatFunctional`` (one output scale in int8),
``fuse_model()`` folds the conv-bn(-relu) runs of the stem, conv5 and every branch.
State-dict keys equal torchvision's, before and after conversion.
"""

from __future__ import annotations

from functools import partial

import ember.ao.quantization as aq
import ember.nn.quantized as nnq
from ember.nn.quantized.modules import _QuantizedAdaptiveAvgPool2d

from .._api import (
    ImageClassification,
    Weights,
    apply_weights,
    make_weights_enum,
    register_model,
    resolve_weights,
)
from ..shufflenetv2 import (
    InvertedResidual,
    ShuffleNet_V2_X0_5_Weights,
    ShuffleNet_V2_X1_0_Weights,
    ShuffleNet_V2_X1_5_Weights,
    ShuffleNet_V2_X2_0_Weights,
    ShuffleNetV2,
    channel_shuffle,
)
from .utils import _fuse_modules, _pop_backend, _replace_relu, quantize_model

__all__ = [
    "QuantizableShuffleNetV2", "ShuffleNet_V2_X0_5_QuantizedWeights",
    "ShuffleNet_V2_X1_0_QuantizedWeights", "ShuffleNet_V2_X1_5_QuantizedWeights",
    "ShuffleNet_V2_X2_0_QuantizedWeights", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0",
    "shufflenet_v2_x1_5", "shufflenet_v2_x2_0",
]

# the spatial mean as a global average pool that also reads int8 tensors (used
# functionally, so the module tree stays torchvision's)
_GLOBAL_POOL = _QuantizedAdaptiveAvgPool2d((1, 1))


class QuantizableInvertedResidual(InvertedResidual):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cat = nnq.FloatFunctional()

    def forward(self, x):
        if self.stride == 1:
            half = x.shape[1] // 2  # slicing keeps an int8 tensor int8
            out = self.cat.cat([x[:, :half], self.branch2(x[:, half:])], dim=1)
        else:
            out = self.cat.cat([self.branch1(x), self.branch2(x)], dim=1)
        return channel_shuffle(out, 2)


class QuantizableShuffleNetV2(ShuffleNetV2):
    """ShuffleNet V2 between a QuantStub and a DeQuantStub."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, inverted_residual=QuantizableInvertedResidual, **kwargs)
        self.quant = aq.QuantStub()
        self.dequant = aq.DeQuantStub()

    def _forward_impl(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(_GLOBAL_POOL(x).flatten(1))

    def forward(self, x):
        return self.dequant(self._forward_impl(self.quant(x)))

    def fuse_model(self, is_qat: bool | None = None) -> None:
        for name in ("conv1", "conv5"):
            _fuse_modules(self._modules[name], [["0", "1", "2"]], is_qat, inplace=True)
        for m in self.modules():
            if type(m) is QuantizableInvertedResidual:
                if len(m.branch1._modules) > 0:
                    _fuse_modules(m.branch1, [["0", "1"], ["2", "3", "4"]], is_qat,
                                  inplace=True)
                _fuse_modules(m.branch2, [["0", "1", "2"], ["3", "4"], ["5", "6", "7"]],
                              is_qat, inplace=True)


_URL = "https://download.pytorch.org/models/quantized/"
_RECIPE = ("https://github.com/pytorch/vision/tree/main/references/classification"
           "#post-training-quantized-models")


def _qweights(name, file, params, unquantized, acc1, acc5, ops, size, resize=256,
              recipe=_RECIPE):
    return make_weights_enum(name, {"IMAGENET1K_FBGEMM_V1": Weights(
        url=_URL + file, transforms=partial(ImageClassification, crop_size=224,
                                            resize_size=resize),
        meta={"min_size": (1, 1), "num_classes": 1000, "backend": "fbgemm",
              "recipe": recipe, "num_params": params, "unquantized": unquantized,
              "_metrics": {"ImageNet-1K": {"acc@1": acc1, "acc@5": acc5}}, "_ops": ops,
              "_file_size": size})}, __name__)


ShuffleNet_V2_X0_5_QuantizedWeights = _qweights(
    "ShuffleNet_V2_X0_5_QuantizedWeights", "shufflenetv2_x0.5_fbgemm-00845098.pth", 1366792,
    ShuffleNet_V2_X0_5_Weights.IMAGENET1K_V1, 57.972, 79.780, 0.04, 1.501)
ShuffleNet_V2_X1_0_QuantizedWeights = _qweights(
    "ShuffleNet_V2_X1_0_QuantizedWeights", "shufflenetv2_x1_fbgemm-1e62bb32.pth", 2278604,
    ShuffleNet_V2_X1_0_Weights.IMAGENET1K_V1, 68.360, 87.582, 0.145, 2.334)
ShuffleNet_V2_X1_5_QuantizedWeights = _qweights(
    "ShuffleNet_V2_X1_5_QuantizedWeights", "shufflenetv2_x1_5_fbgemm-d7401f05.pth", 3503624,
    ShuffleNet_V2_X1_5_Weights.IMAGENET1K_V1, 72.052, 90.700, 0.296, 3.672, resize=232,
    recipe="https://github.com/pytorch/vision/pull/5906")
ShuffleNet_V2_X2_0_QuantizedWeights = _qweights(
    "ShuffleNet_V2_X2_0_QuantizedWeights", "shufflenetv2_x2_0_fbgemm-5cac526c.pth", 7393996,
    ShuffleNet_V2_X2_0_Weights.IMAGENET1K_V1, 75.354, 92.488, 0.583, 7.467, resize=232,
    recipe="https://github.com/pytorch/vision/pull/5906")


def _shufflenetv2(repeats, channels, weights, progress, quantize, kwargs):
    backend = _pop_backend(weights, kwargs, "fbgemm")
    model = QuantizableShuffleNetV2(repeats, channels, **kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, backend)
    return apply_weights(model, weights, progress)


@register_model(name="quantized_shufflenet_v2_x0_5")
def shufflenet_v2_x0_5(*, weights: ShuffleNet_V2_X0_5_QuantizedWeights
                       | ShuffleNet_V2_X0_5_Weights | None = None, progress: bool = True,
                       quantize: bool = False, **kwargs) -> QuantizableShuffleNetV2:
    """Quantizable ShuffleNet V2 x0.5; ``quantize=True`` gives the int8 model."""
    weights = resolve_weights(weights, kwargs, ShuffleNet_V2_X0_5_QuantizedWeights
                              if quantize else ShuffleNet_V2_X0_5_Weights)
    return _shufflenetv2([4, 8, 4], [24, 48, 96, 192, 1024], weights, progress, quantize,
                         kwargs)


@register_model(name="quantized_shufflenet_v2_x1_0")
def shufflenet_v2_x1_0(*, weights: ShuffleNet_V2_X1_0_QuantizedWeights
                       | ShuffleNet_V2_X1_0_Weights | None = None, progress: bool = True,
                       quantize: bool = False, **kwargs) -> QuantizableShuffleNetV2:
    """Quantizable ShuffleNet V2 x1.0 (see ``shufflenet_v2_x0_5``)."""
    weights = resolve_weights(weights, kwargs, ShuffleNet_V2_X1_0_QuantizedWeights
                              if quantize else ShuffleNet_V2_X1_0_Weights)
    return _shufflenetv2([4, 8, 4], [24, 116, 232, 464, 1024], weights, progress, quantize,
                         kwargs)


@register_model(name="quantized_shufflenet_v2_x1_5")
def shufflenet_v2_x1_5(*, weights: ShuffleNet_V2_X1_5_QuantizedWeights
                       | ShuffleNet_V2_X1_5_Weights | None = None, progress: bool = True,
                       quantize: bool = False, **kwargs) -> QuantizableShuffleNetV2:
    """Quantizable ShuffleNet V2 x1.5 (see ``shufflenet_v2_x0_5``)."""
    weights = resolve_weights(weights, kwargs, ShuffleNet_V2_X1_5_QuantizedWeights
                              if quantize else ShuffleNet_V2_X1_5_Weights)
    return _shufflenetv2([4, 8, 4], [24, 176, 352, 704, 1024], weights, progress, quantize,
                         kwargs)


@register_model(name="quantized_shufflenet_v2_x2_0")
def shufflenet_v2_x2_0(*, weights: ShuffleNet_V2_X2_0_QuantizedWeights
                       | ShuffleNet_V2_X2_0_Weights | None = None, progress: bool = True,
                       quantize: bool = False, **kwargs) -> QuantizableShuffleNetV2:
    """Quantizable ShuffleNet V2 x2.0 (see ``shufflenet_v2_x0_5``)."""
    weights = resolve_weights(weights, kwargs, ShuffleNet_V2_X2_0_QuantizedWeights
                              if quantize else ShuffleNet_V2_X2_0_Weights)
    return _shufflenetv2([4, 8, 4], [24, 244, 488, 976, 2048], weights, progress, quantize,
                         kwargs)
