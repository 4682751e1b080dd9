"""ember.backends.nnpack: NNPACK convolutions, which ember does not use (its convolutions
are im2col + GEMM through NumPy's BLAS). The enable flag is recorded for scripts."""

from __future__ import annotations

from contextlib import contextmanager

__all__ = ["flags", "is_available", "set_flags"]

_enabled = True


def is_available() -> bool:
    return False


def set_flags(_enabled_value):
    """Set the flag; returns the previous value as a 1-tuple, as PyTorch."""
    global _enabled
    previous = (_enabled,)
    _enabled = bool(_enabled_value)
    return previous


@contextmanager
def flags(enabled=False):
    previous = set_flags(enabled)
    try:
        yield
    finally:
        set_flags(previous[0])
