"""``torch.onnx.verification``: compare an exported ONNX program with the model.

``verify_onnx_program(program)`` runs the model (ember) and the ONNX file (onnxruntime)
on the same inputs and returns one ``VerificationInfo`` per output: the largest absolute
and relative differences and their histograms. The model is the program's
``exported_program`` when it has one (as PyTorch's programs always do), otherwise the
module ember's ``onnx.export`` traced, in the training mode it was exported in; the
inputs default to the example inputs of the export.

``compare_intermediates=True`` asks PyTorch to compare every intermediate value, which it
can because its ONNX values are named after the FX nodes of the exported program. ember's
exporter traces the model directly and its ONNX values have no such counterparts, so
ember raises NotImplementedError for it rather than compare values that do not
correspond.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

__all__ = ["VerificationInfo", "verify_onnx_program"]

_BINS = [0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10, 1000000.0]


@dataclasses.dataclass
class VerificationInfo:
    """How far one value of the ONNX program is from the model's.

    Attributes:
        name: the value's name (an output of the ONNX graph).
        max_abs_diff: largest ``|expected - actual|``.
        max_rel_diff: largest ``|expected - actual| / (|expected| + 1e-7)``.
        abs_diff_hist, rel_diff_hist: (counts, bin edges) of those differences over
            the bins 0, 1e-6, 1e-5, ..., 1, 10, 1e6.
        expected_dtype, actual_dtype: the dtypes of the model's and the program's value.
    """

    name: str
    max_abs_diff: float
    max_rel_diff: float
    abs_diff_hist: tuple
    rel_diff_hist: tuple
    expected_dtype: Any
    actual_dtype: Any

    @classmethod
    def from_tensors(cls, name: str, expected, actual) -> VerificationInfo:
        """Compare two tensors (or Python numbers) and summarize the differences."""
        from .. import float32, histogram, tensor
        from .._tensor import Tensor

        expected = expected if isinstance(expected, Tensor) else tensor(expected)
        actual = actual if isinstance(actual, Tensor) else tensor(actual)
        max_abs, max_rel, abs_diff, rel_diff = _compare_tensors(expected, actual)
        bins = tensor(_BINS, dtype=float32)
        return cls(name=name, max_abs_diff=max_abs, max_rel_diff=max_rel,
                   abs_diff_hist=histogram(abs_diff.float(), bins=bins),
                   rel_diff_hist=histogram(rel_diff.float(), bins=bins),
                   expected_dtype=expected.dtype, actual_dtype=actual.dtype)

    def asdict(self) -> dict[str, Any]:
        """The fields as plain Python values (histograms as lists)."""
        return {
            "name": self.name,
            "max_abs_diff": self.max_abs_diff,
            "max_rel_diff": self.max_rel_diff,
            "abs_diff_hist": [self.abs_diff_hist[0].tolist(), self.abs_diff_hist[1].tolist()],
            "rel_diff_hist": [self.rel_diff_hist[0].tolist(), self.rel_diff_hist[1].tolist()],
            "expected_dtype": str(self.expected_dtype),
            "actual_dtype": str(self.actual_dtype),
        }


def _compare_tensors(expected, actual):
    from .. import bool as bool_
    from .. import float32, tensor, view_as_real

    expected = expected.detach().cpu()
    actual = actual.detach().cpu()
    if expected.numel() == 0 or actual.numel() == 0:
        return math.inf, math.inf, tensor(math.inf), tensor(math.inf)
    if expected.dtype == bool_:
        expected = expected.to(float32)
        actual = actual.to(float32)
    if expected.is_complex():
        expected = view_as_real(expected)
    abs_diff = (expected - actual).abs()
    rel_diff = abs_diff / (expected.abs() + 1e-7)
    return abs_diff.max().item(), rel_diff.max().item(), abs_diff, rel_diff


def _reference_outputs(onnx_program, args, kwargs):
    """(flat model outputs, the args and kwargs used)."""
    from ..utils._pytree import tree_flatten

    exported = onnx_program.exported_program
    reference = getattr(onnx_program, "_reference", None)
    if exported is None and reference is None:
        raise ValueError(
            "The ONNX program does not contain an exported_program. "
            "Please provide an exported_program to verify the ONNX program.")
    if args is None and kwargs is None:
        examples = exported.example_inputs if exported is not None else reference[1:3]
        if examples is None:
            raise ValueError(
                "No example inputs provided and the exported_program does not contain "
                "example inputs. Please provide arguments to verify the ONNX program.")
        args, kwargs = examples
    args = () if args is None else tuple(args)
    kwargs = {} if kwargs is None else dict(kwargs)
    if exported is not None:
        outputs = exported.module()(*args, **kwargs)
    else:
        from .export import _training_mode

        model, _, _, training = reference
        with _training_mode(model, training):
            outputs = model(*args, **kwargs)
    return tree_flatten(outputs)[0], args, kwargs


def verify_onnx_program(onnx_program, args=None, kwargs=None,
                        compare_intermediates: bool = False) -> list[VerificationInfo]:
    """Run the model and the ONNX program on the same inputs and compare each output.

    Args:
        onnx_program: an ONNXProgram from ``ember.onnx.export``.
        args, kwargs: the inputs; by default the example inputs of the export.
        compare_intermediates: not supported by ember's exporter (see the module
            docstring); raises NotImplementedError.

    Returns:
        One VerificationInfo per output of the ONNX graph, in order.
    """
    if compare_intermediates:
        raise NotImplementedError(
            "compare_intermediates=True needs ONNX values named after the nodes of an "
            "exported program; ember's exporter traces the model directly, so only the "
            "outputs can be compared")
    from ..autograd.grad_mode import no_grad

    with no_grad():
        expected, args, kwargs = _reference_outputs(onnx_program, args, kwargs)
    actual = onnx_program(*args, **kwargs)
    names = [value.name for value in onnx_program.model_proto.graph.output]
    return [VerificationInfo.from_tensors(name=name, expected=want, actual=got)
            for want, got, name in zip(expected, actual, names)]
