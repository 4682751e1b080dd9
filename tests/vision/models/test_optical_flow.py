"""ember.vision.models.optical_flow against torchvision 0.28, live: RAFT-small and
RAFT-large.

Flow estimates (two updates on 128x128 images, the smallest the 4-level correlation
pyramid accepts), the input gradient (RAFT-small) and state_dict layouts are compared
with torchvision's own model code (see test_segmentation.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from vision.models import _tv_cases as G

import ember
import ember.vision.models as M
from ember.vision.models import optical_flow as O
from ember.vision.models.optical_flow._utils import make_coords_grid, upsample_flow
from ember.vision.models.optical_flow.raft import CorrBlock

CASES = [name for name in G.CASES if name.startswith("raft")]
ENUMS = {"raft_large": O.Raft_Large_Weights, "raft_small": O.Raft_Small_Weights}


@pytest.mark.parametrize("name", CASES)
def test_flows_and_input_gradient_match_torchvision(name, no_init):
    # the flow is a sum of GRU updates scaled by 8 on upsampling (|flow| up to ~27 here):
    # float32 rounding reaches ~3e-5 absolute
    G.check(name, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("builder", G.STRUCTURE["optical_flow"])
def test_full_size_layout_and_num_params(builder):
    keys, expected_num_params = G.torchvision_layout(builder)
    model = M.get_model(builder)
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == keys
    num_params = sum(p.numel() for p in model.parameters())
    assert num_params == expected_num_params == ENUMS[builder].DEFAULT.meta["num_params"]
    assert M.get_model_weights(builder) is ENUMS[builder]


def test_registry_and_weights():
    assert M.list_models(module=O) == G.list_torchvision_models("optical_flow")
    assert O.Raft_Large_Weights.DEFAULT is O.Raft_Large_Weights.C_T_SKHT_V2
    assert O.Raft_Small_Weights.DEFAULT is O.Raft_Small_Weights.C_T_V2
    assert [w.name for w in O.Raft_Large_Weights] == [
        "C_T_V1", "C_T_V2", "C_T_SKHT_V1", "C_T_SKHT_V2", "C_T_SKHT_K_V1", "C_T_SKHT_K_V2"]
    assert O.Raft_Large_Weights.C_T_V1.meta["_metrics"]["Kitti-Train"] == {
        "per_image_epe": 5.0172, "fl_all": 17.4506}
    assert repr(O.Raft_Small_Weights.DEFAULT.transforms()) == "OpticalFlow()"


def test_optical_flow_preset_matches_torchvision():
    outs, expected = G.ember_presets(), G.torchvision_presets()
    for key in ("flow1", "flow2"):
        torch.testing.assert_close(torch.from_numpy(outs[key]), torch.from_numpy(expected[key]))


def test_helpers_against_torch():
    """make_coords_grid and the bilinear upsampling path, written out in torch."""
    coords = make_coords_grid(2, 3, 4)
    rows, cols = torch.meshgrid(torch.arange(3), torch.arange(4), indexing="ij")
    expected = torch.stack([cols, rows]).float()[None].repeat(2, 1, 1, 1)
    assert coords.dtype == ember.float32
    np.testing.assert_array_equal(coords.numpy(), expected.numpy())
    flow = np.random.default_rng(0).standard_normal((1, 2, 3, 5)).astype(np.float32)
    up = upsample_flow(ember.from_numpy(flow))
    ref = 8 * torch.nn.functional.interpolate(torch.from_numpy(flow), size=(24, 40),
                                              mode="bilinear", align_corners=True)
    torch.testing.assert_close(torch.from_numpy(up.numpy()), ref)


def test_errors_as_torchvision(no_init):
    model = O.raft_small().eval()
    image = ember.zeros(1, 3, 128, 128)
    with pytest.raises(ValueError, match=r"input image H and W should be divisible by 8, "
                                         r"instead got 100 \(h\) and 128 \(w\)"):
        model(ember.zeros(1, 3, 100, 128), ember.zeros(1, 3, 100, 128))
    with pytest.raises(ValueError, match="input images should have the same shape"):
        model(image, ember.zeros(1, 3, 128, 136))
    with pytest.raises(ValueError, match="Feature maps are too small to be down-sampled by "
                                         "the correlation pyramid. H and W of feature maps "
                                         "should be at least 16"):
        model(ember.zeros(1, 3, 64, 64), ember.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match="Input feature maps should have the same shape"):
        CorrBlock().build_pyramid(ember.zeros(1, 4, 16, 16), ember.zeros(1, 4, 16, 24))
    with pytest.raises(ValueError, match="The expected number of layers is 5, instead got 4"):
        O.raft.FeatureEncoder(layers=(1, 2, 3, 4))
    assert CorrBlock(num_levels=4, radius=3).out_channels == 196
