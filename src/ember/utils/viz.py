"""``ember.utils.viz``: draw the autograd graph behind a tensor as Graphviz DOT.

The picture is torchviz's: one grey box per backward node, named as PyTorch names its
``grad_fn`` classes (``MulBackward0``, ``AddmmBackward0``, ``AccumulateGrad``), a light
blue box per leaf tensor labelled with its parameter name and shape, and a green box for
the tensor being explained. Seeing which operations a loss depends on, and which
parameters receive gradients, is the quickest way to understand (or debug) backprop.

The DOT text needs nothing to build; turning it into an image needs Graphviz's ``dot``
program (``apt install graphviz``), used by :func:`render` when it is on the PATH.

Example::

    >>> model = nn.Linear(3, 2)
    >>> graph = make_dot(model(torch.randn(4, 3)).sum(), params=dict(model.named_parameters()))
    >>> print(graph.source)           # DOT text
    >>> graph.render("linear", format="svg")   # writes linear.svg where Graphviz is installed
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping

__all__ = ["Digraph", "make_dot", "render"]

_GRAPH_HEADER = (
    "digraph {",
    '\tgraph [size="12,12"]',
    "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box "
    "style=filled]",
)


def _quote(text: str) -> str:
    """A DOT string literal: quotes and backslashes escaped, newlines as ``\\n``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(int(d)) for d in shape) + ")"


class Digraph:
    """DOT text of a graph, with ``render`` to write it as an image.

    ``str(graph)`` and ``graph.source`` are the DOT text; in Jupyter the graph shows as SVG
    when Graphviz is installed.
    """

    def __init__(self, lines: list[str]):
        self.source = "\n".join([*_GRAPH_HEADER, *lines, "}"]) + "\n"

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"<ember.utils.viz.Digraph with {self.source.count(' -> ')} edges>"

    def render(self, path: str | os.PathLike, format: str = "svg") -> str:  # noqa: A002
        return render(self, path, format)

    def _repr_svg_(self):
        """Jupyter display: SVG through Graphviz when installed, else nothing (text)."""
        if shutil.which("dot") is None:
            return None
        result = subprocess.run(["dot", "-Tsvg"], input=self.source.encode(),
                                capture_output=True, check=True)
        return result.stdout.decode()


def make_dot(var, params: Mapping[str, object] | None = None) -> Digraph:
    """The autograd graph that produced ``var`` (a tensor or a tuple of tensors).

    Args:
        var: output tensor(s) whose history is drawn.
        params: optional ``{name: tensor}`` (e.g. ``dict(model.named_parameters())``) so
            leaf boxes show parameter names instead of only shapes.

    Returns:
        Digraph whose ``source`` is the DOT text. Nodes are numbered in the order they are
        reached from the output, so the text is the same on every run.
    """
    from .._tensor import Tensor
    if params is not None and not all(isinstance(p, Tensor) for p in params.values()):
        raise AssertionError("params must be a dict of {name: Tensor}")
    param_names = {id(tensor): name for name, tensor in (params or {}).items()}
    outputs = tuple(var) if isinstance(var, (tuple, list)) else (var,)

    node_ids: dict[int, str] = {}
    lines: list[str] = []

    def node_id(obj) -> str:
        key = id(obj)
        if key not in node_ids:
            node_ids[key] = str(len(node_ids))
        return node_ids[key]

    def tensor_label(tensor, name: str = "") -> str:
        return f"{name}\n {_shape_text(tensor.shape)}"

    pending = []
    for tensor in outputs:
        label = tensor_label(tensor, param_names.get(id(tensor), ""))
        lines.append(f"\t{node_id(tensor)} [label={_quote(label)} fillcolor=darkolivegreen1]")
        if tensor.grad_fn is not None:
            pending.append(tensor.grad_fn)
            lines.append(f"\t{node_id(tensor.grad_fn)} -> {node_id(tensor)}")

    # Breadth-first over the backward nodes with an explicit queue: graphs from long
    # training steps or RNN unrolls are deeper than Python's recursion limit.
    drawn: set[int] = set()
    index = 0
    while index < len(pending):
        fn = pending[index]
        index += 1
        if id(fn) in drawn:
            continue
        drawn.add(id(fn))
        lines.append(f"\t{node_id(fn)} [label={_quote(_node_name(fn))}]")
        leaf = getattr(fn, "variable", None)
        if leaf is not None:
            label = tensor_label(leaf, param_names.get(id(leaf), ""))
            lines.append(f"\t{node_id(leaf)} [label={_quote(label)} fillcolor=lightblue]")
            lines.append(f"\t{node_id(leaf)} -> {node_id(fn)}")
        for edge in getattr(fn, "next_functions", ()) or ():
            source = edge[0] if edge else None
            if source is None:
                continue
            lines.append(f"\t{node_id(source)} -> {node_id(fn)}")
            pending.append(source)
    return Digraph(lines)


def _node_name(fn) -> str:
    """torchviz's label: the class name PyTorch shows, without the C++ namespace that
    ``AccumulateGrad.name()`` carries."""
    name = getattr(fn, "name", None)
    text = name() if callable(name) else type(fn).__name__
    return text.rsplit("::", 1)[-1]


def render(dot, path: str | os.PathLike, format: str = "svg") -> str:  # noqa: A002
    """Write ``dot`` (a Digraph or DOT text) as ``path`` in ``format`` through Graphviz.

    ``path`` gets the format's extension when it has none. Returns the written path.
    Raises RuntimeError naming the missing program when Graphviz is not installed.
    """
    if format not in ("svg", "png", "pdf"):
        raise ValueError(f"format must be 'svg', 'png' or 'pdf', got {format!r}")
    program = shutil.which("dot")
    if program is None:
        raise RuntimeError(
            "rendering needs Graphviz's 'dot' program, which is not on the PATH: install "
            "graphviz (apt install graphviz, brew install graphviz, conda install graphviz) "
            "or paste the DOT text (str(graph)) into any Graphviz viewer")
    path = os.fspath(path)
    if not os.path.splitext(path)[1]:
        path = f"{path}.{format}"
    source = dot.source if isinstance(dot, Digraph) else str(dot)
    result = subprocess.run([program, f"-T{format}", "-o", path], input=source.encode(),
                            capture_output=True)
    if result.returncode != 0:
        raise RuntimeError(f"dot failed: {result.stderr.decode(errors='replace').strip()}")
    return path
