"""Resampling: interpolate, pixel_shuffle, grid_sample, affine_grid, padding."""

from __future__ import annotations

__all__: list[str] = []

TENSOR_METHODS: dict = {}
