"""ember.vision.models, the second batch: GoogLeNet, Inception v3, ShuffleNet V2, MNASNet,
RegNet, ConvNeXt, Swin V1/V2.

Parameter counts are torchvision's documented ``num_params`` (every variant); state_dict
keys and outputs are checked against PyTorch models written independently in
``torch_models_more.py`` (one or more per family), with weights copied across.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from vision.torch_models import randomize_bn_stats
from vision.torch_models_more import (
    TorchConvNeXt,
    TorchGoogLeNet,
    TorchInceptionV3,
    TorchMNASNet,
    TorchRegNet,
    TorchShuffleNetV2,
    TorchSwin,
)

import ember
from ember.nn import init
from ember.vision import models as M
from ember.vision.models.convnext import CNBlockConfig
from ember.vision.models.regnet import BlockParams


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """One BLAS thread (and one torch thread): multi-threaded BLAS busy-waits on the shared
    2-core box and is many times slower there."""
    from threadpoolctl import threadpool_limits

    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(torch_threads)


@pytest.fixture
def no_init(monkeypatch):
    """Skip random initialisation where weights are overwritten or only shapes matter."""
    for name in ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
                 "xavier_uniform_", "kaiming_uniform_", "kaiming_normal_"):
        monkeypatch.setattr(init, name, lambda tensor, *args, **kwargs: tensor)


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


def _randomize(model, seed=0):
    """BN stats/affine as the existing tests, plus LayerNorm affine, so norms matter."""
    randomize_bn_stats(model, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.LayerNorm) or type(m).__name__ == "ChannelLayerNorm":
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
    return model


def _small_convnext(num_classes):
    return M.ConvNeXt([CNBlockConfig(16, 32, 1), CNBlockConfig(32, None, 2)],
                      num_classes=num_classes)


def _small_swin(v2):
    def build(num_classes):
        extra = {"block": M.swin_transformer.SwinTransformerBlockV2,
                 "downsample_layer": M.swin_transformer.PatchMergingV2} if v2 else {}
        return M.SwinTransformer([4, 4], 16, [2, 2, 2], [2, 2, 4], [4, 4],
                                 num_classes=num_classes, **extra)
    return build


MATCH = [
    # id, ember builder(num_classes), torch builder(num_classes), input size
    ("googlenet", lambda n: M.googlenet(num_classes=n, init_weights=False),
     lambda n: TorchGoogLeNet(n), 64),
    ("inception_v3", lambda n: M.inception_v3(num_classes=n, init_weights=False),
     lambda n: TorchInceptionV3(n), 75),
    ("shufflenet_v2_x0_5", lambda n: M.shufflenet_v2_x0_5(num_classes=n),
     lambda n: TorchShuffleNetV2([24, 48, 96, 192, 1024], n), 64),
    ("mnasnet0_5", lambda n: M.mnasnet0_5(num_classes=n),
     lambda n: TorchMNASNet([16, 8, 16, 24, 40, 48, 96, 160], n), 64),
    ("regnet_y_400mf", lambda n: M.regnet_y_400mf(num_classes=n),
     lambda n: TorchRegNet("regnet_y_400mf", n), 64),
    ("regnet_x_400mf", lambda n: M.regnet_x_400mf(num_classes=n),
     lambda n: TorchRegNet("regnet_x_400mf", n), 32),
    ("convnext_tiny", lambda n: M.convnext_tiny(num_classes=n),
     lambda n: TorchConvNeXt([96, 192, 384, 768], [3, 3, 9, 3], n), 32),
    ("convnext_small_config", _small_convnext, lambda n: TorchConvNeXt([16, 32], [1, 2], n), 32),
    ("swin_t", lambda n: M.swin_t(num_classes=n),
     lambda n: TorchSwin(96, [2, 2, 6, 2], [3, 6, 12, 24], [7, 7], n), 64),
    ("swin_v2_t", lambda n: M.swin_v2_t(num_classes=n),
     lambda n: TorchSwin(96, [2, 2, 6, 2], [3, 6, 12, 24], [8, 8], n, v2=True), 64),
    ("swin_small_config", _small_swin(False),
     lambda n: TorchSwin(16, [2, 2, 2], [2, 2, 4], [4, 4], n), 48),
    ("swin_v2_small_config", _small_swin(True),
     lambda n: TorchSwin(16, [2, 2, 2], [2, 2, 4], [4, 4], n, v2=True), 48),
]


def _first(out):
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("ember_builder,torch_builder,size", [m[1:] for m in MATCH],
                         ids=[m[0] for m in MATCH])
def test_matches_torch_reference_eval(no_init, ember_builder, torch_builder, size):
    """Identical state_dict keys (in order) and shapes, then equal eval-mode logits."""
    torch.manual_seed(0)
    torch_model = _randomize(torch_builder(6)).eval()
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
