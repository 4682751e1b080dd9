"""Activations of quantized tensors against PyTorch's QuantizedCPU kernels: the torch
functions (F.leaky_relu, gelu, hardsigmoid, threshold, hardtanh, relu6, sigmoid, tanh),
torch.ao.nn.quantized.functional and its LeakyReLU / ELU / Sigmoid / Softmax modules.
Integers are compared exactly, at sizes on both sides of ATen's vector step (64 8-bit
values: the last partial step goes through the kernels' scalar path, which rounds
differently), with torch's output scale and zero point; ops torch refuses raise its
NotImplementedError text."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
import ember.ao.quantization as eq

pytestmark = [pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions"),
              pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated"),
              pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max")]

_RNG = np.random.default_rng(7)
_X = (_RNG.standard_normal(300) * 2).astype(np.float32)
# (elements, scale, zero point offset): all-scalar, exact steps, steps plus a tail
_INPUTS = [(24, 0.05, 100), (64, 0.0371, 150), (191, 0.1, 30), (300, 1 / 64, 200)]


def _q(lib, n, scale, zero_point, dtype):
    zp = zero_point if dtype == "quint8" else zero_point - 128
    return lib.quantize_per_tensor(lib.tensor(_X[:n].reshape(-1, 1)), scale, zp,
                                   getattr(lib, dtype))


def _describe(out):
    return (str(out.dtype), out.q_scale(), out.q_zero_point(), out.int_repr().tolist())


FUNCTIONS = {
    "leaky_relu": lambda L, q: L.nn.functional.leaky_relu(q, 0.1),
    "leaky_relu_default": lambda L, q: L.nn.functional.leaky_relu(q),
    "gelu": lambda L, q: L.nn.functional.gelu(q),
    "gelu_tanh": lambda L, q: L.nn.functional.gelu(q, approximate="tanh"),
    "hardsigmoid": lambda L, q: L.nn.functional.hardsigmoid(q),
    "threshold": lambda L, q: L.nn.functional.threshold(q, 0.5, -1.0),
    "threshold_fn": lambda L, q: L.threshold(q, -0.25, 2.0),
    "hardtanh": lambda L, q: L.nn.functional.hardtanh(q, -0.5, 1.5),
    "relu6": lambda L, q: L.nn.functional.relu6(q),
    "sigmoid": lambda L, q: L.sigmoid(q),
    "tanh": lambda L, q: L.nn.functional.tanh(q),
    "module_leaky": lambda L, q: L.nn.LeakyReLU(0.3)(q),
    "module_gelu": lambda L, q: L.nn.GELU()(q),
    "qF_leaky_rescale": lambda L, q: L.ao.nn.quantized.functional.leaky_relu(
        q, 0.2, scale=0.05, zero_point=30),
    "qF_elu": lambda L, q: L.ao.nn.quantized.functional.elu(q, 0.05, 40, 1.5),
    "qF_celu": lambda L, q: L.ao.nn.quantized.functional.celu(q, 0.04, 60, 0.5),
    "qF_threshold": lambda L, q: L.ao.nn.quantized.functional.threshold(q, 0.3, 0.1),
    "qF_hardtanh": lambda L, q: L.ao.nn.quantized.functional.hardtanh(q, -0.5, 0.5),
    "qF_clamp": lambda L, q: L.ao.nn.quantized.functional.clamp(q, -0.5, 0.5),
    "qF_hardsigmoid": lambda L, q: L.ao.nn.quantized.functional.hardsigmoid(q),
    "nnq_LeakyReLU": lambda L, q: L.ao.nn.quantized.LeakyReLU(0.02, 60, 0.1)(q),
    "nnq_ELU": lambda L, q: L.ao.nn.quantized.ELU(0.03, 70, 0.7)(q),
    "nnq_Sigmoid": lambda L, q: L.ao.nn.quantized.Sigmoid(1 / 256, 0)(q),
    "nnq_Softmax": lambda L, q: L.ao.nn.quantized.Softmax(0, 1 / 256, 0)(q),
}


@pytest.mark.parametrize("dtype", ["quint8", "qint8"])
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_quantized_activations_match_torch(name, dtype):
    for n, scale, zero_point in _INPUTS:
        ours = _describe(FUNCTIONS[name](ember, _q(ember, n, scale, zero_point, dtype)))
        theirs = _describe(FUNCTIONS[name](torch, _q(torch, n, scale, zero_point, dtype)))
        assert ours == theirs, (n, scale, zero_point)


INPLACE = {
    "leaky_relu": lambda L, q: L.nn.functional.leaky_relu(q, 0.2, inplace=True),
    "leaky_relu_": lambda L, q: L.nn.functional.leaky_relu_(q, 0.2),
    "hardsigmoid": lambda L, q: L.nn.functional.hardsigmoid(q, inplace=True),
    "hardtanh": lambda L, q: L.nn.functional.hardtanh(q, -1.0, 2.0, inplace=True),
    "threshold": lambda L, q: L.nn.functional.threshold(q, 0.5, -1.0, inplace=True),
    "threshold_": lambda L, q: L.nn.functional.threshold_(q, 0.5, -1.0),
    "elu": lambda L, q: L.nn.functional.elu(q, inplace=True),
}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_activations_match_torch(name):
    """In place, the input itself takes the result (and hardsigmoid's fixed grid), or
    torch's refusal."""
    results = []
    for lib in (ember, torch):
        q = _q(lib, 100, 0.05, 100, "quint8")
        try:
            out = INPLACE[name](lib, q)
            results.append(("ok", out is q, _describe(q)))
        except NotImplementedError as exc:
            results.append(("raise", str(exc).split(". ")[0]))
    assert results[0] == results[1]


REFUSED = {
    "elu": lambda L, q: L.nn.functional.elu(q),
    "selu": lambda L, q: L.nn.functional.selu(q),
    "celu": lambda L, q: L.nn.functional.celu(q),
    "silu": lambda L, q: L.nn.functional.silu(q),
    "mish": lambda L, q: L.nn.functional.mish(q),
    "hardswish": lambda L, q: L.nn.functional.hardswish(q),
    "softplus": lambda L, q: L.nn.functional.softplus(q),
    "leaky_per_channel": lambda L, q: L.nn.functional.leaky_relu(
        L.quantize_per_channel(q.dequantize(), L.tensor([0.1] * 4, dtype=L.float64),
                               L.tensor([3] * 4), 0, L.quint8)),
    "leaky_int": lambda L, q: L.nn.functional.leaky_relu(q.int_repr()),
    "qF_not_quantized": lambda L, q: L.ao.nn.quantized.functional.elu(q.dequantize(),
                                                                      0.1, 3),
    "qF_leaky_inplace_rescale": lambda L, q: L.ao.nn.quantized.functional.leaky_relu(
        q, 0.1, True, 0.1, 3),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refusals_match_torch(name):
    results = []
    for lib in (ember, torch):
        q = _q(lib, 4, 0.05, 100, "quint8")
        with pytest.raises(Exception) as info:
            REFUSED[name](lib, q)
        results.append((type(info.value).__name__, str(info.value).split(". ")[0]))
    assert results[0] == results[1]


def test_modules_reprs_state_dicts_and_convert_match_torch():
    """nn.quantized.LeakyReLU / ELU print and save like torch's; prepare -> calibrate ->
    convert swaps nn.LeakyReLU and nn.ELU for them with torch's observed parameters."""
    for make in (lambda L: L.ao.nn.quantized.LeakyReLU(0.02, 60, 0.1),
                 lambda L: L.ao.nn.quantized.ELU(0.03, 70, 0.7),
                 lambda L: L.ao.nn.quantized.Sigmoid(1 / 256, 0),
                 lambda L: L.ao.nn.quantized.Softmax(1, 0.01, 2)):
        ours, theirs = make(ember), make(torch)
        assert repr(ours) == repr(theirs)
        assert {k: float(v) for k, v in ours.state_dict().items()} == \
            {k: float(v) for k, v in theirs.state_dict().items()}

    def build(lib, aq):
        return lib.nn.Sequential(aq.QuantStub(), lib.nn.LeakyReLU(0.2), lib.nn.ELU(0.5),
                                 aq.DeQuantStub())

    tm, em = build(torch, torch.ao.quantization), build(ember, eq)
    tm.qconfig, em.qconfig = torch.ao.quantization.default_qconfig, eq.default_qconfig
    tp, ep = torch.ao.quantization.prepare(tm.eval()), eq.prepare(em.eval())
    x = (_RNG.standard_normal((4, 30)) * 3).astype(np.float32)
    tp(torch.tensor(x))
    ep(ember.tensor(x))
    tc, ec = torch.ao.quantization.convert(tp), eq.convert(ep)
    assert repr(ec) == repr(tc)
    np.testing.assert_array_equal(ec(ember.tensor(x)).numpy(), tc(torch.tensor(x)).numpy())
