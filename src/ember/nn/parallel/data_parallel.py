"""DataParallel and data_parallel (as torch.nn.parallel.data_parallel)."""

from __future__ import annotations

from ..modules.module import Module

__all__ = ["DataParallel", "data_parallel"]


def _as_tuple(inputs):
    return inputs if isinstance(inputs, tuple) else (inputs,)


class DataParallel(Module):
    """Wraps ``module``. Without a GPU, ``forward`` just calls it (as PyTorch's CPU
    build). With one, as PyTorch: ``device_ids`` defaults to every GPU, the module moves
    to ``device_ids[0]`` when there is one id, and ``forward`` scatters the inputs over the
    ids, runs a replica per id and gathers the outputs on ``output_device``."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0) -> None:
        super().__init__()
        from ... import cuda
        from ..._backend.device import device
        from .scatter_gather import _accelerator

        self.module = module
        if not cuda.is_available():
            self.device_ids = []
            return
        if device_ids is None:
            device_ids = list(range(cuda.device_count()))
        if output_device is None:
            output_device = device_ids[0]

        def index(d):  # PyTorch's _get_device_index: "cuda" alone is the current GPU
            found = d if isinstance(d, int) else _accelerator(d).index
            return cuda.current_device() if found is None else found

        self.dim = dim
        self.device_ids = [index(d) for d in device_ids]
        self.output_device = index(output_device)
        self.src_device_obj = device("cuda", self.device_ids[0])
        if len(self.device_ids) == 1:
            self.module.to(self.src_device_obj)

    def forward(self, *inputs, **kwargs):
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        from itertools import chain

        from .parallel_apply import parallel_apply
        from .replicate import replicate
        from .scatter_gather import gather, scatter_kwargs

        for t in chain(self.module.parameters(), self.module.buffers()):
            if t.device != self.src_device_obj:
                raise RuntimeError(
                    "module must have its parameters and buffers on device "
                    f"{self.src_device_obj} (device_ids[0]) but found one of them on "
                    f"device: {t.device}")
        inputs, module_kwargs = scatter_kwargs(inputs, kwargs, self.device_ids, dim=self.dim)
        if not inputs and not module_kwargs:
            inputs, module_kwargs = ((),), ({},)
        if len(self.device_ids) == 1:
            return self.module(*inputs[0], **module_kwargs[0])
        from ...autograd.grad_mode import is_grad_enabled

        replicas = replicate(self.module, self.device_ids[:len(inputs)],
                             not is_grad_enabled())
        outputs = parallel_apply(replicas, inputs, module_kwargs,
                                 self.device_ids[:len(replicas)])
        return gather(outputs, self.output_device, dim=self.dim)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0,
                  module_kwargs=None):
    """``module(*inputs, **module_kwargs)``: the functional form of DataParallel."""
    return module(*_as_tuple(inputs), **(module_kwargs or {}))
