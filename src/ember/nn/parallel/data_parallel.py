"""DataParallel and data_parallel (as torch.nn.parallel.data_parallel)."""

from __future__ import annotations

from ..modules.module import Module

__all__ = ["DataParallel", "data_parallel"]


def _as_tuple(inputs):
    return inputs if isinstance(inputs, tuple) else (inputs,)


class DataParallel(Module):
    """Wraps ``module``; ``forward`` calls it on the one device (``device_ids`` and
    ``output_device`` are accepted for compatibility)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0) -> None:
        super().__init__()
        self.module = module
        self.device_ids = [] if device_ids is None else list(device_ids)
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0,
                  module_kwargs=None):
    """``module(*inputs, **module_kwargs)``: the functional form of DataParallel."""
    return module(*_as_tuple(inputs), **(module_kwargs or {}))
