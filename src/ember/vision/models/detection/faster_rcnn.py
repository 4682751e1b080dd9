"""Faster R-CNN (torchvision.models.detection.faster_rcnn): the model, its box heads,
and the ResNet-50 FPN (v1, v2) and MobileNetV3-Large FPN builders with COCO weights."""

from __future__ import annotations

import ember.nn.functional as F
from ember import nn
from ember.vision.ops import Conv2dNormActivation, FrozenBatchNorm2d, MultiScaleRoIAlign

from .._api import make_weights_enum, register_model
from .._utils import _legacy_weights, _ovewrite_value_param
from ..mobilenet import MobileNet_V3_Large_Weights, mobilenet_v3_large
from ..resnet import ResNet50_Weights, resnet50
from ._meta import _ENHANCED_RECIPE, coco_weights
from ._utils import overwrite_eps
from .anchor_utils import AnchorGenerator
from .backbone_utils import (
    _mobilenet_extractor,
    _resnet_fpn_extractor,
    _validate_trainable_layers,
)
from .generalized_rcnn import GeneralizedRCNN
from .roi_heads import RoIHeads
from .rpn import RegionProposalNetwork, RPNHead
from .transform import GeneralizedRCNNTransform

__all__ = [
    "FasterRCNN",
    "FasterRCNN_MobileNet_V3_Large_320_FPN_Weights",
    "FasterRCNN_MobileNet_V3_Large_FPN_Weights",
    "FasterRCNN_ResNet50_FPN_V2_Weights",
    "FasterRCNN_ResNet50_FPN_Weights",
    "fasterrcnn_mobilenet_v3_large_320_fpn",
    "fasterrcnn_mobilenet_v3_large_fpn",
    "fasterrcnn_resnet50_fpn",
    "fasterrcnn_resnet50_fpn_v2",
]


def _default_anchorgen() -> AnchorGenerator:
    anchor_sizes = ((32,), (64,), (128,), (256,), (512,))
    return AnchorGenerator(anchor_sizes, ((0.5, 1.0, 2.0),) * len(anchor_sizes))


class FasterRCNN(GeneralizedRCNN):
    """Faster R-CNN: a backbone (with ``out_channels``), an RPN and RoI heads.

    Inputs are a list of [C, H, W] float images in [0, 1]. In training, targets are one
    dict per image with ``boxes`` (float [N, 4], x1 y1 x2 y2) and ``labels`` (int64 [N]);
    the model returns ``loss_classifier``, ``loss_box_reg``, ``loss_objectness`` and
    ``loss_rpn_box_reg``. In eval it returns per image ``boxes``, ``labels``, ``scores``.

    The keyword arguments set the transform (min_size, max_size, image_mean, image_std),
    the RPN (rpn_*) and the box heads (box_*) exactly as torchvision's.

    Example::

        >>> backbone = resnet_fpn_backbone(backbone_name="resnet18", weights=None)
        >>> model = FasterRCNN(backbone, num_classes=2, min_size=128, max_size=160).eval()
        >>> model([ember.rand(3, 120, 150)])[0].keys()
        dict_keys(['boxes', 'labels', 'scores'])
    """

    def __init__(self, backbone, num_classes=None, min_size=800, max_size=1333, image_mean=None,
                 image_std=None, rpn_anchor_generator=None, rpn_head=None,
                 rpn_pre_nms_top_n_train=2000, rpn_pre_nms_top_n_test=1000,
                 rpn_post_nms_top_n_train=2000, rpn_post_nms_top_n_test=1000,
                 rpn_nms_thresh=0.7, rpn_fg_iou_thresh=0.7, rpn_bg_iou_thresh=0.3,
                 rpn_batch_size_per_image=256, rpn_positive_fraction=0.5, rpn_score_thresh=0.0,
                 box_roi_pool=None, box_head=None, box_predictor=None, box_score_thresh=0.05,
                 box_nms_thresh=0.5, box_detections_per_img=100, box_fg_iou_thresh=0.5,
                 box_bg_iou_thresh=0.5, box_batch_size_per_image=512, box_positive_fraction=0.25,
                 bbox_reg_weights=None, **kwargs) -> None:
        if not hasattr(backbone, "out_channels"):
            raise ValueError("backbone should contain an attribute out_channels specifying the "
                             "number of output channels (assumed to be the same for all the "
                             "levels)")
        if not isinstance(rpn_anchor_generator, (AnchorGenerator, type(None))):
            raise TypeError("rpn_anchor_generator should be of type AnchorGenerator or None "
                            f"instead of {type(rpn_anchor_generator)}")
        if not isinstance(box_roi_pool, (MultiScaleRoIAlign, type(None))):
            raise TypeError("box_roi_pool should be of type MultiScaleRoIAlign or None instead "
                            f"of {type(box_roi_pool)}")
        if num_classes is not None and box_predictor is not None:
            raise ValueError("num_classes should be None when box_predictor is specified")
        if num_classes is None and box_predictor is None:
            raise ValueError("num_classes should not be None when box_predictor is not "
                             "specified")
        out_channels = backbone.out_channels
        if rpn_anchor_generator is None:
            rpn_anchor_generator = _default_anchorgen()
        if rpn_head is None:
            rpn_head = RPNHead(out_channels, rpn_anchor_generator.num_anchors_per_location()[0])
        rpn = RegionProposalNetwork(
            rpn_anchor_generator, rpn_head, rpn_fg_iou_thresh, rpn_bg_iou_thresh,
            rpn_batch_size_per_image, rpn_positive_fraction,
            {"training": rpn_pre_nms_top_n_train, "testing": rpn_pre_nms_top_n_test},
            {"training": rpn_post_nms_top_n_train, "testing": rpn_post_nms_top_n_test},
            rpn_nms_thresh, score_thresh=rpn_score_thresh)
        if box_roi_pool is None:
            box_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"], output_size=7,
                                              sampling_ratio=2)
        if box_head is None:
            resolution = box_roi_pool.output_size[0]
            box_head = TwoMLPHead(out_channels * resolution ** 2, 1024)
        if box_predictor is None:
            box_predictor = FastRCNNPredictor(1024, num_classes)
        roi_heads = RoIHeads(box_roi_pool, box_head, box_predictor, box_fg_iou_thresh,
                             box_bg_iou_thresh, box_batch_size_per_image, box_positive_fraction,
                             bbox_reg_weights, box_score_thresh, box_nms_thresh,
                             box_detections_per_img)
        if image_mean is None:
            image_mean = [0.485, 0.456, 0.406]
        if image_std is None:
            image_std = [0.229, 0.224, 0.225]
        transform = GeneralizedRCNNTransform(min_size, max_size, image_mean, image_std, **kwargs)
        super().__init__(backbone, rpn, roi_heads, transform)


class TwoMLPHead(nn.Module):
    """Flatten, then two Linear+ReLU layers (fc6, fc7): the FPN models' box head."""

    def __init__(self, in_channels: int, representation_size: int) -> None:
        super().__init__()
        self.fc6 = nn.Linear(in_channels, representation_size)
        self.fc7 = nn.Linear(representation_size, representation_size)

    def forward(self, x):
        x = x.flatten(start_dim=1)
        return F.relu(self.fc7(F.relu(self.fc6(x))))


class FastRCNNConvFCHead(nn.Sequential):
    """The v2 box head: ``conv_layers`` 3x3 conv+norm+ReLU, flatten, ``fc_layers``
    Linear+ReLU. ``input_size`` is (channels, height, width) of the pooled features."""

    def __init__(self, input_size: tuple[int, int, int], conv_layers: list[int],
                 fc_layers: list[int], norm_layer=None) -> None:
        in_channels, in_height, in_width = input_size
        blocks = []
        previous = in_channels
        for channels in conv_layers:
            blocks.append(Conv2dNormActivation(previous, channels, norm_layer=norm_layer))
            previous = channels
        blocks.append(nn.Flatten())
        previous = previous * in_height * in_width
        for channels in fc_layers:
            blocks.append(nn.Linear(previous, channels))
            blocks.append(nn.ReLU(inplace=True))
            previous = channels
        super().__init__(*blocks)
        for layer in self.modules():
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)


class FastRCNNPredictor(nn.Module):
    """Class scores (``cls_score``) and per-class box deltas (``bbox_pred``) from the
    box head's features: replace it to fine-tune on new classes."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.cls_score = nn.Linear(in_channels, num_classes)
        self.bbox_pred = nn.Linear(in_channels, num_classes * 4)

    def forward(self, x):
        if x.dim() == 4 and list(x.shape[2:]) != [1, 1]:
            raise AssertionError("x has the wrong shape, expecting the last two dimensions to "
                                 f"be [1,1] instead of {list(x.shape[2:])}")
        x = x.flatten(start_dim=1)
        return self.cls_score(x), self.bbox_pred(x)


_RECIPE = "https://github.com/pytorch/vision/tree/main/references/detection"

FasterRCNN_ResNet50_FPN_Weights = make_weights_enum("FasterRCNN_ResNet50_FPN_Weights", {
    "COCO_V1": coco_weights("fasterrcnn_resnet50_fpn_coco-258fb6c6.pth", 41755286,
                            _RECIPE + "#faster-r-cnn-resnet-50-fpn", {"box_map": 37.0},
                            134.38, 159.743)}, __name__)
FasterRCNN_ResNet50_FPN_V2_Weights = make_weights_enum("FasterRCNN_ResNet50_FPN_V2_Weights", {
    "COCO_V1": coco_weights("fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth", 43712278,
                            "https://github.com/pytorch/vision/pull/5763", {"box_map": 46.7},
                            280.371, 167.104, _docs=_ENHANCED_RECIPE)}, __name__)
FasterRCNN_MobileNet_V3_Large_FPN_Weights = make_weights_enum(
    "FasterRCNN_MobileNet_V3_Large_FPN_Weights", {
        "COCO_V1": coco_weights("fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth", 19386354,
                                _RECIPE + "#faster-r-cnn-mobilenetv3-large-fpn",
                                {"box_map": 32.8}, 4.494, 74.239)}, __name__)
FasterRCNN_MobileNet_V3_Large_320_FPN_Weights = make_weights_enum(
    "FasterRCNN_MobileNet_V3_Large_320_FPN_Weights", {
        "COCO_V1": coco_weights("fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth", 19386354,
                                _RECIPE + "#faster-r-cnn-mobilenetv3-large-320-fpn",
                                {"box_map": 22.8}, 0.719, 74.239)}, __name__)


def _resolve(weights, weights_backbone, num_classes, kwargs, enum_cls, backbone_enum,
             backbone_default, default_classes: int = 91, pretrained_default=None):
    """torchvision's weight handling shared by the detection builders: legacy
    ``pretrained``/``pretrained_backbone`` flags, enum checks, num_classes from the
    weights' categories (91 COCO classes otherwise), no backbone weights when full
    weights are given."""
    if pretrained_default is None:
        pretrained_default = enum_cls["COCO_V1"]
    weights = _legacy_weights(kwargs, weights, "weights", "pretrained", pretrained_default)
    weights_backbone = _legacy_weights(kwargs, weights_backbone, "weights_backbone",
                                       "pretrained_backbone", backbone_default)
    weights = enum_cls.verify(weights)
    weights_backbone = backbone_enum.verify(weights_backbone)
    if weights is not None:
        weights_backbone = None
        num_classes = _ovewrite_value_param("num_classes", num_classes,
                                            len(weights.meta["categories"]))
    elif num_classes is None:
        num_classes = default_classes
    return weights, weights_backbone, num_classes


def _load(model, weights, progress: bool):
    if weights is not None:
        model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
    return model


@register_model()
def fasterrcnn_resnet50_fpn(*, weights: FasterRCNN_ResNet50_FPN_Weights | None = None,
                            progress: bool = True, num_classes: int | None = None,
                            weights_backbone: ResNet50_Weights | None = (
                                ResNet50_Weights.IMAGENET1K_V1),
                            trainable_backbone_layers: int | None = None,
                            **kwargs) -> FasterRCNN:
    """Faster R-CNN with a ResNet-50 FPN backbone (Ren et al., 2015; Lin et al., 2017).

    Args:
        weights: COCO weights, or None. weights_backbone: ImageNet weights for the ResNet
        (the default downloads them; pass None for random). num_classes: including the
        background. trainable_backbone_layers: 0-5 ResNet stages left trainable.
        **kwargs: passed to :class:`FasterRCNN`.
    """
    weights, weights_backbone, num_classes = _resolve(
        weights, weights_backbone, num_classes, kwargs, FasterRCNN_ResNet50_FPN_Weights,
        ResNet50_Weights, ResNet50_Weights.IMAGENET1K_V1)
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    model = FasterRCNN(_resnet_fpn_extractor(backbone, trainable), num_classes=num_classes,
                       **kwargs)
    _load(model, weights, progress)
    if weights == FasterRCNN_ResNet50_FPN_Weights.COCO_V1:
        overwrite_eps(model, 0.0)
    return model


@register_model()
def fasterrcnn_resnet50_fpn_v2(*, weights: FasterRCNN_ResNet50_FPN_V2_Weights | None = None,
                               progress: bool = True, num_classes: int | None = None,
                               weights_backbone: ResNet50_Weights | None = None,
                               trainable_backbone_layers: int | None = None,
                               **kwargs) -> FasterRCNN:
    """Faster R-CNN v2 (Li et al., 2021): BatchNorm FPN, a two-conv RPN head and a
    four-conv + one-fc box head. Arguments as :func:`fasterrcnn_resnet50_fpn`."""
    weights, weights_backbone, num_classes = _resolve(
        weights, weights_backbone, num_classes, kwargs, FasterRCNN_ResNet50_FPN_V2_Weights,
        ResNet50_Weights, ResNet50_Weights.IMAGENET1K_V1)
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    backbone = resnet50(weights=weights_backbone, progress=progress)
    backbone = _resnet_fpn_extractor(backbone, trainable, norm_layer=nn.BatchNorm2d)
    anchor_generator = _default_anchorgen()
    rpn_head = RPNHead(backbone.out_channels, anchor_generator.num_anchors_per_location()[0],
                       conv_depth=2)
    box_head = FastRCNNConvFCHead((backbone.out_channels, 7, 7), [256, 256, 256, 256], [1024],
                                  norm_layer=nn.BatchNorm2d)
    model = FasterRCNN(backbone, num_classes=num_classes, rpn_anchor_generator=anchor_generator,
                       rpn_head=rpn_head, box_head=box_head, **kwargs)
    return _load(model, weights, progress)


def _fasterrcnn_mobilenet_v3_large_fpn(weights, progress, num_classes, weights_backbone,
                                       trainable_backbone_layers, enum_cls, kwargs):
    weights, weights_backbone, num_classes = _resolve(
        weights, weights_backbone, num_classes, kwargs, enum_cls, MobileNet_V3_Large_Weights,
        MobileNet_V3_Large_Weights.IMAGENET1K_V1)
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 6, 3)
    norm_layer = FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = mobilenet_v3_large(weights=weights_backbone, progress=progress,
                                  norm_layer=norm_layer)
    backbone = _mobilenet_extractor(backbone, True, trainable)
    anchor_sizes = ((32, 64, 128, 256, 512),) * 3
    anchor_generator = AnchorGenerator(anchor_sizes, ((0.5, 1.0, 2.0),) * len(anchor_sizes))
    model = FasterRCNN(backbone, num_classes, rpn_anchor_generator=anchor_generator, **kwargs)
    return _load(model, weights, progress)


@register_model()
def fasterrcnn_mobilenet_v3_large_320_fpn(
        *, weights: FasterRCNN_MobileNet_V3_Large_320_FPN_Weights | None = None,
        progress: bool = True, num_classes: int | None = None,
        weights_backbone: MobileNet_V3_Large_Weights | None = (
            MobileNet_V3_Large_Weights.IMAGENET1K_V1),
        trainable_backbone_layers: int | None = None, **kwargs) -> FasterRCNN:
    """Low-resolution Faster R-CNN with a MobileNetV3-Large FPN backbone, for mobile use:
    images resized to 320 px and fewer proposals."""
    defaults = {"min_size": 320, "max_size": 640, "rpn_pre_nms_top_n_test": 150,
                "rpn_post_nms_top_n_test": 150, "rpn_score_thresh": 0.05}
    return _fasterrcnn_mobilenet_v3_large_fpn(
        weights, progress, num_classes, weights_backbone, trainable_backbone_layers,
        FasterRCNN_MobileNet_V3_Large_320_FPN_Weights, {**defaults, **kwargs})


@register_model()
def fasterrcnn_mobilenet_v3_large_fpn(
        *, weights: FasterRCNN_MobileNet_V3_Large_FPN_Weights | None = None,
        progress: bool = True, num_classes: int | None = None,
        weights_backbone: MobileNet_V3_Large_Weights | None = (
            MobileNet_V3_Large_Weights.IMAGENET1K_V1),
        trainable_backbone_layers: int | None = None, **kwargs) -> FasterRCNN:
    """High-resolution Faster R-CNN with a MobileNetV3-Large FPN backbone."""
    return _fasterrcnn_mobilenet_v3_large_fpn(
        weights, progress, num_classes, weights_backbone, trainable_backbone_layers,
        FasterRCNN_MobileNet_V3_Large_FPN_Weights, {"rpn_score_thresh": 0.05, **kwargs})
