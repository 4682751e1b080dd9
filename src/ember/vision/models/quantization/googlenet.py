"""Quantizable GoogLeNet (torchvision.models.quantization.googlenet).

Each conv block keeps its ReLU as a module (to fuse conv-bn-relu), each Inception block
concatenates its branches through a ``FloatFunctional`` (so the int8 model requantizes
them to one scale). State-dict keys equal torchvision's, before and after conversion.
"""

from __future__ import annotations

import warnings
from functools import partial

import ember.ao.quantization as aq
import ember.nn.quantized as nnq
from ember import nn
from ember.nn.quantized.modules import _QuantizedAdaptiveAvgPool2d

from .._api import (
    ImageClassification,
    Weights,
    make_weights_enum,
    register_model,
    resolve_weights,
)
from ..googlenet import (
    BasicConv2d,
    GoogLeNet,
    GoogLeNet_Weights,
    Inception,
    InceptionAux,
    load_google_weights,
    prepare_google_kwargs,
)
from .utils import _fuse_modules, _pop_backend, _replace_relu, quantize_model

__all__ = ["GoogLeNet_QuantizedWeights", "QuantizableGoogLeNet", "googlenet"]

# pooling that also reads int8 tensors, used functionally (the module tree stays
# torchvision's)
_POOL_4x4 = _QuantizedAdaptiveAvgPool2d((4, 4))


class QuantizableBasicConv2d(BasicConv2d):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))

    def fuse_model(self, is_qat: bool | None = None) -> None:
        _fuse_modules(self, ["conv", "bn", "relu"], is_qat, inplace=True)


class QuantizableInception(Inception):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.cat = nnq.FloatFunctional()

    def forward(self, x):
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return self.cat.cat(branches, 1)


class QuantizableInceptionAux(InceptionAux):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.conv(_POOL_4x4(x)).flatten(1)
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


class QuantizableGoogLeNet(GoogLeNet):
    """GoogLeNet between a QuantStub and a DeQuantStub (the input transform stays float)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, blocks=[QuantizableBasicConv2d, QuantizableInception,
                                        QuantizableInceptionAux], **kwargs)
        self.quant = aq.QuantStub()
        self.dequant = aq.DeQuantStub()

    def _forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        # the Tensor method keeps a quantized tensor quantized (ember.flatten does not)
        return self.fc(self.dropout(self.avgpool(x).flatten(1))), aux2, aux1

    def forward(self, x):
        x = self.quant(self._transform_input(x))
        x, aux2, aux1 = self._forward(x)
        return self.eager_outputs(self.dequant(x), aux2, aux1)

    def fuse_model(self, is_qat: bool | None = None) -> None:
        for m in self.modules():
            if type(m) is QuantizableBasicConv2d:
                m.fuse_model(is_qat)


GoogLeNet_QuantizedWeights = make_weights_enum("GoogLeNet_QuantizedWeights", {
    "IMAGENET1K_FBGEMM_V1": Weights(
        url="https://download.pytorch.org/models/quantized/googlenet_fbgemm-c81f6644.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta={"num_params": 6624904, "min_size": (15, 15), "num_classes": 1000,
              "backend": "fbgemm",
              "recipe": "https://github.com/pytorch/vision/tree/main/references/"
                        "classification#post-training-quantized-models",
              "unquantized": GoogLeNet_Weights.IMAGENET1K_V1,
              "_metrics": {"ImageNet-1K": {"acc@1": 69.826, "acc@5": 89.404}},
              "_ops": 1.498, "_file_size": 12.618})}, __name__)


@register_model(name="quantized_googlenet")
def googlenet(*, weights: GoogLeNet_QuantizedWeights | GoogLeNet_Weights | None = None,
              progress: bool = True, quantize: bool = False,
              **kwargs) -> QuantizableGoogLeNet:
    """Quantizable GoogLeNet; ``quantize=True`` gives the int8 model. With weights the
    auxiliary heads are dropped unless ``aux_logits=True`` (they are not pretrained)."""
    weights = resolve_weights(weights, kwargs, GoogLeNet_QuantizedWeights if quantize
                              else GoogLeNet_Weights)
    original_aux_logits = kwargs.get("aux_logits", False)
    prepare_google_kwargs(weights, kwargs)
    backend = _pop_backend(weights, kwargs, "fbgemm")
    model = QuantizableGoogLeNet(**kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, backend)
    if weights is None:
        return model
    model = load_google_weights(model, weights, progress, original_aux_logits,
                                ("aux1", "aux2"))
    if original_aux_logits:
        warnings.warn("auxiliary heads in the pretrained googlenet model are NOT pretrained, "
                      "so make sure to train them", stacklevel=2)
    return model
