"""First and second derivatives of the ops that are one autograd node as in PyTorch:
the fused losses (every reduction), the pools (batched, unbatched, 1-d through 2-d
rows) and embedding_bag. gradcheck and gradgradcheck in float64 prove that backward is
right and differentiable under ``create_graph=True``; unbatched pools are compared with
torch through the oracle.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck, gradgradcheck

_RNG = np.random.default_rng(11)


def _double(*shape, low=None):
    array = _RNG.standard_normal(shape) if low is None else _RNG.uniform(low, 1 - low, shape)
    return ember.tensor(array, requires_grad=True)


def _const(array):
    return ember.tensor(np.asarray(array, dtype=np.float64))


# Constants of the functions under gradcheck (drawn once: the function must not change).
_BCE_WEIGHT = _const(_RNG.random(4))
_BCE_LOGITS_WEIGHT = _const(_RNG.random((3, 4)))
_POS_WEIGHT = _const(_RNG.random(4) + 0.5)
_SIGNS = _const(np.where(_RNG.random((3, 4)) > 0.5, 1.0, -1.0))

GRAD_CASES = {
    "mse_loss": lambda r: (lambda x, t: ember.nn.functional.mse_loss(x, t, reduction=r),
                           (_double(3, 4), _double(3, 4))),
    "mse_loss_broadcast": lambda r: (
        lambda x, t: ember.nn.functional.mse_loss(x, t, reduction=r),
        (_double(3, 4), _double(4))),
    "huber_loss": lambda r: (
        lambda x, t: ember.nn.functional.huber_loss(x, t, reduction=r, delta=0.8),
        (_double(3, 4), _double(3, 4))),
    "smooth_l1_loss": lambda r: (
        lambda x, t: ember.nn.functional.smooth_l1_loss(x, t, reduction=r, beta=0.6),
        (_double(3, 4), _double(3, 4))),
    "binary_cross_entropy": lambda r: (
        lambda x, t: ember.nn.functional.binary_cross_entropy(x, t, weight=_BCE_WEIGHT,
                                                              reduction=r),
        (_double(3, 4, low=0.1), _double(3, 4, low=0.1))),
    "binary_cross_entropy_with_logits": lambda r: (
        lambda x, t: ember.nn.functional.binary_cross_entropy_with_logits(
            x, t, weight=_BCE_LOGITS_WEIGHT, reduction=r),
        (_double(3, 4), _double(3, 4, low=0.1))),
    "binary_cross_entropy_with_logits_pos_weight": lambda r: (
        lambda x, t: ember.nn.functional.binary_cross_entropy_with_logits(
            x, t, pos_weight=_POS_WEIGHT, reduction=r),
        (_double(3, 4), _double(3, 4, low=0.1))),
    "soft_margin_loss": lambda r: (
        lambda x: ember.nn.functional.soft_margin_loss(x, _SIGNS, reduction=r),
        (_double(3, 4),)),
    "multi_margin_loss": lambda r: (
        lambda x: ember.nn.functional.multi_margin_loss(
            x, ember.tensor([0, 3, 2]), margin=0.7, reduction=r),
        (_double(3, 4),)),
    "multi_margin_loss_p2_weight": lambda r: (
        lambda x: ember.nn.functional.multi_margin_loss(
            x, ember.tensor([0, 3, 2]), p=2, weight=_const([0.5, 1.0, 2.0, 1.5]),
            reduction=r),
        (_double(3, 4),)),
    "multilabel_margin_loss": lambda r: (
        lambda x: ember.nn.functional.multilabel_margin_loss(
            x, ember.tensor([[3, 0, -1, 1], [1, -1, 2, 2], [-1, 0, 0, 0]]), reduction=r),
        (_double(3, 4),)),
}


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_single_node_loss_gradgradcheck(name, reduction):
    fn, inputs = GRAD_CASES[name](reduction)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


POOL_GRAD_CASES = {
    "max_pool1d": lambda x: ember.nn.functional.max_pool1d(x, 3, 2, 1),
    "max_pool2d_overlap": lambda x: ember.nn.functional.max_pool2d(x.reshape(2, 3, 4, 4), 3,
                                                                   1, 1),
    "max_pool3d": lambda x: ember.nn.functional.max_pool3d(x.reshape(2, 3, 2, 2, 4), 2),
    "avg_pool1d": lambda x: ember.nn.functional.avg_pool1d(x, 3, 2, 1),
    "avg_pool2d": lambda x: ember.nn.functional.avg_pool2d(x.reshape(2, 3, 4, 4), 3, 2, 1,
                                                           count_include_pad=False),
    "adaptive_avg_pool1d": lambda x: ember.nn.functional.adaptive_avg_pool1d(x, 5),
    "adaptive_avg_pool2d": lambda x: ember.nn.functional.adaptive_avg_pool2d(
        x.reshape(2, 3, 4, 4), (3, 2)),
    "adaptive_avg_pool2d_unbatched": lambda x: ember.nn.functional.adaptive_avg_pool2d(
        x.reshape(6, 4, 4), 3),
    "adaptive_max_pool1d": lambda x: ember.nn.functional.adaptive_max_pool1d(x, 5),
    "adaptive_max_pool2d": lambda x: ember.nn.functional.adaptive_max_pool2d(
        x.reshape(2, 3, 4, 4), 3),
    "adaptive_max_pool2d_unbatched": lambda x: ember.nn.functional.adaptive_max_pool2d(
        x.reshape(6, 4, 4), 3),
    "max_pool2d_unbatched": lambda x: ember.nn.functional.max_pool2d(x.reshape(6, 4, 4), 3, 1,
                                                                     1),
    "max_pool1d_unbatched": lambda x: ember.nn.functional.max_pool1d(x.reshape(6, 16), 3, 2),
    "avg_pool2d_unbatched": lambda x: ember.nn.functional.avg_pool2d(x.reshape(6, 4, 4), 3, 1,
                                                                     1),
    "avg_pool1d_unbatched": lambda x: ember.nn.functional.avg_pool1d(x.reshape(6, 16), 3, 2),
    "max_unpool2d_unbatched": lambda x: ember.nn.functional.max_unpool2d(
        *ember.nn.functional.max_pool2d(x.reshape(6, 4, 4), 2, return_indices=True), 2),
    "max_unpool1d": lambda x: ember.nn.functional.max_unpool1d(
        *ember.nn.functional.max_pool1d(x, 2, return_indices=True), 2),
}


@pytest.mark.parametrize("name", list(POOL_GRAD_CASES))
def test_pool_gradgradcheck(name):
    x = _double(2, 3, 16)
    assert gradcheck(POOL_GRAD_CASES[name], (x,))
    assert gradgradcheck(POOL_GRAD_CASES[name], (x,))


@pytest.mark.parametrize("name, shape, args", [
    ("max_pool1d", (3, 9), (2,)), ("max_pool2d", (3, 7, 7), (2,)),
    ("max_pool3d", (2, 5, 5, 5), (2,)), ("avg_pool1d", (3, 9), (3, 2, 1)),
    ("avg_pool2d", (3, 7, 7), (3, 2, 1)), ("avg_pool3d", (2, 5, 5, 5), (2,)),
    ("adaptive_avg_pool2d", (3, 7, 7), (3,)), ("adaptive_max_pool2d", (3, 7, 7), (3,)),
    ("adaptive_max_pool1d", (3, 9), (4,)), ("adaptive_avg_pool1d", (3, 9), (4,))])
def test_unbatched_pool_values_and_grads(name, shape, args):
    """Unbatched pools (one node on the sample itself) against torch: values, grads."""
    from oracle import check

    check(lambda lib, x: getattr(lib.nn.functional, name)(x, *args),
          _RNG.standard_normal(shape))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_gradgradcheck(mode):
    weight = _double(10, 3)
    index = ember.tensor([1, 2, 4, 5, 4, 3, 2, 9])
    offsets = ember.tensor([0, 4, 4])

    def fn(w):
        return ember.nn.functional.embedding_bag(index, w, offsets, mode=mode, padding_idx=3)

    assert gradcheck(fn, (weight,))
    assert gradgradcheck(fn, (weight,))


def test_embedding_bag_per_sample_weights_gradgradcheck():
    weight = _double(10, 3)
    per_sample = _double(8)
    index = ember.tensor([1, 2, 4, 5, 4, 3, 2, 9])
    offsets = ember.tensor([0, 4])

    def fn(w, p):
        return ember.nn.functional.embedding_bag(index, w, offsets, mode="sum",
                                                 per_sample_weights=p)

    assert gradcheck(fn, (weight, per_sample))
    assert gradgradcheck(fn, (weight, per_sample))
    for lib in (ember, torch):
        out = lib.nn.functional.embedding_bag(
            lib.tensor([1, 2]), lib.ones(4, 2, requires_grad=True), lib.tensor([0]),
            mode="sum", per_sample_weights=lib.ones(2, requires_grad=True))
        assert out.grad_fn.name() == "EmbeddingBagBackward0"
        assert len([e for e in out.grad_fn.next_functions if e and e[0]]) == 2
