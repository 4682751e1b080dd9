"""Quantized Hardswish / Hardsigmoid (torch.ao.nn.quantized and its functional forms)
against PyTorch: integers bit-exact, output quantizers, reprs, state_dict, errors, and
the eager convert path (Hardswish observed and swapped, Hardsigmoid left unobserved on
its fixed 1/256 grid)."""

from __future__ import annotations

import ember.ao.nn.quantized.functional as eqF
import numpy as np
import pytest
import torch
import torch.ao.nn.quantized as tnnq
import torch.ao.nn.quantized.functional as tqF

import ember
import ember.ao.quantization as eq
import ember.nn.quantized as ennq

pytestmark = [pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated"),
              pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max")]

_X = (np.random.default_rng(0).standard_normal(4096).astype(np.float32) * 4).reshape(
    2, 4, 32, 16)  # a multiple of the vector width: no scalar tail in torch
_CASES = [(0.05, 128, 0.03, 10, "quint8"), (0.1, 0, 0.07, 100, "quint8"),
          (0.0371, 77, 0.02, 128, "quint8"), (0.04, 3, 0.05, -7, "qint8")]


def _pair(scale, zero_point, dtype):
    t = torch.quantize_per_tensor(torch.from_numpy(_X), scale, zero_point,
                                  getattr(torch, dtype))
    e = ember.quantize_per_tensor(ember.from_numpy(_X), scale, zero_point,
                                  getattr(ember, dtype))
    np.testing.assert_array_equal(e.int_repr().numpy(), t.int_repr().numpy())
    return t, e


def _same(e, t):
    assert e.dtype == getattr(ember, str(t.dtype).split(".")[1])
    assert e.q_scale() == t.q_scale() and e.q_zero_point() == t.q_zero_point()
    np.testing.assert_array_equal(e.int_repr().numpy(), t.int_repr().numpy())


@pytest.mark.parametrize("xs,xz,os,oz,dtype", _CASES)
def test_hardswish_bit_exact(xs, xz, os, oz, dtype):
    t, e = _pair(xs, xz, dtype)
    _same(eqF.hardswish(e, os, oz), tqF.hardswish(t, os, oz))
    tm, em = tnnq.Hardswish(os, oz), ennq.Hardswish(os, oz)
    _same(em(e), tm(t))
    assert repr(em) == repr(tm) == "QuantizedHardswish()"
    assert {k: (v.dtype, float(v)) for k, v in em.state_dict().items()} == {
        k: (getattr(ember, str(v.dtype).split(".")[1]), float(v))
        for k, v in tm.state_dict().items()}


@pytest.mark.parametrize("xs,xz,os,oz,dtype", _CASES)
def test_hardsigmoid_fixed_grid_bit_exact(xs, xz, os, oz, dtype):
    t, e = _pair(xs, xz, dtype)
    expected = tqF.hardsigmoid(t)
    _same(eqF.hardsigmoid(e), expected)
    _same(ennq._QuantizedHardsigmoid()(e), torch.nn.Hardsigmoid()(t))
    assert repr(ennq._QuantizedHardsigmoid()) == "Hardsigmoid()"
    float_out = ennq._QuantizedHardsigmoid()(ember.from_numpy(_X)).numpy()
    np.testing.assert_array_equal(float_out, ember.nn.Hardsigmoid()(ember.from_numpy(_X)).numpy())
    np.testing.assert_allclose(float_out, torch.nn.functional.hardsigmoid(
        torch.from_numpy(_X)).numpy(), rtol=1e-6, atol=1e-7)


def test_functional_refuses_float_input():
    x = ember.randn(3)
    for fn, args, tfn in ((eqF.hardswish, (0.1, 0), tqF.hardswish),
                          (eqF.hardsigmoid, (), tqF.hardsigmoid)):
        with pytest.raises(ValueError) as expected:
            tfn(torch.randn(3), *args)
        with pytest.raises(ValueError, match=str(expected.value).replace(".", r"\.")):
            fn(x, *args)


def _net(lib, q):
    """quant -> conv -> hardswish -> hardsigmoid -> dequant, built the same on both sides."""

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.quant, self.dequant = q.QuantStub(), q.DeQuantStub()
            self.conv = lib.nn.Conv2d(4, 6, 3)
            self.hs = lib.nn.Hardswish()
            self.sig = lib.nn.Hardsigmoid()

        def forward(self, x):
            return self.dequant(self.sig(self.hs(self.conv(self.quant(x)))))

    return Net().eval()


def test_convert_swaps_hardswish_keeps_hardsigmoid_unobserved():
    torch.manual_seed(0)
    reference = _net(torch, torch.ao.quantization)
    model = _net(ember, eq)
    model.load_state_dict({k: ember.from_numpy(v.numpy().copy())
                           for k, v in reference.state_dict().items()})
    reference.qconfig = torch.ao.quantization.default_qconfig
    model.qconfig = eq.default_qconfig
    torch.ao.quantization.prepare(reference, inplace=True)
    eq.prepare(model, inplace=True)
    assert hasattr(model.hs, "activation_post_process")
    assert not hasattr(model.sig, "activation_post_process")
    assert not hasattr(reference.sig, "activation_post_process")
    with torch.no_grad():
        reference(torch.from_numpy(_X))
    model(ember.from_numpy(_X))
    torch.ao.quantization.convert(reference, inplace=True)
    eq.convert(model, inplace=True)
    assert [m._get_name() for m in model.modules()] == \
        [m._get_name() for m in reference.modules()]
    assert repr(model.hs) == repr(reference.hs) and repr(model.sig) == repr(reference.sig)
    assert list(model.state_dict()) == list(reference.state_dict())
    # calibrated float conv sums differ in float32 rounding: scales agree to that
    np.testing.assert_allclose(float(model.hs.scale), float(reference.hs.scale), rtol=1e-5)
    assert int(model.hs.zero_point) == int(reference.hs.zero_point)
    with torch.no_grad():
        expected = reference(torch.from_numpy(_X)).numpy()
    got = model(ember.from_numpy(_X)).numpy()
    assert np.abs(got - expected).max() <= 2 / 256 and (got != expected).mean() < 0.02


@pytest.mark.parametrize("zero_point", [7, 8])
def test_quantized_average_pools_round_ties_as_torch(zero_point):
    """Power-of-two windows give exact .5 averages; PyTorch rounds after adding the zero
    point, so an odd zero point sends the tie the other way than rounding first."""
    from ember.nn.quantized.modules import _QuantizedAdaptiveAvgPool2d, _QuantizedAvgPool2d

    x = np.random.default_rng(1).random((2, 16, 4, 4)).astype(np.float32) * 3
    t = torch.quantize_per_tensor(torch.from_numpy(x), 0.0237, zero_point, torch.quint8)
    e = ember.quantize_per_tensor(ember.from_numpy(x), 0.0237, zero_point, ember.quint8)
    for got, expected in (
            (_QuantizedAdaptiveAvgPool2d(1)(e), torch.nn.functional.adaptive_avg_pool2d(t, 1)),
            (_QuantizedAvgPool2d(2, 2)(e), torch.nn.functional.avg_pool2d(t, 2, 2))):
        _same(got, expected)


def test_quantized_activations_refuse_cuda_as_torch(monkeypatch):
    """Like PyTorch's (QuantizedCPU only), the kernels refuse a CUDA quantized tensor;
    the GPU is tests/cuda_sim's NumPy-backed CuPy double, restored afterwards."""
    import importlib
    import os
    import sys

    monkeypatch.syspath_prepend(os.path.join(os.path.dirname(__file__), "..", "cuda_sim"))
    fake_cupy = importlib.import_module("fake_cupy")
    for name, module in fake_cupy.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    backend_device = importlib.import_module("ember._backend.device")
    monkeypatch.setattr(backend_device, "_cupy", None)
    monkeypatch.setattr(backend_device, "_cupy_checked", False)
    fake_cupy.reset()
    x = ember.quantize_per_tensor(ember.randn(4, device="cuda"), 0.1, 3, ember.quint8)
    for op, run in (("quantized::hardswish", ennq.Hardswish(0.1, 2)),
                    ("aten::hardsigmoid", ennq._QuantizedHardsigmoid())):
        with pytest.raises(NotImplementedError,
                           match=f"Could not run '{op}' with arguments from the "
                                 "'QuantizedCUDA' backend"):
            run(x)
    fake_cupy.reset()
