"""Fused float modules (``torch.ao.nn.intrinsic``): what ``fuse_modules`` builds, so
``convert`` can swap a conv or linear and its ReLU for one quantized module."""

from __future__ import annotations

from ....nn import Conv2d, Linear, ReLU, Sequential

__all__ = ["ConvReLU2d", "LinearReLU", "_FusedModule"]


class _FusedModule(Sequential):
    """A Sequential that quantization treats as one unit."""


def _check_types(name, modules, expected):
    if tuple(type(m) for m in modules) != expected:
        found = "".join(str(type(m)) for m in modules)
        raise AssertionError(f"Incorrect types for input modules{found}")


class ConvReLU2d(_FusedModule):
    """Conv2d followed by ReLU (BatchNorm already folded into the conv)."""

    def __init__(self, conv, relu):
        _check_types("ConvReLU2d", (conv, relu), (Conv2d, ReLU))
        super().__init__(conv, relu)


class LinearReLU(_FusedModule):
    """Linear followed by ReLU."""

    def __init__(self, linear, relu):
        _check_types("LinearReLU", (linear, relu), (Linear, ReLU))
        super().__init__(linear, relu)


