"""Layer norm's CUDA kernels (src/ember/_ops/_norm_cuda.py) against torch: values and
gradients for each affine form, rows a chunk boundary does not divide, gradients only for
some inputs, float64 gradcheck, and the array path for rows longer than the kernels take.
On CI the kernels' CUDA C++ runs on the CPU through the CuPy double (g++)."""

import numpy as np
import pytest
import torch

import ember
from ember._ops import _norm_cuda




def _pair(shape, normalized, dtype, weight, bias, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    params = [rng.standard_normal(normalized) if flag else None for flag in (weight, bias)]
    torch_dtype = getattr(torch, dtype)
    tx = torch.tensor(x, dtype=torch_dtype, requires_grad=True)
    ex = ember.tensor(x, dtype=getattr(ember, dtype), device="cuda", requires_grad=True)
    tp = [None if p is None else torch.tensor(p, dtype=torch_dtype, requires_grad=True)
          for p in params]
    ep = [None if p is None else ember.tensor(p, dtype=getattr(ember, dtype), device="cuda",
                                              requires_grad=True) for p in params]
    return (tx, *tp), (ex, *ep)


def _host(tensor):
    return torch.from_numpy(np.array(tensor.detach().cpu().numpy()))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("weight,bias", [(True, True), (True, False), (False, False)])
def test_layer_norm_kernels_match_torch(launched_kernels, dtype, weight, bias):
    normalized = (3, 8)
    (tx, tw, tb), (ex, ew, eb) = _pair((70, 3, 8), normalized, dtype, weight, bias)
    expected = torch.nn.functional.layer_norm(tx, normalized, tw, tb, eps=1e-5)
    out = ember.nn.functional.layer_norm(ex, normalized, ew, eb, eps=1e-5)
    torch.testing.assert_close(_host(out), expected.detach())
    grad = np.random.default_rng(1).standard_normal(out.shape)
    expected.backward(torch.tensor(grad, dtype=expected.dtype))
    out.backward(ember.tensor(grad, dtype=out.dtype, device="cuda"))
    for mine, theirs in zip((ex, ew, eb), (tx, tw, tb)):
        if theirs is not None:
            torch.testing.assert_close(_host(mine.grad), theirs.grad)
    expected = {"ember_layer_norm_row_stats", "ember_layer_norm_normalize",
                "ember_layer_norm_backward_rows", "ember_layer_norm_backward_input"}
    assert expected <= set(launched_kernels)
    assert ("ember_layer_norm_backward_params" in launched_kernels) == (weight or bias)


def test_layer_norm_kernels_leave_out_gradients_nobody_asked_for(launched_kernels):
    (tx, tw, tb), (ex, ew, eb) = _pair((4, 5, 6), (6,), "float32", True, True)
    ex.requires_grad_(False)
    tx.requires_grad_(False)
    out = ember.nn.functional.layer_norm(ex, (6,), ew, eb)
    expected = torch.nn.functional.layer_norm(tx, (6,), tw, tb)
    out.sum().backward()
    expected.sum().backward()
    torch.testing.assert_close(_host(ew.grad), tw.grad)
    torch.testing.assert_close(_host(eb.grad), tb.grad)
    assert ex.grad is None and "ember_layer_norm_backward_input" not in launched_kernels


def test_layer_norm_kernels_gradcheck_in_float64(cupy_backend):
    _, (ex, ew, eb) = _pair((3, 4, 5), (5,), "float64", True, True, seed=3)
    assert ember.autograd.gradcheck(
        lambda x, w, b: ember.nn.functional.layer_norm(x, (5,), w, b), (ex, ew, eb))


def test_rows_longer_than_the_kernels_take_use_the_array_path(launched_kernels):
    width = _norm_cuda.MAX_ROW + 1
    (tx, tw, tb), (ex, ew, eb) = _pair((2, width), (width,), "float32", True, True)
    out = ember.nn.functional.layer_norm(ex, (width,), ew, eb)
    torch.testing.assert_close(_host(out),
                               torch.nn.functional.layer_norm(tx, (width,), tw, tb).detach())
    assert not any(name.startswith("ember_layer_norm") for name in launched_kernels)
