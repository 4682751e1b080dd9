"""swa_utils against PyTorch: AveragedModel (SWA, EMA, custom averages, buffers), SWALR,
update_bn's protocol."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from oracle import assert_same

import ember

RNG = np.random.default_rng(3)


def _models():
    """The same small MLP in both libraries (torch's initial weights copied into ember)."""
    t_model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    e_model = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU(), ember.nn.Linear(3, 2))
    e_model.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_model.state_dict().items()})
    return e_model, t_model


def _perturb(e_model, t_model):
    """Move both models' parameters to the same new random values (a training step)."""
    for e_p, t_p in zip(e_model.parameters(), t_model.parameters()):
        delta = RNG.standard_normal(tuple(t_p.shape)).astype(np.float32)
        with torch.no_grad():
            t_p.add_(torch.from_numpy(delta))
        with ember.no_grad():
            e_p.add_(ember.tensor(delta))


AVERAGERS = {
    "swa": lambda lib: {},
    "ema-multi": lambda lib: {"multi_avg_fn": lib.optim.swa_utils.get_ema_multi_avg_fn(0.9)},
    "ema": lambda lib: {"avg_fn": lib.optim.swa_utils.get_ema_avg_fn(0.8)},
    "swa-fn": lambda lib: {"avg_fn": lib.optim.swa_utils.get_swa_avg_fn()},
    "swa-multi": lambda lib: {"multi_avg_fn": lib.optim.swa_utils.get_swa_multi_avg_fn()},
    "ema-buffers": lambda lib: {"multi_avg_fn": lib.optim.swa_utils.get_ema_multi_avg_fn(0.5),
                                "use_buffers": True},
    "custom": lambda lib: {"avg_fn": lambda avg, cur, n: 0.25 * avg + 0.75 * cur},
}


@pytest.mark.parametrize("name", list(AVERAGERS))
def test_averaged_model_matches_torch(name):
    e_model, t_model = _models()
    e_avg = ember.optim.swa_utils.AveragedModel(e_model, **AVERAGERS[name](ember))
    t_avg = torch.optim.swa_utils.AveragedModel(t_model, **AVERAGERS[name](torch))
    for _ in range(5):
        _perturb(e_model, t_model)
        e_avg.update_parameters(e_model)
        t_avg.update_parameters(t_model)
        for (e_name, e_p), (t_name, t_p) in zip(e_avg.named_parameters(),
                                                t_avg.named_parameters()):
            assert e_name == t_name
            assert_same(e_p.detach(), t_p.detach(), rtol=1e-5, atol=1e-6, what=e_name)
    assert int(e_avg.n_averaged.item()) == int(t_avg.n_averaged.item()) == 5
    assert list(e_avg.state_dict()) == list(t_avg.state_dict())
    assert_same(e_avg.n_averaged, t_avg.n_averaged)
    x = RNG.standard_normal((6, 4)).astype(np.float32)
    assert_same(e_avg(ember.tensor(x)).detach(), t_avg(torch.from_numpy(x)).detach(),
                rtol=1e-5, atol=1e-5)


def test_averaged_model_rejects_both_fns():
    e_model, _ = _models()
    fns = ember.optim.swa_utils
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        fns.AveragedModel(e_model, avg_fn=fns.get_swa_avg_fn(),
                          multi_avg_fn=fns.get_swa_multi_avg_fn())


def test_ema_decay_validation_matches_torch():
    for decay in (-0.1, 1.5):
        for maker in ("get_ema_multi_avg_fn", "get_ema_avg_fn"):
            with pytest.raises(ValueError) as t_info:
                getattr(torch.optim.swa_utils, maker)(decay)
            with pytest.raises(ValueError) as e_info:
                getattr(ember.optim.swa_utils, maker)(decay)
            assert str(e_info.value) == str(t_info.value)


def test_swalr_with_averaged_model_training_loop():
    """SWA recipe: SGD steps, then SWALR and averaging every epoch; same lrs and weights."""
    e_model, t_model = _models()
    x = RNG.standard_normal((8, 4)).astype(np.float32)
    y = RNG.standard_normal((8, 2)).astype(np.float32)
    results = []
    for lib, model in ((ember, e_model), (torch, t_model)):
        opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
        swa_model = lib.optim.swa_utils.AveragedModel(model)
        swa_sched = lib.optim.swa_utils.SWALR(opt, swa_lr=0.01, anneal_epochs=3)
        lrs = []
        for epoch in range(8):
            opt.zero_grad()
            loss = ((model(lib.tensor(x)) - lib.tensor(y)) ** 2).mean()
            loss.backward()
            opt.step()
            if epoch >= 2:
                swa_model.update_parameters(model)
                swa_sched.step()
            lrs.append(swa_sched.get_last_lr())
        results.append((lrs, [p.detach() for p in swa_model.parameters()], swa_sched.state_dict()))
    assert np.allclose(results[0][0], results[1][0], rtol=1e-12)
    for e_p, t_p in zip(results[0][1], results[1][1]):
        assert_same(e_p, t_p, rtol=1e-5, atol=1e-6)
    assert results[0][2] == results[1][2]


def _update_bn_run(lib, batches):
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3), lib.nn.ReLU())
    with lib.no_grad():
        model[0].weight.copy_(lib.tensor([[1.0, -2.0], [0.5, 0.25], [3.0, 1.0]]))
        model[0].bias.copy_(lib.tensor([0.1, -0.2, 0.3]))
    model.eval()
    loader = [(lib.tensor(b), 0) for b in batches]
    lib.optim.swa_utils.update_bn(loader, model)
    bn = model[1]
    return (bn.running_mean.tolist(), bn.running_var.tolist(), int(bn.num_batches_tracked),
            bn.momentum, model.training)


def test_update_bn_matches_torch():
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((4, 2)).astype(np.float32) for _ in range(3)]
    e = _update_bn_run(ember, batches)
    t = _update_bn_run(torch, batches)
    np.testing.assert_allclose(e[0], t[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e[1], t[1], rtol=1e-5, atol=1e-6)
    assert e[2:] == t[2:]


def test_update_bn_without_batchnorm_is_a_no_op():
    model = ember.nn.Sequential(ember.nn.Linear(2, 2))
    model.eval()
    ember.optim.swa_utils.update_bn([ember.ones(2, 2)], model)
    assert not model.training


def _bn_models():
    """A model with BatchNorm: float running stats and an integer num_batches_tracked."""
    t_model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    e_model = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.BatchNorm1d(3))
    e_model.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_model.state_dict().items()})
    return e_model, t_model


BUFFER_AVERAGERS = {
    "swa": lambda lib: {},
    "ema-multi": lambda lib: {"multi_avg_fn": lib.optim.swa_utils.get_ema_multi_avg_fn(0.7)},
    "ema": lambda lib: {"avg_fn": lib.optim.swa_utils.get_ema_avg_fn(0.6)},
    "swa-fn": lambda lib: {"avg_fn": lib.optim.swa_utils.get_swa_avg_fn()},
}


@pytest.mark.parametrize("use_buffers", [True, False])
@pytest.mark.parametrize("name", list(BUFFER_AVERAGERS))
def test_averaged_model_with_integer_buffers_matches_torch(name, use_buffers):
    """Averaging buffers too (use_buffers) covers the integer path of every averager;
    without it the buffers are copied from the model."""
    e_model, t_model = _bn_models()
    e_avg = ember.optim.swa_utils.AveragedModel(e_model, device="cpu", use_buffers=use_buffers,
                                                **BUFFER_AVERAGERS[name](ember))
    t_avg = torch.optim.swa_utils.AveragedModel(t_model, device="cpu", use_buffers=use_buffers,
                                                **BUFFER_AVERAGERS[name](torch))
    for step in range(4):
        x = RNG.standard_normal((5, 4)).astype(np.float32)
        e_model(ember.tensor(x))
        t_model(torch.from_numpy(x))
        for _ in range(step):  # num_batches_tracked moves by uneven amounts
            e_model[1].num_batches_tracked.add_(3)
            t_model[1].num_batches_tracked.add_(3)
        _perturb(e_model, t_model)
        e_avg.update_parameters(e_model)
        t_avg.update_parameters(t_model)
        e_state, t_state = e_avg.state_dict(), t_avg.state_dict()
        assert list(e_state) == list(t_state)
        for key in t_state:
            assert_same(e_state[key], t_state[key], rtol=1e-5, atol=1e-6, what=key)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_swalr_without_anneal_and_its_anneal_func_match_torch(strategy):
    records = []
    for lib in (ember, torch):
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.3)
        sched = lib.optim.swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=0,
                                          anneal_strategy=strategy)
        lrs = [sched.get_last_lr()]
        for _ in range(3):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
        records.append((lrs, [sched.anneal_func(t) for t in (0.0, 0.3, 1.0)],
                        sched.state_dict()))
    assert records[0] == records[1]
