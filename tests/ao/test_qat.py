"""Quantization-aware training against PyTorch: fake-quantize modules, QAT modules with
BatchNorm folding, prepare_qat / convert, trained side by side from the same weights."""

import io
import re

import numpy as np
import pytest
import torch
import torch.ao.quantization as tq

import ember
import ember.ao.quantization as eq

pytestmark = [pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions"),
              pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated"),
              pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max")]
RNG = np.random.default_rng(11)


def _e(array):
    return ember.tensor(np.asarray(array))


def _same(e_tensor, t_tensor, **tol):
    e_arr, t_arr = e_tensor.detach().numpy(), t_tensor.detach().numpy()
    assert e_arr.dtype == t_arr.dtype and e_arr.shape == t_arr.shape
    if tol:
        np.testing.assert_allclose(e_arr, t_arr, **tol)
    else:
        np.testing.assert_array_equal(e_arr, t_arr)


FAKE_QUANTS = ["default_fake_quant", "default_weight_fake_quant",
               "default_per_channel_weight_fake_quant", "default_fused_act_fake_quant",
               "default_fused_wt_fake_quant", "default_fused_per_channel_wt_fake_quant",
               "fused_wt_fake_quant_range_neg_127_to_127",
               "default_fixed_qparams_range_0to1_fake_quant",
               "default_fixed_qparams_range_neg1to1_fake_quant"]


@pytest.mark.parametrize("name", FAKE_QUANTS)
def test_fake_quantize_modules_match_torch(name):
    """Outputs, straight-through gradients, observer statistics and scale/zero point
    after each step, bit for bit; then with the observer and fake quantization off."""
    e_fq = getattr(eq.fake_quantize, name)()
    t_fq = getattr(tq.fake_quantize, name)()
    assert repr(e_fq) == repr(t_fq)
    assert list(e_fq.state_dict()) == list(t_fq.state_dict())
    for step in range(4):
        if step == 2:
            e_fq.apply(eq.disable_observer)
            t_fq.apply(tq.disable_observer)
        if step == 3:
            e_fq.apply(eq.disable_fake_quant)
            t_fq.apply(tq.disable_fake_quant)
        x = (RNG.standard_normal((3, 4, 5)) * (step + 1) + 0.3 * step).astype(np.float32)
        ex, tx = _e(x).requires_grad_(), torch.tensor(x, requires_grad=True)
        ey, ty = e_fq(ex), t_fq(tx)
        _same(ey, ty)
        g = RNG.standard_normal(x.shape).astype(np.float32)
        ey.backward(_e(g))
        ty.backward(torch.tensor(g))
        _same(ex.grad, tx.grad)
        for key, t_value in t_fq.state_dict().items():
            _same(e_fq.state_dict()[key], t_value)
    assert repr(e_fq) == repr(t_fq)


def test_fake_quantize_checks_and_state_dict():
    with pytest.raises(AssertionError, match="quant_min out of bound"):
        eq.FakeQuantize(quant_min=-1, quant_max=255)
    with pytest.raises(AssertionError, match="quant_min must be less than or equal"):
        eq.FakeQuantize(quant_min=5, quant_max=3)
    with pytest.raises(AssertionError, match="Fused observer"):
        eq.FusedMovingAvgObsFakeQuantize(observer=eq.MinMaxObserver)
    # a trained per-channel fake quantizer's state loads into a fresh one (resized)
    t_fq = tq.default_per_channel_weight_fake_quant()
    t_fq(torch.randn(3, 2))
    e_fq = eq.default_per_channel_weight_fake_quant()
    e_fq.load_state_dict({k: _e(v.numpy()) for k, v in t_fq.state_dict().items()})
    for key, value in t_fq.state_dict().items():
        _same(e_fq.state_dict()[key], value)
    for backend in ("x86", "fbgemm", "qnnpack", "onednn"):
        for version in (0, 1):
            e_qc = eq.get_default_qat_qconfig(backend, version)
            t_qc = tq.get_default_qat_qconfig(backend, version)
            assert repr(e_qc.activation()) == repr(t_qc.activation())
            assert repr(e_qc.weight()) == repr(t_qc.weight())
    with pytest.raises(AssertionError, match="not supported"):
        eq.get_default_qat_qconfig("arm")


def _build(lib, aq):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = aq.QuantStub()
            self.conv = nn.Conv2d(2, 4, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(4)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(4, 4, 3)
            self.bn2 = nn.BatchNorm2d(4)
            self.conv3 = nn.Conv2d(4, 4, 1)
            self.relu3 = nn.ReLU()
            self.fc = nn.Linear(16, 6)
            self.bn4 = nn.BatchNorm1d(6)
            self.fc2 = nn.Linear(6, 5)
            self.relu5 = nn.ReLU()
            self.fc3 = nn.Linear(5, 3)
            self.dequant = aq.DeQuantStub()

        def forward(self, x):
            x = self.quant(x)
            x = self.relu(self.bn(self.conv(x)))
            x = self.relu3(self.conv3(self.bn2(self.conv2(x))))
            x = self.bn4(self.fc(x.flatten(1)))
            x = self.fc3(self.relu5(self.fc2(x)))
            return self.dequant(x)

    return Net()


FUSE = [["conv", "bn", "relu"], ["conv2", "bn2"], ["conv3", "relu3"], ["fc", "bn4"],
        ["fc2", "relu5"]]


@pytest.mark.parametrize("backend,version", [("x86", 1), ("qnnpack", 1), ("fbgemm", 0),
                                             ("qnnpack", 0)])
def test_qat_training_and_convert_match_torch(backend, version):
    """fuse_modules_qat -> prepare_qat -> a few SGD steps -> freeze -> convert, side by
    side. Fake-quantized training outputs, every gradient, observer statistics and the
    fake quantizers' scale/zero point agree to float32 rounding (rtol 1e-5): conv and
    GEMM sum in a different order than PyTorch's kernels, which can move a value across
    a rounding boundary of the fake quantization, so values are compared to one quantum.
    The converted model's qparams and integer outputs are then compared."""
    tm, em = _build(torch, tq), _build(ember, eq)
    em.load_state_dict({k: _e(v.numpy()) for k, v in tm.state_dict().items()})
    tm.train()
    em.train()
    tm.qconfig = tq.get_default_qat_qconfig(backend, version)
    em.qconfig = eq.get_default_qat_qconfig(backend, version)
    tf, ef = tq.fuse_modules_qat(tm, FUSE), eq.fuse_modules_qat(em, FUSE)
    assert repr(ef) == repr(tf)
    tp, ep = tq.prepare_qat(tf), eq.prepare_qat(ef)
    assert type(em.conv) is ember.nn.Conv2d
    assert list(ep.state_dict()) == list(tp.state_dict())
    assert repr(ep) == repr(tp)
    t_opt = torch.optim.SGD(tp.parameters(), lr=0.05, momentum=0.9)
    e_opt = ember.optim.SGD(ep.parameters(), lr=0.05, momentum=0.9)
    for step in range(4):
        if step == 2:
            tp.apply(torch.ao.nn.intrinsic.qat.freeze_bn_stats)
            ep.apply(ember.ao.nn.intrinsic.qat.freeze_bn_stats)
        if step == 3:
            tp.apply(tq.disable_observer)
            ep.apply(eq.disable_observer)
        x = RNG.standard_normal((4, 2, 4, 4)).astype(np.float32)
        target = RNG.integers(0, 3, 4)
        t_loss = torch.nn.functional.cross_entropy(tp(torch.tensor(x)), torch.tensor(target))
        e_loss = ember.nn.functional.cross_entropy(ep(_e(x)), _e(target))
        np.testing.assert_allclose(e_loss.item(), t_loss.item(), rtol=1e-5)
        t_opt.zero_grad()
        e_opt.zero_grad()
        t_loss.backward()
        e_loss.backward()
        for (name, t_p), e_p in zip(tp.named_parameters(), ep.parameters()):
            _same(e_p.grad, t_p.grad, rtol=1e-4, atol=1e-5)
        t_opt.step()
        e_opt.step()
        e_state = ep.state_dict()
        for key, t_value in tp.state_dict().items():
            _same(e_state[key], t_value, rtol=1e-5, atol=1e-6)
    tp.eval()
    ep.eval()
    tc, ec = tq.convert(tp), eq.convert(ep)
    assert _no_scales(repr(ec)) == _no_scales(repr(tc))
    assert list(ec.state_dict()) == list(tc.state_dict())
    for name in ("conv", "conv2", "conv3", "fc", "fc2", "fc3"):
        t_mod, e_mod = getattr(tc, name), getattr(ec, name)
        assert e_mod._get_name() == t_mod._get_name()
        np.testing.assert_allclose(e_mod.scale, t_mod.scale, rtol=1e-5)
        assert e_mod.zero_point == t_mod.zero_point
        _same(e_mod.weight().int_repr(), t_mod.weight().int_repr())
    x = RNG.standard_normal((5, 2, 4, 4)).astype(np.float32)
    out_e, out_t = ec(_e(x)).numpy(), tc(torch.tensor(x)).numpy()
    assert np.abs(out_e - out_t).max() <= tc.fc3.scale * 2.001
    # torch's converted checkpoint in ember's converted model: the same integers out
    buf = io.BytesIO()
    torch.save(tc.state_dict(), buf)
    buf.seek(0)
    ec.load_state_dict(ember.load(buf))
    np.testing.assert_array_equal(ec(_e(x)).numpy(), out_t)


def _no_scales(text):
    return re.sub(r"scale=[0-9.e-]+", "scale=?", text)


QAT_MODULES = [
    ("intrinsic.qat.ConvBn1d", (3, 4, 3), {"padding": 1}, (2, 3, 7)),
    ("intrinsic.qat.ConvBnReLU1d", (3, 4, 3), {"bias": True}, (2, 3, 7)),
    ("intrinsic.qat.ConvBn2d", (3, 4, 3), {"stride": 2, "bias": True}, (2, 3, 7, 7)),
    ("intrinsic.qat.ConvBnReLU2d", (3, 4, 3), {"groups": 1}, (2, 3, 6, 6)),
    ("intrinsic.qat.ConvBn3d", (2, 3, 2), {}, (2, 2, 4, 4, 4)),
    ("intrinsic.qat.ConvReLU2d", (3, 4, 3), {}, (2, 3, 6, 6)),
    ("intrinsic.qat.LinearReLU", (5, 4), {}, (6, 5)),
    ("intrinsic.qat.LinearBn1d", (5, 4), {}, (6, 5)),
    ("qat.Linear", (5, 4), {"bias": False}, (6, 5)),
    ("qat.Conv1d", (3, 4, 3), {}, (2, 3, 7)),
    ("qat.Conv2d", (3, 4, 3), {"padding": 1}, (2, 3, 5, 5)),
    ("qat.Conv3d", (2, 3, 2), {}, (2, 2, 4, 4, 4)),
]


def _resolve(lib, dotted):
    module = lib.ao.nn
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


SLOW_PATH = [("intrinsic.qat.ConvBn2d", (3, 4, 3), {"bias": True}, (2, 3, 6, 6)),
             ("intrinsic.qat.ConvBnReLU1d", (3, 4, 3), {}, (3, 3, 7))]


@pytest.mark.parametrize("name,args,kwargs,shape,slow",
                         [(*row, False) for row in QAT_MODULES]
                         + [(*row, True) for row in SLOW_PATH])
def test_qat_modules_match_torch(name, args, kwargs, shape, slow):
    """Each QAT module on its own, from the same state: two training steps (BatchNorm
    statistics move), then frozen BatchNorm, then eval; outputs, input and parameter
    gradients, buffers, ``to_float`` and repr. ``slow``: conv-bn's exact folding
    (``_enable_slow_path_for_better_numerical_stability``)."""
    torch.manual_seed(0)
    t_mod = _resolve(torch, name)(*args, qconfig=tq.default_qat_qconfig, **kwargs)
    e_mod = _resolve(ember, name)(*args, qconfig=eq.default_qat_qconfig, **kwargs)
    if slow:
        t_mod._enable_slow_path_for_better_numerical_stability = True
        e_mod._enable_slow_path_for_better_numerical_stability = True
    with torch.no_grad():
        if hasattr(t_mod, "bn"):  # folding divides by bn.weight: keep it away from 0,
            t_mod.bn.weight.uniform_(0.5, 1.5)  # where a last-bit difference is amplified
        if t_mod.bias is not None:  # torch's LinearBn1d leaves its bias uninitialised
            t_mod.bias.uniform_(-0.5, 0.5)
    e_mod.load_state_dict({k: _e(v.numpy()) for k, v in t_mod.state_dict().items()})
    assert repr(e_mod) == repr(t_mod)
    for step in range(4):
        if step == 2 and hasattr(t_mod, "freeze_bn_stats"):
            t_mod.freeze_bn_stats()
            e_mod.freeze_bn_stats()
        if step == 3:
            t_mod.eval()
            e_mod.eval()
        x = RNG.standard_normal(shape).astype(np.float32)
        tx, ex = torch.tensor(x, requires_grad=True), _e(x).requires_grad_()
        ty, ey = t_mod(tx), e_mod(ex)
        _same(ey, ty, rtol=1e-5, atol=1e-5)
        g = RNG.standard_normal(ty.shape).astype(np.float32)
        ty.backward(torch.tensor(g))
        ey.backward(_e(g))
        _same(ex.grad, tx.grad, rtol=1e-4, atol=1e-5)
        for (key, t_p), e_p in zip(t_mod.named_parameters(), e_mod.parameters()):
            _same(e_p.grad, t_p.grad, rtol=1e-4, atol=1e-4)
        e_state = e_mod.state_dict()
        for key, value in t_mod.state_dict().items():
            _same(e_state[key], value, rtol=1e-5, atol=1e-6)
    t_float, e_float = t_mod.to_float(), e_mod.to_float()
    assert repr(e_float) == repr(t_float)
    for key, value in t_float.state_dict().items():
        _same(e_float.state_dict()[key], value, rtol=1e-5, atol=1e-6)


def test_qat_module_errors_match_torch():
    for lib, q in ((torch, tq), (ember, eq)):
        with pytest.raises(AssertionError, match="qconfig must be provided for QAT module"):
            lib.ao.nn.qat.Linear(2, 3)
        linear = lib.nn.Linear(2, 3)
        with pytest.raises(AssertionError, match="Input float module must have qconfig"):
            lib.ao.nn.qat.Linear.from_float(linear)
        with pytest.raises(AssertionError, match="qat.Linear.from_float only works for Linear"):
            lib.ao.nn.qat.Linear.from_float(lib.nn.Conv2d(1, 1, 1))
        with pytest.raises(AssertionError, match="prepare_qat only works on models in training"):
            q.prepare_qat(lib.nn.Sequential(lib.nn.Linear(2, 2)).eval())
        with pytest.raises(AssertionError, match="Output channel of Conv2d must match"):
            q.fuse_modules_qat(lib.nn.Sequential(lib.nn.Conv2d(1, 2, 1), lib.nn.BatchNorm2d(3)),
                               ["0", "1"])
        with pytest.raises(AssertionError, match="Incorrect types for input modules: Conv2d, "
                                                 "BatchNorm2d, and ReLU6"):
            lib.ao.nn.intrinsic.ConvBnReLU2d(lib.nn.Conv2d(1, 2, 1), lib.nn.BatchNorm2d(2),
                                             lib.nn.ReLU6())


@pytest.mark.parametrize("backend", ["x86", "qnnpack"])
def test_qat_conv1d_bn_converts_to_quantized_conv1d(backend):
    """Conv1d-BatchNorm1d(-ReLU) through fuse_modules_qat / prepare_qat / convert: the
    quantized Conv1d (a 2-D kernel over a unit height, as torch's) gives torch's
    integers, and torch's converted checkpoint loads into ember's model."""
    def build(lib, aq):
        nn = lib.nn
        return nn.Sequential(aq.QuantStub(), nn.Conv1d(3, 4, 3, padding=1, bias=False),
                             nn.BatchNorm1d(4), nn.ReLU(), nn.Conv1d(4, 5, 3, stride=2),
                             nn.BatchNorm1d(5), aq.DeQuantStub())

    torch.manual_seed(0)
    tm, em = build(torch, tq), build(ember, eq)
    em.load_state_dict({k: _e(v.numpy()) for k, v in tm.state_dict().items()})
    tm.qconfig = tq.get_default_qat_qconfig(backend)
    em.qconfig = eq.get_default_qat_qconfig(backend)
    groups = [["1", "2", "3"], ["4", "5"]]
    tp, ep = tq.prepare_qat(tq.fuse_modules_qat(tm, groups)), \
        eq.prepare_qat(eq.fuse_modules_qat(em, groups))
    assert repr(ep) == repr(tp)
    for _ in range(3):
        x = RNG.standard_normal((4, 3, 9)).astype(np.float32)
        tp(torch.tensor(x))
        ep(_e(x))
    tc, ec = tq.convert(tp.eval()), eq.convert(ep.eval())
    assert _no_scales(repr(ec)) == _no_scales(repr(tc))
    x = RNG.standard_normal((4, 3, 9)).astype(np.float32)
    expected = tc(torch.tensor(x)).numpy()
    assert np.abs(ec(_e(x)).numpy() - expected).max() <= tc[4].scale * 1.001
    buf = io.BytesIO()
    torch.save(tc.state_dict(), buf)
    buf.seek(0)
    ec.load_state_dict(ember.load(buf))
    np.testing.assert_array_equal(ec(_e(x)).numpy(), expected)
    with pytest.raises(ValueError, match="Input shape must be `"):
        ec[1](ec[0](_e(x[0])))


def test_fake_quantize_and_qat_modules_run_on_cuda(monkeypatch):
    """Fake quantizers keep their statistics and parameters on the module's device and
    give the CPU's values there; QAT modules train there. The GPU is tests/cuda_sim's
    NumPy-backed CuPy double (real CuPy on a GPU machine), restored afterwards."""
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
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    for factory in (eq.default_fake_quant, eq.default_per_channel_weight_fake_quant,
                    eq.default_fused_act_fake_quant,
                    eq.default_fused_per_channel_wt_fake_quant):
        on_gpu, on_cpu = factory().to("cuda"), factory()
        gx = ember.tensor(x, device="cuda", requires_grad=True)
        out = on_gpu(gx)
        out.sum().backward()
        assert out.device.type == gx.grad.device.type == on_gpu.scale.device.type == "cuda"
        np.testing.assert_array_equal(out.detach().cpu().numpy(), on_cpu(_e(x)).numpy())
    conv = ember.ao.nn.intrinsic.qat.ConvBnReLU2d(
        2, 3, 3, qconfig=eq.get_default_qat_qconfig("x86")).to("cuda")
    conv(ember.randn(2, 2, 5, 5, device="cuda")).sum().backward()
    assert conv.weight.grad.device.type == "cuda"
    fake_cupy.reset()


def test_qat_embedding_matches_torch():
    """qat.Embedding: the table fake-quantized per row with float zero points (which may
    lie outside the integer range, as torch allows them), three lookups with gradients."""
    t_qconfig = tq.QConfig(activation=tq.default_placeholder_observer,
                           weight=tq.default_embedding_fake_quant)
    e_qconfig = eq.QConfig(activation=eq.default_placeholder_observer,
                           weight=eq.fake_quantize.default_embedding_fake_quant)
    torch.manual_seed(0)
    t_emb = torch.ao.nn.qat.Embedding(10, 4, padding_idx=2, qconfig=t_qconfig)
    e_emb = ember.ao.nn.qat.Embedding(10, 4, padding_idx=2, qconfig=e_qconfig)
    e_emb.load_state_dict({k: _e(v.detach().clone().numpy())
                           for k, v in t_emb.state_dict().items()})
    assert repr(e_emb) == repr(t_emb)
    for _ in range(3):
        idx = RNG.integers(0, 10, (2, 3))
        ty, ey = t_emb(torch.tensor(idx)), e_emb(_e(idx))
        _same(ey, ty)
        g = RNG.standard_normal(ty.shape).astype(np.float32)
        ty.backward(torch.tensor(g))
        ey.backward(_e(g))
        _same(e_emb.weight.grad, t_emb.weight.grad)
    for key, value in t_emb.state_dict().items():
        _same(e_emb.state_dict()[key], value)
    assert repr(e_emb.to_float()) == repr(t_emb.to_float())
    with pytest.raises(AssertionError, match="per_channel_affine_float_qparams Got"):
        ember.ao.nn.qat.Embedding(3, 2, qconfig=eq.default_qat_qconfig)
    x = RNG.standard_normal((2, 5)).astype(np.float32)
    scale, zero_point = np.array([0.1, 0.2], np.float32), np.array([-5.0, 300.0], np.float32)
    _same(ember.fake_quantize_per_channel_affine(_e(x), _e(scale), _e(zero_point), 0, 0, 255),
          torch.fake_quantize_per_channel_affine(torch.tensor(x), torch.tensor(scale),
                                                 torch.tensor(zero_point), 0, 0, 255))
