"""Random numbers: the global generator, Generator objects, and the sampling ops."""

from __future__ import annotations

__all__: list[str] = []

TENSOR_METHODS: dict = {}
