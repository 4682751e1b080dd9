"""ember.backends.mkl: whether NumPy's BLAS is Intel MKL."""

from __future__ import annotations


def is_available() -> bool:
    try:
        import threadpoolctl
    except ImportError:
        return False
    return any(info.get("internal_api") == "mkl" for info in threadpoolctl.threadpool_info())


__all__ = ["is_available"]
