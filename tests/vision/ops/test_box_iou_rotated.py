"""Rotated-box IoU against Sutherland-Hodgman polygon clipping done pair by pair."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember
from ember.vision import ops

RNG = np.random.default_rng(21)


def corners(cx, cy, w, h, r):
    """Corners of a (cx, cy, w, h, r degrees counter-clockwise, y down) box, in order."""
    c, s = math.cos(math.radians(r)), math.sin(math.radians(r))
    local = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    return [(cx + x * c + y * s, cy - x * s + y * c) for x, y in local]


def area(poly):
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1]))) / 2


def clip(subject, clipper):
    """Sutherland-Hodgman: the part of convex ``subject`` inside convex ``clipper``."""
    sign = 1 if sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1)
                    in zip(clipper, clipper[1:] + clipper[:1])) > 0 else -1
    out = subject
    for (ax, ay), (bx, by) in zip(clipper, clipper[1:] + clipper[:1]):
        def side(p, ax=ax, ay=ay, bx=bx, by=by):
            return sign * ((bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax))
        points, out = out, []
        for i, p in enumerate(points):
            q = points[i - 1]
            if side(p) >= 0:
                if side(q) < 0:
                    out.append(_meet(q, p, side))
                out.append(p)
            elif side(q) >= 0:
                out.append(_meet(q, p, side))
        if not out:
            return []
    return out


def _meet(q, p, side):
    t = side(q) / (side(q) - side(p))
    return (q[0] + t * (p[0] - q[0]), q[1] + t * (p[1] - q[1]))


def ref_iou(b1, b2):
    out = np.zeros((len(b1), len(b2)))
    for i, a in enumerate(b1.tolist()):
        for j, b in enumerate(b2.tolist()):
            pa, pb = corners(*a), corners(*b)
            inter = area(clip(pa, pb)) if clip(pa, pb) else 0.0
            out[i, j] = inter / (a[2] * a[3] + b[2] * b[3] - inter)
    return out


def rotated(n, dtype=np.float64):
    centre = RNG.uniform(0, 6, (n, 2))
    size = RNG.uniform(0.5, 4, (n, 2))
    angle = RNG.uniform(-180, 180, (n, 1))
    return np.concatenate([centre, size, angle], 1).astype(dtype)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-9), (np.float32, 2e-5)])
def test_rotated_iou_matches_polygon_clipping(dtype, tol):
    b1, b2 = rotated(7, dtype), rotated(9, dtype)
    b1[3] = b2[4]  # an identical pair
    b1[5] = b2[6, [0, 1, 3, 2, 4]] + [0, 0, 0, 0, 90]  # the same box: sides swapped, turned 90
    out = ops.box_iou(ember.tensor(b1), ember.tensor(b2), fmt="cxcywhr")
    assert out.dtype == ember.tensor(b1).dtype and out.shape == (7, 9)
    np.testing.assert_allclose(out.numpy(), ref_iou(b1, b2), rtol=tol, atol=tol)
    assert abs(float(out[3, 4]) - 1) < tol and abs(float(out[5, 6]) - 1) < tol


def test_rotated_formats_and_hand_values():
    square = ember.tensor([[0., 0., 2., 2., 0.]], dtype=ember.float64)
    others = ember.tensor([[0., 0., 2., 2., 45.], [0., 0., 2., 2., 90.], [1., 0., 2., 2., 0.],
                           [5., 5., 1., 1., 30.], [0., 0., 2., 1., 90.]], dtype=ember.float64)
    # the square and itself turned 45 degrees overlap in an octagon: IoU = 1 / sqrt(2)
    np.testing.assert_allclose(ops.box_iou(square, others, fmt="cxcywhr").numpy(),
                               [[1 / math.sqrt(2), 1, 1 / 3, 0, 0.5]], atol=1e-12)
    for fmt in ("xywhr", "xyxyxyxy"):
        a = ops.box_convert(square, "cxcywhr", fmt)
        b = ops.box_convert(others, "cxcywhr", fmt)
        np.testing.assert_allclose(ops.box_iou(a, b, fmt=fmt).numpy(),
                                   ops.box_iou(square, others, fmt="cxcywhr").numpy(), atol=1e-9)
    # unrotated boxes agree with the axis-aligned IoU
    b1 = torch.from_numpy(rotated(4))
    b2 = torch.from_numpy(rotated(5))
    b1[:, 4] = 0
    b2[:, 4] = 0
    plain = ops.box_iou(ember.tensor(b1[:, :4].numpy()), ember.tensor(b2[:, :4].numpy()),
                        fmt="cxcywh")
    np.testing.assert_allclose(ops.box_iou(ember.tensor(b1.numpy()), ember.tensor(b2.numpy()),
                                           fmt="cxcywhr").numpy(), plain.numpy(), atol=1e-9)
    with pytest.raises(ValueError, match="Unsupported format 'abc'"):
        ops.box_iou(square, others, fmt="abc")
