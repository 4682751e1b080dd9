"""ember.distributed.optim (PyTorch's ``torch.distributed.optim``): optimizers that share
their work across the ranks of a process group."""

from .zero_redundancy_optimizer import ZeroRedundancyOptimizer

__all__ = ["ZeroRedundancyOptimizer"]
