"""Helpers the dataset and DataLoader tests share: the namespace under test and a deep
comparison of collated batches (containers, keys, tensors) between ember and torch."""

from __future__ import annotations

import numpy as np
import torch
from oracle import assert_same


def data(lib):
    return lib.utils.data


def assert_same_tree(e, t, what="batch"):
    """Same container types and keys all the way down; tensors equal in value and dtype."""
    if isinstance(t, torch.Tensor):
        assert_same(e, t, what=what)
    elif isinstance(t, dict):
        assert type(e) is type(t), f"{what}: {type(e)} != {type(t)}"
        assert list(e) == list(t), f"{what}: keys {list(e)} != {list(t)}"
        for key in t:
            assert_same_tree(e[key], t[key], f"{what}[{key!r}]")
    elif isinstance(t, (list, tuple)):
        assert type(e) is type(t), f"{what}: {type(e)} != {type(t)}"
        assert len(e) == len(t), f"{what}: length {len(e)} != {len(t)}"
        for i, (ei, ti) in enumerate(zip(e, t)):
            assert_same_tree(ei, ti, f"{what}[{i}]")
    elif isinstance(t, np.ndarray):
        assert isinstance(e, np.ndarray)
        np.testing.assert_array_equal(e, t)
    else:
        assert type(e) is type(t) and e == t, f"{what}: {e!r} != {t!r}"
