"""``torch.quantization``: the old name of ``torch.ao.quantization``, kept by PyTorch for
scripts written before the move; the same objects under the old name."""

from .ao.quantization import *
from .ao.quantization import __all__, observer, qconfig  # noqa: F401
