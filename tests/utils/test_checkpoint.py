"""ember.utils.checkpoint: same outputs and gradients as without checkpointing, as
torch.utils.checkpoint gives; the use_reentrant warning as PyTorch's."""

import numpy as np
import pytest
import torch
from oracle import check, randn

import ember


def _block(lib):
    layer = lib.nn.Linear(4, 4)
    with lib.no_grad():
        layer.weight.copy_(lib.tensor(np.linspace(-1, 1, 16, dtype=np.float32).reshape(4, 4)))
        layer.bias.fill_(0.1)
    return lambda x: lib.tanh(layer(x)) * 2


def test_checkpoint_matches_torch():
    check(lambda lib, x: lib.utils.checkpoint.checkpoint(_block(lib), x, use_reentrant=False),
          randn(3, 4))


def test_reentrant_checkpoint_backward_matches_torch():
    """use_reentrant=True supports .backward() only (torch refuses autograd.grad)."""
    grads = []
    for lib in (ember, torch):
        x = lib.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4),
                       requires_grad=True)
        lib.utils.checkpoint.checkpoint(_block(lib), x, use_reentrant=True).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6, atol=1e-6)


def test_checkpoint_sequential_matches_torch():
    def run(lib, x):
        model = lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.ReLU(), lib.nn.Linear(3, 2))
        with lib.no_grad():
            for i, p in enumerate(model.parameters()):
                p.copy_(lib.tensor(np.cos(np.arange(p.numel()) + i).reshape(tuple(p.shape)),
                                   dtype=lib.float32))
        return lib.utils.checkpoint.checkpoint_sequential(model, 2, x, use_reentrant=False)

    check(run, randn(5, 4))


def test_checkpoint_without_use_reentrant_warns_like_torch():
    for lib in (ember, torch):
        with pytest.warns(UserWarning, match="use_reentrant parameter should be passed"):
            lib.utils.checkpoint.checkpoint(lambda x: x * 2, lib.ones(2, requires_grad=True))
