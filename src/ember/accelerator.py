"""ember.accelerator: is_available, current_accelerator, device_count."""

from __future__ import annotations

__all__: list[str] = []
