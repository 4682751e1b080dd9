"""save/load in PyTorch's file format, safe by default."""

from __future__ import annotations

__all__: list[str] = []
