"""``torch.nn.intrinsic.quantized``: alias of ``torch.ao.nn.intrinsic.quantized`` (the
quantized fused modules) and its ``dynamic`` submodule. ember's quantized backend has
ConvReLU1d/2d and LinearReLU; PyTorch's also lists BNReLU2d/3d and ConvReLU3d, which
ember's ``ao`` package does not implement yet, so they are not offered here either."""

from ....ao.nn.intrinsic.quantized import *  # noqa: F401,F403
from ....ao.nn.intrinsic.quantized import __all__  # noqa: F401
from . import dynamic  # noqa: F401
