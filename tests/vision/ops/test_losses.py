"""ember.vision.ops detection losses against per-element references written with torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from oracle import check

import ember
from ember.vision import ops

RNG = np.random.default_rng(3)


def boxes(n, dtype=np.float32):
    lo = RNG.uniform(0, 4, (n, 2))
    return np.concatenate([lo, lo + RNG.uniform(0.5, 3, (n, 2))], -1).astype(dtype)


def reduce(loss, reduction):
    return {"none": lambda v: v, "sum": torch.sum, "mean": torch.mean}[reduction](loss)


def ref_focal(x, t, alpha, gamma, reduction):
    p = torch.sigmoid(x)
    ce = TF.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return reduce(loss, reduction)


def _terms(a, b, eps):
    """IoU with eps, enclosing box and centre distance of one matched pair."""
    iw = torch.min(a[2], b[2]) - torch.max(a[0], b[0])
    ih = torch.min(a[3], b[3]) - torch.max(a[1], b[1])
    inter = iw * ih if (iw > 0 and ih > 0) else a[0] * 0
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    cw = torch.max(a[2], b[2]) - torch.min(a[0], b[0])
    ch = torch.max(a[3], b[3]) - torch.min(a[1], b[1])
    d2 = ((a[0] + a[2]) / 2 - (b[0] + b[2]) / 2) ** 2 + ((a[1] + a[3]) / 2 - (b[1] + b[3]) / 2) ** 2
    return inter / (union + eps), union, cw, ch, d2


def ref_giou_loss(b1, b2, reduction, eps=1e-7):
    out = []
    for a, b in zip(b1, b2):
        iou, union, cw, ch, _ = _terms(a, b, eps)
        out.append(1 - (iou - (cw * ch - union) / (cw * ch + eps)))
    return reduce(torch.stack(out), reduction)


def ref_diou_loss(b1, b2, reduction, eps=1e-7):
    out = []
    for a, b in zip(b1, b2):
        iou, _, cw, ch, d2 = _terms(a, b, eps)
        out.append(1 - iou + d2 / (cw ** 2 + ch ** 2 + eps))
    return reduce(torch.stack(out), reduction)


def ref_ciou_loss(b1, b2, reduction, eps=1e-7):
    out = []
    for a, b in zip(b1, b2):
        iou, _, cw, ch, d2 = _terms(a, b, 1e-7)
        v = 4 / math.pi ** 2 * (torch.atan((b[2] - b[0]) / (b[3] - b[1]))
                                - torch.atan((a[2] - a[0]) / (a[3] - a[1]))) ** 2
        alpha = (v / (1 - iou + v + eps)).detach()
        out.append(1 - iou + d2 / (cw ** 2 + ch ** 2 + 1e-7) + alpha * v)
    return reduce(torch.stack(out), reduction)


@pytest.mark.parametrize("alpha,gamma,reduction", [
    (0.25, 2, "none"), (-1, 2, "mean"), (0.5, 0, "sum"), (1.0, 1.5, "mean")])
def test_sigmoid_focal_loss(alpha, gamma, reduction):
    targets = RNG.integers(0, 2, (3, 5)).astype(np.float32)
    check(lambda lib, x, t: ops.sigmoid_focal_loss(x, t, alpha, gamma, reduction)
          if lib is ember else ref_focal(x, t, alpha, gamma, reduction),
          RNG.standard_normal((3, 5)).astype(np.float32) * 3, targets)


LOSSES = [("generalized_box_iou_loss", ref_giou_loss), ("distance_box_iou_loss", ref_diou_loss),
          ("complete_box_iou_loss", ref_ciou_loss)]


@pytest.mark.parametrize("name,reference", LOSSES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_box_losses(name, reference, reduction):
    b1, b2 = boxes(6), boxes(6)
    b2[0] = b1[0] + [10, 10, 10, 10]  # a disjoint pair: loss still has a gradient
    check(lambda lib, x, y: getattr(ops, name)(x, y, reduction) if lib is ember
          else reference(x, y, reduction), b1, b2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,reference", LOSSES)
def test_box_losses_float64_eps(name, reference):
    check(lambda lib, x, y: getattr(ops, name)(x, y, "none", eps=1e-3) if lib is ember
          else reference(x, y, "none", eps=1e-3),
          boxes(4, np.float64), boxes(4, np.float64), rtol=1e-10, atol=1e-12)


def test_box_loss_hand_values_and_edges():
    a = ember.tensor([[0., 0., 2., 2.]])
    b = ember.tensor([[1., 1., 3., 3.]])
    # GIoU = 1/7 - 2/9; the loss is 1 - GIoU (eps-sized differences aside)
    np.testing.assert_allclose(ops.generalized_box_iou_loss(a, b).numpy(), [1 - (1 / 7 - 2 / 9)],
                               rtol=1e-6)
    np.testing.assert_allclose(ops.distance_box_iou_loss(a, b).numpy(), [1 - 1 / 7 + 2 / 18],
                               rtol=1e-6)
    np.testing.assert_allclose(ops.complete_box_iou_loss(a, b).numpy(),
                               ops.distance_box_iou_loss(a, b).numpy(), rtol=1e-6)
    same = ops.generalized_box_iou_loss(a, a)
    assert abs(float(same)) < 1e-6
    # integer boxes compute in float32; an empty mean is 0 (not NaN) for the box losses
    assert ops.distance_box_iou_loss(a.int(), b.int()).dtype == ember.float32
    empty = ops.complete_box_iou_loss(ember.zeros((0, 4)), ember.zeros((0, 4)), "mean")
    assert float(empty) == 0.0
    with pytest.raises(ValueError, match="Invalid Value for arg 'reduction'"):
        ops.generalized_box_iou_loss(a, b, "avg")
    with pytest.raises(ValueError, match=r"Invalid alpha value: 2. alpha must be in the range"):
        ops.sigmoid_focal_loss(a, b, alpha=2)


@pytest.mark.parametrize("name", ["generalized_box_iou_loss", "distance_box_iou_loss"])
def test_box_loss_gradcheck(name):
    b1 = ember.tensor(boxes(3, np.float64), requires_grad=True)
    b2 = ember.tensor(boxes(3, np.float64), requires_grad=True)
    assert ember.autograd.gradcheck(lambda x, y: getattr(ops, name)(x, y, "sum"), (b1, b2))


def test_focal_gradcheck():
    x = ember.tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    t = ember.tensor(RNG.integers(0, 2, (2, 3)).astype(np.float64))
    assert ember.autograd.gradcheck(lambda v: ops.sigmoid_focal_loss(v, t, reduction="mean"), (x,))
