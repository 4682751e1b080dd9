"""Top-level helpers: finfo/iinfo, promotion queries, thread and determinism settings, legacy tensor types."""

from __future__ import annotations

__all__: list[str] = []
