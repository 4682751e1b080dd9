"""ember.utils.viz: the autograd graph as DOT, node names as PyTorch's grad_fn names."""

from __future__ import annotations

import collections
import re
import stat

import numpy as np
import pytest
import torch

import ember
from ember.utils import viz

LABEL = re.compile(r'^\t(\d+) \[label="((?:[^"\\]|\\.)*)"(?: fillcolor=(\w+))?\]$')
EDGE = re.compile(r"^\t(\d+) -> (\d+)$")


def parse(source: str):
    """{id: (label, fillcolor)} and the list of edges of a make_dot graph."""
    nodes, edges = {}, []
    for line in source.splitlines():
        if match := LABEL.match(line):
            nodes[match.group(1)] = (match.group(2).replace("\\n", "\n"), match.group(3))
        elif match := EDGE.match(line):
            edges.append((match.group(1), match.group(2)))
    return nodes, edges


def torch_node_names(output):
    """Names of the backward nodes reachable from a real PyTorch tensor, as torchviz
    labels them (``AccumulateGrad`` without its C++ namespace)."""
    names, pending, seen = [], [output.grad_fn], set()
    while pending:
        fn = pending.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        names.append(fn.name().rsplit("::", 1)[-1])
        pending.extend(next_fn for next_fn, _ in fn.next_functions)
    return collections.Counter(names)


GRAPHS = {
    "mul_add_sum": lambda lib, x, y: (x * y + x).sum(),
    "unary_chain": lambda lib, x, y: (x.sin().exp() / (y.abs() + 1)).mean(),
    "reuse": lambda lib, x, y: (x * x * x - y).pow(2).sum(),
    "transpose": lambda lib, x, y: (x.t() * y.t()).sum(dim=0),
    "softmax": lambda lib, x, y: lib.softmax(x, dim=1).max(),
    "constant_input": lambda lib, x, y: (x * lib.ones(3, 4)).sum(),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_node_names_match_pytorch(name):
    rng = np.random.default_rng(0)
    x_np, y_np = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    outputs = {}
    for lib in (ember, torch):
        x = lib.tensor(x_np, requires_grad=True)
        y = lib.tensor(y_np, requires_grad=True)
        outputs[lib.__name__] = GRAPHS[name](lib, x, y)
    nodes, _ = parse(viz.make_dot(outputs["ember"]).source)
    drawn = collections.Counter(label for label, color in nodes.values() if color is None)
    assert drawn == torch_node_names(outputs["torch"])


def test_parameters_and_output_boxes():
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(3, 2), ember.nn.ReLU(), ember.nn.Linear(2, 1))
    loss = model(ember.randn(4, 3)).sum()
    graph = viz.make_dot(loss, params=dict(model.named_parameters()))
    nodes, edges = parse(graph.source)
    leaves = sorted(label for label, color in nodes.values() if color == "lightblue")
    assert leaves == ["0.bias\n (2)", "0.weight\n (2, 3)", "2.bias\n (1)", "2.weight\n (1, 2)"]
    outputs = [(node, label) for node, (label, color) in nodes.items()
               if color == "darkolivegreen1"]
    assert outputs == [("0", "\n ()")]
    by_label = {label: node for node, (label, _) in nodes.items()}
    accumulate = [node for node, (label, _) in nodes.items() if label == "AccumulateGrad"]
    assert len(accumulate) == 4
    # each parameter box feeds its AccumulateGrad node; the sum node feeds the output box
    assert (by_label["0.weight\n (2, 3)"], by_label["0.weight\n (2, 3)"]) not in edges
    for leaf in ("0.weight\n (2, 3)", "2.bias\n (1)"):
        (target,) = [dst for src, dst in edges if src == by_label[leaf]]
        assert target in accumulate
    assert (by_label["SumBackward0"], "0") in edges
    assert graph.source.startswith("digraph {\n") and graph.source.endswith("}\n")
    assert str(graph) == graph.source
    assert graph.source == viz.make_dot(loss, params=dict(model.named_parameters())).source


def test_unnamed_leaf_and_several_outputs():
    x = ember.ones(2, 2, requires_grad=True)
    first, second = x * 2, x.sum()
    nodes, edges = parse(viz.make_dot((first, second)).source)
    colors = collections.Counter(color for _, color in nodes.values())
    assert colors["darkolivegreen1"] == 2 and colors["lightblue"] == 1
    assert ("\n (2, 2)", "lightblue") in nodes.values()
    assert len(edges) == len(set(edges))


def test_deep_graph_does_not_recurse():
    x = ember.ones(1, requires_grad=True)
    y = x
    for _ in range(3000):                  # deeper than Python's recursion limit
        y = y * 1.0
    nodes, edges = parse(viz.make_dot(y).source)
    assert sum(label == "MulBackward0" for label, _ in nodes.values()) == 3000
    assert len(edges) == 3000 + 2


def test_quoting_of_names():
    x = ember.ones(1, requires_grad=True)
    source = viz.make_dot(x * 2, params={'weird "name" \\ here': x}).source
    assert 'label="weird \\"name\\" \\\\ here\\n (1)"' in source


def test_params_must_be_tensors():
    with pytest.raises(AssertionError, match="params must be a dict"):
        viz.make_dot(ember.ones(1, requires_grad=True) * 2, params={"w": 3.0})


def test_render_without_graphviz(monkeypatch, tmp_path):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    graph = viz.make_dot(ember.ones(1, requires_grad=True) * 2)
    with pytest.raises(RuntimeError, match="Graphviz's 'dot' program"):
        graph.render(tmp_path / "graph")
    assert graph._repr_svg_() is None


def test_render_calls_dot(monkeypatch, tmp_path):
    """A stand-in ``dot`` records its arguments and input: render passes -T<format>, -o
    <path with extension>, and the DOT text on stdin."""
    fake = tmp_path / "dot"
    fake.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args.txt"\ncat > "$3"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(viz.shutil, "which", lambda name: str(fake))
    graph = viz.make_dot(ember.ones(1, requires_grad=True) * 2)
    written = viz.render(graph, tmp_path / "graph", format="png")
    assert written == str(tmp_path / "graph.png")
    assert (tmp_path / "args.txt").read_text().split() == ["-Tpng", "-o", written]
    assert (tmp_path / "graph.png").read_text() == graph.source
    with pytest.raises(ValueError, match="format must be"):
        viz.render(graph, tmp_path / "g", format="jpg")
