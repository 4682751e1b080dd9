"""``RemoteModule``: a module created on another RPC worker and called through RPC
(PyTorch's ``torch.distributed.nn.api.remote_module.RemoteModule``). Calls made inside a
distributed autograd context carry gradients back to the remote parameters."""

from __future__ import annotations

from ....nn import Module

__all__ = ["RemoteModule"]


def _forward(module_rref, args, kwargs):
    return module_rref.local_value()(*args, **kwargs)


def _parameter_rrefs(module_rref, recurse):
    from ...rpc import RRef
    return [RRef(param) for param in module_rref.local_value().parameters(recurse)]


def _create(module_cls, args, kwargs, device):
    module = module_cls(*args, **kwargs)
    return module.to(device) if device != "cpu" else module


class RemoteModule(Module):
    """``module_cls(*args, **kwargs)`` made on the worker named in ``remote_device``
    (``"worker1/cpu"``); ``forward`` runs it there (``forward_async`` returns a Future).

    Example::

        >>> remote_linear = RemoteModule("worker1/cpu", nn.Linear, args=(20, 30))
        >>> out = remote_linear(torch.randn(128, 20))
    """

    def __init__(self, remote_device: str, module_cls, args=None, kwargs=None):
        super().__init__()
        from ... import rpc
        worker, _, device = str(remote_device).partition("/")
        if not worker or not device:
            raise ValueError("Could not parse remote_device: " + str(remote_device)
                             + '. The valid format is "<workername>/<device>"')
        self.on = worker
        self.device = device
        self.module_rref = rpc.remote(worker, _create,
                                      args=(module_cls, tuple(args or ()), dict(kwargs or {}),
                                            device))
        self.module_rref._get_future().wait()

    def forward(self, *args, **kwargs):
        from ... import rpc
        return rpc.rpc_sync(self.on, _forward, args=(self.module_rref, args, kwargs))

    def forward_async(self, *args, **kwargs):
        from ... import rpc
        return rpc.rpc_async(self.on, _forward, args=(self.module_rref, args, kwargs))

    def remote_parameters(self, recurse: bool = True) -> list:
        """RRefs to the remote module's parameters (for ``DistributedOptimizer``)."""
        from ... import rpc
        return rpc.rpc_sync(self.on, _parameter_rrefs, args=(self.module_rref, recurse))

    def get_module_rref(self):
        return self.module_rref

    def _unsupported(self, name):
        raise ValueError(f"Method ``{name}`` not supported for RemoteModule")

    def parameters(self, recurse: bool = True):
        self._unsupported("parameters")
