"""TreeSpec against torch.utils._pytree: the same attributes (dir), dataclass fields and
``__match_args__``, frozen assignment errors, the deprecated ``children_specs``, pickling,
and specs of several shapes of tree compared field by field."""

import copy
import dataclasses
import pickle
import warnings
from collections import OrderedDict

import pytest
import torch.utils._pytree as theirs

import ember.utils._pytree as mine

TREES = [
    1,
    [1, 2],
    (1, (2, 3)),
    {"a": [1, 2], "b": (3,)},
    OrderedDict(x=1, y=[2]),
    [],
]


def _describe(spec):
    """A TreeSpec as plain data: type name, context, counts, children."""
    return (None if spec.type is None else spec.type.__name__, spec.context, spec.num_nodes,
            spec.num_leaves, spec.num_children, [_describe(c) for c in spec.children()])


@pytest.mark.parametrize("tree", TREES, ids=repr)
def test_specs_match(tree):
    ours, torchs = mine.tree_structure(tree), theirs.tree_structure(tree)
    assert _describe(ours) == _describe(torchs)
    assert repr(ours) == repr(torchs)
    assert pickle.loads(pickle.dumps(ours)) == ours
    assert copy.deepcopy(ours) == ours and hash(copy.deepcopy(ours)) == hash(ours)


def test_treespec_has_torchs_attributes():
    public = set(dir(theirs.TreeSpec))
    assert public <= set(dir(mine.TreeSpec))
    assert mine.TreeSpec.__match_args__ == theirs.TreeSpec.__match_args__
    fields = [(f.name, f.init) for f in dataclasses.fields(mine.TreeSpec)]
    assert fields == [(f.name, f.init) for f in dataclasses.fields(theirs.TreeSpec)]
    assert dataclasses.is_dataclass(mine.tree_structure([1]))


def _children_specs(lib):
    spec = lib.tree_structure({"a": [1, 2], "b": (3,)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        children = spec.children_specs
    return (repr(children), children == spec.children(),
            [(w.category.__name__, str(w.message)) for w in caught])


def test_children_specs_is_deprecated():
    assert _children_specs(mine) == _children_specs(theirs)


def _frozen(lib):
    spec = lib.tree_structure([1, 2])
    errors = []
    for name, value in (("type", tuple), ("num_leaves", 3), ("_children", [])):
        try:
            setattr(spec, name, value)
        except Exception as exc:  # noqa: BLE001 - the type and text are compared
            errors.append((type(exc).__name__, str(exc)))
    try:
        lib.TreeSpec(None, "context", [])
    except Exception as exc:  # noqa: BLE001
        errors.append((type(exc).__name__, str(exc)))
    return errors, spec.num_leaves


def test_frozen_and_leaf_checks():
    assert _frozen(mine) == _frozen(theirs)


def _match(lib):
    match lib.tree_structure({"k": 1}):
        case lib.TreeSpec(node_type, context, children):
            return node_type.__name__, context, len(children)
    return None


def test_match_statement():
    assert _match(mine) == _match(theirs)


def test_json_round_trip_still_matches():
    spec_m, spec_t = mine.tree_structure({"a": [1, (2,)]}), theirs.tree_structure({"a": [1, (2,)]})
    assert mine.treespec_dumps(spec_m) == theirs.treespec_dumps(spec_t)
    assert mine.treespec_loads(theirs.treespec_dumps(spec_t)) == spec_m
