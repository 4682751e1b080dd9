"""torch.distributed's exception types: one family under RuntimeError, so ``except
RuntimeError`` written for PyTorch still catches them.

- ``DistError``: anything that went wrong in ``ember.distributed``.
- ``DistBackendError``: a collective's transport failed.
- ``DistNetworkError``: a socket could not connect, listen, send or receive.
- ``DistStoreError``: a store operation failed, most often a ``get``/``wait`` that timed
  out; ``QueueEmptyError`` is its case for ``queue_pop(key, block=False)`` on an empty
  queue.
"""

from __future__ import annotations

__all__ = ["DistBackendError", "DistError", "DistNetworkError", "DistStoreError",
           "QueueEmptyError"]


class DistError(RuntimeError):
    """An error in ember.distributed."""


class DistBackendError(DistError):
    """A collective's transport failed."""


class DistNetworkError(DistError):
    """A socket could not connect, listen, send or receive."""


class DistStoreError(DistError):
    """A store operation failed (a ``get``/``wait`` that timed out, most often)."""


class QueueEmptyError(DistStoreError):
    """``queue_pop(key, block=False)`` found the queue empty."""


for _error in (DistError, DistBackendError, DistNetworkError, DistStoreError,
               QueueEmptyError):
    _error.__module__ = "ember.distributed"
