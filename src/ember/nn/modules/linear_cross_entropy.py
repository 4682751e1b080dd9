"""``nn.LinearCrossEntropyLoss``: a classifier head (Linear) fused with its cross entropy.

The head's weight lives in a 2-D ``linear`` submodule of ``num_classes * prod(out_features)``
rows (so the state_dict key is PyTorch's ``linear.weight``) and is reshaped to
``(num_classes, *out_features, in_features)`` for ``F.linear_cross_entropy``.
"""

from __future__ import annotations

import math

from .._linear_cross_entropy import LinearCrossEntropyOptions, linear_cross_entropy
from .linear import Linear
from .loss import _WeightedLoss

__all__ = ["LinearCrossEntropyLoss", "LinearCrossEntropyOptions"]


class LinearCrossEntropyLoss(_WeightedLoss):
    """``F.linear_cross_entropy`` with its own Linear head.

    Args:
        in_features: size of each input sample.
        num_classes: number of classes C.
        out_features: extra class dims ``(d1, ..., dK)`` for a K-dimensional loss.
        bias: give the head a bias.
        reduction, weight, ignore_index, label_smoothing, options: as
            ``F.linear_cross_entropy``.
    """

    def __init__(self, in_features: int, num_classes: int, *, out_features: tuple = (),
                 bias: bool = False, device=None, dtype=None, reduction: str = "mean",
                 weight=None, ignore_index: int | None = None, label_smoothing: float = 0.0,
                 options: LinearCrossEntropyOptions | None = None) -> None:
        if weight is not None and tuple(weight.shape) != (num_classes,):
            raise RuntimeError(
                f"expected weight shape to be {(num_classes,)}, got {tuple(weight.shape)}")
        if label_smoothing < 0 or label_smoothing > 1.0:
            raise RuntimeError(
                f"expected label_smoothing to be in range [0, 1], got {label_smoothing}")
        super().__init__(weight=weight, reduction=reduction)
        self.num_classes = num_classes
        self.out_features = out_features
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.linear = Linear(in_features, math.prod(out_features, start=num_classes), bias=bias,
                             device=device, dtype=dtype)
        self.options = options

    def forward(self, input, target):
        head = self.linear
        linear_weight = head.weight.reshape(
            (self.num_classes, *self.out_features, head.in_features))
        linear_bias = (head.bias.reshape((self.num_classes, *self.out_features))
                       if head.bias is not None else None)
        return linear_cross_entropy(input, linear_weight, target, linear_bias=linear_bias,
                                    weight=self.weight, reduction=self.reduction,
                                    ignore_index=self.ignore_index,
                                    label_smoothing=self.label_smoothing, options=self.options)

    def extra_repr(self) -> str:
        return (f"in_features={self.linear.in_features}, num_classes={self.num_classes}, "
                f"out_features={self.out_features}, bias={self.linear.bias is not None}, "
                f"reduction={self.reduction}, ignore_index={self.ignore_index}, "
                f"label_smoothing={self.label_smoothing}, options={self.options}")
