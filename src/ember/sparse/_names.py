"""PyTorch's autograd node names on sparse results.

Sparse ops are composed of dense ones, so their last node would be named after a dense
op (``IndexAddBackward0``). ``named`` adds one pass-through node carrying PyTorch's name
(``SparseSumBackward0``, ``ToDenseBackward0``), so ``grad_fn`` and reprs read as PyTorch's.
The node forwards a view of its input and passes the gradient straight through, so it
costs one small object per call and nothing when no gradient is recorded.
"""

from __future__ import annotations

from ..autograd import is_grad_enabled
from ..autograd.function import Function


class _PassThrough(Function):
    _array_io = True  # a built-in op: backend arrays in and out

    @staticmethod
    def forward(ctx, x):
        return x.view()

    @staticmethod
    def backward(ctx, grad):
        return grad


_CLASSES: dict = {}


def named(tensor, node_name: str):
    """``tensor`` behind a pass-through node named ``node_name`` (when it records one)."""
    if not tensor.requires_grad or not is_grad_enabled():
        return tensor
    cls = _CLASSES.get(node_name)
    if cls is None:
        cls = type(node_name.removesuffix("Backward0"), (_PassThrough,),
                   {"_node_name": node_name})
        _CLASSES[node_name] = cls
    return cls.apply(tensor)
