"""Detection cases written once against the PyTorch API and run twice by the tests: with
torch + torchvision 0.28 (``_oracle.py``) and with ember + ember.vision. Inputs and
weights come from NumPy seeds, so both runs see the same numbers; each case returns a
flat {name: array} dict to compare.

Random-choice steps (the balanced sampler, the transform's size choice) are replaced by
deterministic ones in both runs via :func:`deterministic_sampler`.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _np(t):
    return t.detach().cpu().numpy()


def init_weights(lib, model, seed: int, dtype=None):
    """Overwrites every float entry of ``model``'s state_dict with seeded numbers scaled
    so activations stay O(1): conv/linear ~ N(0, 1/fan_in), norm weights near 1."""
    state = sorted(model.state_dict().items())
    floats = [(key, tuple(value.shape), _is_transposed(model, key)) for key, value in state
              if value.is_floating_point()]
    arrays = _draw(seed, tuple(floats))
    new = {key: (lib.from_numpy(arrays[key]).to(dtype or value.dtype) if key in arrays
                 else value) for key, value in state}
    model.load_state_dict(new)
    return model


_LAST_DRAW = {}  # the previous draw: the torchvision run of a case reuses the ember run's


def _draw(seed: int, floats: tuple) -> dict:
    """{key: array} for the (key, shape, transposed) float entries, from ``seed``."""
    if _LAST_DRAW.get("args") == (seed, floats):
        return _LAST_DRAW["arrays"]
    rng = np.random.default_rng(seed)
    arrays = {}
    for key, shape, transposed in floats:
        if key.endswith("running_var"):
            arr = rng.uniform(0.5, 1.5, shape)
        elif key.endswith("running_mean"):
            arr = rng.normal(0.0, 0.1, shape)
        elif len(shape) >= 2:
            fan_in = int(shape[0] * np.prod(shape[2:])) if transposed else int(np.prod(shape[1:]))
            arr = rng.normal(0.0, 1.0 / np.sqrt(fan_in), shape)
        elif key.endswith("weight"):
            arr = 1.0 + rng.normal(0.0, 0.1, shape)
        else:
            arr = rng.normal(0.0, 0.05, shape)
        arrays[key] = np.ascontiguousarray(arr)
    _LAST_DRAW.update(args=(seed, floats), arrays=arrays)
    return arrays


def _is_transposed(model, key) -> bool:
    return "." in key and "ConvTranspose" in type(_module_of(model, key)).__name__


def _module_of(model, key):
    return model.get_submodule(key.rsplit(".", 1)[0])


def deterministic_sampler(lib):
    """A replacement for BalancedPositiveNegativeSampler.__call__ taking the first
    positives/negatives in index order (the original draws them with randperm)."""

    def call(self, matched_idxs):
        pos_masks, neg_masks = [], []
        for matched in matched_idxs:
            positive = lib.where(matched >= 1)[0]
            negative = lib.where(matched == 0)[0]
            num_pos = min(positive.numel(), int(self.batch_size_per_image * self.positive_fraction))
            num_neg = min(negative.numel(), self.batch_size_per_image - num_pos)
            pos = lib.zeros_like(matched, dtype=lib.uint8)
            neg = lib.zeros_like(matched, dtype=lib.uint8)
            pos[positive[:num_pos]] = 1
            neg[negative[:num_neg]] = 1
            pos_masks.append(pos)
            neg_masks.append(neg)
        return pos_masks, neg_masks

    return call


def state_dict_digest(model) -> str:
    """sha1 of the sorted "key shape" lines: equal digests mean equal layouts."""
    lines = [f"{k} {tuple(v.shape)}" for k, v in sorted(model.state_dict().items())]
    return hashlib.sha1("\n".join(lines).encode()).hexdigest()


# -- component cases ----------------------------------------------------------------------

def _boxes(rng, n, size):
    xy = rng.uniform(0, size * 0.7, (n, 2))
    wh = rng.uniform(size * 0.05, size * 0.3, (n, 2))
    return np.concatenate([xy, xy + wh], 1).astype(np.float32)


def case_anchors(lib, det):
    image_list = det.image_list.ImageList(lib.zeros(2, 3, 64, 96), [(60, 90), (64, 80)])
    maps = [lib.zeros(2, 8, 16, 24), lib.zeros(2, 8, 8, 12), lib.zeros(2, 8, 4, 6)]
    gen = det.anchor_utils.AnchorGenerator(((16,), (32, 48), (64,)), ((0.5, 1.0, 2.0),) * 3)
    anchors = gen(image_list, maps)
    dbox = det.anchor_utils.DefaultBoxGenerator([[2], [2, 3], [2]], steps=[4, 8, 16])
    dboxes = dbox(image_list, maps)
    dbox2 = det.anchor_utils.DefaultBoxGenerator([[2, 3]], min_ratio=0.2, max_ratio=0.95,
                                                 clip=False)
    return {"anchors0": _np(anchors[0]), "anchors1": _np(anchors[1]),
            "num_anchors": np.array(gen.num_anchors_per_location()),
            "dboxes": _np(dboxes[0]), "dboxes_noclip": _np(dbox2(image_list, maps[1:2])[1]),
            "dbox_scales": np.array(dbox.scales), "dbox_repr": np.array(repr(dbox))}


def case_box_coder(lib, det):
    rng = np.random.default_rng(1)
    ref = lib.from_numpy(_boxes(rng, 12, 100))
    props = lib.from_numpy(_boxes(rng, 12, 100))
    coder = det._utils.BoxCoder((10.0, 10.0, 5.0, 5.0))
    enc = coder.encode([ref[:5], ref[5:]], [props[:5], props[5:]])
    codes = lib.from_numpy(rng.normal(0, 2, (12, 8)).astype(np.float32))
    codes[0, 2] = 50.0  # beyond bbox_xform_clip
    dec = coder.decode(codes, [props[:7], props[7:]])
    lin = det._utils.BoxLinearCoder(normalize_by_size=True)
    lenc = lin.encode(ref, props)
    return {"enc0": _np(enc[0]), "enc1": _np(enc[1]), "dec": _np(dec),
            "single": _np(coder.decode_single(codes[:, :4], props)),
            "lin_enc": _np(lenc), "lin_dec": _np(lin.decode(lenc, ref)),
            "lin_raw": _np(det._utils.BoxLinearCoder(False).encode(ref, props))}


def case_matcher(lib, det, ops):
    rng = np.random.default_rng(2)
    gt = lib.from_numpy(_boxes(rng, 4, 60))
    preds = lib.from_numpy(_boxes(rng, 30, 60))
    quality = ops.box_iou(gt, preds)
    out = {}
    for low_quality in (False, True):
        m = det._utils.Matcher(0.5, 0.3, allow_low_quality_matches=low_quality)
        out[f"matches_{low_quality}"] = _np(m(quality))
    out["ssd"] = _np(det._utils.SSDMatcher(0.4)(quality))
    sampler = det._utils.BalancedPositiveNegativeSampler(8, 0.25)
    labels = lib.from_numpy(rng.integers(-1, 3, 40))
    pos, neg = sampler([labels])
    out["sampled"] = np.array([int(pos[0].sum()), int(neg[0].sum())])
    out["sampled_valid"] = np.array([bool(((labels >= 1) | ~pos[0].bool()).all()),
                                     bool(((labels == 0) | ~neg[0].bool()).all())])
    return out


def case_transform(lib, det):
    rng = np.random.default_rng(3)
    imgs = [lib.from_numpy(rng.random((3, 40, 56), dtype=np.float32)),
            lib.from_numpy(rng.random((3, 50, 34), dtype=np.float32))]
    masks = lib.from_numpy((rng.random((2, 40, 56)) > 0.5).astype(np.uint8))
    kps = lib.from_numpy(np.concatenate([rng.uniform(0, 30, (2, 3, 2)), np.ones((2, 3, 1))],
                                        2).astype(np.float32))
    targets = [{"boxes": lib.from_numpy(_boxes(rng, 2, 34)), "masks": masks, "keypoints": kps},
               {"boxes": lib.from_numpy(_boxes(rng, 1, 34)), "masks": masks[:1],
                "keypoints": kps[:1]}]
    t = det.transform.GeneralizedRCNNTransform(48, 80, [0.4, 0.5, 0.6], [0.2, 0.25, 0.3],
                                               size_divisible=16)
    images, new_targets = t(imgs, targets)
    out = {"tensors": _np(images.tensors), "sizes": np.array(images.image_sizes),
           "repr": np.array(repr(t))}
    for i, tgt in enumerate(new_targets):
        for k, v in tgt.items():
            out[f"t{i}_{k}"] = _np(v)
    fixed = det.transform.GeneralizedRCNNTransform(48, 80, [0.0] * 3, [1.0] * 3,
                                                   fixed_size=(40, 30)).eval()
    out["fixed"] = _np(fixed(imgs)[0].tensors)
    # postprocess: boxes, keypoints and 28x28 masks back to the original sizes
    t.eval()
    det_boxes = lib.from_numpy(np.array([[2.0, 3.0, 30.0, 40.0], [-5.0, 10.5, 20.2, 60.0],
                                         [10.0, 10.0, 10.5, 11.0]], np.float32))
    probs = lib.from_numpy(rng.random((3, 1, 28, 28), dtype=np.float32))
    result = [{"boxes": det_boxes, "masks": probs, "keypoints": kps[:1].repeat(3, 1, 1)}]
    post = t.postprocess(result, [(48, 67)], [(40, 56)])
    for k, v in post[0].items():
        out[f"post_{k}"] = _np(v)
    return out


def tiny_rpn(lib, det, ops, in_channels=8):
    gen = det.anchor_utils.AnchorGenerator(((16,), (32,)), ((0.5, 1.0, 2.0),) * 2)
    head = det.rpn.RPNHead(in_channels, 3, conv_depth=2)
    rpn = det.rpn.RegionProposalNetwork(gen, head, 0.7, 0.3, 32, 0.5,
                                        {"training": 60, "testing": 40},
                                        {"training": 30, "testing": 20}, 0.7)
    return init_weights(lib, rpn, 11)


def case_rpn(lib, det, ops):
    rng = np.random.default_rng(4)
    rpn = tiny_rpn(lib, det, ops)
    image_list = det.image_list.ImageList(lib.zeros(2, 3, 64, 64), [(64, 60), (56, 64)])
    feats = {"0": lib.from_numpy(rng.normal(0, 1, (2, 8, 16, 16)).astype(np.float32)),
             "1": lib.from_numpy(rng.normal(0, 1, (2, 8, 8, 8)).astype(np.float32))}
    out = {}
    rpn.eval()
    boxes, losses = rpn(image_list, feats)
    out["eval_boxes0"], out["eval_boxes1"] = _np(boxes[0]), _np(boxes[1])
    rpn.train()
    targets = [{"boxes": lib.from_numpy(np.array([[5, 5, 30, 40], [20, 30, 60, 60]],
                                                 np.float32))},
               {"boxes": lib.from_numpy(np.array([[10, 0, 40, 20]], np.float32))}]
    boxes, losses = rpn(image_list, feats, targets)
    out["train_boxes0"] = _np(boxes[0])
    for k, v in losses.items():
        out[k] = _np(v)
    sum(losses.values()).backward()
    out["grad_cls"] = _np(rpn.head.cls_logits.weight.grad)
    out["grad_conv"] = _np(rpn.head.conv[0][0].weight.grad)
    return out


def tiny_roi_heads(lib, det, ops, C=8, mask=True, keypoint=True):
    fr, mr, kr = det.faster_rcnn, det.mask_rcnn, det.keypoint_rcnn
    pool = ops.MultiScaleRoIAlign(["0", "1"], 7, 2)
    heads = det.roi_heads.RoIHeads(
        pool, fr.TwoMLPHead(C * 49, 32), fr.FastRCNNPredictor(32, 4), 0.5, 0.5, 16, 0.25,
        None, 0.0, 0.5, 12)
    if mask:
        heads.mask_roi_pool = ops.MultiScaleRoIAlign(["0", "1"], 14, 2)
        heads.mask_head = mr.MaskRCNNHeads(C, (8, 8), 1)
        heads.mask_predictor = mr.MaskRCNNPredictor(8, 8, 4)
    if keypoint:
        heads.keypoint_roi_pool = ops.MultiScaleRoIAlign(["0", "1"], 14, 2)
        heads.keypoint_head = kr.KeypointRCNNHeads(C, (8, 8))
        heads.keypoint_predictor = kr.KeypointRCNNPredictor(8, 5)
    return init_weights(lib, heads, 12)


def case_roi_heads(lib, det, ops):
    rng = np.random.default_rng(5)
    heads = tiny_roi_heads(lib, det, ops)
    feats = {"0": lib.from_numpy(rng.normal(0, 1, (2, 8, 16, 16)).astype(np.float32)),
             "1": lib.from_numpy(rng.normal(0, 1, (2, 8, 8, 8)).astype(np.float32))}
    proposals = [lib.from_numpy(_boxes(rng, 20, 64)), lib.from_numpy(_boxes(rng, 15, 64))]
    shapes = [(64, 64), (60, 64)]
    out = {}
    heads.eval()
    result, _ = heads(feats, proposals, shapes)
    for i, r in enumerate(result):
        for k, v in r.items():
            out[f"eval{i}_{k}"] = _np(v)
    heads.train()
    gt = [_boxes(rng, 3, 64), _boxes(rng, 2, 64)]
    targets = []
    for boxes in gt:
        n = len(boxes)
        masks = (rng.random((n, 64, 64)) > 0.5).astype(np.uint8)
        kp = np.concatenate([boxes[:, None, :2] + rng.uniform(0, 10, (n, 5, 2)),
                             (rng.random((n, 5, 1)) > 0.2)], 2).astype(np.float32)
        targets.append({"boxes": lib.from_numpy(boxes),
                        "labels": lib.from_numpy(rng.integers(1, 4, n)),
                        "masks": lib.from_numpy(masks), "keypoints": lib.from_numpy(kp)})
    proposals = [p.clone() for p in proposals]
    _, losses = heads(feats, proposals, shapes, targets)
    for k, v in losses.items():
        out[k] = _np(v)
    sum(losses.values()).backward()
    out["grad_cls"] = _np(heads.box_predictor.cls_score.weight.grad)
    out["grad_mask"] = _np(heads.mask_predictor.mask_fcn_logits.weight.grad)
    out["grad_kp"] = _np(heads.keypoint_predictor.kps_score_lowres.weight.grad)
    return out


def tiny_model(lib, det, ops, models, kind: str, init: bool = True):
    """A Faster/Mask/Keypoint R-CNN on a ResNet-18 FPN of width 32 with small heads."""
    bu, fr, mr, kr = det.backbone_utils, det.faster_rcnn, det.mask_rcnn, det.keypoint_rcnn
    body = models.resnet18(norm_layer=ops.FrozenBatchNorm2d)
    backbone = bu.BackboneWithFPN(body, {"layer2": "0", "layer3": "1", "layer4": "2"},
                                  [128, 256, 512], 32)
    anchors = det.anchor_utils.AnchorGenerator(((16,), (32,), (64,), (128,)),
                                               ((0.5, 1.0, 2.0),) * 4)
    kw = {"min_size": 64, "max_size": 96, "rpn_anchor_generator": anchors,
              "box_roi_pool": ops.MultiScaleRoIAlign(["0", "1", "2"], 7, 2),
              "box_head": fr.TwoMLPHead(32 * 49, 64), "rpn_pre_nms_top_n_test": 60,
              "rpn_post_nms_top_n_test": 30, "rpn_pre_nms_top_n_train": 80,
              "rpn_post_nms_top_n_train": 40, "rpn_batch_size_per_image": 64,
              "box_batch_size_per_image": 32, "box_score_thresh": 0.0, "box_detections_per_img": 8}
    kw["box_predictor"] = fr.FastRCNNPredictor(64, 2 if kind == "keypoint" else 4)
    if kind == "faster":
        model = fr.FasterRCNN(backbone, **kw)
    elif kind == "mask":
        model = mr.MaskRCNN(backbone,
                            mask_roi_pool=ops.MultiScaleRoIAlign(["0", "1", "2"], 14, 2),
                            mask_head=mr.MaskRCNNHeads(32, (16, 16), 1),
                            mask_predictor=mr.MaskRCNNPredictor(16, 16, 4), **kw)
    else:
        model = kr.KeypointRCNN(backbone,
                                keypoint_roi_pool=ops.MultiScaleRoIAlign(["0", "1", "2"], 14, 2),
                                keypoint_head=kr.KeypointRCNNHeads(32, (16, 16)),
                                keypoint_predictor=kr.KeypointRCNNPredictor(16, 6), **kw)
    return init_weights(lib, model, 21) if init else model


def model_inputs(lib):
    rng = np.random.default_rng(6)
    images = [lib.from_numpy(rng.random((3, 64, 80), dtype=np.float32)),
              lib.from_numpy(rng.random((3, 72, 60), dtype=np.float32))]
    targets = []
    for h, w, boxes in ((64, 80, [[4, 6, 40, 50], [30, 20, 70, 60]]), (72, 60, [[8, 8, 50, 40]])):
        boxes = np.array(boxes, np.float32)
        n = len(boxes)
        masks = np.zeros((n, h, w), np.uint8)
        for j, (x0, y0, x1, y1) in enumerate(boxes.astype(int)):
            masks[j, y0:y1, x0:x1] = 1
        kp = np.concatenate([boxes[:, None, :2] + rng.uniform(1, 20, (n, 6, 2)),
                             np.ones((n, 6, 1))], 2).astype(np.float32)
        targets.append({"boxes": lib.from_numpy(boxes), "labels": lib.from_numpy(
            np.arange(1, n + 1) % 2 + 1), "masks": lib.from_numpy(masks),
            "keypoints": lib.from_numpy(kp)})
    return images, targets


def case_model(lib, det, ops, models, kind: str):
    model = tiny_model(lib, det, ops, models, kind)
    images, targets = model_inputs(lib)
    if kind == "keypoint":  # one class: person
        for t in targets:
            t["labels"] = lib.ones_like(t["labels"])
    out = {}
    model.eval()
    with lib.no_grad():
        result = model(images)
    for i, r in enumerate(result):
        for k, v in r.items():
            out[f"eval{i}_{k}"] = _np(v)
    model.train()
    losses = model(images, targets)
    out["loss_keys"] = np.array(sorted(losses))
    for k, v in losses.items():
        out[k] = _np(v)
    sum(losses.values()).backward()
    out["grad_rpn"] = _np(model.rpn.head.cls_logits.weight.grad)
    out["grad_fc6"] = _np(model.roi_heads.box_head.fc6.weight.grad[:4])
    out["grad_layer4"] = _np(model.backbone.body.layer4[1].conv2.weight.grad[:2])
    return out


BUILDERS = ["fasterrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2",
            "fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_mobilenet_v3_large_320_fpn",
            "maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2", "keypointrcnn_resnet50_fpn",
            "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2", "fcos_resnet50_fpn",
            "ssd300_vgg16", "ssdlite320_mobilenet_v3_large"]

ENUMS = ["FasterRCNN_ResNet50_FPN_Weights", "FasterRCNN_ResNet50_FPN_V2_Weights",
         "FasterRCNN_MobileNet_V3_Large_FPN_Weights",
         "FasterRCNN_MobileNet_V3_Large_320_FPN_Weights", "MaskRCNN_ResNet50_FPN_Weights",
         "MaskRCNN_ResNet50_FPN_V2_Weights", "KeypointRCNN_ResNet50_FPN_Weights",
         "RetinaNet_ResNet50_FPN_Weights", "RetinaNet_ResNet50_FPN_V2_Weights",
         "FCOS_ResNet50_FPN_Weights", "SSD300_VGG16_Weights",
         "SSDLite320_MobileNet_V3_Large_Weights"]


def case_weights(det):
    """Every enum's members (DEFAULT included), URLs, metadata and preset, as text."""
    import json

    out = {}
    for name in ENUMS:
        enum = getattr(det, name)
        for member, w in enum.__members__.items():
            meta = json.dumps(w.meta, sort_keys=True, default=str)
            out[f"{name}.{member}"] = np.array(f"{w.url}\n{meta}\n{w.transforms()!r}")
    return out


def case_builder(lib, det, name: str):
    model = getattr(det, name)(weights=None, weights_backbone=None)
    return {"num_params": np.array(sum(p.numel() for p in model.parameters())),
            "trainable": np.array(sum(p.numel() for p in model.parameters()
                                      if p.requires_grad)),
            "digest": np.array(state_dict_digest(model))}


def tiny_one_stage(lib, det, ops, models, kind: str, init: bool = True):
    """RetinaNet / FCOS on a ResNet-18 FPN (width 32, P6/P7), SSD / SSDlite on a
    two-conv backbone with one feature map."""
    nn = lib.nn
    from functools import partial

    if kind in ("retinanet", "fcos"):
        from_fpn = __import__(ops.__name__ + ".feature_pyramid_network", fromlist=["x"])
        body = models.resnet18(norm_layer=ops.FrozenBatchNorm2d)
        backbone = det.backbone_utils.BackboneWithFPN(
            body, {"layer2": "0", "layer3": "1", "layer4": "2"}, [128, 256, 512], 32,
            extra_blocks=from_fpn.LastLevelP6P7(32, 32))
        if kind == "retinanet":
            anchors = det.anchor_utils.AnchorGenerator(
                ((16, 20), (32, 40), (64, 80), (128, 160), (256, 320)), ((0.5, 1.0, 2.0),) * 5)
            head = det.retinanet.RetinaNetHead(32, 6, 5, norm_layer=partial(nn.GroupNorm, 8))
            head.regression_head._loss_type = "giou"
            model = det.retinanet.RetinaNet(backbone, 5, min_size=64, max_size=96,
                                            anchor_generator=anchors, head=head,
                                            score_thresh=0.05, detections_per_img=10,
                                            topk_candidates=50)
        else:
            model = det.fcos.FCOS(backbone, 5, min_size=64, max_size=96,
                                  head=det.fcos.FCOSHead(32, 1, 5, num_convs=2),
                                  score_thresh=0.05, detections_per_img=10, topk_candidates=50)
    else:
        backbone = nn.Sequential(nn.Conv2d(3, 16, 3, stride=4, padding=1), nn.ReLU(),
                                 nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.ReLU())
        anchors = det.anchor_utils.DefaultBoxGenerator([[2]], min_ratio=0.2, max_ratio=0.9)
        head = None
        if kind == "ssdlite":
            head = det.ssdlite.SSDLiteHead([16], [4], 4,
                                           partial(nn.BatchNorm2d, eps=0.001, momentum=0.03))
        model = det.ssd.SSD(backbone, anchors, (64, 64), 4, head=head, score_thresh=0.05,
                            detections_per_img=10, topk_candidates=20)
    return init_weights(lib, model, 31) if init else model


def case_one_stage(lib, det, ops, models, kind: str):
    model = tiny_one_stage(lib, det, ops, models, kind)
    images, targets = model_inputs(lib)
    targets = [{"boxes": t["boxes"], "labels": t["labels"]} for t in targets]
    out = {}
    model.eval()
    with lib.no_grad():
        result = model(images)
    for i, r in enumerate(result):
        for k, v in r.items():
            out[f"eval{i}_{k}"] = _np(v)
    model.train()
    losses = model(images, targets)
    out["loss_keys"] = np.array(sorted(losses))
    for k, v in losses.items():
        out[k] = _np(v)
    sum(losses.values()).backward()
    params = [p for p in model.parameters() if p.grad is not None]
    out["grad_first"] = _np(params[0].grad)
    out["grad_last"] = _np(params[-1].grad)
    return out


def _outcome(fn):
    """'TypeName: message' of what ``fn()`` raises, plus the warnings it emits."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn()
            result = "no error"
        except Exception as err:  # noqa: BLE001 - the type is what is compared
            result = f"{type(err).__name__}: {err}"
    return np.array([result] + [f"{w.category.__name__}: {w.message}" for w in caught])


def case_errors(lib, det, ops):
    """Error types and messages (and warnings) on misuse, as text."""
    nn = lib.nn
    fr = det.faster_rcnn
    tiny = nn.Conv2d(3, 8, 3)
    tiny.out_channels = 8
    images = [lib.rand(3, 32, 32)]
    model = fr.FasterRCNN(tiny, num_classes=3, min_size=32, max_size=32,
                          rpn_anchor_generator=det.anchor_utils.AnchorGenerator(((16,),),
                                                                                ((1.0,),)),
                          box_roi_pool=ops.MultiScaleRoIAlign(["0"], 7, 2))
    cases = {
        "no_out_channels": lambda: fr.FasterRCNN(nn.ReLU(), num_classes=3),
        "classes_and_predictor": lambda: fr.FasterRCNN(tiny, num_classes=3,
                                                       box_predictor=fr.FastRCNNPredictor(8, 3)),
        "no_classes": lambda: fr.FasterRCNN(tiny),
        "bad_anchor_type": lambda: fr.FasterRCNN(tiny, 3, rpn_anchor_generator=object()),
        "uint8_image": lambda: model.eval()([lib.zeros(3, 32, 32, dtype=lib.uint8)]),
        "2d_image": lambda: model.eval()([lib.zeros(32, 32)]),
        "train_no_targets": lambda: model.train()(images),
        "bad_box_shape": lambda: model.train()(images, [{"boxes": lib.zeros(4),
                                                         "labels": lib.zeros(1)}]),
        "degenerate_box": lambda: model.train()(images, [{
            "boxes": lib.tensor([[4.0, 4.0, 20.0, 30.0], [10.0, 10.0, 10.0, 20.0]]),
            "labels": lib.tensor([1, 2])}]),
        "int_labels": lambda: model.train()(images, [{
            "boxes": lib.tensor([[4.0, 4.0, 20.0, 30.0]]),
            "labels": lib.tensor([1], dtype=lib.int32)}]),
        "matcher_empty": lambda: det._utils.Matcher(0.5, 0.4)(lib.zeros(0, 3)),
        "matcher_no_preds": lambda: det._utils.Matcher(0.5, 0.4)(lib.zeros(3, 0)),
        "matcher_order": lambda: det._utils.Matcher(0.3, 0.4),
        "trainable_warning": lambda: det.backbone_utils._validate_trainable_layers(
            False, 3, 5, 3),
        "trainable_range": lambda: det.backbone_utils._validate_trainable_layers(True, 7, 5, 3),
        "returned_layers": lambda: det.backbone_utils._resnet_fpn_extractor(
            models_resnet18(lib, det), 3, returned_layers=[0, 1]),
        "legacy_flags": lambda: det.ssdlite320_mobilenet_v3_large(pretrained=False,
                                                                  pretrained_backbone=False),
        "bad_weights_type": lambda: det.fasterrcnn_resnet50_fpn(
            weights=det.MaskRCNN_ResNet50_FPN_Weights.COCO_V1),
        "num_classes_vs_weights": lambda: det.ssdlite320_mobilenet_v3_large(
            weights="COCO_V1", num_classes=3),
        "fcos_anchors": lambda: det.fcos.FCOS(tiny, 3, anchor_generator=(
            det.anchor_utils.AnchorGenerator(((16,),), ((0.5, 1.0),)))),
    }
    return {k: _outcome(fn) for k, fn in cases.items()}


def models_resnet18(lib, det):
    name = det.__name__.replace(".detection", "")
    return __import__(name, fromlist=["resnet18"]).resnet18()


def case_reprs(lib, det, ops, models):
    """What print(model) shows for the tiny models and the builders' small heads."""
    out = {kind: np.array(repr(tiny_model(lib, det, ops, models, kind, init=False)))
           for kind in ("mask", "keypoint")}
    for kind in ("retinanet", "fcos", "ssdlite"):
        out[kind] = np.array(repr(tiny_one_stage(lib, det, ops, models, kind, init=False)))
    return out


def case_backbones(lib, det):
    """resnet_fpn_backbone / mobilenet_backbone: layouts, frozen parameter counts and the
    feature maps' names and shapes."""
    bu = det.backbone_utils
    made = {
        "resnet18_t2": bu.resnet_fpn_backbone(backbone_name="resnet18", weights=None,
                                              trainable_layers=2),
        "resnet18_t5_l234": bu.resnet_fpn_backbone(backbone_name="resnet18", weights=None,
                                                   trainable_layers=5,
                                                   returned_layers=[2, 3, 4]),
        "mnv3s_fpn": bu.mobilenet_backbone(backbone_name="mobilenet_v3_small", weights=None,
                                           fpn=True, trainable_layers=3),
        "mnv3s_plain": bu.mobilenet_backbone(backbone_name="mobilenet_v3_small", weights=None,
                                             fpn=False, trainable_layers=0),
    }
    out = {}
    x = lib.zeros(1, 3, 64, 64)
    for name, model in made.items():
        out[f"{name}_digest"] = np.array(state_dict_digest(model))
        out[f"{name}_trainable"] = np.array(sum(p.numel() for p in model.parameters()
                                                if p.requires_grad))
        model.eval()
        with lib.no_grad():
            feats = model(x)
        if not isinstance(feats, dict):
            feats = {"0": feats}
        out[f"{name}_maps"] = np.array([f"{k} {tuple(v.shape)}" for k, v in feats.items()])
    return out
