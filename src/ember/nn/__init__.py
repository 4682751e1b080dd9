"""``ember.nn``: modules, functional, init, utils, as ``torch.nn``."""

from . import attention, functional, grad, init, modules, parallel, utils  # noqa: F401
from .modules import *  # noqa: F401,F403
from .parameter import *  # noqa: F401,F403
from .parallel import DataParallel, DistributedDataParallel, data_parallel  # noqa: F401


def __getattr__(name):
    # ``torch.nn.quantized`` needs no import of its own; loaded on first use (start-up).
    # ``torch.nn.intrinsic`` (the deprecated alias of ao.nn.intrinsic) likewise.
    if name in ("quantized", "intrinsic"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
