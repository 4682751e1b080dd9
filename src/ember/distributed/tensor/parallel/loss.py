"""``loss_parallel``: inside it, ``cross_entropy``/``nll_loss`` accept a DTensor input
sharded on the class dimension (``Shard(-1)``) or replicated, with a plain tensor target
taken as replicated. ember computes the loss on the gathered input (the same values as
PyTorch's distributed log-softmax, which never gathers); the input's gradient comes back
with the input's placements."""

from __future__ import annotations

import contextlib

from .._dispatch import _LOSS_PARALLEL

__all__ = ["loss_parallel"]


@contextlib.contextmanager
def loss_parallel():
    before = _LOSS_PARALLEL[0]
    _LOSS_PARALLEL[0] = True
    try:
        yield
    finally:
        _LOSS_PARALLEL[0] = before
