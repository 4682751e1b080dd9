"""nn.init: parameter initialisation, same distributions as PyTorch's."""

from __future__ import annotations

__all__: list[str] = []
