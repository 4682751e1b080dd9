"""``Interpreter`` runs a GraphModule node by node; ``Transformer`` rebuilds its graph.

Each opcode is a method (``call_function``, ``call_module``, ...) a subclass overrides to
observe or change execution: a profiler times ``run_node``, a shape pass records results,
a Transformer returns Proxies so the same walk emits a new graph. Values are dropped from
the environment after their last use, as in PyTorch, so a long graph does not hold every
intermediate at once.
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager
from typing import Any

from ._symbolic_trace import _TRACE_LOCK, Tracer, _patch_recorders, _Patcher
from .graph import Graph
from .graph_module import GraphModule
from .node import Node, map_aggregate, map_arg
from .proxy import Proxy

__all__ = ["Interpreter", "Transformer"]


_TLPARSE_HINT = ("\nUse tlparse to see full graph. (https://github.com/pytorch/"
                 "tlparse?tab=readme-ov-file#tlparse-parse-structured-pt2-logs)")


def _last_uses(graph: Graph) -> dict[Node, list[Node]]:
    """For each node, the inputs no later node reads: they can be freed once it has run.

    Walking the graph backwards, the first reader met is an input's last one.
    """
    freed_after: dict[Node, list[Node]] = {}
    claimed: set[Node] = set()
    for reader in reversed(graph.nodes):
        for source in reader.all_input_nodes:
            if source not in claimed:
                claimed.add(source)
                freed_after.setdefault(reader, []).append(source)
    return freed_after


def _add_node_context(err: Exception, node: Node) -> None:
    """Append which node failed, and where it was traced, to the error's message."""
    where = (f"While executing {node.format_node()}\nOriginal traceback:\n{node.stack_trace}"
             + _TLPARSE_HINT)
    first = f"{err.args[0]}\n\n{where}" if err.args else where
    err.args = (first, *err.args[1:])


class Interpreter:
    """Execute ``module``'s graph on concrete inputs, one overridable method per opcode.

    Example::

        class Counter(fx.Interpreter):
            def call_module(self, target, args, kwargs):
                self.counts[target] += 1
                return super().call_module(target, args, kwargs)
    """

    def __init__(self, module, garbage_collect_values: bool = True,
                 graph: Graph | None = None) -> None:
        self.module = module
        self.submodules = dict(module.named_modules())
        self.graph = module.graph if graph is None else graph
        self.env: dict[Node, Any] = {}
        self.name = "Interpreter"
        self.garbage_collect_values = garbage_collect_values
        self.extra_traceback = True
        self.current_node: Node | None = None
        if garbage_collect_values:
            self.user_to_last_uses = _last_uses(self.graph)

    def run(self, *args, initial_env: dict | None = None, enable_io_processing: bool = True):
        """Run the graph on ``args`` and return the output node's value.

        Nodes already in ``initial_env`` are not run again (their values are taken as given).
        """
        self.env = {} if initial_env is None else initial_env
        self.args_iter = iter(args)
        for node in self.graph.nodes:
            if node in self.env:
                continue
            try:
                value = self.run_node(node)
            except Exception as err:
                if not self.extra_traceback:
                    raise
                _add_node_context(err, node)
                if isinstance(err, KeyError):  # KeyError's str() would quote the message
                    raise RuntimeError(*err.args) from err
                raise
            self.env[node] = value
            if self.garbage_collect_values:
                for dead in self.user_to_last_uses.get(node, ()):
                    del self.env[dead]
            if node.op == "output":
                return value
        return None

    def boxed_run(self, args_list: list):
        """Run with the inputs in a list that is cleared once they are bound, so the caller's
        list no longer keeps them alive while the graph runs."""
        slots = [node for node in self.graph.nodes if node.op == "placeholder"]
        wanted, got = len(slots), len(args_list)
        if wanted != got:
            detail = "extra arguments" if got > wanted else "missing arguments"
            raise RuntimeError(f"Interpreter.boxed_run expected {wanted} arguments for "
                               f"placeholders but received {got} ({detail})")
        env = dict(zip(slots, args_list))
        args_list.clear()
        return self.run(initial_env=env)

    @contextmanager
    def _set_current_node(self, node: Node):
        previous, self.current_node = self.current_node, node
        try:
            yield
        finally:
            self.current_node = previous

    def run_node(self, n: Node):
        """Fetch ``n``'s argument values and dispatch to the method named by its op."""
        with self._set_current_node(n):
            node_args, node_kwargs = self.fetch_args_kwargs_from_env(n)
            handler = getattr(self, n.op)
            return handler(n.target, node_args, node_kwargs)

    # -- opcodes --------------------------------------------------------------------------

    def placeholder(self, target: str, args: tuple, kwargs: dict):
        """The next input; ``*rest`` takes all that remain; a missing one takes its default."""
        if target.startswith("*"):
            return list(self.args_iter)
        try:
            return next(self.args_iter)
        except StopIteration as exhausted:
            if args:
                return args[0]
            raise RuntimeError(f"Expected positional argument for parameter {target}, but "
                               "one was not passed in!") from exhausted

    def get_attr(self, target: str, args: tuple, kwargs: dict):
        return self.fetch_attr(target)

    def call_function(self, target, args: tuple, kwargs: dict):
        return target(*args, **kwargs)

    def call_method(self, target: str, args: tuple, kwargs: dict):
        receiver, *rest = args
        return getattr(receiver, target)(*rest, **kwargs)

    def call_module(self, target: str, args: tuple, kwargs: dict):
        return self.fetch_attr(target)(*args, **kwargs)

    def output(self, target, args: tuple, kwargs: dict):
        return args[0]

    # -- helpers --------------------------------------------------------------------------

    def fetch_attr(self, target: str):
        """Follow the dotted path ``target`` from the module, naming the first missing part."""
        value = self.module
        path = target.split(".")
        for depth, part in enumerate(path, 1):
            if not hasattr(value, part):
                raise RuntimeError(
                    f"Node referenced nonexistent target {'.'.join(path[:depth])}")
            value = getattr(value, part)
        return value

    def fetch_args_kwargs_from_env(self, n: Node) -> tuple[tuple, dict]:
        return (self.map_nodes_to_values(n.args, n),
                self.map_nodes_to_values(n.kwargs, n))

    def map_nodes_to_values(self, args, n: Node):
        """``args`` with every Node replaced by its value from ``env``."""
        env = self.env

        def value_of(source: Node):
            if source in env:
                return env[source]
            raise RuntimeError(f"Node {n} referenced nonexistent value {source}! Run "
                               "Graph.lint() to diagnose such issues")

        return map_arg(args, value_of)


class _TransformerTracer(Tracer):
    def __init__(self, graph: Graph) -> None:
        super().__init__()
        self.graph = graph
        self.tensor_attrs = {}

    def is_leaf_module(self, _, __) -> bool:
        return True


class Transformer(Interpreter):
    """Walk a graph with Proxies to build a new one: override an opcode method to return
    different Proxies (``torch.neg(*args)`` in place of ``torch.sigmoid``), then
    ``transform()`` gives the new GraphModule."""

    def __init__(self, module) -> None:
        super().__init__(module)
        self.new_graph = Graph()
        self.tracer = _TransformerTracer(self.new_graph)
        self.tracer.root = module

    def placeholder(self, target: str, args: tuple, kwargs: dict) -> Proxy:
        default = next(iter(args)) if args else inspect.Signature.empty
        return Proxy(self.new_graph.placeholder(target, default_value=default), self.tracer)

    def get_attr(self, target: str, args: tuple, kwargs: dict) -> Proxy:
        return self.tracer.create_proxy("get_attr", target, args, kwargs)

    def call_module(self, target: str, args: tuple, kwargs: dict):
        submodule = self.fetch_attr(target)
        return self.tracer.call_module(submodule, submodule.forward, args, kwargs)

    def call_function(self, target, args: tuple, kwargs: dict) -> Proxy:
        return self.tracer.create_proxy("call_function", target, args, kwargs)

    def run_node(self, n: Node):
        result = super().run_node(n)
        if isinstance(result, Proxy) and n.op == "call_function":
            result.node._qualname_hint = n._qualname_hint
        return result

    def transform(self) -> GraphModule:
        """Run the walk (ember functions called on Proxies record nodes meanwhile) and
        return a GraphModule over the new graph."""
        patcher = _Patcher()
        with _TRACE_LOCK:
            return self._transform_locked(patcher)

    def _transform_locked(self, patcher: _Patcher) -> GraphModule:
        try:
            _patch_recorders(patcher)
            self.tracer.submodule_paths = {id(m): name for name, m in self.module.named_modules()}
            produced = super().run(enable_io_processing=False)
        finally:
            patcher.restore()
        if produced is not None:
            self.new_graph.output(map_aggregate(
                produced, lambda a: a.node if isinstance(a, Proxy) else a))
        return GraphModule(self.module, self.new_graph)
