"""Hooks for measuring DDP without its communication."""

from __future__ import annotations

__all__ = ["noop_hook"]


def noop_hook(_, bucket):
    """Communicate nothing: each rank keeps its local gradients. Useful to measure how
    much of a step the all-reduce costs (the ranks' models drift apart)."""
    from ....futures import Future
    fut = Future()
    fut.set_result(bucket.buffer())
    return fut
