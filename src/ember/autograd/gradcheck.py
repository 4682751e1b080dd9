"""gradcheck and gradgradcheck: finite differences against the engine, in float64."""

from __future__ import annotations

__all__: list[str] = []
