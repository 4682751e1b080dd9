"""FX graph mode quantization (prepare_fx / prepare_qat_fx / convert_fx / fuse_fx) against
PyTorch: the same model with the same weights and calibration data goes through both;
the observed graphs, observer statistics, converted module types and graph ops, output
quantization parameters and quantized outputs must agree."""

import copy
import io

import numpy as np
import pytest
import torch
import torch.ao.quantization as tq
import torch.ao.quantization.quantize_fx as tfx

import ember
import ember.ao.quantization as eq
import ember.ao.quantization.quantize_fx as efx

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]
RNG = np.random.default_rng(11)


def _tutorial_model(lib):
    """The FX static quantization tutorial's shape: conv-bn-relu, a residual add, pooling,
    flatten, linear + functional relu, a fixed-range sigmoid, an unquantizable op."""
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 6, 3, padding=1)
            self.bn = nn.BatchNorm2d(6)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(6, 6, 1)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(6, 8)
            self.fc2 = nn.Linear(8, 4)
            self.sigmoid = nn.Sigmoid()

        def forward(self, x):
            x = self.relu(self.bn(self.conv(x)))
            x = x + self.conv2(x)
            x = lib.flatten(self.pool(x), 1)
            x = F.relu(self.fc(x))
            y = self.fc2(x)
            return self.sigmoid(y) * 2.0, lib.exp(y)

    return Net()


def _pair(make, shape=(4, 3, 6, 6)):
    """A torch model with trained batch-norm statistics and its ember copy."""
    torch.manual_seed(0)
    t_model = make(torch).train()
    with torch.no_grad():
        for _ in range(2):
            t_model(torch.randn(*shape))
    e_model = make(ember)
    e_model.load_state_dict({k: ember.tensor(v.numpy()) for k, v in
                             t_model.state_dict().items()})
    return t_model, e_model


def _calibration(shape, n=3):
    return [RNG.standard_normal(shape).astype(np.float32) * (1 + i) for i in range(n)]


def _name(target):
    """A call target as the two libraries can both spell it."""
    if isinstance(target, str):
        return target
    return getattr(target, "__name__", str(target)).replace("quantized.", "")


def _structure(gm):
    """Each node's name, kind and target (a get_attr's attribute name included): the
    generated code reads the same."""
    return [(n.name, n.op, _name(n.target)) for n in gm.graph.nodes]


def _module_names(gm):
    return [(name, m._get_name()) for name, m in gm.named_modules() if name]


def _observer_stats(gm):
    stats = {}
    for name, m in gm.named_modules():
        if hasattr(m, "min_val") and name.startswith("activation_post_process"):
            stats[name] = (np.asarray(m.min_val.tolist()), np.asarray(m.max_val.tolist()))
    return stats


def _to_numpy(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x.tolist())


def test_static_ptq_matches_torch():
    t_model, e_model = _pair(_tutorial_model)
    t_model.eval()
    e_model.eval()
    example = _calibration((2, 3, 6, 6), 1)[0]
    t_prep = tfx.prepare_fx(t_model, tq.get_default_qconfig_mapping("x86"),
                            (torch.tensor(example),))
    e_prep = efx.prepare_fx(e_model, eq.get_default_qconfig_mapping("x86"),
                            (ember.tensor(example),))
    assert _structure(e_prep) == _structure(t_prep)
    assert _module_names(e_prep) == _module_names(t_prep)
    # the shared observers (pool, flatten) are one module under two names, as torch's
    assert (e_prep.activation_post_process_4 is e_prep.activation_post_process_3) == \
        (t_prep.activation_post_process_4 is t_prep.activation_post_process_3)
    for x in _calibration((2, 3, 6, 6)):
        t_prep(torch.tensor(x))
        e_prep(ember.tensor(x))
    t_stats, e_stats = _observer_stats(t_prep), _observer_stats(e_prep)
    assert list(e_stats) == list(t_stats)
    for name, (t_min, t_max) in t_stats.items():
        np.testing.assert_allclose(e_stats[name][0], t_min, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(e_stats[name][1], t_max, rtol=1e-6, atol=1e-6)

    t_q = tfx.convert_fx(copy.deepcopy(t_prep))
    e_q = efx.convert_fx(copy.deepcopy(e_prep))
    assert _module_names(e_q) == _module_names(t_q)  # QuantizedConvReLU2d, ...
    assert _structure(e_q) == _structure(t_q)  # quantize_per_tensor, quantized.add, ...
    # calibration saw float conv/linear outputs that differ from torch's in the last bits
    # (another summation order), so the histograms' chosen ranges, hence the scales, can
    # differ by a float32 ulp; zero points and the weights' integers are exact
    for name in ("conv", "conv2", "fc", "fc2"):
        t_mod, e_mod = t_q.get_submodule(name), e_q.get_submodule(name)
        np.testing.assert_allclose(e_mod.scale, t_mod.scale, rtol=1e-5)
        assert e_mod.zero_point == t_mod.zero_point
        np.testing.assert_array_equal(e_mod.weight().int_repr().numpy(),
                                      t_mod.weight().int_repr().numpy())
    assert float(e_q.conv_input_scale_0) == float(t_q.conv_input_scale_0)  # the raw input
    for attr in ("conv_input_zero_point_0", "_zero_point_0"):
        assert int(getattr(e_q, attr)) == int(getattr(t_q, attr))
    np.testing.assert_allclose(float(e_q._scale_0), float(t_q._scale_0), rtol=1e-5)

    x = _calibration((5, 3, 6, 6), 1)[0]
    t_sig, t_exp = t_q(torch.tensor(x))
    e_sig, e_exp = e_q(ember.tensor(x))
    # the output of fc2 is quantized with fc2's parameters: compare its integers. The
    # residual add re-quantizes dequantized sums, where a float tie can round either way,
    # so an integer may differ by one step; most must be equal.
    scale, zero_point = t_q.fc2.scale, t_q.fc2.zero_point
    t_ints = np.round(np.log(t_exp.numpy()) / scale) + zero_point
    e_ints = np.round(np.log(_to_numpy(e_exp)) / scale) + zero_point
    assert np.abs(e_ints - t_ints).max() <= 1 and (e_ints == t_ints).mean() >= 0.9
    # sigmoid of a quantized tensor: torch's fixed output grid of 1/256, times 2 in float
    np.testing.assert_allclose(_to_numpy(e_sig), t_sig.numpy(), atol=2 / 256 + 1e-6)

    # same state_dict keys; torch's converted checkpoint loads into ember's converted
    # model, which then computes torch's integers exactly
    assert list(e_prep.state_dict()) == list(t_prep.state_dict())
    assert list(e_q.state_dict()) == list(t_q.state_dict())
    buffer = io.BytesIO()
    torch.save(t_q.state_dict(), buffer)
    buffer.seek(0)
    e_q.load_state_dict(ember.load(buffer))
    e_sig, e_exp = e_q(ember.tensor(x))
    np.testing.assert_array_equal(_to_numpy(e_sig), t_sig.numpy())
    e_ints = np.round(np.log(_to_numpy(e_exp)) / scale) + zero_point
    np.testing.assert_array_equal(e_ints, t_ints)


def test_reference_and_fuse_match_torch():
    t_model, e_model = _pair(_tutorial_model)
    t_model.eval()
    e_model.eval()
    t_fused, e_fused = tfx.fuse_fx(t_model), efx.fuse_fx(e_model)
    assert _module_names(e_fused) == _module_names(t_fused)
    assert _structure(e_fused) == _structure(t_fused)
    x = _calibration((2, 3, 6, 6), 1)[0]
    for t_out, e_out in zip(t_fused(torch.tensor(x)), e_fused(ember.tensor(x))):
        np.testing.assert_allclose(_to_numpy(e_out), t_out.detach().numpy(), rtol=1e-5,
                                   atol=1e-5)

    t_prep = tfx.prepare_fx(t_model, tq.get_default_qconfig_mapping("qnnpack"),
                            (torch.tensor(x),))
    e_prep = efx.prepare_fx(e_model, eq.get_default_qconfig_mapping("qnnpack"),
                            (ember.tensor(x),))
    for batch in _calibration((2, 3, 6, 6)):
        t_prep(torch.tensor(batch))
        e_prep(ember.tensor(batch))
    t_ref = tfx.convert_to_reference_fx(t_prep)
    e_ref = efx.convert_to_reference_fx(e_prep)
    t_calls = [_name(n.target) for n in t_ref.graph.nodes if n.op != "get_attr"]
    e_calls = [_name(n.target) for n in e_ref.graph.nodes if n.op != "get_attr"]
    assert e_calls == t_calls  # a quantize_per_tensor / dequantize pair at each observer
    # reference modules compute in float with the quantized weights: same values up to
    # float32 accumulation order, a fraction of a quantization step
    t_sig, t_exp = t_ref(torch.tensor(x))
    e_sig, e_exp = e_ref(ember.tensor(x))
    np.testing.assert_allclose(_to_numpy(e_exp), t_exp.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(_to_numpy(e_sig), t_sig.detach().numpy(), atol=2 / 256 + 1e-6)


def _dynamic_model(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 6)
            self.lstm = nn.LSTM(6, 4)

        def forward(self, x):
            return self.lstm(self.fc(x))[0]

    return Net()


@pytest.mark.parametrize("fp16_linear", [False, True])
def test_dynamic_linear_lstm_match_torch(fp16_linear):
    t_model, e_model = _pair(_dynamic_model, (3, 2, 5))
    t_model.eval()
    e_model.eval()
    x = RNG.standard_normal((3, 2, 5)).astype(np.float32)

    def mapping(lib, q):
        mapping = q.QConfigMapping().set_global(q.default_dynamic_qconfig)
        if fp16_linear:  # float16 weights for the Linear, int8 for the LSTM
            mapping.set_object_type(lib.nn.Linear, q.float16_dynamic_qconfig)
        return mapping

    t_prep = tfx.prepare_fx(t_model, mapping(torch, tq), (torch.tensor(x),))
    e_prep = efx.prepare_fx(e_model, mapping(ember, eq), (ember.tensor(x),))
    assert _structure(e_prep) == _structure(t_prep)
    assert _module_names(e_prep) == _module_names(t_prep)
    t_q, e_q = tfx.convert_fx(t_prep), efx.convert_fx(e_prep)
    # DynamicQuantizedLinear / DynamicQuantizedLSTM (whose packed-weight children differ)
    assert _module_names(e_q)[:2] == _module_names(t_q)[:2]
    assert _structure(e_q) == _structure(t_q)
    assert repr(e_q.fc).replace("ember.", "torch.") == repr(t_q.fc)
    if not fp16_linear:
        np.testing.assert_array_equal(e_q.fc.weight().int_repr().numpy(),
                                      t_q.fc.weight().int_repr().numpy())
    # activations are quantized per batch at run time as torch does; its fbgemm kernels
    # accumulate in another order, so values agree to float32 rounding of the sums
    np.testing.assert_allclose(_to_numpy(e_q(ember.tensor(x))),
                               t_q(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def _qat_model(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.bn = nn.BatchNorm2d(4)
            self.relu = nn.ReLU()
            self.fc = nn.Linear(4 * 4 * 4, 5)

        def forward(self, x):
            x = self.relu(self.bn(self.conv(x)))
            return self.fc(lib.flatten(x, 1))

    return Net()


def test_qat_matches_torch():
    t_model, e_model = _pair(_qat_model)
    example = _calibration((2, 3, 6, 6), 1)[0]
    t_prep = tfx.prepare_qat_fx(t_model.train(), tq.get_default_qat_qconfig_mapping("x86"),
                                (torch.tensor(example),))
    e_prep = efx.prepare_qat_fx(e_model.train(), eq.get_default_qat_qconfig_mapping("x86"),
                                (ember.tensor(example),))
    assert _module_names(e_prep) == _module_names(t_prep)  # ConvBnReLU2d with fake quants
    assert _structure(e_prep) == _structure(t_prep)
    for x in _calibration((4, 3, 6, 6)):  # training steps' forward passes
        t_out = t_prep(torch.tensor(x))
        e_out = e_prep(ember.tensor(x))
        # fake quantization rounds to the grid: a tie can land one step apart
        np.testing.assert_allclose(_to_numpy(e_out), t_out.detach().numpy(),
                                   atol=float(t_prep.activation_post_process_2.scale) + 1e-5)
    t_prep.eval()
    e_prep.eval()
    # reference form: batch norms folded, weights rounded by the trained fake quantizers
    x = _calibration((3, 3, 6, 6), 1)[0]
    t_ref = tfx.convert_to_reference_fx(copy.deepcopy(t_prep))
    e_ref = efx.convert_to_reference_fx(copy.deepcopy(e_prep))
    assert _structure(e_ref) == _structure(t_ref)
    # outputs are re-quantized: a float sum landing on a rounding tie moves one step
    np.testing.assert_allclose(_to_numpy(e_ref(ember.tensor(x))),
                               t_ref(torch.tensor(x)).detach().numpy(), rtol=0,
                               atol=float(t_ref.fc_scale_0) * 1.001)
    t_q, e_q = tfx.convert_fx(t_prep), efx.convert_fx(e_prep)
    assert _module_names(e_q) == _module_names(t_q)
    assert _structure(e_q) == _structure(t_q)
    # the moving averages saw float outputs that differ in the last bits: a float32 ulp
    np.testing.assert_allclose(e_q.fc.scale, t_q.fc.scale, rtol=1e-5)
    assert e_q.fc.zero_point == t_q.fc.zero_point
    np.testing.assert_allclose(_to_numpy(e_q(ember.tensor(x))), t_q(torch.tensor(x)).numpy(),
                               atol=t_q.fc.scale * 1.01)


def test_qconfig_mapping_levels_in_prepare():
    """None turns quantization off per module name and per object type, as in torch."""
    t_model, e_model = _pair(_tutorial_model)
    t_model.eval()
    e_model.eval()
    x = _calibration((2, 3, 6, 6), 1)[0]

    def build(lib, q):
        return (q.get_default_qconfig_mapping("x86").set_module_name("conv2", None)
                .set_object_type(lib.nn.Linear, None))

    t_prep = tfx.prepare_fx(t_model, build(torch, tq), (torch.tensor(x),))
    e_prep = efx.prepare_fx(e_model, build(ember, eq), (ember.tensor(x),))
    assert _structure(e_prep) == _structure(t_prep)
    t_prep(torch.tensor(x))
    e_prep(ember.tensor(x))
    t_q, e_q = tfx.convert_fx(t_prep), efx.convert_fx(e_prep)
    assert _module_names(e_q) == _module_names(t_q)
    assert _structure(e_q) == _structure(t_q)


def _residual_model(lib):
    """ResNet's shape: blocks in a Sequential with ``out += identity`` and a final relu
    (add-relu fused), a mean over the spatial dimensions, a linear head."""
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.relu = nn.ReLU()

        def forward(self, x):
            out = self.bn(self.conv(x))
            out += x
            return self.relu(out)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 4, 1)
            self.layer1 = nn.Sequential(Block(), Block())
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            return self.head(self.layer1(self.stem(x)).mean((2, 3)))

    return Net()


@pytest.mark.parametrize("skip_block", [False, True])
def test_nested_blocks_and_module_names_match_torch(skip_block):
    """Functions called inside a submodule take that submodule's qconfig (a block set to
    None stays float, its add included); attribute names follow torch's scopes."""
    t_model, e_model = _pair(_residual_model, (4, 3, 5, 5))
    t_model.eval()
    e_model.eval()
    x = _calibration((2, 3, 5, 5), 1)[0]
    batches = _calibration((2, 3, 5, 5))
    results = []
    for lib, q, qfx, model in ((torch, tq, tfx, t_model), (ember, eq, efx, e_model)):
        mapping = q.get_default_qconfig_mapping("x86")
        if skip_block:
            mapping.set_module_name("layer1.1", None)
        prepared = qfx.prepare_fx(model, mapping, (lib.tensor(x),))
        prepared_structure = _structure(prepared)  # (torch's convert edits it in place)
        for batch in batches:
            prepared(lib.tensor(batch))
        converted = qfx.convert_fx(prepared)
        results.append((prepared_structure, _structure(converted),
                        _module_names(converted), _to_numpy(converted(lib.tensor(x))),
                        converted.head.scale))
    (t_prep, t_conv, t_mods, t_out, scale), (e_prep, e_conv, e_mods, e_out, _) = results
    assert e_prep == t_prep
    assert e_conv == t_conv  # quantized.add_relu with layer1_0_relu_scale_0, ...
    assert e_mods[:9] == t_mods[:9]  # (the packed-params child of a quantized Linear
    # is listed by torch only)
    # the head's output integers: equal but where a re-quantized sum rounds a tie the
    # other way (one step)
    np.testing.assert_allclose(e_out, t_out, rtol=0, atol=scale * 1.001)


def _branchy_model(lib):
    """cat of two branches (one shared observer), ops with their own observers (modules
    with quantized kernels, a functional one that runs in float between dequantize and
    quantize, dropout), a method flatten torch runs in float."""
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.left = nn.Conv2d(3, 2, 1)
            self.right = nn.Conv2d(3, 2, 1)
            self.act = nn.Hardswish()
            self.leaky = nn.LeakyReLU(0.1)
            self.drop = nn.Dropout(0.5)
            self.fc = nn.Linear(4 * 3 * 3, 3)

        def forward(self, x):
            y = lib.cat([self.left(x), self.right(x)], 1)
            y = self.drop(self.leaky(self.act(y)))
            y = F.hardswish(lib.nn.functional.max_pool2d(y, 2))
            return self.fc(y.flatten(1))

    return Net()


def test_cat_and_own_observer_ops_match_torch():
    t_model, e_model = _pair(_branchy_model, (2, 3, 6, 6))
    t_model.eval()
    e_model.eval()
    x = _calibration((2, 3, 6, 6), 1)[0]
    batches = _calibration((2, 3, 6, 6))
    results = []
    for lib, q, qfx, model in ((torch, tq, tfx, t_model), (ember, eq, efx, e_model)):
        prepared = qfx.prepare_fx(model, q.get_default_qconfig_mapping("x86"),
                                  (lib.tensor(x),))
        shared = prepared.activation_post_process_1 is prepared.activation_post_process_2
        structure = _structure(prepared)
        for batch in batches:
            prepared(lib.tensor(batch))
        converted = qfx.convert_fx(prepared)
        results.append((structure, shared, _structure(converted), _module_names(converted),
                        _to_numpy(converted(lib.tensor(x)))))
    (t_prep, t_shared, t_conv, t_mods, t_out), (e_prep, e_shared, e_conv, e_mods, e_out) = \
        results
    assert e_prep == t_prep and e_shared and t_shared
    assert e_conv == t_conv
    assert [m for m in e_mods if "." not in m[0]] == [m for m in t_mods if "." not in m[0]]
    # the output is float after the float-run flatten, so compare values: intermediate
    # re-quantizations can round a tie the other way (a step of the last scale)
    np.testing.assert_allclose(e_out, t_out, rtol=0, atol=0.05)


def test_torchvision_resnet18_matches_torch():
    """The FX PTQ tutorial's model: torchvision's resnet18 and ember.vision's, same
    weights: the same quantized graph (fused QuantizedConvReLU2d, quantized.add_relu in
    every block...), the same output."""
    import os
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "vision"))
    from _torchvision import load_torchvision

    import ember.vision.models as evm

    torch.manual_seed(0)
    t_model = load_torchvision().models.resnet18(num_classes=10).eval()
    e_model = evm.resnet18(num_classes=10).eval()
    e_model.load_state_dict({k: ember.tensor(v.numpy()) for k, v in
                             t_model.state_dict().items()})
    x = RNG.standard_normal((2, 3, 16, 16)).astype(np.float32)
    results = []
    for lib, q, qfx, model in ((torch, tq, tfx, t_model), (ember, eq, efx, e_model)):
        mapping = q.QConfigMapping().set_global(q.default_qconfig)
        prepared = qfx.prepare_fx(model, mapping, (lib.tensor(x),))
        prepared(lib.tensor(x))
        converted = qfx.convert_fx(prepared)
        results.append((_structure(converted), _module_names(converted),
                        _to_numpy(converted(lib.tensor(x))), converted.fc.scale))
    (t_graph, t_mods, t_out, scale), (e_graph, e_mods, e_out, _) = results
    assert e_graph == t_graph
    assert [m for m in e_mods if "packed" not in m[0]] == \
        [m for m in t_mods if "packed" not in m[0]]
    np.testing.assert_allclose(e_out, t_out, rtol=0, atol=scale * 1.001)


def _functional_model(lib):
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 2, 1)
            self.w = nn.Parameter(lib.randn(4, 8))
            self.b = nn.Parameter(lib.randn(4))

        def forward(self, x):
            y = self.conv(x).flatten(1)[:, :8]
            return F.linear(y, self.w, self.b)

    return Net()


def test_functional_linear_matches_torch():
    """F.linear of a parameter: a weight observer node, then quantized.linear with the
    packed weight (_packed_weight_0), as torch lowers it."""
    t_model, e_model = _pair(_functional_model, (2, 3, 2, 2))
    t_model.eval()
    e_model.eval()
    x = _calibration((3, 3, 2, 2), 1)[0]
    results = []
    for lib, q, qfx, model in ((torch, tq, tfx, t_model), (ember, eq, efx, e_model)):
        prepared = qfx.prepare_fx(model, q.get_default_qconfig_mapping("x86"),
                                  (lib.tensor(x),))
        structure = _structure(prepared)
        prepared(lib.tensor(x))
        weight_observer = prepared.activation_post_process_3
        converted = qfx.convert_fx(prepared)
        results.append((structure, _structure(converted),
                        _to_numpy(weight_observer.min_val), _to_numpy(converted(lib.tensor(x))),
                        float(converted._scale_2)))
    (t_prep, t_conv, t_wmin, t_out, scale), (e_prep, e_conv, e_wmin, e_out, _) = results
    assert e_prep == t_prep and e_conv == t_conv
    np.testing.assert_array_equal(e_wmin, t_wmin)  # per-channel weight statistics
    np.testing.assert_allclose(e_out, t_out, rtol=0, atol=scale * 1.001)


def test_errors_match_torch():
    e_model = ember.nn.Sequential(ember.nn.Linear(2, 2))
    with pytest.raises(AssertionError, match="incoming model must be produced by prepare_fx"):
        efx.convert_fx(ember.fx.symbolic_trace(e_model))
    with pytest.raises(AssertionError, match="qconfig_mapping must be a QConfigMapping"):
        efx.prepare_fx(e_model.eval(), 3, (ember.ones(1, 2),))
    with pytest.warns(FutureWarning, match="Passing a QConfig dictionary to prepare"):
        efx.prepare_fx(e_model, {"": eq.default_qconfig}, (ember.ones(1, 2),))


def _custom_config(q):
    from importlib import import_module

    custom = import_module(q.__name__ + ".fx.custom_config")
    return (custom.PrepareCustomConfig()
            .set_non_traceable_module_names(["conv2"])
            .set_output_quantized_indexes([0])
            .set_preserved_attributes(["version"]))


def test_prepare_custom_config_matches_torch():
    t_model, e_model = _pair(_tutorial_model)
    t_model.eval()
    e_model.eval()
    t_model.version = e_model.version = 7
    x = _calibration((2, 3, 6, 6), 1)[0]
    t_config, e_config = _custom_config(tq), _custom_config(eq)
    assert repr(e_config) == repr(t_config)
    assert e_config.to_dict() == t_config.to_dict()
    assert repr(type(e_config).from_dict(e_config.to_dict())) == repr(e_config)
    results = []
    for lib, q, qfx, model, config in ((torch, tq, tfx, t_model, t_config),
                                       (ember, eq, efx, e_model, e_config)):
        prepared = qfx.prepare_fx(model, q.get_default_qconfig_mapping("x86"),
                                  (lib.tensor(x),), prepare_custom_config=config)
        structure, version = _structure(prepared), prepared.version
        prepared(lib.tensor(x))
        converted = qfx.convert_fx(prepared)
        sig, _ = converted(lib.tensor(x))
        # the attribute is kept on the prepared module, not carried to the converted one
        results.append((structure, _structure(converted), version,
                        converted.meta["_user_preserved_attributes"],
                        hasattr(converted, "version"), sig.is_quantized))
    assert results[1] == results[0]  # the first output stays quantized
    with pytest.raises(NotImplementedError, match="input_quantized_indexes"):
        efx.prepare_fx(e_model, eq.get_default_qconfig_mapping("x86"), (ember.tensor(x),),
                       _custom_config(eq).set_input_quantized_indexes([0]))


def _relu_spellings_model(lib):
    """torch.relu (own observers, not fused after a conv), x.relu() (shares its input's
    observer, fuses with nothing), add + torch.relu (fused into add_relu)."""
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(1, 2, 1)
            self.c2 = nn.Conv2d(2, 2, 1)
            self.pool = nn.AdaptiveAvgPool2d(1)

        def forward(self, x):
            x = lib.relu(self.c(x))
            x = self.c2(x).relu()
            y = (x + x).relu()
            return self.pool(lib.relu(y + x))

    return Net()


def test_relu_spellings_match_torch():
    t_model, e_model = _pair(_relu_spellings_model, (2, 1, 3, 3))
    t_model.eval()
    e_model.eval()
    x = _calibration((2, 1, 3, 3), 1)[0]
    results = []
    for lib, q, qfx, model in ((torch, tq, tfx, t_model), (ember, eq, efx, e_model)):
        prepared = qfx.prepare_fx(model, q.get_default_qconfig_mapping(), (lib.tensor(x),))
        structure = _structure(prepared)
        prepared(lib.tensor(x))
        results.append((structure, _structure(qfx.convert_fx(prepared))))
    assert results[1] == results[0]


def test_fused_parts_need_one_qconfig():
    """A Linear entry that the fused relu does not share is torch's LookupError; a
    shared one reaches the fused module (the caller's mapping is left as it was)."""
    results = []
    for lib, q, qfx in ((torch, tq, tfx), (ember, eq, efx)):
        model = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.ReLU()).eval()
        example = (lib.ones(1, 3),)
        mapping = q.QConfigMapping().set_global(q.default_qconfig) \
            .set_object_type(lib.nn.Linear, q.default_per_channel_qconfig)
        with pytest.raises(LookupError, match="same qconfigs for all module types in .*"
                                              "LinearReLU'> offending type: .*ReLU'>"):
            qfx.prepare_fx(model, mapping, example)
        mapping.set_object_type(lib.nn.ReLU, q.default_per_channel_qconfig)
        prepared = qfx.prepare_fx(model, mapping, example)
        prepared(*example)
        converted = qfx.convert_fx(prepared)
        results.append((converted.get_submodule("0").weight().qscheme()
                        is getattr(lib, "per_channel_affine"),
                        [k.__name__ for k in mapping.object_type_qconfigs]))
    assert results[1] == results[0] and results[0][0]


def _norms_model(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn0 = nn.BatchNorm2d(1)
            self.conv = nn.Conv2d(1, 2, 1)
            self.bn = nn.BatchNorm2d(2)
            self.relu = nn.ReLU()
            self.norm = nn.LayerNorm(3)

        def forward(self, x):
            x = self.conv(self.bn0(x))
            return self.norm(self.relu(self.bn(x + 1.0)))

    return Net()


def test_standalone_norms_observed_as_torch():
    """Batch norms not after a conv (BNReLU2d fused) and layer norm get observers of their
    own, as in torch; ember has no quantized norm kernels, so they run in float between
    dequantize and quantize (torch runs QuantizedBatchNorm2d...): the values agree to
    the re-quantization steps."""
    t_model, e_model = _pair(_norms_model, (2, 1, 3, 3))
    t_model.eval()
    e_model.eval()
    x = _calibration((2, 1, 3, 3), 1)[0]
    results = []
    for lib, q, qfx, model in ((torch, tq, tfx, t_model), (ember, eq, efx, e_model)):
        prepared = qfx.prepare_fx(model, q.get_default_qconfig_mapping(), (lib.tensor(x),))
        structure = _structure(prepared)
        prepared(lib.tensor(x))
        converted = qfx.convert_fx(prepared)
        results.append((structure, _to_numpy(converted(lib.tensor(x))),
                        float(getattr(converted, "norm_scale_0", 0.0))))
    (t_prep, t_out, _), (e_prep, e_out, scale) = results
    assert e_prep == t_prep
    np.testing.assert_allclose(e_out, t_out, rtol=0, atol=3 * scale)


def test_unsupported_options_are_refused():
    """What ember does not implement raises instead of being silently ignored."""
    model = ember.nn.Sequential(ember.nn.Linear(2, 2)).eval()
    x = (ember.ones(1, 2),)
    mapping = eq.get_default_qconfig_mapping()
    with pytest.raises(NotImplementedError, match="backend_config"):
        efx.prepare_fx(model, mapping, x, backend_config=object())
    with pytest.raises(NotImplementedError, match="equalization"):
        efx.prepare_fx(model, mapping, x, _equalization_config=object())
    prepared = efx.prepare_fx(model, mapping, x)
    with pytest.raises(NotImplementedError, match="qconfig_mapping"):
        efx.convert_fx(prepared, qconfig_mapping=mapping)
    from ember.ao.quantization.fx.custom_config import ConvertCustomConfig

    custom = ConvertCustomConfig().set_observed_to_quantized_mapping(ember.nn.Linear, int)
    with pytest.raises(NotImplementedError, match="observed_to_quantized_mapping"):
        efx.convert_fx(prepared, convert_custom_config=custom)
