"""ember.distributed.nn (PyTorch's ``torch.distributed.nn``): modules that live on
another RPC worker."""

from .api.remote_module import RemoteModule

__all__ = ["RemoteModule"]
