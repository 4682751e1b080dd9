"""ember.distributed.rpc.functions (PyTorch's ``torch.distributed.rpc.functions``)."""

import functools

__all__ = ["async_execution"]


def async_execution(fn):
    """Mark an RPC target that returns a ``Future``: the callee answers when that future
    completes instead of holding a pool thread until then (as PyTorch's). Put it
    innermost under ``@staticmethod``/``@classmethod``."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    wrapper._wrapped_async_rpc_function = fn
    return wrapper
