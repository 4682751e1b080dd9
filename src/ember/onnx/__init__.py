"""ember.onnx: export a model to an ONNX file (the ``onnx`` extra).

``export`` traces one forward run, as ``torch.onnx.export(..., dynamo=False)`` does:
every op the model applies becomes ONNX nodes (converters keyed by the op's Function
class, see _trace.py), parameters and buffers become initializers named by their
state_dict keys, and ``dynamic_axes`` makes dims symbolic. ``verify`` runs a file in
onnxruntime against the model; ``register_custom_op_symbolic`` and a Function's own
``symbolic`` staticmethod export ops ember has no converter for.

The ``onnx`` package is imported only when ``export`` runs, so ``import ember`` works
without the extra installed.
"""

from . import errors, ops
from ._program import ONNXProgram
from .errors import OnnxExporterError, UnsupportedOperatorError
from .export import (
    TrainingMode,
    export,
    is_in_onnx_export,
    register_custom_op_symbolic,
    unregister_custom_op_symbolic,
    verify,
)

__all__ = [
    "ONNXProgram", "OnnxExporterError", "TrainingMode", "UnsupportedOperatorError", "errors",
    "export", "ops",
    "is_in_onnx_export", "register_custom_op_symbolic", "unregister_custom_op_symbolic",
    "verify",
]
