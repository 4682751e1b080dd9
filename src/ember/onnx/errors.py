"""The exporter's exceptions, as ``torch.onnx.errors`` names them."""

from __future__ import annotations

__all__ = ["OnnxExporterError", "SymbolicValueError", "TracerWarning",
           "UnsupportedOperatorError"]


class OnnxExporterError(RuntimeError):
    """Errors raised by the ONNX exporter (a RuntimeError, as PyTorch's)."""


class UnsupportedOperatorError(OnnxExporterError):
    """An op the exporter has no ONNX conversion for, at this opset."""

    def __init__(self, name: str, version: int, supported_version: int | None = None):
        if supported_version is not None:
            message = (
                f"Exporting the operator '{name}' to ONNX opset version {version} is not "
                f"supported. Support for this operator was added in version "
                f"{supported_version}, try exporting with this version."
            )
        else:
            message = (
                f"Exporting the operator '{name}' to ONNX opset version {version} is not "
                "supported. Please feel free to request support or submit a pull request "
                "to ember."
            )
        super().__init__(message)


class SymbolicValueError(OnnxExporterError):
    """A value the exporter cannot express in the graph (an op read outside the trace)."""


class TracerWarning(UserWarning):
    """Something in the traced forward may not export as it runs (PyTorch's
    ``torch.jit.TracerWarning``): for example ops under no_grad, which may take paths the
    tracer does not see, so their results can become constants."""
