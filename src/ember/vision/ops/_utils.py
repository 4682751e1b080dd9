"""Helpers shared by the box and RoI ops: dtype upcasts and the RoI box layouts."""

from __future__ import annotations

import ember


def _upcast(t):
    """Widen half floats to float32 and small ints to int32, so products of coordinates
    (areas) do not overflow; float32/float64/int32/int64 pass through unchanged."""
    if t.is_floating_point():
        return t if t.dtype in (ember.float32, ember.float64) else t.float()
    return t if t.dtype in (ember.int32, ember.int64) else t.int()


def _upcast_non_float(t):
    """The box losses compute in float: anything but float32/float64 becomes float32."""
    if t.dtype not in (ember.float32, ember.float64):
        return t.float()
    return t


def _cat(tensors, dim: int = 0):
    """cat that skips the copy for a single tensor."""
    if len(tensors) == 1:
        return tensors[0]
    return ember.cat(tensors, dim)


def convert_boxes_to_roi_format(boxes):
    """A list of per-image Tensor[L, 4] boxes as one Tensor[K, 5] whose first column is the
    image index, the layout the RoI ops read."""
    concat_boxes = _cat(list(boxes), dim=0)
    ids = _cat([ember.full_like(b[:, :1], i) for i, b in enumerate(boxes)], dim=0)
    return ember.cat([ids, concat_boxes], dim=1)


def check_roi_boxes_shape(boxes) -> None:
    """torchvision's shape checks (AssertionError, as ``torch._assert`` raises)."""
    if isinstance(boxes, (list, tuple)):
        for tensor in boxes:
            if tensor.size(1) != 4:
                raise AssertionError(
                    "The shape of the tensor in the boxes list is not correct as List[Tensor[L, 4]]")
    elif isinstance(boxes, ember.Tensor):
        if boxes.size(1) != 5:
            raise AssertionError("The boxes tensor shape is not correct as Tensor[K, 5]")
    else:
        # torchvision raises AssertionError here too (torch._assert); keep it catchable alike
        raise AssertionError("boxes is expected to be a Tensor[L, 5] or a List[Tensor[K, 4]]")  # noqa: TRY004


def _loss_inter_union(boxes1, boxes2):
    """Elementwise (not pairwise) intersection and union of two box sets, for the losses;
    disjoint pairs get exactly zero intersection (and no gradient through it)."""
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xkis1 = ember.max(x1, x1g)
    ykis1 = ember.max(y1, y1g)
    xkis2 = ember.min(x2, x2g)
    ykis2 = ember.min(y2, y2g)
    overlaps = (ykis2 > ykis1) & (xkis2 > xkis1)
    intsctk = ember.where(overlaps, (xkis2 - xkis1) * (ykis2 - ykis1), ember.zeros_like(x1))
    unionk = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsctk
    return intsctk, unionk


def split_normalization_params(model, norm_classes=None):
    """Split ``model``'s trainable parameters into those of normalization layers and the
    rest, so training recipes can exempt norm weights from weight decay.

    Returns:
        (norm_params, other_params): two lists, each in ``model.modules()`` order.
    """
    from ember import nn

    if not norm_classes:
        norm_classes = [nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm,
                        nn.modules.instancenorm._InstanceNorm, nn.LocalResponseNorm]
    for t in norm_classes:
        if not issubclass(t, nn.Module):
            raise ValueError(f"Class {t} is not a subclass of nn.Module.")  # noqa: TRY004 (as torchvision)
    classes = tuple(norm_classes)
    norm_params, other_params = [], []
    for module in model.modules():
        if next(module.children(), None):
            # a container: only its own direct parameters; children are visited themselves
            other_params.extend(p for p in module.parameters(recurse=False) if p.requires_grad)
        elif isinstance(module, classes):
            norm_params.extend(p for p in module.parameters() if p.requires_grad)
        else:
            other_params.extend(p for p in module.parameters() if p.requires_grad)
    return norm_params, other_params
