"""Quantizable MobileNetV3-Large and Inception V3 (ember.vision.models.quantization)
against torch.ao references written here from torchvision's documented layout: float
and fused outputs, fuse -> prepare -> calibrate -> convert side by side (module types,
state_dict keys, scales), the int8 stem integer for integer, each later stage fed the
same int8 input within one quantum, the int8 logits close; builders and weights enums.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn as tnn
from vision.test_models_quantized import _copy, _qconfig, _randomize

import ember
import ember.ao.quantization as eq
from ember import nn
from ember.vision import models as M

Q = M.quantization
TQ = torch.ao.quantization
pytestmark = [pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated"),
              pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions"),
              pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max"),
              pytest.mark.filterwarnings("ignore:must run observer before calling")]


def _cbn(cin, cout, k, stride=1, groups=1, act=None, eps=0.001):
    """Conv2dNormActivation as a plain Sequential (conv without bias, BN, activation)."""
    layers = [tnn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
              tnn.BatchNorm2d(cout, eps=eps, momentum=0.01)]
    return tnn.Sequential(*layers, *([act()] if act else []))


def _divisible(v):
    """Nearest multiple of 8, never more than 10% below ``v`` (the papers' rounding)."""
    r = max(8, int(v + 4) // 8 * 8)
    return r + 8 if r < 0.9 * v else r


class _TorchSE(tnn.Module):
    def __init__(self, c, squeeze):
        super().__init__()
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.fc1, self.fc2 = tnn.Conv2d(c, squeeze, 1), tnn.Conv2d(squeeze, c, 1)
        self.activation, self.scale_activation = tnn.ReLU(), tnn.Hardsigmoid()
        self.skip_mul = tnn.quantized.FloatFunctional()

    def forward(self, x):
        s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return self.skip_mul.mul(s, x)


class _TorchV3Block(tnn.Module):
    def __init__(self, cin, k, exp, cout, se, hs, stride):
        super().__init__()
        act = tnn.Hardswish if hs else tnn.ReLU
        layers = [_cbn(cin, exp, 1, act=act)] if exp != cin else []
        layers.append(_cbn(exp, exp, k, stride, exp, act))
        if se:
            layers.append(_TorchSE(exp, _divisible(exp // 4)))
        layers.append(_cbn(exp, cout, 1))
        self.block = tnn.Sequential(*layers)
        self.skip_add = tnn.quantized.FloatFunctional()
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return self.skip_add.add(x, self.block(x)) if self.residual else self.block(x)


# (in, kernel, expanded, out, SE, hardswish, stride): the rows ember's config takes
_V3_ROWS = [(16, 3, 16, 16, False, False, 1), (16, 5, 48, 24, True, False, 2),
            (24, 3, 72, 24, True, True, 1), (24, 3, 64, 32, False, True, 2)]


class TorchQuantizableMobileNetV3(tnn.Module):
    def __init__(self, rows, last_channel, num_classes):
        super().__init__()
        feats = [_cbn(3, rows[0][0], 3, 2, act=tnn.Hardswish)]
        feats += [_TorchV3Block(*row) for row in rows]
        feats.append(_cbn(rows[-1][3], 6 * rows[-1][3], 1, act=tnn.Hardswish))
        self.features = tnn.Sequential(*feats)
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.classifier = tnn.Sequential(
            tnn.Linear(6 * rows[-1][3], last_channel), tnn.Hardswish(), tnn.Dropout(0.2),
            tnn.Linear(last_channel, num_classes))
        self.quant, self.dequant = TQ.QuantStub(), TQ.DeQuantStub()

    def forward(self, x):
        x = self.avgpool(self.features(self.quant(x)))
        return self.dequant(self.classifier(torch.flatten(x, 1)))

    def fuse_model(self):
        for m in self.modules():
            if type(m) is tnn.Sequential and len(m) >= 2 and type(m[0]) is tnn.Conv2d:
                names = ["0", "1"] + (["2"] if len(m) == 3 and type(m[2]) is tnn.ReLU else [])
                TQ.fuse_modules(m, names, inplace=True)
            elif type(m) is _TorchSE:
                TQ.fuse_modules(m, ["fc1", "activation"], inplace=True)


def _mobilenet_v3_pair():
    reference = TorchQuantizableMobileNetV3(_V3_ROWS, 40, 5)
    from ember.vision.models.mobilenet import InvertedResidualConfig
    setting = [InvertedResidualConfig(cin, k, exp, cout, se, "HS" if hs else "RE", s, 1, 1.0)
               for cin, k, exp, cout, se, hs, s in _V3_ROWS]
    model = Q.QuantizableMobileNetV3(setting, 40, num_classes=5,
                                     block=Q.mobilenetv3.QuantizableInvertedResidual)

    def stages(m):
        return [lambda x: m.features[0](m.quant(x)), *list(m.features)[1:]]

    return reference, model, stages


_OWN = {"QuantizableMobileNetV3", "TorchQuantizableMobileNetV3", "QuantizableInvertedResidual",
        "_TorchV3Block", "QuantizableSqueezeExcitation", "_TorchSE",
        "QuantizableInception3", "TorchQuantizableInception3", "QuantizableBasicConv2d",
        "_TorchBasicConv", "QuantizableInceptionA", "QuantizableInceptionB",
        "QuantizableInceptionC", "QuantizableInceptionD", "QuantizableInceptionE",
        "_TorchInceptionA", "_TorchInceptionB", "_TorchInceptionC", "_TorchInceptionD",
        "_TorchInceptionE"}


def _layer_names(model):
    """Module type names; the models' own classes as "Block", Conv2dNormActivation as
    Sequential, torch's QuantizedDropout as Dropout (ember's convert keeps nn.Dropout)."""
    rename = {"Conv2dNormActivation": "Sequential", "QuantizedDropout": "Dropout"}
    names = ["Block" if m._get_name() in _OWN else m._get_name() for m in model.modules()]
    return [rename.get(n, n) for n in names]


def _check_pipeline(reference, model, stages, size, per_channel):
    """The shared method of tests/vision/test_models_quantized.py, on these two models."""
    reference = _randomize(reference).eval()
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


class _TorchBasicConv(tnn.Module):
    def __init__(self, cin, cout, **kwargs):
        super().__init__()
        self.conv = tnn.Conv2d(cin, cout, bias=False, **kwargs)
        self.bn = tnn.BatchNorm2d(cout, eps=0.001)
        self.relu = tnn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


def _convs(module, rows):
    """Register ``name: (cin, cout, kernel, stride, padding)`` conv blocks in order."""
    for name, (cin, cout, k, s, p) in rows.items():
        setattr(module, name, _TorchBasicConv(cin, cout, kernel_size=k, stride=s, padding=p))


def _chain(module, names, x):
    for name in names:
        x = getattr(module, name)(x)
    return x


_T1, _T3 = (1, 7), (7, 1)
_P1, _P3 = (0, 3), (3, 0)


class _TorchInceptionA(tnn.Module):
    def __init__(self, c, pool):
        super().__init__()
        _convs(self, {"branch1x1": (c, 64, 1, 1, 0), "branch5x5_1": (c, 48, 1, 1, 0),
                      "branch5x5_2": (48, 64, 5, 1, 2), "branch3x3dbl_1": (c, 64, 1, 1, 0),
                      "branch3x3dbl_2": (64, 96, 3, 1, 1), "branch3x3dbl_3": (96, 96, 3, 1, 1),
                      "branch_pool": (c, pool, 1, 1, 0)})
        self.myop = tnn.quantized.FloatFunctional()

    def forward(self, x):
        pool = self.branch_pool(torch.nn.functional.avg_pool2d(x, 3, 1, 1))
        return self.myop.cat([self.branch1x1(x), _chain(self, ["branch5x5_1", "branch5x5_2"], x),
                              _chain(self, [f"branch3x3dbl_{i}" for i in (1, 2, 3)], x),
                              pool], 1)


class _TorchInceptionB(tnn.Module):
    def __init__(self, c):
        super().__init__()
        _convs(self, {"branch3x3": (c, 384, 3, 2, 0), "branch3x3dbl_1": (c, 64, 1, 1, 0),
                      "branch3x3dbl_2": (64, 96, 3, 1, 1), "branch3x3dbl_3": (96, 96, 3, 2, 0)})
        self.myop = tnn.quantized.FloatFunctional()

    def forward(self, x):
        return self.myop.cat([self.branch3x3(x),
                              _chain(self, [f"branch3x3dbl_{i}" for i in (1, 2, 3)], x),
                              torch.nn.functional.max_pool2d(x, 3, 2)], 1)


class _TorchInceptionC(tnn.Module):
    def __init__(self, c, c7):
        super().__init__()
        _convs(self, {"branch1x1": (c, 192, 1, 1, 0), "branch7x7_1": (c, c7, 1, 1, 0),
                      "branch7x7_2": (c7, c7, _T1, 1, _P1), "branch7x7_3": (c7, 192, _T3, 1, _P3),
                      "branch7x7dbl_1": (c, c7, 1, 1, 0), "branch7x7dbl_2": (c7, c7, _T3, 1, _P3),
                      "branch7x7dbl_3": (c7, c7, _T1, 1, _P1),
                      "branch7x7dbl_4": (c7, c7, _T3, 1, _P3),
                      "branch7x7dbl_5": (c7, 192, _T1, 1, _P1), "branch_pool": (c, 192, 1, 1, 0)})
        self.myop = tnn.quantized.FloatFunctional()

    def forward(self, x):
        pool = self.branch_pool(torch.nn.functional.avg_pool2d(x, 3, 1, 1))
        return self.myop.cat([self.branch1x1(x),
                              _chain(self, [f"branch7x7_{i}" for i in (1, 2, 3)], x),
                              _chain(self, [f"branch7x7dbl_{i}" for i in range(1, 6)], x),
                              pool], 1)


class _TorchInceptionD(tnn.Module):
    def __init__(self, c):
        super().__init__()
        _convs(self, {"branch3x3_1": (c, 192, 1, 1, 0), "branch3x3_2": (192, 320, 3, 2, 0),
                      "branch7x7x3_1": (c, 192, 1, 1, 0),
                      "branch7x7x3_2": (192, 192, _T1, 1, _P1),
                      "branch7x7x3_3": (192, 192, _T3, 1, _P3),
                      "branch7x7x3_4": (192, 192, 3, 2, 0)})
        self.myop = tnn.quantized.FloatFunctional()

    def forward(self, x):
        return self.myop.cat([_chain(self, ["branch3x3_1", "branch3x3_2"], x),
                              _chain(self, [f"branch7x7x3_{i}" for i in (1, 2, 3, 4)], x),
                              torch.nn.functional.max_pool2d(x, 3, 2)], 1)


class _TorchInceptionE(tnn.Module):
    def __init__(self, c):
        super().__init__()
        _convs(self, {"branch1x1": (c, 320, 1, 1, 0), "branch3x3_1": (c, 384, 1, 1, 0),
                      "branch3x3_2a": (384, 384, (1, 3), 1, (0, 1)),
                      "branch3x3_2b": (384, 384, (3, 1), 1, (1, 0)),
                      "branch3x3dbl_1": (c, 448, 1, 1, 0), "branch3x3dbl_2": (448, 384, 3, 1, 1),
                      "branch3x3dbl_3a": (384, 384, (1, 3), 1, (0, 1)),
                      "branch3x3dbl_3b": (384, 384, (3, 1), 1, (1, 0)),
                      "branch_pool": (c, 192, 1, 1, 0)})
        self.myop1 = tnn.quantized.FloatFunctional()
        self.myop2 = tnn.quantized.FloatFunctional()
        self.myop3 = tnn.quantized.FloatFunctional()

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        b3 = self.myop1.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        dbl = self.myop2.cat([self.branch3x3dbl_3a(dbl), self.branch3x3dbl_3b(dbl)], 1)
        pool = self.branch_pool(torch.nn.functional.avg_pool2d(x, 3, 1, 1))
        return self.myop3.cat([self.branch1x1(x), b3, dbl, pool], 1)


class TorchQuantizableInception3(tnn.Module):
    """Inception v3 without the auxiliary head (as torchvision with aux_logits=False)."""

    def __init__(self, num_classes):
        super().__init__()
        _convs(self, {"Conv2d_1a_3x3": (3, 32, 3, 2, 0), "Conv2d_2a_3x3": (32, 32, 3, 1, 0),
                      "Conv2d_2b_3x3": (32, 64, 3, 1, 1)})
        self.maxpool1 = tnn.MaxPool2d(3, 2)
        _convs(self, {"Conv2d_3b_1x1": (64, 80, 1, 1, 0), "Conv2d_4a_3x3": (80, 192, 3, 1, 0)})
        self.maxpool2 = tnn.MaxPool2d(3, 2)
        self.Mixed_5b, self.Mixed_5c = _TorchInceptionA(192, 32), _TorchInceptionA(256, 64)
        self.Mixed_5d, self.Mixed_6a = _TorchInceptionA(288, 64), _TorchInceptionB(288)
        self.Mixed_6b, self.Mixed_6c = _TorchInceptionC(768, 128), _TorchInceptionC(768, 160)
        self.Mixed_6d, self.Mixed_6e = _TorchInceptionC(768, 160), _TorchInceptionC(768, 192)
        self.Mixed_7a, self.Mixed_7b = _TorchInceptionD(768), _TorchInceptionE(1280)
        self.Mixed_7c = _TorchInceptionE(2048)
        self.avgpool, self.dropout = tnn.AdaptiveAvgPool2d((1, 1)), tnn.Dropout(0.5)
        self.fc = tnn.Linear(2048, num_classes)
        self.quant, self.dequant = TQ.QuantStub(), TQ.DeQuantStub()

    def stages(self):
        return [self.Conv2d_2a_3x3, self.Conv2d_2b_3x3, self.maxpool1, self.Conv2d_3b_1x1,
                self.Conv2d_4a_3x3, self.maxpool2] + [getattr(self, f"Mixed_{n}") for n in (
                    "5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c")]

    def forward(self, x):
        x = self.Conv2d_1a_3x3(self.quant(x))
        for stage in self.stages():
            x = stage(x)
        return self.dequant(self.fc(torch.flatten(self.dropout(self.avgpool(x)), 1)))

    def fuse_model(self):
        for m in self.modules():
            if type(m) is _TorchBasicConv:
                TQ.fuse_modules(m, ["conv", "bn", "relu"], inplace=True)


def test_quantizable_inception_v3_matches_torch(no_init):
    torch.manual_seed(0)
    reference = TorchQuantizableInception3(5)
    model = Q.QuantizableInception3(num_classes=5, aux_logits=False, init_weights=False)

    def stages(m):
        first = [lambda x: m.Conv2d_1a_3x3(m.quant(x))]
        if isinstance(m, torch.nn.Module):
            return first + m.stages()
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

    torch.manual_seed(0)
    reference, model, _ = _mobilenet_v3_pair()
    reference = _randomize(reference).eval()
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

    torch.manual_seed(0)
    reference = _randomize(TorchQuantizableInception3(5)).eval()
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
