"""ember.ao.ns._numeric_suite against torch.ao.ns._numeric_suite on an eager-quantized
model (the same float weights, calibration data and qconfig on both sides)."""

import numpy as np
import pytest
import torch
import torch.ao.ns._numeric_suite as tns
import torch.ao.quantization as tq

import ember
import ember.ao.ns._numeric_suite as ens
import ember.ao.quantization as eq

pytestmark = [pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions"),
              pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated"),
              pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max")]


def _build(lib, aq):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = aq.QuantStub()
            self.fc1 = nn.Linear(6, 8)
            self.relu = nn.ReLU()
            self.sub = nn.Sequential(nn.Linear(8, 4))
            self.dequant = aq.DeQuantStub()

        def forward(self, x):
            return self.dequant(self.sub(self.relu(self.fc1(self.quant(x)))))

    return Net().eval()


def _pair():
    """(torch float, torch quantized, ember float, ember quantized, input batch)."""
    gen = np.random.default_rng(0)
    t_float, e_float = _build(torch, tq), _build(ember, eq)
    e_float.load_state_dict({k: ember.tensor(v.numpy()) for k, v in
                             t_float.state_dict().items()})
    models = []
    for lib, aq, model in ((torch, tq, t_float), (ember, eq, e_float)):
        model.qconfig = aq.get_default_qconfig("x86")
        prepared = aq.prepare(model)
        for seed in range(2):
            x = np.random.default_rng(seed).standard_normal((5, 6)).astype(np.float32)
            prepared(lib.tensor(x))
        models.append(aq.convert(prepared))
        del model.qconfig
    x = gen.standard_normal((3, 6)).astype(np.float32)
    return t_float, models[0], e_float, models[1], x


def _close(e_value, t_value, atol):
    e_arr = e_value.dequantize() if e_value.is_quantized else e_value
    t_arr = t_value.dequantize() if t_value.is_quantized else t_value
    np.testing.assert_allclose(e_arr.detach().numpy(), t_arr.detach().numpy(), atol=atol)


def test_compare_weights_matches_torch():
    t_float, t_q, e_float, e_q, _ = _pair()
    t_dict = tns.compare_weights(t_float.state_dict(), t_q.state_dict())
    e_dict = ens.compare_weights(e_float.state_dict(), e_q.state_dict())
    assert list(e_dict) == list(t_dict) == ["fc1._packed_params._packed_params",
                                            "sub.0._packed_params._packed_params"]
    for key in t_dict:
        assert set(e_dict[key]) == {"float", "quantized"}
        _close(e_dict[key]["float"], t_dict[key]["float"], 0)
        # same float weight, same per-channel observer: the same integers
        np.testing.assert_array_equal(e_dict[key]["quantized"].int_repr().numpy(),
                                      t_dict[key]["quantized"].int_repr().numpy())


def test_find_match_rules():
    float_keys = ["conv.weight", "block.fc.weight", "fc.bias"]
    assert ens._find_match(float_keys, "conv.weight", "weight") == "conv.weight"
    assert ens._find_match(float_keys, "block.fc._packed_params._packed_params",
                           "_packed_params") == "block.fc.weight"
    assert ens._find_match(float_keys, "conv.bias", "weight") is None
    for key, postfix in (("conv.weight", "weight"), ("x._packed_params", "_packed_params")):
        assert ens._find_match(float_keys, key, postfix) == \
            tns._find_match(float_keys, key, postfix)


def test_compare_model_outputs_matches_torch():
    """Quantized outputs agree within one quantum of the module's output scale (observer
    scales can differ by an ulp, see tests/quantization/test_static.py); float outputs
    within float32 GEMM-order error."""
    t_float, t_q, e_float, e_q, x = _pair()
    t_dict = tns.compare_model_outputs(t_float, t_q, torch.tensor(x))
    e_dict = ens.compare_model_outputs(e_float, e_q, ember.tensor(x))
    assert list(e_dict) == list(t_dict)
    assert {"fc1.stats", "sub.0.stats", "quant.stats"} <= set(t_dict)
    for key in t_dict:
        assert len(e_dict[key]["float"]) == len(t_dict[key]["float"]) == 1
        _close(e_dict[key]["float"][0], t_dict[key]["float"][0], 1e-5)
        scale = float(getattr(t_q.get_submodule(key[:-len(".stats")]), "scale", 0.1))
        _close(e_dict[key]["quantized"][0], t_dict[key]["quantized"][0], scale * 1.001)


def test_compare_model_stub_matches_torch():
    t_float, t_q, e_float, e_q, x = _pair()
    t_dict = tns.compare_model_stub(t_float, t_q, {torch.nn.Linear}, torch.tensor(x))
    e_dict = ens.compare_model_stub(e_float, e_q, {ember.nn.Linear}, ember.tensor(x))
    assert list(e_dict) == list(t_dict) == ["fc1.stats", "sub.0.stats"]
    assert isinstance(e_q.fc1, ens.Shadow) and isinstance(e_q.fc1.logger, ens.ShadowLogger)
    # same module tree (reprs differ in observer scales an ulp apart; ember's convert runs
    # ReLU as a private _QuantizedReLU where torch keeps nn.ReLU)
    assert [(n, type(m).__name__.replace("_Quantized", "")) for n, m in e_q.named_modules()] \
        == [(n, type(m).__name__) for n, m in t_q.named_modules()]
    for key in t_dict:
        _close(e_dict[key]["float"][0], t_dict[key]["float"][0], 1e-5)
        scale = t_q.get_submodule(key[:-len(".stats")]).orig_module.scale
        _close(e_dict[key]["quantized"][0], t_dict[key]["quantized"][0], scale * 1.001)


def test_output_logger_and_get_logger_dict():
    model = ember.nn.Sequential(ember.nn.Linear(2, 2), ember.nn.Sequential(ens.OutputLogger()))
    x = ember.ones(1, 2)
    assert model[1](x) is x
    stats = ens.get_logger_dict(model)
    assert list(stats) == ["1.stats"] and stats["1.stats"]["tensor_val"] == [x]
    assert ens.Logger().dtype == ember.quint8
