"""ember.vision: torchvision's transforms, datasets and models."""

from __future__ import annotations

__all__: list[str] = []
