"""ember.metrics: classification and regression metrics."""

from __future__ import annotations

__all__: list[str] = []
