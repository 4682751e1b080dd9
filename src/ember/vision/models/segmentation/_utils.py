"""The shared segmentation wrapper and the SemanticSegmentation inference preset."""

from __future__ import annotations

from collections import OrderedDict
from functools import partial

import ember
import ember.nn.functional as F
from ember import nn

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)

# Pascal VOC's 20 classes plus background: what the COCO-with-VOC-labels weights predict.
VOC_CATEGORIES = [
    "__background__", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
    "sheep", "sofa", "train", "tvmonitor",
]


class _SimpleSegmentationModel(nn.Module):
    """backbone -> classifier on ``features["out"]`` (and ``aux_classifier`` on
    ``features["aux"]``), each upsampled bilinearly to the input's size.

    Returns an OrderedDict with ``"out"`` and, when an aux classifier exists, ``"aux"``
    (torchvision trains with both and evaluates on ``"out"``).
    """

    __constants__ = ("aux_classifier",)

    def __init__(self, backbone: nn.Module, classifier: nn.Module,
                 aux_classifier: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = classifier
        self.aux_classifier = aux_classifier

    def forward(self, x):
        input_shape = x.shape[-2:]
        features = self.backbone(x)
        result = OrderedDict()
        out = self.classifier(features["out"])
        result["out"] = F.interpolate(out, size=input_shape, mode="bilinear",
                                      align_corners=False)
        if self.aux_classifier is not None:
            aux = self.aux_classifier(features["aux"])
            result["aux"] = F.interpolate(aux, size=input_shape, mode="bilinear",
                                          align_corners=False)
        return result


class SemanticSegmentation(nn.Module):
    """torchvision's segmentation preset: resize the short side to ``resize_size``, scale
    to [0, 1] floats, normalize. Takes a PIL image or a (..., C, H, W) tensor."""

    def __init__(self, *, resize_size: int | None, mean=_IMAGENET_MEAN, std=_IMAGENET_STD,
                 interpolation=None, antialias: bool | None = True) -> None:
        from ember.vision.transforms.functional import InterpolationMode

        super().__init__()
        self.resize_size = [resize_size] if resize_size is not None else None
        self.mean = list(mean)
        self.std = list(std)
        self.interpolation = interpolation or InterpolationMode.BILINEAR
        self.antialias = antialias

    def forward(self, img):
        from ember.vision.transforms import functional as TF

        if isinstance(self.resize_size, list):
            img = TF.resize(img, self.resize_size, interpolation=self.interpolation,
                            antialias=self.antialias)
        if not isinstance(img, ember.Tensor):
            img = TF.pil_to_tensor(img)
        img = TF.convert_image_dtype(img, ember.float)
        return TF.normalize(img, mean=self.mean, std=self.std)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(\n    resize_size={self.resize_size}\n"
                f"    mean={self.mean}\n    std={self.std}\n"
                f"    interpolation={self.interpolation}\n)")


def segmentation_weights(url: str, num_params: int, miou: float, pixel_acc: float,
                         ops: float, file_size: float, recipe: str):
    """A Weights entry for the COCO-with-VOC-labels checkpoints (520 px preset)."""
    from .._api import Weights

    meta = {"categories": VOC_CATEGORIES, "num_classes": len(VOC_CATEGORIES),
            "min_size": (1, 1), "num_params": num_params,
            "recipe": "https://github.com/pytorch/vision/tree/main/references/segmentation"
                      + recipe,
            "_metrics": {"COCO-val2017-VOC-labels": {"miou": miou, "pixel_acc": pixel_acc}},
            "_ops": ops, "_file_size": file_size}
    return Weights(url=url, transforms=partial(SemanticSegmentation, resize_size=520),
                   meta=meta)


def resolve_segmentation_weights(weights, weights_backbone, kwargs, enum_cls,
                                 backbone_enum, num_classes, aux_loss, has_aux=True):
    """torchvision's argument handling shared by the segmentation builders: legacy
    ``pretrained``/``pretrained_backbone`` flags, enum checks, and with ``weights`` the
    class count and aux head the checkpoint needs (no backbone weights then)."""
    from .._utils import _legacy_weights, _ovewrite_value_param

    weights = _legacy_weights(kwargs, weights, "weights", "pretrained",
                              next(iter(enum_cls)))
    weights_backbone = _legacy_weights(kwargs, weights_backbone, "weights_backbone",
                                       "pretrained_backbone", next(iter(backbone_enum)))
    weights = enum_cls.verify(weights)
    weights_backbone = backbone_enum.verify(weights_backbone)
    if weights is not None:
        weights_backbone = None
        num_classes = _ovewrite_value_param("num_classes", num_classes,
                                            len(weights.meta["categories"]))
        if has_aux:
            aux_loss = _ovewrite_value_param("aux_loss", aux_loss, True)
    elif num_classes is None:
        num_classes = 21
    return weights, weights_backbone, num_classes, aux_loss
