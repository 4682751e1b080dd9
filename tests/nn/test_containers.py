"""Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict against PyTorch."""

from __future__ import annotations

import os
import sys
from collections import OrderedDict

import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
from module_oracle import check_module  # noqa: E402
from oracle import randn  # noqa: E402

import ember  # noqa: E402


def _seq(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(2, 3), nn.Identity(), nn.Linear(3, 4), nn.Flatten())


def _summary(module):
    """What both libraries must agree on: repr, keys with shapes, child names."""
    return (repr(module), [(k, tuple(v.shape)) for k, v in module.state_dict().items()],
            [n for n, _ in module.named_children()])


SEQUENTIAL_OPS = [
    ("index", lambda lib, s: repr(s[2])),
    ("neg_index", lambda lib, s: repr(s[-1])),
    ("slice", lambda lib, s: _summary(s[1:3])),
    ("slice_step", lambda lib, s: _summary(s[::2])),
    ("len", lambda lib, s: len(s)),
    ("iter", lambda lib, s: [type(m).__name__ for m in s]),
    ("append", lambda lib, s: _summary(s.append(lib.nn.Linear(4, 1)))),
    ("insert", lambda lib, s: _summary(s.insert(1, lib.nn.Linear(3, 3)))),
    ("insert_neg", lambda lib, s: _summary(s.insert(-1, lib.nn.Identity()))),
    ("extend", lambda lib, s: _summary(s.extend([lib.nn.Identity(), lib.nn.Identity()]))),
    ("delitem", lambda lib, s: (s.__delitem__(1), _summary(s))[1]),
    ("delslice", lambda lib, s: (s.__delitem__(slice(0, 2)), _summary(s))[1]),
    ("setitem", lambda lib, s: (s.__setitem__(1, lib.nn.Linear(3, 3)), _summary(s))[1]),
    ("pop", lambda lib, s: (repr(s.pop(0)), _summary(s))),
    ("add", lambda lib, s: _summary(s + lib.nn.Sequential(lib.nn.Identity()))),
    ("iadd", lambda lib, s: _summary(s.__iadd__(lib.nn.Sequential(lib.nn.Identity())))),
    ("mul", lambda lib, s: _summary(lib.nn.Sequential(lib.nn.Identity()) * 3)),
    ("ordered_dict", lambda lib, s: _summary(lib.nn.Sequential(OrderedDict(
        [("first", lib.nn.Linear(1, 2)), ("act", lib.nn.Identity())])))),
    ("dir_no_digits", lambda lib, s: [k for k in dir(s) if k.isdigit()]),
]


@pytest.mark.parametrize("name,op", SEQUENTIAL_OPS, ids=[o[0] for o in SEQUENTIAL_OPS])
def test_sequential_matches_torch(name, op):
    assert op(ember, _seq(ember)) == op(torch, _seq(torch))


SEQUENTIAL_ERRORS = [
    ("index_range", lambda lib, s: s[9], IndexError),
    ("insert_range", lambda lib, s: s.insert(9, lib.nn.Identity()), IndexError),
    ("add_type", lambda lib, s: s + 3, ValueError),
    ("mul_zero", lambda lib, s: s * 0, ValueError),
    ("modulelist_index", lambda lib, s: lib.nn.ModuleList([lib.nn.Identity()])[3], IndexError),
    ("modulelist_extend", lambda lib, s: lib.nn.ModuleList().extend(3), TypeError),
    ("moduledict_update", lambda lib, s: lib.nn.ModuleDict().update([(1, 2, 3)]), ValueError),
    ("parameterdict_key", lambda lib, s: lib.nn.ParameterDict()[3], TypeError),
    ("parameterlist_call", lambda lib, s: lib.nn.ParameterList()(), RuntimeError),
]


@pytest.mark.parametrize("name,op,exc", SEQUENTIAL_ERRORS, ids=[o[0] for o in SEQUENTIAL_ERRORS])
def test_container_errors_match_torch(name, op, exc):
    with pytest.raises(exc) as t_info:
        op(torch, _seq(torch))
    with pytest.raises(exc) as e_info:
        op(ember, _seq(ember))
    assert str(e_info.value).replace("ember", "torch") == str(t_info.value)


@pytest.mark.parametrize("train", [True, False])
def test_sequential_forward_and_grads(train):
    check_module(_seq, randn(5, 2), train=train, rtol=1e-5, atol=1e-5)


def _module_list(lib):
    nn = lib.nn
    return nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 3), nn.Identity()])


MODULE_LIST_OPS = [
    ("repr", lambda lib, m: repr(m)),
    ("slice", lambda lib, m: _summary(m[1:])),
    ("append", lambda lib, m: _summary(m.append(lib.nn.Identity()))),
    ("insert", lambda lib, m: (m.insert(1, lib.nn.Linear(1, 1)), _summary(m))[1]),
    ("del", lambda lib, m: (m.__delitem__(0), _summary(m))[1]),
    ("del_slice", lambda lib, m: (m.__delitem__(slice(1, 3)), _summary(m))[1]),
    ("add", lambda lib, m: _summary(m + lib.nn.ModuleList([lib.nn.Identity()]))),
    ("iadd", lambda lib, m: _summary(m.__iadd__([lib.nn.Identity()]))),
    ("pop", lambda lib, m: (repr(m.pop(-1)), _summary(m))),
    ("setitem", lambda lib, m: (m.__setitem__(-1, lib.nn.Linear(3, 3)), _summary(m))[1]),
    ("empty", lambda lib, m: repr(lib.nn.ModuleList())),
]


@pytest.mark.parametrize("name,op", MODULE_LIST_OPS, ids=[o[0] for o in MODULE_LIST_OPS])
def test_module_list_matches_torch(name, op):
    assert op(ember, _module_list(ember)) == op(torch, _module_list(torch))


def _module_dict(lib):
    nn = lib.nn
    return nn.ModuleDict({"b": nn.Linear(1, 2), "a": nn.Identity()})


MODULE_DICT_OPS = [
    ("summary", lambda lib, d: _summary(d)),
    ("keys_values_items", lambda lib, d: (list(d.keys()), [type(v).__name__ for v in d.values()],
                                          [k for k, _ in d.items()])),
    ("contains_len_iter", lambda lib, d: ("a" in d, "z" in d, len(d), list(d))),
    ("setitem", lambda lib, d: (d.__setitem__("c", lib.nn.Linear(2, 2)), _summary(d))[1]),
    ("pop", lambda lib, d: (repr(d.pop("b")), _summary(d))),
    ("del", lambda lib, d: (d.__delitem__("a"), _summary(d))[1]),
    ("update_pairs", lambda lib, d: (d.update([("z", lib.nn.Identity())]), _summary(d))[1]),
    ("clear", lambda lib, d: (d.clear(), _summary(d))[1]),
]


@pytest.mark.parametrize("name,op", MODULE_DICT_OPS, ids=[o[0] for o in MODULE_DICT_OPS])
def test_module_dict_matches_torch(name, op):
    assert op(ember, _module_dict(ember)) == op(torch, _module_dict(torch))


def _param_list(lib):
    return lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2, 3)), lib.zeros(4)])


def _param_dict(lib):
    return lib.nn.ParameterDict({"w": lib.nn.Parameter(lib.ones(2)), "a": lib.zeros(3, 1)})


PARAM_OPS = [
    ("list_repr", _param_list, lambda lib, p: repr(p)),
    ("list_keys", _param_list, lambda lib, p: _summary(p)[1]),
    ("list_append", _param_list, lambda lib, p: _summary(p.append(lib.ones(1)))[1]),
    ("list_extend", _param_list, lambda lib, p: _summary(p.extend([lib.ones(1)]))[1]),
    ("list_slice", _param_list, lambda lib, p: [tuple(x.shape) for x in p[1:]]),
    ("list_types", _param_list, lambda lib, p: [type(x).__name__ for x in p]),
    ("list_len_neg", _param_list, lambda lib, p: (len(p), tuple(p[-1].shape))),
    ("list_setitem", _param_list, lambda lib, p: (p.__setitem__(0, lib.ones(5)),
                                                  _summary(p)[1])[1]),
    ("dict_repr", _param_dict, lambda lib, p: repr(p)),
    ("dict_keys_sorted", _param_dict, lambda lib, p: (list(p.keys()), _summary(p)[1])),
    ("dict_ops", _param_dict, lambda lib, p: ("w" in p, len(p), list(p), p.get("zz"),
                                               tuple(p.setdefault("n", lib.ones(1)).shape),
                                               p.pop("a").shape == (3, 1), list(p.keys()))),
    ("dict_popitem", _param_dict, lambda lib, p: (p.popitem()[0], list(p))),
    ("dict_or", _param_dict, lambda lib, p: list(p | lib.nn.ParameterDict({"q": lib.ones(1)}))),
    ("dict_values_types", _param_dict, lambda lib, p: [type(v).__name__ for v in p.values()]),
    ("dict_copy_clear", _param_dict, lambda lib, p: (list(p.copy()), p.clear(), len(p))),
]


@pytest.mark.parametrize("name,make,op", PARAM_OPS, ids=[o[0] for o in PARAM_OPS])
def test_parameter_containers_match_torch(name, make, op):
    assert op(ember, make(ember)) == op(torch, make(torch))


def test_containers_register_parameters_in_owner():
    def make(lib):
        class Owner(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.plist = _param_list(lib)
                self.pdict = _param_dict(lib)
                self.blocks = _module_list(lib)

        return Owner()

    e, t = make(ember), make(torch)
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert repr(e) == repr(t)


MORE_OPS = [
    ("rmul", lambda lib: _summary(2 * lib.nn.Sequential(lib.nn.Identity(), lib.nn.Tanh()))),
    ("seq_setitem_named", lambda lib: (lambda s: (s.__setitem__(-1, lib.nn.ReLU()), _summary(s)))(
        lib.nn.Sequential(OrderedDict([("a", lib.nn.Identity()), ("b", lib.nn.Tanh())])))[1]),
    ("pdict_fromkeys", lambda lib: list(_param_dict(lib).fromkeys(["z", "b"], lib.ones(1)))),
    ("pdict_update_pairs", lambda lib: list(lib.nn.ParameterDict([("z", lib.ones(1)),
                                                                  ("b", lib.ones(2))]))),
    ("pdict_items_types", lambda lib: [(k, type(v).__name__) for k, v in _param_dict(lib).items()]),
    ("plist_slice_step", lambda lib: [tuple(p.shape) for p in lib.nn.ParameterList(
        [lib.ones(i + 1) for i in range(5)])[::-2]]),
    ("plist_object", lambda lib: repr(lib.nn.ParameterList(["text", lib.ones(1)]))),
    ("modulelist_insert_end", lambda lib: (lambda m: (m.insert(2, lib.nn.Tanh()), _summary(m)))(
        _module_list(lib))[1]),
]


@pytest.mark.parametrize("name,op", MORE_OPS, ids=[o[0] for o in MORE_OPS])
def test_more_container_behaviour_matches_torch(name, op):
    assert op(ember) == op(torch)


MORE_ERRORS = [
    ("pdict_popitem_empty", lambda lib: lib.nn.ParameterDict().popitem(), KeyError),
    ("pdict_bad_pair", lambda lib: lib.nn.ParameterDict([("a", lib.ones(1)), "xyz"]), ValueError),
    ("pdict_not_iterable", lambda lib: lib.nn.ParameterDict().update(3), TypeError),
    ("moduledict_not_pair", lambda lib: lib.nn.ModuleDict([3]), TypeError),
    ("plist_extend_tensor", lambda lib: lib.nn.ParameterList().extend(lib.ones(2)), TypeError),
    ("seq_mul_type", lambda lib: lib.nn.Sequential() * 1.5, TypeError),
    ("seq_iadd_type", lambda lib: lib.nn.Sequential().__iadd__([1]), ValueError),
    ("modulelist_insert_negative", lambda lib: _module_list(lib).insert(-1, lib.nn.Tanh()),
     KeyError),
]


@pytest.mark.parametrize("name,op,exc", MORE_ERRORS, ids=[o[0] for o in MORE_ERRORS])
def test_more_container_errors_match_torch(name, op, exc):
    with pytest.raises(exc) as t_info:
        op(torch)
    with pytest.raises(exc) as e_info:
        op(ember)
    assert str(e_info.value).replace("ember", "torch") == str(t_info.value)


def test_parameter_containers_survive_deepcopy():
    """Pickling goes through __dict__, where _size and _keys live under PyTorch's names."""
    import copy

    plist, pdict = copy.deepcopy(_param_list(ember)), copy.deepcopy(_param_dict(ember))
    assert len(plist) == 2 and plist._size == 2 and list(pdict._keys) == ["a", "w"]
    assert [tuple(p.shape) for p in plist] == [(2, 3), (4,)]
