"""``Variable``: the pre-0.4 wrapper, kept as PyTorch keeps it so old scripts run.

``Variable(tensor, requires_grad=...)`` returns a new leaf tensor sharing the data of
``tensor`` (detached from its history) and ``isinstance(t, Variable)`` holds for every
tensor, as in PyTorch since tensors and Variables merged."""

from __future__ import annotations

import warnings

__all__ = ["Variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, other):
        from .._tensor import Tensor
        return isinstance(other, Tensor)


class _ExecutionEngine:
    """``Variable._execution_engine``: the handle PyTorch code reaches the autograd
    engine through (FSDP-style code queues end-of-backward callbacks on it)."""

    @staticmethod
    def queue_callback(callback) -> None:
        from .engine import queue_callback

        queue_callback(callback)


class Variable(metaclass=_VariableMeta):
    """``Variable(data, requires_grad=False, volatile=False)``: a tensor."""

    _execution_engine = _ExecutionEngine()

    def __new__(cls, data=None, requires_grad=False, volatile=False):
        from .._tensor import Tensor
        if data is None:
            raise TypeError("Variable() missing required argument 'data' (pos 1)")
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with "
                          "torch.no_grad():` instead.", UserWarning, stacklevel=2)
        return data.detach().requires_grad_(requires_grad)
