"""ember.backends: the flags PyTorch code sets (cudnn.benchmark, ...)."""

from __future__ import annotations

__all__: list[str] = []
