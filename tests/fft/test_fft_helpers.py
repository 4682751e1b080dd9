"""fftfreq, rfftfreq, fftshift and ifftshift against torch.fft."""

from __future__ import annotations

import os
import sys

import numpy as np
import oracle
import pytest
import torch

import ember

DEV = oracle.DEVICE
sys.path.insert(0, os.path.dirname(__file__))
from fft_oracle import assert_same, compare, sample


@pytest.mark.parametrize("name", ["fftfreq", "rfftfreq"])
@pytest.mark.parametrize("n", [0, 1, 2, 5, 8, 11, -1, -3])
@pytest.mark.parametrize("d", [1.0, 0.1, 3])
def test_frequencies(name, n, d):
    if name == "fftfreq" and n < 0:
        for lib in (ember, torch):
            with pytest.raises(RuntimeError, match="negative dimension"):
                lib.fft.fftfreq(n, d)
        return
    # rfftfreq(-1) is [-0.] and rfftfreq(-3) empty: C++'s truncating n / 2, kept
    assert_same(getattr(ember.fft, name)(n, d, device=DEV), getattr(torch.fft, name)(n, d))


@pytest.mark.parametrize("name", ["fftfreq", "rfftfreq"])
def test_frequency_options(name):
    for dtype in ("float64", "float32"):
        e = getattr(ember.fft, name)(7, 0.5, dtype=getattr(ember, dtype), device=DEV)
        t = getattr(torch.fft, name)(7, 0.5, dtype=getattr(torch, dtype))
        assert_same(e, t)
    e = getattr(ember.fft, name)(6, dtype=ember.float64, requires_grad=True, device=DEV)
    assert e.requires_grad and e.is_leaf
    e_out = ember.empty(0, dtype=ember.float64, device=DEV)
    t_out = torch.empty(0, dtype=torch.float64)
    assert getattr(ember.fft, name)(9, out=e_out) is e_out
    getattr(torch.fft, name)(9, out=t_out)
    assert_same(e_out, t_out)
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="requires a floating point or complex dtype"):
            getattr(lib.fft, name)(4, dtype=lib.int64)
        with pytest.raises(RuntimeError, match="negative dimension"):
            getattr(lib.fft, name)(-5)
        with pytest.raises(NotImplementedError, match="not implemented for 'ComplexFloat'"):
            getattr(lib.fft, name)(4, dtype=lib.complex64)


@pytest.mark.parametrize("name", ["fftshift", "ifftshift"])
@pytest.mark.parametrize("shape,dim", [
    ((5,), None), ((6,), None), ((4, 5), None), ((4, 5), 0), ((4, 5), -1), ((3, 4, 5), (0, 2)),
    ((3, 4, 5), [1]),
])
def test_shifts(name, shape, dim):
    for dtype in (np.float64, np.complex128):
        compare(lambda lib, t: getattr(lib.fft, name)(t, dim=dim), sample(shape, dtype))


@pytest.mark.parametrize("shape,dim", [((3, 4), ()), ((), None)])
def test_shift_nothing_to_roll(shape, dim):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="`shifts` required"):
            lib.fft.fftshift(lib.zeros(shape), dim=dim)


def test_shift_round_trip_and_centre():
    freqs = ember.fft.fftfreq(9)
    shifted = ember.fft.fftshift(freqs)
    assert np.all(np.diff(shifted.numpy()) > 0)
    np.testing.assert_array_equal(ember.fft.ifftshift(shifted).numpy(), freqs.numpy())
