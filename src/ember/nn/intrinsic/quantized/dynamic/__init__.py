"""``torch.nn.intrinsic.quantized.dynamic``: alias of
``torch.ao.nn.intrinsic.quantized.dynamic`` (the dynamically quantized LinearReLU)."""

from .....ao.nn.intrinsic.quantized.dynamic import *  # noqa: F401,F403
from .....ao.nn.intrinsic.quantized.dynamic import __all__  # noqa: F401
