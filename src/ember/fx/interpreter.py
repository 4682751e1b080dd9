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


class Interpreter:
    """Execute ``module``'s graph on concrete inputs, one overridable method per opcode.

    Example::

        class Counter(fx.Interpreter):
            def call_function(self, target, args, kwargs):
                self.calls += 1
                return super().call_function(target, args, kwargs)
    """

    def __init__(self, module, garbage_collect_values: bool = True,
                 graph: Graph | None = None) -> None:
        self.module = module
        self.submodules = dict(module.named_modules())
        self.graph = graph if graph is not None else module.graph
        self.env: dict[Node, Any] = {}
        self.name = "Interpreter"
        self.garbage_collect_values = garbage_collect_values
        self.extra_traceback = True
        self.current_node: Node | None = None
        if garbage_collect_values:
            last_use: dict[Node, Node] = {}
            self.user_to_last_uses: dict[Node, list[Node]] = {}
            for node in reversed(self.graph.nodes):
                for used in node.all_input_nodes:
                    if used not in last_use:
                        last_use[used] = node
                        self.user_to_last_uses.setdefault(node, []).append(used)

    def run(self, *args, initial_env: dict | None = None, enable_io_processing: bool = True):
        """Run the graph on ``args`` and return the output node's value."""
        self.env = initial_env if initial_env is not None else {}
        self.args_iter = iter(args)
        for node in self.graph.nodes:
            if node in self.env:
                continue
            try:
                self.env[node] = self.run_node(node)
            except Exception as e:
                if self.extra_traceback:
                    msg = f"While executing {node.format_node()}"
                    msg = f"{e.args[0]}\n\n{msg}" if e.args else str(msg)
                    msg += f"\nOriginal traceback:\n{node.stack_trace}"
                    msg += ("\nUse tlparse to see full graph. (https://github.com/pytorch/"
                            "tlparse?tab=readme-ov-file#tlparse-parse-structured-pt2-logs)")
                    e.args = (msg,) + e.args[1:]
                    if isinstance(e, KeyError):
                        raise RuntimeError(*e.args) from e
                raise
            if self.garbage_collect_values:
                for to_delete in self.user_to_last_uses.get(node, []):
                    del self.env[to_delete]
            if node.op == "output":
                return self.env[node]
        return None

    def boxed_run(self, args_list: list):
        """Run with the inputs in a list that is cleared once they are bound."""
        args_iter = iter(args_list)
        env = {}
        for node in self.graph.nodes:
            if node.op == "placeholder":
                env[node] = next(args_iter)
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
            args, kwargs = self.fetch_args_kwargs_from_env(n)
            return getattr(self, n.op)(n.target, args, kwargs)

    # -- opcodes --------------------------------------------------------------------------

    def placeholder(self, target: str, args: tuple, kwargs: dict):
        if target.startswith("*"):
            return list(self.args_iter)
        try:
            return next(self.args_iter)
        except StopIteration as stop:
            if len(args) > 0:
                return args[0]
            raise RuntimeError(f"Expected positional argument for parameter {target}, but one "
                               "was not passed in!") from stop

    def get_attr(self, target: str, args: tuple, kwargs: dict):
        return self.fetch_attr(target)

    def call_function(self, target, args: tuple, kwargs: dict):
        return target(*args, **kwargs)

    def call_method(self, target: str, args: tuple, kwargs: dict):
        self_obj, *args_tail = args
        return getattr(self_obj, target)(*args_tail, **kwargs)

    def call_module(self, target: str, args: tuple, kwargs: dict):
        return self.fetch_attr(target)(*args, **kwargs)

    def output(self, target, args: tuple, kwargs: dict):
        return args[0]

    # -- helpers --------------------------------------------------------------------------

    def fetch_attr(self, target: str):
        atoms = target.split(".")
        value = self.module
        for index, atom in enumerate(atoms):
            if not hasattr(value, atom):
                raise RuntimeError(
                    f"Node referenced nonexistent target {'.'.join(atoms[:index + 1])}")
            value = getattr(value, atom)
        return value

    def fetch_args_kwargs_from_env(self, n: Node) -> tuple[tuple, dict]:
        args = self.map_nodes_to_values(n.args, n)
        kwargs = self.map_nodes_to_values(n.kwargs, n)
        return args, kwargs

    def map_nodes_to_values(self, args, n: Node):
        def load_arg(n_arg: Node):
            if n_arg not in self.env:
                raise RuntimeError(f"Node {n} referenced nonexistent value {n_arg}! Run "
                                   "Graph.lint() to diagnose such issues")
            return self.env[n_arg]

        return map_arg(args, load_arg)


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
            result = super().run(enable_io_processing=False)
        finally:
            patcher.restore()
        if result is not None:
            self.new_graph.output(map_aggregate(
                result, lambda a: a.node if isinstance(a, Proxy) else a))
        return GraphModule(self.module, self.new_graph)
