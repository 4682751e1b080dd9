"""``@record``, which torchrun scripts put on ``main``: PyTorch writes the exception to an
error file for its elastic agent; ember's launcher has no agent and reads the exit status,
so the decorator keeps the function as it is (exceptions propagate as usual)."""

from __future__ import annotations

import functools

__all__ = ["record"]


def record(fn=None, error_handler=None):
    """Decorate ``fn`` (also usable as ``@record()``); returns a wrapper that calls it."""
    if fn is None:
        return functools.partial(record, error_handler=error_handler)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper
