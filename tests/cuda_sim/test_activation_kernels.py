"""ReLU's one-kernel forward on cuda (src/ember/_ops/_activation_cuda.py) against torch:
values at -0.0, NaN, +-inf, and the gradient mask. On CI the kernel's CUDA C++ runs on the
CPU through the CuPy double (g++)."""

import math

import numpy as np
import pytest
import torch

import ember


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_kernel_matches_torch_at_the_edges(launched_kernels, dtype):
    names = launched_kernels
    values = [-2.0, -0.0, 0.0, 0.5, math.nan, math.inf, -math.inf, 3.0]
    tx = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=True)
    ex = ember.tensor(values, dtype=getattr(ember, dtype), device="cuda", requires_grad=True)
    expected, out = torch.relu(tx), ember.relu(ex)
    got = torch.from_numpy(out.detach().cpu().numpy())
    torch.testing.assert_close(got, expected.detach(), equal_nan=True)
    assert np.array_equal(np.signbit(got.numpy()), np.signbit(expected.detach().numpy()))
    grad = torch.arange(1.0, 9.0, dtype=expected.dtype)
    expected.backward(grad)
    out.backward(ember.tensor(grad.numpy(), device="cuda"))
    torch.testing.assert_close(torch.from_numpy(ex.grad.cpu().numpy()), tx.grad)
    assert names == ["ember_relu_with_mask"]
