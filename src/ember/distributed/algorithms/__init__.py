"""ember.distributed.algorithms (PyTorch's ``torch.distributed.algorithms``): the join
context manager for uneven inputs and DDP's communication hooks."""

from .join import Join, Joinable, JoinHook

__all__ = ["Join", "JoinHook", "Joinable"]
