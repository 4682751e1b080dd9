"""ember.backends.openmp: ember runs no OpenMP code of its own."""

from __future__ import annotations


def is_available() -> bool:
    return False


__all__ = ["is_available"]
