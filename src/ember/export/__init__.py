"""``torch.export``: capture a model as a graph of ATen-named ops, with its signature.

``export(model, args)`` runs ``model`` once on the example inputs and records every ember
call into an ``ExportedProgram`` (see ``_trace`` for how without a dispatcher): its graph
takes the parameters, buffers and inputs as placeholders (``p_fc_weight``, ``b_...``,
``x``) and calls ``torch.ops.aten.*`` operators that ember implements, so it prints as
PyTorch's and runs on ember. ``module()`` returns a runnable module checking input
shapes; ``Dim`` marks dimensions dynamic; ``save``/``load`` write and read programs.

Python control flow on a traced tensor's value (``if x.sum() > 0``) raises PyTorch's
``GuardOnDataDependentSymNode``; ``x.item()`` is recorded (``aten.item``). After tracing,
the graph is re-run against the module on fresh random inputs of the same shapes, so a
computation the recorder could not see (NumPy on ``.numpy()``, a private function) is an
error instead of a silently baked-in constant (this costs two extra forward passes).

How it differs from PyTorch's:

- Ops are named as PyTorch's pre-dispatch export names them for the common ones
  (``_aten``: arithmetic, reductions, views, indexing as slice/select, linear, convs,
  norms, pools, interpolate, LSTM/GRU/RNN, ...); others keep ember's Python argument list
  under ``aten.<name>.default``, and functions PyTorch implements in Python
  (``F.normalize``, losses) stay one node where PyTorch records their parts.
- The model is run for real on the example inputs (PyTorch uses fake tensors); the
  buffers it updates and the random generator are put back afterwards.
- As PyTorch's default (training IR) export, in-place ops stay in-place nodes
  (``aten.add_.Tensor`` on ``num_batches_tracked``); nothing is functionalized.
- Symbols of dynamic dims are ``s0, s1, ...`` (PyTorch: ``s77``-style hashes), and a
  result dimension gets a symbol when its example size equals a dynamic input's (use
  example sizes that differ from the static sizes).
- ``save`` / ``load`` use PyTorch's ``.pt2`` archive (``pt2_archive``): ember reads
  programs ``torch.export.save`` wrote and torch loads ember's; a node torch's format
  cannot name (an op ember records under its own signature) makes ``save`` raise.
- Node ``# File:`` stack-trace comments are not recorded; ``module()`` checks the input
  structure and shapes in Python rather than through a ``_guards_fn`` submodule.
- ``unflatten`` rebuilds one ``InterpreterModule`` per submodule called once; a module
  called several times stays inline in its parent's graph (PyTorch deduplicates calls).
"""

from . import pt2_archive
from ._builders import (
    AdditionalInputs,
    CustomDecompTable,
    ShapesCollection,
    default_decompositions,
    register_dataclass,
)
from ._draft import draft_export
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
from .unflatten import InterpreterModule, UnflattenedModule, unflatten

__all__ = [
    "AdditionalInputs", "CustomDecompTable", "Dim", "ExportGraphSignature", "ExportedProgram",
    "InputKind", "InputSpec",
    "InterpreterModule", "OutputKind", "OutputSpec", "UnflattenedModule", "dims", "export",
    "ShapesCollection", "default_decompositions", "draft_export", "load", "register_dataclass",
    "pt2_archive", "save", "unflatten",
]
