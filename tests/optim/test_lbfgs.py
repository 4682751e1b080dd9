"""LBFGS paths the Rosenbrock tests in test_optimizers.py do not reach, each against torch:
a line search cut short by max_eval, one that must zoom many times, and the argument errors."""

import numpy as np
import pytest
import torch

import ember


def _run(lib, start, steps, loss_fn, **kwargs):
    x = lib.tensor(np.array(start, dtype=np.float64), requires_grad=True)
    opt = lib.optim.LBFGS([x], **kwargs)

    def closure():
        opt.zero_grad()
        loss = loss_fn(x)
        loss.backward()
        return loss

    losses = [float(opt.step(closure).detach()) for _ in range(steps)]
    state = opt.state[x]
    return x.detach().numpy().copy(), losses, state["func_evals"], state["n_iter"]


def _rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def _steep(p):
    """A narrow valley with a large first step: the line search must zoom back in."""
    return (p[0] ** 4).sum() * 50 + (p[1] - 3) ** 2 + (p[0] * p[1]) ** 2


def _wavy(p):
    """Many local minima along a long first step: a zoom trial lands at a bracket end."""
    return (p[0] * 5).cos() + p[1] ** 2 + (p[0] * p[1]).sin() * 3


def _far(p):
    """A distant minimum with a tiny step: the search keeps extrapolating until max_eval."""
    return ((p - 50) ** 2).sum()


SW = {"line_search_fn": "strong_wolfe"}


@pytest.mark.parametrize("loss_fn,start,kwargs", [
    (_wavy, [0.2, 0.9], {**SW, "lr": 30.0}),
    (_far, [1.3, -0.7], {**SW, "lr": 1e-3, "max_eval": 3}),
    (_rosenbrock, [1.3, -0.7], {**SW, "max_eval": 3}),  # line search cut short
    (_rosenbrock, [1.3, -0.7], {**SW, "max_iter": 2, "max_eval": 2}),
    (_steep, [1.3, -0.7], {**SW, "lr": 10.0}),  # zooms repeatedly
    (_steep, [1.3, -0.7], {**SW, "history_size": 2, "tolerance_change": 0.0}),
    (_steep, [1.3, -0.7], {"lr": 0.1, "history_size": 2}),
])
def test_lbfgs_matches_torch(loss_fn, start, kwargs):
    ember_run = _run(ember, start, 3, loss_fn, **kwargs)
    torch_run = _run(torch, start, 3, loss_fn, **kwargs)
    np.testing.assert_allclose(ember_run[0], torch_run[0], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ember_run[1], torch_run[1], rtol=1e-7, atol=1e-9)
    assert ember_run[2:] == torch_run[2:]


def test_lbfgs_state_keys_match_torch():
    x = torch.tensor([0.5, 0.5], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([x], max_iter=3)
    ex = ember.tensor(np.array([0.5, 0.5]), requires_grad=True)
    eopt = ember.optim.LBFGS([ex], max_iter=3)
    for p, o in ((x, opt), (ex, eopt)):
        def closure(p=p, o=o):
            o.zero_grad()
            loss = _rosenbrock(p)
            loss.backward()
            return loss
        o.step(closure)
    assert set(eopt.state[ex]) == set(opt.state[x])
    assert eopt.state[ex]["n_iter"] == opt.state[x]["n_iter"]
    assert len(eopt.state[ex]["al"]) == len(opt.state[x]["al"])


def test_lbfgs_errors_match_torch():
    for lib in (ember, torch):
        a = lib.zeros(2, requires_grad=True)
        b = lib.zeros(2, requires_grad=True)
        with pytest.raises(ValueError, match="doesn't support per-parameter options"):
            lib.optim.LBFGS([{"params": [a]}, {"params": [b]}])
        with pytest.raises(ValueError, match="Invalid learning rate"):
            lib.optim.LBFGS([a], lr=-1.0)
        opt = lib.optim.LBFGS([a], line_search_fn="backtracking")

        def closure(a=a, opt=opt):
            opt.zero_grad()
            loss = ((a - 1) ** 2).sum()
            loss.backward()
            return loss

        with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
            opt.step(closure)
