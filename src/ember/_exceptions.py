"""PyTorch's own exception classes at the top level: ``except torch.OutOfMemoryError``
clauses written for PyTorch catch ember's. Both are RuntimeErrors, as in PyTorch, so older
``except RuntimeError`` code keeps working."""

from __future__ import annotations

__all__ = ["AcceleratorError", "OutOfMemoryError"]


class OutOfMemoryError(RuntimeError):
    """A device ran out of memory (``torch.OutOfMemoryError``, also
    ``torch.cuda.OutOfMemoryError``)."""


class AcceleratorError(RuntimeError):
    """An error reported by an accelerator's runtime (``torch.AcceleratorError``)."""


OutOfMemoryError.__module__ = AcceleratorError.__module__ = "ember"
