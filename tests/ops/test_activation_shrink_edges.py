"""softshrink / hardshrink at the band's edges as PyTorch's kernels: x * 0 inside
softshrink's band (so -0.0 for negatives, as torch's float32/bfloat16 kernels; its
float64 kernel gives +0.0, not followed), and nan passing through both. Gradients are
compared away from nan (torch's float32 and float64 kernels disagree there)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

VALUES = [float("nan"), -0.4, 0.4, -0.0, 0.0, 0.5, -0.5, 2.0, -2.0]


@pytest.mark.parametrize("name", ["softshrink", "hardshrink"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_shrink_edges_like_torch(name, dtype):
    t = torch.tensor(VALUES, dtype=getattr(torch, dtype), requires_grad=True)
    e = ember.tensor(VALUES, dtype=getattr(ember, dtype), requires_grad=True)
    expected = getattr(torch.nn.functional, name)(t, 0.5)
    got = getattr(ember.nn.functional, name)(e, 0.5)
    assert str(got.dtype) == str(expected.dtype)
    a, b = expected.detach().float().numpy(), np.asarray(got.detach().float().numpy())
    assert np.array_equal(a, b, equal_nan=True)
    if dtype != "float64":
        assert np.array_equal(np.signbit(a), np.signbit(b))
    expected.sum().backward()
    got.sum().backward()
    assert np.array_equal(t.grad.float().numpy()[1:], np.asarray(e.grad.float().numpy())[1:])
