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

# Reachable as attributes after ``import ember``, as PyTorch's are after ``import torch``;
# loaded on first use so start-up does not pay for them.
_LAZY_SUBMODULES = frozenset({"collect_env", "deterministic", "throughput_benchmark", "weak",
                              "model_zoo", "show_pickle", "module_tracker"})


def __getattr__(name):
    import importlib

    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name == "ThroughputBenchmark":
        return importlib.import_module(f"{__name__}.throughput_benchmark").ThroughputBenchmark
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
