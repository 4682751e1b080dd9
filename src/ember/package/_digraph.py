"""The exporter's dependency graph: nodes are module names (and ``<package.resource>`` for
pickles) with attributes saying how to package them; an edge u -> v means u needs v."""

from __future__ import annotations


class DiGraph:
    """Insertion-ordered directed graph with per-node attribute dicts."""

    def __init__(self) -> None:
        self._node: dict[str, dict] = {}
        self._succ: dict[str, dict] = {}
        self._pred: dict[str, dict] = {}
        self._node_order: dict[str, int] = {}  # first insertion, for first_path

    def add_node(self, n: str, **kwargs) -> None:
        """Add ``n`` or update its attributes."""
        if n not in self._node:
            self._node[n] = kwargs
            self._succ[n] = {}
            self._pred[n] = {}
            self._node_order[n] = len(self._node_order)
        else:
            self._node[n].update(kwargs)

    def add_edge(self, u: str, v: str) -> None:
        for n in (u, v):
            if n not in self._node:
                self.add_node(n)
        self._succ[u][v] = True
        self._pred[v][u] = True

    def successors(self, n: str):
        return iter(self._succ[n])

    def predecessors(self, n: str):
        return iter(self._pred[n])

    @property
    def edges(self):
        return [(u, v) for u, targets in self._succ.items() for v in targets]

    @property
    def nodes(self) -> dict[str, dict]:
        return self._node

    def __iter__(self):
        return iter(self._node)

    def __contains__(self, n) -> bool:
        return n in self._node

    def forward_transitive_closure(self, src: str) -> set[str]:
        return self._reach(src, self._succ)

    def backward_transitive_closure(self, src: str) -> set[str]:
        return self._reach(src, self._pred)

    @staticmethod
    def _reach(src: str, links: dict) -> set[str]:
        seen, todo = {src}, [src]
        while todo:
            for nxt in links[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    def all_paths(self, src: str, dst: str) -> str:
        """The subgraph of every path from ``src`` to ``dst``, as dot text."""
        between = self.forward_transitive_closure(src) & self.backward_transitive_closure(dst)
        edges = [(u, v) for u, v in self.edges if u in between and v in between]
        return self._dot(edges)

    def first_path(self, dst: str) -> list[str]:
        """How ``dst`` came into the graph: from ``dst``, step to its earliest-added
        predecessor until a node without one (a pickle or a saved module); that chain,
        source first."""
        path = [dst]
        while self._pred[path[-1]]:
            earliest = min(self._pred[path[-1]], key=self._node_order.__getitem__)
            if earliest in path:  # a cycle: the chain so far is the answer
                break
            path.append(earliest)
        return path[::-1]

    def to_dot(self) -> str:
        return self._dot(self.edges)

    @staticmethod
    def _dot(edges) -> str:
        lines = "\n".join(f'"{u}" -> "{v}";' for u, v in edges)
        return f"digraph G {{\nrankdir = LR;\nnode [shape=box];\n{lines}\n}}\n"
