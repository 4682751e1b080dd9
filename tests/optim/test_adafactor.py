"""Adafactor against PyTorch 2.13: 10-step trajectories over matrices, vectors and a 3-d
parameter (factored along its last two dims), every option, state_dict layout, errors."""

from __future__ import annotations

import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
import oracle
from oracle import as_numpy
from test_optimizers import _assert_params, _assert_state_dicts, _build, _quadratic_step

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


CASES = [
    {},
    {"lr": 0.05, "weight_decay": 0.1},
    {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-6, 1e-2), "d": 2.0, "maximize": True},
    {"lr": 0.2, "foreach": False},
]


@pytest.mark.parametrize("kwargs", CASES)
def test_adafactor_trajectory_matches_torch(kwargs):
    e_params, e_opt = _build(ember, "Adafactor", kwargs, {"lr": 0.01})
    t_params, t_opt = _build(torch, "Adafactor", kwargs, {"lr": 0.01})
    for step in range(10):
        _quadratic_step(ember, e_params, e_opt)
        _quadratic_step(torch, t_params, t_opt)
        # float32 norms and rsqrt summed in another order than torch's: a few ulps per step
        _assert_params(e_params, t_params, step, rtol=2e-5, atol=2e-6)
    _assert_state_dicts(e_opt.state_dict(), t_opt.state_dict())


def test_adafactor_factors_a_3d_parameter():
    torch.manual_seed(0)
    t_p = torch.randn(2, 3, 4, requires_grad=True)
    e_p = ember.tensor(t_p.detach().numpy(), requires_grad=True)
    t_opt, e_opt = torch.optim.Adafactor([t_p]), ember.optim.Adafactor([e_p])
    for _ in range(3):
        for lib, p, opt in ((torch, t_p, t_opt), (ember, e_p, e_opt)):
            opt.zero_grad()
            (p.sin() * p).sum().backward()
            opt.step()
    assert tuple(e_opt.state[e_p]["row_var"].shape) == (2, 3, 1)
    assert tuple(e_opt.state[e_p]["col_var"].shape) == (2, 1, 4)
    torch.testing.assert_close(torch.from_numpy(as_numpy(e_p.detach())), t_p.detach())


@pytest.mark.parametrize("kwargs,message", [
    ({"lr": -1.0}, "Learning rate should be >= 0 but is: -1.0"),
    ({"beta2_decay": 0.5}, "beta2_decay should be <= 0 but is: 0.5"),
    ({"eps": (-1.0, 1e-3)}, "epsilon1 should be >= 0 but is: -1.0"),
    ({"eps": (None, -1.0)}, "epsilon2 should be >= 0 but is: -1.0"),
    ({"d": 0.5}, "Clipping threshold d should be >= 1 but is: 0.5"),
    ({"weight_decay": -0.1}, "weight_decay should be >= 0 but is: -0.1"),
])
def test_adafactor_argument_errors_match_torch(kwargs, message):
    for lib in (torch, ember):
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            lib.optim.Adafactor([lib.zeros(2, requires_grad=True)], **kwargs)


def test_adafactor_rejects_complex_parameters():
    p = ember.zeros(2, dtype=ember.complex64, requires_grad=True)
    p.grad = ember.zeros(2, dtype=ember.complex64)
    with pytest.raises(RuntimeError, match="Adafactor does not support complex parameters"):
        ember.optim.Adafactor([p]).step()
