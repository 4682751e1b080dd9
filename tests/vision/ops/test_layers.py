"""ember.vision.ops layers against the same architecture built from real torch.nn modules.

Each test builds the torch counterpart by hand (the layer sequence torchvision documents),
copies ember's parameters into it, and compares state_dict keys, outputs and gradients.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from oracle import as_numpy

import ember
from ember import nn
from ember.vision import ops
from ember.vision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7

RNG = np.random.default_rng(9)


def copy_into(torch_module, ember_module):
    """Load ember's state_dict into the torch module; the key lists must be equal."""
    e_state = ember_module.state_dict()
    t_state = torch_module.state_dict()
    assert list(e_state) == list(t_state)
    torch_module.load_state_dict({k: torch.from_numpy(as_numpy(v).copy()) for k, v in e_state.items()})


def compare(ember_module, torch_module, x, rtol=1e-5, atol=1e-5):
    """Same output for x, and the same input and parameter gradients."""
    copy_into(torch_module, ember_module)
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    e_out, t_out = ember_module(ex), torch_module(tx)
    np.testing.assert_allclose(as_numpy(e_out), t_out.detach().numpy(), rtol=rtol, atol=atol)
    upstream = RNG.standard_normal(t_out.shape).astype(x.dtype)
    e_out.backward(ember.tensor(upstream))
    t_out.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(as_numpy(ex.grad), tx.grad.numpy(), rtol=rtol, atol=atol)
    t_params = dict(torch_module.named_parameters())
    for name, p in ember_module.named_parameters():
        np.testing.assert_allclose(as_numpy(p.grad), t_params[name].grad.numpy(), rtol=rtol,
                                   atol=atol, err_msg=name)


def same_repr(ember_module, torch_module):
    """Equal reprs up to the top-level class name (torchvision's class vs the reference's)."""
    mine = repr(ember_module).replace(type(ember_module).__name__, "", 1)
    assert mine == repr(torch_module).replace(type(torch_module).__name__, "", 1)


def x4(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def test_frozen_batch_norm():
    m = ops.FrozenBatchNorm2d(3, eps=1e-3)
    for name in ("weight", "bias", "running_mean"):
        getattr(m, name).copy_(ember.tensor(x4(3)))
    m.running_var.copy_(ember.tensor(RNG.uniform(0.5, 2, 3).astype(np.float32)))
    assert list(m.state_dict()) == ["weight", "bias", "running_mean", "running_var"]
    assert not list(m.parameters())
    assert repr(m) == "FrozenBatchNorm2d(3, eps=0.001)"
    x = x4(2, 3, 4, 5)
    ref = TF.batch_norm(torch.from_numpy(x), *(torch.from_numpy(as_numpy(getattr(m, k)))
                        for k in ("running_mean", "running_var", "weight", "bias")),
                        training=False, eps=1e-3)
    np.testing.assert_allclose(as_numpy(m(ember.tensor(x))), ref.numpy(), rtol=1e-5, atol=1e-5)
    # a BatchNorm2d checkpoint (with num_batches_tracked) loads strictly
    bn = nn.BatchNorm2d(3)
    m.load_state_dict(bn.state_dict())
    np.testing.assert_array_equal(as_numpy(m.running_var), np.ones(3, np.float32))


@pytest.mark.parametrize("kwargs", [
    {},
    {"kernel_size": (3, 1), "dilation": 2, "stride": 2},
    {"norm_layer": None, "activation_layer": nn.Hardswish, "groups": 2},
    {"kernel_size": 1, "bias": True, "activation_layer": None},
])
def test_conv2d_norm_activation(kwargs):
    m = ops.Conv2dNormActivation(4, 6, **kwargs)
    k = kwargs.get("kernel_size", 3)
    k = (k, k) if isinstance(k, int) else k
    dil = kwargs.get("dilation", 1)
    padding = tuple((ki - 1) // 2 * dil for ki in k)
    norm = kwargs.get("norm_layer", nn.BatchNorm2d)
    bias = kwargs.get("bias", norm is None)
    layers = [torch.nn.Conv2d(4, 6, k, kwargs.get("stride", 1), padding, dilation=dil,
                              groups=kwargs.get("groups", 1), bias=bias)]
    if norm is not None:
        layers.append(torch.nn.BatchNorm2d(6))
    act = kwargs.get("activation_layer", nn.ReLU)
    if act is not None:
        layers.append(getattr(torch.nn, act.__name__)(inplace=True))
    ref = torch.nn.Sequential(*layers)
    assert m.out_channels == 6
    same_repr(m, ref)
    m.eval()
    ref.eval()
    compare(m, ref, x4(2, 4, 7, 6))


def test_conv3d_norm_activation():
    m = ops.Conv3dNormActivation(2, 3, kernel_size=3).eval()
    ref = torch.nn.Sequential(torch.nn.Conv3d(2, 3, 3, 1, 1, bias=False), torch.nn.BatchNorm3d(3),
                              torch.nn.ReLU(inplace=True)).eval()
    same_repr(m, ref)
    compare(m, ref, x4(1, 2, 4, 5, 4))


def test_squeeze_excitation_and_permute():
    m = ops.SqueezeExcitation(6, 2)

    class RefSE(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.avgpool = torch.nn.AdaptiveAvgPool2d(1)
            self.fc1 = torch.nn.Conv2d(6, 2, 1)
            self.fc2 = torch.nn.Conv2d(2, 6, 1)
            self.activation = torch.nn.ReLU()
            self.scale_activation = torch.nn.Sigmoid()

        def forward(self, x):
            s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
            return s * x
    ref = RefSE()
    same_repr(m, ref)
    compare(m, ref, x4(2, 6, 3, 4))
    p = ops.Permute([0, 2, 3, 1])
    out = p(ember.tensor(x4(2, 3, 4, 5)))
    assert out.shape == (2, 4, 5, 3)


@pytest.mark.parametrize("act,kwargs", [
    ("GELU", {}),
    ("ReLU", {"norm_layer": nn.LayerNorm, "dropout": 0.5, "inplace": False, "bias": False}),
])
def test_mlp(act, kwargs):
    m = ops.MLP(5, [7, 4, 3], activation_layer=getattr(nn, act), **kwargs).eval()
    params = {"inplace": False} if "inplace" in kwargs else {}
    layers = []
    in_dim = 5
    for hidden in [7, 4]:
        layers.append(torch.nn.Linear(in_dim, hidden, bias=kwargs.get("bias", True)))
        if "norm_layer" in kwargs:
            layers.append(torch.nn.LayerNorm(hidden))
        layers += [getattr(torch.nn, act)(**params),
                   torch.nn.Dropout(kwargs.get("dropout", 0.0), **params)]
        in_dim = hidden
    layers += [torch.nn.Linear(4, 3, bias=kwargs.get("bias", True)),
               torch.nn.Dropout(kwargs.get("dropout", 0.0), **params)]
    ref = torch.nn.Sequential(*layers).eval()
    same_repr(m, ref)
    compare(m, ref, x4(6, 5))


def test_stochastic_depth():
    x = ember.tensor(RNG.uniform(1, 2, (64, 3, 2)).astype(np.float32))
    assert ops.stochastic_depth(x, 0.5, "row", training=False) is x
    assert ops.stochastic_depth(x, 0.0, "batch") is x
    ember.manual_seed(0)
    out = as_numpy(ops.stochastic_depth(x, 0.5, "row"))
    ratio = out / as_numpy(x)
    per_row = ratio.reshape(64, -1)
    # each sample is dropped whole or scaled by 1 / (1 - p)
    assert np.all((np.abs(per_row - 2.0) < 1e-6).all(1) | (per_row == 0).all(1))
    assert 10 < (per_row[:, 0] == 0).sum() < 54
    batch = as_numpy(ops.stochastic_depth(x, 0.3, "batch")) / as_numpy(x)
    assert np.allclose(batch, 0) or np.allclose(batch, 1 / 0.7)
    assert float(ops.stochastic_depth(x, 1.0, "row").abs().sum()) == 0.0
    m = ops.StochasticDepth(0.2, "row")
    assert repr(m) == "StochasticDepth(p=0.2, mode=row)"
    assert m.eval()(x) is x
    with pytest.raises(ValueError, match="drop probability has to be between 0 and 1, but got 1.5"):
        ops.stochastic_depth(x, 1.5, "row")
    with pytest.raises(ValueError, match="mode has to be either 'batch' or 'row', but got col"):
        ops.stochastic_depth(x, 0.5, "col")


@pytest.mark.parametrize("dims", [2, 3])
def test_drop_block(dims):
    shape = (2, 3, 12, 11) if dims == 2 else (1, 2, 7, 8, 6)
    x = ember.tensor(RNG.uniform(1, 2, shape).astype(np.float32))
    op = ops.drop_block2d if dims == 2 else ops.drop_block3d
    ember.manual_seed(1)
    out = as_numpy(op(x, 0.2, 3))
    kept = out != 0
    # survivors are scaled by numel / kept
    np.testing.assert_allclose(out[kept] / as_numpy(x)[kept], kept.size / kept.sum(), rtol=1e-5)
    # the dropped set is a union of whole 3^d blocks: morphological opening leaves it intact
    dropped = torch.from_numpy((~kept).astype(np.float32))
    pool = TF.max_pool2d if dims == 2 else TF.max_pool3d
    eroded = -pool(-dropped, 3, 1, 1)
    assert 0 < dropped.sum() < dropped.numel()
    assert torch.equal(pool(eroded, 3, 1, 1), dropped)
    assert op(x, 0.2, 3, training=False) is x
    with pytest.raises(ValueError, match="block size should be odd. Got 4 which is even."):
        op(x, 0.2, 4)
    with pytest.raises(ValueError, match=f"input should be {dims + 2} dimensional. Got 2"):
        op(ember.ones(3, 4), 0.2, 3)
    y = x.clone()
    assert op(y, 0.3, 3, inplace=True) is y
    m = (ops.DropBlock2d if dims == 2 else ops.DropBlock3d)(0.1, 5)
    name = "DropBlock2d" if dims == 2 else "DropBlock3d"
    assert repr(m) == f"{name}(p=0.1, block_size=5, inplace=False)"


class RefFPN(torch.nn.Module):
    """A feature pyramid written directly with torch: lateral 1x1 convs, nearest
    top-down upsampling, 3x3 output convs (torchvision's version-2 key layout)."""

    def __init__(self, in_channels_list, out_channels, extra=None):
        super().__init__()
        self.inner_blocks = torch.nn.ModuleList(
            torch.nn.Sequential(torch.nn.Conv2d(c, out_channels, 1)) for c in in_channels_list)
        self.layer_blocks = torch.nn.ModuleList(
            torch.nn.Sequential(torch.nn.Conv2d(out_channels, out_channels, 3, padding=1))
            for _ in in_channels_list)
        self.extra = extra
        if extra == "p6p7":
            self.extra_blocks = torch.nn.Module()
            self.extra_blocks.p6 = torch.nn.Conv2d(in_channels_list[-1], out_channels, 3, 2, 1)
            self.extra_blocks.p7 = torch.nn.Conv2d(out_channels, out_channels, 3, 2, 1)

    def forward(self, feats):
        names, xs = list(feats), list(feats.values())
        last = self.inner_blocks[-1](xs[-1])
        results = [self.layer_blocks[-1](last)]
        for i in range(len(xs) - 2, -1, -1):
            lateral = self.inner_blocks[i](xs[i])
            last = lateral + TF.interpolate(last, size=lateral.shape[-2:], mode="nearest")
            results.insert(0, self.layer_blocks[i](last))
        if self.extra == "pool":
            names.append("pool")
            results.append(TF.max_pool2d(results[-1], 1, 2, 0))
        elif self.extra == "p6p7":
            p6 = self.extra_blocks.p6(xs[-1])
            results += [p6, self.extra_blocks.p7(TF.relu(p6))]
            names += ["p6", "p7"]
        return OrderedDict(zip(names, results))


@pytest.mark.parametrize("extra", [None, "pool", "p6p7"])
def test_feature_pyramid_network(extra):
    blocks = {None: None, "pool": LastLevelMaxPool(), "p6p7": LastLevelP6P7(6, 4)}[extra]
    fpn = ops.FeaturePyramidNetwork([3, 5, 6], 4, extra_blocks=blocks)
    ref = RefFPN([3, 5, 6], 4, extra)
    copy_into(ref, fpn)
    feats = {"a": x4(1, 3, 9, 11), "b": x4(1, 5, 5, 6), "c": x4(1, 6, 3, 3)}
    e_out = fpn({k: ember.tensor(v) for k, v in feats.items()})
    t_out = ref({k: torch.from_numpy(v) for k, v in feats.items()})
    assert list(e_out) == list(t_out)
    for k in t_out:
        np.testing.assert_allclose(as_numpy(e_out[k]), t_out[k].detach().numpy(), rtol=1e-5,
                                   atol=1e-5, err_msg=k)


def test_fpn_keys_and_version1_checkpoint():
    fpn = ops.FeaturePyramidNetwork([2, 3], 4)
    assert list(fpn.state_dict()) == [
        "inner_blocks.0.0.weight", "inner_blocks.0.0.bias", "inner_blocks.1.0.weight",
        "inner_blocks.1.0.bias", "layer_blocks.0.0.weight", "layer_blocks.0.0.bias",
        "layer_blocks.1.0.weight", "layer_blocks.1.0.bias"]
    old = OrderedDict((k.replace(".0.weight", ".weight").replace(".0.bias", ".bias"),
                       ember.ones_like(v)) for k, v in fpn.state_dict().items())
    fpn.load_state_dict(old)  # no version metadata: torchvision's v1 layout, renamed on load
    assert float(fpn.layer_blocks[1][0].bias.detach().sum()) == 4.0
    with pytest.raises(ValueError, match="in_channels=0 is currently not supported"):
        ops.FeaturePyramidNetwork([0], 4)
    with pytest.raises(TypeError, match="extra_blocks should be of type ExtraFPNBlock"):
        ops.FeaturePyramidNetwork([2], 4, extra_blocks=nn.ReLU())


def test_multi_scale_roi_align():
    pooler = ops.MultiScaleRoIAlign(["0", "1"], 2, 2, canonical_scale=32)
    assert repr(pooler) == ("MultiScaleRoIAlign(featmap_names=['0', '1'], output_size=(2, 2), "
                            "sampling_ratio=2)")
    feats = {"0": ember.tensor(x4(2, 3, 16, 16)), "skip": ember.ones(1),
             "1": ember.tensor(x4(2, 3, 8, 8))}
    # sqrt(area) 4, 16, 8, 20 -> levels floor(4 + log2(s / 32)) clamped to [2, 3]: 2, 3, 2, 3
    image0 = ember.tensor([[1., 1., 5., 5.], [10., 10., 26., 26.]])
    image1 = ember.tensor([[30., 2., 38., 10.], [0., 40., 20., 60.]])
    out = pooler(feats, [image0, image1], [(64, 64), (60, 50)])
    assert pooler.scales == [0.25, 0.125]
    assert out.shape == (4, 3, 2, 2)
    levels = [("0", 0.25), ("1", 0.125), ("0", 0.25), ("1", 0.125)]
    rows = [[0, *image0[0].tolist()], [0, *image0[1].tolist()], [1, *image1[0].tolist()],
            [1, *image1[1].tolist()]]
    for k, (name, scale) in enumerate(levels):
        expected = ops.roi_align(feats[name], ember.tensor([rows[k]]), 2, scale, 2)
        np.testing.assert_allclose(as_numpy(out[k]), as_numpy(expected[0]), rtol=1e-6)


def test_split_normalization_params():
    from ember.vision.ops._utils import split_normalization_params

    model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3),
                          nn.Sequential(nn.Linear(3, 3), nn.LayerNorm(3)), nn.GroupNorm(1, 3))
    model[0].bias.requires_grad_(False)
    norm, other = split_normalization_params(model)
    ids = [id(p) for p in norm]
    assert ids == [id(p) for p in (model[1].weight, model[1].bias, model[2][1].weight,
                                   model[2][1].bias, model[3].weight, model[3].bias)]
    assert [id(p) for p in other] == [id(p) for p in (model[0].weight, model[2][0].weight,
                                                      model[2][0].bias)]
    norm, other = split_normalization_params(model, [nn.LayerNorm])
    assert len(norm) == 2 and len(other) == 7
    with pytest.raises(ValueError, match="is not a subclass of nn.Module"):
        split_normalization_params(model, [int])
