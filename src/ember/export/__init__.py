"""``torch.export``: capture a model as a graph of ATen-named ops, with its signature.

``export(model, args)`` runs ``model`` once on the example inputs and records every ember
call into an ``ExportedProgram`` (see ``_trace`` for how without a dispatcher): its graph
takes the parameters, buffers and inputs as placeholders (``p_fc_weight``, ``b_...``,
``x``) and calls ``torch.ops.aten.*`` operators that ember implements, so it prints as
PyTorch's and runs on ember. ``module()`` returns a runnable module checking input
shapes; ``Dim`` marks dimensions dynamic; ``save``/``load`` write and read programs.

How it differs from PyTorch's:

- Ops are named as PyTorch's pre-dispatch export names them for the common ones
  (``_aten``); others keep ember's Python argument list under ``aten.<name>.default``.
  Indexing records ``operator.getitem`` (PyTorch: ``aten.select``/``aten.slice``).
- As PyTorch's default (training IR) export, in-place ops stay in-place nodes
  (``aten.add_.Tensor`` on ``num_batches_tracked``); nothing is functionalized.
- Symbols of dynamic dims are ``s0, s1, ...`` (PyTorch: ``s77``-style hashes), and a
  result dimension gets a symbol when its example size equals a dynamic input's (use
  example sizes that differ from the static sizes).
- ``save`` writes ember's own zip format (PyTorch's ``.pt2`` archive holds its serialized
  ATen graph schema); ``load`` reads it back in ember, not in PyTorch.
- Node ``# File:`` stack-trace comments are not recorded.
"""

from ._export import export
from ._serialize import load, save
from .dynamic_shapes import Dim, dims
from .exported_program import ExportedProgram
from .graph_signature import (
    ExportGraphSignature,
    InputKind,
    InputSpec,
    OutputKind,
    OutputSpec,
)
from .unflatten import unflatten

__all__ = [
    "Dim", "ExportGraphSignature", "ExportedProgram", "InputKind", "InputSpec", "OutputKind",
    "OutputSpec", "dims", "export", "load", "save", "unflatten",
]
