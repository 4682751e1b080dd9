"""ember.onnx.verification: VerificationInfo against torch's, verify_onnx_program on
ember's exports (torch's own needs onnxscript, not installed, so its verify is not run)."""

from __future__ import annotations

import math

import pytest
import torch
from torch.onnx._internal.exporter._verification import VerificationInfo as TorchInfo

import ember
from ember.onnx._program import ONNXProgram
from ember.onnx.verification import VerificationInfo, verify_onnx_program


@pytest.mark.parametrize("expected,actual", [
    ([1.0, 2.0, 3.0], [1.0, 2.1, 2.9]),
    ([[0.5, -4.0], [1e-8, 7.0]], [[0.5, -4.0], [0.0, 7.5]]),
    ([True, False, True], [True, True, True]),
    ([1 + 2j, -1j], [1 + 2.5j, 0j]),
    (3.0, 2.0),
    (True, False),
])
def test_from_tensors_matches_torch(expected, actual):
    mine = VerificationInfo.from_tensors("v", ember.tensor(expected), ember.tensor(actual))
    theirs = TorchInfo.from_tensors("v", torch.tensor(expected), torch.tensor(actual))
    assert mine.asdict() == theirs.asdict()
    scalars = VerificationInfo.from_tensors("s", 1.5, 1.0).asdict()
    assert scalars == TorchInfo.from_tensors("s", 1.5, 1.0).asdict()


def test_empty_values_are_infinitely_far():
    info = VerificationInfo.from_tensors("e", ember.zeros(0), ember.zeros(0))
    assert info.max_abs_diff == math.inf and info.max_rel_diff == math.inf
    assert info.asdict() == TorchInfo.from_tensors("e", torch.zeros(0), torch.zeros(0)).asdict()


def _model():
    ember.manual_seed(0)
    return ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.Dropout(0.5), ember.nn.ReLU(),
                               ember.nn.Linear(4, 2))


def test_verify_compares_each_output_with_the_model():
    model = _model().eval()
    x = ember.randn(5, 3)
    program = ember.onnx.export(model, (x,), dynamo=True)
    infos = verify_onnx_program(program)
    names = [value.name for value in program.model_proto.graph.output]
    assert [info.name for info in infos] == names and len(infos) == 1
    assert infos[0].max_abs_diff < 1e-5 and str(infos[0].expected_dtype) == "torch.float32"
    assert sum(infos[0].abs_diff_hist[0].tolist()) == 10  # 5 x 2 values binned
    fresh = verify_onnx_program(program, args=(ember.randn(5, 3),))
    assert fresh[0].max_abs_diff < 1e-5
    with ember.no_grad():  # the file keeps the exported weights: now they differ
        model[0].bias.add_(1.0)
    assert verify_onnx_program(program)[0].max_abs_diff > 1e-3


def test_verify_runs_the_model_in_its_export_mode():
    """Exported in eval mode (the default), verified in eval mode even if the model is
    in training mode now: dropout off, so the outputs still agree."""
    model = _model().train()
    program = ember.onnx.export(model, (ember.randn(5, 3),), dynamo=True)
    assert verify_onnx_program(program)[0].max_abs_diff < 1e-5
    assert model.training


def test_verify_errors():
    model = _model().eval()
    program = ember.onnx.export(model, (ember.randn(2, 3),), dynamo=True)
    with pytest.raises(ValueError, match="does not contain an exported_program"):
        verify_onnx_program(ONNXProgram(program.model_proto))
    with pytest.raises(NotImplementedError, match="compare_intermediates"):
        verify_onnx_program(program, compare_intermediates=True)
