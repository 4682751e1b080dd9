"""The rest of ``torch.ao.quantization``'s names against PyTorch: fuser methods,
quantization mappings, observer state dicts, the recording / reuse observers, the
restricted-range weight observers, QuantType and the small helpers."""

import numpy as np
import pytest
import torch
import torch.ao.quantization as tq
import torch.ao.quantization.quantize_fx as tfx

import ember
import ember.ao.quantization as eq
import ember.ao.quantization.quantize_fx as efx

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning")]
RNG = np.random.default_rng(3)

# need TorchScript (ember has no scripting), torch.quint4x2, quantizable LSTM/MHA,
# reference or sparse quantized modules, quantized embeddings, or torchao's
# affine-quantization observers: not provided
NOT_PROVIDED = {
    "convert_dynamic_jit", "convert_jit", "fuse_conv_bn_jit", "prepare_dynamic_jit",
    "prepare_jit", "quantize_dynamic_jit", "quantize_jit", "script_qconfig",
    "script_qconfig_dict", "default_embedding_fake_quant_4bit",
    "default_float_qparams_observer_4bit", "get_default_custom_config_dict",
    "no_observer_set", "get_default_dynamic_sparse_quant_module_mappings",
    "get_default_static_sparse_quant_module_mappings",
    "get_default_static_quant_reference_module_mappings", "get_embedding_qat_module_mappings",
    "get_embedding_static_quant_module_mappings", "AffineQuantizedObserverBase", "Granularity",
    "MappingType", "PerAxis", "PerBlock", "PerGroup", "PerRow", "PerTensor", "PerToken",
    "TorchAODType", "ZeroPointDomain", "get_block_size",
}


def test_public_names():
    missing = {n for n in tq.__all__ if not hasattr(eq, n)}
    assert missing == NOT_PROVIDED
    import ember.quantization as legacy

    assert all(hasattr(legacy, n) for n in tq.__all__ if n not in NOT_PROVIDED)
    from ember.quantization.quantize_fx import prepare_fx

    assert prepare_fx is efx.prepare_fx


def test_package_exports_resolve_as_torch():
    # __all__ is derived from one table in the package; every listed name must resolve,
    # torch's listed names must all be listed, and the function (not the submodule) must
    # win the attributes that name both
    assert all(hasattr(eq, n) for n in eq.__all__)
    assert set(tq.__all__) - NOT_PROVIDED <= set(eq.__all__)
    for name in ("quantize", "fuse_modules", "prepare", "convert"):
        assert callable(getattr(tq, name)) and callable(getattr(eq, name))
        assert type(getattr(eq, name)).__name__ == type(getattr(tq, name)).__name__
    for name in ("default_per_channel_qconfig", "float16_static_qconfig", "qconfig_mapping"):
        assert hasattr(tq, name) and hasattr(eq, name)
        assert name not in tq.__all__ and name not in eq.__all__
    assert eq.ObserverOrFakeQuantize == eq.ObserverBase | eq.FakeQuantizeBase


def _conv_bn(lib, transpose=False):
    torch.manual_seed(0)
    conv_t = (torch.nn.ConvTranspose2d if transpose else torch.nn.Conv2d)(3, 4, 3)
    bn_t = torch.nn.BatchNorm2d(4)
    with torch.no_grad():
        bn_t.running_mean.uniform_(-1, 1)
        bn_t.running_var.uniform_(0.5, 2)
        bn_t.weight.uniform_(0.5, 1.5)
    if lib is torch:
        return conv_t.eval(), bn_t.eval()
    conv = (ember.nn.ConvTranspose2d if transpose else ember.nn.Conv2d)(3, 4, 3)
    bn = ember.nn.BatchNorm2d(4)
    conv.load_state_dict({k: ember.tensor(v.numpy()) for k, v in conv_t.state_dict().items()})
    bn.load_state_dict({k: ember.tensor(v.numpy()) for k, v in bn_t.state_dict().items()})
    return conv.eval(), bn.eval()


@pytest.mark.parametrize("transpose", [False, True])
def test_fuser_methods_match_torch(transpose):
    fuse = "fuse_convtranspose_bn" if transpose else "fuse_conv_bn"
    e_fused = getattr(eq, fuse)(False, *_conv_bn(ember, transpose))
    t_fused = getattr(tq, fuse)(False, *_conv_bn(torch, transpose))
    assert repr(e_fused) == repr(t_fused)
    x = RNG.standard_normal((2, 3, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(e_fused(ember.tensor(x)).detach().numpy(),
                               t_fused(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    if transpose:
        with pytest.raises(Exception, match="ConvTranspose\\+BatchNorm not yet supported"):
            eq.fuse_convtranspose_bn(True, *_conv_bn(ember, True))
        return
    e_conv, e_bn = _conv_bn(ember)
    e_relu = eq.fuse_conv_bn_relu(False, e_conv, e_bn, ember.nn.ReLU().eval())
    t_conv, t_bn = _conv_bn(torch)
    t_relu = tq.fuse_conv_bn_relu(False, t_conv, t_bn, torch.nn.ReLU().eval())
    assert repr(e_relu) == repr(t_relu)
    for lib, q, conv, bn in ((ember, eq, e_conv, e_bn), (torch, tq, t_conv, t_bn)):
        with pytest.raises(AssertionError, match="Conv and BN both must be in the same mode"):
            q.fuse_conv_bn_relu(False, conv, bn, lib.nn.ReLU())  # a relu in training mode
    e_qat = eq.fuse_conv_bn(True, e_conv.train(), e_bn.train())
    t_qat = tq.fuse_conv_bn(True, t_conv.train(), t_bn.train())
    assert type(e_qat).__name__ == type(t_qat).__name__ == "ConvBn2d"
    linear, bn1 = ember.nn.Linear(3, 4).eval(), ember.nn.BatchNorm1d(4).eval()
    assert type(eq.fuse_linear_bn(False, linear, bn1)).__name__ == "Linear"
    with pytest.raises(AssertionError, match="same mode"):
        eq.fuse_linear_bn(False, linear.train(), bn1)


def test_get_fuser_method_new():
    def table(nn, q, match_all):
        return {(nn.Conv2d, nn.BatchNorm2d): q.fuse_conv_bn, (match_all, nn.ReLU): "any-relu"}

    import torch.ao.quantization.utils as tq_utils

    for lib, q, match_all in ((ember, eq, eq.MatchAllNode), (torch, tq, tq_utils.MatchAllNode)):
        mapping = table(lib.nn, q, match_all)
        assert q.get_fuser_method_new((lib.nn.Conv2d, lib.nn.BatchNorm2d), mapping) \
            is q.fuse_conv_bn
        assert q.get_fuser_method_new((lib.nn.Linear, lib.nn.ReLU), mapping) == "any-relu"
    with pytest.raises(AssertionError, match="did not find fuser method for"):
        eq.get_fuser_method_new((ember.nn.Linear, ember.nn.Tanh),
                                table(ember.nn, eq, eq.MatchAllNode))


def test_module_class_and_operator_lookups():
    assert eq.get_static_quant_module_class(ember.nn.Conv2d)._get_name(None) == \
        tq.get_static_quant_module_class(torch.nn.Conv2d)._get_name(None)
    assert eq.get_dynamic_quant_module_class(ember.nn.LSTM).__name__ == "LSTM"
    for lookup in (eq.get_static_quant_module_class, eq.get_dynamic_quant_module_class):
        with pytest.raises(AssertionError, match="does not have a corresponding quantized"):
            lookup(ember.nn.Tanh)
    assert eq.get_static_quant_module_class(ember.nn.Tanh, {ember.nn.Tanh: int}) is int
    F = ember.nn.functional
    op = eq.get_quantized_operator(F.hardswish)
    x = RNG.standard_normal(10).astype(np.float32) * 3
    e_out = op(ember.quantize_per_tensor(ember.tensor(x), 0.05, 60, ember.quint8), 0.04, 30)
    t_op = tq.get_quantized_operator(torch.nn.functional.hardswish)
    t_out = t_op(torch.quantize_per_tensor(torch.tensor(x), 0.05, 60, torch.quint8), 0.04, 30)
    np.testing.assert_array_equal(e_out.int_repr().numpy(), t_out.int_repr().numpy())
    with pytest.raises(AssertionError, match="does not have corresponding quantized op"):
        eq.get_quantized_operator(F.gelu)
    names = {c.__name__ for c in eq.get_default_compare_output_module_list()}
    assert {"Conv2d", "Linear", "LSTM", "QuantStub"} <= names
    from torch.ao.quantization.utils import get_combined_dict  # torch's __all__ names it,
    # but the package does not define it

    assert eq.get_combined_dict({1: 2, 3: 4}, {3: 5}) == get_combined_dict({1: 2, 3: 4},
                                                                           {3: 5})
    assert [(q.name, int(q)) for q in eq.QuantType] == [(q.name, int(q)) for q in tq.QuantType]


def test_recording_and_reuse_observers():
    for q in (eq, tq):
        with pytest.raises(Exception, match="should not be called for ReuseInputObserver"):
            q.default_reuse_input_observer().calculate_qparams()
        with pytest.raises(Exception, match="should not be called for RecordingObserver"):
            q.RecordingObserver().calculate_qparams()
    recorder = eq.default_debug_observer()
    x = ember.tensor([1.0, -2.0])
    assert recorder(x) is x and recorder(x * 2) is not None
    assert [t.tolist() for t in recorder.get_tensor_value()] == [[1.0, -2.0], [2.0, -4.0]]
    assert repr(eq.RecordingObserver()) == repr(tq.RecordingObserver())


def test_restricted_range_weight_observers():
    w = RNG.standard_normal((4, 6)).astype(np.float32)
    for name in ("weight_observer_range_neg_127_to_127",
                 "per_channel_weight_observer_range_neg_127_to_127"):
        e_obs, t_obs = getattr(eq, name)(), getattr(tq, name)()
        e_obs(ember.tensor(w))
        t_obs(torch.tensor(w))
        (es, ez), (ts, tz) = e_obs.calculate_qparams(), t_obs.calculate_qparams()
        np.testing.assert_array_equal(es.numpy(), ts.numpy())
        np.testing.assert_array_equal(ez.numpy(), tz.numpy())
        assert (e_obs.quant_min, e_obs.quant_max) == (t_obs.quant_min, t_obs.quant_max)


def _observed(lib, q, qfx):
    model = lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.ReLU(), lib.nn.Linear(3, 2)).eval()
    x = lib.tensor(RNG.standard_normal((5, 4)).astype(np.float32))
    prepared = qfx.prepare_fx(model, q.QConfigMapping().set_global(q.default_qconfig), (x,))
    prepared(x)
    return prepared, x


def test_observer_state_dict_round_trip():
    e_prep, x = _observed(ember, eq, efx)
    t_prep, _ = _observed(torch, tq, tfx)
    e_state, t_state = eq.get_observer_state_dict(e_prep), tq.get_observer_state_dict(t_prep)
    assert list(e_state) == list(t_state)
    fresh, _ = _observed(ember, eq, efx)
    fresh.activation_post_process_0.reset_min_max_vals()
    eq.load_observer_state_dict(fresh, e_state)
    assert fresh.activation_post_process_0.min_val.item() == \
        e_prep.activation_post_process_0.min_val.item()
    # observers load non-strictly, as torch's: a key left out is skipped, not an error
    del e_state["activation_post_process_1.max_val"]
    del t_state["activation_post_process_1.max_val"]
    eq.load_observer_state_dict(fresh, e_state)
    tq.load_observer_state_dict(t_prep, t_state)


def test_default_eval_fn_calibrates():
    model = eq.QuantWrapper(ember.nn.Linear(3, 2))
    model.qconfig = eq.default_qconfig
    prepared = eq.prepare(model.eval())
    data = [(ember.ones(2, 3) * k, None) for k in (1.0, -2.0)]
    eq.default_eval_fn(prepared, data)
    assert prepared.quant.activation_post_process.min_val.item() == -2.0
