"""torchvision.ops' box utilities: format conversion, areas, pairwise IoU variants, NMS.

Every function is a composition of ember ops, so the IoU family is differentiable and
runs on any device. Pairwise functions broadcast: ``boxes1[..., N, 4]`` against
``boxes2[..., M, 4]`` gives ``[..., N, M]``.
"""

from __future__ import annotations

import math

import numpy as np

import ember

from ._box_iou_rotated import box_iou_rotated
from ._utils import _upcast

__all__ = [
    "batched_nms",
    "box_area",
    "box_convert",
    "box_iou",
    "clip_boxes_to_image",
    "complete_box_iou",
    "distance_box_iou",
    "generalized_box_iou",
    "masks_to_boxes",
    "nms",
    "remove_small_boxes",
]

_AXIS_ALIGNED = ("xyxy", "xywh", "cxcywh")
_ROTATED = ("cxcywhr", "xywhr", "xyxyxyxy")


# ---------------------------------------------------------------------------- NMS

def nms(boxes, scores, iou_threshold: float):
    """Greedy non-maximum suppression: walk the boxes by decreasing score and drop every
    later box whose IoU with a kept one exceeds ``iou_threshold``.

    Args:
        boxes (Tensor[N, 4]): ``(x1, y1, x2, y2)`` boxes.
        scores (Tensor[N]): one score per box.
        iou_threshold (float): boxes overlapping a kept box by more than this are dropped.

    Returns:
        int64 Tensor of kept indices, by decreasing score (ties keep input order, as
        torchvision's stable sort does).
    """
    if boxes.dim() != 2:
        raise RuntimeError(f"boxes should be a 2d tensor, got {boxes.dim()}D")
    if boxes.size(1) != 4:
        raise RuntimeError(f"boxes should have 4 elements in dimension 1, got {boxes.size(1)}")
    if scores.dim() != 1:
        raise RuntimeError(f"scores should be a 1d tensor, got {scores.dim()}D")
    if boxes.size(0) != scores.size(0):
        raise RuntimeError("boxes and scores should have same number of elements in dimension 0, "
                           f"got {boxes.size(0)} and {scores.size(0)}")
    if boxes.numel() == 0:
        return ember.empty((0,), dtype=ember.int64, device=boxes.device)
    with ember.no_grad():
        order = ember.sort(scores, stable=True, descending=True).indices
        ordered = boxes.detach()[order]
        # IoU in the boxes' own dtype, computed as torchvision's kernel does, so the
        # comparison with the threshold agrees bit for bit on float32 inputs.
        area = (ordered[:, 2] - ordered[:, 0]) * (ordered[:, 3] - ordered[:, 1])
        lt = ember.max(ordered[:, None, :2], ordered[None, :, :2])
        rb = ember.min(ordered[:, None, 2:], ordered[None, :, 2:])
        wh = (rb - lt).clamp(min=0)
        inter = wh[..., 0] * wh[..., 1]
        overlap = inter / (area[:, None] + area[None, :] - inter) > iou_threshold
        # The greedy pass is inherently sequential; it reads one host row per kept box.
        overlap_rows = overlap.cpu().numpy()
    suppressed = np.zeros(overlap_rows.shape[0], dtype=bool)
    kept = []
    for i in range(overlap_rows.shape[0]):
        if not suppressed[i]:
            kept.append(i)
            suppressed[i + 1:] |= overlap_rows[i, i + 1:]
    kept_positions = ember.tensor(kept, dtype=ember.int64, device=boxes.device)
    return order[kept_positions]


def batched_nms(boxes, scores, idxs, iou_threshold: float):
    """NMS run independently per category ``idxs``: boxes of different categories never
    suppress each other (each category's boxes are shifted by a per-category offset
    larger than every coordinate, so they cannot overlap).

    Returns:
        int64 Tensor of kept indices, by decreasing score.
    """
    if boxes.numel() == 0:
        return ember.empty((0,), dtype=ember.int64, device=boxes.device)
    # torchvision's switch: past this size one NMS per category is faster, and it keeps
    # full coordinate precision (the offset trick adds up to classes * max_coordinate)
    if boxes.numel() > (4000 if boxes.device.type == "cpu" else 100_000):
        return _batched_nms_per_category(boxes, scores, idxs, iou_threshold)
    with ember.no_grad():
        max_coordinate = boxes.max()
        offsets = idxs.to(boxes) * (max_coordinate + ember.tensor(1).to(boxes))
        boxes_for_nms = boxes + offsets[:, None]
    return nms(boxes_for_nms, scores, iou_threshold)


def _batched_nms_per_category(boxes, scores, idxs, iou_threshold: float):
    """One NMS per category (a loop over categories, not boxes), merged by score."""
    keep_mask = ember.zeros_like(scores, dtype=ember.bool)
    for class_id in ember.unique(idxs).tolist():
        members = ember.where(idxs == class_id)[0]
        kept = nms(boxes[members], scores[members], iou_threshold)
        keep_mask[members[kept]] = True
    keep_indices = ember.where(keep_mask)[0]
    order = ember.sort(scores[keep_indices], stable=True, descending=True).indices
    return keep_indices[order]


def remove_small_boxes(boxes, min_size: float):
    """Indices of the boxes whose width and height are both at least ``min_size``."""
    ws, hs = boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]
    keep = (ws >= min_size) & (hs >= min_size)
    return ember.where(keep)[0]


def clip_boxes_to_image(boxes, size):
    """Clamp ``(x1, y1, x2, y2)`` boxes into an image of ``size = (height, width)``."""
    height, width = size
    boxes_x = boxes[..., 0::2].clamp(min=0, max=width)
    boxes_y = boxes[..., 1::2].clamp(min=0, max=height)
    clipped = ember.stack((boxes_x, boxes_y), dim=boxes.dim())
    return clipped.reshape(boxes.shape)


# ------------------------------------------------------------------- conversion

def _cxcywh_to_xyxy(boxes):
    cx, cy, w, h = boxes.unbind(-1)
    return ember.stack((cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h), dim=-1)


def _xyxy_to_cxcywh(boxes):
    x1, y1, x2, y2 = boxes.unbind(-1)
    return ember.stack(((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), dim=-1)


def _xywh_to_xyxy(boxes):
    x, y, w, h = boxes.unbind(-1)
    return ember.stack([x, y, x + w, y + h], dim=-1)


def _xyxy_to_xywh(boxes):
    x1, y1, x2, y2 = boxes.unbind(-1)
    return ember.stack((x1, y1, x2 - x1, y2 - y1), dim=-1)


def _rotated(fn):
    """Rotated conversions compute in float; integer boxes are rounded back, as
    torchvision does."""
    def convert(boxes):
        out = fn(boxes)
        if not boxes.is_floating_point():
            out = out.round().to(boxes.dtype)
        return out
    return convert


def _angle(r):
    r_rad = r * math.pi / 180.0
    return ember.cos(r_rad), ember.sin(r_rad)


@_rotated
def _cxcywhr_to_xywhr(boxes):
    cx, cy, w, h, r = boxes.unbind(-1)
    cos, sin = _angle(r)
    x1 = cx - w / 2 * cos - h / 2 * sin
    y1 = cy - h / 2 * cos + w / 2 * sin
    return ember.stack((x1, y1, w, h, r), dim=-1)


@_rotated
def _xywhr_to_cxcywhr(boxes):
    x1, y1, w, h, r = boxes.unbind(-1)
    cos, sin = _angle(r)
    cx = x1 + w / 2 * cos + h / 2 * sin
    cy = y1 - w / 2 * sin + h / 2 * cos
    return ember.stack([cx, cy, w, h, r], dim=-1)


@_rotated
def _xywhr_to_xyxyxyxy(boxes):
    x1, y1, w, h, r = boxes.unbind(-1)
    cos, sin = _angle(r)
    x2, y2 = x1 + w * cos, y1 - w * sin
    x3, y3 = x2 + h * sin, y2 + h * cos
    x4, y4 = x1 + h * sin, y1 + h * cos
    return ember.stack((x1, y1, x2, y2, x3, y3, x4, y4), dim=-1)


@_rotated
def _xyxyxyxy_to_xywhr(boxes):
    x1, y1, x2, y2, x3, y3, _, _ = boxes.unbind(-1)
    r = ember.atan2(y1 - y2, x2 - x1) * 180 / math.pi
    w = ((x2 - x1) ** 2 + (y1 - y2) ** 2).sqrt()
    h = ((x3 - x2) ** 2 + (y3 - y2) ** 2).sqrt()
    return ember.stack((x1, y1, w, h, r), dim=-1)


_CONVERSIONS = {
    ("xywh", "xyxy"): (_xywh_to_xyxy,),
    ("cxcywh", "xyxy"): (_cxcywh_to_xyxy,),
    ("xyxy", "xywh"): (_xyxy_to_xywh,),
    ("xyxy", "cxcywh"): (_xyxy_to_cxcywh,),
    ("xywh", "cxcywh"): (_xywh_to_xyxy, _xyxy_to_cxcywh),
    ("cxcywh", "xywh"): (_cxcywh_to_xyxy, _xyxy_to_xywh),
    ("cxcywhr", "xywhr"): (_cxcywhr_to_xywhr,),
    ("xywhr", "cxcywhr"): (_xywhr_to_cxcywhr,),
    ("cxcywhr", "xyxyxyxy"): (_cxcywhr_to_xywhr, _xywhr_to_xyxyxyxy),
    ("xyxyxyxy", "cxcywhr"): (_xyxyxyxy_to_xywhr, _xywhr_to_cxcywhr),
    ("xywhr", "xyxyxyxy"): (_xywhr_to_xyxyxyxy,),
    ("xyxyxyxy", "xywhr"): (_xyxyxyxy_to_xywhr,),
}


def box_convert(boxes, in_fmt: str, out_fmt: str):
    """Convert ``boxes[..., K]`` between 'xyxy', 'xywh', 'cxcywh' (K = 4) and the rotated
    'xywhr', 'cxcywhr' (K = 5, r in degrees counter-clockwise) and 'xyxyxyxy' (K = 8).

    Example::

        >>> box_convert(torch.tensor([[10., 20., 4., 6.]]), "cxcywh", "xyxy")
        tensor([[ 8., 17., 12., 23.]])
    """
    allowed = _AXIS_ALIGNED + ("xywhr", "cxcywhr", "xyxyxyxy")
    if in_fmt not in allowed or out_fmt not in allowed:
        raise ValueError(f"Unsupported Bounding Box Conversions for given in_fmt {in_fmt} "
                         f"and out_fmt {out_fmt}")
    if in_fmt == out_fmt:
        return boxes.clone()
    steps = _CONVERSIONS.get((in_fmt, out_fmt))
    if steps is None:
        raise NotImplementedError(f"Unsupported Bounding Box Conversions for given in_fmt "
                                  f"{in_fmt} and out_fmt {out_fmt}")
    for step in steps:
        boxes = step(boxes)
    return boxes


# ------------------------------------------------------------------------ areas

def box_area(boxes, fmt: str = "xyxy"):
    """Area of each box in ``boxes[..., 4]`` (format 'xyxy', 'xywh' or 'cxcywh')."""
    if fmt not in _AXIS_ALIGNED:
        raise ValueError(f"Unsupported Bounding Box area for given format {fmt}")
    boxes = _upcast(boxes)
    if fmt == "xyxy":
        return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    return boxes[..., 2] * boxes[..., 3]


def _corners(boxes1, boxes2, fmt):
    """Pairwise top-left and bottom-right of the intersections, ``[..., N, M, 2]`` each."""
    if fmt == "xyxy":
        lo1, hi1 = boxes1[..., None, :2], boxes1[..., None, 2:]
        lo2, hi2 = boxes2[..., None, :, :2], boxes2[..., None, :, 2:]
    elif fmt == "xywh":
        lo1, lo2 = boxes1[..., None, :2], boxes2[..., None, :, :2]
        hi1 = lo1 + boxes1[..., None, 2:]
        hi2 = lo2 + boxes2[..., None, :, 2:]
    else:
        c1, half1 = boxes1[..., None, :2], boxes1[..., None, 2:] / 2
        c2, half2 = boxes2[..., None, :, :2], boxes2[..., None, :, 2:] / 2
        lo1, hi1, lo2, hi2 = c1 - half1, c1 + half1, c2 - half2, c2 + half2
    return ember.max(lo1, lo2), ember.min(hi1, hi2)


def _box_inter_union(boxes1, boxes2, fmt: str = "xyxy"):
    area1 = box_area(boxes1, fmt=fmt)
    area2 = box_area(boxes2, fmt=fmt)
    lt, rb = _corners(boxes1, boxes2, fmt)
    wh = _upcast(rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area1[..., None] + area2[..., None, :] - inter
    return inter, union


def box_iou(boxes1, boxes2, fmt: str = "xyxy"):
    """Pairwise intersection-over-union: ``[..., N, K]`` x ``[..., M, K]`` -> ``[..., N, M]``,
    for axis-aligned boxes (K = 4: 'xyxy', 'xywh', 'cxcywh') or rotated ones ('cxcywhr',
    'xywhr': K = 5, r in degrees counter-clockwise; 'xyxyxyxy': K = 8).

    Example::

        >>> box_iou(torch.tensor([[0., 0., 2., 2.]]), torch.tensor([[1., 1., 3., 3.]]))
        tensor([[0.1429]])
    """
    if fmt in _AXIS_ALIGNED:
        inter, union = _box_inter_union(boxes1, boxes2, fmt=fmt)
        return inter / union
    if fmt in _ROTATED:
        if fmt != "cxcywhr":
            boxes1 = box_convert(boxes1, in_fmt=fmt, out_fmt="cxcywhr")
            boxes2 = box_convert(boxes2, in_fmt=fmt, out_fmt="cxcywhr")
        return box_iou_rotated(boxes1, boxes2)
    raise ValueError(f"Unsupported format '{fmt}'. Supported axis-aligned formats: "
                     f"{_AXIS_ALIGNED}. Supported rotated formats: {_ROTATED}.")


def _enclosing_wh(boxes1, boxes2):
    """Pairwise width and height of the smallest box enclosing both, ``[..., N, M, 2]``."""
    lti = ember.min(boxes1[..., None, :2], boxes2[..., None, :, :2])
    rbi = ember.max(boxes1[..., None, 2:], boxes2[..., None, :, 2:])
    return _upcast(rbi - lti).clamp(min=0)


def generalized_box_iou(boxes1, boxes2):
    """Pairwise GIoU: IoU minus the fraction of the enclosing box neither box covers."""
    inter, union = _box_inter_union(boxes1, boxes2)
    iou = inter / union
    whi = _enclosing_wh(boxes1, boxes2)
    areai = whi[..., 0] * whi[..., 1]
    return iou - (areai - union) / areai


def _box_diou_iou(boxes1, boxes2, eps: float = 1e-7):
    iou = box_iou(boxes1, boxes2)
    whi = _enclosing_wh(boxes1, boxes2)
    diagonal_distance_squared = whi[..., 0] ** 2 + whi[..., 1] ** 2 + eps
    x_p = (boxes1[..., 0] + boxes1[..., 2]) / 2
    y_p = (boxes1[..., 1] + boxes1[..., 3]) / 2
    x_g = (boxes2[..., 0] + boxes2[..., 2]) / 2
    y_g = (boxes2[..., 1] + boxes2[..., 3]) / 2
    centers_distance_squared = (_upcast(x_p[..., None] - x_g[..., None, :]) ** 2
                                + _upcast(y_p[..., None] - y_g[..., None, :]) ** 2)
    return iou - centers_distance_squared / diagonal_distance_squared, iou


def distance_box_iou(boxes1, boxes2, eps: float = 1e-7):
    """Pairwise DIoU: IoU minus the squared centre distance over the squared diagonal of
    the enclosing box."""
    diou, _ = _box_diou_iou(_upcast(boxes1), _upcast(boxes2), eps=eps)
    return diou


def complete_box_iou(boxes1, boxes2, eps: float = 1e-7):
    """Pairwise CIoU: DIoU minus an aspect-ratio consistency term ``alpha * v`` (alpha is
    treated as a constant, as in the paper and torchvision)."""
    boxes1 = _upcast(boxes1)
    boxes2 = _upcast(boxes2)
    diou, iou = _box_diou_iou(boxes1, boxes2, eps)
    w_pred = boxes1[..., None, 2] - boxes1[..., None, 0]
    h_pred = boxes1[..., None, 3] - boxes1[..., None, 1]
    w_gt = boxes2[..., None, :, 2] - boxes2[..., None, :, 0]
    h_gt = boxes2[..., None, :, 3] - boxes2[..., None, :, 1]
    v = (4 / (math.pi ** 2)) * ember.pow(ember.atan(w_pred / h_pred) - ember.atan(w_gt / h_gt), 2)
    with ember.no_grad():
        alpha = v / (1 - iou + v + eps)
    return diou - alpha * v


def masks_to_boxes(masks):
    """Tight ``(x1, y1, x2, y2)`` float boxes around the nonzero pixels of ``masks[N, H, W]``;
    an empty mask gives ``[0, 0, 0, 0]``."""
    if masks.numel() == 0:
        return ember.zeros((0, 4), device=masks.device, dtype=ember.float)
    _, h, w = masks.shape
    masks_bool = masks.bool()
    non_zero_rows = ember.any(masks_bool, dim=2)
    non_zero_cols = ember.any(masks_bool, dim=1)
    empty_masks = ~ember.any(non_zero_rows, dim=1)
    rows_f = non_zero_rows.float()
    cols_f = non_zero_cols.float()
    y1 = rows_f.argmax(dim=1)
    x1 = cols_f.argmax(dim=1)
    y2 = (h - 1) - rows_f.flip([1]).argmax(dim=1)
    x2 = (w - 1) - cols_f.flip([1]).argmax(dim=1)
    boxes = ember.stack([x1, y1, x2, y2], dim=1).float()
    return ember.where(empty_masks[:, None], ember.zeros_like(boxes), boxes)
