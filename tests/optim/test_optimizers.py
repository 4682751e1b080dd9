"""Optimizers against PyTorch: identical parameter trajectories, state_dicts and errors.

Each row builds the same parameters (several shapes, two groups with different
hyper-parameters) in ember and torch, computes the gradient of the same fixed quadratic
loss in each library, and steps 10 times; the parameters must agree after every step.
"""

from __future__ import annotations

import contextlib
import importlib

import numpy as np
import pytest
import torch
from oracle import assert_same, check_raises, on_device

import ember

SHAPES = [(3, 4), (5,), (2, 3, 2)]
RNG = np.random.default_rng(7)
INIT = [RNG.standard_normal(s).astype(np.float32) for s in SHAPES]
TARGET = [RNG.standard_normal(s).astype(np.float32) for s in SHAPES]
CURV = [RNG.uniform(0.5, 3.0, s).astype(np.float32) for s in SHAPES]

# (optimizer, kwargs of group 0 / defaults, overrides for group 1)
CASES = [
    ("SGD", {"lr": 0.1}, {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}, {"momentum": 0.5}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}, {"dampening": 0.0}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, {"lr": 0.01}),
    ("SGD", {"lr": 0.05, "weight_decay": 0.1, "momentum": 0.5}, {"weight_decay": 0.0}),
    ("SGD", {"lr": 0.05, "maximize": True, "momentum": 0.2}, {"lr": 0.02}),
    ("Adam", {"lr": 0.1}, {"lr": 0.01}),
    ("Adam", {"lr": 0.1, "amsgrad": True}, {"betas": (0.8, 0.99)}),
    ("Adam", {"lr": 0.1, "weight_decay": 0.1}, {"weight_decay": 0.0}),
    ("Adam", {"lr": 0.1, "maximize": True}, {"eps": 1e-3}),
    ("Adam", {"lr": 0.1, "decoupled_weight_decay": True, "weight_decay": 0.1}, {"lr": 0.05}),
    ("AdamW", {"lr": 0.1}, {"weight_decay": 0.5}),
    ("AdamW", {"lr": 0.1, "amsgrad": True, "maximize": True}, {"lr": 0.01}),
    ("Adamax", {"lr": 0.1}, {"betas": (0.5, 0.9)}),
    ("Adamax", {"lr": 0.1, "weight_decay": 0.1, "maximize": True}, {"lr": 0.01}),
    ("NAdam", {"lr": 0.1}, {"momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.1, "weight_decay": 0.1}, {"lr": 0.02}),
    ("NAdam", {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True}, {"lr": 0.02}),
    ("NAdam", {"lr": 0.1, "maximize": True}, {"betas": (0.8, 0.9)}),
    ("RAdam", {"lr": 0.1}, {"betas": (0.9, 0.9)}),
    ("RAdam", {"lr": 0.1, "weight_decay": 0.1}, {"lr": 0.02}),
    ("RAdam", {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True}, {"lr": 0.02}),
    ("RAdam", {"lr": 0.1, "betas": (0.5, 0.6), "maximize": True}, {"lr": 0.02}),
    ("RMSprop", {"lr": 0.01}, {"alpha": 0.9}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}, {"momentum": 0.0}),
    ("RMSprop", {"lr": 0.01, "centered": True}, {"eps": 1e-3}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1},
     {"lr": 0.05}),
    ("RMSprop", {"lr": 0.01, "maximize": True}, {"lr": 0.02}),
    ("Adagrad", {"lr": 0.1}, {"lr": 0.5}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1}, {"initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "maximize": True}, {"eps": 1e-3}),
    ("Adadelta", {}, {"lr": 0.5}),
    ("Adadelta", {"rho": 0.5, "weight_decay": 0.1}, {"eps": 1e-3}),
    ("Adadelta", {"maximize": True}, {"lr": 2.0}),
    ("ASGD", {"lr": 0.05}, {"lambd": 1e-2}),
    ("ASGD", {"lr": 0.05, "t0": 3, "alpha": 0.5}, {"weight_decay": 0.1}),
    ("ASGD", {"lr": 0.05, "maximize": True}, {"lr": 0.02}),
    ("Rprop", {"lr": 0.1}, {"etas": (0.3, 1.5)}),
    ("Rprop", {"lr": 0.1, "step_sizes": (0.01, 0.15)}, {"lr": 0.01}),
    ("Rprop", {"lr": 0.1, "maximize": True}, {"lr": 0.3}),
]


def _make(lib, kwargs, group1):
    # ember's on the test device (pytest --device; cpu by default), torch's on cpu: the
    # round-trip tests read torch's with .numpy()
    with on_device(lib) if lib is ember else contextlib.nullcontext():
        params = [lib.tensor(a.copy(), requires_grad=True) for a in INIT]
    groups = [{"params": params[:2]}, {"params": params[2:], **group1}]
    return params, groups


def _quadratic_step(lib, params, opt):
    opt.zero_grad()
    loss = sum((lib.tensor(c).to(p.device) * (p - lib.tensor(t).to(p.device)) ** 2).sum()
               for p, t, c in zip(params, TARGET, CURV))
    loss.backward()
    opt.step()


def _build(lib, name, kwargs, group1):
    params, groups = _make(lib, kwargs, group1)
    return params, getattr(lib.optim, name)(groups, **kwargs)


def _assert_params(e_params, t_params, step, rtol=2e-6, atol=2e-7):
    for i, (e, t) in enumerate(zip(e_params, t_params)):
        assert_same(e.detach(), t.detach(), rtol=rtol, atol=atol, what=f"step {step} param {i}")


def _assert_state_dicts(e_sd, t_sd):
    assert list(e_sd["state"].keys()) == list(t_sd["state"].keys())
    for idx, t_state in t_sd["state"].items():
        e_state = e_sd["state"][idx]
        assert list(e_state.keys()) == list(t_state.keys()), idx
        for key, t_val in t_state.items():
            if isinstance(t_val, torch.Tensor):
                assert_same(e_state[key], t_val, rtol=2e-5, atol=2e-6, what=f"{idx}.{key}")
            else:
                assert e_state[key] == t_val
    assert len(e_sd["param_groups"]) == len(t_sd["param_groups"])
    for e_group, t_group in zip(e_sd["param_groups"], t_sd["param_groups"]):
        assert e_group == t_group


@pytest.mark.parametrize("name,kwargs,group1", CASES)
def test_trajectory_matches_torch(name, kwargs, group1):
    e_params, e_opt = _build(ember, name, kwargs, group1)
    t_params, t_opt = _build(torch, name, kwargs, group1)
    for step in range(10):
        _quadratic_step(ember, e_params, e_opt)
        _quadratic_step(torch, t_params, t_opt)
        _assert_params(e_params, t_params, step)
    _assert_state_dicts(e_opt.state_dict(), t_opt.state_dict())


def _torch_state_to_ember(sd):
    def conv(v):
        return ember.tensor(v.detach().numpy()) if isinstance(v, torch.Tensor) else v
    return {"state": {k: {kk: conv(vv) for kk, vv in s.items()} for k, s in sd["state"].items()},
            "param_groups": sd["param_groups"]}


def _ember_state_to_torch(sd):
    def conv(v):
        return torch.from_numpy(np.array(v.numpy())) if isinstance(v, ember.Tensor) else v
    return {"state": {k: {kk: conv(vv) for kk, vv in s.items()} for k, s in sd["state"].items()},
            "param_groups": sd["param_groups"]}


@pytest.mark.parametrize("name,kwargs,group1", [c for c in CASES if c[0] != "Adagrad"][::3]
                         + [("Adagrad", {"lr": 0.1, "lr_decay": 0.1}, {"lr": 0.3})])
def test_state_dict_round_trip_torch_ember_torch(name, kwargs, group1):
    t_params, t_opt = _build(torch, name, kwargs, group1)
    for _ in range(3):
        _quadratic_step(torch, t_params, t_opt)
    # torch -> ember (the torch state_dict itself, foreign tensors and all)
    e_params = [ember.tensor(p.detach().numpy().copy(), requires_grad=True) for p in t_params]
    e_opt = getattr(ember.optim, name)([{"params": e_params[:2]}, {"params": e_params[2:]}],
                                       lr=123.0)
    e_opt.load_state_dict(t_opt.state_dict())
    assert e_opt.param_groups[1]["lr"] == t_opt.param_groups[1]["lr"]
    for step in range(3):
        _quadratic_step(torch, t_params, t_opt)
        _quadratic_step(ember, e_params, e_opt)
        _assert_params(e_params, t_params, step)
    # ember -> torch
    t2_params = [torch.tensor(p.detach().numpy().copy(), requires_grad=True) for p in e_params]
    t2_opt = getattr(torch.optim, name)([{"params": t2_params[:2]}, {"params": t2_params[2:]}],
                                        lr=123.0)
    t2_opt.load_state_dict(_ember_state_to_torch(e_opt.state_dict()))
    for step in range(3):
        _quadratic_step(torch, t2_params, t2_opt)
        _quadratic_step(ember, e_params, e_opt)
        _assert_params(e_params, t2_params, step)


def test_state_dict_of_converted_torch_state_loads():
    t_params, t_opt = _build(torch, "Adam", {"lr": 0.1, "amsgrad": True}, {"lr": 0.01})
    for _ in range(2):
        _quadratic_step(torch, t_params, t_opt)
    e_params = [ember.tensor(p.detach().numpy().copy(), requires_grad=True) for p in t_params]
    e_opt = ember.optim.Adam([{"params": e_params[:2]}, {"params": e_params[2:]}])
    e_opt.load_state_dict(_torch_state_to_ember(t_opt.state_dict()))
    assert e_opt.state[e_params[0]]["step"].dtype == ember.float32
    _assert_state_dicts(e_opt.state_dict(), t_opt.state_dict())


# ---------------------------------------------------------------------------
# LBFGS
# ---------------------------------------------------------------------------


def _rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


@pytest.mark.parametrize("kwargs", [
    {},
    {"line_search_fn": "strong_wolfe"},
    {"history_size": 3, "max_iter": 5},
    {"lr": 0.5, "history_size": 5, "line_search_fn": "strong_wolfe", "tolerance_change": 1e-5},
])
def test_lbfgs_rosenbrock(kwargs):
    results = []
    for lib in (ember, torch):
        x = lib.tensor(np.array([-1.5, 2.0], dtype=np.float64), requires_grad=True)
        opt = lib.optim.LBFGS([x], **kwargs)

        def closure(x=x, opt=opt):
            opt.zero_grad()
            loss = _rosenbrock(x)
            loss.backward()
            return loss

        # Rosenbrock without line search is chaotic: float rounding (dot as mul+sum vs BLAS)
        # grows ~10x per outer step, so two steps (40 iterations) keep it below 1e-9.
        losses = [float(opt.step(closure).detach()) for _ in range(2)]
        results.append((x.detach().numpy().copy(), losses, opt.state[x]["func_evals"],
                        opt.state[x]["n_iter"]))
    (e_x, e_losses, e_evals, e_iter), (t_x, t_losses, t_evals, t_iter) = results
    np.testing.assert_allclose(e_x, t_x, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(e_losses, t_losses, rtol=1e-7, atol=1e-7)
    assert (e_evals, e_iter) == (t_evals, t_iter)


def test_lbfgs_step_does_not_warn_about_float_of_the_loss(monkeypatch):
    """PyTorch's LBFGS reads float(loss) outside grad mode, so a fresh process sees no
    'Converting a tensor with requires_grad=True to a scalar' warning from step()."""
    import warnings

    from ember import _tensor

    monkeypatch.setattr(_tensor, "_FLOAT_OF_GRAD_WARNED", [False])
    x = ember.tensor(np.array([-1.5, 2.0]), requires_grad=True)
    opt = ember.optim.LBFGS([x], max_iter=5, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step(closure)


def test_lbfgs_several_params_float32():
    results = []
    for lib in (ember, torch):
        params = [lib.tensor(a.copy(), requires_grad=True) for a in INIT]
        opt = lib.optim.LBFGS(params, history_size=4, max_iter=6)

        def closure(params=params, opt=opt, lib=lib):
            opt.zero_grad()
            loss = sum((lib.tensor(c) * (p - lib.tensor(t)) ** 2).sum()
                       for p, t, c in zip(params, TARGET, CURV))
            loss.backward()
            return loss

        opt.step(closure)
        opt.step(closure)
        results.append(params)
    _assert_params(results[0], results[1], "lbfgs", rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------
# Base class behaviour and errors
# ---------------------------------------------------------------------------


def _leaf(lib):
    return lib.tensor(INIT[1].copy(), requires_grad=True)


ERROR_CASES = [
    ("invalid lr", lambda lib: lib.optim.SGD([_leaf(lib)], lr=-1.0), "Invalid learning rate: -1.0"),
    ("invalid momentum", lambda lib: lib.optim.SGD([_leaf(lib)], lr=0.1, momentum=-0.5),
     "Invalid momentum value: -0.5"),
    ("nesterov", lambda lib: lib.optim.SGD([_leaf(lib)], lr=0.1, nesterov=True),
     "Nesterov momentum requires a momentum and zero dampening"),
    ("adam beta", lambda lib: lib.optim.Adam([_leaf(lib)], betas=(1.0, 0.9)),
     "Invalid beta parameter at index 0: 1.0"),
    ("adam eps", lambda lib: lib.optim.Adam([_leaf(lib)], eps=-1.0), "Invalid epsilon value: -1.0"),
    ("weight decay", lambda lib: lib.optim.AdamW([_leaf(lib)], weight_decay=-1.0),
     "Invalid weight_decay value: -1.0"),
    ("rprop etas", lambda lib: lib.optim.Rprop([_leaf(lib)], etas=(1.5, 1.2)),
     "Invalid eta values: 1.5, 1.2"),
    ("adadelta rho", lambda lib: lib.optim.Adadelta([_leaf(lib)], rho=1.5),
     "Invalid rho value: 1.5"),
    ("empty", lambda lib: lib.optim.SGD([], lr=0.1), "optimizer got an empty parameter list"),
    ("tensor params", lambda lib: lib.optim.SGD(_leaf(lib), lr=0.1),
     "params argument given to the optimizer should be an iterable"),
    ("non-leaf", lambda lib: lib.optim.SGD([_leaf(lib) * 2], lr=0.1),
     "can't optimize a non-leaf Tensor"),
    ("set of params", lambda lib: lib.optim.SGD([{"params": {_leaf(lib)}}], lr=0.1),
     "optimizer parameters need to be organized in ordered collections"),
    ("same param twice", lambda lib: (lambda p: lib.optim.SGD(
        [{"params": [p]}, {"params": [p]}], lr=0.1))(_leaf(lib)),
     "some parameters appear in more than one parameter group"),
    ("missing required lr", lambda lib: lib.optim.Optimizer(
        [_leaf(lib)], {"lr": importlib.import_module(lib.__name__ + ".optim.optimizer").required}),
     "parameter group didn't specify a value of required optimization parameter lr"),
    ("group count", lambda lib: lib.optim.SGD([_leaf(lib)], lr=0.1).load_state_dict(
        {"state": {}, "param_groups": []}),
     "loaded state dict has a different number of parameter groups"),
    ("group size", lambda lib: lib.optim.SGD([_leaf(lib)], lr=0.1).load_state_dict(
        {"state": {}, "param_groups": [{"params": [0, 1], "lr": 0.1}]}),
     "loaded state dict contains a parameter group that doesn't match the size"),
]


@pytest.mark.parametrize("label,fn,message", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_match_torch(label, fn, message):
    e_err, t_err = check_raises(fn)
    assert message in str(t_err)
    assert str(e_err) == str(t_err)


def test_zero_grad_set_to_none_and_zero():
    for set_to_none in (True, False):
        p = ember.tensor(INIT[0].copy(), requires_grad=True)
        opt = ember.optim.SGD([p], lr=0.1)
        (p * p).sum().backward()
        grad = p.grad
        opt.zero_grad(set_to_none=set_to_none)
        if set_to_none:
            assert p.grad is None
        else:
            assert p.grad is grad
            assert not p.grad.numpy().any()


def test_step_hooks_and_closure():
    calls = []
    p = ember.tensor(INIT[1].copy(), requires_grad=True)
    opt = ember.optim.Adam([p], lr=0.1)
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o is opt)))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", o is opt)))

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert isinstance(loss, ember.Tensor) and calls == [("pre", True), ("post", True)]
    pre.remove()
    opt.step(closure)
    assert calls[-1] == ("post", True) and len(calls) == 3


def test_state_dict_hooks_and_repr():
    p = ember.tensor(INIT[1].copy(), requires_grad=True)
    t = torch.tensor(INIT[1].copy(), requires_grad=True)
    e_opt = ember.optim.SGD([p], lr=0.1, momentum=0.9)
    t_opt = torch.optim.SGD([t], lr=0.1, momentum=0.9)
    assert repr(e_opt) == repr(t_opt)
    seen = []
    e_opt.register_state_dict_pre_hook(lambda o: seen.append("pre"))
    e_opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    e_opt.register_load_state_dict_post_hook(lambda o: seen.append("loaded"))
    sd = e_opt.state_dict()
    assert sd["extra"] == 1 and seen == ["pre"]
    e_opt.load_state_dict(sd)
    assert seen == ["pre", "loaded"]


def test_deepcopy_keeps_state_and_steps_independently():
    import copy

    p = ember.tensor(INIT[1].copy(), requires_grad=True)
    opt = ember.optim.Adam([p], lr=0.1)
    p.grad = ember.ones(5)
    opt.step()
    clone = copy.deepcopy(opt)
    assert clone.param_groups[0]["lr"] == 0.1
    assert len(clone.state) == 1
    clone_state = next(iter(clone.state.values()))
    assert_same(clone_state["exp_avg"], torch.full((5,), 0.1))
    assert clone_state["exp_avg"] is not opt.state[p]["exp_avg"]


def test_add_param_group_and_defaults():
    ps = [ember.tensor(a.copy(), requires_grad=True) for a in INIT]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in INIT]
    e_opt = ember.optim.Adam(ps[:1], lr=0.1)
    t_opt = torch.optim.Adam(ts[:1], lr=0.1)
    e_opt.add_param_group({"params": ps[1:], "lr": 0.01})
    t_opt.add_param_group({"params": ts[1:], "lr": 0.01})
    for e_group, t_group in zip(e_opt.param_groups, t_opt.param_groups):
        assert {k: v for k, v in e_group.items() if k != "params"} == \
            {k: v for k, v in t_group.items() if k != "params"}
    assert e_opt.defaults == t_opt.defaults


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop",
                                  "Adagrad", "Adadelta", "ASGD", "Rprop", "LBFGS"])
def test_defaults_match_torch(name):
    kwargs = {"lr": 0.1} if name == "SGD" else {}
    e_opt = getattr(ember.optim, name)([_leaf(ember)], **kwargs)
    t_opt = getattr(torch.optim, name)([_leaf(torch)], **kwargs)
    assert e_opt.defaults == t_opt.defaults
    assert list(e_opt.defaults) == list(t_opt.defaults)


def test_params_without_grad_are_skipped_and_float64():
    results = []
    for lib in (ember, torch):
        a = lib.tensor(INIT[0].astype(np.float64), requires_grad=True)
        b = lib.tensor(INIT[1].astype(np.float64), requires_grad=True)
        opt = lib.optim.Adam([a, b], lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            (a * a).sum().backward()
            opt.step()
        results.append((a, b, len(opt.state_dict()["state"])))
    assert_same(results[0][0].detach(), results[1][0].detach())
    assert_same(results[0][1].detach(), results[1][1].detach())
    assert results[0][2] == results[1][2] == 1


def test_named_parameters_give_param_names_like_torch():
    e_model = ember.nn.Linear(3, 2)
    t_model = torch.nn.Linear(3, 2)
    e_opt = ember.optim.SGD(e_model.named_parameters(), lr=0.1, momentum=0.9)
    t_opt = torch.optim.SGD(t_model.named_parameters(), lr=0.1, momentum=0.9)
    assert e_opt.state_dict()["param_groups"] == t_opt.state_dict()["param_groups"]
    with pytest.raises(ValueError, match="all optimizer param groups should be with/without"):
        e_opt.add_param_group({"params": [ember.zeros(2, requires_grad=True)]})


def test_lbfgs_state_dict_round_trip_from_torch():
    results = []
    t_x = torch.tensor(np.array([-1.2, 1.0]), requires_grad=True)
    t_opt = torch.optim.LBFGS([t_x], max_iter=4, history_size=3)

    def closure_for(lib, x, opt):
        def closure():
            opt.zero_grad()
            loss = _rosenbrock(x)
            loss.backward()
            return loss
        return closure

    t_opt.step(closure_for(torch, t_x, t_opt))
    e_x = ember.tensor(t_x.detach().numpy().copy(), requires_grad=True)
    e_opt = ember.optim.LBFGS([e_x], max_iter=4, history_size=3)
    e_opt.load_state_dict(t_opt.state_dict())
    for lib, x, opt in ((ember, e_x, e_opt), (torch, t_x, t_opt)):
        opt.step(closure_for(lib, x, opt))
        results.append(x.detach().numpy().copy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-9, atol=1e-9)


FLAT_CASES = [
    ("Adam", {"lr": 0.1, "amsgrad": True, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.1}),
    ("ASGD", {"lr": 0.05, "t0": 2}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("Rprop", {"lr": 0.1}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
]


@pytest.mark.parametrize("name,kwargs", FLAT_CASES)
def test_group_with_missing_grads_and_mixed_dtypes_matches_torch(name, kwargs):
    """A parameter without a gradient for some steps falls behind the others ('step' out
    of lockstep), and a float64 parameter joins later: the group must still follow torch."""
    runs = []
    for lib in (ember, torch):
        params = [lib.tensor(a.copy(), requires_grad=True) for a in INIT]
        opt = getattr(lib.optim, name)(params, **kwargs)
        extra = lib.tensor(INIT[1].astype(np.float64), requires_grad=True)
        for step in range(9):
            if step == 5:
                opt.param_groups[0]["params"].append(extra)
            opt.zero_grad()
            loss = sum((lib.tensor(c) * (p - lib.tensor(t)) ** 2).sum()
                       for p, t, c in zip(params, TARGET, CURV))
            loss = loss + (extra * extra).sum().to(loss.dtype)
            loss.backward()
            if 2 <= step < 4:
                params[1].grad = None
            opt.step()
        runs.append(params + [extra])
    _assert_params(runs[0], runs[1], "end")


def test_flat_state_is_shared_per_parameter_views():
    params = [ember.tensor(a.copy(), requires_grad=True) for a in INIT]
    opt = ember.optim.Adam(params, lr=0.1)
    _quadratic_step(ember, params, opt)
    exp_avg = opt.state[params[0]]["exp_avg"]
    assert tuple(exp_avg.shape) == SHAPES[0]
    before = exp_avg.numpy().copy()
    _quadratic_step(ember, params, opt)
    assert not np.array_equal(exp_avg.numpy(), before)  # the view follows the flat buffer
    assert opt.state[params[2]]["exp_avg"] is not None
    assert [float(opt.state[p]["step"]) for p in params] == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("name,kwargs", [
    ("Adam", {"lr": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01}),
])
def test_training_an_nn_model_matches_torch(name, kwargs):
    """Module parameters (weights and biases, one flat group) trained on the same batch."""
    t_model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    e_model = ember.nn.Sequential(ember.nn.Linear(6, 8), ember.nn.Tanh(), ember.nn.Linear(8, 3))
    e_model.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_model.state_dict().items()})
    x = RNG.standard_normal((16, 6)).astype(np.float32)
    y = RNG.standard_normal((16, 3)).astype(np.float32)
    models = []
    for lib, model in ((ember, e_model), (torch, t_model)):
        opt = getattr(lib.optim, name)(model.parameters(), **kwargs)
        for _ in range(5):
            opt.zero_grad()
            ((model(lib.tensor(x)) - lib.tensor(y)) ** 2).mean().backward()
            opt.step()
        models.append(list(model.parameters()))
    _assert_params(models[0], models[1], "trained", rtol=1e-5, atol=1e-6)


def test_step_hook_arguments_and_global_hooks_match_torch():
    records = []
    for lib in (ember, torch):
        calls = []
        p = lib.tensor(INIT[1].copy(), requires_grad=True)
        p.grad = lib.ones(5)
        opt = lib.optim.SGD([p], lr=0.1)
        optimizer_module = importlib.import_module(lib.__name__ + ".optim.optimizer")
        handles = [
            optimizer_module.register_optimizer_step_pre_hook(
                lambda o, a, k: calls.append(("global-pre", len(a), a[0] is o))),
            optimizer_module.register_optimizer_step_post_hook(
                lambda o, a, k: calls.append(("global-post", len(a), a[0] is o))),
            opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", len(a), dict(k)))),
            opt.register_step_post_hook(lambda o, a, k: calls.append(("post", len(a), dict(k)))),
        ]
        opt.step(closure=None)
        for handle in handles:
            handle.remove()
        opt.step()
        records.append(calls)
    assert records[0] == records[1]


def test_scheduler_warns_when_stepped_before_optimizer_like_torch():
    messages = []
    for lib in (ember, torch):
        p = lib.tensor(INIT[1].copy(), requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.1)
        opt.step()  # before the scheduler exists: does not count
        sched = lib.optim.lr_scheduler.StepLR(opt, 2)
        with pytest.warns(UserWarning) as caught:
            sched.step()
        messages.append([str(w.message) for w in caught])
    assert messages[0] == messages[1]


def test_scalar_parameters_in_a_group_match_torch():
    runs = []
    for lib in (ember, torch):
        params = [lib.tensor(1.5, requires_grad=True),
                  lib.tensor(INIT[1].copy(), requires_grad=True),
                  lib.tensor(-0.5, requires_grad=True)]
        opt = lib.optim.Adam(params, lr=0.1)
        for _ in range(4):
            opt.zero_grad()
            (params[0] ** 2 + (params[1] ** 2).sum() * params[2] ** 2).backward()
            opt.step()
        runs.append(params)
    _assert_params(runs[0], runs[1], "scalars")
