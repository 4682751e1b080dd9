"""softmax / log_softmax's row kernels on cuda (src/ember/_ops/_softmax_cuda.py) against
torch: every dim of a 3-d input, rows holding NaN and infinities, gradients, cross
entropy (which takes log_softmax's kernel), and the array path for long rows. On CI the
kernels' CUDA C++ runs on the CPU through the CuPy double (g++)."""

import math

import numpy as np
import pytest
import torch

import ember
from ember._ops import _softmax_cuda




def _host(tensor):
    return torch.from_numpy(np.array(tensor.detach().cpu().numpy()))


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_kernels_match_torch(launched_kernels, dim, name, dtype):
    values = np.random.default_rng(0).standard_normal((3, 4, 5)) * 4
    values[0, 0, 0], values[1, 2, 3], values[2, 3, 1] = math.nan, math.inf, -math.inf
    tx = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=True)
    ex = ember.tensor(values, dtype=getattr(ember, dtype), device="cuda", requires_grad=True)
    expected = getattr(torch.nn.functional, name)(tx, dim)
    out = getattr(ember.nn.functional, name)(ex, dim)
    torch.testing.assert_close(_host(out), expected.detach(), equal_nan=True)
    grad = np.random.default_rng(1).standard_normal(values.shape)
    expected.backward(torch.tensor(grad, dtype=expected.dtype))
    out.backward(ember.tensor(grad, dtype=out.dtype, device="cuda"))
    torch.testing.assert_close(_host(ex.grad), tx.grad, equal_nan=True)
    assert launched_kernels == ["ember_softmax_rows", "ember_softmax_rows_backward"]


def test_cross_entropy_takes_the_log_softmax_kernel(launched_kernels):
    rng = np.random.default_rng(2)
    logits, target = rng.standard_normal((16, 10)), rng.integers(0, 10, 16)
    tx = torch.tensor(logits, dtype=torch.float32, requires_grad=True)
    ex = ember.tensor(logits, dtype=ember.float32, device="cuda", requires_grad=True)
    expected = torch.nn.functional.cross_entropy(tx, torch.tensor(target))
    loss = ember.nn.functional.cross_entropy(ex, ember.tensor(target, device="cuda"))
    torch.testing.assert_close(_host(loss), expected.detach())
    expected.backward()
    loss.backward()
    torch.testing.assert_close(_host(ex.grad), tx.grad)
    assert "ember_softmax_rows" in launched_kernels


def test_rows_longer_than_the_kernel_takes_use_the_array_path(launched_kernels):
    values = np.random.default_rng(3).standard_normal((2, _softmax_cuda.MAX_ROW + 1))
    out = ember.softmax(ember.tensor(values, device="cuda"), -1)
    torch.testing.assert_close(_host(out), torch.softmax(torch.tensor(values), -1))
    assert launched_kernels == []
