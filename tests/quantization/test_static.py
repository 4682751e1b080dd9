"""Observers, fusion and eager post-training static quantization against PyTorch."""

import io

import numpy as np
import oracle
import pytest
import torch
import torch.ao.quantization as tq
from oracle import as_numpy

import ember
import ember.ao.quantization as eq
import ember.nn.quantized as enq

pytestmark = [pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions"),
              pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated"),
              pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max")]
RNG = np.random.default_rng(5)


def _lib_args(lib, kwargs):
    return {k: getattr(lib, v[6:]) if isinstance(v, str) and v.startswith("torch.") else v
            for k, v in kwargs.items()}


OBSERVERS = [
    ("MinMaxObserver", {}),
    ("MinMaxObserver", {"dtype": "torch.qint8", "qscheme": "torch.per_tensor_symmetric"}),
    ("MinMaxObserver", {"quant_min": 0, "quant_max": 127}),
    ("MinMaxObserver", {"reduce_range": True}),
    ("MovingAverageMinMaxObserver", {"averaging_constant": 0.1}),
    ("PerChannelMinMaxObserver", {"ch_axis": 1}),
    ("PerChannelMinMaxObserver", {"dtype": "torch.qint8",
                                  "qscheme": "torch.per_channel_symmetric"}),
    ("MovingAveragePerChannelMinMaxObserver", {}),
    ("HistogramObserver", {}),
    ("HistogramObserver", {"reduce_range": True}),
    ("HistogramObserver", {"dtype": "torch.qint8", "qscheme": "torch.per_tensor_symmetric"}),
    ("HistogramObserver", {"quant_min": 0, "quant_max": 127, "bins": 512}),
]


@pytest.mark.parametrize("name,kwargs", OBSERVERS)
def test_observers_match_torch(name, kwargs):
    # observers are plain tensor code: they run on the oracle's device, as PyTorch's do
    e = getattr(eq, name)(**_lib_args(ember, kwargs)).to(oracle.DEVICE)
    t = getattr(tq, name)(**_lib_args(torch, kwargs))
    with pytest.warns(UserWarning, match="must run observer before calling calculate_qparams"):
        es, ez = e.calculate_qparams()  # nothing seen yet: the defaults, with a warning
    with pytest.warns(UserWarning, match="must run observer before calling calculate_qparams"):
        ts, tz = t.calculate_qparams()
    assert es.tolist() == ts.tolist() and ez.tolist() == tz.tolist()
    for i in range(4):  # growing, shifting ranges: histograms are re-binned each time
        x = (RNG.standard_normal((6, 5, 7)) * (i + 1) + 0.4 * i).astype(np.float32)
        assert e(ember.tensor(x, device=oracle.DEVICE)).device.type == oracle.DEVICE
        t(torch.tensor(x))
    es, ez = e.calculate_qparams()
    ts, tz = t.calculate_qparams()
    np.testing.assert_array_equal(as_numpy(es), ts.numpy())
    np.testing.assert_array_equal(as_numpy(ez), tz.numpy())
    assert es.device.type == ez.device.type == oracle.DEVICE
    assert repr(es.dtype) == repr(ts.dtype) and repr(ez.dtype) == repr(tz.dtype)
    with oracle.on_device(ember):  # printed as torch's would be with cuda as the default
        assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    if name == "HistogramObserver":
        np.testing.assert_array_equal(as_numpy(e.histogram), t.histogram.numpy())
        assert e.histogram.device.type == oracle.DEVICE


def test_observer_errors_and_qconfigs():
    with pytest.raises(NotImplementedError, match="Cannot reduce range for symmetric"):
        eq.MinMaxObserver(qscheme=ember.per_tensor_symmetric, reduce_range=True)
    with pytest.raises(Exception, match="calculate_qparams should not be called"):
        eq.PlaceholderObserver().calculate_qparams()
    for backend in ("x86", "fbgemm", "qnnpack", "onednn"):
        e_repr = repr(eq.get_default_qconfig(backend)).replace("ember.", "torch.")
        assert e_repr == repr(tq.get_default_qconfig(backend))
    assert repr(eq.default_dynamic_qconfig).replace("ember.", "torch.") == \
        repr(tq.default_dynamic_qconfig)
    with pytest.raises(AssertionError, match="backend: tpu not supported"):
        eq.get_default_qconfig("tpu")


def _quantized_input(lib, x, scale=0.05, zero_point=60, device=None):
    """quint8 activations; ember's on the oracle's device (torch's stay on the cpu)."""
    if lib is ember:
        x = ember.tensor(x, device=device or oracle.DEVICE)
        return ember.quantize_per_tensor(x, scale, zero_point, ember.quint8)
    return lib.quantize_per_tensor(lib.tensor(x), scale, zero_point, lib.quint8)


def _same_ints(e, t):
    """Same integers, on the device ember's input was on."""
    np.testing.assert_array_equal(as_numpy(e.int_repr()), t.int_repr().numpy())
    assert e.device.type == oracle.DEVICE


def _copy_qmodule(t_mod, e_mod):
    """Give the ember module torch's quantized weight (same integers and scales)."""
    w, b = t_mod._weight_bias()
    if w.qscheme() == torch.per_tensor_affine:
        ew = ember.quantize_per_tensor(ember.tensor(w.dequantize().numpy()), w.q_scale(),
                                       w.q_zero_point(), ember.qint8)
    else:
        ew = ember.quantize_per_channel(ember.tensor(w.dequantize().numpy()),
                                        ember.tensor(w.q_per_channel_scales().numpy()),
                                        ember.tensor(w.q_per_channel_zero_points().numpy()),
                                        0, ember.qint8)
    np.testing.assert_array_equal(ew.int_repr().numpy(), w.int_repr().numpy())
    e_mod.set_weight_bias(ew, None if b is None else ember.tensor(b.detach().numpy()))
    e_mod.scale, e_mod.zero_point = t_mod.scale, t_mod.zero_point


def _float_pair(lib_t_mod, e_cls, *args, **kwargs):
    e = e_cls(*args, **kwargs)
    for name, p in lib_t_mod.named_parameters():
        getattr(e, name).data = ember.tensor(p.detach().numpy())
    return e


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("per_channel", [False, True])
def test_quantized_linear_and_conv_integers(fused, per_channel):
    """Given the same quantized weights and input, the output integers are PyTorch's."""
    import torch.ao.nn.intrinsic.quantized as tniq
    import torch.ao.nn.quantized as tnq

    from ember.ao.nn.intrinsic import quantized as eniq

    weight_qscheme = torch.per_channel_symmetric if per_channel else torch.per_tensor_symmetric
    observer = (tq.PerChannelMinMaxObserver if per_channel else tq.MinMaxObserver)
    cases = [
        (tniq.LinearReLU if fused else tnq.Linear, eniq.LinearReLU if fused else enq.Linear,
         (24, 10), (6, 24), torch.nn.Linear(24, 10)),
        (tniq.ConvReLU2d if fused else tnq.Conv2d, eniq.ConvReLU2d if fused else enq.Conv2d,
         (3, 8, 3), (2, 3, 9, 9), torch.nn.Conv2d(3, 8, 3)),
    ]
    for t_cls, e_cls, args, x_shape, float_mod in cases:
        obs = observer(dtype=torch.qint8, qscheme=weight_qscheme)
        obs(float_mod.weight)
        scale, zp = obs.calculate_qparams()
        if per_channel:
            w = torch.quantize_per_channel(float_mod.weight.detach(), scale.double(),
                                           zp.long(), 0, torch.qint8)
        else:
            w = torch.quantize_per_tensor(float_mod.weight.detach(), float(scale), int(zp),
                                          torch.qint8)
        kwargs = {"padding": 1, "stride": 2} if t_cls.__name__.startswith("Conv") else {}
        t_mod = t_cls(*args, **kwargs)
        t_mod.set_weight_bias(w, float_mod.bias.detach())
        t_mod.scale, t_mod.zero_point = 0.021, 64
        e_mod = e_cls(*args, **kwargs)
        _copy_qmodule(t_mod, e_mod)
        assert repr(e_mod) == repr(t_mod)
        x = RNG.standard_normal(x_shape).astype(np.float32) * 2
        t_out = t_mod(_quantized_input(torch, x))
        if oracle.DEVICE != "cpu":  # fbgemm's kernels are host-only, as in PyTorch
            op = "linear" if "Linear" in t_cls.__name__ else "conv2d.new"
            with pytest.raises(NotImplementedError,
                               match=f"'quantized::{op}' with arguments from the 'QuantizedCUDA'"):
                e_mod(_quantized_input(ember, x))
        e_out = e_mod(_quantized_input(ember, x, device="cpu"))
        np.testing.assert_array_equal(e_out.int_repr().numpy(), t_out.int_repr().numpy())
        assert e_out.q_scale() == t_out.q_scale() and repr(e_out.dtype) == repr(t_out.dtype)


@pytest.mark.parametrize("make", [
    lambda nn: nn.MaxPool2d(3, stride=2, padding=1), lambda nn: nn.AvgPool2d(2),
    lambda nn: nn.AvgPool2d(3, stride=2, padding=1), lambda nn: nn.AdaptiveAvgPool2d((3, 2)),
    lambda nn: nn.AdaptiveAvgPool2d(1),
])
def test_pools_on_quantized_tensors(make):
    from ember.ao.quantization.quantize import get_default_static_quant_module_mappings

    float_pool = make(ember.nn)
    pool = get_default_static_quant_module_mappings()[type(float_pool)].from_float(float_pool)
    t_pool = make(torch.nn)
    assert repr(pool) == repr(t_pool)
    x = RNG.standard_normal((2, 3, 7, 6)).astype(np.float32) * 3
    e_out = pool(_quantized_input(ember, x, 0.05, 30))
    t_out = t_pool(_quantized_input(torch, x, 0.05, 30))
    _same_ints(e_out, t_out)  # PyTorch pools QuantizedCUDA tensors too
    assert e_out.q_scale() == t_out.q_scale() and e_out.q_zero_point() == t_out.q_zero_point()
    # float input: the float pool, unchanged
    torch.testing.assert_close(
        torch.from_numpy(as_numpy(pool(ember.tensor(x, device=oracle.DEVICE)))),
        t_pool(torch.tensor(x)))


def test_quantized_relu6_and_stubs():
    x = RNG.standard_normal((4, 7)).astype(np.float32) * 5
    t = torch.ao.nn.quantized.ReLU6()(_quantized_input(torch, x, 0.07, 50))
    e = enq.ReLU6()(_quantized_input(ember, x, 0.07, 50))
    _same_ints(e, t)
    t = torch.relu(_quantized_input(torch, x, 0.07, 50))
    e = enq.modules._QuantizedReLU()(_quantized_input(ember, x, 0.07, 50))
    _same_ints(e, t)
    q = enq.Quantize(0.1, 3, ember.quint8)
    assert repr(q) == repr(torch.ao.nn.quantized.Quantize(0.1, 3, torch.quint8))
    _same_ints(q(ember.tensor(x, device=oracle.DEVICE)),
               torch.ao.nn.quantized.Quantize(0.1, 3, torch.quint8)(torch.tensor(x)))
    np.testing.assert_array_equal(as_numpy(enq.DeQuantize()(q(ember.tensor(x)))),
                                  torch.ao.nn.quantized.Quantize(0.1, 3, torch.quint8)(
                                      torch.tensor(x)).dequantize().numpy())


def _build(lib, aq):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = aq.QuantStub()
            self.conv = nn.Conv2d(2, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
            self.relu2 = nn.ReLU()
            self.pool = nn.MaxPool2d(3, stride=2)
            self.drop = nn.Dropout(0.3)
            self.fc = nn.Linear(16, 5)
            self.relu3 = nn.ReLU()
            self.fc2 = nn.Linear(5, 3)
            self.dequant = aq.DeQuantStub()

        def forward(self, x):
            x = self.quant(x)
            x = self.relu(self.bn(self.conv(x)))
            x = self.pool(self.relu2(self.conv2(x)))
            x = self.relu3(self.fc(self.drop(x).flatten(1)))
            return self.dequant(self.fc2(x))

    return Net()


@pytest.mark.parametrize("backend", ["x86", "qnnpack", None])
def test_post_training_static_quantization_matches_torch(backend):
    """fuse -> prepare -> calibrate -> convert, side by side with PyTorch. The observers
    see the float model's activations, which differ from PyTorch's in the last float32
    bits (different conv/GEMM summation orders), so the chosen scales may differ by an
    ulp: scales are compared with rtol 1e-6 and final outputs within one quantum of the
    output scale; the input quantization is compared exactly."""
    tm, em = _build(torch, tq), _build(ember, eq)
    with torch.no_grad():
        tm.bn.running_mean.uniform_(-0.5, 0.5)
        tm.bn.running_var.uniform_(0.5, 2.0)
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    tm.eval()
    em.eval().to(oracle.DEVICE)  # fusion, observers and calibration run on the device
    tm.qconfig = tq.get_default_qconfig(backend) if backend else tq.default_qconfig
    em.qconfig = eq.get_default_qconfig(backend) if backend else eq.default_qconfig
    groups = [["conv", "bn", "relu"], ["conv2", "relu2"], ["fc", "relu3"]]
    tf, ef = tq.fuse_modules(tm, groups), eq.fuse_modules(em, groups)
    assert repr(ef) == repr(tf)
    tp, ep = tq.prepare(tf), eq.prepare(ef)
    assert repr(ep) == repr(tp)
    assert type(em.conv) is ember.nn.Conv2d  # not in place by default
    for _ in range(3):
        x = RNG.standard_normal((4, 2, 6, 6)).astype(np.float32)
        tp(torch.tensor(x))
        ep(ember.tensor(x, device=oracle.DEVICE))
    assert {b.device.type for b in ep.buffers()} == {oracle.DEVICE}
    if oracle.DEVICE != "cpu":
        # the integer kernels are host-only, as PyTorch's (fbgemm/qnnpack): packing the
        # weights of a cuda model refuses, and a model is converted on the cpu
        with pytest.raises(NotImplementedError, match="quantized::conv2d_prepack.*QuantizedCUDA"):
            eq.convert(ep)
        ep.to("cpu")
    tc, ec = tq.convert(tp), eq.convert(ep)
    assert list(ec.state_dict()) == list(tc.state_dict())
    assert not hasattr(ec.fc2, "activation_post_process") and not hasattr(ec, "qconfig")
    for t_mod, e_mod in ((tc.conv, ec.conv), (tc.conv2, ec.conv2), (tc.fc, ec.fc),
                         (tc.fc2, ec.fc2)):
        assert e_mod._get_name() == t_mod._get_name()
        np.testing.assert_allclose(e_mod.scale, t_mod.scale, rtol=1e-6)
        assert e_mod.zero_point == t_mod.zero_point
    x = RNG.standard_normal((8, 2, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(ec.quant(ember.tensor(x)).int_repr().numpy(),
                                  tc.quant(torch.tensor(x)).int_repr().numpy())
    out_e, out_t = ec(ember.tensor(x)).numpy(), tc(torch.tensor(x)).numpy()
    assert np.abs(out_e - out_t).max() <= tc.fc2.scale * 1.001
    # the converted model's checkpoint loads into torch's converted model
    buf = io.BytesIO()
    ember.save(ec.state_dict(), buf)
    buf.seek(0)
    tc.load_state_dict(torch.load(buf, weights_only=True))
    np.testing.assert_array_equal(tc(torch.tensor(x)).numpy(), out_e)


def test_fuse_errors_and_quant_wrapper():
    net = ember.nn.Sequential(ember.nn.Conv2d(1, 2, 3), ember.nn.BatchNorm2d(2))
    with pytest.raises(AssertionError, match="did not find fuser method"):
        eq.fuse_modules(ember.nn.Sequential(ember.nn.ReLU(), ember.nn.Linear(2, 2)),
                        ["0", "1"])
    with pytest.raises(AssertionError):  # conv-bn folding needs eval mode, as PyTorch's
        eq.fuse_modules(net, ["0", "1"])
    fused = eq.fuse_modules(net.eval(), ["0", "1"])
    x = ember.randn(2, 1, 5, 5)
    np.testing.assert_allclose(fused(x).detach().numpy(), net(x).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    wrapped = eq.QuantWrapper(ember.nn.Linear(4, 3))
    wrapped.qconfig = eq.default_qconfig
    eq.prepare(wrapped, inplace=True)
    wrapped(ember.randn(5, 4))
    converted = eq.convert(wrapped)
    assert converted.module._get_name() == "QuantizedLinear"
    assert converted(ember.randn(2, 4)).dtype is ember.float32


def test_quantized_module_errors():
    t_lin, e_lin = torch.ao.nn.quantized.Linear(3, 2), enq.Linear(3, 2)
    t_conv, e_conv = torch.ao.nn.quantized.Conv2d(3, 2, 3), enq.Conv2d(3, 2, 3)
    with pytest.raises(NotImplementedError, match="Could not run 'quantized::linear'"):
        t_lin(torch.randn(2, 3))
    with pytest.raises(NotImplementedError, match="Could not run 'quantized::linear'"):
        e_lin(ember.randn(2, 3))
    with pytest.raises(NotImplementedError, match="Could not run 'quantized::conv2d.new'"):
        t_conv(torch.randn(1, 3, 5, 5))
    with pytest.raises(NotImplementedError, match="Could not run 'quantized::conv2d.new'"):
        e_conv(ember.randn(1, 3, 5, 5))
    x = RNG.standard_normal((2, 4)).astype(np.float32)
    with pytest.raises(RuntimeError, match="packB should be equal to K: 4"):
        t_lin(_quantized_input(torch, x))
    with pytest.raises(RuntimeError, match="packB should be equal to K: 4"):
        e_lin(_quantized_input(ember, x, device="cpu"))
    with pytest.raises(RuntimeError, match="packB should be equal to K: 4"):
        eq.quantize_dynamic(ember.nn.Sequential(ember.nn.Linear(3, 2)))(ember.tensor(x))


def _residual(lib, aq, nnq):
    nn = lib.nn

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = aq.QuantStub()
            self.fc1 = nn.Linear(8, 8)
            self.fc2 = nn.Linear(8, 8)
            self.skip = nnq.FloatFunctional()
            self.dequant = aq.DeQuantStub()

        def forward(self, x):
            x = self.quant(x)
            return self.dequant(self.skip.add_relu(self.fc2(self.fc1(x)), x))

    return Residual()


def test_float_functional_residual_matches_torch():
    import torch.ao.nn.quantized as tnq

    tm, em = _residual(torch, tq, tnq), _residual(ember, eq, enq)
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    tm.eval().qconfig = tq.default_qconfig
    em.eval().to(oracle.DEVICE).qconfig = eq.default_qconfig
    tp, ep = tq.prepare(tm), eq.prepare(em)
    assert repr(ep) == repr(tp)
    for _ in range(2):
        x = RNG.standard_normal((16, 8)).astype(np.float32)
        tp(torch.tensor(x))
        ep(ember.tensor(x, device=oracle.DEVICE))
    assert {b.device.type for b in ep.buffers()} == {oracle.DEVICE}
    if oracle.DEVICE != "cpu":
        # the integer kernels are host-only, as PyTorch's (fbgemm/qnnpack): packing the
        # weights of a cuda model refuses, and a model is converted on the cpu
        with pytest.raises(NotImplementedError, match="quantized::linear_prepack.*QuantizedCUDA"):
            eq.convert(ep)
        ep.to("cpu")
    tc, ec = tq.convert(tp), eq.convert(ep)
    # (full reprs differ only in scales' last float32 bits: see the pipeline test)
    assert [m._get_name() for m in ec.modules()] == [m._get_name() for m in tc.modules()]
    assert repr(ec.skip) == repr(tc.skip).replace(str(tc.skip.scale), str(ec.skip.scale))
    np.testing.assert_allclose(ec.skip.scale, tc.skip.scale, rtol=1e-6)
    assert ec.skip.zero_point == tc.skip.zero_point
    assert list(ec.state_dict()) == list(tc.state_dict())
    x = RNG.standard_normal((5, 8)).astype(np.float32)
    assert np.abs(ec(ember.tensor(x)).numpy() - tc(torch.tensor(x)).numpy()).max() <= \
        tc.skip.scale * 1.001
    with pytest.raises(RuntimeError, match="FloatFunctional is not intended to use"):
        enq.FloatFunctional()(ember.zeros(1))


@pytest.mark.parametrize("op", ["add", "add_relu", "mul", "cat"])
def test_qfunctional_integers(op):
    import torch.ao.nn.quantized as tnq

    a = RNG.standard_normal((6, 9)).astype(np.float32) * 2
    b = RNG.standard_normal((6, 9)).astype(np.float32)
    t_f, e_f = tnq.QFunctional(), enq.QFunctional()
    for f in (t_f, e_f):
        f.scale, f.zero_point = 0.043, 110
    assert repr(e_f) == repr(t_f)
    outs = []
    for lib, f in ((torch, t_f), (ember, e_f)):
        qa, qb = _quantized_input(lib, a, 0.031, 120), _quantized_input(lib, b, 0.017, 100)
        outs.append(f.cat([qa, qb], dim=1) if op == "cat" else getattr(f, op)(qa, qb))
    _same_ints(outs[1], outs[0])
    assert outs[1].q_scale() == outs[0].q_scale()


@pytest.mark.parametrize("op", ["add", "add_relu", "mul"])
def test_qfunctional_matches_torch_kernels_on_many_values(op):
    """QFunctional add/mul are PyTorch's quantized kernels (integer requantization for
    mul, its rounding order for add): on thousands of values a float op re-quantized
    lands one integer off somewhere."""
    import torch.ao.nn.quantized as tnq

    rng = np.random.default_rng(17)
    a = rng.standard_normal((40, 50)).astype(np.float32) * 2
    b = rng.standard_normal((40, 50)).astype(np.float32)
    for a_params, b_params, out_params in (((0.067, 70), (0.034, 62), (0.014, 84)),
                                           ((0.02, 127), (0.03, 133), (0.05, 97))):
        t_f, e_f = tnq.QFunctional(), enq.QFunctional()
        for f in (t_f, e_f):
            f.scale, f.zero_point = out_params
        outs = []
        for lib, f in ((torch, t_f), (ember, e_f)):
            qa, qb = _quantized_input(lib, a, *a_params), _quantized_input(lib, b, *b_params)
            outs.append(getattr(f, op)(qa, qb))
        _same_ints(outs[1], outs[0])
        assert (outs[1].q_scale(), outs[1].q_zero_point()) == out_params


def test_quantize_helper_equals_prepare_calibrate_convert():
    net = eq.QuantWrapper(ember.nn.Sequential(ember.nn.Linear(6, 4), ember.nn.ReLU()))
    net.qconfig = eq.default_qconfig
    data = [ember.randn(8, 6) for _ in range(3)]

    def calibrate(model, batches):
        for batch in batches:
            model(batch)

    one_call = eq.quantize(net, calibrate, [data])
    by_hand = eq.prepare(net)
    calibrate(by_hand, data)
    by_hand = eq.convert(by_hand)
    assert repr(one_call) == repr(by_hand)
    x = ember.randn(4, 6)
    np.testing.assert_array_equal(one_call(x).numpy(), by_hand(x).numpy())
    assert type(net.module[0]) is ember.nn.Linear  # the float model is left as it was
