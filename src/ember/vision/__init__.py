"""ember.vision: torchvision's transforms, datasets, models, ops, io and utils.

Subpackages load on first access, so ``import ember.vision`` stays cheap and Pillow is
only imported by the parts that need it.
"""

from __future__ import annotations

import importlib

__all__ = ["datasets", "io", "models", "ops", "transforms", "tv_tensors", "utils"]


def __getattr__(name: str):
    if name in __all__:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
