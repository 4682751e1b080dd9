"""``make_graphed_callables``: functions and modules whose forward and backward each run
as one replayed CUDA graph.

For each callable: a few warm-up runs on a side stream (so lazily built state exists
before capture), a forward graph captured from the sample arguments, then a backward
graph of ``autograd.grad`` from buffers standing for the output gradients to the inputs
and parameters that require grad. The result is an autograd ``Function``: its forward
copies new arguments into the static inputs and replays the forward graph, its backward
copies the incoming gradients into the static ones and replays the backward graph. Same
rules as PyTorch: arguments are tensors with the sample's shapes, dtypes and
requires_grad; modules have no hooks and no buffers that require grad; the outputs are
the graph's static tensors, overwritten by the next call.
"""

from __future__ import annotations

from .. import autograd
from ..autograd import Function
from ..autograd.function import once_differentiable
from ..utils._pytree import tree_flatten, tree_unflatten


def _check_callable(func, args):
    from ..nn import Module

    if isinstance(func, Module):
        if func._backward_hooks or func._forward_hooks or func._forward_pre_hooks:
            raise AssertionError(
                "Modules must not have hooks registered at the time they are passed. However, "
                "registering hooks on modules after passing them through "
                "make_graphed_callables is allowed.")
        if any(buffer.requires_grad for buffer in func.buffers()):
            raise AssertionError(
                "In any :class:`~torch.nn.Module` passed to :func:`~make_graphed_callables`, "
                "only parameters may be trainable. All buffers must have "
                "``requires_grad=False``.")
    flat = tree_flatten(args)[0]
    from .._tensor import Tensor

    if not all(isinstance(arg, Tensor) for arg in flat):
        raise TypeError("In the beta API, sample_args for each callable must contain only "
                        "Tensors. Other types are not allowed.")
    return tuple(flat)


def _gradients(outputs, surface, allow_unused, grad_outputs=None):
    """d(outputs that require grad)/d(surface entries that require grad), or None."""
    from .._ops.creation import empty_like

    differentiable = tuple(o for o in outputs if o.requires_grad)
    wrt = tuple(s for s in surface if s.requires_grad)
    if not differentiable or not wrt:
        return None
    if grad_outputs is None:
        grad_outputs = tuple(empty_like(o) for o in differentiable)
    return autograd.grad(differentiable, wrt, grad_outputs=grad_outputs, only_inputs=True,
                         allow_unused=allow_unused)


def _graphed_function(fwd_graph, bwd_graph, n_user_args, spec, surface, static_outputs,
                      static_grad_outputs, static_grad_inputs, parameters):
    class Graphed(Function):
        @staticmethod
        def forward(ctx, *inputs):
            for static, new in zip(surface[:n_user_args], inputs[:n_user_args]):
                if static.data_ptr() != new.data_ptr():
                    static.copy_(new)
            fwd_graph.replay()
            return tuple(o.detach() for o in static_outputs)

        @staticmethod
        @once_differentiable
        def backward(ctx, *grads):
            for static, grad in zip(static_grad_outputs, grads):
                if static is None:
                    continue
                if grad is None:
                    static.zero_()
                elif static.data_ptr() != grad.data_ptr():
                    static.copy_(grad)
            bwd_graph.replay()
            return tuple(g.detach() if g is not None else None for g in static_grad_inputs)

    def graphed(*user_args):
        flat = tuple(tree_flatten(user_args)[0])
        outputs = Graphed.apply(*(flat + parameters))
        return tree_unflatten(list(outputs), spec)

    return graphed


def make_graphed_callables(callables, sample_args, num_warmup_iters=3,
                           allow_unused_input=False, pool=None):
    """Graph-captured versions of ``callables`` (a function or module, or a tuple of
    them run in that order with ``sample_args`` a tuple of argument tuples).

    A module is returned with its ``forward`` replaced: calls in the training mode it was
    captured in replay the graphs, calls in the other mode run the original forward.
    """
    from ..nn import Module
    from . import Stream, StreamContext, synchronize
    from ._graphs import CUDAGraph, graph, graph_pool_handle

    just_one = not isinstance(callables, tuple)
    if just_one:
        callables, sample_args = (callables,), (sample_args,)
    flat_args = [_check_callable(func, args) for func, args in zip(callables, sample_args)]
    parameters = [tuple(func.parameters()) if isinstance(func, Module) else ()
                  for func in callables]
    surfaces = [args + params for args, params in zip(flat_args, parameters)]
    fwd_graphs = [CUDAGraph() for _ in callables]
    bwd_graphs = [CUDAGraph() for _ in callables]
    memory = graph_pool_handle() if pool is None else pool

    # warm-up on a side stream: lazily built state (workspaces, caches) exists before capture
    synchronize()
    with StreamContext(Stream()):
        for func, args, surface in zip(callables, sample_args, surfaces):
            for _ in range(num_warmup_iters):
                outputs = tree_flatten(func(*args))[0]
                _gradients(outputs, surface, allow_unused_input)
                del outputs  # the warm-up's memory goes back before capture
    synchronize()

    static_outputs, specs = [], []
    for func, args, fwd_graph in zip(callables, sample_args, fwd_graphs):
        with graph(fwd_graph, pool=memory):
            outputs = func(*args)
        flat, spec = tree_flatten(outputs)
        static_outputs.append(tuple(flat))
        specs.append(spec)

    # backward graphs in reverse order, as autograd would run them
    static_grad_outputs, static_grad_inputs = [], []
    for surface, outputs, bwd_graph in zip(reversed(surfaces), reversed(static_outputs),
                                           reversed(bwd_graphs)):
        from .._ops.creation import empty_like

        grad_buffers = tuple(empty_like(o) if o.requires_grad else None for o in outputs)
        grads = None
        if any(o.requires_grad for o in outputs) and any(s.requires_grad for s in surface):
            with graph(bwd_graph, pool=memory):
                grads = _gradients(outputs, surface, allow_unused_input,
                                   tuple(g for g in grad_buffers if g is not None))
        per_input, position = [], 0
        for entry in surface:
            if entry.requires_grad and grads is not None:
                per_input.append(grads[position])
                position += 1
            else:
                per_input.append(None)
        static_grad_outputs.append(grad_buffers)
        static_grad_inputs.append(tuple(per_input))
    static_grad_outputs.reverse()
    static_grad_inputs.reverse()

    results = []
    for i, func in enumerate(callables):
        graphed = _graphed_function(fwd_graphs[i], bwd_graphs[i], len(flat_args[i]), specs[i],
                                    surfaces[i], static_outputs[i], static_grad_outputs[i],
                                    static_grad_inputs[i], parameters[i])
        if isinstance(func, Module):
            func.forward = _mode_switch(func, func.training, graphed, func.forward)
            results.append(func)
        else:
            results.append(graphed)
    return results[0] if just_one else tuple(results)


def _mode_switch(module, captured_training, graphed, original):
    def forward(*user_args):
        if module.training == captured_training:
            return graphed(*user_args)
        return original(*user_args)

    return forward
