"""replicate (``torch.nn.parallel.replicate``): copies of a module, one per CUDA device,
whose parameters are differentiable copies of the original's, so a backward pass through
any replica accumulates into the original parameters (what DataParallel relies on).

A replica shares nothing mutable with the original: its ``_parameters`` is empty and
each parameter is a plain tensor attribute (as PyTorch's replicas), its buffers are
copies on its device, and its submodules are replicas too. ``detach=True`` cuts the
copies from the graph. CPU devices raise ValueError, as in PyTorch; the device-agnostic
``_replicate`` is what the tests run on the CPU.
"""

from __future__ import annotations

from .scatter_gather import _accelerator

__all__ = ["replicate"]


def _replica_of(module):
    """A shallow copy of ``module`` whose parameter, buffer and submodule dicts are its own."""
    replica = type(module).__new__(type(module))
    replica.__dict__ = module.__dict__.copy()
    replica.__dict__["_parameters"] = {}
    replica.__dict__["_buffers"] = dict(module._buffers)
    replica.__dict__["_modules"] = dict(module._modules)
    replica.__dict__["_is_replica"] = True
    return replica


def _copy_to(tensor, device, detach):
    if tensor is None:
        return None
    if detach or not tensor.requires_grad:
        copied = tensor.detach().to(device, copy=True)
        return copied.requires_grad_(tensor.requires_grad) if detach else copied
    return tensor.to(device, copy=True)


def _replicate(network, devices, detach=False):
    """One replica of ``network`` per device of ``devices`` (ember devices)."""
    modules = list(network.modules())
    position = {id(module): index for index, module in enumerate(modules)}
    replicas = []
    for device in devices:
        copies = [_replica_of(module) for module in modules]
        for module, replica in zip(modules, copies):
            for name, child in module._modules.items():
                replica._modules[name] = None if child is None else copies[position[id(child)]]
            for name, param in module._parameters.items():
                object.__setattr__(replica, name, _copy_to(param, device, detach))
            for name, buffer in module._buffers.items():
                replica._buffers[name] = _copy_to(buffer, device, detach)
        replicas.append(copies[0])
    return replicas


def replicate(network, devices, detach: bool = False) -> list:
    """``network`` copied to each CUDA device of ``devices``; gradients of the replicas'
    parameters flow back to ``network``'s unless ``detach``."""
    return _replicate(network, [_accelerator(device) for device in devices], detach)
