"""Fused float modules (``torch.ao.nn.intrinsic``): what ``fuse_modules`` builds, so
``convert`` (or ``prepare_qat``) can swap a conv or linear with its BatchNorm and ReLU
for one quantized (or quantization-aware-training) module."""

from __future__ import annotations

from ....nn import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    Conv1d,
    Conv2d,
    Conv3d,
    Linear,
    ReLU,
    Sequential,
)

__all__ = [
    "BNReLU2d", "BNReLU3d", "ConvBn1d", "ConvBn2d", "ConvBn3d", "ConvBnReLU1d", "ConvBnReLU2d",
    "ConvBnReLU3d", "ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "LinearBn1d", "LinearReLU",
    "_FusedModule",
]


class _FusedModule(Sequential):
    """A Sequential that quantization treats as one unit."""


def _fused(name, expected, doc):
    """A fused module class checking its parts' exact types, as PyTorch's constructors."""

    def __init__(self, *modules):
        if len(modules) != len(expected) or any(
                type(m) is not t for m, t in zip(modules, expected)):
            names = [type(m).__name__ for m in modules]
            found = " and ".join(names) if len(names) < 3 else \
                ", ".join(names[:-1]) + ", and " + names[-1]
            raise AssertionError(f"Incorrect types for input modules: {found}")
        _FusedModule.__init__(self, *modules)

    return type(name, (_FusedModule,), {"__init__": __init__, "__doc__": doc,
                                        "__module__": __name__})


ConvReLU1d = _fused("ConvReLU1d", (Conv1d, ReLU), "Conv1d followed by ReLU.")
ConvReLU2d = _fused("ConvReLU2d", (Conv2d, ReLU),
                    "Conv2d followed by ReLU (BatchNorm already folded into the conv).")
ConvReLU3d = _fused("ConvReLU3d", (Conv3d, ReLU), "Conv3d followed by ReLU.")
LinearReLU = _fused("LinearReLU", (Linear, ReLU), "Linear followed by ReLU.")
ConvBn1d = _fused("ConvBn1d", (Conv1d, BatchNorm1d),
                  "Conv1d followed by BatchNorm1d (kept apart for training).")
ConvBn2d = _fused("ConvBn2d", (Conv2d, BatchNorm2d),
                  "Conv2d followed by BatchNorm2d (kept apart for training).")
ConvBn3d = _fused("ConvBn3d", (Conv3d, BatchNorm3d),
                  "Conv3d followed by BatchNorm3d (kept apart for training).")
ConvBnReLU1d = _fused("ConvBnReLU1d", (Conv1d, BatchNorm1d, ReLU),
                      "Conv1d, BatchNorm1d and ReLU.")
ConvBnReLU2d = _fused("ConvBnReLU2d", (Conv2d, BatchNorm2d, ReLU),
                      "Conv2d, BatchNorm2d and ReLU.")
ConvBnReLU3d = _fused("ConvBnReLU3d", (Conv3d, BatchNorm3d, ReLU),
                      "Conv3d, BatchNorm3d and ReLU.")
BNReLU2d = _fused("BNReLU2d", (BatchNorm2d, ReLU), "BatchNorm2d followed by ReLU.")
BNReLU3d = _fused("BNReLU3d", (BatchNorm3d, ReLU), "BatchNorm3d followed by ReLU.")
LinearBn1d = _fused("LinearBn1d", (Linear, BatchNorm1d), "Linear followed by BatchNorm1d.")
