"""Kept constant arrays (ember/_ops/_kept.py): made once per key, never dropped, made
afresh past the limit; strided_arange is torch.arange(0, count * step, step) where the
array it is asked for lives (the test device with ``--device cuda``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember._ops import _kept
from ember._ops._util import xp_of
from tests.oracle import DEVICE, assert_same


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(_kept, "_KEPT", {})
    monkeypatch.setattr(_kept, "LIMIT", 2)


def test_kept_makes_once_per_key_and_stops_keeping_at_the_limit(fresh):
    made = []

    def make(value):
        return lambda: made.append(value) or [value]

    first = _kept.kept("a", make(1))
    assert _kept.kept("a", make(2)) is first and made == [1]
    _kept.kept("b", make(3))
    assert _kept.kept("c", make(4)) == [4] and _kept.kept("c", make(5)) == [5]
    assert list(_kept._KEPT) == ["a", "b"] and made == [1, 3, 4, 5]


def test_kept_refused_values_are_made_each_time(fresh):
    assert _kept.kept("x", lambda: [1], keep=lambda v: False) == [1]
    assert _kept._KEPT == {}


@pytest.mark.parametrize("count,step", [(5, 7), (1, 3), (0, 4), (6, 1)])
def test_strided_arange(fresh, count, step):
    like = ember.zeros(2, device=DEVICE)._data
    got = _kept.strided_arange(xp_of(like), like, count, step)
    assert _kept.strided_arange(xp_of(like), like, count, step) is got
    assert_same(ember.tensor(got if type(got) is np.ndarray else got.get()),
                torch.arange(0, count * step, step))
    if type(got) is np.ndarray:
        assert not got.flags.writeable  # nothing may write into a kept array
    else:
        assert got.device.id == like.device.id


def test_strided_arange_on_meta_is_not_kept(fresh):
    like = ember.zeros(3, device="meta")._data
    out = _kept.strided_arange(xp_of(like), like, 4, 2)
    assert out.shape == (4,) and _kept._KEPT == {}
