"""ember.vision.ops box utilities against references written directly with real torch.

torchvision cannot be installed next to the oracle torch, so each op is compared with a
plain per-box / per-pair loop in torch (values, dtypes, and gradients through the
oracle), with hand-checked values, and gradchecked in float64 where differentiable.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from oracle import check

import ember
from ember.vision import ops

RNG = np.random.default_rng(11)


def boxes(*lead, n, dtype=np.float32, scale=6.0):
    """Well-formed xyxy boxes: x1 < x2, y1 < y2, sizes away from 0."""
    lo = RNG.uniform(0, scale, (*lead, n, 2))
    wh = RNG.uniform(0.5, scale / 2, (*lead, n, 2))
    return np.concatenate([lo, lo + wh], -1).astype(dtype)


def both(name, reference):
    """fn(lib, ...) for oracle.check: the ember op, or the torch reference."""
    def fn(lib, *args, **kwargs):
        if lib is ember:
            return getattr(ops, name)(*args, **kwargs)
        return reference(*args, **kwargs)
    return fn


# ----------------------------------------------------------- torch references

def _pairwise(b1, b2, pair_fn):
    """Apply ``pair_fn(box_a, box_b) -> scalar`` to every pair, over leading dims."""
    if b1.dim() > 2:
        return torch.stack([_pairwise(x, y, pair_fn) for x, y in zip(b1, b2)])
    rows = [torch.stack([pair_fn(a, b) for b in b2]) for a in b1]
    return torch.stack(rows) if rows else b1[:, :1] * b2[:, 0]  # [0, M], keeps the graph


def _inter_union(a, b):
    iw = (torch.min(a[2], b[2]) - torch.max(a[0], b[0])).clamp(min=0)
    ih = (torch.min(a[3], b[3]) - torch.max(a[1], b[1])).clamp(min=0)
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter, union


def _enclosing(a, b):
    return (torch.max(a[2], b[2]) - torch.min(a[0], b[0]),
            torch.max(a[3], b[3]) - torch.min(a[1], b[1]))


def pair_iou(a, b):
    inter, union = _inter_union(a, b)
    return inter / union


def pair_giou(a, b):
    inter, union = _inter_union(a, b)
    cw, ch = _enclosing(a, b)
    return inter / union - (cw * ch - union) / (cw * ch)


def pair_diou(a, b, eps=1e-7):
    cw, ch = _enclosing(a, b)
    dx = (a[0] + a[2]) / 2 - (b[0] + b[2]) / 2
    dy = (a[1] + a[3]) / 2 - (b[1] + b[3]) / 2
    return pair_iou(a, b) - (dx ** 2 + dy ** 2) / (cw ** 2 + ch ** 2 + eps)


def pair_ciou(a, b, eps=1e-7):
    iou = pair_iou(a, b)
    v = 4 / math.pi ** 2 * (torch.atan((a[2] - a[0]) / (a[3] - a[1]))
                            - torch.atan((b[2] - b[0]) / (b[3] - b[1]))) ** 2
    alpha = (v / (1 - iou + v + eps)).detach()
    return pair_diou(a, b, eps) - alpha * v


def ref_nms(b, s, threshold):
    order = sorted(range(len(s)), key=lambda i: -float(s[i]))  # sorted() is stable
    keep = []
    for i in order:
        if all(float(pair_iou(b[i], b[k])) <= threshold for k in keep):
            keep.append(i)
    return torch.tensor(keep, dtype=torch.int64)


def ref_batched_nms(b, s, idxs, threshold):
    keep = []
    for c in sorted(set(idxs.tolist())):
        members = [i for i in range(len(s)) if int(idxs[i]) == c]
        keep += [members[k] for k in ref_nms(b[members], s[members], threshold).tolist()]
    keep.sort(key=lambda i: -float(s[i]))
    return torch.tensor(keep, dtype=torch.int64)


def to_xyxy(b, fmt):
    x, y, w, h = b.unbind(-1)
    if fmt == "xyxy":
        return b
    if fmt == "xywh":
        return torch.stack([x, y, x + w, y + h], -1)
    return torch.stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2], -1)


def from_xyxy(b, fmt):
    x1, y1, x2, y2 = b.unbind(-1)
    if fmt == "xyxy":
        return b.clone()
    if fmt == "xywh":
        return torch.stack([x1, y1, x2 - x1, y2 - y1], -1)
    return torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], -1)


# --------------------------------------------------------------------- tests

PAIRWISE = [
    ("box_iou", pair_iou),
    ("generalized_box_iou", pair_giou),
    ("distance_box_iou", pair_diou),
    ("complete_box_iou", pair_ciou),
]


@pytest.mark.parametrize("name,pair_fn", PAIRWISE)
@pytest.mark.parametrize("lead,n,m", [((), 4, 5), ((), 1, 3), ((2,), 3, 2), ((), 0, 3)])
def test_pairwise_iou_family(name, pair_fn, lead, n, m):
    check(both(name, lambda b1, b2: _pairwise(b1, b2, pair_fn)),
          boxes(*lead, n=n), boxes(*lead, n=m), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fmt", ["xywh", "cxcywh"])
def test_box_iou_formats(fmt):
    b1, b2 = boxes(n=3), boxes(n=4)
    conv = [from_xyxy(torch.from_numpy(b), fmt).numpy() for b in (b1, b2)]
    check(lambda lib, x, y: ops.box_iou(x, y, fmt=fmt) if lib is ember
          else _pairwise(to_xyxy(x, fmt), to_xyxy(y, fmt), pair_iou), *conv,
          rtol=1e-5, atol=1e-6)


def test_iou_hand_values():
    a = ember.tensor([[0., 0., 2., 2.]])
    b = ember.tensor([[1., 1., 3., 3.], [4., 4., 5., 5.]])
    np.testing.assert_allclose(ops.box_iou(a, b).numpy(), [[1 / 7, 0.0]], rtol=1e-6)
    # GIoU: 1/7 - (9 - 7)/9 for the overlapping pair; 0 - (25 - 5)/25 for the far one
    np.testing.assert_allclose(ops.generalized_box_iou(a, b).numpy(),
                               [[1 / 7 - 2 / 9, -20 / 25]], rtol=1e-6)
    # DIoU: centres (1,1) and (2,2) -> d^2 = 2, enclosing diagonal^2 = 18
    np.testing.assert_allclose(ops.distance_box_iou(a, b[:1]).numpy(), [[1 / 7 - 2 / 18]],
                               rtol=1e-6)
    # same aspect ratio: CIoU equals DIoU
    np.testing.assert_allclose(ops.complete_box_iou(a, b[:1]).numpy(),
                               ops.distance_box_iou(a, b[:1]).numpy(), rtol=1e-6)
    assert ops.box_iou(a.int(), b.int()).dtype == ember.float32
    assert ops.box_area(a.to(ember.uint8)).dtype == ember.int32


# complete_box_iou holds its alpha constant, so its gradient is by design not the
# derivative of its value: it is compared with the torch reference's gradient instead.
@pytest.mark.parametrize("name", ["box_iou", "generalized_box_iou", "distance_box_iou"])
def test_iou_family_gradcheck(name):
    b1 = ember.tensor(boxes(n=3, dtype=np.float64), requires_grad=True)
    b2 = ember.tensor(boxes(n=2, dtype=np.float64), requires_grad=True)
    assert ember.autograd.gradcheck(getattr(ops, name), (b1, b2))


def test_complete_box_iou_grad_float64():
    check(both("complete_box_iou", lambda b1, b2: _pairwise(b1, b2, pair_ciou)),
          boxes(n=3, dtype=np.float64), boxes(n=4, dtype=np.float64), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("in_fmt", ["xyxy", "xywh", "cxcywh"])
@pytest.mark.parametrize("out_fmt", ["xyxy", "xywh", "cxcywh"])
def test_box_convert(in_fmt, out_fmt):
    data = from_xyxy(torch.from_numpy(boxes(2, n=3)), in_fmt).numpy()
    check(lambda lib, b: ops.box_convert(b, in_fmt, out_fmt) if lib is ember
          else from_xyxy(to_xyxy(b, in_fmt), out_fmt), data, rtol=1e-6, atol=1e-5)


def test_box_convert_hand_and_rotated():
    out = ops.box_convert(ember.tensor([[10., 20., 4., 6.]]), "cxcywh", "xyxy")
    np.testing.assert_array_equal(out.numpy(), [[8., 17., 12., 23.]])
    # a 2x1 box at (1, 1) rotated by 90 degrees counter-clockwise
    rot = ember.tensor([[1., 1., 2., 1., 90.]], dtype=ember.float64)
    corners = ops.box_convert(rot, "xywhr", "xyxyxyxy")
    np.testing.assert_allclose(corners.numpy(), [[1, 1, 1, -1, 2, -1, 2, 1]], atol=1e-12)
    for fmt in ("cxcywhr", "xyxyxyxy"):
        there = ops.box_convert(rot, "xywhr", fmt)
        np.testing.assert_allclose(ops.box_convert(there, fmt, "xywhr").numpy(), rot.numpy(),
                                   atol=1e-9)
    np.testing.assert_allclose(ops.box_convert(rot, "xywhr", "cxcywhr").numpy(),
                               [[1.5, 0.0, 2.0, 1.0, 90.0]], atol=1e-12)
    with pytest.raises(ValueError, match="Unsupported Bounding Box Conversions for given "
                                         "in_fmt xyxy and out_fmt abc"):
        ops.box_convert(out, "xyxy", "abc")
    with pytest.raises(NotImplementedError):
        ops.box_convert(out, "xyxy", "xywhr")
    with pytest.raises(ValueError, match="Unsupported Bounding Box area for given format"):
        ops.box_area(out, fmt="xywhr")


@pytest.mark.parametrize("fmt", ["xyxy", "xywh", "cxcywh"])
def test_box_area(fmt):
    data = from_xyxy(torch.from_numpy(boxes(2, n=4)), fmt).numpy()
    ref = (lambda b: torch.stack([torch.stack([(r[2] - r[0]) * (r[3] - r[1]) for r in img])
                                  for img in to_xyxy(b, fmt)]))
    check(lambda lib, b: ops.box_area(b, fmt=fmt) if lib is ember else ref(b), data,
          rtol=1e-6, atol=1e-5)


def test_clip_and_remove_small():
    data = np.array([[-1, 2, 5, 12], [3, -4, 20, 3.5], [1, 1, 1.2, 9]], np.float32)
    ref_clip = (lambda b: torch.stack([torch.stack([r[0].clamp(0, 10), r[1].clamp(0, 8),
                                                    r[2].clamp(0, 10), r[3].clamp(0, 8)])
                                       for r in b]))
    check(lambda lib, b: ops.clip_boxes_to_image(b, (8, 10)) if lib is ember else ref_clip(b),
          data)
    np.testing.assert_array_equal(ops.clip_boxes_to_image(ember.tensor(data), (8, 10)).numpy(),
                                  np.array([[0, 2, 5, 8], [3, 0, 10, 3.5], [1, 1, 1.2, 8]],
                                           np.float32))
    kept = ops.remove_small_boxes(ember.tensor(data), 0.5)
    assert kept.dtype == ember.int64
    np.testing.assert_array_equal(kept.numpy(), [0, 1])


@pytest.mark.parametrize("n,threshold", [(12, 0.5), (30, 0.3), (8, 0.0), (1, 0.5)])
def test_nms_matches_greedy_reference(n, threshold):
    b = boxes(n=n)
    s = RNG.uniform(size=n).astype(np.float32)
    keep = ops.nms(ember.tensor(b), ember.tensor(s), threshold)
    assert keep.dtype == ember.int64
    expected = ref_nms(torch.from_numpy(b), torch.from_numpy(s), threshold)
    np.testing.assert_array_equal(keep.numpy(), expected.numpy())


def test_nms_hand_values_and_ties():
    b = ember.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [20., 20., 30., 30.],
                      [0., 0., 10., 10.5]])
    # box 3 goes first; it covers box 0 by IoU 100/105 and box 1 by 85.5/119.5 = 0.7155
    np.testing.assert_array_equal(
        ops.nms(b, ember.tensor([0.9, 0.8, 0.7, 0.95]), 0.72).numpy(), [3, 1, 2])
    np.testing.assert_array_equal(
        ops.nms(b, ember.tensor([0.9, 0.8, 0.7, 0.95]), 0.6).numpy(), [3, 2])
    # equal scores keep input order (stable sort)
    np.testing.assert_array_equal(ops.nms(b, ember.ones(4), 0.99).numpy(), [0, 1, 2, 3])
    empty = ops.nms(ember.zeros((0, 4)), ember.zeros(0), 0.5)
    assert empty.shape == (0,) and empty.dtype == ember.int64


@pytest.mark.parametrize("bad,msg", [
    ((np.zeros((3, 4, 1), np.float32), np.zeros(3, np.float32)), "boxes should be a 2d tensor, got 3D"),
    ((np.zeros((3, 5), np.float32), np.zeros(3, np.float32)), "boxes should have 4 elements in dimension 1, got 5"),
    ((np.zeros((3, 4), np.float32), np.zeros((3, 1), np.float32)), "scores should be a 1d tensor, got 2D"),
    ((np.zeros((3, 4), np.float32), np.zeros(2, np.float32)), "boxes and scores should have same number of elements in dimension 0, got 3 and 2"),
])
def test_nms_errors(bad, msg):
    with pytest.raises(RuntimeError, match=msg):
        ops.nms(ember.tensor(bad[0]), ember.tensor(bad[1]), 0.5)


@pytest.mark.parametrize("n", [0, 15, 40])
def test_batched_nms(n):
    b = boxes(n=n)
    s = RNG.uniform(size=n).astype(np.float32)
    idxs = RNG.integers(0, 3, n)
    keep = ops.batched_nms(ember.tensor(b), ember.tensor(s), ember.tensor(idxs), 0.3)
    expected = (ref_batched_nms(torch.from_numpy(b), torch.from_numpy(s),
                                torch.from_numpy(idxs), 0.3) if n else torch.zeros(0))
    np.testing.assert_array_equal(keep.numpy(), expected.numpy())
    assert keep.dtype == ember.int64


def test_batched_nms_separates_categories():
    b = ember.tensor([[0., 0., 10., 10.], [0., 0., 10., 10.], [0., 0., 10., 10.]])
    s = ember.tensor([0.5, 0.9, 0.7])
    out = ops.batched_nms(b, s, ember.tensor([0, 1, 0]), 0.5)
    np.testing.assert_array_equal(out.numpy(), [1, 2])


def test_masks_to_boxes():
    masks = np.zeros((4, 6, 7), np.uint8)
    masks[0, 1:4, 2:6] = 1
    masks[1, 5, 0] = 1
    masks[2, [0, 5], [6, 1]] = 1
    reference = []
    for m in torch.from_numpy(masks):
        ys, xs = torch.nonzero(m, as_tuple=True)
        reference.append([xs.min(), ys.min(), xs.max(), ys.max()] if len(ys) else [0, 0, 0, 0])
    out = ops.masks_to_boxes(ember.tensor(masks))
    assert out.dtype == ember.float32
    np.testing.assert_array_equal(out.numpy(), np.array(reference, np.float32))
    np.testing.assert_array_equal(out.numpy()[:3], [[2, 1, 5, 3], [0, 5, 0, 5], [1, 0, 6, 5]])
    assert ops.masks_to_boxes(ember.zeros((0, 3, 3))).shape == (0, 4)


def _iou_row(a, others):
    """IoU of box ``a`` with each row of ``others`` (the same formula, vectorised)."""
    iw = (torch.min(a[2], others[:, 2]) - torch.max(a[0], others[:, 0])).clamp(min=0)
    ih = (torch.min(a[3], others[:, 3]) - torch.max(a[1], others[:, 1])).clamp(min=0)
    union = ((a[2] - a[0]) * (a[3] - a[1])
             + (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1]) - iw * ih)
    return iw * ih / union


def test_batched_nms_many_boxes_runs_per_category():
    # past 1000 boxes torchvision runs one NMS per category; the result is the same set
    n = 1100
    b = boxes(n=n, scale=40.0)
    s = RNG.permutation(n).astype(np.float32) / n  # distinct scores: one valid order
    idxs = RNG.integers(0, 3, n)
    keep = ops.batched_nms(ember.tensor(b), ember.tensor(s), ember.tensor(idxs), 0.4)
    tb, ts = torch.from_numpy(b), torch.from_numpy(s)
    expected = []
    for c in range(3):
        members = torch.where(torch.from_numpy(idxs) == c)[0]
        members = members[ts[members].argsort(descending=True)]
        kept = []
        for i in members.tolist():  # greedy, against the kept boxes of this category
            if not kept or bool((_iou_row(tb[i], tb[kept]) <= 0.4).all()):
                kept.append(i)
        expected += kept
    expected.sort(key=lambda i: -float(ts[i]))
    np.testing.assert_array_equal(keep.numpy(), expected)
