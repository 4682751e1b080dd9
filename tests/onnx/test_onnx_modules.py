"""ember.onnx.export for layers and whole models: the same architecture is built with
ember.nn and torch.nn, ember's weights are copied into torch, and onnxruntime's outputs
for the exported file are compared with both."""

from __future__ import annotations

import os
import sys

import numpy as np
import oracle
import pytest
import torch
from oracle import as_numpy

import ember

sys.path.insert(0, os.path.dirname(__file__))
from _onnx_harness import copy_weights, check  # noqa: I001


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


RNG = np.random.default_rng(11)


def _f(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _randomize_stats(model):
    """Non-trivial running statistics, so eval-mode batch norm is really tested."""
    with ember.no_grad():
        for name, buffer in model.named_buffers():
            if name.endswith("running_mean"):
                buffer.copy_(ember.tensor(_f(*buffer.shape)))
            elif name.endswith("running_var"):
                buffer.copy_(ember.tensor(RNG.uniform(0.5, 2.0, buffer.shape).astype(np.float32)))
    return model


class LeNet:
    """LeNet-5 for 1x28x28 inputs, written against either library's nn."""

    @staticmethod
    def build(nn):
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
                self.pool = nn.MaxPool2d(2)
                self.conv2 = nn.Conv2d(6, 16, 5)
                self.fc1 = nn.Linear(16 * 5 * 5, 120)
                self.fc2 = nn.Linear(120, 84)
                self.fc3 = nn.Linear(84, 10)

            def forward(self, x):
                x = self.pool(nn.functional.relu(self.conv1(x)))
                x = self.pool(nn.functional.relu(self.conv2(x)))
                x = x.view(x.size(0), -1)
                x = nn.functional.relu(self.fc1(x))
                x = nn.functional.relu(self.fc2(x))
                return nn.functional.log_softmax(self.fc3(x), dim=1)

        return Net()


# id -> (builder(nn), inputs, tolerance or None)
_CONV_TOL = (1e-4, 1e-4)  # onnxruntime's convolution kernels sum in another order
LAYERS = {
    "linear_3d": (lambda nn: nn.Linear(4, 6), [_f(2, 3, 4)], None),
    "linear_no_bias": (lambda nn: nn.Linear(4, 6, bias=False), [_f(5, 4)], None),
    "conv1d": (lambda nn: nn.Conv1d(3, 4, 3, stride=2, padding=1), [_f(2, 3, 11)], _CONV_TOL),
    "conv2d_groups_dilation": (lambda nn: nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2),
                               [_f(2, 4, 9, 8)], _CONV_TOL),
    "conv2d_same": (lambda nn: nn.Conv2d(3, 4, (2, 3), padding="same"), [_f(1, 3, 6, 7)],
                    _CONV_TOL),
    "conv_transpose2d": (lambda nn: nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1,
                                                       output_padding=1), [_f(2, 4, 5, 5)],
                         _CONV_TOL),
    "batchnorm1d": (lambda nn: nn.BatchNorm1d(5), [_f(4, 5)], None),
    "batchnorm1d_3d": (lambda nn: nn.BatchNorm1d(5, affine=False), [_f(4, 5, 3)], None),
    "batchnorm2d": (lambda nn: nn.BatchNorm2d(3), [_f(2, 3, 4, 4)], None),
    "layernorm": (lambda nn: nn.LayerNorm(6), [_f(2, 3, 6)], None),
    "layernorm_2d_no_affine": (lambda nn: nn.LayerNorm((3, 6), elementwise_affine=False),
                               [_f(2, 3, 6)], None),
    "groupnorm": (lambda nn: nn.GroupNorm(2, 4), [_f(2, 4, 3, 3)], None),
    "instancenorm": (lambda nn: nn.InstanceNorm2d(3, affine=True), [_f(2, 3, 4, 5)], None),
    "activations": (lambda nn: nn.Sequential(nn.ReLU(), nn.LeakyReLU(0.1), nn.GELU(), nn.SiLU(),
                                             nn.Sigmoid(), nn.Tanh(), nn.Softmax(-1)),
                    [_f(2, 3, 5)], None),
    "log_softmax": (lambda nn: nn.LogSoftmax(dim=1), [_f(2, 7)], None),
    "maxpool2d": (lambda nn: nn.MaxPool2d(3, stride=2, padding=1), [_f(2, 3, 9, 8)], None),
    "maxpool2d_ceil_dilation": (lambda nn: nn.MaxPool2d(2, ceil_mode=True, dilation=1),
                                [_f(1, 2, 7, 7)], None),
    "maxpool1d": (lambda nn: nn.MaxPool1d(2), [_f(2, 3, 9)], None),
    "avgpool2d": (lambda nn: nn.AvgPool2d(3, stride=2, padding=1), [_f(2, 3, 9, 8)], None),
    "avgpool2d_exclude_pad": (lambda nn: nn.AvgPool2d(3, stride=2, padding=1,
                                                      count_include_pad=False),
                              [_f(2, 3, 9, 8)], None),
    "adaptive_avgpool_1": (lambda nn: nn.AdaptiveAvgPool2d(1), [_f(2, 3, 5, 6)], None),
    "adaptive_avgpool_divisible": (lambda nn: nn.AdaptiveAvgPool2d((2, 3)), [_f(2, 3, 4, 6)],
                                   None),
    "adaptive_avgpool_uneven": (lambda nn: nn.AdaptiveAvgPool2d((3, 4)), [_f(2, 3, 5, 7)],
                                None),
    "adaptive_maxpool": (lambda nn: nn.Sequential(nn.AdaptiveMaxPool2d((3, 2)),
                                                  nn.AdaptiveMaxPool2d(1)), [_f(2, 3, 6, 4)],
                         None),
    "prelu_hardswish_shuffle": (lambda nn: nn.Sequential(
        nn.Conv2d(4, 4, 1), nn.PReLU(4), nn.Hardswish(), nn.ChannelShuffle(2), nn.Softmax2d()),
        [_f(2, 4, 3, 3)], None),
    "flatten_dropout": (lambda nn: nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(12, 3)),
                        [_f(2, 3, 2, 2)], None),
    "embedding": (lambda nn: nn.Embedding(10, 4), [RNG.integers(0, 10, (2, 5))], None),
    "mlp": (lambda nn: nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.1),
                                     nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3)),
            [_f(4, 8)], None),
    "lenet": (LeNet.build, [_f(2, 1, 28, 28)], _CONV_TOL),
}


def _pair(builder):
    ember.manual_seed(0)
    mine = _randomize_stats(builder(ember.nn))
    theirs = copy_weights(mine, builder(torch.nn))
    return mine, theirs


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on even kernels
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer(name):
    builder, inputs, tolerance = LAYERS[name]
    mine, theirs = _pair(builder)
    rtol, atol = tolerance or (None, None)
    check(mine, theirs, inputs, rtol=rtol, atol=atol)


def test_parameters_are_named_by_state_dict_keys():
    import onnx

    mine, _ = _pair(LeNet.build)
    data = check(mine, None, [_f(1, 1, 28, 28)], rtol=1e-4, atol=1e-4,
                 input_names=["image"], output_names=["scores"])
    graph = onnx.load_from_string(data).graph
    assert {t.name for t in graph.initializer} >= set(mine.state_dict())
    assert [i.name for i in graph.input] == ["image"]
    assert [o.name for o in graph.output] == ["scores"]
    # nodes are scoped by the submodule that made them, as PyTorch's exporter names them
    assert [n.name for n in graph.node if n.op_type == "Conv"] == ["/conv1/Conv", "/conv2/Conv"]
    assert [n.name for n in graph.node if n.op_type == "Relu"][:2] == ["/Relu", "/Relu_1"]


def test_resnet18_dynamic_batch():
    """resnet18 exported at batch 1 runs at batch 3 (dynamic_axes on dim 0); in-place
    ReLU and ``out += identity`` resolve to the values they wrote."""
    from _onnx_harness import export_bytes, run_onnx

    from ember.vision.models import resnet18

    ember.manual_seed(0)
    model = _randomize_stats(resnet18(num_classes=10)).eval()
    data = export_bytes(model, ember.tensor(_f(1, 3, 64, 64)), input_names=["x"],
                        output_names=["logits"],
                        dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    batch = _f(3, 3, 64, 64)
    (got,) = run_onnx(data, [batch])
    with ember.no_grad():
        expected = as_numpy(model(ember.tensor(batch)))
    # 20 stacked convolutions summed in onnxruntime's order: float32 rounding accumulates
    torch.testing.assert_close(torch.from_numpy(got), torch.from_numpy(expected),
                               rtol=1e-3, atol=1e-3)


SEQUENCES = {
    "transformer_encoder_layer": (lambda nn: nn.TransformerEncoderLayer(
        16, 4, 32, dropout=0.1, batch_first=True), [_f(2, 5, 16)]),
    "transformer_encoder_layer_gelu_norm_first": (lambda nn: nn.TransformerEncoderLayer(
        16, 2, 32, activation="gelu", norm_first=True), [_f(5, 2, 16)]),
    "lstm": (lambda nn: nn.LSTM(16, 8, batch_first=True), [_f(2, 5, 16)]),
    "lstm_2_layers_bidirectional": (lambda nn: nn.LSTM(16, 8, num_layers=2,
                                                       bidirectional=True), [_f(5, 2, 16)]),
    "lstm_no_bias": (lambda nn: nn.LSTM(16, 8, bias=False), [_f(5, 2, 16)]),
    "gru_2_layers": (lambda nn: nn.GRU(16, 8, num_layers=2), [_f(5, 2, 16)]),
    "rnn_relu": (lambda nn: nn.RNN(16, 8, nonlinearity="relu", batch_first=True),
                 [_f(2, 5, 16)]),
}


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_sequence_model(name):
    builder, inputs = SEQUENCES[name]
    mine, theirs = _pair(builder)
    # softmax attention / 5 recurrent steps in onnxruntime's summation order
    check(mine, theirs, inputs, rtol=1e-4, atol=1e-4)


class TextClassifier:
    """Embedding -> LSTM -> last step -> Linear: integer input, dynamic batch."""

    @staticmethod
    def build(nn):
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(20, 8)
                self.lstm = nn.LSTM(8, 12, batch_first=True)
                self.head = nn.Linear(12, 3)

            def forward(self, tokens):
                out, (h, _) = self.lstm(self.embed(tokens))
                return self.head(out[:, -1]) + self.head(h[-1])

        return Net()


def test_embedding_lstm_dynamic_batch():
    from _onnx_harness import run_onnx

    mine, theirs = _pair(TextClassifier.build)
    tokens = RNG.integers(0, 20, (2, 6))
    data = check(mine, theirs, [tokens], rtol=1e-4, atol=1e-4, input_names=["tokens"],
                 dynamic_axes={"tokens": {0: "batch"}})
    bigger = RNG.integers(0, 20, (5, 6))
    (got,) = run_onnx(data, [bigger])
    with torch.no_grad():
        expected = as_numpy(theirs(torch.from_numpy(bigger)))
    torch.testing.assert_close(torch.from_numpy(got), torch.from_numpy(expected), rtol=1e-4,
                               atol=1e-4)


def test_transformer_dynamic_batch():
    from _onnx_harness import run_onnx

    builder = SEQUENCES["transformer_encoder_layer"][0]
    mine, theirs = _pair(builder)
    data = check(mine, theirs, [_f(2, 5, 16)], rtol=1e-4, atol=1e-4,
                 dynamic_axes={"input": [0], "output": [0]})
    bigger = _f(4, 5, 16)
    (got,) = run_onnx(data, [bigger])
    with torch.no_grad():
        expected = as_numpy(theirs.eval()(torch.from_numpy(bigger)))
    torch.testing.assert_close(torch.from_numpy(got), torch.from_numpy(expected), rtol=1e-4,
                               atol=1e-4)


def test_export_from_the_test_device():
    """A model and inputs on the test device (``--device cuda``: CuPy arrays) export the
    same file contents: parameters, buffers and constants are copied to the host."""
    from _onnx_harness import export_bytes, run_onnx
    from oracle import DEVICE

    def build(nn):
        return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Upsample(scale_factor=2, mode="bilinear"),
                             nn.AdaptiveAvgPool2d((3, 2)), nn.Flatten(), nn.Linear(24, 5))

    mine, theirs = _pair(build)
    x = _f(2, 3, 8, 8)
    mine = mine.to(DEVICE).eval()
    data = export_bytes(mine, ember.tensor(x, device=DEVICE))
    (got,) = run_onnx(data, [x])
    with torch.no_grad():
        expected = as_numpy(theirs.eval()(torch.from_numpy(x)))
    torch.testing.assert_close(torch.from_numpy(got), torch.from_numpy(expected), rtol=1e-4,
                               atol=1e-4)


def test_vision_transformer_dynamic_batch():
    """The class token is expanded to the batch: the expand follows the input's batch dim
    at run time instead of the traced one."""
    from _onnx_harness import export_bytes, run_onnx

    from ember.vision.models.vision_transformer import VisionTransformer

    ember.manual_seed(0)
    model = VisionTransformer(image_size=16, patch_size=8, num_layers=1, num_heads=2,
                              hidden_dim=16, mlp_dim=32, num_classes=5).eval()
    with ember.no_grad():
        for parameter in model.heads.parameters():  # zero-initialised, as torchvision's
            parameter.copy_(ember.randn(*parameter.shape))
    data = export_bytes(model, ember.tensor(_f(2, 3, 16, 16)), input_names=["x"],
                        dynamic_axes={"x": {0: "batch"}})
    images = _f(3, 3, 16, 16)
    (got,) = run_onnx(data, [images])
    with ember.no_grad():
        expected = as_numpy(model(ember.tensor(images)))
    assert np.abs(expected).max() > 0.1
    torch.testing.assert_close(torch.from_numpy(got), torch.from_numpy(expected), rtol=1e-4,
                               atol=1e-4)


class MaskedAttention:
    @staticmethod
    def build(nn):
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.attention = nn.MultiheadAttention(16, 4, batch_first=True)

            def forward(self, x, padding):
                return self.attention(x, x, x, key_padding_mask=padding)[0]

        return Net()


def test_attention_with_a_padding_mask_input():
    """A bool mask is a graph input: the file follows the mask it is given at run time
    (masked_fill_ into a fresh tensor, then view/expand/reshape of the mask)."""
    from _onnx_harness import run_onnx

    mine, theirs = _pair(MaskedAttention.build)
    x = _f(2, 5, 16)
    mask = np.array([[False] * 4 + [True], [False] * 5])
    data = check(mine, theirs, [x, mask], rtol=1e-4, atol=1e-4)
    other = np.array([[False, True, False, True, False], [False] * 3 + [True] * 2])
    (got,) = run_onnx(data, [x, other])
    with torch.no_grad():
        expected = as_numpy(theirs(torch.from_numpy(x), torch.from_numpy(other)))
    torch.testing.assert_close(torch.from_numpy(got), torch.from_numpy(expected), rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("batch_first", [True, False])
def test_transformer_dynamic_batch_and_sequence(batch_first):
    """Two dynamic dims: the reshapes that split heads follow both at run time."""
    from _onnx_harness import export_bytes, run_onnx

    ember.manual_seed(0)
    model = ember.nn.TransformerEncoderLayer(16, 4, 32, batch_first=batch_first).eval()
    shape, axes = ((2, 5, 16), {0: "batch", 1: "sequence"}) if batch_first else \
        ((5, 2, 16), {0: "sequence", 1: "batch"})
    data = export_bytes(model, ember.tensor(_f(*shape)), input_names=["x"],
                        dynamic_axes={"x": axes, "output": axes})
    other = _f(3, 7, 16) if batch_first else _f(7, 3, 16)
    (got,) = run_onnx(data, [other])
    with ember.no_grad():
        expected = as_numpy(model(ember.tensor(other)))
    torch.testing.assert_close(torch.from_numpy(got), torch.from_numpy(expected), rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("batch_first", [True, False])
def test_lstm_dynamic_batch_and_sequence(batch_first):
    from _onnx_harness import export_bytes, run_onnx

    ember.manual_seed(0)
    model = ember.nn.LSTM(4, 6, num_layers=2, batch_first=batch_first,
                          bidirectional=True).eval()
    shape, axes = ((2, 5, 4), {0: "batch", 1: "sequence"}) if batch_first else \
        ((5, 2, 4), {0: "sequence", 1: "batch"})
    data = export_bytes(model, ember.tensor(_f(*shape)), input_names=["x"],
                        dynamic_axes={"x": axes})
    other = _f(3, 7, 4) if batch_first else _f(7, 3, 4)
    got = run_onnx(data, [other])
    with ember.no_grad():
        out, (h, c) = model(ember.tensor(other))
    for mine, expected in zip(got, (out, h, c)):
        torch.testing.assert_close(torch.from_numpy(mine), torch.from_numpy(as_numpy(expected)),
                                   rtol=1e-4, atol=1e-4)
