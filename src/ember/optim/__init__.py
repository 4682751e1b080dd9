"""ember.optim: optimizers, lr_scheduler, swa_utils."""

from __future__ import annotations

__all__: list[str] = []
