"""ember.signal.windows against torch.signal.windows: values, dtypes, options, errors."""

from __future__ import annotations

import os
import sys

import oracle
import pytest
import torch

import ember

DEV = oracle.DEVICE
sys.path.insert(0, os.path.dirname(__file__))
from fft_oracle import assert_same

CASES = [
    ("bartlett", {}), ("blackman", {}), ("cosine", {}), ("exponential", {}),
    ("exponential", {"tau": 2.5}), ("gaussian", {}), ("gaussian", {"std": 0.4}),
    ("general_cosine", {"a": [0.5, 0.3, 0.2]}), ("general_cosine", {"a": (1.0,)}),
    ("general_hamming", {}), ("general_hamming", {"alpha": 0.6}), ("hamming", {}),
    ("hann", {}), ("kaiser", {}), ("kaiser", {"beta": 0.0}), ("kaiser", {"beta": 3.5}),
    ("nuttall", {}),
]


@pytest.mark.parametrize("name,kwargs", CASES)
@pytest.mark.parametrize("M", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("sym", [True, False])
def test_windows(name, kwargs, M, sym):
    for dtype in ("float32", "float64"):
        e = getattr(ember.signal.windows, name)(M, sym=sym, dtype=getattr(ember, dtype),
                                                device=DEV, **kwargs)
        t = getattr(torch.signal.windows, name)(M, sym=sym, dtype=getattr(torch, dtype),
                                                **kwargs)
        assert_same(e, t)


def test_exponential_center_and_defaults():
    assert_same(ember.signal.windows.exponential(6, center=1.5, sym=False, device=DEV),
                torch.signal.windows.exponential(6, center=1.5, sym=False))
    assert_same(ember.signal.windows.hann(7, device=DEV), torch.signal.windows.hann(7))
    w = ember.signal.windows.kaiser(4, requires_grad=True, device=DEV)
    assert w.requires_grad


ERRORS = [
    (lambda lib: lib.signal.windows.hann(-1), ValueError,
     "general_cosine requires non-negative window length, got M=-1"),
    (lambda lib: lib.signal.windows.bartlett(-2), ValueError,
     "bartlett requires non-negative window length, got M=-2"),
    (lambda lib: lib.signal.windows.blackman(3, dtype=lib.float16), ValueError,
     "blackman expects float32 or float64 dtypes, got: torch.float16"),
    (lambda lib: lib.signal.windows.kaiser(3, dtype=lib.int64), ValueError,
     "kaiser expects float32 or float64 dtypes, got: torch.int64"),
    (lambda lib: lib.signal.windows.kaiser(3, beta=-1), ValueError,
     "beta must be non-negative, got: -1 instead."),
    (lambda lib: lib.signal.windows.gaussian(3, std=0), ValueError,
     "Standard deviation must be positive, got: 0 instead."),
    (lambda lib: lib.signal.windows.exponential(3, tau=0), ValueError,
     "Tau must be positive, got: 0 instead."),
    (lambda lib: lib.signal.windows.exponential(3, center=1.0), ValueError,
     "Center must be None for symmetric windows"),
    (lambda lib: lib.signal.windows.general_cosine(3, a=0.5), TypeError,
     "Coefficients must be a list/tuple"),
    (lambda lib: lib.signal.windows.general_cosine(3, a=[]), ValueError,
     "Coefficients cannot be empty"),
]


@pytest.mark.parametrize("fn,kind,match", ERRORS)
def test_errors(fn, kind, match):
    for lib in (torch, ember):
        with pytest.raises(kind, match=match):
            fn(lib)
