"""ember.cuda: device queries and CUDA utilities (CuPy backend)."""

from __future__ import annotations

__all__: list[str] = []
