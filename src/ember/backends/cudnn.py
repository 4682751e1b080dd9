"""ember.backends.cudnn: flags recorded for scripts; ember's CUDA path is CuPy, not cuDNN."""

from __future__ import annotations

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """ember never calls cuDNN directly, so it is never 'available' to toggle."""
    return False


def version():
    return None


__all__ = ["enabled", "benchmark", "deterministic", "allow_tf32", "is_available", "version"]
