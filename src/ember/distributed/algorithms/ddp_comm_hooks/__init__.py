"""DDP communication hooks (PyTorch's ``torch.distributed.algorithms.ddp_comm_hooks``):
functions ``hook(state, bucket) -> Future[Tensor]`` that replace DDP's gradient
all-reduce, registered with ``DistributedDataParallel.register_comm_hook``."""

from . import debugging_hooks, default_hooks, powerSGD_hook

__all__ = ["debugging_hooks", "default_hooks", "powerSGD_hook"]
