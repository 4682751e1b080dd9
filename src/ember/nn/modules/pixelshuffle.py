"""nn modules: pixelshuffle (as torch.nn.modules.pixelshuffle)."""

from __future__ import annotations

__all__: list[str] = []
