"""Muon and swap_in_optimizer_params_and_state against PyTorch 2.13: trajectories over
several steps (float64 and float32, tall and wide matrices, every option), state_dict
round trip both ways, argument errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember


def _matrices(dtype, shapes=((6, 4), (3, 5))):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


def _pair(arrays, **kwargs):
    t_params = [torch.tensor(a, requires_grad=True) for a in arrays]
    e_params = [ember.tensor(a, requires_grad=True) for a in arrays]
    return (t_params, torch.optim.Muon(t_params, **kwargs),
            e_params, ember.optim.Muon(e_params, **kwargs))


def _step(lib, params, opt, targets):
    opt.zero_grad()
    loss = sum(((p - lib.tensor(t)) ** 2 * lib.tensor(t).cos()).sum()
               for p, t in zip(params, targets))
    loss.backward()
    opt.step()


def _close(e, t, **tol):
    torch.testing.assert_close(torch.from_numpy(e.detach().numpy().copy()), t.detach(), **tol)


CASES = [
    {},
    {"lr": 0.02, "momentum": 0.9, "weight_decay": 0.01},
    {"lr": 0.05, "nesterov": False, "adjust_lr_fn": "match_rms_adamw"},
    {"lr": 0.05, "ns_steps": 3, "ns_coefficients": (2.0, -1.5, 0.5), "eps": 1e-5,
     "adjust_lr_fn": "original"},
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kwargs", CASES)
def test_muon_trajectory_matches_torch(kwargs, dtype):
    arrays = _matrices(dtype)
    targets = [a * 0.5 + 0.25 for a in _matrices(dtype)]
    t_params, t_opt, e_params, e_opt = _pair(arrays, **kwargs)
    tol = {"rtol": 1e-12, "atol": 1e-12} if dtype == np.float64 else {}
    for _ in range(6):
        _step(torch, t_params, t_opt, targets)
        _step(ember, e_params, e_opt, targets)
        for e, t in zip(e_params, t_params):
            _close(e, t, **tol)
    for e, t in zip(e_params, t_params):
        _close(e_opt.state[e]["momentum_buffer"], t_opt.state[t]["momentum_buffer"], **tol)


def test_muon_state_dict_round_trips_with_torch():
    arrays = _matrices(np.float32)
    targets = _matrices(np.float32, ((6, 4), (3, 5)))
    t_params, t_opt, e_params, e_opt = _pair(arrays, lr=0.03)
    for _ in range(2):
        _step(torch, t_params, t_opt, targets)
        _step(ember, e_params, e_opt, targets)
    e_sd, t_sd = e_opt.state_dict(), t_opt.state_dict()
    assert e_sd["param_groups"] == t_sd["param_groups"]
    assert list(e_sd["state"][0]) == list(t_sd["state"][0]) == ["momentum_buffer"]
    # ember's state continues in a fresh torch Muon and torch's in a fresh ember Muon
    t_params2 = [p.detach().clone().requires_grad_() for p in t_params]
    e_params2 = [ember.tensor(p.detach().numpy(), requires_grad=True) for p in t_params]
    t_opt2, e_opt2 = torch.optim.Muon(t_params2), ember.optim.Muon(e_params2)
    t_opt2.load_state_dict({"state": {k: {n: torch.from_numpy(v.numpy().copy())
                                          for n, v in s.items()} for k, s in e_sd["state"].items()},
                            "param_groups": e_sd["param_groups"]})
    e_opt2.load_state_dict(t_sd)
    assert t_opt2.param_groups[0]["lr"] == e_opt2.param_groups[0]["lr"] == 0.03
    for _ in range(2):
        _step(torch, t_params2, t_opt2, targets)
        _step(ember, e_params2, e_opt2, targets)
    for e, t in zip(e_params2, t_params2):
        _close(e, t)


def test_muon_rejects_what_torch_rejects():
    good = [ember.zeros(2, 2, requires_grad=True)]
    for kwargs, message in [({"lr": -1.0}, "Learning rate should be >= 0 but is: -1.0"),
                            ({"momentum": -0.1}, "momentum should be >= 0 but is: -0.1"),
                            ({"weight_decay": -1.0}, "weight decay should be >= 0 but is: -1.0"),
                            ({"adjust_lr_fn": "x"}, "Adjust learning rate function x is not")]:
        with pytest.raises(ValueError, match=message):
            torch.optim.Muon([torch.zeros(2, 2, requires_grad=True)], **kwargs)
        with pytest.raises(ValueError, match=message):
            ember.optim.Muon(good, **kwargs)
    with pytest.raises(ValueError, match=r"only supports 2D .*size: torch.Size\(\[3\]\)"):
        ember.optim.Muon([ember.zeros(3, requires_grad=True)])
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        ember.optim.Muon(good, lr=ember.tensor([0.1, 0.2]))
    for kwargs, message in [({"ns_steps": 100}, "Number of steps must be less than 100"),
                            ({"ns_coefficients": (1.0, 2.0)}, "exactly 3 values")]:
        for lib in (torch, ember):
            p = lib.ones(2, 2, requires_grad=True)
            opt = lib.optim.Muon([p], **kwargs)
            p.sum().backward()
            with pytest.raises(ValueError, match=message):
                opt.step()


def _swap_setup(lib):
    params = [lib.ones(2, 2, requires_grad=True), lib.ones(3, 2, requires_grad=True)]
    opt = lib.optim.Muon([{"params": params[:1]}, {"params": params[1:], "lr": 0.1}], lr=0.01)
    sum((p * p).sum() for p in params).backward()
    opt.step()
    return params, opt


def test_swap_in_steps_the_given_tensors_and_restores():
    results = {}
    for lib in (torch, ember):
        params, opt = _swap_setup(lib)
        live_params = [p.detach().clone() for p in params]
        live_groups = [dict(g) for g in opt.param_groups]
        sd = opt.state_dict()
        sd = {"state": {k: {n: v.clone() for n, v in s.items()} for k, s in sd["state"].items()},
              "param_groups": [dict(g, lr=0.5) for g in sd["param_groups"]]}
        swapped = {f"p{i}": (p.detach() * 2).requires_grad_() for i, p in enumerate(params)}
        for p in swapped.values():
            p.grad = p.detach() * 3
        with lib.optim.swap_in_optimizer_params_and_state(opt, swapped, sd):
            assert opt.param_groups[0]["params"][0] is swapped["p0"]
            assert opt.param_groups[1]["lr"] == 0.5
            opt.step()
        assert all(g1["params"] is g2["params"] and g1["lr"] == g2["lr"]
                   for g1, g2 in zip(opt.param_groups, live_groups))
        assert all(lib.equal(p.detach(), q) for p, q in zip(params, live_params))
        results[lib] = ([p.detach().numpy().copy() for p in swapped.values()],
                        [sd["state"][i]["momentum_buffer"].numpy().copy() for i in (0, 1)])
    for e, t in zip(results[ember][0] + results[ember][1], results[torch][0] + results[torch][1]):
        np.testing.assert_allclose(e, t, rtol=1.3e-6, atol=1e-5)


def test_swap_in_errors_match_torch():
    for lib in (torch, ember):
        fresh = lib.optim.Muon([lib.ones(2, 2, requires_grad=True)])
        with pytest.raises(RuntimeError, match="requires initialized optimizer state"):
            with lib.optim.swap_in_optimizer_params_and_state(fresh, {}, {}):
                pass
        params, opt = _swap_setup(lib)
        sd = opt.state_dict()
        named = {str(i): p for i, p in enumerate(params)}
        bad = [({"state": [], "param_groups": []}, "to be a dict mapping packed parameter ids"),
               ({"state": sd["state"], "param_groups": sd["param_groups"][:1]},
                "different number of parameter groups"),
               ({"state": {**sd["state"], 7: {}}, "param_groups": sd["param_groups"]},
                r"got extra keys \[7\]"),
               ({"state": sd["state"],
                 "param_groups": [dict(g, extra=1) for g in sd["param_groups"]]},
                r"Keys only in swap-in: \['extra'\]")]
        for state_dict, message in bad:
            with pytest.raises(RuntimeError, match=message):
                with lib.optim.swap_in_optimizer_params_and_state(opt, named, state_dict):
                    pass
        with pytest.raises(RuntimeError, match="match optimizer.param_groups ordering"):
            with lib.optim.swap_in_optimizer_params_and_state(opt, {"0": params[0]}, sd):
                pass
