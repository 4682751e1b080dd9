"""``ember.autograd.graph``: inspecting and hooking the autograd graph, as
``torch.autograd.graph``.

- ``saved_tensors_hooks(pack_hook, unpack_hook)``: every tensor an op saves for backward
  goes through ``pack_hook`` when saved and ``unpack_hook`` when backward reads it
  (offloading, compression, recomputation). The hooks stack lives in ``_saved.py``; with
  no hooks set, saving pays one truth test of that stack.
- ``register_multi_grad_hook``: one callback for the gradients of several tensors, per
  backward pass (the engine publishes which nodes the running pass will execute).
- ``Node`` / ``GradientEdge`` / ``get_gradient_edge``: names for graph nodes and edges.
- ``allow_mutation_on_saved_tensors``: in-place writes to saved tensors stop being errors.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, NamedTuple

from .._tensor import Tensor
from ..utils.hooks import RemovableHandle
from . import _saved
from ._engine_flags import (  # noqa: F401 - torch.autograd.graph's names
    region_activation_memory_budget,
    set_override_stale_capture_stream,
    set_warn_on_accumulate_grad_stream_mismatch,
)
from . import engine as _engine
from .function import AccumulateGrad, Function, accumulator_of

__all__ = [
    "GradientEdge", "Node", "allow_mutation_on_saved_tensors", "disable_saved_tensors_hooks",
    "get_gradient_edge", "increment_version", "region_activation_memory_budget",
    "register_multi_grad_hook", "save_on_cpu", "saved_tensors_hooks",
    "set_override_stale_capture_stream", "set_warn_on_accumulate_grad_stream_mismatch",
]


class _NodeMeta(abc.ABCMeta):
    """ember's node is the ctx, an instance of the op's Function class, so ``isinstance``
    must accept every Function instance while ``issubclass`` (as PyTorch's) accepts only
    the built-in node types: a user's ``Function`` subclass is not a Node there."""

    def __instancecheck__(cls, instance):
        if cls is Node and isinstance(instance, (Function, AccumulateGrad)):
            return True
        return super().__instancecheck__(instance)


class Node(metaclass=_NodeMeta):
    """The type of every graph node: ``isinstance(t.grad_fn, Node)`` holds for the nodes
    of built-in ops, user ``Function`` nodes and leaves' ``AccumulateGrad``."""

    @abc.abstractmethod
    def name(self) -> str:
        """The node's name, e.g. ``MulBackward0``."""
        raise NotImplementedError

    @property
    @abc.abstractmethod
    def next_functions(self) -> tuple[tuple[Node | None, int], ...]:
        raise NotImplementedError

    @property
    @abc.abstractmethod
    def metadata(self) -> dict:
        raise NotImplementedError

    @abc.abstractmethod
    def register_hook(self, fn: Callable[..., Any]) -> RemovableHandle:
        """Run ``fn(grad_inputs, grad_outputs)`` after this node's backward."""
        raise NotImplementedError

    @abc.abstractmethod
    def register_prehook(self, fn: Callable[..., Any]) -> RemovableHandle:
        """Run ``fn(grad_outputs)`` before this node's backward."""
        raise NotImplementedError

    @classmethod
    def __subclasshook__(cls, subclass: type) -> bool:
        # Built-in ops' node classes (named as their nodes, e.g. MulBackward0) and
        # AccumulateGrad are Node subclasses; user Functions are not (as in PyTorch).
        if cls is Node and isinstance(subclass, type) and (
                issubclass(subclass, AccumulateGrad)
                or (issubclass(subclass, Function) and subclass._array_io)):
            return True
        return NotImplemented


class GradientEdge(NamedTuple):
    """Object representing a given gradient edge within the autograd graph.

    To get the gradient edge where a given Tensor gradient will be computed,
    you can do ``edge = autograd.graph.get_gradient_edge(tensor)``.
    """

    node: Node
    output_nr: int
    # PyTorch keeps a token to hold the C++ graph alive; ember's nodes are Python objects
    # the edge already holds, so it stays None.
    ownership_token: Node | None = None


def _get_grad_fn_or_grad_acc(tensor: Tensor | GradientEdge) -> Node:
    if isinstance(tensor, GradientEdge):
        return tensor.node
    if tensor.requires_grad and tensor.grad_fn is None:
        return accumulator_of(tensor)
    node = tensor.grad_fn
    if node is None:
        raise AssertionError("Expected gradient function to be set")
    return node


def get_gradient_edge(tensor: Tensor) -> GradientEdge:
    """Get the gradient edge for computing the gradient of the given Tensor.

    ``autograd.grad(loss, get_gradient_edge(x))`` equals ``autograd.grad(loss, x)``; the
    edge also names a non-leaf's gradient after the tensor object itself is gone.
    """
    if not tensor.requires_grad:
        raise RuntimeError(
            "It is not possible to get the gradient edge for a Tensor "
            "that does not require gradients",
        )
    return GradientEdge(_get_grad_fn_or_grad_acc(tensor), tensor._output_nr)


def increment_version(tensor: Tensor | Iterable[Tensor]) -> None:
    """Mark ``tensor`` (or each tensor of an iterable) as modified in place, for writes
    autograd cannot see (a custom kernel writing into its memory): backward then raises
    the modified-by-an-inplace-operation error for graphs that saved it."""
    tensors = (tensor,) if isinstance(tensor, Tensor) else tensor
    for item in tensors:
        item._vc[0] += 1


class saved_tensors_hooks:
    """Context-manager that sets a pair of pack / unpack hooks for saved tensors.

    ``pack_hook(tensor) -> Any`` runs every time an operation saves a tensor for backward
    (built-in ops and ``ctx.save_for_backward`` alike); its result is stored in the graph
    instead of the tensor. ``unpack_hook(packed) -> Tensor`` runs when backward (or
    ``grad_fn._saved_<name>``) reads it and must return a tensor with the original's
    content. Nested contexts: only the innermost pair applies.

    Example::

        >>> def pack_hook(x):
        ...     print("Packing", x)
        ...     return x.detach()
        >>> def unpack_hook(x):
        ...     print("Unpacking", x)
        ...     return x
        >>> a = torch.ones(5, requires_grad=True)
        >>> b = torch.ones(5, requires_grad=True) * 2
        >>> with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):
        ...     y = a * b
        Packing tensor([1., 1., 1., 1., 1.], requires_grad=True)
        Packing tensor([2., 2., 2., 2., 2.], grad_fn=<MulBackward0>)
        >>> y.sum().backward()
        Unpacking tensor([1., 1., 1., 1., 1.], requires_grad=True)
        Unpacking tensor([2., 2., 2., 2., 2.], grad_fn=<MulBackward0>)
    """

    def __init__(self, pack_hook: Callable[[Tensor], Any],
                 unpack_hook: Callable[[Any], Tensor]) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> None:
        message = _saved._hooks_disabled[0]
        if message is not None:
            raise RuntimeError(message)
        _saved._default_hooks.append((self.pack_hook, self.unpack_hook))

    def __exit__(self, *args: object) -> None:
        _saved._default_hooks.pop()


class save_on_cpu(saved_tensors_hooks):
    """Context manager under which tensors saved by the forward pass are stored on the
    CPU, then copied back to their device for backward (trading transfer time for
    accelerator memory). On a CPU graph nothing is copied.

    Args:
        pin_memory (bool): save into pinned host memory, and copy asynchronously.
        device_type (str): the accelerator module whose availability decides pinning.
    """

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        import ember

        device_module = getattr(ember, device_type, ember.cuda)

        def pack_to_cpu(tensor):
            if not pin_memory:
                return (tensor.device, tensor.cpu())
            is_pinnable = device_module.is_available() and not tensor.is_sparse
            packed = ember.empty(tensor.size(), dtype=tensor.dtype, pin_memory=is_pinnable)
            packed.copy_(tensor, non_blocking=is_pinnable)
            return (tensor.device, packed)

        def unpack_from_cpu(packed):
            device, tensor = packed
            return tensor.to(device, non_blocking=pin_memory)

        super().__init__(pack_to_cpu, unpack_from_cpu)


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message: str):
    """Context-manager under which setting saved-tensor hooks raises
    ``RuntimeError(error_message)``, for features that cannot work with them. Entering it
    while hooks are set raises the same error."""
    previous = _saved._hooks_disabled[0]
    try:
        if _saved._default_hooks:
            raise RuntimeError(error_message)
        _saved._hooks_disabled[0] = error_message
        yield
    finally:
        _saved._hooks_disabled[0] = previous


# -- multi-grad hooks -----------------------------------------------------------------


def _current_graph_task_id() -> int:
    """An id of the running backward pass, -1 outside backward."""
    tasks = _engine._graph_tasks
    return tasks[-1][0] if tasks else -1


def _will_engine_execute_node(node) -> bool:
    """Whether the running backward pass will execute ``node``: it is in the graph and,
    when ``inputs`` narrowed the pass, leads to one of them."""
    tasks = _engine._graph_tasks
    if not tasks:
        raise RuntimeError(
            "_will_engine_execute_node should only be called during the backward pass"
        )
    _, dependencies, needed, roots, accumulate = tasks[-1]
    in_graph = node in dependencies or any(node is root for root, _ in roots)
    if not in_graph or (needed is not None and node not in needed):
        return False
    if not accumulate and type(node) is AccumulateGrad:
        # autograd.grad captures a leaf's gradient instead of running its node
        raise RuntimeError(
            "A leaf node was passed to _will_engine_execute_node but we are currently "
            "running autograd.grad(). This is currently not supported."
        )
    return True


class _MultiHandle(RemovableHandle):
    """Removes every per-tensor hook of one register_multi_grad_hook call."""

    handles: tuple[RemovableHandle, ...]

    def __init__(self, handles: tuple[RemovableHandle, ...]) -> None:
        self.handles = handles

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()

    def __getstate__(self) -> tuple[RemovableHandle, ...]:
        return self.handles

    def __setstate__(self, state: tuple[RemovableHandle, ...]) -> None:
        self.handles = state


def register_multi_grad_hook(
    tensors: Sequence[Tensor],
    fn: Callable[[Sequence[Tensor | None]], None] | Callable[[Tensor], None],
    *,
    mode: Literal["all", "any"] = "all",
) -> RemovableHandle:
    """Register a multi-grad backward hook.

    ``mode="all"``: ``fn(grads)`` runs once per backward pass, after the gradient of
    every tensor of ``tensors`` that this pass computes is known; ``grads`` holds ``None``
    for tensors outside the pass (not in the graph, or not leading to ``inputs``).
    ``mode="any"``: ``fn(grad)`` runs once per pass, with the first of those gradients.

    Example::

        >>> a = torch.rand(2, 3, requires_grad=True)
        >>> b = torch.rand(2, 3, requires_grad=True)
        >>> c = a * b
        >>> d = a * b
        >>> def fn(grads):
        ...     print([g is not None for g in grads])
        >>> torch.autograd.graph.register_multi_grad_hook((a, b, c, d), fn)
        >>> c.sum().backward(retain_graph=True)
        [True, True, True, False]
        >>> c.sum().backward(inputs=(a,), retain_graph=True)
        [True, False, True, False]
    """
    supported_modes = ("all", "any")
    if mode not in supported_modes:
        raise ValueError(f"Expects mode to be one of {supported_modes} but got {mode}")

    if mode == "all":
        grad_fns = [_get_grad_fn_or_grad_acc(t) for t in tensors]
        count = len(tensors)
        seen: dict[int, int] = {}  # per backward pass: gradients received so far
        expected: dict[int, int] = {}  # per backward pass: gradients it will compute
        buffers: dict[int, list] = {}

        def make_hook(index):
            def hook(grad):
                task = _current_graph_task_id()
                if task == -1:
                    raise AssertionError("expected this hook to be called inside a backward call")
                if task not in seen:
                    seen[task] = 0
                    buffers[task] = [None] * count
                    expected[task] = sum(map(_will_engine_execute_node, grad_fns))
                buffers[task][index] = grad
                seen[task] += 1
                if seen[task] == expected[task]:
                    grads = buffers.pop(task)
                    del seen[task], expected[task]
                    fn(grads)

            return hook

        handles = tuple(t.register_hook(make_hook(i)) for i, t in enumerate(tensors))
    else:
        ran: dict[int, bool] = defaultdict(bool)

        @functools.wraps(fn)
        def wrapped(grad):
            task = _current_graph_task_id()
            if task == -1:
                raise AssertionError("expected this hook to be called inside a backward call")
            if ran[task]:
                return
            ran[task] = True
            fn(grad)

        handles = tuple(t.register_hook(wrapped) for t in tensors if t.requires_grad)
    return _MultiHandle(handles)


# -- allow_mutation_on_saved_tensors ---------------------------------------------------

_allow_mutation_enabled = [False]
_OUTSIDE_CONTEXT = (
    "Trying to backward outside of the 'allow_mutation_on_saved_tensors' context"
    "in which the graph was originally recorded."
)


class _Handle:
    """What a tensor saved under allow_mutation_on_saved_tensors is packed into."""


class _AllowMutationOnSavedContext:
    """The state of one allow_mutation_on_saved_tensors block: the copies saved tensors
    were packed into (cleared when the block ends)."""

    def __init__(self) -> None:
        self.original: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def clear(self) -> None:
        self.original.clear()


@contextlib.contextmanager
def allow_mutation_on_saved_tensors():
    """Context manager under which mutating tensors saved for backward is allowed: backward
    uses the values they had when saved. Run forward and backward inside the same block.

    PyTorch clones a saved tensor lazily, when an in-place op first writes it (a dispatch
    mode sees every write); ember's in-place ops bump a version counter no hook can
    intercept, so each saved tensor is copied when it is saved. Values and errors are
    PyTorch's; the memory cost is one copy per saved tensor.

    Example::

        >>> with torch.autograd.graph.allow_mutation_on_saved_tensors():
        ...     a = torch.ones(2, 3, requires_grad=True)
        ...     b = a.clone()
        ...     out = (b**2).sum()
        ...     b.sin_()
        ...     out.sum().backward()
    """
    state = _AllowMutationOnSavedContext()

    def pack_hook(tensor):
        handle = _Handle()  # the graph holds the handle; the copy lives as long as it does
        state.original[handle] = tensor.detach().clone()
        return handle

    def unpack_hook(handle):
        if not _allow_mutation_enabled[0] or handle not in state.original:
            raise AssertionError(_OUTSIDE_CONTEXT)
        return state.original[handle]

    with saved_tensors_hooks(pack_hook, unpack_hook):
        try:
            if _allow_mutation_enabled[0]:
                raise RuntimeError("allow_mutation_on_saved_tensors contexts cannot be nested")
            _allow_mutation_enabled[0] = True
            yield state
        finally:
            state.clear()
            _allow_mutation_enabled[0] = False
