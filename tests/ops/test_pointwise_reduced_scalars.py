"""float16/bfloat16 tensors times or over a Python number: PyTorch's CPU kernels take the
number unrounded as a float32 opmath scalar, compute in float32 and round once (NumPy
would round the number to half precision first, off by an ulp on a third of results);
number / tensor is reciprocal() * number; add's alpha is rounded to the tensor's dtype
first. Compared with torch element for element, in and out of place, with gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

VALUES = (np.random.default_rng(0).standard_normal(2000) * 10).astype(np.float32)
NUMBERS = [3.3, 0.37, 1e-3, 0.1, 7, 3]
OPS = {
    "mul": lambda t, s: t * s,
    "rmul": lambda t, s: s * t,
    "div": lambda t, s: t / s,
    "rdiv": lambda t, s: s / t,
    "mul_": lambda t, s: t.clone().mul_(s),
    "div_": lambda t, s: t.clone().div_(s),
    "imul": lambda t, s: t.clone().__imul__(s),
    "itruediv": lambda t, s: t.clone().__itruediv__(s),
    "torch.mul": lambda t, s: t.mul(s),
    "add": lambda t, s: t + s,
    "sub": lambda t, s: t - s,
    "rsub": lambda t, s: s - t,
}


def _same(got, expected):
    assert str(got.dtype) == str(expected.dtype)
    return np.array_equal(np.asarray(got.float().numpy()), expected.float().numpy())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("op", sorted(OPS))
def test_number_operand_like_torch(op, dtype):
    t = torch.from_numpy(VALUES).to(getattr(torch, dtype))
    e = ember.from_numpy(VALUES).to(getattr(ember, dtype))
    for number in NUMBERS:
        assert _same(OPS[op](e, number), OPS[op](t, number)), number


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_deg2rad_and_rad2deg(dtype):
    t = torch.from_numpy(VALUES).to(getattr(torch, dtype))
    e = ember.from_numpy(VALUES).to(getattr(ember, dtype))
    assert _same(ember.deg2rad(e), torch.deg2rad(t))
    assert _same(ember.rad2deg(e), torch.rad2deg(t))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_gradient_of_a_scaled_tensor(dtype):
    t = torch.from_numpy(VALUES[:50]).to(getattr(torch, dtype)).requires_grad_()
    e = ember.from_numpy(VALUES[:50]).to(getattr(ember, dtype)).requires_grad_()
    (t * 0.37 / 3.3).sum().backward()
    (e * 0.37 / 3.3).sum().backward()
    assert _same(e.grad, t.grad)


def test_alpha_keeps_its_rounding():
    """add/sub with alpha: alpha rounds to bfloat16 first in PyTorch too; unchanged by the
    number rule above (the values here round the same in both orders)."""
    t = torch.tensor([1.0, 2.5, -3.0], dtype=torch.bfloat16)
    e = ember.tensor([1.0, 2.5, -3.0], dtype=ember.bfloat16)
    assert _same(ember.add(e, e, alpha=0.5), torch.add(t, t, alpha=0.5))
    assert _same(e.sub(e, alpha=2), t.sub(t, alpha=2))


def test_float32_and_float64_untouched():
    for dtype in ("float32", "float64"):
        t = torch.from_numpy(VALUES).to(getattr(torch, dtype))
        e = ember.from_numpy(VALUES).to(getattr(ember, dtype))
        assert _same(e * 3.3, t * 3.3) and _same(e / 3.3, t / 3.3)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("scalar_dtype", ["float32", "float64", "float16", "bfloat16"])
def test_zero_dim_tensor_operand_like_torch(dtype, scalar_dtype):
    """A 0-d tensor second is PyTorch's CPU scalar (read unrounded); first, it is rounded
    to the common dtype like any operand."""
    t = torch.from_numpy(VALUES).to(getattr(torch, dtype))
    e = ember.from_numpy(VALUES).to(getattr(ember, dtype))
    ts = torch.tensor(3.3, dtype=getattr(torch, scalar_dtype))
    es = ember.tensor(3.3, dtype=getattr(ember, scalar_dtype))
    for op in (lambda a, s: a * s, lambda a, s: s * a, lambda a, s: a / s,
               lambda a, s: s / a, lambda a, s: a[0] * s, lambda a, s: a.clone().mul_(s)):
        assert _same(op(e, es), op(t, ts))
