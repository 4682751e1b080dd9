"""ember.backends.mps: Apple's Metal backend, which ember does not have."""

from __future__ import annotations


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False


def is_macos_or_newer(major: int, minor: int) -> bool:
    """PyTorch asks the MPS backend for the macOS version, and fails without one."""
    raise RuntimeError("Cannot execute isOnMacOSorNewer() without MPS backend.")


def is_macos13_or_newer(minor: int = 0) -> bool:
    return is_macos_or_newer(13, minor)


__all__ = ["is_available", "is_built", "is_macos13_or_newer", "is_macos_or_newer"]
