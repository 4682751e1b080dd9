"""``replace_pattern``: find every occurrence of a pattern graph in a GraphModule and
substitute a replacement graph, as ``torch.fx.subgraph_rewriter.replace_pattern``.

Matching walks back from each candidate anchor (the node the pattern returns) through
arguments: pattern placeholders bind to any node (the same node each time they recur),
other nodes must agree in op, target, literal arguments and keyword names, and nodes
inside a match may not be used outside it. Overlapping matches keep the earliest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from .graph import Graph
from .node import Node

__all__ = ["Match", "ReplacedPatterns", "replace_pattern", "replace_pattern_with_filters"]


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


@dataclass
class InternalMatch:
    """A match as filters see it (``torch.fx.passes.utils.matcher_utils.InternalMatch``)."""

    anchors: list[Node]
    nodes_map: dict[Node, Node] = field(default_factory=dict)
    placeholder_nodes: list[Node] = field(default_factory=list)
    returning_nodes: list[Node] = field(default_factory=list)
    name_node_map: dict[str, Node] = field(default_factory=dict)


@dataclass
class ReplacedPatterns:
    """One replaced occurrence and the nodes that replaced it."""

    anchor: Node
    nodes_map: dict[Node, Node]
    replacements: list[Node]


def _returned_nodes(pattern: Graph) -> list[Node]:
    output = next(n for n in pattern.nodes if n.op == "output")
    returned = output.args[0]
    return list(returned) if isinstance(returned, (tuple, list)) else [returned]


def _match_outputs(graph: Graph, returned: list[Node], index: int, nodes_map: dict):
    """Every way to map ``returned[index:]`` onto graph nodes consistently with
    ``nodes_map`` (the first output anchors the search, the others are found next)."""
    if index == len(returned):
        yield nodes_map
        return
    for candidate in graph.nodes:
        if candidate.op in ("placeholder", "output"):
            continue
        trial = dict(nodes_map)
        if _match_node(returned[index], candidate, trial):
            yield from _match_outputs(graph, returned, index + 1, trial)


def _find_matches(graph: Graph, pattern: Graph) -> list[InternalMatch]:
    returned = _returned_nodes(pattern)
    placeholders = [n for n in pattern.nodes if n.op == "placeholder"]
    matches: list[InternalMatch] = []
    taken: set[Node] = set()
    for nodes_map in _match_outputs(graph, returned, 0, {}):
        inner = {gn for pn, gn in nodes_map.items() if pn.op != "placeholder"}
        outputs = {nodes_map[pn] for pn in returned}
        escapes = any(user not in inner for gn in inner - outputs for user in gn.users)
        if escapes or inner & taken:
            continue
        taken |= inner
        matches.append(InternalMatch(
            anchors=list(returned), nodes_map=nodes_map,
            placeholder_nodes=[nodes_map[pn] for pn in placeholders if pn in nodes_map],
            returning_nodes=[nodes_map[pn] for pn in returned]))
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
    replaced = _replace_pattern(gm, pattern, replacement)
    return [Match(anchor=r.anchor, nodes_map=r.nodes_map) for r in replaced]


def replace_pattern_with_filters(gm, pattern, replacement=None, match_filters=None,
                                 ignore_literals: bool = False, replacement_callback=None,
                                 node_name_match: str = "") -> list[ReplacedPatterns]:
    """``replace_pattern`` keeping only matches every ``match_filters`` function accepts
    (each called as ``f(match, original_graph, pattern_graph)``); ``replacement_callback``
    may build the replacement per match."""
    if ignore_literals or node_name_match:
        raise NotImplementedError("ember's replace_pattern_with_filters does not support "
                                  "ignore_literals or node_name_match")
    return _replace_pattern(gm, pattern, replacement, match_filters or [],
                            replacement_callback)


def _replace_pattern(gm, pattern, replacement, match_filters=(), replacement_callback=None):
    graph = gm.graph
    pattern_graph = _as_graph(pattern)
    matches = [m for m in _find_matches(graph, pattern_graph)
               if all(f(m, graph, pattern_graph) for f in match_filters)]
    pattern_placeholders = [n for n in pattern_graph.nodes if n.op == "placeholder"]
    replaced: dict[Node, Node] = {}  # an earlier match's output -> its replacement
    results: list[ReplacedPatterns] = []
    for match in matches:
        if replacement_callback is not None:
            replacement_graph = replacement_callback(match, graph, pattern_graph)
        else:
            replacement_graph = _as_graph(replacement)
        replacement_placeholders = [n for n in replacement_graph.nodes
                                    if n.op == "placeholder"]
        if len(pattern_placeholders) != len(replacement_placeholders):
            raise AssertionError("pattern and replacement must take the same number of inputs")
        val_map = {}
        for rn, pn in zip(replacement_placeholders, pattern_placeholders):
            if pn in match.nodes_map:
                gn = match.nodes_map[pn]
                while gn in replaced:
                    gn = replaced[gn]
                match.nodes_map[pn] = gn
                val_map[rn] = gn
        returning = match.returning_nodes
        users = {user for node in returning for user in node.users}
        insert_before = next((n for n in graph.nodes if n in users), returning[0].next)
        before = set(graph.nodes)
        with graph.inserting_before(insert_before):
            copied = graph.graph_copy(replacement_graph, val_map)
        copied = list(copied) if isinstance(copied, (tuple, list)) else [copied]
        for old, new in zip(returning, copied):
            old.replace_all_uses_with(new)
            replaced[old] = new
        for pn in reversed(list(pattern_graph.nodes)):
            if pn.op not in ("placeholder", "output") and pn in match.nodes_map:
                graph.erase_node(match.nodes_map[pn])
        results.append(ReplacedPatterns(
            anchor=match.anchors[0], nodes_map=match.nodes_map,
            replacements=[n for n in graph.nodes if n not in before]))
    gm.recompile()
    return results
