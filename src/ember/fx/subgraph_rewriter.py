"""``replace_pattern``: find every occurrence of a pattern graph in a GraphModule and
substitute a replacement graph, as ``torch.fx.subgraph_rewriter.replace_pattern``.

Matching walks back from each candidate anchor (the node the pattern returns) through
arguments: pattern placeholders bind to any node (the same node each time they recur),
other nodes must agree in op, target, literal arguments and keyword names, and nodes
inside a match may not be used outside it. Overlapping matches keep the earliest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .graph import Graph
from .node import Node

__all__ = ["Match", "replace_pattern"]


class Match(NamedTuple):
    """One replaced occurrence: the anchor node and pattern node -> graph node."""

    anchor: Node
    nodes_map: dict[Node, Node]


def _as_graph(pattern) -> Graph:
    if isinstance(pattern, Graph):
        return pattern
    from .graph_module import GraphModule

    if isinstance(pattern, GraphModule):
        return pattern.graph
    from ._symbolic_trace import symbolic_trace

    return symbolic_trace(pattern).graph


def _match_node(pn: Node, gn: Node, nodes_map: dict[Node, Node]) -> bool:
    if pn in nodes_map:
        return nodes_map[pn] is gn
    if pn.op == "placeholder":
        if gn in nodes_map.values():
            return False
        nodes_map[pn] = gn
        return True
    if pn.op != gn.op or pn.target != gn.target:
        return False
    if len(pn.args) != len(gn.args) or set(pn.kwargs) != set(gn.kwargs):
        return False
    nodes_map[pn] = gn
    pairs = list(zip(pn.args, gn.args)) + [(pn.kwargs[k], gn.kwargs[k]) for k in pn.kwargs]
    if all(_match_arg(pa, ga, nodes_map) for pa, ga in pairs):
        return True
    del nodes_map[pn]
    return False


def _match_arg(pa, ga, nodes_map) -> bool:
    if isinstance(pa, Node) and isinstance(ga, Node):
        return _match_node(pa, ga, nodes_map)
    if isinstance(pa, Node) or isinstance(ga, Node):
        return False
    if isinstance(pa, (list, tuple)) and isinstance(ga, (list, tuple)):
        return len(pa) == len(ga) and all(_match_arg(p, g, nodes_map) for p, g in zip(pa, ga))
    return type(pa) is type(ga) and pa == ga


def _find_matches(graph: Graph, pattern: Graph) -> list[Match]:
    outputs = [n for n in pattern.nodes if n.op == "output"]
    returned = outputs[0].args[0]
    if isinstance(returned, (tuple, list)):
        if len(returned) != 1:
            raise NotImplementedError("ember's replace_pattern supports patterns that return "
                                      "one value")
        returned = returned[0]
    matches: list[Match] = []
    taken: set[Node] = set()
    for anchor in graph.nodes:
        if anchor.op in ("placeholder", "output"):
            continue
        nodes_map: dict[Node, Node] = {}
        if not _match_node(returned, anchor, nodes_map):
            continue
        inner = [gn for pn, gn in nodes_map.items() if pn.op != "placeholder"]
        inner_set = set(inner)
        escapes = any(user not in inner_set for gn in inner if gn is not anchor
                      for user in gn.users)
        if escapes or inner_set & taken:
            continue
        taken |= inner_set
        matches.append(Match(anchor=returned, nodes_map=nodes_map))
    return matches


def replace_pattern(gm, pattern: Callable | Graph, replacement: Callable | Graph) -> list[Match]:
    """Replace each match of ``pattern`` in ``gm.graph`` with ``replacement`` (both
    callables traced with symbolic_trace, or graphs taking the same inputs) and recompile.

    Example::

        def pattern(x, w):
            return torch.relu(torch.matmul(x, w))

        def replacement(x, w):
            return torch.relu(x @ w)

        fx.replace_pattern(gm, pattern, replacement)
    """
    graph = gm.graph
    pattern_graph = _as_graph(pattern)
    replacement_graph = _as_graph(replacement)
    matches = _find_matches(graph, pattern_graph)
    pattern_placeholders = [n for n in pattern_graph.nodes if n.op == "placeholder"]
    replacement_placeholders = [n for n in replacement_graph.nodes if n.op == "placeholder"]
    if len(pattern_placeholders) != len(replacement_placeholders):
        raise AssertionError("pattern and replacement must take the same number of inputs")
    replaced: dict[Node, Node] = {}  # an earlier match's output -> its replacement
    for match in matches:
        val_map = {}
        for rn, pn in zip(replacement_placeholders, pattern_placeholders):
            if pn in match.nodes_map:
                gn = match.nodes_map[pn]
                while gn in replaced:
                    gn = replaced[gn]
                match.nodes_map[pn] = gn
                val_map[rn] = gn
        anchor = match.nodes_map[match.anchor]
        users = set(anchor.users)
        insert_before = next((n for n in graph.nodes if n in users), anchor.next)
        with graph.inserting_before(insert_before):
            copied = graph.graph_copy(replacement_graph, val_map)
        if isinstance(copied, (tuple, list)):
            copied = copied[0]
        anchor.replace_all_uses_with(copied)
        replaced[anchor] = copied
        for pn in reversed(list(pattern_graph.nodes)):
            if pn.op not in ("placeholder", "output") and pn in match.nodes_map:
                graph.erase_node(match.nodes_map[pn])
    gm.recompile()
    return matches
