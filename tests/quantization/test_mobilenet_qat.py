"""Quantized MobileNetV3 built as torchvision builds ``quantize=True``: QAT fusion and
``prepare_qat``, a QAT checkpoint loaded, then ``convert``. The QAT checkpoint comes
from torch.ao on torchvision's own quantizable MobileNetV3 (small rows, filled weights, as
tests/vision/test_models_quantized_more.py builds it), trained a few forward passes so every fake
quantizer holds real statistics; ember's prepared model takes it key for key and its
converted int8 model gives torch's outputs bit for bit."""

import io

import numpy as np
import pytest
import torch
from vision.test_models_quantized_more import _mobilenet_v3_pair

import ember
from ember.vision import models as M

Q = M.quantization
TQ = torch.ao.quantization
pytestmark = [pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated"),
              pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions"),
              pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max"),
              pytest.mark.filterwarnings("ignore:must run observer before calling")]


@pytest.mark.parametrize("backend", ["qnnpack", "fbgemm"])
def test_qat_checkpoint_loads_and_converts_bit_exact(backend):
    torch.manual_seed(0)
    reference, model, _ = _mobilenet_v3_pair()
    reference = reference.train()
    reference.fuse_model(is_qat=True)  # torchvision's own QAT fusion
    reference.qconfig = TQ.get_default_qat_qconfig(backend)
    TQ.prepare_qat(reference, inplace=True)
    rng = np.random.default_rng(4)
    for _ in range(2):
        reference(torch.from_numpy(rng.random((2, 3, 32, 32)).astype(np.float32)))
    buffer = io.BytesIO()
    torch.save(reference.state_dict(), buffer)
    buffer.seek(0)
    Q.utils._replace_relu(model)
    Q.mobilenetv3._prepare_qat(model, backend)
    assert list(model.state_dict()) == list(reference.state_dict())
    model.load_state_dict(ember.load(buffer, weights_only=True))
    TQ.convert(reference, inplace=True)
    Q.mobilenetv3.aq.convert(model, inplace=True)
    reference.eval()
    model.eval()
    assert list(model.state_dict()) == list(reference.state_dict())
    x = rng.random((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    assert len(np.unique(expected)) > 5  # not a degenerate constant output
    np.testing.assert_array_equal(model(ember.from_numpy(x)).numpy(), expected)


def test_builder_quantize_true_loads_the_qat_weights(monkeypatch):
    """The builder's weights path: the checkpoint (here a QAT state of the same layout,
    the real file is not downloaded in tests) loads before convert; the backend must be
    the weights' own."""
    weights = Q.MobileNet_V3_Large_QuantizedWeights.DEFAULT
    prepared = Q.mobilenet_v3_large()
    Q.utils._replace_relu(prepared)
    Q.mobilenetv3._prepare_qat(prepared, "qnnpack")
    state = prepared.state_dict()
    observer = "classifier.3.activation_post_process.activation_post_process."
    state[observer + "min_val"] = ember.tensor(-1.0)
    state[observer + "max_val"] = ember.tensor(3.0)
    monkeypatch.setattr(type(weights), "get_state_dict",
                        lambda self, progress=True, check_hash=False: dict(state))
    model = Q.mobilenet_v3_large(quantize=True, weights="DEFAULT")
    assert not model.training
    assert model.features[1].block[0][0]._get_name() == "QuantizedConvReLU2d"
    np.testing.assert_allclose(model.classifier[3].scale, 4 / 255, rtol=1e-6)
    assert model.classifier[3].zero_point == 64
    assert model.features[4].block[2].fc2.weight().qscheme() is ember.per_tensor_affine
    with pytest.raises(ValueError, match="'backend' expected value qnnpack but got fbgemm"):
        Q.mobilenet_v3_large(quantize=True, weights="DEFAULT", backend="fbgemm")
