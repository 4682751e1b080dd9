"""``ember.cuda.nvtx``: NVTX ranges and markers for Nsight profiles, through CuPy's NVTX
wrapper (``cupy.cuda.nvtx``). Without a GPU every call raises PyTorch's CPU-build error.

NVTX's push and pop return the nesting depth; CuPy's wrapper drops it, so the depth is
counted here, per thread.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from .._backend.device import cupy_module

__all__ = ["mark", "range", "range_end", "range_pop", "range_push", "range_start"]

_NOT_INSTALLED = "NVTX functions not installed. Are you sure you have a CUDA build?"
_depth = threading.local()


def _nvtx():
    cp = cupy_module()
    nvtx = getattr(cp.cuda, "nvtx", None) if cp is not None else None
    if nvtx is None:
        raise RuntimeError(_NOT_INSTALLED)
    return nvtx


def range_push(msg: str) -> int:
    """Open a nested range named ``msg``; returns its zero-based depth."""
    _nvtx().RangePush(msg)
    depth = getattr(_depth, "value", 0)
    _depth.value = depth + 1
    return depth


def range_pop() -> int:
    """Close the innermost range; returns its zero-based depth (-1: none was open)."""
    nvtx = _nvtx()
    depth = getattr(_depth, "value", 0)
    if depth == 0:
        return -1
    nvtx.RangePop()
    _depth.value = depth - 1
    return depth - 1


def range_start(msg: str) -> int:
    """Open a range that may end on another thread; returns its id for ``range_end``."""
    nvtx = _nvtx()
    if not hasattr(nvtx, "RangeStart"):
        raise RuntimeError("this CuPy has no nvtx.RangeStart (CuPy 11 or later has)")
    return int(nvtx.RangeStart(msg, None))


def range_end(range_id: int) -> None:
    _nvtx().RangeEnd(range_id)


def mark(msg: str) -> None:
    """An instantaneous marker named ``msg``."""
    _nvtx().Mark(msg)


@contextmanager
def range(msg: str, *args, **kwargs):  # noqa: A001 - PyTorch's name
    """``with ember.cuda.nvtx.range("step {}", i):`` (or as a decorator): one range
    around the block, its name ``msg.format(*args, **kwargs)``."""
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()
