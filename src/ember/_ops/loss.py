"""Loss functions (cross_entropy fused with log_softmax, ...)."""

from __future__ import annotations

__all__: list[str] = []

TENSOR_METHODS: dict = {}
