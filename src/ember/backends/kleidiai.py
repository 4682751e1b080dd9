"""ember.backends.kleidiai: Arm's KleidiAI micro-kernels, which ember does not use."""

from __future__ import annotations


def is_available() -> bool:
    return False


__all__ = ["is_available"]
