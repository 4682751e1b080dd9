"""Quantizable ResNet / ResNeXt (torchvision.models.quantization.resnet).

The float blocks gain a ``FloatFunctional`` for the residual add + ReLU (so an observer
sees its output and the converted model adds in int8), one ReLU module per use, and
``fuse_model()`` naming the conv-bn(-relu) runs to fold. State-dict keys equal
torchvision's, before and after conversion.
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
from ..resnet import (
    BasicBlock,
    Bottleneck,
    ResNet,
    ResNet18_Weights,
    ResNet50_Weights,
    ResNeXt101_32X8D_Weights,
    ResNeXt101_64X4D_Weights,
)
from .utils import _fuse_modules, _pop_backend, _replace_relu, quantize_model

__all__ = [
    "QuantizableResNet",
    "ResNeXt101_32X8D_QuantizedWeights",
    "ResNeXt101_64X4D_QuantizedWeights",
    "ResNet18_QuantizedWeights",
    "ResNet50_QuantizedWeights",
    "resnet18",
    "resnet50",
    "resnext101_32x8d",
    "resnext101_64x4d",
]


class QuantizableBasicBlock(BasicBlock):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_relu = nnq.FloatFunctional()

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.add_relu.add_relu(out, identity)

    def fuse_model(self, is_qat: bool | None = None) -> None:
        _fuse_modules(self, [["conv1", "bn1", "relu"], ["conv2", "bn2"]], is_qat,
                      inplace=True)
        if self.downsample:
            _fuse_modules(self.downsample, ["0", "1"], is_qat, inplace=True)


class QuantizableBottleneck(Bottleneck):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.skip_add_relu = nnq.FloatFunctional()
        self.relu1 = nn.ReLU(inplace=False)
        self.relu2 = nn.ReLU(inplace=False)

    def forward(self, x):
        identity = x
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.skip_add_relu.add_relu(out, identity)

    def fuse_model(self, is_qat: bool | None = None) -> None:
        _fuse_modules(self, [["conv1", "bn1", "relu1"], ["conv2", "bn2", "relu2"],
                             ["conv3", "bn3"]], is_qat, inplace=True)
        if self.downsample:
            _fuse_modules(self.downsample, ["0", "1"], is_qat, inplace=True)


class QuantizableResNet(ResNet):
    """ResNet between a QuantStub and a DeQuantStub: float in, float out, int8 inside
    once converted."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.quant = aq.QuantStub()
        self.dequant = aq.DeQuantStub()

    def _forward_impl(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        # the Tensor method keeps a quantized tensor quantized (ember.flatten does not)
        return self.fc(self.avgpool(x).flatten(1))

    def forward(self, x):
        return self.dequant(self._forward_impl(self.quant(x)))

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fold conv+bn(+relu) in the stem and every block, in place; numerics unchanged
        (the model stays float until converted)."""
        _fuse_modules(self, ["conv1", "bn1", "relu"], is_qat, inplace=True)
        for m in self.modules():
            if type(m) is QuantizableBottleneck or type(m) is QuantizableBasicBlock:
                m.fuse_model(is_qat)


def _resnet(block, layers, weights, progress: bool, quantize: bool,
            kwargs: dict) -> QuantizableResNet:
    backend = _pop_backend(weights, kwargs, "fbgemm")
    model = QuantizableResNet(block, layers, **kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, backend)
    return apply_weights(model, weights, progress)


_URL = "https://download.pytorch.org/models/quantized/"
_RECIPE = ("https://github.com/pytorch/vision/tree/main/references/classification"
           "#post-training-quantized-models")


def _qweights(file: str, params: int, unquantized, acc1: float, acc5: float, ops: float,
              size: float, resize: int = 256, **meta) -> Weights:
    """Post-training quantized (fbgemm) from the float ``unquantized`` weights."""
    info = {"min_size": (1, 1), "num_classes": 1000, "backend": "fbgemm", "recipe": _RECIPE,
            "num_params": params, "unquantized": unquantized,
            "_metrics": {"ImageNet-1K": {"acc@1": acc1, "acc@5": acc5}}, "_ops": ops,
            "_file_size": size, **meta}
    return Weights(url=_URL + file, transforms=partial(ImageClassification, crop_size=224,
                                                       resize_size=resize), meta=info)


ResNet18_QuantizedWeights = make_weights_enum("ResNet18_QuantizedWeights", {
    "IMAGENET1K_FBGEMM_V1": _qweights("resnet18_fbgemm_16fa66dd.pth", 11689512,
                                      ResNet18_Weights.IMAGENET1K_V1, 69.494, 88.882, 1.814,
                                      11.238)}, __name__)
ResNet50_QuantizedWeights = make_weights_enum("ResNet50_QuantizedWeights", {
    "IMAGENET1K_FBGEMM_V1": _qweights("resnet50_fbgemm_bf931d71.pth", 25557032,
                                      ResNet50_Weights.IMAGENET1K_V1, 75.920, 92.814, 4.089,
                                      24.759),
    "IMAGENET1K_FBGEMM_V2": _qweights("resnet50_fbgemm-23753f79.pth", 25557032,
                                      ResNet50_Weights.IMAGENET1K_V2, 80.282, 94.976, 4.089,
                                      24.953, resize=232)}, __name__)
ResNeXt101_32X8D_QuantizedWeights = make_weights_enum("ResNeXt101_32X8D_QuantizedWeights", {
    "IMAGENET1K_FBGEMM_V1": _qweights("resnext101_32x8_fbgemm_09835ccf.pth", 88791336,
                                      ResNeXt101_32X8D_Weights.IMAGENET1K_V1, 78.986, 94.480,
                                      16.414, 86.034),
    "IMAGENET1K_FBGEMM_V2": _qweights("resnext101_32x8_fbgemm-ee16d00c.pth", 88791336,
                                      ResNeXt101_32X8D_Weights.IMAGENET1K_V2, 82.574, 96.132,
                                      16.414, 86.645, resize=232)}, __name__)
ResNeXt101_64X4D_QuantizedWeights = make_weights_enum("ResNeXt101_64X4D_QuantizedWeights", {
    "IMAGENET1K_FBGEMM_V1": _qweights("resnext101_64x4d_fbgemm-605a1cb3.pth", 83455272,
                                      ResNeXt101_64X4D_Weights.IMAGENET1K_V1, 82.898, 96.326,
                                      15.46, 81.556, resize=232,
                                      recipe="https://github.com/pytorch/vision/pull/5935")},
    __name__)


def _enum(quantize: bool, quantized_enum, float_enum):
    return quantized_enum if quantize else float_enum


@register_model(name="quantized_resnet18")
def resnet18(*, weights: ResNet18_QuantizedWeights | ResNet18_Weights | None = None,
             progress: bool = True, quantize: bool = False,
             **kwargs) -> QuantizableResNet:
    """Quantizable ResNet-18; ``quantize=True`` gives the int8 model. Weights are the
    quantized enum's when quantizing, the float enum's otherwise."""
    weights = resolve_weights(weights, kwargs,
                              _enum(quantize, ResNet18_QuantizedWeights, ResNet18_Weights))
    return _resnet(QuantizableBasicBlock, [2, 2, 2, 2], weights, progress, quantize, kwargs)


@register_model(name="quantized_resnet50")
def resnet50(*, weights: ResNet50_QuantizedWeights | ResNet50_Weights | None = None,
             progress: bool = True, quantize: bool = False,
             **kwargs) -> QuantizableResNet:
    """Quantizable ResNet-50 (see ``resnet18``)."""
    weights = resolve_weights(weights, kwargs,
                              _enum(quantize, ResNet50_QuantizedWeights, ResNet50_Weights))
    return _resnet(QuantizableBottleneck, [3, 4, 6, 3], weights, progress, quantize, kwargs)


def _groups(kwargs: dict, groups: int, width: int) -> None:
    for name, value in (("groups", groups), ("width_per_group", width)):
        if name in kwargs and kwargs[name] != value:
            raise ValueError(f"The parameter '{name}' expected value {value} but got "
                             f"{kwargs[name]} instead.")
        kwargs[name] = value


@register_model(name="quantized_resnext101_32x8d")
def resnext101_32x8d(*, weights: ResNeXt101_32X8D_QuantizedWeights | ResNeXt101_32X8D_Weights
                     | None = None, progress: bool = True, quantize: bool = False,
                     **kwargs) -> QuantizableResNet:
    """Quantizable ResNeXt-101 32x8d (see ``resnet18``)."""
    weights = resolve_weights(weights, kwargs, _enum(
        quantize, ResNeXt101_32X8D_QuantizedWeights, ResNeXt101_32X8D_Weights))
    _groups(kwargs, 32, 8)
    return _resnet(QuantizableBottleneck, [3, 4, 23, 3], weights, progress, quantize, kwargs)


@register_model(name="quantized_resnext101_64x4d")
def resnext101_64x4d(*, weights: ResNeXt101_64X4D_QuantizedWeights | ResNeXt101_64X4D_Weights
                     | None = None, progress: bool = True, quantize: bool = False,
                     **kwargs) -> QuantizableResNet:
    """Quantizable ResNeXt-101 64x4d (see ``resnet18``)."""
    weights = resolve_weights(weights, kwargs, _enum(
        quantize, ResNeXt101_64X4D_QuantizedWeights, ResNeXt101_64X4D_Weights))
    _groups(kwargs, 64, 4)
    return _resnet(QuantizableBottleneck, [3, 4, 23, 3], weights, progress, quantize, kwargs)
