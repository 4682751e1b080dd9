"""Sorting and selection: sort, argsort, topk, kthvalue, median, mode, quantile, unique, bincount, histc, searchsorted, bucketize."""

from __future__ import annotations

__all__: list[str] = []

TENSOR_METHODS: dict = {}
