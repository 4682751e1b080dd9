"""GoogLeNet, Inception v1 (Szegedy et al. 2014), as torchvision builds it.

Batch-normalised convs (``BasicConv2d``: conv, bn with eps 1e-3, relu), nine inception
blocks of four parallel branches, two auxiliary classifiers used only in training.
Module names follow torchvision (``inception4a.branch2.1.conv``), so its checkpoints load.
"""

from __future__ import annotations

import warnings
from collections import namedtuple
from collections.abc import Callable

import ember
import ember.nn.functional as F
from ember import nn

from ._api import imagenet_weights, make_weights_enum, register_model, resolve_weights

__all__ = [
    "GoogLeNet",
    "GoogLeNetOutputs",
    "GoogLeNet_Weights",
    "_GoogLeNetOutputs",
    "googlenet",
]

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])
_GoogLeNetOutputs = GoogLeNetOutputs


class BasicConv2d(nn.Module):
    """Conv (no bias), BatchNorm (eps 1e-3, as the ported TensorFlow weights expect), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


def transform_input_to_imagenet(x):
    """Map inputs normalised with ImageNet mean/std to the (x - 0.5) / 0.5 scaling the
    ported Google weights were trained with (torchvision's ``transform_input``)."""
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    channels = [x[:, c].unsqueeze(1) * (std[c] / 0.5) + (mean[c] - 0.5) / 0.5
                for c in range(3)]
    return ember.cat(channels, 1)


class Inception(nn.Module):
    """Four branches concatenated: 1x1; 1x1 then 3x3; 1x1 then 3x3 (torchvision's 3x3
    where the paper has 5x5, kept for checkpoint compatibility); 3x3 max pool then 1x1."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int,
                 ch5x5red: int, ch5x5: int, pool_proj: int,
                 conv_block: Callable | None = None) -> None:
        super().__init__()
        conv_block = conv_block or BasicConv2d
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(conv_block(in_channels, ch3x3red, kernel_size=1),
                                     conv_block(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(conv_block(in_channels, ch5x5red, kernel_size=1),
                                     conv_block(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv_block(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return ember.cat([self.branch1(x), self.branch2(x), self.branch3(x),
                          self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: pool to 4x4, 1x1 conv to 128, fc 2048->1024, dropout, fc."""

    def __init__(self, in_channels: int, num_classes: int, conv_block: Callable | None = None,
                 dropout: float = 0.7) -> None:
        super().__init__()
        conv_block = conv_block or BasicConv2d
        self.conv = conv_block(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x):
        x = ember.flatten(self.conv(F.adaptive_avg_pool2d(x, (4, 4))), 1)
        x = self.dropout(F.relu(self.fc1(x), inplace=True))
        return self.fc2(x)


class GoogLeNet(nn.Module):
    """GoogLeNet. In training mode with ``aux_logits`` the forward returns
    ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``; otherwise the logits alone.

    Args:
        num_classes: classifier outputs. aux_logits: build the two auxiliary heads.
        transform_input: re-normalise ImageNet-normalised inputs for Google's weights.
        init_weights: truncated-normal init (std 0.01); None warns as torchvision does.
        blocks: [conv_block, inception_block, aux_block] classes.
    """

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True,
                 transform_input: bool = False, init_weights: bool | None = None,
                 blocks: list[Callable] | None = None, dropout: float = 0.2,
                 dropout_aux: float = 0.7) -> None:
        super().__init__()
        if blocks is None:
            blocks = [BasicConv2d, Inception, InceptionAux]
        if init_weights is None:
            warnings.warn(
                "The default weight initialization of GoogleNet will be changed in future "
                "releases of torchvision. If you wish to keep the old behavior (which leads to "
                "long initialization times due to scipy/scipy#11299), please set "
                "init_weights=True.", FutureWarning, stacklevel=2)
            init_weights = True
        if len(blocks) != 3:
            raise ValueError(f"blocks length should be 3 instead of {len(blocks)}")
        conv_block, inception_block, aux_block = blocks
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.conv1 = conv_block(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = conv_block(64, 64, kernel_size=1)
        self.conv3 = conv_block(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = inception_block(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = inception_block(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = inception_block(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = inception_block(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = inception_block(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = inception_block(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = inception_block(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = inception_block(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = inception_block(832, 384, 192, 384, 48, 128, 128)
        if aux_logits:
            self.aux1 = aux_block(512, num_classes, dropout=dropout_aux)
            self.aux2 = aux_block(528, num_classes, dropout=dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)
        if init_weights:
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

    def _transform_input(self, x):
        return transform_input_to_imagenet(x) if self.transform_input else x

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
        x = self.dropout(ember.flatten(self.avgpool(x), 1))
        return self.fc(x), aux2, aux1

    def eager_outputs(self, x, aux2, aux1):
        if self.training and self.aux_logits:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x

    def forward(self, x):
        x, aux2, aux1 = self._forward(self._transform_input(x))
        return self.eager_outputs(x, aux2, aux1)


GoogLeNet_Weights = make_weights_enum("GoogLeNet_Weights", {
    "IMAGENET1K_V1": imagenet_weights(
        "https://download.pytorch.org/models/googlenet-1378be20.pth", 6624904, 69.778,
        89.530, min_size=(15, 15), _ops=1.498, _file_size=49.731),
}, __name__)


def load_google_weights(model: nn.Module, weights, progress: bool, aux_logits: bool,
                        aux_attr: tuple[str, ...]) -> nn.Module:
    """Load ``weights`` (saved with the auxiliary heads) and drop the heads unless the
    caller asked for them, as torchvision's googlenet/inception_v3 builders do."""
    model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
    if not aux_logits:
        model.aux_logits = False
        for name in aux_attr:
            setattr(model, name, None)
    return model


def _overwrite_named_param(kwargs: dict, param: str, new_value) -> None:
    """Set ``param``, refusing a caller's conflicting value (torchvision's rule)."""
    if param in kwargs and kwargs[param] != new_value:
        raise ValueError(f"The parameter '{param}' expected value {new_value} but got "
                         f"{kwargs[param]} instead.")
    kwargs[param] = new_value


def prepare_google_kwargs(weights, kwargs: dict) -> None:
    """With weights: transform_input defaults to True, aux heads are built (the checkpoint
    has them; asking for aux_logits=False is an error, as in torchvision) and the slow
    random init is skipped."""
    if weights is None:
        return
    kwargs.setdefault("transform_input", True)
    _overwrite_named_param(kwargs, "aux_logits", True)
    _overwrite_named_param(kwargs, "init_weights", False)


@register_model()
def googlenet(*, weights: GoogLeNet_Weights | None = None, progress: bool = True,
              **kwargs) -> GoogLeNet:
    """GoogLeNet (Inception v1) from `Going Deeper with Convolutions`, 6.6M parameters.

    With ``weights`` the auxiliary heads are dropped unless ``aux_logits=True`` is passed
    (they are not pretrained; a warning says so)."""
    weights = resolve_weights(weights, kwargs, GoogLeNet_Weights)
    original_aux_logits = kwargs.get("aux_logits", False)
    prepare_google_kwargs(weights, kwargs)
    model = GoogLeNet(**kwargs)
    if weights is None:
        return model
    model = load_google_weights(model, weights, progress, original_aux_logits,
                                ("aux1", "aux2"))
    if original_aux_logits:
        warnings.warn("auxiliary heads in the pretrained googlenet model are NOT pretrained, "
                      "so make sure to train them", stacklevel=2)
    return model
