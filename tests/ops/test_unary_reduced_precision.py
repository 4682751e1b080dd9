"""Unary ops on float16 and bfloat16 round once, as PyTorch's CPU kernels do: they compute
in float32 (PyTorch's opmath type for both) and round the result, where step-by-step
half-precision arithmetic (a sigmoid built from exp, add and divide in bfloat16) is off
by an ulp on about a third of inputs. Compared with torch element for element."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

VALUES = np.linspace(-3.1, 3.3, 301).astype(np.float32)
POSITIVE = np.linspace(0.05, 4.0, 200).astype(np.float32)

# (op, inputs): every op here is exact against torch on these grids
EXACT = [("sigmoid", VALUES), ("exp", VALUES), ("expm1", VALUES), ("tanh", VALUES),
         ("sin", VALUES), ("cos", VALUES), ("atan", VALUES), ("erf", VALUES),
         ("erfc", VALUES), ("sinh", VALUES), ("asinh", VALUES), ("sinc", VALUES),
         ("log", POSITIVE), ("log1p", POSITIVE), ("log2", POSITIVE), ("sqrt", POSITIVE),
         ("reciprocal", POSITIVE), ("lgamma", POSITIVE), ("digamma", POSITIVE)]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("op, values", EXACT, ids=[op for op, _ in EXACT])
def test_unary_rounds_once_like_torch(op, values, dtype):
    expected = getattr(torch, op)(torch.from_numpy(values).to(getattr(torch, dtype)))
    got = getattr(ember, op)(ember.from_numpy(values).to(getattr(ember, dtype)))
    assert str(got.dtype) == str(expected.dtype)
    assert np.array_equal(np.asarray(got.float().numpy()), expected.float().numpy())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_rsqrt_within_one_ulp(dtype):
    """torch's rsqrt kernel is 1 / sqrt in float32 and NumPy's sqrt may differ from it by
    an ulp of float32, which after rounding to half precision moves one or two of 200
    results by one ulp of the half type."""
    expected = torch.rsqrt(torch.from_numpy(POSITIVE).to(getattr(torch, dtype)))
    got = ember.rsqrt(ember.from_numpy(POSITIVE).to(getattr(ember, dtype)))
    eps = torch.finfo(getattr(torch, dtype)).eps
    torch.testing.assert_close(torch.from_numpy(np.asarray(got.float().numpy())),
                               expected.float(), rtol=eps, atol=0)
    assert (np.asarray(got.float().numpy()) != expected.float().numpy()).sum() <= 3


def test_gradients_keep_the_dtype():
    x = ember.tensor([0.5, -1.25, 2.0], dtype=ember.bfloat16, requires_grad=True)
    x.sigmoid().sum().backward()
    t = torch.tensor([0.5, -1.25, 2.0], dtype=torch.bfloat16, requires_grad=True)
    t.sigmoid().sum().backward()
    assert str(x.grad.dtype) == "torch.bfloat16"
    torch.testing.assert_close(torch.from_numpy(np.asarray(x.grad.float().numpy())),
                               t.grad.float())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["silu", "softshrink"])
def test_activations_keep_the_dtype_and_round_once(name, dtype):
    """bfloat16 with a Python float is float32 in NumPy (ml_dtypes does not treat numbers
    as weak): silu and softshrink returned float32 for bfloat16 inputs."""
    expected = getattr(torch.nn.functional, name)(
        torch.from_numpy(VALUES).to(getattr(torch, dtype)))
    got = getattr(ember.nn.functional, name)(ember.from_numpy(VALUES).to(getattr(ember, dtype)))
    assert str(got.dtype) == str(expected.dtype)
    assert np.array_equal(np.asarray(got.float().numpy()), expected.float().numpy())
    x = ember.tensor([0.5, -1.0, 3.0], dtype=getattr(ember, dtype), requires_grad=True)
    getattr(ember.nn.functional, name)(x).sum().backward()
    assert str(x.grad.dtype) == f"torch.{dtype}"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_softmax_rounds_once(dtype):
    grid = VALUES.reshape(7, 43)
    expected = torch.softmax(torch.from_numpy(grid).to(getattr(torch, dtype)), dim=1)
    got = ember.softmax(ember.from_numpy(grid).to(getattr(ember, dtype)), dim=1)
    assert str(got.dtype) == str(expected.dtype)
    assert np.array_equal(np.asarray(got.float().numpy()), expected.float().numpy())
    x = ember.from_numpy(grid).to(getattr(ember, dtype)).requires_grad_()
    ember.softmax(x, 1)[:, 0].sum().backward()  # the Function path (recorded) agrees too
    t = torch.from_numpy(grid).to(getattr(torch, dtype)).requires_grad_()
    torch.softmax(t, 1)[:, 0].sum().backward()
    assert str(x.grad.dtype) == str(t.grad.dtype)
    torch.testing.assert_close(torch.from_numpy(np.asarray(x.grad.float().numpy())),
                               t.grad.float())
