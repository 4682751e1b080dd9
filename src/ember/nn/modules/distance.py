"""nn modules: distance (as torch.nn.modules.distance)."""

from __future__ import annotations

__all__: list[str] = []
