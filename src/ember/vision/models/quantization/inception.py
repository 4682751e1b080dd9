"""Quantizable Inception v3 (torchvision.models.quantization.inception).

Each conv block keeps its ReLU as a module (conv-bn-relu fuses into one int8 conv), each
Inception block concatenates its branches through ``FloatFunctional``s (``myop``; block
E has ``myop1..3`` for its two inner concatenations and the outer one), so the int8
model requantizes the branches to one scale. The branch pools run functionally through
pooling modules that also read int8 tensors (ember's float pooling does not), keeping
the module tree, and so the state-dict keys, torchvision's.
"""

from __future__ import annotations

from functools import partial

import ember.ao.quantization as aq
import ember.nn.quantized as nnq
from ember.nn.quantized.modules import (
    _QuantizedAdaptiveAvgPool2d,
    _QuantizedAvgPool2d,
    _QuantizedMaxPool2d,
)

from .._api import ImageClassification, Weights, make_weights_enum, register_model, resolve_weights
from ..googlenet import load_google_weights, prepare_google_kwargs
from ..inception import (
    Inception3,
    Inception_V3_Weights,
    InceptionA,
    InceptionAux,
    InceptionB,
    InceptionC,
    InceptionD,
    InceptionE,
)
from .googlenet import QuantizableBasicConv2d as _GoogLeNetQuantizableBasicConv2d
from .utils import _pop_backend, _replace_relu, quantize_model

__all__ = ["Inception_V3_QuantizedWeights", "QuantizableInception3", "inception_v3"]

_AVG_3x3 = _QuantizedAvgPool2d(kernel_size=3, stride=1, padding=1)
_MAX_3x3_S2 = _QuantizedMaxPool2d(kernel_size=3, stride=2)
_AVG_5x5_S3 = _QuantizedAvgPool2d(kernel_size=5, stride=3)
_GLOBAL_AVG = _QuantizedAdaptiveAvgPool2d((1, 1))


class QuantizableBasicConv2d(_GoogLeNetQuantizableBasicConv2d):
    """conv, bn (eps 1e-3), ReLU module: fused by ``fuse_model``."""


class QuantizableInceptionA(InceptionA):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.myop = nnq.FloatFunctional()

    def _forward(self, x):
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return [self.branch1x1(x), branch5x5, dbl, self.branch_pool(_AVG_3x3(x))]

    def forward(self, x):
        return self.myop.cat(self._forward(x), 1)


class QuantizableInceptionB(InceptionB):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.myop = nnq.FloatFunctional()

    def _forward(self, x):
        dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return [self.branch3x3(x), dbl, _MAX_3x3_S2(x)]

    def forward(self, x):
        return self.myop.cat(self._forward(x), 1)


class QuantizableInceptionC(InceptionC):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.myop = nnq.FloatFunctional()

    def _forward(self, x):
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        dbl = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                     self.branch7x7dbl_5):
            dbl = conv(dbl)
        return [self.branch1x1(x), branch7x7, dbl, self.branch_pool(_AVG_3x3(x))]

    def forward(self, x):
        return self.myop.cat(self._forward(x), 1)


class QuantizableInceptionD(InceptionD):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.myop = nnq.FloatFunctional()

    def _forward(self, x):
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = x
        for conv in (self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3,
                     self.branch7x7x3_4):
            branch7x7x3 = conv(branch7x7x3)
        return [branch3x3, branch7x7x3, _MAX_3x3_S2(x)]

    def forward(self, x):
        return self.myop.cat(self._forward(x), 1)


class QuantizableInceptionE(InceptionE):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)
        self.myop1 = nnq.FloatFunctional()
        self.myop2 = nnq.FloatFunctional()
        self.myop3 = nnq.FloatFunctional()

    def _forward(self, x):
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = self.myop1.cat([self.branch3x3_2a(branch3x3),
                                    self.branch3x3_2b(branch3x3)], 1)
        dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        dbl = self.myop2.cat([self.branch3x3dbl_3a(dbl), self.branch3x3dbl_3b(dbl)], 1)
        return [self.branch1x1(x), branch3x3, dbl, self.branch_pool(_AVG_3x3(x))]

    def forward(self, x):
        return self.myop3.cat(self._forward(x), 1)


class QuantizableInceptionAux(InceptionAux):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, conv_block=QuantizableBasicConv2d, **kwargs)

    def forward(self, x):
        x = self.conv1(self.conv0(_AVG_5x5_S3(x)))
        return self.fc(_GLOBAL_AVG(x).flatten(1))


class QuantizableInception3(Inception3):
    """Inception v3 between a QuantStub and a DeQuantStub (the input transform stays
    float); the auxiliary head runs in training mode only, as in the float model."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, inception_blocks=[
            QuantizableBasicConv2d, QuantizableInceptionA, QuantizableInceptionB,
            QuantizableInceptionC, QuantizableInceptionD, QuantizableInceptionE,
            QuantizableInceptionAux], **kwargs)
        self.quant = aq.QuantStub()
        self.dequant = aq.DeQuantStub()

    def _forward(self, x):
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.maxpool1(x)
        x = self.maxpool2(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)))
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a,
                      self.Mixed_6b, self.Mixed_6c, self.Mixed_6d, self.Mixed_6e):
            x = block(x)
        aux = self.AuxLogits(x) if self.AuxLogits is not None and self.training else None
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
        # the tensor's own flatten keeps a quantized tensor quantized (ember.flatten not)
        return self.fc(self.dropout(self.avgpool(x)).flatten(1)), aux

    def forward(self, x):
        x = self.quant(self._transform_input(x))
        x, aux = self._forward(x)
        return self.eager_outputs(self.dequant(x), aux)

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """conv + bn + relu in every conv block (numerics unchanged, still float)."""
        for m in self.modules():
            if type(m) is QuantizableBasicConv2d:
                m.fuse_model(is_qat)


Inception_V3_QuantizedWeights = make_weights_enum("Inception_V3_QuantizedWeights", {
    "IMAGENET1K_FBGEMM_V1": Weights(
        url="https://download.pytorch.org/models/quantized/"
            "inception_v3_google_fbgemm-a2837893.pth",
        transforms=partial(ImageClassification, crop_size=299, resize_size=342),
        meta={"num_params": 27161264, "min_size": (75, 75), "num_classes": 1000,
              "backend": "fbgemm",
              "recipe": "https://github.com/pytorch/vision/tree/main/references/"
                        "classification#post-training-quantized-models",
              "unquantized": Inception_V3_Weights.IMAGENET1K_V1,
              "_metrics": {"ImageNet-1K": {"acc@1": 77.176, "acc@5": 93.354}},
              "_ops": 5.713, "_file_size": 23.146})}, __name__)


@register_model(name="quantized_inception_v3")
def inception_v3(*, weights: Inception_V3_QuantizedWeights | Inception_V3_Weights
                 | None = None, progress: bool = True, quantize: bool = False,
                 **kwargs) -> QuantizableInception3:
    """Quantizable Inception v3; ``quantize=True`` gives the int8 model (default backend
    "fbgemm"). With weights the auxiliary head is dropped unless ``aux_logits=True``."""
    weights = resolve_weights(weights, kwargs, Inception_V3_QuantizedWeights if quantize
                              else Inception_V3_Weights)
    original_aux_logits = kwargs.get("aux_logits", False)
    prepare_google_kwargs(weights, kwargs)
    backend = _pop_backend(weights, kwargs, "fbgemm")
    model = QuantizableInception3(**kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, backend)
    if weights is None:
        return model
    return load_google_weights(model, weights, progress, original_aux_logits, ("AuxLogits",))
