"""ember.vision.models.segmentation against torchvision 0.28, live: FCN, DeepLabV3 and
LR-ASPP.

Each case builds torchvision's model with the deterministic weights of ``_tv_cases.fill``,
copies its state_dict into ember's model and compares outputs and gradients; full-size
layouts are compared with torchvision's model built on the meta device. Parameter counts
are also checked against the weights' documented ``num_params``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from vision.models import _tv_cases as G

import ember
import ember.vision.models as M
from ember import nn
from ember.vision.models import segmentation as S
from ember.vision.models._utils import IntermediateLayerGetter

CASES = [name for name in G.CASES if name in G.STRUCTURE["segmentation"]
         or G.CASES[name][0] in G.STRUCTURE["segmentation"]]


@pytest.mark.parametrize("name", CASES)
def test_outputs_and_input_gradient_match_torchvision(name, no_init):
    G.check(name)


ENUMS = {"fcn_resnet50": S.FCN_ResNet50_Weights, "fcn_resnet101": S.FCN_ResNet101_Weights,
         "deeplabv3_resnet50": S.DeepLabV3_ResNet50_Weights,
         "deeplabv3_resnet101": S.DeepLabV3_ResNet101_Weights,
         "deeplabv3_mobilenet_v3_large": S.DeepLabV3_MobileNet_V3_Large_Weights,
         "lraspp_mobilenet_v3_large": S.LRASPP_MobileNet_V3_Large_Weights}


@pytest.mark.parametrize("builder", G.STRUCTURE["segmentation"])
def test_full_size_layout_and_num_params(builder, no_init):
    """Every state_dict key and shape of torchvision's full-size model (with the aux head,
    as its checkpoints have), and the documented parameter count."""
    keys, expected_num_params = G.torchvision_layout(builder)
    model = M.get_model(builder, **G.STRUCTURE_KWARGS.get(builder, {}))
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == keys
    num_params = sum(p.numel() for p in model.parameters())
    assert num_params == expected_num_params == ENUMS[builder].DEFAULT.meta["num_params"]
    assert M.get_model_weights(builder) is ENUMS[builder]


def test_registry_lists_the_segmentation_builders():
    expected = G.list_torchvision_models("segmentation")
    assert M.list_models(module=S) == expected
    assert set(expected) <= set(M.list_models())
    assert M.get_weight("FCN_ResNet50_Weights.DEFAULT") is S.FCN_ResNet50_Weights.DEFAULT


def test_weights_metadata_and_preset():
    weights = S.DeepLabV3_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1
    assert S.DeepLabV3_ResNet50_Weights.DEFAULT is weights
    assert weights.url == ("https://download.pytorch.org/models/"
                           "deeplabv3_resnet50_coco-cd0a2569.pth")
    assert len(weights.meta["categories"]) == 21
    assert weights.meta["categories"][:2] == ["__background__", "aeroplane"]
    assert weights.meta["_metrics"]["COCO-val2017-VOC-labels"] == {"miou": 66.4,
                                                                   "pixel_acc": 92.4}
    assert repr(weights.transforms()) == (
        "SemanticSegmentation(\n    resize_size=[520]\n    mean=[0.485, 0.456, 0.406]\n"
        "    std=[0.229, 0.224, 0.225]\n    interpolation=InterpolationMode.BILINEAR\n)")


def test_semantic_segmentation_preset_matches_torchvision():
    outs, expected = G.ember_presets(), G.torchvision_presets()
    for key in ("segmentation", "segmentation_batched"):
        assert outs[key].dtype == np.float32
        # ember's uint8 antialiased resize rounds a few pixels (7 of 2304 here) one
        # level away from torch's integer kernel: 1/255 scaled by 1/std
        torch.testing.assert_close(torch.from_numpy(outs[key]),
                                   torch.from_numpy(expected[key]), rtol=0, atol=0.02)


def test_builder_arguments_as_torchvision(no_init):
    with pytest.raises(ValueError, match="The parameter 'num_classes' expected value 21 but "
                                         "got 2 instead."):
        S.fcn_resnet50(weights=S.FCN_ResNet50_Weights.DEFAULT, num_classes=2)
    with pytest.raises(ValueError, match="The parameter 'aux_loss' expected value True but "
                                         "got False instead."):
        S.deeplabv3_resnet50(weights="COCO_WITH_VOC_LABELS_V1", aux_loss=False)
    with pytest.raises(NotImplementedError, match="This model does not use auxiliary loss"):
        S.lraspp_mobilenet_v3_large(aux_loss=True)
    with pytest.raises(TypeError, match="expected ResNet50_Weights"):
        S.fcn_resnet50(weights_backbone=S.FCN_ResNet50_Weights.DEFAULT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = S.lraspp_mobilenet_v3_large(pretrained_backbone=False, num_classes=3)
    assert [str(w.message).split(",")[0] for w in caught] == [
        ("The parameter 'pretrained_backbone' is deprecated since 0.13 and may be removed "
         "in the future"),
        ("Arguments other than a weight enum or `None` for 'weights_backbone' are "
         "deprecated since 0.13 and may be removed in the future. The current behavior is "
         "equivalent to passing `weights_backbone=None`.")]
    assert model.classifier.low_classifier.out_channels == 3
    # defaults without weights: 21 classes, no aux head
    model = S.fcn_resnet50(weights_backbone=None)
    assert model.aux_classifier is None and model.classifier[4].out_channels == 21


class _Chain(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.b = nn.ReLU()
        self.c = nn.Linear(4, 2)
        self.fc = nn.Linear(2, 7)


def test_intermediate_layer_getter():
    """Children up to the last requested one are kept (in order), the outputs renamed."""
    chain = _Chain()
    body = IntermediateLayerGetter(chain, {"a": "first", "c": "last"})
    assert list(dict(body.named_children())) == ["a", "b", "c"]
    assert "fc.weight" not in body.state_dict()
    x = ember.randn(5, 3)
    out = body(x)
    assert list(out) == ["first", "last"]
    np.testing.assert_array_equal(out["first"].detach().numpy(), chain.a(x).detach().numpy())
    np.testing.assert_array_equal(out["last"].detach().numpy(),
                                  chain.c(chain.b(chain.a(x))).detach().numpy())
    assert body.return_layers == {"a": "first", "c": "last"}
    with pytest.raises(ValueError, match="return_layers are not present in model"):
        IntermediateLayerGetter(chain, {"d": "x"})
