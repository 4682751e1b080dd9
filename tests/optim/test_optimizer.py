"""Optimizer base class against torch.optim.Optimizer: group checks and their errors,
printing several groups, state_dict packing of a repeated parameter, loading state that is
not tied to a parameter, the load/step hooks that replace their input, and unpickling."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from oracle import check_raises

import ember


def _leaf(lib, value=(1.0, 2.0)):
    return lib.tensor(np.array(value), requires_grad=True)


def _sgd(lib, groups):
    return lib.optim.SGD(groups, lr=0.1, momentum=0.9)


GROUP_ERRORS = [
    ("not a dict", lambda lib: _sgd(lib, [_leaf(lib)]).add_param_group([_leaf(lib)])),
    ("some names missing", lambda lib: _sgd(lib, [("a", _leaf(lib)), _leaf(lib)])),
    ("named then unnamed", lambda lib: _sgd(lib, [("a", _leaf(lib))]).add_param_group(
        {"params": [_leaf(lib)]})),
    ("unnamed then named", lambda lib: _sgd(lib, [_leaf(lib)]).add_param_group(
        {"params": [("b", _leaf(lib))]})),
    ("not a tensor", lambda lib: _sgd(lib, [_leaf(lib), 3])),
    ("an array", lambda lib: _sgd(lib, [{"params": [np.ones(2)]}])),
    ("bad pre hook", lambda lib: _stepped_with(lib, lambda o, a, k: "nonsense")),
]


def _stepped_with(lib, hook):
    opt = _sgd(lib, [_leaf(lib)])
    opt.register_step_pre_hook(hook)
    opt.step()


@pytest.mark.parametrize("label,fn", GROUP_ERRORS, ids=[c[0] for c in GROUP_ERRORS])
def test_group_errors_match_torch(label, fn):
    e_err, t_err = check_raises(fn)
    assert type(e_err) is type(t_err)
    if label == "bad pre hook":  # the message names the wrapped step function
        assert str(e_err).endswith("but got nonsense.") and str(t_err).endswith(
            "but got nonsense.")
    else:
        assert str(e_err) == str(t_err)


def test_repr_of_several_groups_matches_torch():
    texts = []
    for lib in (torch, ember):
        opt = lib.optim.Adam([{"params": [_leaf(lib)]}, {"params": [_leaf(lib)], "lr": 0.5}])
        texts.append(repr(opt))
    assert texts[1] == texts[0]


def test_duplicate_parameter_warns_and_packs_like_torch():
    packed = []
    for lib in (torch, ember):
        p, q = _leaf(lib), _leaf(lib)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            opt = _sgd(lib, [{"params": [p, q, p]}, {"params": [_leaf(lib)], "lr": 0.2}])
        sd = opt.state_dict()
        packed.append(([str(w.message) for w in caught], sd["param_groups"]))
    assert packed[1] == packed[0]


def test_load_state_dict_keeps_unmatched_state_and_hook_replacements():
    results = []
    for lib in (torch, ember):
        p = _leaf(lib)
        opt = _sgd(lib, [p])
        (p * p).sum().backward()
        opt.step()
        saved = opt.state_dict()
        saved["state"]["note"] = {"kept": True}
        fresh = _sgd(lib, [("w", _leaf(lib))])
        fresh.register_load_state_dict_pre_hook(
            lambda o, sd: {**sd, "param_groups": [{**sd["param_groups"][0], "lr": 0.3}]})
        fresh.load_state_dict(saved)
        group = fresh.param_groups[0]
        buf = fresh.state[group["params"][0]]["momentum_buffer"]
        results.append((fresh.state["note"], group["lr"], group["param_names"],
                        buf.detach().numpy().tolist(), str(buf.dtype).split(".")[-1]))
    assert results[1] == results[0]


def test_unpickling_fills_new_defaults_and_hook_tables():
    opt = _sgd(ember, [_leaf(ember)])
    state = opt.__getstate__()
    del state["param_groups"][0]["nesterov"]  # as saved by an older version
    clone = pickle.loads(pickle.dumps(opt))
    clone.__setstate__(state)
    assert clone.param_groups[0]["nesterov"] is False
    seen = []
    clone.register_step_post_hook(lambda o, a, k: seen.append(len(a)))
    clone.step()
    assert seen == [1]
