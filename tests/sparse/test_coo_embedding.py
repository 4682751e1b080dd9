"""nn.Embedding(sparse=True) gives PyTorch's sparse weight gradient; SparseAdam follows
PyTorch's parameter trajectory and state."""

from __future__ import annotations

import numpy as np
import oracle
import pytest
import torch
from oracle import as_numpy, check_raises
from sparse_oracle import same_sparse

import ember

WEIGHT = np.random.default_rng(2).standard_normal((6, 3)).astype(np.float32)
BATCHES = [np.array([[0, 1, 4], [4, 4, 2]]), np.array([[5, 1, 0]]), np.array([[3, 3, 3]])]


def embedding(lib, **kwargs):
    module = lib.nn.Embedding(6, 3, sparse=True, **kwargs)
    with lib.no_grad():
        module.weight.copy_(lib.tensor(WEIGHT))
    return module


@pytest.mark.parametrize("padding_idx", [None, 1])
def test_sparse_weight_grad(padding_idx):
    grads = []
    for lib in (ember, torch):
        with oracle.on_device(lib):
            module = embedding(lib, padding_idx=padding_idx)
            for batch in BATCHES[:2]:  # two backward passes accumulate (concatenated)
                out = module(lib.tensor(batch))
                (out * lib.arange(float(out.numel())).reshape(out.shape)).sum().backward()
        grads.append(module.weight.grad)
    same_sparse(*grads)
    assert grads[0].device.type == oracle.DEVICE
    np.testing.assert_allclose(as_numpy(grads[0].to_dense()), as_numpy(grads[1].to_dense()))


def test_scale_grad_by_freq_refused():
    def run(lib):
        module = embedding(lib, scale_grad_by_freq=True)
        module(lib.tensor(BATCHES[0])).sum().backward()

    check_raises(run, match="scale_grad_by_freq not supported with sparse gradients")


@pytest.mark.parametrize("maximize", [False, True])
def test_sparse_adam_trajectory(maximize):
    results = []
    for lib in (ember, torch):
        with oracle.on_device(lib):
            module = embedding(lib, padding_idx=1)
            optimizer = lib.optim.SparseAdam(module.parameters(), lr=0.1, maximize=maximize)
            for batch in BATCHES * 2:
                optimizer.zero_grad()
                out = module(lib.tensor(batch))
                (out * out).sum().backward()
                optimizer.step()
        state = optimizer.state_dict()["state"][0]
        results.append((as_numpy(module.weight), state["step"], as_numpy(state["exp_avg"]),
                        as_numpy(state["exp_avg_sq"])))
    (e_weight, e_step, e_avg, e_sq), (t_weight, t_step, t_avg, t_sq) = results
    assert e_step == t_step
    np.testing.assert_allclose(e_weight, t_weight, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e_avg, t_avg, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e_sq, t_sq, rtol=1e-5, atol=1e-7)


def test_sparse_adam_refuses_dense_gradients():
    def run(lib):
        p = lib.nn.Parameter(lib.ones(2))
        p.grad = lib.ones(2)
        lib.optim.SparseAdam([p]).step()

    check_raises(run, match="SparseAdam does not support dense gradients")


def test_sparse_adam_on_the_oracle_device():
    """State and updates stay on the parameters' device (cuda: CuPy or its NumPy double)."""
    results = []
    for device in ("cpu", oracle.DEVICE):
        module = embedding(ember).to(device)
        optimizer = ember.optim.SparseAdam(module.parameters(), lr=0.1)
        for batch in BATCHES:
            optimizer.zero_grad()
            module(ember.tensor(batch, device=device)).pow(2).sum().backward()
            assert module.weight.grad.device == module.weight.device
            optimizer.step()
        assert optimizer.state[module.weight]["exp_avg"].device == module.weight.device
        results.append(as_numpy(module.weight))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6, atol=1e-7)
