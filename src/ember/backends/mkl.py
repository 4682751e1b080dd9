"""ember.backends.mkl: whether NumPy's BLAS is Intel MKL, and PyTorch's verbose switch."""

from __future__ import annotations

VERBOSE_OFF = 0
VERBOSE_ON = 1


def is_available() -> bool:
    try:
        import threadpoolctl
    except ImportError:
        return False
    return any(info.get("internal_api") == "mkl" for info in threadpoolctl.threadpool_info())


class verbose:
    """``with backends.mkl.verbose(VERBOSE_ON):``: in PyTorch, MKL logs each call; ember
    leaves NumPy's BLAS logging to the ``MKL_VERBOSE`` environment variable."""

    def __init__(self, enable):
        self.enable = enable

    def __enter__(self):
        return None if self.enable == VERBOSE_OFF else self

    def __exit__(self, *exc):
        return False


__all__ = ["VERBOSE_OFF", "VERBOSE_ON", "is_available", "verbose"]
