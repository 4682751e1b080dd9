"""``Node``: one operation of an FX ``Graph``, as ``torch.fx.Node``.

A node's ``args``/``kwargs`` may hold other nodes (nested in tuples, lists, dicts and
slices); setting them keeps every node's ``users`` in step, so passes can rewrite a graph
by assigning arguments and asking a node who reads it. Nodes form a doubly linked list
owned by their graph (a sentinel ``root`` node closes the ring), which makes insertion
and removal O(1) while ``graph.nodes`` iterates in program order.
"""

from __future__ import annotations

import operator
import types
from collections.abc import Callable
from typing import Any

__all__ = ["Argument", "Node", "Target", "has_side_effect", "map_aggregate", "map_arg"]

Argument = Any
Target = Any

_OPS = ("placeholder", "call_method", "call_module", "call_function", "get_attr", "output",
        "root")


def map_aggregate(a, fn: Callable):
    """Apply ``fn`` to every leaf of a nested tuple/list/dict/slice, keeping the structure
    (and a namedtuple's type)."""
    if isinstance(a, tuple):
        mapped = tuple(map_aggregate(elem, fn) for elem in a)
        return mapped if not hasattr(a, "_fields") else type(a)(*mapped)
    if isinstance(a, list):
        return [map_aggregate(elem, fn) for elem in a]
    if isinstance(a, dict):
        return {key: map_aggregate(value, fn) for key, value in a.items()}
    if isinstance(a, slice):
        return slice(map_aggregate(a.start, fn), map_aggregate(a.stop, fn),
                     map_aggregate(a.step, fn))
    return fn(a)


def map_arg(a, fn: Callable):
    """Apply ``fn`` to every Node inside a (nested) argument."""
    if not callable(fn):
        raise AssertionError("torch.fx.map_arg(a, fn): fn must be a callable")  # noqa: TRY004
    return map_aggregate(a, lambda x: fn(x) if isinstance(x, Node) else x)


def _type_repr(obj) -> str:
    """A type as torch.fx prints it; ember's public classes under their torch names."""
    if isinstance(obj, type):
        if obj.__module__ == "builtins":
            return obj.__qualname__
        if obj.__module__.startswith("ember."):
            import ember

            if getattr(ember, obj.__name__, None) is obj:
                return f"torch.{obj.__name__}"
            if getattr(ember.nn, obj.__name__, None) is obj:
                return f"torch.nn.{obj.__name__}"
        return f"{obj.__module__}.{obj.__qualname__}"
    if obj is ...:
        return "..."
    if isinstance(obj, types.FunctionType):
        return obj.__name__
    return repr(obj)


def _format_arg(arg) -> str:
    if isinstance(arg, list):
        return "[" + ", ".join(_format_arg(a) for a in arg) + "]"
    if isinstance(arg, tuple):
        comma = "," if len(arg) == 1 else ""
        return "(" + ", ".join(_format_arg(a) for a in arg) + comma + ")"
    if isinstance(arg, dict):
        return "{" + ", ".join(f"{k}: {_format_arg(v)}" for k, v in arg.items()) + "}"
    if isinstance(arg, Node):
        return "%" + str(arg)
    return str(arg)


def _pretty_print_target(target) -> str:
    """How ``graph`` printing names a target: ``operator.add``, ``builtins.getattr``,
    ``torch.relu``."""
    if isinstance(target, str):
        return target
    module = getattr(target, "__module__", None)
    name = getattr(target, "__name__", None)
    if module == "builtins" and name is not None:
        return f"builtins.{name}"
    if module == "_operator" and name is not None:
        return f"operator.{name}"
    from .graph import _get_qualified_name

    return _get_qualified_name(target)


class Node:
    """One operation in a Graph. ``op`` is one of ``placeholder``, ``get_attr``,
    ``call_function``, ``call_module``, ``call_method``, ``output``; ``target`` is what is
    called (a callable, a method name, a module path, an attribute path or an argument
    name); ``args``/``kwargs`` are its inputs."""

    def __init__(self, graph, name: str, op: str, target, args: tuple, kwargs: dict,
                 return_type=None) -> None:
        if op not in _OPS:
            raise AssertionError(f"Unknown op {op}")
        if op == "call_function" and not callable(target):
            raise ValueError(f"Node [graph = {graph}, name = '{name}'] target {target} has "
                             f"type {type(target)} but a Callable is expected")
        if op in ("call_method", "call_module", "get_attr", "placeholder") \
                and not isinstance(target, str):
            raise ValueError(f"Node [graph = {graph}, name = '{name}'] target {target} has "
                             f"type {type(target)} but a str is expected")
        self.graph = graph
        self.name = name
        self.op = op
        self.target = target
        self._input_nodes: dict[Node, None] = {}
        self.users: dict[Node, None] = {}
        self.type = return_type
        self._prev = self
        self._next = self
        self._erased = False
        self._qualname_hint: tuple | None = None
        self.meta: dict[str, Any] = {}
        self._args: tuple = ()
        self._kwargs: dict = {}
        self._update_args_kwargs(args, kwargs)

    # -- linked list ----------------------------------------------------------------------

    @property
    def next(self) -> Node:
        return self._next

    @property
    def prev(self) -> Node:
        return self._prev

    def _remove_from_list(self) -> None:
        prev, nxt = self._prev, self._next
        prev._next, nxt._prev = nxt, prev

    def prepend(self, x: Node) -> None:
        """Move ``x`` to just before this node (in the same graph)."""
        if self.graph is not x.graph:
            raise AssertionError("Attempting to move a Node into a different Graph")
        if self is x:
            return
        x._remove_from_list()
        prev = self._prev
        prev._next, x._prev = x, prev
        x._next, self._prev = self, x

    def append(self, x: Node) -> None:
        """Move ``x`` to just after this node."""
        self._next.prepend(x)

    def __gt__(self, other: Node) -> bool:
        return self._position() > other._position()

    def __lt__(self, other: Node) -> bool:
        return self._position() < other._position()

    def _position(self) -> int:
        for index, node in enumerate(self.graph.nodes):
            if node is self:
                return index
        return -1

    # -- arguments ------------------------------------------------------------------------

    @property
    def args(self) -> tuple:
        return self._args

    @args.setter
    def args(self, value) -> None:
        self._update_args_kwargs(value, self._kwargs)

    @property
    def kwargs(self) -> dict:
        return self._kwargs

    @kwargs.setter
    def kwargs(self, value) -> None:
        self._update_args_kwargs(self._args, value)

    def _update_args_kwargs(self, new_args, new_kwargs) -> None:
        """Replace args/kwargs and re-link the users of old and new input nodes."""
        for old_input in self._input_nodes:
            old_input.users.pop(self, None)
        self._input_nodes = {}
        self._args = map_arg(tuple(new_args), self._link_input)
        self._kwargs = map_arg(dict(new_kwargs), self._link_input)

    def _link_input(self, node: Node) -> Node:
        self._input_nodes.setdefault(node)
        node.users.setdefault(self)
        return node

    @property
    def all_input_nodes(self) -> list[Node]:
        """Every distinct Node in args and kwargs, in order of appearance."""
        return list(self._input_nodes)

    def update_arg(self, idx: int, arg) -> None:
        args = list(self.args)
        args[idx] = arg
        self.args = tuple(args)

    def insert_arg(self, idx: int, arg) -> None:
        args = list(self.args)
        args.insert(idx, arg)
        self.args = tuple(args)

    def update_kwarg(self, key: str, arg) -> None:
        self.kwargs = {**self.kwargs, key: arg}

    def _hinted_qualname(self) -> str | None:
        """The public name the tracer saw this target called under (``F.relu`` and
        ``torch.relu`` are one ember function), while the target is still that function."""
        hint = self._qualname_hint
        if hint is not None and hint[0] is self.target:
            return hint[1]
        return None

    @property
    def stack_trace(self) -> str | None:
        return self.meta.get("stack_trace", None)

    @stack_trace.setter
    def stack_trace(self, trace: str | None) -> None:
        self.meta["stack_trace"] = trace

    def replace_all_uses_with(self, replace_with: Node, delete_user_cb=None, *,
                              propagate_meta: bool = False) -> list[Node]:
        """Point every user of this node at ``replace_with`` (those ``delete_user_cb``
        accepts) and return the users changed."""
        if propagate_meta:
            if len(replace_with.meta) != 0:
                raise AssertionError(
                    "Called node.replace_all_uses_with(replace_with, propagate_meta=True), "
                    "but replace_with already has .meta keys")
            replace_with.meta.update(self.meta)
        changed = []
        for user in list(self.users):
            if delete_user_cb is not None and not delete_user_cb(user):
                continue
            user.replace_input_with(self, replace_with)
            changed.append(user)
        return changed

    def replace_input_with(self, old_input: Node, new_input: Node) -> None:
        """Replace every occurrence of ``old_input`` in this node's args/kwargs."""
        def swap(node):
            return new_input if node is old_input else node

        self._update_args_kwargs(map_arg(self._args, swap), map_arg(self._kwargs, swap))

    def is_impure(self, impure_random: bool = True) -> bool:
        """Whether dead-code elimination must keep this node: placeholders, the output,
        functions registered with ``has_side_effect`` (asserts, ``operator.setitem``) and
        modules flagged ``_is_impure``. As in PyTorch, method calls (even in-place ones)
        count as pure."""
        if self.op in ("placeholder", "output"):
            return True
        if self.op == "call_module":
            root = self.graph.owning_module
            if root is None:
                raise AssertionError("self.graph.owning_module not set for purity check")
            return bool(getattr(root.get_submodule(self.target), "_is_impure", False))
        if self.op == "call_function":
            return self.target in _side_effectful_functions
        return False

    # -- printing -------------------------------------------------------------------------

    def __repr__(self) -> str:
        return self.name

    def format_node(self, placeholder_names: list | None = None,
                    maybe_return_typename: list | None = None) -> str | None:
        """The node as ``graph`` printing shows it:
        ``%add : [num_users=1] = call_function[target=operator.add](args = (%x, 1), ...)``."""
        typename = f"{_type_repr(self.type)} " if self.type is not None else ""
        users = f"[num_users={len(self.users)}]"
        if self.op == "placeholder":
            arg_str = self.target
            if self.type:
                arg_str += arg_str + f": {_type_repr(self.type)}"
            if placeholder_names:
                placeholder_names.append(arg_str)
                return None
            default = f"(default={self.args[0]})" if self.args else ""
            return f"%{self.name} : {typename}{users} = {self.op}[target={self.target}]{default}"
        if self.op == "get_attr":
            return (f"%{self.name} : {typename}{users} = "
                    f"{self.op}[target={_pretty_print_target(self.target)}]")
        if self.op == "output":
            if self.type and maybe_return_typename:
                maybe_return_typename[0] = f" -> {_type_repr(self.type)}"
            return f"return {self.args[0]}"
        target = self._hinted_qualname() or _pretty_print_target(self.target)
        return (f"%{self.name} : {typename}{users} = {self.op}[target={target}]("
                f"args = {_format_arg(self.args)}, kwargs = {_format_arg(self.kwargs)})")


_side_effectful_functions: set = {operator.setitem}


def has_side_effect(fn: Callable) -> Callable:
    """Register ``fn`` so ``Graph.eliminate_dead_code`` keeps calls to it."""
    _side_effectful_functions.add(fn)
    return fn
