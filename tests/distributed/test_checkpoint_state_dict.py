"""ember.distributed.checkpoint.state_dict against PyTorch's: the same model and
optimizers (fixed weights, one step) give the same canonical state dicts under every
option, load back, and fail the same way. DDP is checked in a world of one here and on 2
ranks in test_checkpoint_dist.py."""

import pytest
import torch
from torch.distributed.checkpoint import state_dict as tsd

import ember
from ember.distributed.checkpoint import state_dict as esd

LIBS = ((ember, esd), (torch, tsd))


def _model(lib, freeze_first=False):
    """BatchNorm first: after a Linear, Adam would magnify round-off in its near-zero
    gradients and the libraries' trajectories would part for reasons of no interest here."""
    model = lib.nn.Sequential(lib.nn.BatchNorm1d(3), lib.nn.Linear(3, 4), lib.nn.Tanh(),
                              lib.nn.Linear(4, 2))
    with lib.no_grad():
        for param in model.parameters():
            param.copy_(lib.linspace(-1, 1, param.numel()).reshape(param.shape))
    if freeze_first:
        model[1].weight.requires_grad_(False)
    return model


def _step(model, optims):
    lib = ember if isinstance(model, ember.nn.Module) else torch
    model(lib.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])).sum().backward()
    for optim in optims:
        optim.step()


def _plain(value):
    """Tensors as (dtype name, nested lists); containers walked; tuples kept."""
    if isinstance(value, (torch.Tensor, ember.Tensor)):
        return (str(value.dtype).split(".")[-1], value.tolist())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _close(mine, expected):
    """Exact structure; float values within float32's assert_close defaults."""
    if isinstance(expected, tuple) and len(expected) == 2 and isinstance(expected[0], str):
        assert mine[0] == expected[0]
        torch.testing.assert_close(torch.tensor(mine[1]), torch.tensor(expected[1]))
    elif isinstance(expected, dict):
        assert list(mine) == list(expected)
        for key in expected:
            _close(mine[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(mine) == len(expected)
        for a, b in zip(mine, expected):
            _close(a, b)
    else:
        assert mine == expected


@pytest.mark.parametrize("options", [
    {}, {"flatten_optimizer_state_dict": True}, {"ignore_frozen_params": True},
    {"cpu_offload": True}, {"full_state_dict": True}])
def test_get_state_dict_matches_torch(options):
    outcomes = {}
    for lib, module in LIBS:
        model = _model(lib, freeze_first="ignore_frozen_params" in options)
        # two optimizers over disjoint parameters, one of them not stepped yet (its state
        # is created by get_state_dict, as torch does)
        first = lib.optim.Adam(list(model[0].parameters()) + list(model[1].parameters()),
                               lr=0.1)
        second = lib.optim.SGD(model[3].parameters(), lr=0.2, momentum=0.9)
        _step(model, [first])
        outcomes[lib] = _plain(module.get_state_dict(
            model, [first, second], options=module.StateDictOptions(**options)))
    _close(outcomes[ember], outcomes[torch])


def test_set_state_dict_round_trip_trains_on_as_torch():
    trajectories = {}
    for lib, module in LIBS:
        model = _model(lib)
        optim = lib.optim.Adam(model.parameters(), lr=0.1)
        _step(model, [optim])
        model_sd, optim_sd = module.get_state_dict(model, optim)
        fresh = lib.nn.Sequential(lib.nn.BatchNorm1d(3), lib.nn.Linear(3, 4), lib.nn.Tanh(),
                                  lib.nn.Linear(4, 2))
        fresh_optim = lib.optim.Adam(fresh.parameters(), lr=0.7)
        keys = module.set_state_dict(fresh, fresh_optim, model_state_dict=model_sd,
                                     optim_state_dict=optim_sd)
        fresh_optim.zero_grad()
        _step(fresh, [fresh_optim])
        trajectories[lib] = (tuple(keys), _plain(fresh.state_dict()),
                             fresh_optim.param_groups[0]["lr"])
    _close(trajectories[ember], trajectories[torch])


def _outcome(call):
    try:
        return ("ok", _plain(tuple(call()) if call() is not None else None))
    except Exception as error:  # noqa: BLE001 - the outcome is what is compared
        return (type(error).__name__, str(error).split(" {")[0])


def test_errors_and_non_strict_loads_match_torch():
    outcomes = {}
    for lib, module in LIBS:
        model = _model(lib)
        optim = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
        _step(model, [optim])
        model_sd, optim_sd = module.get_state_dict(model, optim)
        del model_sd["3.bias"]
        del optim_sd["state"]["0.weight"]
        options = module.StateDictOptions
        outcomes[lib] = [
            _outcome(lambda: module.get_optimizer_state_dict(model, ())),
            _outcome(lambda: module.get_model_state_dict(
                model, options=options(broadcast_from_rank0=True))),
            _outcome(lambda: module.set_model_state_dict(model, dict(model_sd))),
            _outcome(lambda: module.set_model_state_dict(model, dict(model_sd),
                                                         options=options(strict=False))),
            _outcome(lambda: module.set_optimizer_state_dict(model, optim, optim_sd)),
            _outcome(lambda: module.set_model_state_dict(model, {})),
        ]
    assert outcomes[ember] == outcomes[torch]


def test_ddp_prefix_is_dropped_and_restored(world_of_one):
    outcomes = {}
    for lib, module in LIBS:
        ddp = lib.nn.parallel.DistributedDataParallel(_model(lib))
        optim = lib.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
        _step(ddp, [optim])
        model_sd, optim_sd = module.get_state_dict(ddp, optim)
        got = _plain((model_sd, optim_sd))  # before set_state_dict renames keys in place
        fresh = lib.nn.parallel.DistributedDataParallel(_model(lib))
        fresh_optim = lib.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
        module.set_state_dict(fresh, fresh_optim, model_state_dict=model_sd,
                              optim_state_dict=optim_sd)
        outcomes[lib] = (got, _plain(fresh.state_dict()),
                         _plain(fresh_optim.state_dict()))
    assert list(outcomes[ember][0][0])[:2] == ["0.weight", "0.bias"]
    _close(outcomes[ember], outcomes[torch])
