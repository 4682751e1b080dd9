"""ember.backends.mkldnn: oneDNN flags (recorded; ember's CPU kernels are NumPy's)."""

from __future__ import annotations

enabled = True


def is_available() -> bool:
    return False


__all__ = ["enabled", "is_available"]
