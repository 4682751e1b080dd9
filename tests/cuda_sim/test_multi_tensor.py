"""Kernels over many tensors at once (src/ember/_backend/multi_tensor.py) against torch:
clip_grad_norm_'s 2-norm and rescale over gradients whose sizes straddle the kernel's
chunks (an empty one included), non-finite norms, and the per-tensor path for other norms.
On CI the kernels' CUDA C++ runs on the CPU through the CuPy double (g++)."""

import math

import numpy as np
import pytest
import torch

import ember
from ember._backend import multi_tensor
from ember._backend.device import array_module

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


def test_a_captured_pointer_table_outlives_the_cache(launched_kernels, monkeypatch):
    """A capture uses a table built before it (building one is a host upload, which a
    capturing stream refuses), and every replay reads that table's device memory, which
    the graph's pool does not hold: clearing the cache must not drop the last reference
    (the double's graph keeps its arguments alive itself, real CuPy's does not)."""
    monkeypatch.setattr(multi_tensor, "_TABLES", {})
    monkeypatch.setattr(multi_tensor, "_CAPTURED", {})
    theirs, mine = _params(3.0)
    ember.nn.utils.clip_grad_norm_(mine, 1.0)  # builds the table outside the capture
    arrays = [p.grad._data for p in mine]
    xp = array_module(arrays[0])
    table = multi_tensor.pointer_table(xp, arrays)
    graph = ember.cuda.CUDAGraph()
    with ember.cuda.graph(graph):
        ember.nn.utils.clip_grad_norm_(mine, 1.0)
    assert launched_kernels.count("ember_multi_tensor_clip") == 2
    others = [xp.ones(2, np.float32) for _ in range(80)]  # alive: distinct pointers
    for pair in zip(others[::2], others[1::2]):  # 40 other tables: the cache is cleared
        multi_tensor.pointer_table(xp, list(pair))
    assert multi_tensor._key(arrays) not in multi_tensor._TABLES
    assert any(kept is table for kept in multi_tensor._CAPTURED.values())
    for t, e in zip(theirs, mine):
        e.grad.copy_(ember.tensor(t.grad.numpy() * 5, device="cuda"))
        t.grad.mul_(5)
    graph.replay()
    torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    for t, e in zip(theirs, mine):
        torch.testing.assert_close(torch.from_numpy(e.grad.cpu().numpy()), t.grad)
