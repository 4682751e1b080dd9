"""Padding modules (as torch.nn.modules.padding): ZeroPad, ConstantPad, ReflectionPad,
ReplicationPad and CircularPad in 1d/2d/3d, all thin wrappers over ``F.pad``."""

from __future__ import annotations

from collections.abc import Iterable

from ..._ops.resample import pad
from .module import Module

__all__ = ["CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "ZeroPad1d", "ZeroPad2d",
           "ZeroPad3d"]


def _ntuple(value, n):
    """An int pads every side by it; a sequence is taken as given (as torch's _ntuple)."""
    if isinstance(value, Iterable):
        return tuple(value)
    return (value,) * n


class _PadNd(Module):
    __constants__ = ["padding"]
    _mode = "constant"
    _sides = 2

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _ntuple(padding, self._sides)

    def _check_input_dim(self, input):
        pass

    def forward(self, input):
        self._check_input_dim(input)
        return pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _CircularPadNd(_PadNd):
    _mode = "circular"

    def _check_input_dim(self, input):
        low = self._sides // 2 + 1
        if input.dim() != low and input.dim() != low + 1:
            raise ValueError(f"expected {low}D or {low + 1}D input (got {input.dim()}D input)")


class CircularPad1d(_CircularPadNd):
    """Wrap-around padding of the last dim of (N, C, W) / (C, W) inputs."""

    _sides = 2


class CircularPad2d(_CircularPadNd):
    """Wrap-around padding of the last two dims; padding = (left, right, top, bottom)."""

    _sides = 4


class CircularPad3d(_CircularPadNd):
    """Wrap-around padding of the last three dims."""

    _sides = 6


class _ReflectionPadNd(_PadNd):
    _mode = "reflect"


class ReflectionPad1d(_ReflectionPadNd):
    """Mirror padding (edge not repeated) of the last dim."""

    _sides = 2


class ReflectionPad2d(_ReflectionPadNd):
    """Mirror padding of the last two dims."""

    _sides = 4


class ReflectionPad3d(_ReflectionPadNd):
    """Mirror padding of the last three dims."""

    _sides = 6


class _ReplicationPadNd(_PadNd):
    _mode = "replicate"


class ReplicationPad1d(_ReplicationPadNd):
    """Edge-value padding of the last dim."""

    _sides = 2


class ReplicationPad2d(_ReplicationPadNd):
    """Edge-value padding of the last two dims."""

    _sides = 4


class ReplicationPad3d(_ReplicationPadNd):
    """Edge-value padding of the last three dims."""

    _sides = 6


class _ConstantPadNd(Module):
    __constants__ = ["padding", "value"]
    _sides = 2

    def __init__(self, padding, value: float) -> None:
        super().__init__()
        self.value = value
        self.padding = _ntuple(padding, self._sides)

    def forward(self, input):
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``."""

    _sides = 2


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with ``value``."""

    _sides = 4


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims with ``value``."""

    _sides = 6


class _ZeroPad:
    """ConstantPadNd with value 0, shown by its padding alone (put before the base)."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPad, ConstantPad1d):
    """Pad the last dim with zeros."""


class ZeroPad2d(_ZeroPad, ConstantPad2d):
    """Pad the last two dims with zeros."""


class ZeroPad3d(_ZeroPad, ConstantPad3d):
    """Pad the last three dims with zeros."""
