"""ember.distributed.rpc (PyTorch's ``torch.distributed.rpc``): run functions on other
processes by name, and hold references (``RRef``) to values that live on them.

    >>> rpc.init_rpc("trainer", rank=0, world_size=2,
    ...              rpc_backend_options=rpc.TensorPipeRpcBackendOptions(
    ...                  init_method="tcp://127.0.0.1:29500"))
    >>> rpc.rpc_sync("ps", torch.add, args=(torch.ones(2), 1))
    tensor([2., 2.])
    >>> rpc.shutdown()

Functions travel by reference (pickle), so they must be importable on the callee, as in
PyTorch. Inside ``ember.distributed.autograd.context()`` calls are recorded so that
``ember.distributed.autograd.backward`` carries gradients back across them.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from ...futures import Future
from . import functions
from ._agent import (
    DEFAULT_INIT_METHOD,
    DEFAULT_RPC_TIMEOUT_SEC,
    Agent,
    TensorPipeRpcBackendOptions,
    WorkerInfo,
)
from ._rref import RRef, _owned

__all__ = ["BackendType", "RRef", "TensorPipeRpcBackendOptions", "WorkerInfo", "functions",
           "get_worker_info", "init_rpc", "is_available", "remote", "rpc_async", "rpc_sync",
           "shutdown", "DEFAULT_INIT_METHOD", "DEFAULT_RPC_TIMEOUT_SEC", "UNSET_RPC_TIMEOUT"]

UNSET_RPC_TIMEOUT = -1.0
_state = {"agent": None}
_rref_counter = iter(range(1 << 62))
_counter_lock = threading.Lock()


class BackendType:
    """The one backend ember has, under PyTorch's name."""
    TENSORPIPE = "TENSORPIPE"


def is_available() -> bool:
    return True


def _agent() -> Agent:
    agent = _state["agent"]
    if agent is None:
        raise RuntimeError("RPC has not been initialized. Call "
                           "torch.distributed.rpc.init_rpc first.")
    return agent


def init_rpc(name: str, backend=None, rank: int = -1, world_size: int | None = None,
             rpc_backend_options: TensorPipeRpcBackendOptions | None = None) -> None:
    """Start this process's RPC worker ``name`` and wait until all ``world_size`` workers
    have started (they meet at ``rpc_backend_options.init_method``)."""
    import os
    if _state["agent"] is not None:
        raise RuntimeError("RPC is already initialized")
    if not isinstance(name, str) or not name:
        raise ValueError(f"Worker name must be a non-empty string, got {name!r}")
    if rank < 0:
        rank = int(os.environ["RANK"])
    if world_size is None:
        world_size = int(os.environ["WORLD_SIZE"])
    options = rpc_backend_options or TensorPipeRpcBackendOptions()
    _state["agent"] = Agent(name, rank, world_size, options, _handle)


def get_worker_info(worker_name: str | None = None) -> WorkerInfo:
    """This worker's ``WorkerInfo``, or the one named ``worker_name``."""
    agent = _agent()
    return agent.info if worker_name is None else agent.worker_info(worker_name)


def _timeout(timeout) -> float:
    return _agent().options.rpc_timeout if timeout is None or timeout == UNSET_RPC_TIMEOUT \
        else float(timeout)


def _handle(request):
    """Run one request on the callee (the agent's pool calls this)."""
    kind = request[0]
    if kind == "call":
        _, func, args, kwargs, record = request
        if record is not None:
            from .. import autograd as dist_autograd
            return dist_autograd._run_recorded(record, func, args, kwargs)
        return _run(func, args, kwargs)
    if kind == "remote":
        _, rref_id, func, args, kwargs = request
        slot = _owned(rref_id)
        try:
            value = _run(func, args, kwargs)
            if isinstance(value, Future):
                value = value.wait()
        except Exception as error:
            slot.fail(error)
            raise
        slot.fill(value)
        return True
    raise RuntimeError(f"unknown rpc request {kind!r}")


def _run(func, args, kwargs):
    """Call ``func``; a function marked ``@functions.async_execution`` returns a Future,
    and the agent answers once it completes (no pool thread waits for it)."""
    return func(*args, **kwargs)


def _call(to, func, args, kwargs, timeout) -> Future:
    agent = _agent()
    info = agent.worker_info(to)
    args, kwargs = tuple(args or ()), dict(kwargs or {})
    from .. import autograd as dist_autograd
    recorded = dist_autograd._record_call(info, func, args, kwargs)
    if recorded is not None:
        return recorded(lambda request: agent.send(info, request, _timeout(timeout)))
    return agent.send(info, ("call", func, args, kwargs, None), _timeout(timeout))


def rpc_sync(to, func, args=None, kwargs=None, timeout: float = UNSET_RPC_TIMEOUT):
    """Run ``func(*args, **kwargs)`` on worker ``to`` (name, rank or WorkerInfo) and
    return its result; its error is raised here with the remote traceback."""
    return _call(to, func, args, kwargs, timeout).wait()


def rpc_async(to, func, args=None, kwargs=None, timeout: float = UNSET_RPC_TIMEOUT) -> Future:
    """As ``rpc_sync``, but return an ``ember.futures.Future`` of the result at once."""
    return _call(to, func, args, kwargs, timeout)


def remote(to, func, args=None, kwargs=None, timeout: float = UNSET_RPC_TIMEOUT) -> RRef:
    """Run ``func`` on worker ``to`` and return an ``RRef`` to the result, which stays
    there (``to_here()`` copies it over)."""
    agent = _agent()
    info = agent.worker_info(to)
    with _counter_lock:
        rref_id = (agent.info.id, next(_rref_counter))
    request = ("remote", rref_id, func, tuple(args or ()), dict(kwargs or {}))
    created = agent.send(info, request, _timeout(timeout))
    return RRef._user(info, rref_id, created)


def _next_local_rref_id():
    with _counter_lock:
        return (_agent().info.id, next(_rref_counter))


def shutdown(graceful: bool = True, timeout: float = 0) -> None:
    """Stop this worker. ``graceful`` waits until every worker has called shutdown, so no
    worker leaves while others may still call it (as PyTorch's)."""
    agent = _agent()
    if graceful:
        store = agent.store
        store.set(f"rpc/shutdown/{agent.info.id}", b"1")
        store.wait([f"rpc/shutdown/{peer}" for peer in range(agent.world_size)],
                   timedelta(seconds=max(agent.options.rpc_timeout, 60.0)))
        # rank 0 serves the store: it leaves last, once every other worker has passed
        if agent.info.id == 0:
            deadline = time.monotonic() + 60
            while store.add("rpc/shutdown/left", 0) < agent.world_size - 1 \
                    and time.monotonic() < deadline:
                time.sleep(0.01)
        else:
            store.add("rpc/shutdown/left", 1)
    _state["agent"] = None
    agent.close()
    from ._rref import _forget_all
    _forget_all()
