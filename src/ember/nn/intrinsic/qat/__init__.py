"""``torch.nn.intrinsic.qat``: alias of ``torch.ao.nn.intrinsic.qat`` (fused modules
with fake quantization for quantization-aware training)."""

from ....ao.nn.intrinsic.qat import *  # noqa: F401,F403
from ....ao.nn.intrinsic.qat import __all__  # noqa: F401
