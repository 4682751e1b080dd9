"""ember.vision.models.quantization: torchvision's quantizable classifiers (ResNet-18/50,
ResNeXt-101 32x8d/64x4d, MobileNetV2, GoogLeNet, ShuffleNet V2) against torchvision
0.28's own quantizable models under torch.ao (pure Python on torch's quantized ops, no
torchvision C op): float and fused outputs, the eager
post-training pipeline (fuse, prepare, calibrate, convert) side by side, int8 stages
compared integer for integer, builders and quantized weights enums.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from vision.torch_models import fill_weights, no_torch_init, tv_models

import ember
import ember.ao.quantization as eq
from ember import nn
from ember.vision import models as M

pytestmark = [pytest.mark.xdist_group("vision_models_quantized"),
              pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated"),
              pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions"),
              pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max"),
              # torch and ember alike: a block without a shortcut never runs its skip_add
              pytest.mark.filterwarnings("ignore:must run observer before calling")]




def _copy(torch_model, ember_model):
    ember_model.load_state_dict({k: ember.from_numpy(v.detach().numpy().copy())
                                 for k, v in torch_model.state_dict().items()})


Q = M.quantization


def _tv_quantizable(build):
    """torchvision's quantizable model ``build(torchvision.models.quantization)`` with its
    ReLUs made fusable (as its builders do) and filled weights."""
    tvq = tv_models().quantization
    with no_torch_init():
        model = build(tvq)
    tvq.utils._replace_relu(model)
    return fill_weights(model)


def _layer_names(model):
    """Module type names (ember's and torchvision's classes share their names)."""
    # ember's convert keeps nn.Dropout (torch swaps in its QuantizedDropout subclass: the
    # same identity in eval, no state): a difference of ember.ao.quantization's mapping
    rename = {"QuantizedDropout": "Dropout"}
    return [rename.get(m._get_name(), m._get_name()) for m in model.modules()]


def _qconfig(q, per_channel=True):
    """torchvision's recipe from ``q`` (torch.ao.quantization or ember's): 7-bit
    activations, per-channel ("fbgemm") or per-tensor ("qnnpack") int8 weights."""
    weight = q.default_per_channel_weight_observer if per_channel else q.default_weight_observer
    return q.QConfig(activation=q.default_observer, weight=weight)


def _resnet_pair(bottleneck, groups, width):
    def build(lib):
        block = lib.resnet.QuantizableBottleneck if bottleneck else \
            lib.resnet.QuantizableBasicBlock
        return lib.QuantizableResNet(block, [1, 1, 1, 1], num_classes=5, groups=groups,
                                     width_per_group=width)

    reference, model = _tv_quantizable(build), build(Q)

    def stages(m):  # the stem (quantize, conv-bn-relu, max pool), then the four stages
        return [lambda x: m.maxpool(m.conv1(m.quant(x))), m.layer1, m.layer2, m.layer3,
                m.layer4]

    return reference, model, stages


_SMALL_V2 = [[1, 8, 1, 1], [6, 16, 2, 2], [6, 24, 2, 2]]


def _mobilenet_pair():
    def build(lib):
        return lib.QuantizableMobileNetV2(num_classes=5, inverted_residual_setting=_SMALL_V2,
                                          block=lib.mobilenetv2.QuantizableInvertedResidual)

    reference, model = _tv_quantizable(build), build(Q)

    def stages(m):
        return [lambda x: m.features[0](m.quant(x)), *list(m.features)[1:]]

    return reference, model, stages


def _googlenet_pair():
    def build(lib):
        return lib.QuantizableGoogLeNet(num_classes=5, aux_logits=False, init_weights=False)

    reference, model = _tv_quantizable(build), build(Q)

    def stages(m):
        first = [lambda x: m.maxpool1(m.conv1(m.quant(x)))]
        return first + [getattr(m, name) for name in (
            "conv2", "conv3", "maxpool2", "inception3a", "inception3b", "maxpool3",
            "inception4a", "inception4b", "inception4c", "inception4d", "inception4e",
            "maxpool4", "inception5a", "inception5b")]

    return reference, model, stages


def _shufflenet_pair():
    def build(lib):
        return lib.QuantizableShuffleNetV2([1, 2, 1], [8, 16, 32, 64, 128], num_classes=5)

    reference, model = _tv_quantizable(build), build(Q)

    def forward_impl(x):
        """torchvision's ``_forward_impl`` with its ``x.mean([2, 3])`` taken as global
        average pooling (the same mean): torch 2.13's quantized mean raises on quantized
        conv outputs ("required rank 4 tensor to use channels_last format")."""
        m = reference
        x = m.conv5(m.stage4(m.stage3(m.stage2(m.maxpool(m.conv1(x))))))
        return m.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))

    reference._forward_impl = forward_impl

    def stages(m):
        return [lambda x: m.maxpool(m.conv1(m.quant(x))), m.stage2, m.stage3, m.stage4,
                m.conv5]

    return reference, model, stages


@pytest.mark.parametrize("make,per_channel", [
    (partial(_resnet_pair, False, 1, 64), True), (partial(_resnet_pair, True, 2, 8), False),
    (_mobilenet_pair, False), (_googlenet_pair, True), (_shufflenet_pair, True)],
    ids=["resnet-fbgemm", "resnext-qnnpack", "mobilenet_v2", "googlenet", "shufflenet_v2"])
def test_quantizable_models_match_torch(no_init, make, per_channel):
    """Float outputs, fused-float outputs, then fuse -> prepare -> calibrate -> convert on
    both sides: same module types and state_dict keys, scales within float32 rounding,
    the int8 stem exact, each later stage (fed the same int8 input) within one quantum,
    and the int8 logits close."""
    reference, model, stages = make()
    reference = reference.eval()
    Q.utils._replace_relu(model)
    model.eval()
    assert list(model.state_dict()) == list(reference.state_dict())
    _copy(reference, model)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
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
    reference.qconfig = _qconfig(torch.ao.quantization, per_channel)
    model.qconfig = _qconfig(eq, per_channel)
    torch.ao.quantization.prepare(reference, inplace=True)
    eq.prepare(model, inplace=True)
    calib = rng.random((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        reference(torch.from_numpy(calib))
    with ember.no_grad():
        model(ember.from_numpy(calib))
    torch.ao.quantization.convert(reference, inplace=True)
    eq.convert(model, inplace=True)
    assert _layer_names(model) == _layer_names(reference)
    assert list(model.state_dict()) == list(reference.state_dict())
    for (name, m), t in zip(model.named_modules(), reference.modules()):
        if hasattr(t, "scale") and not isinstance(t.scale, torch.Tensor):
            np.testing.assert_allclose(float(m.scale), t.scale, rtol=1e-5, err_msg=name)
    t_stages, e_stages = stages(reference), stages(model)
    with torch.no_grad():
        t_in = t_stages[0](torch.from_numpy(calib))
    e_out = e_stages[0](ember.from_numpy(calib))
    np.testing.assert_array_equal(e_out.int_repr().numpy(), t_in.int_repr().numpy())
    # the requantized residual add may round a tie the other way: one quantum, rarely
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
    # end to end those one-quantum flips compound; the logits' 7-bit scale is fine
    with torch.no_grad():
        q_expected = reference(torch.from_numpy(calib)).numpy()
    q_got = model(ember.from_numpy(calib)).numpy()
    fc = reference.fc if hasattr(reference, "fc") else reference.classifier[1]
    assert np.abs(q_got - q_expected).max() <= 12 * fc.scale


def test_quantize_true_builds_torchvisions_int8_model():
    """``quantize=True``: torchvision's recipe (fbgemm: per-channel weights, calibration
    on one random image) end to end on ResNet-18 (real init: observers need finite
    weights); the converted layout equals the torch reference's, key for key."""
    torch.manual_seed(0)
    ember.manual_seed(0)
    model = Q.resnet18(quantize=True, num_classes=10)
    reference = tv_models().quantization.resnet18(quantize=False, num_classes=10).eval()
    reference.fuse_model()
    reference.qconfig = _qconfig(torch.ao.quantization)
    torch.ao.quantization.prepare(reference, inplace=True)
    reference(torch.rand(1, 3, 32, 32))
    torch.ao.quantization.convert(reference, inplace=True)
    assert list(model.state_dict()) == list(reference.state_dict())
    assert _layer_names(model) == _layer_names(reference)
    assert model.layer1[0].conv1.weight().qscheme() == ember.per_channel_affine  # as torch
    assert model.fc.weight().q_per_channel_scales().shape == (10,)
    assert np.isfinite(model.fc.scale) and model.fc.scale > 0
    out = model(ember.rand(1, 3, 64, 64))
    assert out.shape == (1, 10) and out.dtype == ember.float32 and not out.is_quantized


def test_quantized_builders(no_init):
    q = Q.resnext101_32x8d(quantize=False)
    assert q.layer1[0].conv2.groups == 32 and type(q.layer1[0].relu1) is nn.ReLU
    assert not q.layer1[0].relu1.inplace
    assert sum(p.numel() for p in q.parameters()) == \
        Q.ResNeXt101_32X8D_QuantizedWeights.DEFAULT.meta["num_params"]
    for builder, enum in ((Q.resnet50, Q.ResNet50_QuantizedWeights),
                          (Q.resnext101_64x4d, Q.ResNeXt101_64X4D_QuantizedWeights),
                          (Q.shufflenet_v2_x0_5, Q.ShuffleNet_V2_X0_5_QuantizedWeights),
                          (Q.shufflenet_v2_x1_0, Q.ShuffleNet_V2_X1_0_QuantizedWeights),
                          (Q.shufflenet_v2_x1_5, Q.ShuffleNet_V2_X1_5_QuantizedWeights),
                          (Q.shufflenet_v2_x2_0, Q.ShuffleNet_V2_X2_0_QuantizedWeights)):
        assert sum(p.numel() for p in builder().parameters()) == enum.DEFAULT.meta["num_params"]
    with pytest.raises(ValueError, match="'groups' expected value 64 but got 32"):
        Q.resnext101_64x4d(groups=32)
    qat_fused = Q.resnet18()
    qat_fused.fuse_model()  # a model in training mode gets QAT fusion, as torchvision's
    assert type(qat_fused.conv1).__name__ == "ConvBnReLU2d"
    with pytest.raises(RuntimeError, match="Quantized backend not supported"):
        Q.resnet18(quantize=True, backend="onednn")
    with pytest.raises(ValueError, match="'backend' expected value fbgemm but got qnnpack"):
        Q.resnet18(quantize=True, weights="DEFAULT", backend="qnnpack")
    with pytest.raises(TypeError, match="expected ResNet18_QuantizedWeights but received"):
        Q.resnet18(quantize=True, weights=M.ResNet18_Weights.DEFAULT)
    assert M.get_model_builder("quantized_resnet50") is Q.resnet50
    assert M.get_model_weights("quantized_resnext101_32x8d") is \
        Q.ResNeXt101_32X8D_QuantizedWeights
    assert M.get_model_weights("quantized_mobilenet_v2") is Q.MobileNet_V2_QuantizedWeights
    g = Q.googlenet(aux_logits=False, init_weights=False)
    assert sum(p.numel() for p in g.parameters()) == \
        Q.GoogLeNet_QuantizedWeights.DEFAULT.meta["num_params"]
    assert type(g.conv1.relu) is nn.ReLU and g.inception3a.cat and g.aux1 is None
    assert type(Q.googlenet(init_weights=False).aux1).__name__ == "QuantizableInceptionAux"
    with pytest.raises(ValueError, match="'aux_logits' expected value True but got False"):
        Q.googlenet(quantize=True, weights="DEFAULT", aux_logits=False)
    mv2 = Q.mobilenet_v2()
    assert sum(p.numel() for p in mv2.parameters()) == \
        Q.MobileNet_V2_QuantizedWeights.DEFAULT.meta["num_params"]
    assert not any(type(m) is nn.ReLU6 for m in mv2.modules())
    assert type(mv2.features[1].conv[0][2]) is nn.ReLU and mv2.features[2].skip_add
    with pytest.raises(ValueError, match="'backend' expected value qnnpack but got fbgemm"):
        Q.mobilenet_v2(quantize=True, weights="DEFAULT", backend="fbgemm")


def test_quantized_weights_metadata():
    W = Q.ResNet50_QuantizedWeights
    assert [w.name for w in W] == ["IMAGENET1K_FBGEMM_V1", "IMAGENET1K_FBGEMM_V2"]
    assert W.DEFAULT is W.IMAGENET1K_FBGEMM_V2
    assert W.DEFAULT.meta["unquantized"] is M.ResNet50_Weights.IMAGENET1K_V2
    assert W.DEFAULT.meta["backend"] == "fbgemm" and W.DEFAULT.meta["_file_size"] == 24.953
    assert W.DEFAULT.transforms().resize_size == [232]
    assert W.DEFAULT.url == \
        "https://download.pytorch.org/models/quantized/resnet50_fbgemm-23753f79.pth"
    r18 = Q.ResNet18_QuantizedWeights.DEFAULT
    assert r18.meta["_metrics"]["ImageNet-1K"] == {"acc@1": 69.494, "acc@5": 88.882}
    assert Q.ResNeXt101_64X4D_QuantizedWeights.DEFAULT.meta["recipe"] == \
        "https://github.com/pytorch/vision/pull/5935"
    assert M.get_weight("ResNeXt101_32X8D_QuantizedWeights.IMAGENET1K_FBGEMM_V1").meta[
        "_ops"] == 16.414
    s2 = Q.ShuffleNet_V2_X2_0_QuantizedWeights.DEFAULT
    assert s2.meta["recipe"] == "https://github.com/pytorch/vision/pull/5906"
    assert s2.transforms().resize_size == [232] and s2.meta["_ops"] == 0.583
    assert s2.meta["unquantized"] is M.ShuffleNet_V2_X2_0_Weights.IMAGENET1K_V1
    assert Q.ShuffleNet_V2_X0_5_QuantizedWeights.DEFAULT.url.endswith(
        "quantized/shufflenetv2_x0.5_fbgemm-00845098.pth")
    g = Q.GoogLeNet_QuantizedWeights.DEFAULT
    assert g.meta["min_size"] == (15, 15) and g.meta["_file_size"] == 12.618
    assert g.meta["unquantized"] is M.GoogLeNet_Weights.IMAGENET1K_V1
    mv2 = Q.MobileNet_V2_QuantizedWeights.IMAGENET1K_QNNPACK_V1
    assert Q.MobileNet_V2_QuantizedWeights.DEFAULT is mv2
    assert mv2.meta["backend"] == "qnnpack" and mv2.meta["_ops"] == 0.301
    assert mv2.meta["unquantized"] is M.MobileNet_V2_Weights.IMAGENET1K_V1
    assert mv2.url.endswith("quantized/mobilenet_v2_qnnpack_37f702c5.pth")


def test_torch_quantized_checkpoint_loads_bit_exact(no_init):
    """The path of the torchvision quantized weights: a checkpoint saved by torch from a
    converted model (packed int8 weights, per-channel scales, QFunctional scales) loads
    into an ember model converted the same way (calibrated on other data) and then
    computes torch's int8 outputs exactly."""
    import io

    reference = _tv_quantizable(lambda lib: lib.QuantizableResNet(
        lib.resnet.QuantizableBasicBlock, [1, 1, 1, 1], num_classes=5)).eval()
    reference.fuse_model()
    reference.qconfig = _qconfig(torch.ao.quantization)
    torch.ao.quantization.prepare(reference, inplace=True)
    reference(torch.rand(2, 3, 32, 32))
    torch.ao.quantization.convert(reference, inplace=True)
    buffer = io.BytesIO()
    torch.save(reference.state_dict(), buffer)
    buffer.seek(0)
    model = Q.QuantizableResNet(Q.resnet.QuantizableBasicBlock, [1, 1, 1, 1], num_classes=5)
    Q.utils._replace_relu(model)
    with ember.no_grad():  # init was skipped; calibration needs finite values
        for p in model.parameters():
            p.fill_(0.5)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_var.fill_(1.0)
    model.eval().fuse_model()
    model.qconfig = _qconfig(eq)
    eq.prepare(model, inplace=True)
    model(ember.rand(1, 3, 32, 32))
    eq.convert(model, inplace=True)
    model.load_state_dict(ember.load(buffer, weights_only=True))
    x = np.random.default_rng(9).random((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(model(ember.from_numpy(x)).numpy(), expected)
