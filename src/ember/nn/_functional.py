"""Functional forms of the nn layers: linear, bilinear, embedding, dropout family, one_hot, normalize, distances."""

from __future__ import annotations

__all__: list[str] = []
