"""``ember.cpu.amp``: the deprecated spellings of ``ember.amp``'s CPU autocast and
GradScaler, kept because older PyTorch scripts still write them."""

from __future__ import annotations

import warnings

from .. import amp as _amp
from .._backend import dtypes as _dt

__all__ = ["GradScaler", "autocast"]


class autocast(_amp.autocast):
    """``ember.amp.autocast("cpu", ...)`` (bfloat16 by default), with PyTorch's warning."""

    def __init__(self, enabled: bool = True, dtype=_dt.bfloat16, cache_enabled: bool = True):
        warnings.warn("`torch.cpu.amp.autocast(args...)` is deprecated. Please use "
                      "`torch.amp.autocast('cpu', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(_amp.GradScaler):
    """``ember.amp.GradScaler("cpu", ...)``, with PyTorch's deprecation warning."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        warnings.warn("`torch.cpu.amp.GradScaler(args...)` is deprecated. Please use "
                      "`torch.amp.GradScaler('cpu', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cpu", init_scale, growth_factor, backoff_factor, growth_interval,
                         enabled)
