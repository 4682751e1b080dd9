"""ember.distributed.optim (PyTorch's ``torch.distributed.optim``): optimizers that share
their work across the ranks of a process group, and ``DistributedOptimizer`` for
parameters spread over RPC workers."""

from ._distributed_optimizer import DistributedOptimizer
from .zero_redundancy_optimizer import ZeroRedundancyOptimizer

__all__ = ["DistributedOptimizer", "ZeroRedundancyOptimizer"]
