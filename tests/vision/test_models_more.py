"""ember.vision.models, the second batch: GoogLeNet, Inception v3, ShuffleNet V2, MNASNet,
RegNet, ConvNeXt, Swin V1/V2.

Parameter counts are torchvision's documented ``num_params`` (every variant); state_dict
keys and outputs are checked against torchvision 0.28's own models (small configurations
of the same classes, full-size layouts on the meta device), with weights copied across.
"""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch
from vision.torch_models import fill_weights, no_torch_init, tv_layout, tv_models, tv_reference

import ember
from ember.nn import init
from ember.vision import models as M
from ember.vision.models.convnext import CNBlockConfig
from ember.vision.models.regnet import BlockParams

# One worker builds the module-scoped GoogLeNet/Inception pairs once.
pytestmark = pytest.mark.xdist_group("vision_models_more")


# -- documented parameter counts, registry, a few shapes ---------------------------------------

NO_INIT_KW = {"init_weights": False}
COUNTS = [
    # builder, kwargs, torchvision's num_params, (key, shape) spot checks
    ("googlenet", {"aux_logits": False, **NO_INIT_KW}, 6624904,
     [("inception3a.branch2.1.conv.weight", (128, 96, 3, 3)), ("fc.weight", (1000, 1024))]),
    ("inception_v3", NO_INIT_KW, 27161264,
     [("Mixed_6b.branch7x7_2.conv.weight", (128, 128, 1, 7)),
      ("AuxLogits.conv1.conv.weight", (768, 128, 5, 5)), ("fc.weight", (1000, 2048))]),
    ("shufflenet_v2_x0_5", {}, 1366792, [("stage2.0.branch1.0.weight", (24, 1, 3, 3))]),
    ("shufflenet_v2_x1_0", {}, 2278604, [("conv5.0.weight", (1024, 464, 1, 1))]),
    ("shufflenet_v2_x1_5", {}, 3503624, []),
    ("shufflenet_v2_x2_0", {}, 7393996, [("fc.weight", (1000, 2048))]),
    ("mnasnet0_5", {}, 2218512, [("layers.0.weight", (16, 3, 3, 3))]),
    ("mnasnet0_75", {}, 3170208, []),
    ("mnasnet1_0", {}, 4383312, [("layers.8.0.layers.0.weight", (48, 16, 1, 1))]),
    ("mnasnet1_3", {}, 6282256, []),
    ("regnet_y_400mf", {}, 4344144,
     [("trunk_output.block1.block1-0.f.se.fc1.weight", (8, 48, 1, 1)),
      ("trunk_output.block4.block4-5.f.b.0.weight", (440, 8, 3, 3))]),
    ("regnet_y_800mf", {}, 6432512, []),
    ("regnet_y_1_6gf", {}, 11202430, []),
    ("regnet_y_3_2gf", {}, 19436338, []),
    ("regnet_y_8gf", {}, 39381472, []),
    ("regnet_y_16gf", {}, 83590140, []),
    ("regnet_y_32gf", {}, 145046770, []),
    ("regnet_y_128gf", {}, 644812894, [("fc.weight", (1000, 7392))]),
    ("regnet_x_400mf", {}, 5495976, [("trunk_output.block2.block2-0.proj.0.weight",
                                      (64, 32, 1, 1))]),
    ("regnet_x_800mf", {}, 7259656, []),
    ("regnet_x_1_6gf", {}, 9190136, []),
    ("regnet_x_3_2gf", {}, 15296552, []),
    ("regnet_x_8gf", {}, 39572648, []),
    ("regnet_x_16gf", {}, 54278536, []),
    ("regnet_x_32gf", {}, 107811560, []),
    ("convnext_tiny", {}, 28589128, [("features.1.0.layer_scale", (96, 1, 1)),
                                     ("features.2.1.weight", (192, 96, 2, 2))]),
    ("convnext_small", {}, 50223688, []),
    ("convnext_base", {}, 88591464, []),
    ("convnext_large", {}, 197767336, [("classifier.2.weight", (1000, 1536))]),
    ("swin_t", {}, 28288354,
     [("features.1.0.attn.relative_position_bias_table", (169, 3)),
      ("features.1.0.attn.relative_position_index", (2401,)),
      ("features.2.reduction.weight", (192, 384)), ("features.2.norm.weight", (384,))]),
    ("swin_s", {}, 49606258, []),
    ("swin_b", {}, 87768224, []),
    ("swin_v2_t", {}, 28351570,
     [("features.1.0.attn.cpb_mlp.0.weight", (512, 2)),
      ("features.1.0.attn.relative_coords_table", (1, 15, 15, 2)),
      ("features.1.0.attn.logit_scale", (3, 1, 1)), ("features.2.norm.weight", (192,))]),
    ("swin_v2_s", {}, 49737442, []),
    ("swin_v2_b", {}, 87930848, []),
    ("maxvit_t", {}, 30919624,
     [("blocks.0.layers.0.layers.window_attention.attn_layer.1.relative_position_bias_table",
       (169, 2)),
      ("blocks.3.layers.1.layers.grid_attention.attn_layer.1.relative_position_index",
       (49, 49)),
      ("blocks.0.layers.0.layers.MBconv.layers.squeeze_excitation.fc1.weight",
       (16, 256, 1, 1)), ("classifier.5.weight", (1000, 512))]),
]


@pytest.mark.parametrize("name,kwargs,num_params,shapes", COUNTS, ids=[c[0] for c in COUNTS])
def test_param_counts_and_registry(no_init, name, kwargs, num_params, shapes):
    model = M.get_model(name, **kwargs)
    assert sum(p.numel() for p in model.parameters()) == num_params
    state = model.state_dict()
    for key, shape in shapes:
        assert tuple(state[key].shape) == shape, key
    assert M.get_model_weights(name).DEFAULT.meta["num_params"] == num_params
    assert name in M.list_models()


def test_regnet_block_params_match_the_paper_tables():
    """The quantised-linear rule reproduces the published stage tables."""
    x = BlockParams.from_init_params(depth=22, w_0=24, w_a=24.48, w_m=2.54, group_width=16)
    assert (x.depths, x.widths, x.group_widths) == ([1, 2, 7, 12], [32, 64, 160, 400], [16] * 4)
    y = BlockParams.from_init_params(depth=16, w_0=48, w_a=27.89, w_m=2.09, group_width=8,
                                     se_ratio=0.25)
    assert (y.depths, y.widths, y.se_ratio) == ([1, 3, 6, 6], [48, 104, 208, 440], 0.25)
    with pytest.raises(ValueError, match="Invalid RegNet settings"):
        BlockParams.from_init_params(depth=4, w_0=20, w_a=1.0, w_m=2.0, group_width=8)


# -- outputs against the PyTorch references -------------------------------------------------

def _copy(torch_model, ember_model):
    """Copy a torch state_dict in, keeping its ``_metadata`` (module versions) as
    torch.save/torch.load do."""
    source = torch_model.state_dict()
    state = OrderedDict((k, ember.from_numpy(v.detach().numpy().copy()))
                        for k, v in source.items())
    state._metadata = source._metadata
    ember_model.load_state_dict(state)


def _small_convnext(num_classes, lib=M):
    """``lib``: ember's models (M) or torchvision's (tv_models())."""
    config = lib.convnext.CNBlockConfig
    return lib.ConvNeXt([config(16, 32, 1), config(32, None, 2)], num_classes=num_classes)


def _swin_extra(lib, v2):
    return {"block": lib.swin_transformer.SwinTransformerBlockV2,
            "downsample_layer": lib.swin_transformer.PatchMergingV2} if v2 else {}


def _small_swin(v2):
    def build(num_classes, lib=M):
        return lib.SwinTransformer([4, 4], 16, [2, 2, 2], [2, 2, 4], [4, 4],
                                   num_classes=num_classes, **_swin_extra(lib, v2))
    return build


def _pair(torch_model, ember_model):
    """torchvision's model (``torch_model(torchvision.models)``) with filled weights and
    an ember model holding the same weights, built without ember's random init (it is
    overwritten)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
                     "kaiming_uniform_", "kaiming_normal_"):
            patch.setattr(init, name, lambda tensor, *args, **kwargs: tensor)
        model = ember_model()
    reference = tv_reference(torch_model)
    assert list(model.state_dict().keys()) == list(reference.state_dict().keys())
    _copy(reference, model)
    return reference, model


@pytest.fixture(scope="module")
def googlenet_pair():
    """GoogLeNet with aux heads, dropout off so train-mode outputs are deterministic."""
    return _pair(lambda tv: tv.googlenet(num_classes=5, init_weights=False, dropout=0.0,
                                         dropout_aux=0.0),
                 lambda: M.googlenet(num_classes=5, init_weights=False, dropout=0.0,
                                     dropout_aux=0.0))


@pytest.fixture(scope="module")
def inception_pair():
    return _pair(lambda tv: tv.inception_v3(num_classes=3, init_weights=False, dropout=0.0),
                 lambda: M.inception_v3(num_classes=3, init_weights=False, dropout=0.0))


def _run_both(reference, model, x, train=False):
    reference.train(train)
    model.train(train)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x))
    with ember.no_grad():
        got = model(ember.from_numpy(x))
    return expected, got


def test_googlenet_matches_torch_eval(googlenet_pair):
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    expected, got = _run_both(*googlenet_pair, x)
    assert isinstance(got, ember.Tensor) and isinstance(expected, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-4, atol=1e-4)


def test_inception_v3_matches_torch_eval_at_min_size(inception_pair):
    x = np.random.default_rng(0).standard_normal((2, 3, 75, 75)).astype(np.float32)
    expected, got = _run_both(*inception_pair, x)
    assert isinstance(got, ember.Tensor) and isinstance(expected, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-4, atol=1e-4)


MATCH = [
    # id, ember builder(num_classes), torch builder(num_classes), input size
    ("shufflenet_v2_x0_5", lambda n: M.shufflenet_v2_x0_5(num_classes=n),
     lambda n: tv_models().shufflenet_v2_x0_5(num_classes=n), 64),
    ("mnasnet0_5", lambda n: M.mnasnet0_5(num_classes=n),
     lambda n: tv_models().mnasnet0_5(num_classes=n), 64),
    ("regnet_y_400mf", lambda n: M.regnet_y_400mf(num_classes=n),
     lambda n: tv_models().regnet_y_400mf(num_classes=n), 64),
    ("regnet_x_400mf", lambda n: M.regnet_x_400mf(num_classes=n),
     lambda n: tv_models().regnet_x_400mf(num_classes=n), 32),
    ("convnext_small_config", _small_convnext, lambda n: _small_convnext(n, tv_models()), 32),
    ("swin_small_config", _small_swin(False), lambda n: _small_swin(False)(n, tv_models()), 48),
    ("swin_v2_small_config", _small_swin(True), lambda n: _small_swin(True)(n, tv_models()),
     48),
    ("maxvit_small_config", lambda n: M.MaxVit((64, 64), 16, 4, [16, 32], [1, 2], 8, 0.0,
                                               num_classes=n),
     lambda n: tv_models().MaxVit((64, 64), 16, 4, [16, 32], [1, 2], 8, 0.0, num_classes=n),
     64),
]


@pytest.mark.parametrize("name", ["convnext_tiny", "swin_t", "swin_v2_t", "maxvit_t"])
def test_full_size_layout_matches_torchvision(no_init, name):
    """The published configurations have torchvision's keys, order and shapes (their
    numerics are covered by the small configurations above, same code path)."""
    assert [(k, tuple(v.shape)) for k, v in M.get_model(name).state_dict().items()] == \
        tv_layout(name)


def test_maxvit_drop_schedule_and_input_size_check(no_init):
    model = M.maxvit_t()
    probs = [m.p for m in model.modules() if type(m).__name__ == "StochasticDepth"]
    assert probs[::3] == pytest.approx(list(np.linspace(0, 0.2, 11)))
    with pytest.raises(ValueError, match=r"Input size \(8, 8\) of block 0 is not divisible"):
        M.maxvit_t(input_size=(32, 32))
    with pytest.raises(ValueError, match=r"'input_size' expected value \(224, 224\) but got"):
        M.maxvit_t(weights="DEFAULT", input_size=(256, 256))


def _first(out):
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("ember_builder,torch_builder,size", [m[1:] for m in MATCH],
                         ids=[m[0] for m in MATCH])
def test_matches_torch_reference_eval(no_init, ember_builder, torch_builder, size):
    """Identical state_dict keys (in order) and shapes, then equal eval-mode logits."""
    torch_model = tv_reference(lambda tv: torch_builder(6)).eval()
    ember_model = ember_builder(6).eval()
    expected_keys = list(torch_model.state_dict().keys())
    assert list(ember_model.state_dict().keys()) == expected_keys
    _copy(torch_model, ember_model)
    x = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        expected = _first(torch_model(torch.from_numpy(x))).numpy()
    with ember.no_grad():
        got = ember_model(ember.from_numpy(x))
    assert isinstance(got, ember.Tensor) and got.dtype == ember.float32
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-4)


# -- training-mode outputs, gradients --------------------------------------------------------

def test_googlenet_train_mode_returns_named_outputs(googlenet_pair):
    """Train mode with aux heads: GoogLeNetOutputs(logits, aux_logits2, aux_logits1), each
    equal to the reference (batch-statistics BN, dropout off)."""
    reference, model = googlenet_pair
    x = np.random.default_rng(1).standard_normal((2, 3, 64, 64)).astype(np.float32)
    expected, out = _run_both(reference, model, x, train=True)
    assert isinstance(out, M.GoogLeNetOutputs) and out._fields == ("logits", "aux_logits2",
                                                                   "aux_logits1")
    for got, want in zip(out, expected):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-4)


def test_inception_v3_aux_output_at_299(inception_pair):
    """InceptionOutputs(logits, aux_logits) in train mode; the aux head needs the 17x17
    grid of 299x299 inputs. BN kept in eval so one image suffices (and the test is fast)."""
    reference, model = inception_pair
    x = np.random.default_rng(2).standard_normal((1, 3, 299, 299)).astype(np.float32)
    reference.train()
    model.train()
    for net in (reference, model):
        for m in net.modules():
            if "BatchNorm" in type(m).__name__:
                m.eval()
    with torch.no_grad():
        logits, aux = reference(torch.from_numpy(x))
    with ember.no_grad():
        out = model(ember.from_numpy(x))
    assert isinstance(out, M.InceptionOutputs) and out._fields == ("logits", "aux_logits")
    np.testing.assert_allclose(out.logits.numpy(), logits.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out.aux_logits.numpy(), aux.numpy(), rtol=1e-4, atol=1e-4)
    model.aux_logits = False
    with ember.no_grad():
        assert isinstance(model(ember.from_numpy(x)), ember.Tensor)
    model.aux_logits = True


def test_transform_input_renormalises(no_init):
    """transform_input maps ImageNet-normalised inputs to Google's (x - 0.5) / 0.5 scale."""
    torch_model = tv_reference(lambda tv: tv.googlenet(num_classes=4, aux_logits=False,
                                                       transform_input=True,
                                                       init_weights=False)).eval()
    ember_model = M.googlenet(num_classes=4, aux_logits=False, transform_input=True,
                              init_weights=False).eval()
    _copy(torch_model, ember_model)
    x = np.random.default_rng(3).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = ember_model(ember.from_numpy(x)).numpy()
        assert isinstance(ember_model.train()(ember.from_numpy(x)), ember.Tensor)  # no aux
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("v2", [False, True], ids=["swin_v1", "swin_v2"])
def test_swin_gradients_match_torch_float64(no_init, v2):
    """Backward through padding, roll, the shift mask, the relative-position gather (and
    V2's cosine attention, logit clamp and CPB MLP): every parameter gradient agrees."""
    def build(lib):
        return lib.SwinTransformer([4, 4], 8, [2, 2], [2, 2], [3, 3], stochastic_depth_prob=0.0,
                                   num_classes=4, **_swin_extra(lib, v2))

    torch_model = tv_reference(build).double().train()
    ember_model = build(M)
    ember_model = ember_model.double().train()
    _copy(torch_model, ember_model)
    x = np.random.default_rng(4).standard_normal((2, 3, 28, 20))  # 7x5 tokens: pads, shifts
    upstream = np.random.default_rng(5).standard_normal((2, 4))
    torch_model(torch.from_numpy(x)).backward(torch.from_numpy(upstream))
    ember_model(ember.from_numpy(x)).backward(ember.from_numpy(upstream))
    ember_params = dict(ember_model.named_parameters())
    for name, p in torch_model.named_parameters():
        np.testing.assert_allclose(ember_params[name].grad.numpy(), p.grad.numpy(),
                                   rtol=1e-7, atol=1e-10, err_msg=name)


def test_stochastic_depth_schedules(no_init):
    swin = M.swin_t()
    probs = [m.stochastic_depth.p for m in swin.modules() if hasattr(m, "stochastic_depth")]
    assert probs == pytest.approx([0.2 * i / 11 for i in range(12)])
    convnext = M.ConvNeXt([CNBlockConfig(8, 16, 2), CNBlockConfig(16, None, 3)],
                          stochastic_depth_prob=0.4)
    probs = [m.stochastic_depth.p for m in convnext.modules() if hasattr(m, "stochastic_depth")]
    assert probs == pytest.approx([0.4 * i / 4 for i in range(5)])
    shifts = [m.attn.shift_size for m in swin.features[1]]
    assert shifts == [[0, 0], [3, 3]]


# -- weights: checkpoint conventions and metadata ---------------------------------------------

@pytest.fixture
def hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("EMBER_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "torch_home" / "hub" / "checkpoints"
    os.makedirs(folder)
    return folder


def test_googlenet_weights_drop_aux_and_transform_input(hub, no_init):
    """A torchvision-format googlenet checkpoint (with aux heads) loads; by default the aux
    heads are dropped and transform_input is on, as torchvision's builder does."""
    torch_model = tv_reference(lambda tv: tv.googlenet(transform_input=True,
                                                       init_weights=False)).eval()
    assert torch_model.aux1 is not None  # the checkpoint has the aux heads
    torch.save(torch_model.state_dict(), hub / "googlenet-1378be20.pth")
    model = M.googlenet(weights=M.GoogLeNet_Weights.IMAGENET1K_V1).eval()
    assert model.aux1 is None and model.aux2 is None and not model.aux_logits
    assert model.transform_input
    x = np.random.default_rng(6).standard_normal((1, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = model(ember.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    with pytest.warns(UserWarning, match="auxiliary heads in the pretrained googlenet"):
        with_aux = M.googlenet(weights="DEFAULT", aux_logits=True, transform_input=False)
    assert with_aux.aux1 is not None and not with_aux.transform_input
    with pytest.raises(ValueError, match="expected value 1000 but got 10"):
        M.googlenet(weights="DEFAULT", num_classes=10)
    with pytest.raises(ValueError, match="'aux_logits' expected value True but got False"):
        M.googlenet(weights="DEFAULT", aux_logits=False)


def test_mnasnet_checkpoint_versions(no_init):
    """Version-2 checkpoints load as is; version-1 checkpoints of alpha != 1 (stem widths
    32/16) rebuild the stem with torchvision's warning; a dict without versions is refused
    as torchvision refuses it."""
    with no_torch_init():
        old = tv_models().mnasnet0_5(num_classes=7)
    # torchvision's own version-1 path: a version-1 checkpoint rebuilds the 32/16 stem
    with pytest.warns(UserWarning, match="A new version of MNASNet model has been implemented"):
        old._load_from_state_dict({}, "", {"version": 1}, False, [], [], [])
    old = fill_weights(old).eval()
    assert old._version == 1 and old.layers[0].weight.shape == (32, 3, 3, 3)
    model = M.mnasnet0_5(num_classes=7).eval()
    with pytest.warns(UserWarning, match="A new version of MNASNet model has been implemented"):
        _copy(old, model)
    assert model.layers[0].weight.shape == (32, 3, 3, 3) and model._version == 1
    # the rebuilt stem is new modules, in train mode as torchvision's are after this load
    assert model.layers[1].training and not model.layers[9].training
    model.eval()
    x = np.random.default_rng(7).standard_normal((1, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = old(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        np.testing.assert_allclose(model(ember.from_numpy(x)).numpy(), expected, rtol=1e-4,
                                   atol=1e-4)
    plain = dict(M.mnasnet0_5(num_classes=7).state_dict())
    with pytest.raises(ValueError, match="version should be set to 1 or 2 instead of None"):
        M.mnasnet0_5(num_classes=7).load_state_dict(plain)


def test_weights_enums_metadata(no_init):
    W = M.RegNet_Y_16GF_Weights
    assert [w.name for w in W] == ["IMAGENET1K_V1", "IMAGENET1K_V2", "IMAGENET1K_SWAG_E2E_V1",
                                   "IMAGENET1K_SWAG_LINEAR_V1"]
    assert W.DEFAULT is W.IMAGENET1K_V2
    swag = W.IMAGENET1K_SWAG_E2E_V1.transforms()
    assert swag.crop_size == [384] and swag.resize_size == [384]
    assert swag.interpolation == "bicubic"
    assert M.RegNet_Y_128GF_Weights.DEFAULT is M.RegNet_Y_128GF_Weights.IMAGENET1K_SWAG_E2E_V1
    assert M.RegNet_X_400MF_Weights.IMAGENET1K_V2.url == \
        "https://download.pytorch.org/models/regnet_x_400mf-62229a5f.pth"
    inception = M.Inception_V3_Weights.DEFAULT
    assert inception.meta["min_size"] == (75, 75)
    assert inception.transforms().crop_size == [299]
    assert inception.transforms().resize_size == [342]
    swin = M.Swin_V2_B_Weights.DEFAULT
    assert swin.meta["_metrics"]["ImageNet-1K"]["acc@1"] == 84.112
    assert swin.transforms().crop_size == [256] and swin.transforms().resize_size == [272]
    assert M.ConvNeXt_Tiny_Weights.DEFAULT.transforms().resize_size == [236]
    assert M.ShuffleNet_V2_X2_0_Weights.DEFAULT.url.endswith("shufflenetv2_x2_0-8be3c8ee.pth")
    assert M.get_weight("MNASNet1_3_Weights.IMAGENET1K_V1").meta["num_params"] == 6282256
    assert M.get_model_weights("swin_v2_s") is M.Swin_V2_S_Weights
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # init_weights given: no FutureWarning
        M.googlenet(init_weights=False)
    with pytest.warns(FutureWarning, match="default weight initialization of inception_v3"):
        M.Inception3(init_weights=None, aux_logits=False)


def test_bad_arguments_raise_torchvision_errors():
    with pytest.raises(ValueError, match="illegal stride value"):
        M.shufflenetv2.InvertedResidual(8, 8, 4)
    with pytest.raises(ValueError, match="expected stages_repeats as list of 3 positive ints"):
        M.ShuffleNetV2([4, 8], [24, 48, 96, 192, 1024])
    with pytest.raises(ValueError, match="alpha should be greater than 0.0 instead of 0"):
        M.MNASNet(0)
    with pytest.raises(ValueError, match="The block_setting should not be empty"):
        M.ConvNeXt([])
    with pytest.raises(TypeError, match=r"The block_setting should be List\[CNBlockConfig\]"):
        M.ConvNeXt([1, 2])
    with pytest.raises(ValueError, match="blocks length should be 3 instead of 2"):
        M.GoogLeNet(blocks=[1, 2], init_weights=False)
    with pytest.raises(ValueError, match="window_size and shift_size must be of length 2"):
        M.swin_transformer.ShiftedWindowAttention(8, [4], [0, 0], 2)


def test_ember_checkpoint_loads_into_torch_reference(tmp_path, no_init):
    """ember.save of a Swin V2 state_dict (int64 index buffers, float coords table, logit
    scale) is a file torch.load reads into the reference, with equal outputs."""
    ember_model = _small_swin(True)(3).eval()
    with ember.no_grad():
        for p in ember_model.parameters():
            p.copy_(ember.randn(*p.shape) * 0.1)
    ember.save(ember_model.state_dict(), tmp_path / "swin.pth")
    reference = _small_swin(True)(3, tv_models()).eval()
    state = torch.load(tmp_path / "swin.pth", weights_only=True)
    assert state["features.1.0.attn.relative_position_index"].dtype == torch.int64
    reference.load_state_dict(state)
    x = np.random.default_rng(8).standard_normal((1, 3, 48, 48)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = ember_model(ember.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_maxvit_gradients_match_torch_float64(no_init):
    """Train mode (BN batch statistics, GELU, SE with SiLU, window and grid partitions,
    relative-position gathers): every parameter gradient agrees with the reference."""
    reference = tv_reference(lambda tv: tv.MaxVit((32, 32), 8, 2, [8, 16], [1, 1], 4, 0.0,
                                                  num_classes=3)).double().train()
    model = M.MaxVit((32, 32), 8, 2, [8, 16], [1, 1], 4, 0.0, num_classes=3).double().train()
    _copy(reference, model)
    x = np.random.default_rng(9).standard_normal((2, 3, 32, 32))
    upstream = np.random.default_rng(10).standard_normal((2, 3))
    reference(torch.from_numpy(x)).backward(torch.from_numpy(upstream))
    model(ember.from_numpy(x)).backward(ember.from_numpy(upstream))
    params = dict(model.named_parameters())
    for name, p in reference.named_parameters():
        # Biases feeding straight into BN have gradients that are rounding noise (~1e-17).
        atol = max(1e-9 * float(p.grad.abs().max()), 1e-14)
        np.testing.assert_allclose(params[name].grad.numpy(), p.grad.numpy(), rtol=1e-6,
                                   atol=atol, err_msg=name)
