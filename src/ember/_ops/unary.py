"""Unary math functions (exp2, log1p, trig, erf, rounding, ...), each with its backward."""

from __future__ import annotations

__all__: list[str] = []

TENSOR_METHODS: dict = {}
