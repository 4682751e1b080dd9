"""Audit of issue 3's optim items against PyTorch 2.13: every option switched on at once,
tensor lr and the foreach/capturable/differentiable flags, the flat update (a few array
ops per group, not a loop of small ops per parameter), and scheduler state_dict round
trips ember -> torch and ember -> ember for every scheduler (SWALR included)."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
from test_lr_scheduler import CASES as SCHEDULERS
from test_lr_scheduler import _close, _comparable, _optimizer, _run
from test_optimizers import (
    _assert_params,
    _assert_state_dicts,
    _build,
    _quadratic_step,
)

import ember

COMBOS = [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5, "weight_decay": 0.1,
             "maximize": True}, {"momentum": 0.0}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1,
             "maximize": True}, {"lr": 0.01}),
    ("SGD", {"lr": 0.05, "weight_decay": 0.1}, {"lr": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "foreach": False}, {}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "foreach": True}, {}),
    ("Adam", {"lr": 0.1, "amsgrad": True, "weight_decay": 0.1, "maximize": True},
     {"betas": (0.5, 0.7)}),
    ("Adam", {"lr": 0.1, "amsgrad": True, "foreach": True}, {}),
    ("Adam", {"lr": 0.1, "foreach": False, "capturable": False, "differentiable": False}, {}),
    ("AdamW", {"lr": 0.1, "amsgrad": True, "weight_decay": 0.3, "betas": (0.8, 0.95),
               "eps": 1e-6}, {"amsgrad": False}),
    ("AdamW", {"lr": 0.1}, {"lr": 0.2}),
    ("Adamax", {"lr": 0.1, "weight_decay": 0.2, "eps": 1e-3}, {}),
    ("NAdam", {"lr": 0.1, "momentum_decay": 0.02, "weight_decay": 0.1,
               "decoupled_weight_decay": True, "maximize": True}, {}),
    ("RAdam", {"lr": 0.1, "weight_decay": 0.1, "maximize": True,
               "decoupled_weight_decay": True}, {}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "maximize": True,
                 "weight_decay": 0.1, "alpha": 0.9}, {}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5}, {"centered": True}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1,
                 "initial_accumulator_value": 0.2, "eps": 1e-5, "maximize": True}, {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1, "maximize": True},
     {}),
    ("ASGD", {"lr": 0.05, "lambd": 1e-3, "alpha": 0.6, "t0": 2, "weight_decay": 0.1,
              "maximize": True}, {}),
    ("Rprop", {"lr": 0.1, "etas": (0.4, 1.3), "step_sizes": (1e-4, 0.2), "maximize": True},
     {}),
]


@pytest.mark.parametrize("name,kwargs,group1", COMBOS,
                         ids=[f"{c[0]}-{'-'.join(c[1])}" for c in COMBOS])
def test_every_option_at_once_trajectory_and_state(name, kwargs, group1):
    e_params, e_opt = _build(ember, name, kwargs, group1)
    t_params, t_opt = _build(torch, name, kwargs, group1)
    for step in range(10):
        _quadratic_step(ember, e_params, e_opt)
        _quadratic_step(torch, t_params, t_opt)
        _assert_params(e_params, t_params, step)
    _assert_state_dicts(e_opt.state_dict(), t_opt.state_dict())


@pytest.mark.parametrize("name", ["Adam", "AdamW", "SGD"])
def test_tensor_lr(name):
    e_params, e_opt = _build(ember, name, {"lr": ember.tensor(0.05)}, {})
    t_params, t_opt = _build(torch, name, {"lr": torch.tensor(0.05)}, {})
    for step in range(10):
        _quadratic_step(ember, e_params, e_opt)
        _quadratic_step(torch, t_params, t_opt)
        _assert_params(e_params, t_params, step)


# ---------------------------------------------------------------------------
# "Each updates all parameters of a group with a few array operations"
# ---------------------------------------------------------------------------

ELEMENTWISE = ["SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Adagrad",
               "Adadelta", "ASGD", "Rprop"]
KWARGS = {"SGD": {"lr": 0.1, "momentum": 0.9}, "Adadelta": {}, "RMSprop": {"lr": 0.01,
                                                                           "centered": True}}


def _many_params(lib, sizes):
    rng = np.random.default_rng(3)
    params = [lib.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
              for s in sizes]
    grads = [rng.standard_normal(s).astype(np.float32) for s in sizes]
    return params, grads


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_group_of_small_params_is_one_update_and_matches_torch(name, monkeypatch):
    """40 small parameters plus two large ones: the small ones go through the optimizer's
    update once per step (flat buffers), the large ones once each; values equal torch's."""
    sizes = [(3, 4), (5,), (2, 3, 2)] * 13 + [(7,)] + [(80, 70), (5000,)]
    kwargs = KWARGS.get(name, {"lr": 0.05})
    e_params, grads = _many_params(ember, sizes)
    t_params, _ = _many_params(torch, sizes)
    e_opt = getattr(ember.optim, name)(e_params, **kwargs)
    t_opt = getattr(torch.optim, name)(t_params, **kwargs)
    calls = []
    update = type(e_opt)._update

    def counting(self, param, grad, state, group):
        calls.append(param.numel())
        return update(self, param, grad, state, group)

    monkeypatch.setattr(type(e_opt), "_update", counting)
    for step in range(4):
        calls.clear()
        for e, t, g in zip(e_params, t_params, grads):
            e.grad = ember.tensor(g * (step + 1))
            t.grad = torch.tensor(g * (step + 1))
        e_opt.step()
        t_opt.step()
        small_total = sum(int(np.prod(s)) for s in sizes[:-2])
        assert sorted(calls) == sorted([small_total, 5600, 5000]), calls
        _assert_params(e_params, t_params, step, rtol=1e-5, atol=1e-6)
    _assert_state_dicts(e_opt.state_dict(), t_opt.state_dict())


def test_flat_path_keeps_version_counters_and_identity():
    params, grads = _many_params(ember, [(3,), (4, 2), (5,)])
    opt = ember.optim.Adam(params, lr=0.1)
    versions = [p._version for p in params]
    for p, g in zip(params, grads):
        p.grad = ember.tensor(g)
    before = [p for p in params]
    opt.step()
    assert all(a is b for a, b in zip(params, before))
    assert all(p._version > v for p, v in zip(params, versions))
    assert all(p.requires_grad and p.grad_fn is None for p in params)


# ---------------------------------------------------------------------------
# Scheduler state_dicts: ember -> torch and ember -> ember, every scheduler
# ---------------------------------------------------------------------------

def _to_torch(value):
    if isinstance(value, ember.Tensor):
        return torch.from_numpy(np.array(value.numpy()))
    if isinstance(value, dict):
        return {k: _to_torch(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_torch(v) for v in value]
    return value


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_state_dict_ember_to_torch_and_ember(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e_opt, e_sched, _ = _run(ember, name, epochs=10)
        t_opt = _optimizer(torch)
        t_sched = SCHEDULERS[name](torch, t_opt)
        t_opt.load_state_dict(_to_torch(e_opt.state_dict()))
        t_sched.load_state_dict(_to_torch(e_sched.state_dict()))
        e2_opt = _optimizer(ember)
        e2_sched = SCHEDULERS[name](ember, e2_opt)
        e2_opt.load_state_dict(e_opt.state_dict())
        e2_sched.load_state_dict(e_sched.state_dict())
        for _ in range(20):
            for opt, sched in ((t_opt, t_sched), (e_opt, e_sched), (e2_opt, e2_sched)):
                opt.step()
                sched.step()
            _close(e_sched.get_last_lr(), t_sched.get_last_lr())
            _close(e2_sched.get_last_lr(), t_sched.get_last_lr())
            _close([g["lr"] for g in e2_opt.param_groups], [g["lr"] for g in t_opt.param_groups])
        _close(_comparable(e2_sched.state_dict()), _comparable(t_sched.state_dict()))
