"""ember.vision.models, the remaining torchvision classifiers: EfficientNet B1..B7 and
V2 S/M/L (Fused-MBConv), ViT B/32, L/16, L/32, H/14 (SWAG weights, conv stem,
interpolate_embeddings), and the full torchvision 0.28 classification registry (the
quantizable models: test_models_quantized.py).

Parameter counts are torchvision's documented ``num_params`` for every weights entry;
layouts and outputs are checked against torchvision 0.28's own models (small
configurations of the same classes; full-size layouts on the meta device), with weights
copied across.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial

import numpy as np
import pytest
import torch
from vision.torch_models import tv_layout, tv_models, tv_reference

import ember
from ember import nn
from ember.vision import models as M
from ember.vision.models import vision_transformer as VT
from ember.vision.models.efficientnet import FusedMBConv, FusedMBConvConfig, MBConvConfig

pytestmark = pytest.mark.xdist_group("vision_models_variants")




def _copy(torch_model, ember_model):
    ember_model.load_state_dict({k: ember.from_numpy(v.detach().numpy().copy())
                                 for k, v in torch_model.state_dict().items()})


# -- registry and documented parameter counts ---------------------------------------------

# torchvision 0.28's twelve quantized builders (checked against its list_models too)
QUANTIZED = ["quantized_googlenet", "quantized_inception_v3", "quantized_mobilenet_v2",
             "quantized_mobilenet_v3_large", "quantized_resnet18", "quantized_resnet50",
             "quantized_resnext101_32x8d", "quantized_resnext101_64x4d",
             "quantized_shufflenet_v2_x0_5", "quantized_shufflenet_v2_x1_0",
             "quantized_shufflenet_v2_x1_5", "quantized_shufflenet_v2_x2_0"]


def test_registry_has_every_torchvision_classifier():
    """torchvision 0.28's ``list_models(module=torchvision.models)``, name for name; a
    ``module`` argument keeps the builders defined directly in that package."""
    tv = tv_models()
    classifiers = tv.list_models(module=tv)
    assert len(classifiers) == 80
    assert M.list_models(module=M) == classifiers
    assert tv.list_models(module=tv.quantization) == QUANTIZED
    assert M.list_models(module=M.quantization) == QUANTIZED
    # list_models() also names the dense-prediction subpackages' builders, as torchvision's
    # does; tests/vision/models checks those lists
    assert set(classifiers + QUANTIZED) <= set(M.list_models())
    assert M.list_models(module=M.vision_transformer) == []  # not a package of builders
    assert M.list_models(include="efficientnet_v2*") == [
        "efficientnet_v2_l", "efficientnet_v2_m", "efficientnet_v2_s"]
    assert M.list_models(include=["vit_l*", "quantized_resnet*"], exclude="*_32") == [
        "quantized_resnet18", "quantized_resnet50", "vit_l_16"]
    for name in classifiers:
        assert callable(getattr(M, name))


COUNTS = [
    # builder, kwargs, weights member (its documented num_params), (key, shape) spot checks
    ("efficientnet_b1", {}, "IMAGENET1K_V2",
     [("features.1.1.block.0.0.weight", (16, 1, 3, 3)), ("classifier.1.weight", (1000, 1280))]),
    ("efficientnet_b2", {}, "IMAGENET1K_V1", [("features.0.0.weight", (32, 3, 3, 3)),
                                              ("features.8.0.weight", (1408, 352, 1, 1))]),
    ("efficientnet_b3", {}, "IMAGENET1K_V1", [("features.0.0.weight", (40, 3, 3, 3)),
                                              ("features.7.1.block.2.fc1.weight",
                                               (96, 2304, 1, 1))]),
    ("efficientnet_b4", {}, "IMAGENET1K_V1", [("classifier.1.weight", (1000, 1792))]),
    ("efficientnet_b5", {}, "IMAGENET1K_V1", [("features.6.8.block.3.1.weight", (304,))]),
    ("efficientnet_b6", {}, "IMAGENET1K_V1", [("features.0.0.weight", (56, 3, 3, 3))]),
    ("efficientnet_b7", {}, "IMAGENET1K_V1", [("features.6.12.block.1.0.weight",
                                               (2304, 1, 5, 5)),
                                              ("classifier.1.weight", (1000, 2560))]),
    ("efficientnet_v2_s", {}, "IMAGENET1K_V1",
     [("features.1.1.block.0.0.weight", (24, 24, 3, 3)),
      ("features.2.0.block.0.0.weight", (96, 24, 3, 3)),
      ("features.2.0.block.1.0.weight", (48, 96, 1, 1)),
      ("features.4.0.block.2.fc1.weight", (16, 256, 1, 1)),
      ("features.7.0.weight", (1280, 256, 1, 1))]),
    ("efficientnet_v2_m", {}, "IMAGENET1K_V1", [("features.7.4.block.3.1.weight", (512,))]),
    ("efficientnet_v2_l", {}, "IMAGENET1K_V1", [("features.1.3.block.0.0.weight",
                                                 (32, 32, 3, 3)),
                                                ("features.7.6.block.0.0.weight",
                                                 (3840, 640, 1, 1))]),
    ("vit_b_16", {"image_size": 384}, "IMAGENET1K_SWAG_E2E_V1",
     [("encoder.pos_embedding", (1, 577, 768))]),
    ("vit_b_32", {}, "IMAGENET1K_V1", [("conv_proj.weight", (768, 3, 32, 32)),
                                       ("encoder.pos_embedding", (1, 50, 768))]),
    ("vit_l_16", {}, "IMAGENET1K_V1",
     [("encoder.layers.encoder_layer_23.mlp.3.weight", (1024, 4096)),
      ("encoder.layers.encoder_layer_0.self_attention.in_proj_weight", (3072, 1024))]),
    ("vit_l_16", {"image_size": 512}, "IMAGENET1K_SWAG_E2E_V1",
     [("encoder.pos_embedding", (1, 1025, 1024))]),
    ("vit_l_32", {}, "IMAGENET1K_V1", [("conv_proj.weight", (1024, 3, 32, 32))]),
    ("vit_h_14", {}, "IMAGENET1K_SWAG_LINEAR_V1",
     [("conv_proj.weight", (1280, 3, 14, 14)), ("encoder.pos_embedding", (1, 257, 1280)),
      ("encoder.layers.encoder_layer_31.ln_2.weight", (1280,))]),
    ("vit_h_14", {"image_size": 518}, "IMAGENET1K_SWAG_E2E_V1",
     [("encoder.pos_embedding", (1, 1370, 1280)), ("heads.head.weight", (1000, 1280))]),
]


@pytest.mark.parametrize("name,kwargs,member,shapes", COUNTS,
                         ids=[f"{c[0]}-{c[2]}" for c in COUNTS])
def test_param_counts_and_keys(no_init, name, kwargs, member, shapes):
    model = M.get_model(name, **kwargs)
    weights = M.get_model_weights(name)[member]
    assert sum(p.numel() for p in model.parameters()) == weights.meta["num_params"]
    state = model.state_dict()
    for key, shape in shapes:
        assert tuple(state[key].shape) == shape, key


def test_weights_enums_metadata():
    b1 = M.EfficientNet_B1_Weights
    assert [w.name for w in b1] == ["IMAGENET1K_V1", "IMAGENET1K_V2"]
    assert b1.DEFAULT is b1.IMAGENET1K_V2
    preset = b1.IMAGENET1K_V2.transforms()
    assert (preset.crop_size, preset.resize_size, preset.interpolation) == ([240], [255],
                                                                          "bilinear")
    assert b1.IMAGENET1K_V1.transforms().interpolation == "bicubic"
    b7 = M.EfficientNet_B7_Weights.DEFAULT
    assert b7.url == "https://download.pytorch.org/models/efficientnet_b7_lukemelas-c5b4e57e.pth"
    assert b7.meta["_ops"] == 37.746 and b7.meta["_file_size"] == 254.675
    assert b7.meta["min_size"] == (1, 1) and b7.transforms().crop_size == [600]
    v2l = M.EfficientNet_V2_L_Weights.DEFAULT
    assert v2l.meta["min_size"] == (33, 33)
    assert v2l.meta["_metrics"]["ImageNet-1K"] == {"acc@1": 85.808, "acc@5": 97.788}
    preset = v2l.transforms()
    assert preset.mean == [0.5, 0.5, 0.5] and preset.std == [0.5, 0.5, 0.5]
    assert preset.interpolation == "bicubic" and preset.crop_size == [480]
    assert M.EfficientNet_V2_S_Weights.DEFAULT.transforms().mean == [0.485, 0.456, 0.406]

    vb16 = M.ViT_B_16_Weights
    assert [w.name for w in vb16] == ["IMAGENET1K_V1", "IMAGENET1K_SWAG_E2E_V1",
                                      "IMAGENET1K_SWAG_LINEAR_V1"]
    assert vb16.DEFAULT is vb16.IMAGENET1K_V1
    swag = vb16.IMAGENET1K_SWAG_E2E_V1
    assert swag.meta["min_size"] == (384, 384)
    assert swag.meta["recipe"] == "https://github.com/facebookresearch/SWAG"
    assert swag.transforms().resize_size == [384] and swag.transforms().interpolation == \
        "bicubic"
    assert vb16.IMAGENET1K_SWAG_LINEAR_V1.meta["recipe"] == \
        "https://github.com/pytorch/vision/pull/5793"
    assert M.ViT_L_16_Weights.IMAGENET1K_V1.transforms().resize_size == [242]
    assert M.ViT_H_14_Weights.DEFAULT is M.ViT_H_14_Weights.IMAGENET1K_SWAG_E2E_V1
    assert M.get_weight("ViT_L_32_Weights.IMAGENET1K_V1").meta["_ops"] == 15.378
    assert M.get_model_weights("vit_h_14") is M.ViT_H_14_Weights
    assert M.get_model_weights("efficientnet_v2_m") is M.EfficientNet_V2_M_Weights


# -- full-size layouts and outputs against the torch references ----------------------------

@pytest.mark.parametrize("name", ["efficientnet_b3", "efficientnet_v2_s", "vit_b_32"])
def test_full_size_layout_matches_torchvision(no_init, name):
    """Keys in order and shapes equal torchvision's (numerics: small configs below, same
    code path)."""
    assert [(k, tuple(v.shape)) for k, v in M.get_model(name).state_dict().items()] == \
        tv_layout(name)


# EfficientNet-B0's stage table: (kind, expand, kernel, stride, in, out, repeats)
B_ROWS = [("M", 1, 3, 1, 32, 16, 1), ("M", 6, 3, 2, 16, 24, 2), ("M", 6, 5, 2, 24, 40, 2),
          ("M", 6, 3, 2, 40, 80, 3), ("M", 6, 5, 1, 80, 112, 3), ("M", 6, 5, 2, 112, 192, 4),
          ("M", 6, 3, 1, 192, 320, 1)]
SMALL_V2_ROWS = [("F", 1, 3, 1, 8, 8, 2), ("F", 4, 3, 2, 8, 16, 2), ("M", 4, 3, 2, 16, 24, 2)]


def _ember_efficientnet(rows, num_classes, width=1.0, depth=1.0, last_channel=None,
                        eps=1e-5, lib=M):
    """An EfficientNet of ``rows`` from ``lib``: ember's models (M) or torchvision's."""
    configs = lib.efficientnet
    batch_norm = nn.BatchNorm2d if lib is M else torch.nn.BatchNorm2d
    setting = [configs.FusedMBConvConfig(e, k, s, i, o, n) if kind == "F" else
               configs.MBConvConfig(e, k, s, i, o, n, width_mult=width, depth_mult=depth)
               for kind, e, k, s, i, o, n in rows]
    return lib.EfficientNet(setting, 0.2, num_classes=num_classes, last_channel=last_channel,
                            norm_layer=partial(batch_norm, eps=eps))


def _tv_efficientnet(*args, **kwargs):
    return _ember_efficientnet(*args, **kwargs, lib=tv_models())


def _vit(lib, *args, stem=(), **kwargs):
    """A VisionTransformer from ``lib`` (M or torchvision's models); ``stem``: conv stem
    (channels, kernel, stride) rows."""
    configs = [lib.vision_transformer.ConvStemConfig(*row) for row in stem]
    return lib.VisionTransformer(*args, conv_stem_configs=configs or None, **kwargs)


SMALL = [
    ("efficientnet_v2_config", lambda n: _ember_efficientnet(SMALL_V2_ROWS, n, last_channel=64,
                                                             eps=1e-3),
     lambda n: _tv_efficientnet(SMALL_V2_ROWS, n, last_channel=64, eps=1e-3), 32),
    ("efficientnet_scaled_config",
     lambda n: _ember_efficientnet(B_ROWS[:4], n, width=1.4, depth=1.8),
     lambda n: _tv_efficientnet(B_ROWS[:4], n, width=1.4, depth=1.8), 32),
    ("vit_conv_stem_pre_logits",
     lambda n: _vit(M, 32, 8, 2, 4, 32, 48, num_classes=n, representation_size=24,
                    stem=[(8, 3, 2), (16, 3, 2), (16, 3, 2)]),
     lambda n: _vit(tv_models(), 32, 8, 2, 4, 32, 48, num_classes=n, representation_size=24,
                    stem=[(8, 3, 2), (16, 3, 2), (16, 3, 2)]), 32),
    ("vit_patch_32", lambda n: M.VisionTransformer(64, 32, 2, 4, 32, 64, num_classes=n),
     lambda n: tv_models().VisionTransformer(64, 32, 2, 4, 32, 64, num_classes=n), 64),
]


@pytest.mark.parametrize("ember_builder,torch_builder,size", [s[1:] for s in SMALL],
                         ids=[s[0] for s in SMALL])
def test_matches_torch_reference_eval(no_init, ember_builder, torch_builder, size):
    reference = tv_reference(lambda tv: torch_builder(6)).eval()
    model = ember_builder(6).eval()
    assert list(model.state_dict()) == list(reference.state_dict())
    _copy(reference, model)
    x = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = model(ember.from_numpy(x)).numpy()
    assert np.abs(expected).max() > 1e-3  # heads are filled: outputs are not all zero
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_efficientnet_v2_gradients_match_torch_float64(no_init):
    """Train mode (BN batch statistics, fused and depthwise convs, SE, residuals): the
    logits and every parameter gradient agree with the reference."""
    reference = tv_reference(lambda tv: _tv_efficientnet(SMALL_V2_ROWS, 3, last_channel=32,
                                                         eps=1e-3)).double().train()
    reference.classifier[0].p = 0.0
    model = _ember_efficientnet(SMALL_V2_ROWS, 3, last_channel=32, eps=1e-3).double().train()
    model.classifier[0].p = 0.0
    for m in [*model.modules(), *reference.modules()]:  # stochastic depth off: it is random
        if type(m).__name__ == "StochasticDepth":
            m.p = 0.0
    _copy(reference, model)
    rng = np.random.default_rng(3)
    x, upstream = rng.standard_normal((2, 3, 32, 32)), rng.standard_normal((2, 3))
    out_t = reference(torch.from_numpy(x))
    out_t.backward(torch.from_numpy(upstream))
    out_e = model(ember.from_numpy(x))
    out_e.backward(ember.from_numpy(upstream))
    np.testing.assert_allclose(out_e.detach().numpy(), out_t.detach().numpy(), rtol=1e-9,
                               atol=1e-10)
    grads_t = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads_t[name].grad.numpy(), rtol=1e-7,
                                   atol=1e-9, err_msg=name)


def test_vit_gradients_match_torch_float64(no_init):
    def build(lib):
        return _vit(lib, 16, 4, 1, 2, 16, 24, num_classes=3, representation_size=8,
                    stem=[(8, 3, 2), (16, 3, 2)])

    reference = tv_reference(build).double().train()
    model = build(M).double().train()
    _copy(reference, model)
    rng = np.random.default_rng(4)
    x, upstream = rng.standard_normal((2, 3, 16, 16)), rng.standard_normal((2, 3))
    reference(torch.from_numpy(x)).backward(torch.from_numpy(upstream))
    model(ember.from_numpy(x)).backward(ember.from_numpy(upstream))
    grads_t = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads_t[name].grad.numpy(), rtol=1e-7,
                                   atol=1e-9, err_msg=name)


# -- checkpoints, builders' arguments, errors ---------------------------------------------

def _small_vit(**kw):
    return M.VisionTransformer(16, 8, 2, 2, 8, 16, num_classes=3, **kw)


def test_vit_old_mlp_keys_load(no_init):
    """Checkpoints from before torchvision's MLPBlock became an MLP (``mlp.linear_1``,
    no version metadata) load into the new layout; with version-2 metadata they do not."""
    source = _small_vit()
    with ember.no_grad():
        for p in source.parameters():
            p.copy_(ember.randn(*p.shape))
    old = OrderedDict()
    for key, value in source.state_dict().items():
        key = key.replace("mlp.0.", "mlp.linear_1.").replace("mlp.3.", "mlp.linear_2.")
        old[key] = value
    model = _small_vit()
    model.load_state_dict(old)
    x = ember.randn(2, 3, 16, 16)
    with ember.no_grad():
        np.testing.assert_array_equal(model(x).numpy(), source(x).numpy())
    versioned = OrderedDict(old)
    versioned._metadata = source.state_dict()._metadata
    assert versioned._metadata["encoder.layers.encoder_layer_0.mlp"]["version"] == 2
    with pytest.raises(RuntimeError, match=r"Missing key\(s\) in state_dict: "
                                           r"\"encoder.layers.encoder_layer_0.mlp.0.weight\""):
        _small_vit().load_state_dict(versioned)


@pytest.mark.parametrize("size,mode,reset", [(48, "bicubic", False), (24, "bilinear", True),
                                             (16, "bicubic", True)])
def test_interpolate_embeddings_matches_torch(size, mode, reset):
    rng = np.random.default_rng(5)
    pos = rng.standard_normal((1, 17, 6)).astype(np.float32)  # 4x4 grid + class token
    state = OrderedDict([("encoder.pos_embedding", ember.from_numpy(pos)),
                         ("heads.head.weight", ember.zeros(3, 6)),
                         ("conv_proj.bias", ember.zeros(6))])
    out = VT.interpolate_embeddings(size, 4, state, interpolation_mode=mode, reset_heads=reset)
    side = size // 4
    if side == 4:
        assert out is state and "heads.head.weight" in out  # unchanged length: untouched
        return
    grid = torch.from_numpy(pos[:, 1:]).permute(0, 2, 1).reshape(1, 6, 4, 4)
    grid = torch.nn.functional.interpolate(grid, size=side, mode=mode, align_corners=True)
    expected = torch.cat([torch.from_numpy(pos[:, :1]),
                          grid.reshape(1, 6, side * side).permute(0, 2, 1)], 1).numpy()
    np.testing.assert_allclose(out["encoder.pos_embedding"].numpy(), expected, rtol=1e-5,
                               atol=1e-5)
    assert ("heads.head.weight" in out) is not reset and "conv_proj.bias" in out
    model = M.VisionTransformer(size, 4, 1, 2, 6, 8, num_classes=3)  # the new length fits
    model.load_state_dict({**model.state_dict(), "encoder.pos_embedding":
                           out["encoder.pos_embedding"]})


def test_interpolate_embeddings_errors():
    with pytest.raises(ValueError, match="Unexpected position embedding shape"):
        VT.interpolate_embeddings(32, 4, {"encoder.pos_embedding": ember.zeros(2, 17, 4)})
    with pytest.raises(ValueError, match="seq_length is not a perfect square! Instead got "
                                         "seq_length_1d \\* seq_length_1d = 4 and "
                                         "seq_length = 6"):
        VT.interpolate_embeddings(32, 4, {"encoder.pos_embedding": ember.zeros(1, 7, 4)})


def test_builder_arguments(no_init):
    b5 = M.efficientnet_b5(num_classes=7)
    bns = [m for m in b5.modules() if isinstance(m, nn.BatchNorm2d)]
    assert {(m.eps, m.momentum) for m in bns} == {(0.001, 0.01)}
    assert b5.classifier[0].p == 0.4 and b5.classifier[1].out_features == 7
    v2m = M.efficientnet_v2_m(dropout=0.1)
    assert {(m.eps, m.momentum) for m in v2m.modules() if isinstance(m, nn.BatchNorm2d)} == \
        {(0.001, 0.1)}
    assert v2m.classifier[0].p == 0.1
    assert M.efficientnet_b3().classifier[0].p == 0.3
    assert {m.eps for m in M.efficientnet_b4().modules() if isinstance(m, nn.BatchNorm2d)} == \
        {1e-5}
    v2s = M.efficientnet_v2_s()
    blocks = [m for m in v2s.modules() if hasattr(m, "stochastic_depth")]
    assert len(blocks) == 40
    assert [type(b).__name__ for b in blocks[:10]] == ["FusedMBConv"] * 10
    probs = [b.stochastic_depth.p for b in blocks]
    assert probs == pytest.approx([0.2 * i / 40 for i in range(40)])
    with pytest.raises(TypeError, match="multiple values for keyword argument 'norm_layer'"):
        M.efficientnet_v2_s(norm_layer=nn.BatchNorm2d)
    assert M.vit_l_32(image_size=64, num_classes=5).encoder.pos_embedding.shape == (1, 5, 1024)
    with pytest.raises(ValueError, match="'image_size' expected value 384 but got 224"):
        M.vit_b_16(weights="IMAGENET1K_SWAG_E2E_V1", image_size=224)
    with pytest.raises(ValueError, match="'num_classes' expected value 1000 but got 10"):
        M.vit_h_14(weights=M.ViT_H_14_Weights.DEFAULT, num_classes=10)
    with pytest.raises(ValueError, match="'num_classes' expected value 1000 but got 10"):
        M.efficientnet_b6(weights="DEFAULT", num_classes=10)


def test_bad_arguments_raise_torchvision_errors():
    with pytest.raises(ValueError, match="The inverted_residual_setting should not be empty"):
        M.EfficientNet([], 0.2)
    with pytest.raises(TypeError,
                       match=r"The inverted_residual_setting should be List\[MBConvConfig\]"):
        M.EfficientNet([(1, 3, 1, 32, 16, 1)], 0.2)
    with pytest.raises(ValueError, match="illegal stride value"):
        FusedMBConv(FusedMBConvConfig(4, 3, 3, 8, 8, 1), 0.0, nn.BatchNorm2d)
    with pytest.raises(TypeError, match="Invalid Weight class provided; expected "
                                        "EfficientNet_V2_L_Weights but received"):
        M.efficientnet_v2_l(weights=M.EfficientNet_V2_S_Weights.DEFAULT)


def test_configs_compare_and_scale_like_torchvision():
    cfg = MBConvConfig(6, 5, 2, 40, 80, 3, width_mult=1.1, depth_mult=1.2)
    assert (cfg.input_channels, cfg.out_channels, cfg.num_layers) == (48, 88, 4)
    assert cfg == MBConvConfig(6, 5, 2, 40, 80, 3, width_mult=1.1, depth_mult=1.2)
    assert cfg != FusedMBConvConfig(6, 5, 2, 48, 88, 4)
    assert cfg.block is M.efficientnet.MBConv
    assert FusedMBConvConfig(1, 3, 1, 24, 24, 2).block is FusedMBConv
    assert repr(FusedMBConvConfig(1, 3, 1, 24, 24, 2)).startswith(
        "FusedMBConvConfig(expand_ratio=1, kernel=3, stride=1, input_channels=24, "
        "out_channels=24, num_layers=2, block=")
