"""Activation functions and softmax family (fused where numerically needed)."""

from __future__ import annotations

__all__: list[str] = []

TENSOR_METHODS: dict = {}
