"""default_collate / default_convert / collate against torch for the container cases
the rebuild rule has to get right: mutable containers copied with their type and
attributes, immutable ones called with the values, types that cannot be built that way
falling back to dict/list; and collate_fn_map's exact-type-first dispatch."""

from __future__ import annotations

import collections.abc
import os
import sys

import numpy as np
import pytest
import torch
import torch.utils.data._utils.collate as torch_collate

import ember
from ember.utils.data import _collate

sys.path.insert(0, os.path.dirname(__file__))
from data_oracle import assert_same_tree, data  # noqa: E402


class Tagged(list):
    """A mutable sequence with an attribute the copy must keep."""
    tag = None


class Frozen(collections.abc.Mapping):
    """A read-only mapping whose constructor takes no dict: collate falls back to dict."""

    def __init__(self, a, b):
        self._d = {"a": a, "b": b}

    def __getitem__(self, key):
        return self._d[key]

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)


class Pair(collections.abc.Sequence):
    """A read-only sequence built from a list of its items."""

    def __init__(self, items):
        self._items = list(items)

    def __getitem__(self, i):
        return self._items[i]

    def __len__(self):
        return len(self._items)


class Unbuildable(Pair):
    def __init__(self, first, second):
        super().__init__([first, second])


def _tagged(*items):
    t = Tagged(items)
    t.tag = "kept"
    return t


SAMPLES = {
    "tagged_list": lambda lib: [_tagged(np.float32(i), 2.0 * i) for i in range(3)],
    "frozen_mapping": lambda lib: [Frozen(np.ones(2) * i, i) for i in range(2)],
    "pair_sequence": lambda lib: [Pair([np.int64(i), 1.5]) for i in range(3)],
    "unbuildable_sequence": lambda lib: [Unbuildable(np.int64(i), 1.5) for i in range(2)],
}


def _plain(x):
    """Containers as plain dict/list so the tree comparison sees the values."""
    if isinstance(x, collections.abc.Mapping):
        return {k: _plain(x[k]) for k in x}
    if isinstance(x, (list, tuple, Pair)) and not isinstance(x, (torch.Tensor,)):
        return [_plain(v) for v in x]
    return x


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("fn", ["default_collate", "default_convert"])
def test_container_rebuild_matches_torch(name, fn):
    expected = getattr(data(torch), fn)(SAMPLES[name](torch))
    got = getattr(data(ember), fn)(SAMPLES[name](ember))
    assert type(got) is type(expected)
    assert getattr(got, "tag", None) == getattr(expected, "tag", None)
    assert_same_tree(_plain(got), _plain(expected), name)


class Flag(int):
    pass


@pytest.mark.parametrize("batch", [[True, False], [Flag(1), Flag(2)], [1, 2]])
def test_collate_fn_map_exact_type_then_first_instance(batch):
    fn_map = {int: lambda b, *, collate_fn_map: ("int", len(b)),
              bool: lambda b, *, collate_fn_map: ("bool", len(b))}
    got = _collate.collate(batch, collate_fn_map=fn_map)
    assert got == torch_collate.collate(batch, collate_fn_map=fn_map)
    assert got[0] == ("bool" if type(batch[0]) is bool else "int")


def test_collate_without_map_and_unknown_leaf_raises_as_torch():
    for mod in (_collate, torch_collate):
        with pytest.raises(TypeError, match="default_collate: batch must contain"):
            mod.collate([1.0, 2.0], collate_fn_map=None)
        with pytest.raises(TypeError, match="default_collate: batch must contain"):
            mod.collate([1.0, 2.0], collate_fn_map={})
