"""``torch.nn.intrinsic``: PyTorch's deprecated alias of ``torch.ao.nn.intrinsic`` (the
fused Conv/Linear + BatchNorm + ReLU modules). The classes are the very objects of
``ember.ao.nn.intrinsic``, so ``isinstance`` checks and ``fuse_modules`` agree between
the two spellings; ``.qat`` and ``.quantized`` alias their ao counterparts the same way.
"""

from ...ao.nn.intrinsic import (  # noqa: F401
    BNReLU2d,
    BNReLU3d,
    ConvBn1d,
    ConvBn2d,
    ConvBn3d,
    ConvBnReLU1d,
    ConvBnReLU2d,
    ConvBnReLU3d,
    ConvReLU1d,
    ConvReLU2d,
    ConvReLU3d,
    LinearBn1d,
    LinearReLU,
    _FusedModule,
)
from . import qat, quantized  # noqa: F401

__all__ = [
    "ConvBn1d", "ConvBn2d", "ConvBn3d", "ConvBnReLU1d", "ConvBnReLU2d", "ConvBnReLU3d",
    "ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "LinearReLU", "BNReLU2d", "BNReLU3d",
    "LinearBn1d",
]
