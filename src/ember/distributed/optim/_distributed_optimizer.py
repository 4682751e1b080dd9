"""``DistributedOptimizer``: one local optimizer on each worker that owns parameters,
stepped with the gradients of a distributed autograd context (PyTorch's
``torch.distributed.optim.DistributedOptimizer``)."""

from __future__ import annotations

import threading

__all__ = ["DistributedOptimizer"]


class _LocalOptimizer:
    """Lives on a parameters' owner (made there by ``rpc.remote``)."""

    # as PyTorch's: steps of different trainers on one owner do not interleave
    _lock = threading.Lock()

    def __init__(self, optimizer_class, local_params_rref, *args, **kwargs):
        self._params = [rref.local_value() for rref in local_params_rref]
        self.optim = optimizer_class(self._params, *args, **kwargs)

    def step(self, autograd_ctx_id):
        from .. import autograd as dist_autograd
        grads = dist_autograd.get_gradients(autograd_ctx_id)
        with _LocalOptimizer._lock:
            for param in self._params:
                held = grads.get(param)
                param.grad = held
            self.optim.step()


def _new_local_optimizer(optimizer_class, params, args, kwargs):
    from ..rpc import RRef
    return RRef(_LocalOptimizer(optimizer_class, params, *args, **kwargs))


def _local_step(optimizer_rref, autograd_ctx_id):
    optimizer_rref.local_value().step(autograd_ctx_id)


class DistributedOptimizer:
    """Step the parameters behind ``params_rref`` (RRefs, possibly on several workers)
    with ``optimizer_class(params, *args, **kwargs)`` on each owner.

    Example::

        >>> with dist_autograd.context() as context_id:
        ...     loss = model(inputs).sum()
        ...     dist_autograd.backward(context_id, [loss])
        ...     dist_optim.step(context_id)
    """

    def __init__(self, optimizer_class, params_rref, *args, **kwargs):
        from .. import rpc
        by_owner = {}
        for rref in params_rref:
            by_owner.setdefault(rref.owner(), []).append(rref)
        self.remote_optimizers = [
            rpc.rpc_async(owner, _new_local_optimizer,
                          args=(optimizer_class, rrefs, args, kwargs))
            for owner, rrefs in by_owner.items()]
        self.remote_optimizers = [made.wait() for made in self.remote_optimizers]

    def step(self, context_id):
        """One optimizer step on every owner, with the gradients of ``context_id``."""
        from .. import autograd as dist_autograd
        from .. import rpc
        dist_autograd._lookup(context_id)
        steps = [rpc.rpc_async(optimizer.owner(), _local_step, args=(optimizer, context_id))
                 for optimizer in self.remote_optimizers]
        errors = []
        for step in steps:
            try:
                step.wait()
            except Exception as error:  # noqa: BLE001 - all steps finish before raising
                errors.append(error)
        if errors:
            raise errors[0]
