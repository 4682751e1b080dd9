"""Keypoint R-CNN (torchvision.models.detection.keypoint_rcnn): Faster R-CNN plus a
keypoint branch predicting one heatmap per keypoint (COCO's 17 person keypoints)."""

from __future__ import annotations

import ember.nn.functional as F
from ember import nn
from ember.vision.ops import FrozenBatchNorm2d, MultiScaleRoIAlign

from .._api import make_weights_enum, register_model
from .._utils import _ovewrite_value_param
from ..resnet import ResNet50_Weights, resnet50
from ._meta import _COCO_PERSON_CATEGORIES, _COCO_PERSON_KEYPOINT_NAMES, coco_weights
from ._utils import overwrite_eps
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .faster_rcnn import FasterRCNN, _load, _resolve

__all__ = ["KeypointRCNN", "KeypointRCNN_ResNet50_FPN_Weights", "keypointrcnn_resnet50_fpn"]


class KeypointRCNN(FasterRCNN):
    """Faster R-CNN with a keypoint branch: ``keypoint_roi_pool`` (14x14 RoIAlign),
    ``keypoint_head`` (eight 3x3 convs of 512) and ``keypoint_predictor`` (deconv and 2x
    bilinear upsampling to 56x56 heatmaps).

    Training targets also need ``keypoints`` (float [N, K, 3]: x, y, visibility); the
    losses gain ``loss_keypoint``. In eval each detection gets ``keypoints`` [N, K, 3]
    and ``keypoints_scores`` [N, K]. ``min_size`` defaults to torchvision's multi-scale
    (640, ..., 800). Other arguments as :class:`FasterRCNN`.
    """

    def __init__(self, backbone, num_classes=None, *args, keypoint_roi_pool=None,
                 keypoint_head=None, keypoint_predictor=None, num_keypoints=None,
                 **kwargs) -> None:
        if not isinstance(keypoint_roi_pool, (MultiScaleRoIAlign, type(None))):
            raise TypeError("keypoint_roi_pool should be of type MultiScaleRoIAlign or None "
                            "instead of {type(keypoint_roi_pool)}")
        if not args and kwargs.get("min_size") is None:
            kwargs["min_size"] = (640, 672, 704, 736, 768, 800)
        if num_keypoints is not None:
            if keypoint_predictor is not None:
                raise ValueError("num_keypoints should be None when keypoint_predictor is "
                                 "specified")
        else:
            num_keypoints = 17
        out_channels = backbone.out_channels
        if keypoint_roi_pool is None:
            keypoint_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"],
                                                   output_size=14, sampling_ratio=2)
        if keypoint_head is None:
            keypoint_head = KeypointRCNNHeads(out_channels, tuple(512 for _ in range(8)))
        if keypoint_predictor is None:
            keypoint_predictor = KeypointRCNNPredictor(512, num_keypoints)
        super().__init__(backbone, num_classes, *args, **kwargs)
        self.roi_heads.keypoint_roi_pool = keypoint_roi_pool
        self.roi_heads.keypoint_head = keypoint_head
        self.roi_heads.keypoint_predictor = keypoint_predictor


class KeypointRCNNHeads(nn.Sequential):
    """3x3 conv + ReLU layers, one per entry of ``layers``."""

    def __init__(self, in_channels: int, layers) -> None:
        blocks = []
        previous = in_channels
        for out_channels in layers:
            blocks.append(nn.Conv2d(previous, out_channels, 3, stride=1, padding=1))
            blocks.append(nn.ReLU(inplace=True))
            previous = out_channels
        super().__init__(*blocks)
        for m in self.children():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0)


class KeypointRCNNPredictor(nn.Module):
    """4x4 stride-2 transposed conv to one map per keypoint, then 2x bilinear upsampling."""

    def __init__(self, in_channels: int, num_keypoints: int) -> None:
        super().__init__()
        kernel = 4
        self.kps_score_lowres = nn.ConvTranspose2d(in_channels, num_keypoints, kernel, stride=2,
                                                   padding=kernel // 2 - 1)
        nn.init.kaiming_normal_(self.kps_score_lowres.weight, mode="fan_out",
                                nonlinearity="relu")
        nn.init.constant_(self.kps_score_lowres.bias, 0)
        self.up_scale = 2
        self.out_channels = num_keypoints

    def forward(self, x):
        x = self.kps_score_lowres(x)
        return F.interpolate(x, scale_factor=float(self.up_scale), mode="bilinear",
                             align_corners=False, recompute_scale_factor=False)


def _person_weights(file, recipe, metrics, ops, **meta):
    return coco_weights(file, 59137258, recipe, metrics, ops, 226.054,
                        categories=_COCO_PERSON_CATEGORIES,
                        keypoint_names=_COCO_PERSON_KEYPOINT_NAMES, **meta)


# torchvision's text, its source indentation included
_LEGACY_DOCS = ("\n" + " " * 16 + "These weights were produced by following a similar training "
                "recipe as on the paper but use a checkpoint\n" + " " * 16
                + "from an early epoch.\n" + " " * 12)

KeypointRCNN_ResNet50_FPN_Weights = make_weights_enum("KeypointRCNN_ResNet50_FPN_Weights", {
    "COCO_LEGACY": _person_weights("keypointrcnn_resnet50_fpn_coco-9f466800.pth",
                                   "https://github.com/pytorch/vision/issues/1606",
                                   {"box_map": 50.6, "kp_map": 61.1}, 133.924,
                                   _docs=_LEGACY_DOCS),
    "COCO_V1": _person_weights(
        "keypointrcnn_resnet50_fpn_coco-fc266e95.pth",
        "https://github.com/pytorch/vision/tree/main/references/detection#keypoint-r-cnn",
        {"box_map": 54.6, "kp_map": 65.0}, 137.42),
}, __name__)


@register_model()
def keypointrcnn_resnet50_fpn(*, weights: KeypointRCNN_ResNet50_FPN_Weights | None = None,
                              progress: bool = True, num_classes: int | None = None,
                              num_keypoints: int | None = None,
                              weights_backbone: ResNet50_Weights | None = (
                                  ResNet50_Weights.IMAGENET1K_V1),
                              trainable_backbone_layers: int | None = None,
                              **kwargs) -> KeypointRCNN:
    """Keypoint R-CNN with a ResNet-50 FPN backbone: 2 classes (person) and 17 keypoints
    by default; ``pretrained="legacy"`` selects the COCO_LEGACY weights."""
    legacy = (KeypointRCNN_ResNet50_FPN_Weights.COCO_LEGACY
              if kwargs.get("pretrained") == "legacy" else KeypointRCNN_ResNet50_FPN_Weights.COCO_V1)
    weights, weights_backbone, num_classes = _resolve(
        weights, weights_backbone, num_classes, kwargs, KeypointRCNN_ResNet50_FPN_Weights,
        ResNet50_Weights, ResNet50_Weights.IMAGENET1K_V1, default_classes=2,
        pretrained_default=legacy)
    if weights is not None:
        num_keypoints = _ovewrite_value_param("num_keypoints", num_keypoints,
                                              len(weights.meta["keypoint_names"]))
    elif num_keypoints is None:
        num_keypoints = 17
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    model = KeypointRCNN(_resnet_fpn_extractor(backbone, trainable), num_classes,
                         num_keypoints=num_keypoints, **kwargs)
    _load(model, weights, progress)
    if weights == KeypointRCNN_ResNet50_FPN_Weights.COCO_V1:
        overwrite_eps(model, 0.0)
    return model
