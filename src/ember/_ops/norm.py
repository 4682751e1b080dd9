"""Normalisation: batch/instance/group/layer/local-response norm."""

from __future__ import annotations

__all__: list[str] = []

TENSOR_METHODS: dict = {}
