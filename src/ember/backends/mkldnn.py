"""ember.backends.mkldnn: oneDNN flags (recorded; ember's CPU kernels are NumPy's, so
``is_available()`` is False and the flags select nothing)."""

from __future__ import annotations

from contextlib import contextmanager

VERBOSE_OFF = 0
VERBOSE_ON = 1
VERBOSE_ON_CREATION = 2

enabled = True
deterministic = False
allow_tf32 = False
fp32_precision = "none"
_FLAG_NAMES = ("enabled", "deterministic", "allow_tf32", "fp32_precision")


def is_available() -> bool:
    return False


class verbose:
    """``with backends.mkldnn.verbose(VERBOSE_ON):``: oneDNN's kernel log; ember runs no
    oneDNN kernels, so there is nothing to log."""

    def __init__(self, level):
        self.level = level

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def set_flags(_enabled=None, _deterministic=None, _allow_tf32=None, _fp32_precision="none"):
    """Set the flags given (not None); returns the previous four, as PyTorch."""
    module = globals()
    previous = tuple(module[name] for name in _FLAG_NAMES)
    for name, value in zip(_FLAG_NAMES, (_enabled, _deterministic, _allow_tf32,
                                         _fp32_precision)):
        if value is not None:
            module[name] = value
    return previous


@contextmanager
def flags(enabled=False, deterministic=False, allow_tf32=True, fp32_precision="none"):
    previous = set_flags(enabled, deterministic, allow_tf32, fp32_precision)
    try:
        yield
    finally:
        set_flags(*previous)


__all__ = [
    "VERBOSE_OFF", "VERBOSE_ON", "VERBOSE_ON_CREATION", "allow_tf32", "deterministic", "enabled",
    "flags", "fp32_precision", "is_available", "set_flags", "verbose",
]
