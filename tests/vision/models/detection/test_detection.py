"""ember.vision.models.detection against torchvision 0.28 on the oracle torch, live.

Each case in ``_cases.py`` is written against the PyTorch API and runs twice with the same
seeded inputs and weights: on torch + torchvision (``_oracle.py``: torchvision's C ops do
not load here, so nms and RoIAlign run as plain-torch kernels there) and on ember. The
balanced sampler is made deterministic in both runs so the training losses and gradients
are comparable value for value.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from vision.models.detection import _cases as C
from vision.models.detection import _oracle

import ember
import ember.vision.models.detection as det
from ember.vision import models, ops


@pytest.fixture(scope="module")
def torchvision_side():
    """torchvision's results, each case computed once per module (see ``_oracle.py``).
    Each case feeds one test, so the module needs no xdist group."""
    return _oracle.TorchvisionSide()


def assert_matches(result: dict, expected: dict, rtol=1.3e-6, atol=1e-5, loose=()) -> None:
    """Same keys, shapes, dtypes and values as torchvision's; names in ``loose`` get
    rtol/atol 1e-4 (values that went through a few float32 layers)."""
    assert sorted(result) == sorted(expected)
    for key, want in expected.items():
        got = np.asarray(result[key])
        assert got.shape == want.shape, (key, got.shape, want.shape)
        assert got.dtype == want.dtype, (key, got.dtype, want.dtype)
        if want.dtype.kind in "US":
            assert (got == want).all(), (key, got, want)
            continue
        tol = (1e-4, 1e-4) if key in loose else (rtol, atol)
        np.testing.assert_allclose(got, want, rtol=tol[0], atol=tol[1], err_msg=key)


@pytest.fixture
def fixed_sampler(monkeypatch):
    monkeypatch.setattr(det._utils.BalancedPositiveNegativeSampler, "__call__",
                        C.deterministic_sampler(ember))


def test_anchor_generators(torchvision_side):
    assert_matches(C.case_anchors(ember, det), torchvision_side("anchors"))


def test_box_coders(torchvision_side):
    assert_matches(C.case_box_coder(ember, det), torchvision_side("box_coder"))


def test_matchers_and_random_sampler(torchvision_side):
    # the real (randperm) sampler: counts and validity equal torchvision's
    assert_matches(C.case_matcher(ember, det, ops), torchvision_side("matcher"))


def test_transform_resize_batch_postprocess(torchvision_side):
    assert_matches(C.case_transform(ember, det), torchvision_side("transform"),
                   loose=("post_masks",))


def test_rpn_proposals_losses_and_grads(fixed_sampler, no_init, torchvision_side):
    assert_matches(C.case_rpn(ember, det, ops), torchvision_side("rpn"),
                   loose=("grad_cls", "grad_conv", "loss_objectness", "loss_rpn_box_reg"))


def test_roi_heads_box_mask_keypoint(fixed_sampler, no_init, torchvision_side):
    assert_matches(C.case_roi_heads(ember, det, ops), torchvision_side("roi_heads"),
                   loose=("eval0_masks", "eval1_masks", "eval0_keypoints_scores",
                          "eval1_keypoints_scores", "grad_cls", "grad_mask", "grad_kp",
                          "loss_classifier", "loss_box_reg", "loss_mask", "loss_keypoint"))


@pytest.mark.parametrize("kind", ["faster", "mask", "keypoint"])
def test_model_end_to_end(kind, fixed_sampler, no_init, torchvision_side):
    result = C.case_model(ember, det, ops, models, kind)
    expected = torchvision_side(f"model_{kind}")
    loose = tuple(k for k in expected if k != "loss_keys")
    assert_matches(result, expected, loose=loose)


@pytest.mark.parametrize("kind", ["retinanet", "fcos", "ssd", "ssdlite"])
def test_one_stage_end_to_end(kind, no_init, torchvision_side):
    """Eval detections, training losses (focal / GIoU / centerness / hard-negative mined
    cross-entropy) and gradients of tiny RetinaNet, FCOS, SSD and SSDlite models."""
    result = C.case_one_stage(ember, det, ops, models, kind)
    expected = torchvision_side(f"one_stage_{kind}")
    loose = tuple(k for k in expected if k != "loss_keys")
    assert_matches(result, expected, loose=loose)


def test_weight_enums(torchvision_side):
    """Members, URLs, metadata (categories, num_params, metrics, recipes, docs) and the
    preset of every detection weight enum equal torchvision's."""
    assert_matches(C.case_weights(det), torchvision_side("weights"))


def test_errors_and_warnings(torchvision_side):
    """Exception types and messages on misuse (bad backbones, images, targets, weights,
    layer counts) and the deprecation warnings of pretrained=/pretrained_backbone=."""
    assert_matches(C.case_errors(ember, det, ops), torchvision_side("errors"))


def test_backbone_builders(no_init, torchvision_side):
    assert_matches(C.case_backbones(ember, det), torchvision_side("backbones"))


def test_reprs(no_init, torchvision_side):
    assert_matches(C.case_reprs(ember, det, ops, models), torchvision_side("reprs"))


@pytest.mark.parametrize("name", C.BUILDERS)
def test_builder_layout(name, no_init, torchvision_side):
    """Parameter count, trainable count and state_dict layout (keys and shapes) equal
    torchvision's for each builder."""
    assert_matches(C.case_builder(ember, det, name), torchvision_side(f"builder_{name}"))


@pytest.mark.parametrize("kind", ["mask"])
def test_training_steps_reduce_loss(kind):
    """model(images, targets) gives torchvision's loss keys, and a few SGD steps on one
    tiny synthetic batch lower the summed loss (the real random sampler in use)."""
    ember.manual_seed(0)
    model = C.tiny_model(ember, det, ops, models, kind)
    images, targets = C.model_inputs(ember)
    if kind == "keypoint":
        for t in targets:
            t["labels"] = ember.ones_like(t["labels"])
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = ember.optim.SGD(params, lr=0.01, momentum=0.9)
    model.train()
    totals = []
    for _ in range(5):
        losses = model(images, targets)
        total = sum(losses.values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(float(total.detach()))
    extra = {"mask": "loss_mask", "keypoint": "loss_keypoint"}[kind]
    assert sorted(losses) == sorted(["loss_classifier", "loss_box_reg", "loss_objectness",
                                     "loss_rpn_box_reg", extra])
    assert all(np.isfinite(totals))
    assert totals[-1] < 0.8 * totals[0], totals


@pytest.mark.parametrize("enum_name, builder, frozen_norm", [
    ("FasterRCNN_ResNet50_FPN_Weights", "fasterrcnn_resnet50_fpn", True),
    ("FasterRCNN_ResNet50_FPN_V2_Weights", "fasterrcnn_resnet50_fpn_v2", False),
    ("FasterRCNN_MobileNet_V3_Large_FPN_Weights", "fasterrcnn_mobilenet_v3_large_fpn", True),
    ("MaskRCNN_ResNet50_FPN_Weights", "maskrcnn_resnet50_fpn", True),
    ("MaskRCNN_ResNet50_FPN_V2_Weights", "maskrcnn_resnet50_fpn_v2", False),
    ("KeypointRCNN_ResNet50_FPN_Weights", "keypointrcnn_resnet50_fpn", True),
])
def test_weights_num_params_match_the_model_they_load_into(enum_name, builder, frozen_norm,
                                                          no_init, monkeypatch):
    """Each enum's num_params (torchvision's metadata) counts the model the builder makes
    for those weights: FrozenBatchNorm2d backbones for v1, where BN holds no parameters.
    The checkpoint itself is replaced by the model's own state_dict (no download)."""
    enum = getattr(det, enum_name)
    weights = enum.DEFAULT
    monkeypatch.setattr(type(weights), "get_state_dict",
                        lambda self, progress=True, check_hash=False: reference.state_dict())
    reference = getattr(det, builder)(weights=None, weights_backbone=None,
                                      num_classes=len(weights.meta["categories"]))
    if frozen_norm:  # the reference must hold FrozenBatchNorm2d buffers to load from
        reference = _frozen_twin(builder, weights)
    model = getattr(det, builder)(weights=weights)
    count = sum(p.numel() for p in model.parameters())
    assert count == weights.meta["num_params"]
    frozen = [m for m in model.modules() if isinstance(m, ops.FrozenBatchNorm2d)]
    assert bool(frozen) == frozen_norm
    if weights.meta["_metrics"]["COCO-val2017"]["box_map"] in (37.0, 37.9, 54.6):
        assert all(m.eps == 0.0 for m in frozen)  # overwrite_eps for the v1 checkpoints


def _frozen_twin(builder, weights):
    from ember.vision.models.detection import backbone_utils

    # a model shaped as with pretrained weights (frozen BN), built without any download
    resnet_like = "resnet" in builder
    body = (models.resnet50(norm_layer=ops.FrozenBatchNorm2d) if resnet_like
            else models.mobilenet_v3_large(norm_layer=ops.FrozenBatchNorm2d))
    extractor = (backbone_utils._resnet_fpn_extractor(body, 3) if resnet_like
                 else backbone_utils._mobilenet_extractor(body, True, 3))
    num_classes = len(weights.meta["categories"])
    if builder.startswith("mask"):
        return det.MaskRCNN(extractor, num_classes)
    if builder.startswith("keypoint"):
        return det.KeypointRCNN(extractor, num_classes, num_keypoints=17)
    if resnet_like:
        return det.FasterRCNN(extractor, num_classes)
    anchor_sizes = ((32, 64, 128, 256, 512),) * 3
    return det.FasterRCNN(extractor, num_classes,
                          rpn_anchor_generator=det.anchor_utils.AnchorGenerator(
                              anchor_sizes, ((0.5, 1.0, 2.0),) * 3))


@pytest.mark.parametrize("builder, enum_name, frozen_eps", [
    ("retinanet_resnet50_fpn", "RetinaNet_ResNet50_FPN_Weights", 0.0),
    ("retinanet_resnet50_fpn_v2", "RetinaNet_ResNet50_FPN_V2_Weights", None),
    ("fcos_resnet50_fpn", "FCOS_ResNet50_FPN_Weights", 1e-5),
    ("ssd300_vgg16", "SSD300_VGG16_Weights", None),
    ("ssdlite320_mobilenet_v3_large", "SSDLite320_MobileNet_V3_Large_Weights", None),
])
def test_one_stage_weights_build_the_counted_model(builder, enum_name, frozen_eps, no_init,
                                                   monkeypatch):
    """With weights, the one-stage builders make the model torchvision's num_params
    counts (frozen BN where torchvision freezes it, eps 0 only for RetinaNet v1); the
    checkpoint load itself is stubbed out (no download)."""
    weights = getattr(det, enum_name).COCO_V1
    monkeypatch.setattr(type(weights), "get_state_dict",
                        lambda self, progress=True, check_hash=False: {})
    monkeypatch.setattr(ember.nn.Module, "load_state_dict",
                        lambda self, state_dict, strict=True, assign=False: None)
    model = getattr(det, builder)(weights=weights)
    assert sum(p.numel() for p in model.parameters()) == weights.meta["num_params"]
    frozen = [m for m in model.modules() if isinstance(m, ops.FrozenBatchNorm2d)]
    assert (frozen_eps is not None) == bool(frozen)
    assert all(m.eps == frozen_eps for m in frozen)


def _old_layout(module, rename):
    """The module's state_dict under pre-version-2 key names, without version metadata
    (as torchvision's old checkpoints were saved)."""
    return {rename(k): v.clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("make, rename", [
    (lambda: det.rpn.RPNHead(8, 3), lambda k: k.replace("conv.0.0.", "conv.")),
    (lambda: det.mask_rcnn.MaskRCNNHeads(8, (8, 8), 1),
     lambda k: f"mask_fcn{int(k[0]) + 1}.{k.split('.')[-1]}"),
    (lambda: det.retinanet.RetinaNetRegressionHead(8, 3),
     lambda k: (f"conv.{2 * int(k.split('.')[1])}.{k.split('.')[-1]}"
                if k.startswith("conv.") else k)),
])
def test_version_one_checkpoints_load(make, rename):
    """Checkpoints from before torchvision renamed the head convs still load."""
    source, target = make(), make()
    old = _old_layout(source, rename)
    assert sorted(old) != sorted(source.state_dict())
    target.load_state_dict(old)
    for key, value in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[key].numpy(), value.numpy())


def test_registry_lists_the_detection_builders():
    """list_models(module=detection) holds exactly torchvision's twelve detection builders;
    get_model / get_model_weights / get_weight reach them by name."""
    assert models.list_models(module=det) == sorted(C.BUILDERS)
    assert not set(C.BUILDERS) & set(models.list_models(module=models.quantization))
    for name in C.BUILDERS:
        enum = models.get_model_weights(name)
        assert enum.__name__ in C.ENUMS
        assert models.get_weight(f"{enum.__name__}.DEFAULT") is enum.DEFAULT
    model = models.get_model("fasterrcnn_mobilenet_v3_large_320_fpn", weights=None,
                             weights_backbone=None, num_classes=3)
    assert isinstance(model, det.FasterRCNN)
    assert model.roi_heads.box_predictor.cls_score.out_features == 3
    assert model.transform.min_size == (320,) and model.rpn.score_thresh == 0.05


def test_gradcheck_box_coder_and_losses():
    """Float64 gradcheck of the differentiable pieces written here: box decoding (codes
    and reference boxes), encoding, and the Fast R-CNN and Mask R-CNN losses."""
    rng = np.random.default_rng(7)

    def leaf(*shape, scale=1.0, offset=0.0):
        arr = rng.normal(0, scale, shape) + offset
        return ember.tensor(arr, dtype=ember.float64, requires_grad=True)

    coder = det._utils.BoxCoder((10.0, 10.0, 5.0, 5.0))
    boxes = ember.tensor([[1.0, 2.0, 9.0, 7.0], [3.0, 1.0, 6.0, 12.0]], dtype=ember.float64,
                         requires_grad=True)
    codes = leaf(2, 8, scale=0.5)
    assert ember.autograd.gradcheck(coder.decode_single, (codes, boxes))
    gt = ember.tensor([[0.0, 1.0, 8.0, 9.0], [2.0, 2.0, 7.0, 10.0]], dtype=ember.float64,
                      requires_grad=True)
    assert ember.autograd.gradcheck(coder.encode_single, (gt, boxes))

    labels = [ember.tensor([0, 2, 1]), ember.tensor([3, 0])]
    targets = [leaf(3, 4, scale=0.3), leaf(2, 4, scale=0.3)]
    logits, regression = leaf(5, 4), leaf(5, 16, scale=0.3)
    assert ember.autograd.gradcheck(
        lambda a, b: det.roi_heads.fastrcnn_loss(a, b, labels, [t.detach() for t in targets]),
        (logits, regression))

    mask_logits = leaf(2, 3, 6, 6)
    props = [ember.tensor([[0.0, 0.0, 8.0, 8.0], [2.0, 2.0, 10.0, 12.0]], dtype=ember.float64)]
    masks = [ember.from_numpy((rng.random((1, 12, 12)) > 0.5).astype(np.uint8))]
    assert ember.autograd.gradcheck(
        lambda x: det.roi_heads.maskrcnn_loss(x, props, masks, [ember.tensor([2])],
                                              [ember.tensor([0, 0])]), (mask_logits,))


@pytest.mark.parametrize("sampling_ratio, aligned, scale", [(2, False, 1.0), (-1, True, 0.5),
                                                            (-1, False, 0.25), (3, True, 1.0)])
def test_oracle_roi_align_kernel_matches_torchvision_fallback(sampling_ratio, aligned, scale):
    """The oracle's RoIAlign kernel (``_oracle._roi_align``) against torchvision's own
    pure-torch fallback run eagerly, values and input gradients, on rois whose samples stay
    inside the map (there the fallback and the C kernel agree)."""
    import inspect
    import sys

    torchvision = _oracle.load_torchvision()
    fallback = inspect.unwrap(sys.modules[torchvision.ops.roi_align.__module__]._roi_align)
    rng = np.random.default_rng(8)
    features = rng.normal(0, 1, (2, 3, 9, 11))
    xy = rng.uniform(0, 4, (6, 2)) / scale
    wh = rng.uniform(0.5, 5, (6, 2)) / scale
    rois = np.concatenate([[[0], [1], [0], [1], [1], [0]], xy, xy + wh], 1)
    upstream = torch.tensor(rng.normal(0, 1, (6, 3, 4, 3)), dtype=torch.float32)
    results = []
    for kernel in (_oracle._roi_align, fallback):
        x = torch.tensor(features, dtype=torch.float32, requires_grad=True)
        out = kernel(x, torch.tensor(rois, dtype=torch.float32), scale, 4, 3, sampling_ratio,
                     aligned)
        out.backward(upstream)
        results.append((out.detach().numpy(), x.grad.numpy()))
    (out, grad), (want_out, want_grad) = results
    np.testing.assert_allclose(out, want_out, rtol=1.3e-6, atol=1e-5)
    np.testing.assert_allclose(grad, want_grad, rtol=1.3e-6, atol=1e-5)
