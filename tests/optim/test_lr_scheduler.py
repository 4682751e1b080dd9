"""Schedulers against PyTorch: the same lr (and momentum) sequence over 30 epochs, equal
state_dicts, and state_dict round trips between the libraries."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import ember


def _optimizer(lib, kind="SGD"):
    params = [lib.zeros(3, requires_grad=True), lib.zeros(2, requires_grad=True)]
    groups = [{"params": params[:1]}, {"params": params[1:], "lr": 0.05}]
    if kind == "Adam":
        return lib.optim.Adam(groups, lr=0.1)
    return lib.optim.SGD(groups, lr=0.1, momentum=0.9)


class _Scale:
    """A callable object: its __dict__ is saved in state_dict (a plain function is not)."""

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, epoch):
        return self.factor**epoch


# name -> builder(lib, optimizer) -> scheduler
CASES = {
    "LambdaLR": lambda lib, o: lib.optim.lr_scheduler.LambdaLR(o, lambda e: 0.95**e),
    "LambdaLR-list": lambda lib, o: lib.optim.lr_scheduler.LambdaLR(
        o, [lambda e: 1 / (e + 1), _Scale(0.9)]),
    "MultiplicativeLR": lambda lib, o: lib.optim.lr_scheduler.MultiplicativeLR(o, lambda e: 0.9),
    "StepLR": lambda lib, o: lib.optim.lr_scheduler.StepLR(o, step_size=7),
    "StepLR-gamma": lambda lib, o: lib.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda lib, o: lib.optim.lr_scheduler.MultiStepLR(o, [5, 12, 12, 20], 0.3),
    "ConstantLR": lambda lib, o: lib.optim.lr_scheduler.ConstantLR(o),
    "ConstantLR-factor": lambda lib, o: lib.optim.lr_scheduler.ConstantLR(o, 0.5, total_iters=11),
    "LinearLR": lambda lib, o: lib.optim.lr_scheduler.LinearLR(o),
    "LinearLR-down": lambda lib, o: lib.optim.lr_scheduler.LinearLR(o, 1.0, 0.1, total_iters=17),
    "ExponentialLR": lambda lib, o: lib.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
    "PolynomialLR": lambda lib, o: lib.optim.lr_scheduler.PolynomialLR(o),
    "PolynomialLR-power": lambda lib, o: lib.optim.lr_scheduler.PolynomialLR(o, 20, power=2.0),
    "CosineAnnealingLR": lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10),
    "CosineAnnealingLR-eta": lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingLR(
        o, T_max=7, eta_min=0.01),
    "CosineAnnealingWarmRestarts": lambda lib, o:
        lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=5),
    "CosineAnnealingWarmRestarts-mult": lambda lib, o:
        lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
    "CyclicLR": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=4),
    "CyclicLR-tri2": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(
        o, [0.01, 0.02], [0.1, 0.2], step_size_up=3, step_size_down=5, mode="triangular2"),
    "CyclicLR-exp": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(
        o, 0.01, 0.1, step_size_up=5, mode="exp_range", gamma=0.95, cycle_momentum=False),
    "CyclicLR-scale_fn": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(
        o, 0.01, 0.1, step_size_up=5, scale_fn=_Scale(0.8), scale_mode="iterations"),
    "OneCycleLR": lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, 0.5, total_steps=31),
    "OneCycleLR-linear": lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(
        o, [0.5, 0.3], epochs=4, steps_per_epoch=8, anneal_strategy="linear", pct_start=0.25),
    "OneCycleLR-3phase": lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(
        o, 1.0, total_steps=40, three_phase=True, div_factor=10.0),
    "SequentialLR": lambda lib, o: lib.optim.lr_scheduler.SequentialLR(
        o, [lib.optim.lr_scheduler.LinearLR(o, 0.1, total_iters=5),
            lib.optim.lr_scheduler.ExponentialLR(o, 0.9)], milestones=[5]),
    "SequentialLR-3": lambda lib, o: lib.optim.lr_scheduler.SequentialLR(
        o, [lib.optim.lr_scheduler.ConstantLR(o, 0.5, total_iters=4),
            lib.optim.lr_scheduler.CosineAnnealingLR(o, T_max=8),
            lib.optim.lr_scheduler.StepLR(o, 3, 0.5)], milestones=[6, 15]),
    "ChainedScheduler": lambda lib, o: lib.optim.lr_scheduler.ChainedScheduler(
        [lib.optim.lr_scheduler.ConstantLR(o, 0.2, total_iters=4),
         lib.optim.lr_scheduler.ExponentialLR(o, 0.9)]),
    "ChainedScheduler-cos": lambda lib, o: lib.optim.lr_scheduler.ChainedScheduler(
        [lib.optim.lr_scheduler.CosineAnnealingLR(o, T_max=6),
         lib.optim.lr_scheduler.MultiStepLR(o, [4, 9], 0.5)], optimizer=o),
    "SWALR": lambda lib, o: lib.optim.swa_utils.SWALR(o, swa_lr=0.02, anneal_epochs=6),
    "SWALR-linear": lambda lib, o: lib.optim.swa_utils.SWALR(
        o, swa_lr=[0.5, 0.01], anneal_epochs=4, anneal_strategy="linear"),
}
ADAM_CASES = {"CyclicLR", "OneCycleLR"}


def _run(lib, name, epochs=30, kind="SGD"):
    opt = _optimizer(lib, kind)
    sched = CASES[name](lib, opt)
    record = []
    for _ in range(epochs):
        opt.step()
        sched.step()
        group = opt.param_groups[0]
        record.append((list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups],
                       group.get("momentum"), group.get("betas")))
    return opt, sched, record


def _close(e, t):
    if isinstance(t, (list, tuple)):
        assert type(e) is type(t) and len(e) == len(t)
        for a, b in zip(e, t):
            _close(a, b)
    elif isinstance(t, float):
        assert math.isclose(e, t, rel_tol=1e-12, abs_tol=1e-15), (e, t)
    else:
        assert e == t


@pytest.mark.parametrize("name", list(CASES))
def test_lr_sequence_matches_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kinds = ["SGD", "Adam"] if name in ADAM_CASES else ["SGD"]
        for kind in kinds:
            _, e_sched, e_record = _run(ember, name, kind=kind)
            _, t_sched, t_record = _run(torch, name, kind=kind)
            _close(e_record, t_record)
            _close(_comparable(e_sched.state_dict()), _comparable(t_sched.state_dict()))


def _comparable(state):
    """A state_dict with callables dropped (they are bound to each library's objects)."""
    if isinstance(state, dict):
        return {k: _comparable(v) for k, v in state.items() if not callable(v)}
    if isinstance(state, list):
        return [_comparable(v) for v in state]
    return state


@pytest.mark.parametrize("name", [n for n in CASES if not n.startswith("SWALR")])
def test_state_dict_round_trip_torch_to_ember(name):
    """Run 10 epochs in torch, load its optimizer and scheduler state into ember, then both
    continue for 20 epochs with the same lrs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_opt, t_sched, _ = _run(torch, name, epochs=10)
        e_opt = _optimizer(ember)
        e_sched = CASES[name](ember, e_opt)
        e_opt.load_state_dict(t_opt.state_dict())
        e_sched.load_state_dict(t_sched.state_dict())
        for _ in range(20):
            for opt, sched in ((t_opt, t_sched), (e_opt, e_sched)):
                opt.step()
                sched.step()
            _close(e_sched.get_last_lr(), t_sched.get_last_lr())
            _close([g["lr"] for g in e_opt.param_groups], [g["lr"] for g in t_opt.param_groups])


def test_lambda_state_dict_keeps_callable_objects_only():
    opt = _optimizer(ember)
    sched = ember.optim.lr_scheduler.LambdaLR(opt, [lambda e: 1.0, _Scale(0.7)])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [None, {"factor": 0.7}]
    fresh = ember.optim.lr_scheduler.LambdaLR(_optimizer(ember), [lambda e: 1.0, _Scale(0.1)])
    fresh.load_state_dict(state)
    assert fresh.lr_lambdas[1].factor == 0.7


PLATEAU = [
    {},
    {"mode": "max", "patience": 2},
    {"threshold_mode": "abs", "threshold": 0.05, "patience": 1, "cooldown": 2},
    {"mode": "max", "threshold_mode": "abs", "factor": 0.5, "patience": 0},
    {"factor": 0.5, "patience": 1, "min_lr": [0.02, 0.01], "eps": 1e-3},
]


@pytest.mark.parametrize("kwargs", PLATEAU)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    metrics = [1.0, 0.9, 0.95, 0.9, 0.91, 0.92, 0.5, 0.5, 0.6, 0.7, 0.45, 0.46, 0.46, 0.47, 0.3]
    metrics = metrics * 2
    records = []
    for lib in (ember, torch):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        record = []
        for m in metrics:
            opt.step()
            sched.step(lib.tensor(m) if m > 0.9 else m)
            record.append((sched.get_last_lr(), sched.num_bad_epochs, sched.cooldown_counter,
                           sched.best, sched.last_epoch))
        records.append((record, sched.state_dict()))
    _close(records[0][0], records[1][0])
    assert records[0][1] == records[1][1]


def test_reduce_lr_on_plateau_round_trip():
    t_opt = _optimizer(torch)
    t_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, patience=1)
    for m in [1.0, 1.0, 1.0, 0.5]:
        t_sched.step(m)
    e_opt = _optimizer(ember)
    e_sched = ember.optim.lr_scheduler.ReduceLROnPlateau(e_opt, mode="max")
    e_opt.load_state_dict(t_opt.state_dict())
    e_sched.load_state_dict(t_sched.state_dict())
    for m in [0.6, 0.7, 0.7, 0.7, 0.2]:
        t_sched.step(m)
        e_sched.step(m)
        _close(e_sched.get_last_lr(), t_sched.get_last_lr())


def test_legacy_step_with_epoch_uses_closed_form():
    records = []
    for lib in (ember, torch):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        out = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for epoch in [4, 7, 2, 9]:
                opt.step()
                sched.step(epoch)
                out.append((sched.get_last_lr(), sched.last_epoch))
        out.append([str(w.message)[:40] for w in caught])
        records.append(out)
    _close(records[0], records[1])


def test_warm_restarts_step_with_fractional_epoch():
    records = []
    for lib in (ember, torch):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2)
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in np.arange(0, 20, 0.7):
                sched.step(float(epoch))
                out.append((sched.get_last_lr(), sched.T_i, sched.T_cur))
        records.append(out)
    _close(records[0], records[1])


SCHED_ERRORS = [
    lambda lib, o: lib.optim.lr_scheduler.StepLR(object(), 3),
    lambda lib, o: lib.optim.lr_scheduler.ConstantLR(o, factor=2.0),
    lambda lib, o: lib.optim.lr_scheduler.LinearLR(o, start_factor=0.0),
    lambda lib, o: lib.optim.lr_scheduler.LambdaLR(o, [lambda e: 1.0]),
    lambda lib, o: lib.optim.lr_scheduler.ReduceLROnPlateau(o, factor=1.0),
    lambda lib, o: lib.optim.lr_scheduler.ReduceLROnPlateau(o, mode="avg"),
    lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0),
    lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, 0.1),
    lambda lib, o: lib.optim.lr_scheduler.CyclicLR(o, 0.1, 1.0, mode="bad"),
    lambda lib, o: lib.optim.lr_scheduler.StepLR(o, 3, last_epoch=4),
    lambda lib, o: lib.optim.lr_scheduler.SequentialLR(
        o, [lib.optim.lr_scheduler.StepLR(o, 3)], milestones=[2]),
    lambda lib, o: lib.optim.swa_utils.SWALR(o, 0.1, anneal_epochs=-1),
]


@pytest.mark.parametrize("index", range(len(SCHED_ERRORS)))
def test_scheduler_errors_match_torch(index):
    with pytest.raises(Exception) as t_info:
        SCHED_ERRORS[index](torch, _optimizer(torch))
    with pytest.raises(type(t_info.value)) as e_info:
        SCHED_ERRORS[index](ember, _optimizer(ember))
    assert str(e_info.value) == str(t_info.value)


def test_onecycle_too_many_steps_raises():
    for lib in (ember, torch):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=3)
        for _ in range(3):
            opt.step()
            sched.step()
        with pytest.raises(ValueError, match="Tried to step 4 times"):
            sched.step()


def test_resume_with_last_epoch_matches_torch():
    """A scheduler built with last_epoch >= 0 on a restored optimizer continues as torch's."""
    records = []
    for lib in (ember, torch):
        opt = _optimizer(lib)
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, last_epoch=4)
            out = [sched.get_last_lr()]
            for _ in range(8):
                opt.step()
                sched.step()
                out.append(sched.get_last_lr())
        records.append(out)
    _close(records[0], records[1])


CLOSED_FORM = ["StepLR-gamma", "MultiStepLR", "ConstantLR-factor", "LinearLR-down",
               "ExponentialLR", "PolynomialLR-power", "CosineAnnealingLR-eta"]


@pytest.mark.parametrize("name", CLOSED_FORM)
def test_step_with_epoch_jumps_by_closed_form_like_torch(name):
    """step(epoch) in any order (backwards too) gives torch's closed-form lrs."""
    records = []
    for lib in (ember, torch):
        opt = _optimizer(lib)
        sched = CASES[name](lib, opt)
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in [3, 0, 12, 7, 11, 20, 5, 19, 40]:
                opt.step()
                sched.step(epoch)
                out.append((sched.get_last_lr(), sched.last_epoch))
                sched.step()  # and the chained form continues from there
                out.append(sched.get_last_lr())
        records.append(out)
    _close(records[0], records[1])


MORE_SCHED_ERRORS = [
    lambda lib, o: lib.optim.lr_scheduler.MultiplicativeLR(o, [lambda e: 1.0, 0.5]),
    lambda lib, o: lib.optim.lr_scheduler.LinearLR(o, end_factor=1.5),
    lambda lib, o: lib.optim.lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1]),
    lambda lib, o: lib.optim.lr_scheduler.ReduceLROnPlateau(o, threshold_mode="pct"),
    lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
    lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 2, eta_min="0"),
    lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 2.5),
    lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 2).step(-1),
    lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=0),
    lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, 0.1, epochs=0, steps_per_epoch=3),
    lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=2.0),
    lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=9, pct_start=1),
    lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=9, pct_start=1.5),
    lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, 0.1, 9, anneal_strategy="exp"),
    lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, [0.1, 0.2, 0.3], 9),
    lambda lib, o: lib.optim.lr_scheduler.CyclicLR(o, [0.1], 1.0),
    lambda lib, o: lib.optim.lr_scheduler.CyclicLR(o, 0.1, 1.0, max_momentum=[0.9] * 3),
    lambda lib, o: lib.optim.lr_scheduler.CyclicLR(
        lib.optim.Adagrad([lib.zeros(2, requires_grad=True)]), 0.1, 1.0),
    lambda lib, o: lib.optim.lr_scheduler.SequentialLR(o, [], milestones=[]),
    lambda lib, o: lib.optim.lr_scheduler.ChainedScheduler([]),
    lambda lib, o: lib.optim.lr_scheduler.ChainedScheduler(
        [lib.optim.lr_scheduler.StepLR(o, 3), lib.optim.lr_scheduler.ReduceLROnPlateau(o)]),
    lambda lib, o: lib.optim.lr_scheduler.SequentialLR(
        o, [lib.optim.lr_scheduler.StepLR(o, 3), object()], milestones=[2]),
]


@pytest.mark.parametrize("index", range(len(MORE_SCHED_ERRORS)))
def test_more_scheduler_errors_match_torch(index):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as t_info:
            MORE_SCHED_ERRORS[index](torch, _optimizer(torch))
        with pytest.raises(type(t_info.value)) as e_info:
            MORE_SCHED_ERRORS[index](ember, _optimizer(ember))
    assert str(e_info.value) == str(t_info.value)


@pytest.mark.parametrize("min_lr", [0.001, [0.01, 0.001]])
def test_reduce_lr_on_plateau_after_a_group_is_added(min_lr):
    """A single min_lr is repeated for a new group; a per-group list raises torch's error."""
    outcomes = []
    for lib in (ember, torch):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=min_lr)
        opt.add_param_group({"params": [lib.zeros(1, requires_grad=True)], "lr": 0.2})
        sched.step(1.0)
        try:
            sched.step(2.0)
            outcomes.append((sched.get_last_lr(), sched.min_lrs))
        except RuntimeError as error:
            outcomes.append(str(error))
    _close(outcomes[0], outcomes[1])


def test_get_lr_called_directly_warns_like_torch():
    messages = []
    for lib in (ember, torch):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, 2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lrs = sched.get_lr()
        messages.append((lrs, [str(w.message) for w in caught]))
    _close(messages[0], messages[1])


def test_tensor_lr_is_filled_in_place_like_torch():
    """A tensor lr stays the same tensor through the schedule; values follow torch."""
    records = []
    for lib in (ember, torch):
        params = [lib.zeros(3, requires_grad=True)]
        opt = lib.optim.SGD(params, lr=lib.tensor(0.1), momentum=0.9)
        lr_tensor = opt.param_groups[0]["lr"]
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, 0.5, total_steps=12)
        out = []
        for _ in range(12):
            opt.step()
            sched.step()
            assert opt.param_groups[0]["lr"] is lr_tensor
            out.append((float(lr_tensor), float(sched.get_last_lr()[0]),
                        opt.param_groups[0]["momentum"]))
        records.append(out)
    _close(records[0], records[1])
