"""Small shared pieces of ``torch.ao.quantization.utils``: the pattern type used by
fusion tables, a wildcard pattern node, and dictionary merging for mappings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

__all__ = ["MatchAllNode", "Pattern", "get_combined_dict"]

# a fusion pattern: one op, or a (possibly nested) tuple of them
Pattern = Union[Callable, tuple[Callable, Callable], tuple[Callable, tuple[Callable, Callable]],
                Any]


class MatchAllNode:
    """A pattern element that matches any node (a wildcard in fusion patterns)."""


def get_combined_dict(default_dict, additional_dict):
    """A copy of ``default_dict`` updated with ``additional_dict`` (defaults untouched)."""
    combined = default_dict.copy()
    combined.update(additional_dict)
    return combined
