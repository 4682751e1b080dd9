"""nn modules: container (as torch.nn.modules.container)."""

from __future__ import annotations

__all__: list[str] = []
