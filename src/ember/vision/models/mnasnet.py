"""MNASNet-B1 (Tan et al. 2018), the architecture found by platform-aware search.

Module names follow torchvision (``layers.8.0.layers.3``, ``classifier.1``), so its
checkpoints load, including version-1 checkpoints of the non-1.0 widths (their stem had
fixed widths; loading one rebuilds the stem, with torchvision's warning).
"""

from __future__ import annotations

import warnings

from ember import nn

from ._api import (
    apply_weights,
    imagenet_weights,
    make_weights_enum,
    register_model,
    resolve_weights,
)

__all__ = ["MNASNet", "MNASNet0_5_Weights", "MNASNet0_75_Weights", "MNASNet1_0_Weights",
           "MNASNet1_3_Weights", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3"]

# TensorFlow's BN decay 0.9997 as a PyTorch momentum.
_BN_MOMENTUM = 1 - 0.9997


class _InvertedResidual(nn.Module):
    """1x1 expand, depthwise kxk, linear 1x1 project; residual when shapes allow."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int,
                 expansion_factor: int, bn_momentum: float = 0.1) -> None:
        super().__init__()
        if stride not in [1, 2]:
            raise ValueError(f"stride should be 1 or 2 instead of {stride}")
        if kernel_size not in [3, 5]:
            raise ValueError(f"kernel_size should be 3 or 5 instead of {kernel_size}")
        mid_ch = in_ch * expansion_factor
        self.apply_residual = in_ch == out_ch and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(in_ch, mid_ch, 1, bias=False),
            nn.BatchNorm2d(mid_ch, momentum=bn_momentum), nn.ReLU(inplace=True),
            nn.Conv2d(mid_ch, mid_ch, kernel_size, padding=kernel_size // 2, stride=stride,
                      groups=mid_ch, bias=False),
            nn.BatchNorm2d(mid_ch, momentum=bn_momentum), nn.ReLU(inplace=True),
            nn.Conv2d(mid_ch, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch, momentum=bn_momentum))

    def forward(self, input):
        if self.apply_residual:
            return self.layers(input) + input
        return self.layers(input)


def _stack(in_ch: int, out_ch: int, kernel_size: int, stride: int, exp_factor: int,
           repeats: int, bn_momentum: float) -> nn.Sequential:
    """``repeats`` inverted residuals; only the first changes width and stride."""
    if repeats < 1:
        raise ValueError(f"repeats should be >= 1, instead got {repeats}")
    blocks = [_InvertedResidual(in_ch, out_ch, kernel_size, stride, exp_factor,
                                bn_momentum=bn_momentum)]
    blocks += [_InvertedResidual(out_ch, out_ch, kernel_size, 1, exp_factor,
                                 bn_momentum=bn_momentum) for _ in range(1, repeats)]
    return nn.Sequential(*blocks)


def _round_to_multiple_of(val: float, divisor: int, round_up_bias: float = 0.9) -> int:
    """Round to a multiple of ``divisor``, up unless that loses no more than 10%:
    (83, 8) -> 80, (84, 8) -> 88."""
    if not 0.0 < round_up_bias < 1.0:
        raise ValueError("round_up_bias should be greater than 0.0 and smaller than 1.0 "
                         f"instead of {round_up_bias}")
    new_val = max(divisor, int(val + divisor / 2) // divisor * divisor)
    return new_val if new_val >= round_up_bias * val else new_val + divisor


def _get_depths(alpha: float) -> list[int]:
    return [_round_to_multiple_of(depth * alpha, 8)
            for depth in (32, 16, 24, 40, 80, 96, 192, 320)]


def _stem(depths: list[int]) -> list[nn.Module]:
    return [nn.Conv2d(3, depths[0], 3, padding=1, stride=2, bias=False),
            nn.BatchNorm2d(depths[0], momentum=_BN_MOMENTUM), nn.ReLU(inplace=True),
            nn.Conv2d(depths[0], depths[0], 3, padding=1, stride=1, groups=depths[0],
                      bias=False),
            nn.BatchNorm2d(depths[0], momentum=_BN_MOMENTUM), nn.ReLU(inplace=True),
            nn.Conv2d(depths[0], depths[1], 1, padding=0, stride=1, bias=False),
            nn.BatchNorm2d(depths[1], momentum=_BN_MOMENTUM),
            _stack(depths[1], depths[2], 3, 2, 3, 3, _BN_MOMENTUM)]


class MNASNet(nn.Module):
    """MNASNet-B1 scaled by ``alpha`` (channel multiplier).

    Example::

        >>> model = MNASNet(1.0, num_classes=1000)
        >>> model(ember.rand(1, 3, 224, 224)).shape
        torch.Size([1, 1000])
    """

    _version = 2

    def __init__(self, alpha: float, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        if alpha <= 0.0:
            raise ValueError(f"alpha should be greater than 0.0 instead of {alpha}")
        self.alpha = alpha
        self.num_classes = num_classes
        depths = _get_depths(alpha)
        layers = _stem(depths) + [
            _stack(depths[2], depths[3], 5, 2, 3, 3, _BN_MOMENTUM),
            _stack(depths[3], depths[4], 5, 2, 6, 3, _BN_MOMENTUM),
            _stack(depths[4], depths[5], 3, 1, 6, 2, _BN_MOMENTUM),
            _stack(depths[5], depths[6], 5, 2, 6, 4, _BN_MOMENTUM),
            _stack(depths[6], depths[7], 3, 1, 6, 1, _BN_MOMENTUM),
            nn.Conv2d(depths[7], 1280, 1, padding=0, stride=1, bias=False),
            nn.BatchNorm2d(1280, momentum=_BN_MOMENTUM), nn.ReLU(inplace=True)]
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(1280, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, mode="fan_out", nonlinearity="sigmoid")
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.layers(x).mean([2, 3]))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        # Version-1 checkpoints of alpha != 1 had a stem of fixed widths (32, 16).
        version = local_metadata.get("version", None)
        if version not in [1, 2]:
            raise ValueError(f"version should be set to 1 or 2 instead of {version}")
        if version == 1 and self.alpha != 1.0:
            depths = _get_depths(self.alpha)
            for idx, layer in enumerate(_stem([32, 16, depths[2]])):
                self.layers[idx] = layer
            self._version = 1
            warnings.warn(
                "A new version of MNASNet model has been implemented. Your checkpoint was "
                "saved using the previous version. This checkpoint will load and work as "
                "before, but you may want to upgrade by training a newer model or transfer "
                "learning from an updated ImageNet checkpoint.", UserWarning, stacklevel=2)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)


_URL = "https://download.pytorch.org/models/"


def _enum(name, file, num_params, acc1, acc5, resize, ops, size):
    weights = imagenet_weights(_URL + file, num_params, acc1, acc5, resize=resize, _ops=ops,
                               _file_size=size)
    return make_weights_enum(name, {"IMAGENET1K_V1": weights}, __name__)


MNASNet0_5_Weights = _enum("MNASNet0_5_Weights", "mnasnet0.5_top1_67.823-3ffadce67e.pth",
                           2218512, 67.734, 87.490, 256, 0.104, 8.591)
MNASNet0_75_Weights = _enum("MNASNet0_75_Weights", "mnasnet0_75-7090bc5f.pth", 3170208,
                            71.180, 90.496, 232, 0.215, 12.303)
MNASNet1_0_Weights = _enum("MNASNet1_0_Weights", "mnasnet1.0_top1_73.512-f206786ef8.pth",
                           4383312, 73.456, 91.510, 256, 0.314, 16.915)
MNASNet1_3_Weights = _enum("MNASNet1_3_Weights", "mnasnet1_3-a4c69d6f.pth", 6282256, 76.506,
                           93.522, 232, 0.526, 24.246)


def _mnasnet(alpha: float, weights, progress: bool, enum_cls, kwargs) -> MNASNet:
    weights = resolve_weights(weights, kwargs, enum_cls)
    model = MNASNet(alpha, **kwargs)
    return apply_weights(model, weights, progress)


@register_model()
def mnasnet0_5(*, weights: MNASNet0_5_Weights | None = None, progress: bool = True,
               **kwargs) -> MNASNet:
    """MNASNet with depth multiplier 0.5, 2.2M parameters."""
    return _mnasnet(0.5, weights, progress, MNASNet0_5_Weights, kwargs)


@register_model()
def mnasnet0_75(*, weights: MNASNet0_75_Weights | None = None, progress: bool = True,
                **kwargs) -> MNASNet:
    """MNASNet with depth multiplier 0.75, 3.2M parameters."""
    return _mnasnet(0.75, weights, progress, MNASNet0_75_Weights, kwargs)


@register_model()
def mnasnet1_0(*, weights: MNASNet1_0_Weights | None = None, progress: bool = True,
               **kwargs) -> MNASNet:
    """MNASNet with depth multiplier 1.0, 4.4M parameters."""
    return _mnasnet(1.0, weights, progress, MNASNet1_0_Weights, kwargs)


@register_model()
def mnasnet1_3(*, weights: MNASNet1_3_Weights | None = None, progress: bool = True,
               **kwargs) -> MNASNet:
    """MNASNet with depth multiplier 1.3, 6.3M parameters."""
    return _mnasnet(1.3, weights, progress, MNASNet1_3_Weights, kwargs)
