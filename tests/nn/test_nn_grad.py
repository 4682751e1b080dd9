"""nn.grad.conv{1,2,3}d_input/_weight against torch.nn.grad: values for strides, padding,
dilation and groups, gradcheck of their own derivatives, and shape errors."""

import numpy as np
import pytest
import torch

import ember
from tests.oracle import assert_same, check_raises, randn, to_ember, to_torch

CASES = [
    (1, (2, 4, 9), (6, 2, 3), {"stride": 2, "padding": 1, "groups": 2}),
    (2, (2, 3, 7, 6), (4, 3, 3, 2), {}),
    (2, (1, 4, 8, 8), (6, 2, 3, 3), {"stride": (2, 1), "padding": (1, 2), "dilation": 2,
                                     "groups": 2}),
    (3, (1, 2, 5, 4, 6), (3, 2, 2, 3, 2), {"stride": 2, "padding": 1}),
]


@pytest.mark.parametrize("nd, x_shape, w_shape, kwargs", CASES)
def test_input_and_weight_gradients_match_torch(nd, x_shape, w_shape, kwargs):
    x, w = randn(*x_shape, dtype=np.float64), randn(*w_shape, dtype=np.float64)
    found = []
    for lib, convert in ((ember, to_ember), (torch, to_torch)):
        conv = getattr(lib.nn.functional, f"conv{nd}d")
        out_shape = conv(convert(x), convert(w), None, **kwargs).shape
        g = convert(np.random.default_rng(nd).standard_normal(tuple(out_shape)))
        grad_input = getattr(lib.nn.grad, f"conv{nd}d_input")(x_shape, convert(w), g, **kwargs)
        grad_weight = getattr(lib.nn.grad, f"conv{nd}d_weight")(convert(x), w_shape, g,
                                                                **kwargs)
        found.append((grad_input, grad_weight))
    assert_same(found[0][0], found[1][0])
    assert_same(found[0][1], found[1][1])
    assert not found[0][0].requires_grad


def test_differentiable_in_weight_and_grad_output():
    x, w = randn(1, 2, 5, 5, dtype=np.float64), randn(3, 2, 3, 3, dtype=np.float64)
    g = randn(1, 3, 3, 3, dtype=np.float64)
    weight, grad_out = to_ember(w, requires_grad=True), to_ember(g, requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda a, b: ember.nn.grad.conv2d_input((1, 2, 5, 5), a, b), (weight, grad_out))
    inp = to_ember(x, requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda a, b: ember.nn.grad.conv2d_weight(a, (3, 2, 3, 3), b), (inp, grad_out))


def test_shape_mismatch_raises_like_torch():
    def run(lib, w, g):
        return lib.nn.grad.conv2d_input((1, 2, 5, 5), w, g)

    check_raises(run, randn(3, 2, 3, 3), randn(1, 3, 4, 4))
