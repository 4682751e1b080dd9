"""Binary pointwise ops of _ops/binary.py against PyTorch: the gradient rules at the edges
that composite formulas get wrong."""

import numpy as np
import pytest
from oracle import check

import ember

F64 = np.float64


@pytest.mark.parametrize("x, y", [
    # x == 0: d/dx is still log(y) (Gamma/Poisson log_prob at concentration 1), and 0
    # only where y <= 0; y NaN propagates.
    ([0.0, 0.0, 1.0, 0.0, 0.0], [2.0, 0.5, 3.0, -1.0, np.nan]),
    ([0.0, 2.0], [0.0, 0.0]),
], ids=["zeros_in_x", "zero_y"])
def test_xlogy_gradient_where_x_is_zero(x, y):
    check(lambda lib, a, b: lib.xlogy(a, b), np.array(x, F64), np.array(y, F64))


@pytest.mark.parametrize("other", [2.5, 0.0, -1.0])
def test_xlogy_gradient_with_a_scalar_other(other):
    check(lambda lib, a: lib.xlogy(a, other), np.array([0.0, 1.0, 2.0], F64))


def test_xlogy_gradcheck_and_gradgradcheck():
    a = ember.tensor([0.0, 1.0, 0.5], dtype=ember.float64, requires_grad=True)
    b = ember.tensor([2.0, 3.0, 0.7], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(ember.xlogy, (a, b))
    assert ember.autograd.gradgradcheck(ember.xlogy, (a, b))


def test_gamma_log_prob_gradient_at_concentration_one():
    """The bug the yardstick found: MLE of a Gamma started at concentration 1 moved the
    wrong way because xlogy(concentration - 1, x) gave no gradient at 0."""
    import torch

    x = np.array([0.5, 1.5, 2.5, 4.0])
    grads = []
    for lib in (ember, torch):
        c = lib.tensor(1.0, dtype=lib.float64, requires_grad=True)
        lib.distributions.Gamma(c, lib.tensor(1.0, dtype=lib.float64)).log_prob(
            lib.tensor(x)).sum().backward()
        grads.append(c.grad.item())
    assert np.isclose(grads[0], grads[1], rtol=1e-12), grads
