"""Convolution and transposed convolution (im2col + GEMM), fold/unfold."""

from __future__ import annotations

__all__: list[str] = []

TENSOR_METHODS: dict = {}
