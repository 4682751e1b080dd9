"""``torch.export.unflatten``: an exported program as the original module tree again.

Each submodule call recorded in the graph (``nn_module_stack``) becomes an
``InterpreterModule`` (a ``GraphModule``) holding that submodule's parameters and the part
of the graph its call computed; its parent's graph calls it with ``call_module``. The
result runs like ``ep.module()`` but keeps ``unflat.blocks[0].fc`` addressable, as
PyTorch's ``UnflattenedModule`` does.

A submodule called more than once (or whose nodes interleave with others') stays inline
in its parent's graph; its parameters are still reachable at their paths.
"""

from __future__ import annotations

import operator

from ember.fx import Graph, GraphModule
from ember.fx.node import map_arg
from ember.nn import Module

from .exported_program import ExportedProgram

__all__ = ["InterpreterModule", "UnflattenedModule", "unflatten"]


class InterpreterModule(GraphModule):
    """One submodule's share of an exported graph."""


class UnflattenedModule(Module):
    """The root of an unflattened program: takes the original (args, kwargs), checks them
    as ``ep.module()`` does, and runs the root graph."""

    def __init__(self, program: ExportedProgram, root: GraphModule) -> None:
        super().__init__()
        self._program = program
        for name, child in list(root.named_children()):
            self.add_module(name, child)
        for name, value in list(root.named_parameters(recurse=False)):
            self.register_parameter(name, value)
        for name, value in list(root.named_buffers(recurse=False)):
            self.register_buffer(name, value)
        self.__dict__["_root_graph"] = root  # not a submodule: its children are ours

    @property
    def graph(self) -> Graph:
        return self._root_graph.graph

    def forward(self, *args, **kwargs):
        from ember.utils._pytree import tree_unflatten

        flat = self._program._flatten_user_inputs(args, kwargs)
        outputs = self._root_graph(*flat)
        return tree_unflatten(list(outputs), self._program._out_spec)


def unflatten(module: ExportedProgram, flat_args_adapter=None) -> UnflattenedModule:
    """The module tree of ``module`` (an ExportedProgram), each called submodule an
    ``InterpreterModule`` running its part of the graph."""
    flat = module.module()
    root = _build_root(flat)
    return UnflattenedModule(module, root)


def _chain(node) -> list[str]:
    stack = node.meta.get("nn_module_stack") or {}
    return [path for path, _ in stack.values()]


def _child_of(node, path: str, depth: int) -> str | None:
    """The direct child of ``path`` (at ``depth`` in the chain) that ``node`` runs in."""
    chain = _chain(node)
    if node.op != "call_function" or len(chain) <= depth + 1 or chain[depth] != path:
        return None
    return chain[depth + 1]


def _runs(nodes, path: str, depth: int) -> dict[str, list]:
    """child path -> its nodes, for children whose nodes form one contiguous run."""
    runs: dict[str, list] = {}
    order: list = []
    for node in nodes:
        child = _child_of(node, path, depth)
        if child is None:
            order.append(None)
            continue
        if order and order[-1] == child:
            runs[child].append(node)
        elif child in runs:
            runs[child] = None  # called twice or interleaved: keep inline
        else:
            runs[child] = [node]
        order.append(child)
    return {child: group for child, group in runs.items() if group}


def _build_root(flat: GraphModule) -> GraphModule:
    """The root's graph: its own nodes, and a ``call_module`` per child call."""
    graph = Graph()
    holder = Module()
    env: dict = {}
    body = list(flat.graph.nodes)
    runs = _runs(body, "", 0)
    done: set = set()
    for node in body:
        if node in done:
            continue
        child = _child_of(node, "", 0)
        if child is not None and child in runs:
            done.update(runs[child])
            _call_child(graph, holder, env, flat, child, "", runs[child], 0)
            continue
        lookup = _lookup(graph, holder, env, flat, "")
        if node.op == "placeholder":
            env[node] = graph.placeholder(node.name)
        elif node.op == "get_attr":
            continue  # made where first used, in the module that owns it
        elif node.op == "output":
            graph.output(map_arg(node.args[0], lookup))
        else:
            env[node] = graph.node_copy(node, lookup)
    return GraphModule(holder, graph, "GraphModule")


def _lookup(graph: Graph, holder: Module, env: dict, flat: GraphModule, prefix: str):
    """Node -> its value in ``graph``; a parameter read becomes a local ``get_attr``
    the first time it is used."""
    def value(node):
        if node not in env and node.op == "get_attr":
            env[node] = _local_attr(graph, holder, flat, node.target, prefix)
        return env[node]
    return value


def _local_attr(graph: Graph, holder: Module, flat: GraphModule, target: str,
                prefix: str):
    """A ``get_attr`` for ``target`` inside the module at ``prefix``: the tensor is
    registered on ``holder`` under its path relative to that module."""
    relative = target[len(prefix):]
    value = flat.get_parameter(target) if _is_param(flat, target) else _get(flat, target)
    owner = holder
    *parts, field = relative.split(".")
    for part in parts:
        if not hasattr(owner, part):
            owner.add_module(part, Module())
        owner = getattr(owner, part)
    if _is_param(flat, target):
        owner.register_parameter(field, value)
    else:
        owner.register_buffer(field, value)
    return graph.get_attr(relative)


def _is_param(flat: GraphModule, target: str) -> bool:
    try:
        flat.get_parameter(target)
    except AttributeError:
        return False
    return True


def _get(module: Module, target: str):
    for atom in target.split("."):
        module = getattr(module, atom)
    return module


def _call_child(graph, holder, env, flat, child, prefix, group, depth):
    """Build ``child``'s InterpreterModule from ``group`` and call it from ``graph``."""
    members = set(group)
    child_prefix = f"{child}."
    inputs: list = []
    for node in group:
        for used in node.all_input_nodes:
            local_attr = used.op == "get_attr" and used.target.startswith(child_prefix)
            if used not in members and used not in inputs and not local_attr:
                inputs.append(used)
    outputs = [n for n in group if any(u not in members for u in n.users)]
    module = _build_child(child, group, flat, depth + 1, inputs, outputs)
    relative = child[len(prefix):]
    *parts, field = relative.split(".")
    owner = holder
    for part in parts:
        if not hasattr(owner, part):
            owner.add_module(part, Module())
        owner = getattr(owner, part)
    owner.add_module(field, module)
    lookup = _lookup(graph, holder, env, flat, prefix)
    call = graph.call_module(relative, tuple(lookup(n) for n in inputs))
    if len(outputs) == 1:
        env[outputs[0]] = call
    else:
        for index, node in enumerate(outputs):
            env[node] = graph.call_function(operator.getitem, (call, index))


def _build_child(path, nodes, flat, depth, inputs, outputs) -> GraphModule:
    graph = Graph()
    holder = Module()
    env = {value: graph.placeholder(value.name) for value in inputs}
    prefix = f"{path}."
    runs = _runs(nodes, path, depth)
    done: set = set()
    for node in nodes:
        if node in done:
            continue
        child = _child_of(node, path, depth)
        if child is not None and child in runs:
            group = runs[child]
            done.update(group)
            _call_child(graph, holder, env, flat, child, prefix, group, depth)
            continue
        env[node] = graph.node_copy(node, _lookup(graph, holder, env, flat, prefix))
    results = [env[n] for n in outputs]
    graph.output(results[0] if len(results) == 1 else tuple(results))
    return InterpreterModule(holder, graph, "InterpreterModule")
