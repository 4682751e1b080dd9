"""Pooling: max/avg/lp/adaptive/fractional, unpooling."""

from __future__ import annotations

__all__: list[str] = []

TENSOR_METHODS: dict = {}
