"""nn.utils: gradient clipping, parameter/vector conversion, weight and spectral norm, parametrize."""

from __future__ import annotations

__all__: list[str] = []
