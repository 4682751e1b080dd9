"""Kernels over many tensors at once (src/ember/_backend/multi_tensor.py) against torch:
clip_grad_norm_'s 2-norm and rescale over gradients whose sizes straddle the kernel's
chunks (an empty one included), non-finite norms, and the per-tensor path for other norms.
On CI the kernels' CUDA C++ runs on the CPU through the CuPy double (g++)."""

import math

import numpy as np
import pytest
import torch

import ember

SHAPES = [(700,), (0,), (3, 5), (512,), (40, 30), (1,)]




def _params(scale, dtype="float32", poison=None, shapes=SHAPES):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(shape) * scale for shape in shapes]
    if poison is not None:
        grads[2][1, 1] = poison
    theirs, mine = [], []
    for g in grads:
        t = torch.zeros(g.shape, dtype=getattr(torch, dtype), requires_grad=True)
        t.grad = torch.tensor(g, dtype=t.dtype)
        e = ember.zeros(g.shape, dtype=getattr(ember, dtype), device="cuda", requires_grad=True)
        e.grad = ember.tensor(g, dtype=e.dtype, device="cuda")
        theirs.append(t)
        mine.append(e)
    return theirs, mine


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scale", [0.01, 3.0])  # under and over max_norm
def test_clip_grad_norm_is_two_kernels_and_matches_torch(launched_kernels, dtype, scale):
    theirs, mine = _params(scale, dtype)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    total = ember.nn.utils.clip_grad_norm_(mine, 1.0)
    assert total.device.type == "cuda" and total.dtype == getattr(ember, dtype)
    torch.testing.assert_close(torch.tensor(total.item(), dtype=expected.dtype), expected)
    for t, e in zip(theirs, mine):
        torch.testing.assert_close(torch.from_numpy(e.grad.cpu().numpy()), t.grad)
    assert launched_kernels == ["ember_multi_tensor_squares", "ember_multi_tensor_clip"]


def test_non_finite_norms_as_torch(cupy_backend):
    theirs, mine = _params(1.0, poison=math.inf)
    with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
        ember.nn.utils.clip_grad_norm_(mine, 1.0, error_if_nonfinite=True)
    theirs, mine = _params(1.0, poison=math.nan)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    total = ember.nn.utils.clip_grad_norm_(mine, 1.0)
    assert math.isnan(total.item()) and math.isnan(expected.item())
    for t, e in zip(theirs, mine):
        torch.testing.assert_close(torch.from_numpy(e.grad.cpu().numpy()), t.grad,
                                   equal_nan=True)


def test_other_norms_keep_the_per_tensor_path(launched_kernels):
    theirs, mine = _params(3.0, shapes=[s for s in SHAPES if s != (0,)])  # inf: no identity
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=math.inf)
    total = ember.nn.utils.clip_grad_norm_(mine, 1.0, norm_type=math.inf)
    torch.testing.assert_close(torch.tensor(total.item()), expected)
    for t, e in zip(theirs, mine):
        torch.testing.assert_close(torch.from_numpy(e.grad.cpu().numpy()), t.grad)
    assert "ember_multi_tensor_squares" not in launched_kernels
