"""Quantizable MobileNetV3-Large and Inception V3 (ember.vision.models.quantization)
against torchvision 0.28's own quantizable models under torch.ao: float
and fused outputs, fuse -> prepare -> calibrate -> convert side by side (module types,
state_dict keys, scales), the int8 stem integer for integer, each later stage fed the
same int8 input within one quantum, the int8 logits close; builders and weights enums.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from vision.test_models_quantized import _copy, _layer_names, _qconfig, _tv_quantizable
from vision.torch_models import tv_models

import ember
import ember.ao.quantization as eq
from ember import nn
from ember.vision import models as M
from ember.vision.models.mobilenet import InvertedResidualConfig

Q = M.quantization
TQ = torch.ao.quantization
pytestmark = [pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated"),
              pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions"),
              pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max"),
              pytest.mark.filterwarnings("ignore:must run observer before calling")]


# (in, kernel, expanded, out, SE, hardswish, stride): the rows ember's config takes
_V3_ROWS = [(16, 3, 16, 16, False, False, 1), (16, 5, 48, 24, True, False, 2),
            (24, 3, 72, 24, True, True, 1), (24, 3, 64, 32, False, True, 2)]


def _mobilenet_v3_pair():
    def build(lib, config):
        setting = [config(cin, k, exp, cout, se, "HS" if hs else "RE", s, 1, 1.0)
                   for cin, k, exp, cout, se, hs, s in _V3_ROWS]
        return lib.QuantizableMobileNetV3(setting, 40, num_classes=5,
                                          block=lib.mobilenetv3.QuantizableInvertedResidual)

    reference = _tv_quantizable(
        lambda tvq: build(tvq, tv_models().mobilenetv3.InvertedResidualConfig))
    model = build(Q, InvertedResidualConfig)

    def stages(m):
        return [lambda x: m.features[0](m.quant(x)), *list(m.features)[1:]]

    return reference, model, stages


def _check_pipeline(reference, model, stages, size, per_channel):
    """The shared method of tests/vision/test_models_quantized.py, on these two models."""
    reference = reference.eval()
    Q.utils._replace_relu(model)
    model.eval()
    assert list(model.state_dict()) == list(reference.state_dict())
    _copy(reference, model)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        np.testing.assert_allclose(model(ember.from_numpy(x)).numpy(), expected, rtol=1e-4,
                                   atol=1e-4)
        reference.fuse_model()
        model.fuse_model()
        assert _layer_names(model) == _layer_names(reference)
        np.testing.assert_allclose(model(ember.from_numpy(x)).numpy(), expected, rtol=1e-4,
                                   atol=1e-4)
    reference.qconfig = _qconfig(TQ, per_channel)
    model.qconfig = _qconfig(eq, per_channel)
    TQ.prepare(reference, inplace=True)
    eq.prepare(model, inplace=True)
    calib = rng.random((2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        reference(torch.from_numpy(calib))
    with ember.no_grad():
        model(ember.from_numpy(calib))
    TQ.convert(reference, inplace=True)
    eq.convert(model, inplace=True)
    assert _layer_names(model) == _layer_names(reference)
    assert list(model.state_dict()) == list(reference.state_dict())
    for (name, m), t in zip(model.named_modules(), reference.modules()):
        if hasattr(t, "scale"):
            np.testing.assert_allclose(float(m.scale), float(t.scale), rtol=1e-5, err_msg=name)
    t_stages, e_stages = stages(reference), stages(model)
    with torch.no_grad():
        t_in = t_stages[0](torch.from_numpy(calib))
    e_out = e_stages[0](ember.from_numpy(calib))
    np.testing.assert_array_equal(e_out.int_repr().numpy(), t_in.int_repr().numpy())
    for i, (t_stage, e_stage) in enumerate(zip(t_stages[1:], e_stages[1:])):
        with torch.no_grad():
            t_out = t_stage(t_in)
        e_in = ember.quantize_per_tensor(ember.from_numpy(t_in.dequantize().numpy()),
                                         t_in.q_scale(), t_in.q_zero_point(), ember.quint8)
        np.testing.assert_array_equal(e_in.int_repr().numpy(), t_in.int_repr().numpy())
        diff = np.abs(e_stage(e_in).int_repr().numpy().astype(int) -
                      t_out.int_repr().numpy().astype(int))
        assert diff.max() <= 1 and (diff > 0).mean() < 0.01, i
        t_in = t_out
    with torch.no_grad():
        q_expected = reference(torch.from_numpy(calib)).numpy()
    q_got = model(ember.from_numpy(calib)).numpy()
    return q_got, q_expected


@pytest.mark.parametrize("per_channel", [False, True], ids=["qnnpack", "fbgemm"])
def test_quantizable_mobilenet_v3_matches_torch(no_init, per_channel):
    torch.manual_seed(0)
    reference, model, stages = _mobilenet_v3_pair()
    q_got, q_expected = _check_pipeline(reference, model, stages, 32, per_channel)
    assert np.abs(q_got - q_expected).max() <= 12 * reference.classifier[3].scale
    assert type(model.features[2].block[2].scale_activation).__name__ == \
        "_QuantizedHardsigmoid"
    assert repr(model.features[3].block[0][1]) == repr(reference.features[3].block[0][1])


def test_quantizable_inception_v3_matches_torch(no_init):
    def build(lib):
        return lib.QuantizableInception3(num_classes=5, aux_logits=False, init_weights=False)

    reference, model = _tv_quantizable(build), build(Q)

    def stages(m):
        first = [lambda x: m.Conv2d_1a_3x3(m.quant(x))]
        return first + [getattr(m, name) for name in (
            "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
            "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b",
            "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c")]

    q_got, q_expected = _check_pipeline(reference, model, stages, 75, True)
    assert np.abs(q_got - q_expected).max() <= 12 * reference.fc.scale
    assert type(model.Mixed_7b.myop3).__name__ == "QFunctional"


def test_torch_quantized_mobilenet_v3_checkpoint_loads_bit_exact(no_init):
    """A checkpoint torch saved from its converted MobileNetV3 (QuantizedHardswish
    buffers, SE multiply and shortcut QFunctional scales, packed int8 weights) loads into
    an ember model converted the same way and gives torch's int8 outputs exactly."""
    import io

    reference, model, _ = _mobilenet_v3_pair()
    reference = reference.eval()
    reference.fuse_model()
    reference.qconfig = _qconfig(TQ, False)
    TQ.prepare(reference, inplace=True)
    reference(torch.rand(2, 3, 32, 32))
    TQ.convert(reference, inplace=True)
    buffer = io.BytesIO()
    torch.save(reference.state_dict(), buffer)
    buffer.seek(0)
    Q.utils._replace_relu(model)
    with ember.no_grad():  # init was skipped; calibration needs finite values
        for p in model.parameters():
            p.fill_(0.05)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_var.fill_(1.0)
    model.eval().fuse_model()
    model.qconfig = _qconfig(eq, False)
    eq.prepare(model, inplace=True)
    model(ember.rand(1, 3, 32, 32))
    eq.convert(model, inplace=True)
    model.load_state_dict(ember.load(buffer, weights_only=True))
    x = np.random.default_rng(9).random((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(model(ember.from_numpy(x)).numpy(), expected)


def test_quantized_mobilenet_v3_and_inception_builders(no_init):
    mv3 = Q.mobilenet_v3_large()
    assert sum(p.numel() for p in mv3.parameters()) == \
        Q.MobileNet_V3_Large_QuantizedWeights.DEFAULT.meta["num_params"]
    se = mv3.features[4].block[2]
    assert type(se).__name__ == "QuantizableSqueezeExcitation" and se._version == 2
    assert type(se.scale_activation) is nn.Hardsigmoid and se.skip_mul
    assert type(mv3.features[1].block[0][2]) is nn.ReLU and mv3.features[2].skip_add
    with pytest.raises(ValueError, match="'backend' expected value qnnpack but got fbgemm"):
        Q.mobilenet_v3_large(quantize=True, weights="DEFAULT", backend="fbgemm")
    with pytest.raises(TypeError, match="expected MobileNet_V3_Large_QuantizedWeights"):
        Q.mobilenet_v3_large(quantize=True, weights=M.MobileNet_V3_Large_Weights.DEFAULT)
    assert M.get_model_builder("quantized_mobilenet_v3_large") is Q.mobilenet_v3_large
    assert M.get_model_weights("quantized_inception_v3") is Q.Inception_V3_QuantizedWeights
    inc = Q.inception_v3(init_weights=False)
    assert sum(p.numel() for p in inc.parameters()) == \
        Q.Inception_V3_QuantizedWeights.DEFAULT.meta["num_params"]
    assert type(inc.AuxLogits).__name__ == "QuantizableInceptionAux"
    assert type(inc.Mixed_5b.branch1x1.relu) is nn.ReLU and inc.Mixed_7c.myop3
    assert type(inc.Mixed_6a).__name__ == "QuantizableInceptionB"
    with pytest.raises(ValueError, match="'aux_logits' expected value True but got False"):
        Q.inception_v3(quantize=True, weights="DEFAULT", aux_logits=False)
    with pytest.raises(ValueError, match="'backend' expected value fbgemm but got qnnpack"):
        Q.inception_v3(quantize=True, weights="DEFAULT", backend="qnnpack")


def test_quantized_weights_metadata_mobilenet_v3_inception():
    w = Q.MobileNet_V3_Large_QuantizedWeights.DEFAULT
    assert w is Q.MobileNet_V3_Large_QuantizedWeights.IMAGENET1K_QNNPACK_V1
    assert w.url.endswith("quantized/mobilenet_v3_large_qnnpack-5bcacf28.pth")
    assert w.meta["backend"] == "qnnpack" and w.meta["_ops"] == 0.217
    assert w.meta["_metrics"]["ImageNet-1K"] == {"acc@1": 73.004, "acc@5": 90.858}
    assert w.meta["unquantized"] is M.MobileNet_V3_Large_Weights.IMAGENET1K_V1
    i = Q.Inception_V3_QuantizedWeights.DEFAULT
    assert i.url.endswith("quantized/inception_v3_google_fbgemm-a2837893.pth")
    assert i.meta["min_size"] == (75, 75) and i.meta["_file_size"] == 23.146
    assert i.transforms().resize_size == [342] and i.transforms().crop_size == [299]
    assert i.meta["unquantized"] is M.Inception_V3_Weights.IMAGENET1K_V1


def test_quantize_true_mobilenet_v3_int8_layout():
    """``quantize=True`` (post-training recipe here): Hardswish becomes QuantizedHardswish
    with calibrated quantizers, the SE gate stays a fixed-grid Hardsigmoid, and the int8
    model runs end to end."""
    ember.manual_seed(0)
    model = Q.mobilenet_v3_large(quantize=True, num_classes=7, width_mult=0.5)
    names = {type(m).__name__ for m in model.modules()}
    assert {"_QuantizedHardsigmoid", "QFunctional", "ConvReLU2d"} <= names
    assert "Hardsigmoid" not in names and "FloatFunctional" not in names
    assert not any(type(m) is nn.Hardswish for m in model.modules())
    assert sum(type(m) is ember.nn.quantized.Hardswish for m in model.modules()) > 10
    assert repr(model.features[0][2]) == "QuantizedHardswish()"
    out = model(ember.rand(1, 3, 64, 64))
    assert out.shape == (1, 7) and not out.is_quantized and np.isfinite(out.numpy()).all()


def test_torch_quantized_inception_v3_checkpoint_loads_bit_exact(no_init):
    """Inception v3 the same way: torch's converted checkpoint (per-channel int8 conv
    weights, every ``myop`` concatenation's scale) loads value for value; the logits
    agree within a quantum (ember's int8 conv requantizes a rare tie the other way)."""
    import io

    reference = _tv_quantizable(lambda tvq: tvq.QuantizableInception3(
        num_classes=5, aux_logits=False, init_weights=False)).eval()
    reference.fuse_model()
    reference.qconfig = _qconfig(TQ)
    TQ.prepare(reference, inplace=True)
    reference(torch.rand(1, 3, 75, 75))
    TQ.convert(reference, inplace=True)
    buffer = io.BytesIO()
    torch.save(reference.state_dict(), buffer)
    buffer.seek(0)
    model = Q.QuantizableInception3(num_classes=5, aux_logits=False, init_weights=False)
    Q.utils._replace_relu(model)
    with ember.no_grad():
        for p in model.parameters():
            p.fill_(0.01)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_var.fill_(1.0)
    model.eval().fuse_model()
    model.qconfig = _qconfig(eq)
    eq.prepare(model, inplace=True)
    model(ember.rand(1, 3, 75, 75))
    eq.convert(model, inplace=True)
    model.load_state_dict(ember.load(buffer, weights_only=True))
    x = np.random.default_rng(9).random((1, 3, 75, 75)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    got_state, ref_state = model.state_dict(), reference.state_dict()
    assert list(got_state) == list(ref_state)
    for key, value in ref_state.items():
        got = got_state[key]
        if isinstance(value, tuple):  # a Linear's packed (weight, bias)
            value, got = value[0], got[0]
        if isinstance(value, torch.Tensor) and value.is_quantized:
            np.testing.assert_array_equal(got.int_repr().numpy(), value.int_repr().numpy())
            np.testing.assert_array_equal(got.q_per_channel_scales().numpy(),
                                          value.q_per_channel_scales().numpy())
        elif isinstance(value, torch.Tensor):
            np.testing.assert_array_equal(got.numpy(), value.numpy(), err_msg=key)
    assert np.abs(model(ember.from_numpy(x)).numpy() - expected).max() <= \
        1.01 * reference.fc.scale
