"""``ember.utils``: data loading, safetensors files, model summaries and graph drawing."""

from . import data  # noqa: F401  (``torch.utils.data`` is reachable after ``import torch``)
from . import summary as _summary_module
from . import viz  # noqa: F401
from . import checkpoint  # noqa: F401  (``torch.utils.checkpoint.checkpoint``)
from . import dlpack  # noqa: F401  (``torch.utils.dlpack.from_dlpack``)
from . import plot  # noqa: F401  (matplotlib is imported only when a plot is drawn)

# ``ember.utils.summary(model, ...)`` is the function, as ``torchinfo.summary``; the module
# stays importable as ``ember.utils.summary`` through sys.modules.
summary = _summary_module.summary

__all__: list[str] = ["summary"]
