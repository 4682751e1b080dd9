"""Pairwise IoU of rotated boxes, vectorised over all pairs with ember ops.

The intersection of two rectangles is a convex polygon whose vertices are among the
corners of each box inside the other and the crossings of their edges (at most 24
candidates). The valid candidates are ordered by angle around their mean, and the
polygon's area is the sum of its fan triangles, the same construction torchvision's
(Detectron2's) ``box_iou_rotated`` kernel uses, without the per-pair loop.
"""

from __future__ import annotations

import ember


def _cross(ax, ay, bx, by):
    return ax * by - ay * bx


def _corners(boxes):
    """``[..., 5]`` (cx, cy, w, h, r in degrees) -> corner x and y, ``[..., 4]`` each."""
    from .boxes import box_convert

    pts = box_convert(boxes, "cxcywhr", "xyxyxyxy")
    return pts[..., 0::2], pts[..., 1::2]


def _inside(px, py, qx, qy, eps):
    """Whether points ``p [..., P]`` lie in the rectangles with corners ``q [..., 4]``."""
    abx, aby = (qx[..., 1] - qx[..., 0])[..., None], (qy[..., 1] - qy[..., 0])[..., None]
    adx, ady = (qx[..., 3] - qx[..., 0])[..., None], (qy[..., 3] - qy[..., 0])[..., None]
    apx, apy = px - qx[..., :1], py - qy[..., :1]
    along_ab = apx * abx + apy * aby
    along_ad = apx * adx + apy * ady
    return ((along_ab >= -eps) & (along_ab <= abx * abx + aby * aby + eps)
            & (along_ad >= -eps) & (along_ad <= adx * adx + ady * ady + eps))


def box_iou_rotated(boxes1, boxes2):
    """IoU of every pair of ``cxcywhr`` boxes: ``[..., N, 5]`` x ``[..., M, 5]`` ->
    ``[..., N, M]``."""
    eps = 1e-6
    ax, ay = _corners(boxes1[..., :, None, :])  # [..., N, 1, 4]
    bx, by = _corners(boxes2[..., None, :, :])  # [..., 1, M, 4]
    shape = tuple(ember.broadcast_shapes(ax.shape, bx.shape))
    ax, ay, bx, by = (t.expand(shape) for t in (ax, ay, bx, by))
    # each box's corners inside the other
    a_in_b = _inside(ax, ay, bx, by, eps)
    b_in_a = _inside(bx, by, ax, ay, eps)
    # edge i of A (a_i -> a_i+1) against edge j of B: [..., 4, 4] flattened to 16
    rx, ry = ax.roll(-1, -1) - ax, ay.roll(-1, -1) - ay
    sx, sy = bx.roll(-1, -1) - bx, by.roll(-1, -1) - by
    rx, ry, px, py = (t[..., :, None] for t in (rx, ry, ax, ay))
    sx, sy, qx, qy = (t[..., None, :] for t in (sx, sy, bx, by))
    denom = _cross(rx, ry, sx, sy)
    parallel = denom.abs() < 1e-12
    safe = ember.where(parallel, ember.ones_like(denom), denom)
    t = _cross(qx - px, qy - py, sx, sy) / safe
    u = _cross(qx - px, qy - py, rx, ry) / safe
    hits = ~parallel & (t >= -eps) & (t <= 1 + eps) & (u >= -eps) & (u <= 1 + eps)
    lead = shape[:-1]
    cand_x = ember.cat([ax, bx, (px + t * rx).reshape(lead + (16,))], -1)
    cand_y = ember.cat([ay, by, (py + t * ry).reshape(lead + (16,))], -1)
    valid = ember.cat([a_in_b, b_in_a, hits.reshape(lead + (16,))], -1)
    # order the valid candidates by angle around their mean; invalid ones go last
    weight = valid.to(cand_x.dtype)
    count = weight.sum(-1, keepdim=True)
    centre_x = (cand_x * weight).sum(-1, keepdim=True) / count.clamp(min=1)
    centre_y = (cand_y * weight).sum(-1, keepdim=True) / count.clamp(min=1)
    dx, dy = cand_x - centre_x, cand_y - centre_y
    with ember.no_grad():
        angle = ember.atan2(dy, dx)
        angle = ember.where(valid, angle, ember.full_like(angle, 10.0))
        order = ember.argsort(angle, dim=-1)
        steps = ember.arange(24, device=order.device)
        following = ember.where(steps + 1 < count.long(), steps + 1, ember.zeros_like(steps))
    dx, dy = dx.gather(-1, order), dy.gather(-1, order)
    valid = valid.gather(-1, order)
    next_dx = dx.gather(-1, following.expand(dx.shape))
    next_dy = dy.gather(-1, following.expand(dy.shape))
    fan = _cross(dx, dy, next_dx, next_dy)
    inter = 0.5 * ember.where(valid, fan, ember.zeros_like(fan)).sum(-1).abs()
    area1 = (boxes1[..., 2] * boxes1[..., 3])[..., :, None]
    area2 = (boxes2[..., 2] * boxes2[..., 3])[..., None, :]
    return inter / (area1 + area2 - inter)
