"""nn modules: module (as torch.nn.modules.module)."""

from __future__ import annotations

__all__: list[str] = []
