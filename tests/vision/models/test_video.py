"""ember.vision.models.video against torchvision 0.28, live: R3D/MC3/R(2+1)D-18, S3D, MViT
v1/v2 and Video Swin.

Outputs, input gradients and state_dict layouts are compared with torchvision's own model
code run with ``_tv_cases.fill``'s weights (see test_segmentation.py). MViT runs on
4x32x32 clips through its ``spatial_size``/``temporal_size`` arguments (torchvision's
model is built from its builder's tables at that size); S3D is compared in two pieces
because its head needs 14x224x224 clips.
"""

from __future__ import annotations

import pytest
import torch
from vision.models import _tv_cases as G

import ember.vision.models as M
from ember.vision.models import video as V

CASES = [name for name in G.CASES if G.CASES[name][0] in G.STRUCTURE["video"]]

ENUMS = {"r3d_18": V.R3D_18_Weights, "mc3_18": V.MC3_18_Weights,
         "r2plus1d_18": V.R2Plus1D_18_Weights, "s3d": V.S3D_Weights,
         "mvit_v1_b": V.MViT_V1_B_Weights, "mvit_v2_s": V.MViT_V2_S_Weights,
         "swin3d_t": V.Swin3D_T_Weights, "swin3d_s": V.Swin3D_S_Weights,
         "swin3d_b": V.Swin3D_B_Weights}


# the class token's gradient sums over every token of every block (entries up to ~19):
# torch's own float32 result is 2.2e-5 away from its float64 one
TOLERANCES = {"mvit_v2_s": {"rtol": 1e-5, "atol": 1e-4}}


@pytest.mark.parametrize("name", CASES)
def test_outputs_and_input_gradient_match_torchvision(name, no_init):
    G.check(name, **TOLERANCES.get(name, {}))


@pytest.mark.parametrize("builder", G.STRUCTURE["video"])
def test_full_size_layout_and_num_params(builder, no_init):
    keys, expected_num_params = G.torchvision_layout(builder)
    model = M.get_model(builder)
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == keys
    num_params = sum(p.numel() for p in model.parameters())
    assert num_params == expected_num_params == ENUMS[builder].DEFAULT.meta["num_params"]
    assert M.get_model_weights(builder) is ENUMS[builder]


def test_registry_lists_the_video_builders():
    expected = G.list_torchvision_models("video")
    assert M.list_models(module=V) == expected
    assert M.list_models(module=V, include="swin3d*", exclude="*_b") == ["swin3d_s",
                                                                         "swin3d_t"]


def test_weights_metadata():
    assert V.Swin3D_B_Weights.DEFAULT is V.Swin3D_B_Weights.KINETICS400_V1
    assert [w.name for w in V.Swin3D_B_Weights] == ["KINETICS400_V1",
                                                    "KINETICS400_IMAGENET22K_V1"]
    s3d = V.S3D_Weights.DEFAULT
    assert s3d.meta["min_size"] == (224, 224) and s3d.meta["min_temporal_size"] == 14
    assert s3d.url == "https://download.pytorch.org/models/s3d-d76dad2f.pth"
    mvit = V.MViT_V2_S_Weights.DEFAULT
    assert mvit.meta["_metrics"]["Kinetics-400"] == {"acc@1": 80.757, "acc@5": 94.665}
    assert repr(V.R3D_18_Weights.DEFAULT.transforms()) == (
        "VideoClassification(\n    crop_size=[112, 112]\n    resize_size=[128, 171]\n"
        "    mean=[0.43216, 0.394666, 0.37645]\n    std=[0.22803, 0.22145, 0.216989]\n"
        "    interpolation=InterpolationMode.BILINEAR\n)")
    assert mvit.transforms().mean == [0.45, 0.45, 0.45]


def test_video_preset_matches_torchvision():
    outs, expected = G.ember_presets(), G.torchvision_presets()
    for key in ("video", "video_single"):
        # ember's uint8 resize rounds a few pixels (16 of 6912 here) one level away
        # from torch's integer kernel: 1/255 scaled by 1/std
        torch.testing.assert_close(torch.from_numpy(outs[key]),
                                   torch.from_numpy(expected[key]), rtol=0, atol=0.02)


def test_builder_arguments_as_torchvision(no_init):
    with pytest.raises(ValueError, match="The parameter 'num_classes' expected value 400 but "
                                         "got 10 instead."):
        V.r3d_18(weights=V.R3D_18_Weights.DEFAULT, num_classes=10)
    with pytest.raises(ValueError, match="Failed to find Weights IMAGENET in S3D_Weights."):
        V.s3d(weights="IMAGENET")
    with pytest.raises(ValueError, match="The configuration parameter can't be empty."):
        V.MViT(spatial_size=(32, 32), temporal_size=4, block_setting=[], residual_pool=False,
               residual_with_cls_embed=False, rel_pos_embed=False, proj_after_attn=False)
    model = V.mc3_18(num_classes=7)
    assert model.fc.out_features == 7
    assert model.layer2[0].conv1[0].kernel_size == (1, 3, 3)  # spatial-only after stage 1
    assert model.layer1[0].conv1[0].kernel_size == (3, 3, 3)
