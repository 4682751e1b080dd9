"""``torch.quantization``: the old name of ``torch.ao.quantization``, kept by PyTorch for
scripts written before the move; the same objects under the old name (its submodules
too: ``torch.quantization.fake_quantize`` is ``torch.ao.quantization.fake_quantize``)."""

import sys

from .ao.quantization import *
from .ao.quantization.qconfig import *  # noqa: F403 - named qconfigs outside __all__, as torch
from .ao.quantization import (  # noqa: F401
    __all__,
    fake_quantize,
    observer,
    qconfig,
    qconfig_mapping,
    quantize_fx,
)

for _name in ("fake_quantize", "observer", "qconfig", "qconfig_mapping", "quantize_fx"):
    sys.modules[f"{__name__}.{_name}"] = globals()[_name]
