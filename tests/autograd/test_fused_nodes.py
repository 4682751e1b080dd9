"""Ops that are one graph node over an inner computation: grid_sample (its inner graph
replayed in backward), affine_grid, interpolate/pad (per-dim stages in one node).

The node-name tables live in test_grad_fn_names.py; here: gradients against torch where
the one-node form changes how they are produced (grid gradient of nearest sampling,
double backward through the re-run inner graph, backward twice), checked in float64.
"""

from __future__ import annotations

import numpy as np
import oracle
import pytest
import torch
from oracle import as_numpy

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


_RNG = np.random.default_rng(3)
_IMAGE = _RNG.standard_normal((2, 3, 5, 4))
_GRID = np.tanh(_RNG.standard_normal((2, 3, 4, 2))) * 1.1
_VOLUME = _RNG.standard_normal((1, 2, 3, 4, 3))
_GRID3 = np.tanh(_RNG.standard_normal((1, 2, 3, 2, 3)))


def _pair(lib, image, grid):
    return (lib.tensor(image, requires_grad=True), lib.tensor(grid, requires_grad=True))


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_gradients_match_torch(mode, padding_mode):
    results = []
    for lib in (ember, torch):
        x, g = _pair(lib, _IMAGE, _GRID)
        out = lib.nn.functional.grid_sample(x, g, mode, padding_mode, align_corners=False)
        upstream = lib.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)))
        gx, gg = lib.autograd.grad(out, (x, g), upstream)
        results.append([as_numpy(t.detach()) for t in (out, gx, gg)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("case", ["2d", "3d"])
def test_grid_sample_double_backward(case):
    image, grid = (_IMAGE, _GRID) if case == "2d" else (_VOLUME, _GRID3)
    x, g = _pair(ember, image, grid)
    assert ember.autograd.gradgradcheck(
        lambda a, b: ember.nn.functional.grid_sample(a, b, align_corners=True), (x, g))
    seconds = []
    for lib in (ember, torch):
        x, g = _pair(lib, image, grid)
        out = lib.nn.functional.grid_sample(x, g, align_corners=True)
        gx, gg = lib.autograd.grad((out * out).sum(), (x, g), create_graph=True)
        seconds.append(lib.autograd.grad((gx * gx).sum() + gg.sum(), (x, g)))
    for ours, theirs in zip(*seconds):
        np.testing.assert_allclose(as_numpy(ours), as_numpy(theirs), rtol=1e-7, atol=1e-7)


def test_grid_sample_backward_twice():
    errors = []
    for lib in (ember, torch):
        x, g = _pair(lib, _IMAGE, _GRID)
        out = lib.nn.functional.grid_sample(x, g, align_corners=False).sum()
        out.backward(retain_graph=True)
        first = x.grad.clone()
        out.backward()
        np.testing.assert_allclose(as_numpy(x.grad), 2 * as_numpy(first), rtol=1e-12)
        with pytest.raises(RuntimeError) as info:
            out.backward()
        errors.append(str(info.value).split(".")[0])
    assert errors[0] == errors[1]


def test_grid_sample_input_modified_in_place():
    for lib in (ember, torch):
        x, g = _pair(lib, _IMAGE, _GRID)
        x = x.clone()
        out = lib.nn.functional.grid_sample(x, g, align_corners=False)
        x.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()


def test_grid_sample_without_grad_records_nothing():
    x, g = _pair(ember, _IMAGE, _GRID)
    with ember.no_grad():
        out = ember.nn.functional.grid_sample(x, g, align_corners=False)
    expected = torch.nn.functional.grid_sample(torch.tensor(_IMAGE), torch.tensor(_GRID),
                                               align_corners=False)
    assert out.grad_fn is None and not out.requires_grad
    np.testing.assert_allclose(as_numpy(out), as_numpy(expected), rtol=1e-12)


@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 3, 2, 4)])
def test_affine_grid_double_backward(size):
    shape = (2, 2, 3) if len(size) == 4 else (2, 3, 4)
    theta = _RNG.standard_normal(shape)
    t = ember.tensor(theta, requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda a: ember.nn.functional.affine_grid(a, size, align_corners=False), (t,))
    assert ember.autograd.gradgradcheck(
        lambda a: ember.nn.functional.affine_grid(a, size, align_corners=False) ** 2, (t,))
    names = []
    for lib in (ember, torch):
        t = lib.tensor(theta, requires_grad=True)
        out = lib.nn.functional.affine_grid(t, size, align_corners=False)
        grad = lib.autograd.grad(out, t, lib.ones_like(out, requires_grad=True),
                                 create_graph=True)[0]
        names.append(grad.requires_grad)
    assert names[0] == names[1]


@pytest.mark.parametrize("use_input_stats", [True, False])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3, 7), (1, 3, 2, 2, 2)])
def test_instance_norm_gradients_match_torch(shape, use_input_stats):
    """instance_norm is PyTorch's view of a batch-norm node over a (1, N*C, *) view in both
    modes; values and every gradient as PyTorch's, float64."""
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(shape), rng.random(3) + 0.5, rng.standard_normal(3)]
    upstream = rng.standard_normal(shape)
    results = []
    for lib in (ember, torch):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in arrays)
        mean = lib.tensor(np.linspace(-0.5, 0.5, 3))
        var = lib.tensor(np.linspace(0.5, 2.0, 3))
        out = lib.nn.functional.instance_norm(x, mean, var, w, b,
                                              use_input_stats=use_input_stats)
        grads = lib.autograd.grad(out, (x, w, b), lib.tensor(upstream))
        results.append([as_numpy(t.detach()) for t in (out, *grads)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-7)
    x, w, b = (ember.tensor(a, requires_grad=True) for a in arrays)
    mean, var = ember.tensor(np.zeros(3)), ember.tensor(np.ones(3))
    assert ember.autograd.gradgradcheck(
        lambda *t: ember.nn.functional.instance_norm(
            t[0], mean, var, t[1], t[2], use_input_stats=use_input_stats), (x, w, b))


@pytest.mark.parametrize("groups", [1, 3])
def test_group_norm_gradients_match_torch(groups):
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal((2, 3, 4, 3)), rng.random(3) + 0.5, rng.standard_normal(3)]
    upstream = rng.standard_normal((2, 3, 4, 3))
    results = []
    for lib in (ember, torch):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in arrays)
        out = lib.nn.functional.group_norm(x, groups, w, b)
        grads = lib.autograd.grad(out, (x, w, b), lib.tensor(upstream))
        results.append([as_numpy(t.detach()) for t in (out, *grads)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-7)
    x, w, b = (ember.tensor(a, requires_grad=True) for a in arrays)
    assert ember.autograd.gradgradcheck(
        lambda *t: ember.nn.functional.group_norm(t[0], groups, t[1], t[2]), (x, w, b))


def test_resample_node_classes_unpickle_in_a_fresh_process():
    """The per-mode node classes are made at import, so pickles of them resolve anywhere."""
    import pickle
    import subprocess
    import sys

    F = ember.nn.functional
    x = ember.tensor(_IMAGE, requires_grad=True)
    classes = [type(F.interpolate(x, size=7, mode="bicubic").grad_fn),
               type(F.pad(x, (1, 1, 2, 0), mode="replicate").grad_fn)]
    code = ("import pickle, sys; print(' '.join(c.__name__ for c in "
            "pickle.loads(sys.stdin.buffer.read())))")
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(classes),
                         capture_output=True, check=True)
    assert out.stdout.decode().split() == ["UpsampleBicubic2DBackward0",
                                           "ReplicationPad2DBackward0"]
