"""ember.distributed.nn (PyTorch's ``torch.distributed.nn``): modules that live on
another RPC worker, and collectives that autograd differentiates."""

from .api.remote_module import RemoteModule
from .functional import (
    all_gather, all_reduce, all_to_all, broadcast, reduce, reduce_scatter,
)

__all__ = ["RemoteModule", "all_gather", "all_reduce", "all_to_all", "broadcast", "reduce",
           "reduce_scatter"]
