"""ember.distributed.autograd (PyTorch's ``torch.distributed.autograd``): gradients that
flow back across RPC calls.

Inside ``with context() as context_id:`` each ``rpc_sync``/``rpc_async`` is recorded on
both ends: the callee keeps the tensors it received (leaves that require grad) and the
outputs it returned, under the call's id; the caller joins the returned tensors to its
graph through one ``_RpcRecv`` node per call. ``backward(context_id, roots)`` runs the
local graph; reaching an ``_RpcRecv`` node sends the output gradients to the callee, which
runs its part of the graph (and, in turn, its own calls) and answers with the gradients
of the tensors it received. Leaf gradients go into the context, not into ``.grad``, and
``get_gradients(context_id)`` returns this worker's. PyTorch runs the same send/recv
pairs through a dedicated engine; here the regular autograd engine runs each piece.

Not recorded (a known gap): the arguments of ``rpc.remote``. Its value stays on the owner
with its graph there, so ``rref.to_here()`` inside a context does carry gradients to the
owner's leaves (and to a remote parameter fetched that way), but gradients do not flow
back from the owner into tensors the caller passed to ``remote``.
"""

from __future__ import annotations

import contextlib
import itertools
import threading

from ...autograd import Function
from ...futures import Future

__all__ = ["backward", "context", "get_gradients"]

_contexts = {}
_contexts_lock = threading.Lock()
_local = threading.local()
_call_ids = itertools.count()


class _Context:
    """One worker's part of a distributed autograd pass."""

    def __init__(self, context_id):
        self.id = context_id
        self.grads = {}        # leaf tensor -> accumulated gradient
        self.calls = {}        # call id -> (received leaves, returned outputs), callee side
        self.anchors = []      # the caller side's placeholder leaves, one per recorded call
        self.workers = set()   # ranks this worker called inside the context
        self.retain_graph = False
        self.lock = threading.Lock()

    def _context_id(self):
        return self.id


def _rank() -> int:
    from ..rpc import get_worker_info
    return get_worker_info().id


def _lookup(context_id) -> _Context:
    with _contexts_lock:
        found = _contexts.get(context_id)
    if found is None:
        raise RuntimeError(f"Could not find autograd context with id: {context_id}")
    return found


def _get_or_create(context_id) -> _Context:
    with _contexts_lock:
        found = _contexts.get(context_id)
        if found is None:
            found = _contexts[context_id] = _Context(context_id)
        return found


def _current():
    return getattr(_local, "context", None)


def _release(context_id):
    """Drop this worker's context and ask the workers it called to drop theirs."""
    with _contexts_lock:
        gone = _contexts.pop(context_id, None)
    if gone is None:
        return
    from ..rpc import _agent
    agent = _agent()
    waits = [agent.send(agent.worker_info(rank), ("call", _release, (context_id,), {}, None),
                        agent.options.rpc_timeout)
             for rank in gone.workers if rank != agent.info.id]
    for waited in waits:
        with contextlib.suppress(Exception):
            waited.wait()


@contextlib.contextmanager
def context():
    """A distributed autograd context; yields its id (for ``backward``,
    ``get_gradients`` and ``DistributedOptimizer.step``). Leaving it frees the context
    on this worker and on every worker reached through it."""
    context_id = (_rank() << 48) + next(_call_ids)
    made = _get_or_create(context_id)
    outer = _current()
    _local.context = made
    try:
        yield context_id
    finally:
        _local.context = outer
        _release(context_id)


def _tensors(value):
    """The tensors in a nest of lists, tuples and dicts, in order."""
    from ..._tensor import Tensor
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    return []


def _replace(value, swap):
    """``value`` with every tensor ``t`` replaced by ``swap(t)``."""
    from ..._tensor import Tensor
    if isinstance(value, Tensor):
        return swap(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_replace(item, swap) for item in value))
    if isinstance(value, (list, tuple)):
        return type(value)(_replace(item, swap) for item in value)
    if isinstance(value, dict):
        return {key: _replace(item, swap) for key, item in value.items()}
    return value


# -- the caller's side ---------------------------------------------------------------------

def _record_call(info, func, args, kwargs):
    """None outside a context; inside one, a function that sends the recorded call and
    returns a Future of its result joined to this worker's graph."""
    ctx = _current()
    if ctx is None:
        return None
    import ember
    tracked = ember.is_grad_enabled()
    grad_args = [t for t in _tensors((args, kwargs)) if tracked and t.requires_grad]
    # what travels: fresh leaves (a non-leaf cannot be pickled with its graph)
    sent_args, sent_kwargs = _replace((args, kwargs), lambda t: t.detach().requires_grad_(
        t.requires_grad) if t.requires_grad and tracked else t.detach())
    call_id = (_rank(), next(_call_ids))
    with ctx.lock:
        ctx.workers.add(info.id)

    def start(send):
        sent = send(("call", func, sent_args, sent_kwargs, (ctx.id, call_id)))
        joined = Future()

        def arrived(done):
            try:
                value, needs_grad = done.wait()
                joined.set_result(_join(ctx, info, call_id, value, needs_grad, grad_args))
            except Exception as error:  # noqa: BLE001 - the caller's future raises it
                joined.set_exception(error)

        sent.add_done_callback(arrived)
        return joined

    return start


class _RpcRecv(Function):
    """The caller's end of one call: the returned tensors as functions of the tensors
    sent (and of a fresh leaf, so they require grad even when nothing sent does).
    Its backward sends the output gradients to the callee and returns what it answers."""

    @staticmethod
    def forward(fctx, call, anchor, *inputs):
        fctx.call = call
        return tuple(t.detach() for t in call[3])

    @staticmethod
    def backward(fctx, *grads):
        import ember
        from ..rpc import _agent
        ctx, info, call_id, wanted = fctx.call
        grads = [ember.zeros_like(t) if g is None else g for t, g in zip(wanted, grads)]
        agent = _agent()
        request = ("call", _remote_backward, (ctx.id, call_id, grads, ctx.retain_graph), {},
                   None)
        sent_back = agent.send(info, request, agent.options.rpc_timeout).wait()
        return (None, None, *sent_back)


def _join(ctx, info, call_id, value, needs_grad, grad_args):
    import ember

    returned = _tensors(value)
    wanted = [t for t, needs in zip(returned, needs_grad) if needs]
    if not wanted:
        return value
    anchor = ember.zeros((), requires_grad=True)
    with ctx.lock:
        ctx.anchors.append(anchor)
    with ember.enable_grad():
        joined = _RpcRecv.apply((ctx, info, call_id, wanted), anchor, *grad_args)
    joined = iter(joined if isinstance(joined, tuple) else (joined,))
    needs = iter(needs_grad)
    return _replace(value, lambda t: next(joined) if next(needs) else t)


# -- the callee's side ---------------------------------------------------------------------

def _run_recorded(record, func, args, kwargs):
    """Run a recorded call inside its context (created here on first use); keep what
    backward needs and return the result detached, with which tensors need gradients."""
    import ember
    context_id, call_id = record
    ctx = _get_or_create(context_id)
    received = [t for t in _tensors((args, kwargs)) if t.requires_grad]
    outer = _current()
    _local.context = ctx
    try:
        with ember.enable_grad():
            value = func(*args, **kwargs)
            if isinstance(value, Future):
                value = value.wait()
    finally:
        _local.context = outer
    returned = _tensors(value)
    needs_grad = [t.requires_grad for t in returned]
    outputs = [t for t in returned if t.requires_grad]
    if outputs:
        with ctx.lock:
            ctx.calls[call_id] = (received, outputs)
    return _replace(value, lambda t: t.detach()), needs_grad


def _remote_backward(context_id, call_id, grads, retain_graph):
    """The callee's part of backward for one call: gradients of what it received."""
    ctx = _lookup(context_id)
    received, outputs = ctx.calls[call_id]
    return _backward_into(ctx, outputs, grads, retain_graph, received)


def _leaves(roots):
    """The leaf tensors (AccumulateGrad variables) the roots' graph reaches."""
    found, seen = [], set()
    stack = [r.grad_fn for r in roots if r.grad_fn is not None]
    found += [r for r in roots if r.grad_fn is None and r.requires_grad]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if variable is not None:
            found.append(variable)
            continue
        stack.extend(edge[0] for edge in node.next_functions if edge is not None)
    return found


def _backward_into(ctx, roots, root_grads, retain_graph, wanted):
    """Run backward from ``roots``; add local leaf gradients to the context and return
    the gradients of ``wanted`` (zeros where unused)."""
    import ember
    anchors = {id(a) for a in ctx.anchors}
    wanted_ids = {id(t) for t in wanted}
    leaves, leaf_ids = [], set()
    for leaf in _leaves(roots):
        if id(leaf) not in leaf_ids and id(leaf) not in wanted_ids:
            leaf_ids.add(id(leaf))
            leaves.append(leaf)
    inputs = list(wanted) + leaves
    if not inputs:
        return []
    ctx.retain_graph = retain_graph
    grads = ember.autograd.grad(roots, inputs, root_grads, retain_graph=retain_graph,
                                allow_unused=True)
    with ctx.lock:
        for leaf, grad in zip(leaves, grads[len(wanted):]):
            if grad is None or id(leaf) in anchors:
                continue
            held = ctx.grads.get(leaf)
            ctx.grads[leaf] = grad if held is None else held + grad
    return [ember.zeros_like(t) if g is None else g for t, g in zip(wanted, grads)]


# -- the public calls ----------------------------------------------------------------------

def backward(context_id: int, roots, retain_graph: bool = False) -> None:
    """Backward from the scalar ``roots`` through this worker's graph and every RPC call
    recorded in the context; gradients accumulate in the contexts of the workers that own
    the leaves (read them with ``get_gradients``)."""
    import ember
    ctx = _lookup(context_id)
    roots = list(roots)
    for root in roots:
        if not root.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not "
                               "have a grad_fn")
    _backward_into(ctx, roots, [ember.ones_like(r) for r in roots], retain_graph, [])


def get_gradients(context_id: int) -> dict:
    """This worker's leaf gradients in the context: a dict from tensor to gradient."""
    ctx = _lookup(context_id)
    with ctx.lock:
        return dict(ctx.grads)
