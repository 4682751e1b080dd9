"""Helpers shared by the dense-prediction models (torchvision.models._utils).

``IntermediateLayerGetter`` turns a classifier into a feature extractor: the segmentation
models wrap a ResNet or MobileNetV3 with it, so the backbone's state_dict keys keep their
classification names under ``backbone.`` and torchvision checkpoints load unchanged.
"""

from __future__ import annotations

from collections import OrderedDict

from ember import nn

__all__ = ["IntermediateLayerGetter"]


class IntermediateLayerGetter(nn.ModuleDict):
    """Runs ``model``'s direct children in registration order and returns the outputs of
    those named in ``return_layers`` (``{child name: output name}``) as an OrderedDict.

    Children after the last requested one are dropped, so their parameters are not part
    of the state_dict (a segmentation backbone has no ``fc``). The model must use each
    child once, in the order registered, as torchvision requires.

    Example::

        >>> body = IntermediateLayerGetter(resnet18(), {"layer1": "feat1", "layer3": "feat2"})
        >>> [(k, v.shape) for k, v in body(ember.rand(1, 3, 224, 224)).items()]
        [('feat1', ember.Size([1, 64, 56, 56])), ('feat2', ember.Size([1, 256, 14, 14]))]
    """

    _version = 2

    def __init__(self, model: nn.Module, return_layers: dict[str, str]) -> None:
        if not set(return_layers).issubset([name for name, _ in model.named_children()]):
            raise ValueError("return_layers are not present in model")
        orig_return_layers = return_layers
        remaining = {str(k): str(v) for k, v in return_layers.items()}
        layers = OrderedDict()
        for name, module in model.named_children():
            layers[name] = module
            remaining.pop(name, None)
            if not remaining:
                break
        super().__init__(layers)
        self.return_layers = orig_return_layers

    def forward(self, x):
        out = OrderedDict()
        for name, module in self.items():
            x = module(x)
            if name in self.return_layers:
                out[self.return_layers[name]] = x
        return out


def _ovewrite_value_param(param: str, actual, expected):
    """torchvision's check that an explicit argument agrees with what the weights need."""
    if actual is not None and actual != expected:
        raise ValueError(f"The parameter '{param}' expected value {expected} but got {actual} "
                         "instead.")
    return expected


def _legacy_weights(kwargs: dict, weights, weights_param: str, pretrained_param: str,
                    default):
    """torchvision's ``handle_legacy_interface`` for one pair: the deprecated boolean
    ``pretrained_param`` (``pretrained``, ``pretrained_backbone``) selects ``default``
    when ``weights`` was not given, with torchvision's two deprecation warnings."""
    if pretrained_param not in kwargs:
        return weights
    import warnings

    pretrained = kwargs.pop(pretrained_param)
    warnings.warn(f"The parameter '{pretrained_param}' is deprecated since 0.13 and may be "
                  f"removed in the future, please use '{weights_param}' instead.", UserWarning,
                  stacklevel=4)
    if pretrained:
        weights = default
    else:
        weights = None
    warnings.warn(
        f"Arguments other than a weight enum or `None` for '{weights_param}' are deprecated "
        "since 0.13 and may be removed in the future. The current behavior is equivalent to "
        f"passing `{weights_param}={default if pretrained else None}`."
        + (f" You can also use `{weights_param}={type(default).__name__}.DEFAULT` to get the "
           "most up-to-date weights." if pretrained else ""), UserWarning, stacklevel=4)
    return weights
