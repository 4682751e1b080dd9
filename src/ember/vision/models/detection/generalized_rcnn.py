"""GeneralizedRCNN: transform -> backbone -> RPN -> RoI heads -> postprocess, the
skeleton shared by Faster, Mask and Keypoint R-CNN."""

from __future__ import annotations

from collections import OrderedDict

import ember
from ember import nn


class GeneralizedRCNN(nn.Module):
    """Runs ``transform``, ``backbone``, ``rpn`` and ``roi_heads`` in turn.

    In training, ``model(images, targets)`` returns the dict of losses; in eval,
    ``model(images)`` returns one dict per image (boxes, labels, scores, ...), in the
    original image coordinates.
    """

    def __init__(self, backbone: nn.Module, rpn: nn.Module, roi_heads: nn.Module,
                 transform: nn.Module) -> None:
        super().__init__()
        self.transform = transform
        self.backbone = backbone
        self.rpn = rpn
        self.roi_heads = roi_heads
        self._has_warned = False

    def eager_outputs(self, losses, detections):
        return losses if self.training else detections

    def _check_targets(self, targets) -> None:
        if targets is None:
            raise AssertionError("targets should not be none when in training mode")
        for target in targets:
            boxes = target["boxes"]
            if not isinstance(boxes, ember.Tensor):
                raise AssertionError(  # noqa: TRY004 - torchvision asserts
                    f"Expected target boxes to be of type Tensor, got "
                                     f"{type(boxes)}.")
            if not (len(boxes.shape) == 2 and boxes.shape[-1] == 4):
                raise AssertionError("Expected target boxes to be a tensor of shape [N, 4], "
                                     f"got {boxes.shape}.")

    def forward(self, images, targets=None):
        if self.training:
            self._check_targets(targets)
        original_image_sizes = []
        for img in images:
            size = img.shape[-2:]
            if len(size) != 2:
                raise AssertionError("expecting the last two dimensions of the Tensor to be H "
                                     f"and W instead got {img.shape[-2:]}")
            original_image_sizes.append((size[0], size[1]))
        images, targets = self.transform(images, targets)
        if targets is not None:
            _check_degenerate(targets)
        features = self.backbone(images.tensors)
        if isinstance(features, ember.Tensor):
            features = OrderedDict([("0", features)])
        proposals, proposal_losses = self.rpn(images, features, targets)
        detections, detector_losses = self.roi_heads(features, proposals, images.image_sizes,
                                                     targets)
        detections = self.transform.postprocess(detections, images.image_sizes,
                                                original_image_sizes)
        losses = {}
        losses.update(detector_losses)
        losses.update(proposal_losses)
        return self.eager_outputs(losses, detections)


def _check_degenerate(targets) -> None:
    """Boxes must have x2 > x1 and y2 > y1 after resizing (torchvision's assertion)."""
    for target_idx, target in enumerate(targets):
        boxes = target["boxes"]
        degenerate = boxes[:, 2:] <= boxes[:, :2]
        if degenerate.any():
            bad = ember.where(degenerate.any(dim=1))[0][0]
            raise AssertionError(
                "All bounding boxes should have positive height and width. Found invalid box "
                f"{boxes[bad].tolist()} for target at index {target_idx}.")
