"""ember.onnx.export's API as torch.onnx.export(dynamo=False) has it: where the file
goes, argument forms, names, dynamic axes, modes, opsets, errors, and that exporting
leaves the model, its inputs and the autograd hot path as they were."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings

import numpy as np
import onnx
import oracle
import pytest
import torch
from oracle import as_numpy

import ember
from ember import nn
from ember.autograd import function as autograd_function

sys.path.insert(0, os.path.dirname(__file__))
from _onnx_harness import Fn, TorchFn, check, export_bytes, run_onnx


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


RNG = np.random.default_rng(5)


def _f(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _mlp():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))


def _expected(model, *arrays):
    with ember.no_grad():
        return as_numpy(model.eval()(*(ember.tensor(a) for a in arrays)))


def test_writes_to_a_path_and_to_a_file_object(tmp_path):
    model, x = _mlp(), _f(2, 4)
    path = tmp_path / "mlp.onnx"
    ember.onnx.export(model, ember.tensor(x), str(path))
    ember.onnx.export(model, (ember.tensor(x),), tmp_path / "mlp2.onnx")  # a PathLike
    buffer = io.BytesIO()
    ember.onnx.export(model, ember.tensor(x), buffer)
    assert path.read_bytes() == buffer.getvalue() == (tmp_path / "mlp2.onnx").read_bytes()
    onnx.checker.check_model(str(path))
    np.testing.assert_allclose(run_onnx(path.read_bytes(), [x])[0], _expected(model, x),
                               rtol=1.3e-6, atol=1e-5)


class _TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x, y=None, scale=1.0):
        out = self.fc(x) * scale
        return out if y is None else (out + y, out - y)


def test_trailing_dict_is_keyword_arguments_and_names_are_used():
    model = _TwoInputs()
    x, y = _f(2, 4), _f(2, 4)
    data = export_bytes(model, (ember.tensor(x), {"y": ember.tensor(y), "scale": 2.0}),
                        input_names=["x", "y"], output_names=["sum", "difference"])
    graph = onnx.load_from_string(data).graph
    assert [i.name for i in graph.input] == ["x", "y"]
    assert [o.name for o in graph.output] == ["sum", "difference"]
    total, difference = run_onnx(data, [x, y])
    with ember.no_grad():
        want = model(ember.tensor(x), y=ember.tensor(y), scale=2.0)
    np.testing.assert_allclose(total, as_numpy(want[0]), rtol=1.3e-6, atol=1e-5)
    np.testing.assert_allclose(difference, as_numpy(want[1]), rtol=1.3e-6, atol=1e-5)
    # the kwargs= argument is the same thing
    again = export_bytes(model, (ember.tensor(x),), kwargs={"y": ember.tensor(y), "scale": 2.0},
                         input_names=["x", "y"], output_names=["sum", "difference"])
    assert again == data


def test_default_names_and_an_output_that_is_an_input():
    data = export_bytes(Fn(lambda t, x, y: (x, x + y)), (ember.randn(2), ember.randn(2)))
    graph = onnx.load_from_string(data).graph
    assert [i.name for i in graph.input] == ["input_0", "input_1"]
    assert [o.name for o in graph.output] == ["output_0", "output_1"]
    x, y = _f(2), _f(2)
    first, second = run_onnx(data, [x, y])
    np.testing.assert_array_equal(first, x)
    np.testing.assert_allclose(second, x + y)


def test_dynamic_axes_list_and_dict_forms():
    model = _mlp()
    data = export_bytes(model, ember.randn(2, 4), input_names=["x"], output_names=["y"],
                        dynamic_axes={"x": [0], "y": {0: "batch"}})
    graph = onnx.load_from_string(data).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "x_dynamic_axes_1"
    assert graph.input[0].type.tensor_type.shape.dim[1].dim_value == 4
    assert graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    for batch in (1, 7):
        x = _f(batch, 4)
        np.testing.assert_allclose(run_onnx(data, [x])[0], _expected(model, x), rtol=1.3e-6,
                                   atol=1e-5)


def test_static_export_keeps_the_traced_shapes():
    data = export_bytes(_mlp(), ember.randn(2, 4))
    dims = onnx.load_from_string(data).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [2, 4]


def test_flatten_and_view_do_not_bake_the_batch():
    """view(x.size(0), -1) and Flatten export as Flatten / Reshape with 0 and -1."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 3, 3)
            self.flat = nn.Flatten()

        def forward(self, x):
            y = self.conv(x)
            return self.flat(y) + y.view(y.size(0), -1) + y.reshape(y.shape[0], 3, -1).flatten(1)

    model = Net()
    data = export_bytes(model, ember.randn(2, 2, 5, 5), input_names=["x"],
                        dynamic_axes={"x": {0: "n"}})
    graph = onnx.load_from_string(data).graph
    shapes = {i.name: onnx.numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Reshape":
            assert 2 not in shapes[node.input[1]].tolist()  # the traced batch size
    x = _f(5, 2, 5, 5)
    np.testing.assert_allclose(run_onnx(data, [x])[0], _expected(model, x), rtol=1e-4,
                               atol=1e-4)


def test_training_mode():
    model = _mlp().train()
    data = export_bytes(model, ember.randn(3, 4))  # EVAL: dropout is the identity
    assert "Dropout" not in {n.op_type for n in onnx.load_from_string(data).graph.node}
    assert model.training and all(m.training for m in model.modules())
    model.eval()
    export_bytes(model, ember.randn(3, 4), training=ember.onnx.TrainingMode.PRESERVE)
    assert not model.training
    assert ember.onnx.TrainingMode.EVAL.value == torch.onnx.TrainingMode.EVAL.value == 0
    assert [m.name for m in ember.onnx.TrainingMode] == list(torch.onnx.TrainingMode.__members__)


def test_is_in_onnx_export():
    seen = []

    def forward(t, x):
        seen.append(t.onnx.is_in_onnx_export())
        return x * 2

    assert not ember.onnx.is_in_onnx_export()
    export_bytes(Fn(forward), ember.randn(2))
    assert seen == [True] and not ember.onnx.is_in_onnx_export()


def test_export_params_false_and_keep_initializers_as_inputs():
    model = _mlp()
    names = list(model.state_dict())
    data = export_bytes(model, ember.randn(2, 4), input_names=["x"], export_params=False)
    graph = onnx.load_from_string(data).graph
    assert [i.name for i in graph.input] == ["x", *names]
    assert not graph.initializer
    data = export_bytes(model, ember.randn(2, 4), input_names=["x"],
                        keep_initializers_as_inputs=True)
    graph = onnx.load_from_string(data).graph
    assert [i.name for i in graph.input][:1] == ["x"]
    assert {i.name for i in graph.input} >= set(names)
    assert {i.name for i in graph.initializer} >= set(names)


@pytest.mark.parametrize("opset", [13, 15, 17, 18, 20])
def test_opsets(opset):
    """Reductions take axes as an attribute before 18 and an input from 18; LayerNorm is
    one node from 17 and Gelu from 20."""

    def forward(t, x, y):
        h = t.nn.functional.layer_norm(x, (4,)) + x.mean(-1, keepdim=True)
        h = t.nn.functional.gelu(h) + x.amax(1, keepdim=True) + y.sum(0)
        return t.nn.functional.max_pool1d(h, 2) + t.nn.functional.avg_pool1d(h, 2)

    data = check(Fn(forward), TorchFn(forward), [_f(2, 3, 4), _f(3, 4)], opset_version=opset)
    proto = onnx.load_from_string(data)
    assert proto.opset_import[0].version == opset
    assert proto.ir_version == {13: 7, 15: 8, 17: 8, 18: 8, 20: 9}[opset]  # the oldest allowed


def test_bad_opset_and_bad_file():
    with pytest.raises(ValueError, match="opset"):
        ember.onnx.export(_mlp(), ember.randn(1, 4), io.BytesIO(), opset_version=7)
    with pytest.raises(TypeError, match="file-like"):
        ember.onnx.export(_mlp(), ember.randn(1, 4), 12)


def test_unsupported_operator_names_the_op():
    model = Fn(lambda t, x: x.lgamma())
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError, match="Lgamma") as info:
        ember.onnx.export(model, ember.randn(3), io.BytesIO())
    assert "opset version 17" in str(info.value)
    # PyTorch's hierarchy: UnsupportedOperatorError < OnnxExporterError < RuntimeError
    assert isinstance(info.value, ember.onnx.OnnxExporterError)
    assert isinstance(info.value, RuntimeError)
    assert issubclass(torch.onnx.errors.UnsupportedOperatorError, RuntimeError)
    # the hook is removed even when the trace fails
    assert autograd_function.trace_hook[0] is None


def test_ops_on_constants_are_folded():
    """An unsupported op applied to constants only is computed at export time."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("steps", ember.arange(4.0))

        def forward(self, x):
            return x * ember.tensor([1.0, 2.0, 3.0, 4.0]).lgamma() + x

    model = Net()
    data = export_bytes(model, ember.randn(2, 4))
    x = _f(2, 4)
    np.testing.assert_allclose(run_onnx(data, [x])[0], _expected(model, x), rtol=1.3e-6,
                               atol=1e-5)
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError, match="Lgamma"):
        ember.onnx.export(model, ember.randn(2, 4), io.BytesIO(), do_constant_folding=False)


def test_export_leaves_model_inputs_and_autograd_alone():
    model = _mlp()
    x = ember.randn(2, 4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    export_bytes(model, x)
    assert not x.requires_grad and x.grad_fn is None
    assert all(p.grad is None for p in model.parameters())
    for key, value in model.state_dict().items():
        assert ember.equal(value, before[key])
    assert autograd_function.trace_hook[0] is None
    y = (x.requires_grad_() * 2).sum()  # ops record and run as before
    y.backward()
    assert ember.equal(x.grad, ember.full((2, 4), 2.0))


def test_importing_ember_does_not_import_onnx():
    code = "import sys, ember, ember.onnx; assert 'onnx' not in sys.modules, 'onnx imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_grad_inside_forward_warns():
    class Net(nn.Module):
        def forward(self, x):
            with ember.no_grad():
                scale = x.abs().amax()
            return x / scale

    with pytest.warns(ember.onnx.errors.TracerWarning, match="no_grad"):
        export_bytes(Net(), ember.randn(3))
    assert not ember.onnx.is_in_onnx_export()
    with ember.no_grad():  # no warning outside an export
        assert ember.randn(2).sum() is not None


class _ScaledRelu(ember.autograd.Function):
    """A user Function: ``symbolic`` tells the exporter its ONNX form, as in PyTorch."""

    @staticmethod
    def forward(ctx, x, alpha):
        return x.clamp(min=0) * alpha

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @staticmethod
    def symbolic(g, x, alpha):
        return g.op("Mul", g.op("Relu", x), g.op("Constant", value_t=ember.tensor(alpha)))


class _NoSymbolic(_ScaledRelu):
    symbolic = None


def test_user_function_with_symbolic():
    model = Fn(lambda t, x: _ScaledRelu.apply(x, 1.5) + 1)
    data = export_bytes(model, ember.randn(3, 2))
    x = _f(3, 2)
    np.testing.assert_allclose(run_onnx(data, [x])[0], np.maximum(x, 0) * 1.5 + 1, rtol=1e-6)
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError, match="_NoSymbolic"):
        export_bytes(Fn(lambda t, x: _NoSymbolic.apply(x, 1.5)), ember.randn(3, 2))


def test_dynamic_shapes_as_dynamo_takes_them():
    model = _TwoInputs()
    batch = torch.export.Dim("batch")
    data = export_bytes(model, (ember.randn(2, 4), ember.randn(2, 4)), dynamo=True,
                        dynamic_shapes={"x": {0: batch}, "y": (batch, None)})
    graph = onnx.load_from_string(data).graph
    assert [i.type.tensor_type.shape.dim[0].dim_param for i in graph.input] == ["batch"] * 2
    x, y = _f(5, 4), _f(5, 4)
    with ember.no_grad():
        want = model(ember.tensor(x), ember.tensor(y))
    for got, expected in zip(run_onnx(data, [x, y]), want):
        np.testing.assert_allclose(got, as_numpy(expected), rtol=1.3e-6, atol=1e-5)


def _twice(t, x):
    doubled = x * 2
    return doubled, doubled


def test_the_same_tensor_returned_twice():
    model = Fn(lambda t, x: (x * 2, x * 2 + 0, x.relu()))
    shared = Fn(_twice)
    x = _f(3)
    for module in (model, shared):
        data = export_bytes(module, ember.tensor(x), output_names=["a", "b"])
        outputs = run_onnx(data, [x])
        np.testing.assert_allclose(outputs[0], x * 2)
        np.testing.assert_allclose(outputs[1], x * 2)


def test_verify_runs_onnxruntime_against_the_model():
    model = _TwoInputs()
    args = (ember.randn(2, 4), {"y": ember.randn(2, 4), "scale": 3.0})
    export_bytes(model, args, verify=True)
    export_bytes(_mlp(), ember.randn(2, 4), verify=True, export_params=False)

    class Replays(nn.Module):
        """float(...) leaves the trace: the sum is exported as the traced constant."""

        def forward(self, x):
            return x * float(x.sum())

    # exported with warnings only (PyTorch's tracer warns the same way) ...
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export_bytes(Replays(), ember.randn(3))
    tracer_warnings = [w for w in caught if w.category is ember.onnx.errors.TracerWarning]
    assert len(tracer_warnings) == 1
    assert "Converting a tensor to a Python float" in str(tracer_warnings[0].message)
    # ... and caught by verification
    with pytest.raises(ember.onnx.OnnxExporterError, match="fresh inputs"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_bytes(Replays(), ember.randn(3), verify=True)


def test_forward_may_write_to_its_input_in_place():
    class Net(nn.Module):
        def forward(self, x):
            x.mul_(2).add_(1)
            return x.relu_()

    x = _f(2, 3)
    data = export_bytes(Net(), ember.tensor(x))
    np.testing.assert_allclose(run_onnx(data, [x])[0], np.maximum(x * 2 + 1, 0), rtol=1e-6)


def test_verify_an_exported_file(tmp_path):
    model = _mlp()
    x = ember.randn(2, 4)
    path = tmp_path / "mlp.onnx"
    ember.onnx.export(model, x, path)
    ember.onnx.verify(model, x, path)
    ember.onnx.verify(model, (x,), path.read_bytes())
    with open(path, "rb") as handle:
        ember.onnx.verify(model, x, handle)
    with ember.no_grad():
        model[0].bias.add_(1.0)  # the model moved on: the file no longer matches it
    with pytest.raises(ember.onnx.OnnxExporterError, match="example inputs"):
        ember.onnx.verify(model, x, path)


def test_register_custom_op_symbolic():
    """An op without a converter exports once a symbolic is registered for it (from its
    opset on); PyTorch's aten name for the op works too."""

    def doubled(g, x):  # not lgamma: only to see that the registered symbolic is used
        return g.op("Mul", x, g.op("Constant", value_t=ember.tensor(2.0)))

    model = Fn(lambda t, x: x.lgamma())
    ember.onnx.register_custom_op_symbolic("aten::lgamma", doubled, 15)
    try:
        data = export_bytes(model, ember.randn(3), opset_version=17)
        x = _f(3)
        np.testing.assert_allclose(run_onnx(data, [x])[0], x * 2, rtol=1e-6)
        with pytest.raises(ember.onnx.errors.UnsupportedOperatorError):
            ember.onnx.export(model, ember.randn(3), io.BytesIO(), opset_version=14)
    finally:
        ember.onnx.unregister_custom_op_symbolic("ember::Lgamma", 15)
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError):
        ember.onnx.export(model, ember.randn(3), io.BytesIO())
    with pytest.raises(ValueError, match="domain::name"):
        ember.onnx.register_custom_op_symbolic("lgamma", doubled, 15)


def test_training_mode_exports_batch_statistics_and_dropout():
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.0))
    x = ember.randn(5, 4)
    data = export_bytes(model, x, training=ember.onnx.TrainingMode.TRAINING)
    with ember.no_grad():
        expected = as_numpy(model.train()(x))  # batch statistics
    np.testing.assert_allclose(run_onnx(data, [as_numpy(x)])[0], expected, rtol=1e-5, atol=1e-6)
    data = export_bytes(nn.Dropout(0.5), ember.randn(400),
                        training=ember.onnx.TrainingMode.TRAINING)
    assert "Dropout" in {n.op_type for n in onnx.load_from_string(data).graph.node}
    ones = np.ones(400, np.float32)
    first, second = run_onnx(data, [ones])[0], run_onnx(data, [ones])[0]
    assert set(np.unique(first)) <= {0.0, 2.0} and not np.array_equal(first, second)
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError, match="feature_dropout"):
        ember.onnx.export(nn.Dropout2d(0.5), ember.randn(2, 3, 4, 4), io.BytesIO(),
                          training=ember.onnx.TrainingMode.TRAINING)
