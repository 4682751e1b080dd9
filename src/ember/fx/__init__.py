"""ember.fx: torch.fx's symbolic tracing and graph manipulation, in pure Python.

``symbolic_trace`` records a module's ``forward`` as a ``Graph`` of ``Node``s; passes edit
the graph (``replace_all_uses_with``, ``inserting_after``, ``subgraph_rewriter``), a
``GraphModule`` runs the code generated from it, and an ``Interpreter`` runs it node by
node (``ShapeProp`` stores each node's shape and dtype). Generated code and graph
printouts read as PyTorch's, so tutorials carry over.

How it differs from torch.fx:

- Tracing does not go through ``__torch_function__`` (ember.overrides installs that
  protocol only once a class could use it, and keeps the plain op path free). While ``symbolic_trace`` / ``Tracer.trace`` /
  ``Transformer.transform`` run, ember's public functions (``ember``,
  ``ember.nn.functional``, ``special``, ``linalg``, ``fft``) and Tensor methods are swapped
  for recording wrappers, then restored. An ember function called on a Proxy outside
  those calls (a free-standing ``Proxy`` in a hand-written pass) does not record;
  operators and Tensor methods on Proxies always do.
- ``ember.relu`` and ``ember.nn.functional.relu`` are one function: a graph built by hand
  with it prints ``torch.relu`` (tracing knows which name was called).
- ``Graph.print_tabular`` prints its own table (PyTorch requires ``tabulate``).
- pytree-structured ``concrete_args`` and custom ``CodeGen`` classes are not supported.
"""

from . import passes  # noqa: F401
from ._symbolic_trace import PH, Tracer, symbolic_trace, wrap  # noqa: F401 - torch.fx.PH
from .graph import Graph
from .graph_module import GraphModule
from .interpreter import Interpreter, Transformer
from .node import Node, has_side_effect, map_arg
from .proxy import Proxy
from .subgraph_rewriter import replace_pattern

__all__ = [
    "Graph", "GraphModule", "Interpreter", "Node", "Proxy", "Tracer", "Transformer",
    "has_side_effect", "map_arg", "replace_pattern", "symbolic_trace", "wrap",
]

from . import experimental  # noqa: F401 - needs the names above
