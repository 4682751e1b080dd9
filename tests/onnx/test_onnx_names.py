"""ember.onnx.ONNXProgram: what ``export`` returns with ``dynamo=True`` (PyTorch 2.13's
default). PyTorch's dynamo exporter needs onnxscript, which the test environment lacks,
so the program's outputs are compared with the PyTorch model's eager outputs for the same
weights, and the API (methods, return values, errors) with torch.onnx.ONNXProgram's."""

from __future__ import annotations

import inspect
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import ember

sys.path.insert(0, os.path.dirname(__file__))
from _onnx_harness import copy_weights  # noqa: E402


def _models():
    ember.manual_seed(0)
    ours = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.Tanh(), ember.nn.Linear(3, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    copy_weights(ours, theirs)
    return ours.eval(), theirs.eval()


X = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)


def test_export_returns_a_program_by_default_and_f_is_optional(tmp_path):
    ours, theirs = _models()
    program = ember.onnx.export(ours, (ember.tensor(X),))
    assert isinstance(program, ember.onnx.ONNXProgram)
    assert isinstance(program.model_proto, onnx.ModelProto) and program.exported_program is None
    onnx.checker.check_model(program.model_proto)
    outputs = program(ember.tensor(X))
    assert isinstance(outputs, list) and len(outputs) == 1
    torch.testing.assert_close(torch.from_numpy(outputs[0].numpy()), theirs(torch.tensor(X)))
    path = tmp_path / "written.onnx"
    assert isinstance(ember.onnx.export(ours, (ember.tensor(X),), path), ember.onnx.ONNXProgram)
    assert path.stat().st_size > 0


def test_dynamo_false_returns_none_and_needs_f(tmp_path):
    ours, _ = _models()
    assert ember.onnx.export(ours, (ember.tensor(X),), tmp_path / "m.onnx", dynamo=False) is None
    with pytest.raises(ValueError, match="needs a file name"):
        ember.onnx.export(ours, (ember.tensor(X),), dynamo=False)


def _run_file(path):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})[0]


def test_save_forms(tmp_path):
    ours, theirs = _models()
    program = ember.onnx.export(ours, (ember.tensor(X),))
    expected = theirs(torch.tensor(X))
    program.save(tmp_path / "plain.onnx")
    torch.testing.assert_close(torch.from_numpy(_run_file(tmp_path / "plain.onnx")), expected)
    program.save(tmp_path / "external.onnx", external_data=True)
    assert (tmp_path / "external.onnx.data").stat().st_size == 4 * (3 * 4 + 3 + 2 * 3 + 2)
    torch.testing.assert_close(torch.from_numpy(_run_file(tmp_path / "external.onnx")), expected)
    program.save(tmp_path / "bare.onnx", include_initializers=False)
    assert len(onnx.load(str(tmp_path / "bare.onnx")).graph.initializer) == 0
    program.save(tmp_path / "inputs.onnx", keep_initializers_as_inputs=True)
    graph = onnx.load(str(tmp_path / "inputs.onnx")).graph
    assert {i.name for i in graph.initializer} <= {i.name for i in graph.input}
    assert len(program.model_proto.graph.initializer) == 4  # saving leaves the program as is


def test_session_lifecycle_and_errors():
    ours, theirs = _models()
    program = ember.onnx.export(ours, (ember.tensor(X),))
    made = []

    def initializer(model_bytes):
        made.append(len(model_bytes))
        return ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])

    program.initialize_inference_session(initializer)
    first = program(ember.tensor(X))[0]
    program.release()
    second = program(ember.tensor(X))[0]  # a fresh default session
    assert len(made) == 1 and ember.equal(first, second)
    with pytest.raises(ValueError, match="takes 1 tensor inputs"):
        program(ember.tensor(X), ember.tensor(X))
    assert "ONNXProgram(" in repr(program) and "Gemm" in repr(program)


@pytest.mark.parametrize("name", ["save", "initialize_inference_session", "release",
                                  "__call__"])
def test_signatures_match_torch(name):
    ours = inspect.signature(getattr(ember.onnx.ONNXProgram, name))
    theirs = inspect.signature(getattr(torch.onnx.ONNXProgram, name))
    assert list(ours.parameters) == list(theirs.parameters)
    assert isinstance(torch.onnx.ONNXProgram.model_proto, property)
    assert isinstance(ember.onnx.ONNXProgram.model_proto, property)


def _rotary_cases():
    rng = np.random.default_rng(0)

    def arr(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    batch, heads, seq, head_size = 2, 3, 4, 8
    cases = []
    for interleaved in (False, True):
        for rot in (0, 4):
            half = (rot or head_size) // 2
            cases.append(((arr(batch, heads, seq, head_size), arr(6, half), arr(6, half),
                           rng.integers(0, 6, (batch, seq))),
                          dict(interleaved=interleaved, rotary_embedding_dim=rot)))
            cases.append(((arr(batch, seq, heads * head_size), arr(batch, seq, half),
                           arr(batch, seq, half), None),
                          dict(interleaved=interleaved, rotary_embedding_dim=rot,
                               num_heads=heads)))
    return cases


@pytest.mark.parametrize("index", range(8))
def test_rotary_embedding_matches_torch(index):
    arrays, options = _rotary_cases()[index]

    def run(lib, ops):
        return ops.rotary_embedding(*(None if a is None else lib.tensor(a) for a in arrays),
                                    **options)

    torch.testing.assert_close(torch.from_numpy(run(ember, ember.onnx.ops).numpy()),
                               run(torch, torch.onnx.ops))


@pytest.mark.parametrize("index", [2, 7])
def test_rotary_embedding_gradients(index):
    """PyTorch registers no backward for this op (backward raises); ember's is built from
    differentiable ops, checked here in float64."""
    arrays, options = _rotary_cases()[index]
    tensors = [None if a is None else ember.tensor(a.astype(np.float64) if a.dtype.kind == "f"
                                                   else a) for a in arrays]
    for tensor in tensors[:3]:
        tensor.requires_grad_()

    def fn(x, cos, sin):
        return ember.onnx.ops.rotary_embedding(x, cos, sin, tensors[3], **options)

    assert ember.autograd.gradcheck(fn, tuple(tensors[:3]))


@pytest.mark.parametrize("shapes, match", [
    (((2, 4, 6), (2, 4, 3), (2, 4, 3)), "num_heads must be provided for 3D inputs"),
    (((2, 4), (2, 4, 3), (2, 4, 3)), "x should be a 4D tensor by now"),
    (((1, 2, 4, 6), (8, 3), (8, 3)), "must be 3D when position_ids is not provided"),
])
def test_rotary_embedding_errors_match_torch(shapes, match):
    for lib, ops in ((ember, ember.onnx.ops), (torch, torch.onnx.ops)):
        with pytest.raises(RuntimeError, match=match):
            ops.rotary_embedding(*(lib.ones(*shape) for shape in shapes))


def _attention_cases():
    rng = np.random.default_rng(1)

    def arr(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    b, hq, hk, s, t, d = 2, 4, 2, 3, 5, 8
    return [
        ((arr(b, hq, s, d), arr(b, hq, t, d), arr(b, hq, t, d)), {}),
        ((arr(b, hq, s, d), arr(b, hk, t, d), arr(b, hk, t, 6)), {}),  # GQA, other v size
        ((arr(b, hq, s, d), arr(b, hq, t, d), arr(b, hq, t, d)), dict(is_causal=True)),
        ((arr(b, hq, s, d), arr(b, hq, t, d), arr(b, hq, t, d), rng.random((s, t)) > 0.3),
         dict(is_causal=True)),
        ((arr(b, hq, s, d), arr(b, hq, t, d), arr(b, hq, t, d), arr(b, 1, s, t)),
         dict(qk_matmul_output_mode=1)),
        ((arr(b, hq, s, d), arr(b, hq, t, d), arr(b, hq, t, d)),
         dict(softcap=2.0, qk_matmul_output_mode=2, scale=0.3)),
        ((arr(b, hq, s, d), arr(b, hq, t, d), arr(b, hq, t, d)), dict(qk_matmul_output_mode=3)),
        ((arr(b, s, hq * d), arr(b, t, hk * d), arr(b, t, hk * d)),
         dict(q_num_heads=hq, kv_num_heads=hk)),
        ((arr(b, hq, s, d), arr(b, hq, s, d), arr(b, hq, s, d), None, arr(b, hq, 2, d),
          arr(b, hq, 2, d)), dict(is_causal=True)),
    ]


@pytest.mark.parametrize("index", range(9))
def test_attention_matches_torch(index):
    arrays, options = _attention_cases()[index]
    ours = ember.onnx.ops.attention(*(None if a is None else ember.tensor(a) for a in arrays),
                                    **options)
    theirs = torch.onnx.ops.attention(*(None if a is None else torch.tensor(a) for a in arrays),
                                      **options)
    assert len(ours) == len(theirs) == 4
    for mine, reference in zip(ours, theirs):
        torch.testing.assert_close(torch.from_numpy(mine.numpy()), reference)


def test_attention_gradients_and_errors():
    rng = np.random.default_rng(2)
    q, k, v = (ember.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
               for _ in range(3))
    assert ember.autograd.gradcheck(
        lambda q, k, v: ember.onnx.ops.attention(q, k, v, is_causal=True, softcap=3.0)[0],
        (q, k, v))
    for lib, ops in ((ember, ember.onnx.ops), (torch, torch.onnx.ops)):
        x = lib.ones(1, 4, 2, 8)
        with pytest.raises(RuntimeError, match=r"q_num_heads \(4\) must be divisible by "
                                               r"kv_num_heads \(3\)"):
            ops.attention(x, lib.ones(1, 3, 2, 8), lib.ones(1, 3, 2, 8))
        flat = lib.ones(1, 2, 32)
        with pytest.raises(RuntimeError, match="must be provided for 3D inputs"):
            ops.attention(flat, flat, flat)
    x = ember.ones(1, 4, 2, 8)
    with pytest.raises(RuntimeError, match="qk_matmul_output_mode must be 0, 1, 2, or 3"):
        ember.onnx.ops.attention(x, x, x, qk_matmul_output_mode=4)
    with pytest.raises(RuntimeError, match="past_key and past_value"):
        ember.onnx.ops.attention(x, x, x, past_key=ember.ones(1, 4, 1, 8))
