"""``torch.nn.modules.linear_cross_entropy_options``'s import path to the options."""

from .._linear_cross_entropy import LinearCrossEntropyOptions

__all__ = ["LinearCrossEntropyOptions"]
