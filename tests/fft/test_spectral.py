"""Window functions, stft and istft against torch: values, dtypes, gradients (input and
window), double backward, warnings and errors."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import oracle
import pytest
import torch

import ember
from ember._ops import _stft

DEV = oracle.DEVICE
sys.path.insert(0, os.path.dirname(__file__))
from fft_oracle import assert_same, compare, compare_double, sample, to_numpy

WINDOWS = [
    ("hann_window", ()), ("hamming_window", ()), ("hamming_window", (0.6, 0.3)),
    ("blackman_window", ()), ("bartlett_window", ()), ("kaiser_window", ()),
    ("kaiser_window", (3.5,)),
]


@pytest.mark.parametrize("name,extra", WINDOWS)
@pytest.mark.parametrize("length", [0, 1, 2, 3, 8, 11])
@pytest.mark.parametrize("periodic", [True, False])
def test_windows(name, extra, length, periodic):
    for dtype in ("float32", "float64"):
        e = getattr(ember, name)(length, periodic, *extra, dtype=getattr(ember, dtype),
                                 device=DEV)
        t = getattr(torch, name)(length, periodic, *extra, dtype=getattr(torch, dtype))
        assert_same(e, t)


@pytest.mark.parametrize("name", sorted({w[0] for w in WINDOWS}))
def test_window_options_and_errors(name):
    assert_same(getattr(ember, name)(7, device=DEV), getattr(torch, name)(7))
    e = getattr(ember, name)(5, dtype=ember.float16, device=DEV)
    t = getattr(torch, name)(5, dtype=torch.float16)
    np.testing.assert_allclose(to_numpy(e), t.numpy(), rtol=1e-3, atol=1e-3)
    w = getattr(ember, name)(6, dtype=ember.float64, requires_grad=True, device=DEV)
    assert w.requires_grad and w.is_leaf
    assert getattr(ember, name)(1, dtype=ember.complex64).dtype == ember.complex64
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match=f"{name} expects floating point dtypes, got: "
                                               r"TensorOptions\(dtype=long int"):
            getattr(lib, name)(5, dtype=lib.int64)
        with pytest.raises(RuntimeError, match=f"{name} requires non-negative window_length, "
                                               "got window_length=-1"):
            getattr(lib, name)(-1)
        with pytest.raises(NotImplementedError, match="not implemented for 'ComplexFloat'"):
            getattr(lib, name)(5, dtype=lib.complex64)


def _quiet(fn):
    def run(lib, *args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(lib, *args)
    return run


STFT_CASES = [
    # (signal shape, kwargs)
    ((64,), {"n_fft": 16}),
    ((64,), {"n_fft": 16, "hop_length": 5}),
    ((2, 50), {"n_fft": 12, "hop_length": 3, "win_length": 8}),
    ((2, 50), {"n_fft": 12, "hop_length": 4, "win_length": 7, "center": False}),
    ((40,), {"n_fft": 15, "hop_length": 4, "center": False, "normalized": True}),
    ((40,), {"n_fft": 16, "onesided": False}),
    ((3, 33), {"n_fft": 8, "pad_mode": "constant"}),
    ((33,), {"n_fft": 8, "pad_mode": "replicate", "normalized": True}),
    ((33,), {"n_fft": 8, "pad_mode": "circular"}),
    ((40,), {"n_fft": 16, "win_length": 8, "center": False, "align_to_window": True}),
    ((40,), {"n_fft": 16, "win_length": 9, "hop_length": 3, "center": False,
             "align_to_window": False}),
    ((16,), {"n_fft": 16, "center": False}),
]


@pytest.mark.parametrize("shape,kwargs", STFT_CASES)
def test_stft(shape, kwargs):
    win_length = kwargs.get("win_length", kwargs["n_fft"])
    for dtype in (np.float64, np.complex128):
        if dtype == np.complex128 and kwargs.get("onesided"):
            continue
        x = sample(shape, dtype)
        compare(_quiet(lambda lib, t: lib.stft(t, return_complex=True, **kwargs)), x)
        compare(_quiet(lambda lib, t, w: lib.stft(t, window=w, return_complex=True, **kwargs)),
                x, sample((win_length,), np.float64))
    window = sample((win_length,), np.complex128)
    two_sided = {**kwargs, "onesided": False}
    compare(_quiet(lambda lib, t, w: t.stft(window=w, return_complex=True, **two_sided)),
            sample(shape, np.float64), window)


def test_stft_float32_and_mixed_dtypes():
    x = sample((2, 40), np.float32)
    compare(_quiet(lambda lib, t: lib.stft(t, 16, return_complex=True)), x)
    compare(_quiet(lambda lib, t, w: lib.stft(t, 16, window=w, return_complex=True)), x,
            sample((16,), np.float64))
    # a float32 window promoted into float64 math: ember's window is the correctly rounded
    # float32 value, torch's comes from float32 arithmetic (within 1 ulp of it), so the
    # float64 results (and their gradients, sums of such products) differ at float32's
    # precision: a few 1e-6 at worst
    compare(_quiet(lambda lib, t: lib.stft(t.double(), 16, window=lib.hann_window(16),
                                           return_complex=True)), x, rtol=1e-5, atol=1e-5)


def test_stft_return_real():
    compare(_quiet(lambda lib, t: lib.stft(t, 16, return_complex=False)), sample((40,)))


def test_stft_double_backward():
    compare_double(_quiet(lambda lib, t: lib.stft(t, 12, 3, window=lib.hann_window(
        12, dtype=lib.float64), return_complex=True)), sample((2, 30)))


ISTFT_CASES = [
    {"n_fft": 16, "hop_length": 4},
    {"n_fft": 16, "hop_length": 5, "win_length": 12},
    {"n_fft": 15, "hop_length": 3, "normalized": True},
    {"n_fft": 16, "hop_length": 4, "center": False},
    {"n_fft": 16, "hop_length": 4, "length": 70},
    {"n_fft": 16, "hop_length": 4, "length": 30},
    {"n_fft": 16, "hop_length": 4, "onesided": False},
    {"n_fft": 16, "hop_length": 4, "onesided": False, "return_complex": True},
]


@pytest.mark.parametrize("kwargs", ISTFT_CASES)
def test_istft(kwargs):
    n_fft = kwargs["n_fft"]
    win_length = kwargs.get("win_length", n_fft)
    bins = n_fft if kwargs.get("onesided") is False else n_fft // 2 + 1
    for shape in ((bins, 9), (2, bins, 9)):
        spectrum = sample(shape, np.complex128)
        window = np.hanning(win_length + 2)[1:-1]  # nonzero ends: a usable overlap-add
        compare(_quiet(lambda lib, s, w: lib.istft(s, window=w, **kwargs)), spectrum, window)
        compare(_quiet(lambda lib, s: lib.istft(s, **kwargs)), spectrum)
    compare(_quiet(lambda lib, s, w: s.istft(window=w, **kwargs)),
            sample((bins, 9), np.complex64), window.astype(np.float32))


def test_istft_round_trip_and_double_backward():
    x = sample((2, 100))
    window = np.hanning(32)
    compare(_quiet(lambda lib, t, w: lib.istft(lib.stft(t, 32, 8, window=w, return_complex=True),
                                               32, 8, window=w, length=100)), x, window)
    recovered = ember.istft(ember.stft(ember.tensor(x), 32, 8, window=ember.tensor(window),
                                       return_complex=True), 32, 8, window=ember.tensor(window),
                            length=100)
    np.testing.assert_allclose(recovered.numpy(), x, rtol=1e-10, atol=1e-10)
    compare_double(_quiet(lambda lib, s: lib.istft(s, 16, 4, window=lib.hann_window(
        16, dtype=lib.float64))), sample((9, 7), np.complex128))


def test_warnings_once():
    x = ember.randn(40)
    for key in ("stft_window", "stft_real", "istft_window", "istft_length"):
        _stft._warned.discard(key)
    with pytest.warns(UserWarning, match="A window was not provided. A rectangular window"):
        ember.stft(x, 16, return_complex=True)
    with pytest.warns(UserWarning, match="stft with return_complex=False is deprecated"):
        ember.stft(x, 16, window=ember.ones(16), return_complex=False)
    spectrum = ember.stft(x, 16, window=ember.ones(16), return_complex=True)
    with pytest.warns(UserWarning, match="Please provide the same window used by stft"):
        ember.istft(spectrum, 16)
    with pytest.warns(UserWarning, match="The length of signal is shorter than the length"):
        ember.istft(spectrum, 16, window=ember.ones(16), length=80)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.stft(x, 16, return_complex=True)  # once per process, as TORCH_WARN_ONCE
        ember.istft(spectrum, 16)


X = np.arange(40, dtype=np.float32)
S = np.ones((9, 11), np.complex64)
STFT_ERRORS = [
    ("no_return_complex", lambda lib: lib.stft(lib.tensor(X), 16),
     "stft requires the return_complex parameter be given for real inputs"),
    ("align_center", lambda lib: lib.stft(lib.tensor(X), 16, return_complex=True,
                                          align_to_window=True),
     "stft align_to_window should only be set when center = false"),
    ("n_fft_long", lambda lib: lib.stft(lib.tensor(X), 41, return_complex=True, center=False),
     (r"stft\(torch.FloatTensor\[40\], n_fft=41, hop_length=10, win_length=41, window=None, "
     r"normalized=0, onesided=None, return_complex=1, align_to_window=None\) : expected "
     r"0 < n_fft < 40, but got n_fft=41")),
    ("hop0", lambda lib: lib.stft(lib.tensor(X), 16, 0, return_complex=True),
     "expected hop_length > 0, but got hop_length=0"),
    ("win_long", lambda lib: lib.stft(lib.tensor(X), 16, win_length=17, return_complex=True),
     "expected 0 < win_length <= n_fft, but got win_length=17"),
    ("window_size", lambda lib: lib.stft(lib.tensor(X), 16, window=lib.ones(5),
                                         return_complex=True),
     (r"window=torch.FloatTensor\{\[5\]\}.*expected a 1D window tensor of size equal to "
     r"win_length=16, but got window with size \[5\]")),
    ("three_d", lambda lib: lib.stft(lib.ones(2, 3, 40), 16, return_complex=True),
     "expected a 1D or 2D tensor"),
    ("ints", lambda lib: lib.stft(lib.arange(40), 16, return_complex=True),
     "expected a tensor of floating point or complex values"),
    ("onesided_complex", lambda lib: lib.stft(lib.tensor(X), 16, return_complex=True,
                                              onesided=True,
                                              window=lib.ones(16, dtype=lib.complex64)),
     "Cannot have onesided output if window or input is complex"),
    ("pad_mode", lambda lib: lib.stft(lib.tensor(X), 16, return_complex=True, pad_mode="bad"),
     None),
    ("istft_real", lambda lib: lib.istft(lib.ones(9, 11), 16),
     "istft requires a complex-valued input tensor matching the output from stft"),
    ("istft_bins", lambda lib: lib.istft(lib.tensor(S), 18),
     (r"istft\(CPUComplexFloatType\[9, 11\], n_fft=18, hop_length=4, win_length=18, "
     r"window=None, center=1, normalized=0, onesided=None, length=None, return_complex=0\) : "
     r"expected the frequency dimension \(3rd to the last\) of the input tensor to match "
     r"n_fft / 2 \+ 1 when onesided=True, but got 9")),
    ("istft_bins_two_sided", lambda lib: lib.istft(lib.tensor(S), 16, onesided=False),
     "to match n_fft when onesided=False, but got 9"),
    ("istft_hop", lambda lib: lib.istft(lib.tensor(S), 16, hop_length=20),
     "expected 0 < hop_length <= win_length"),
    ("istft_win", lambda lib: lib.istft(lib.tensor(S), 16, win_length=20),
     "expected 0 < win_length <= n_fft"),
    ("istft_window", lambda lib: lib.istft(lib.tensor(S), 16, window=lib.ones(3)),
     "Invalid window shape. window has to be 1D and length of `win_length`"),
    ("istft_complex_onesided", lambda lib: lib.istft(lib.tensor(S), 16, return_complex=True),
     "Cannot have onesided output if window or input is complex"),
    ("istft_empty", lambda lib: lib.istft(lib.tensor(S)[:, :0], 16),
     "input tensor cannot be empty."),
    ("istft_1d", lambda lib: lib.istft(lib.tensor(S)[0], 16), "Dimension out of range"),
    ("istft_4d", lambda lib: lib.istft(lib.ones(1, 1, 9, 11, dtype=lib.complex64), 16),
     "expected a tensor with 3 or 4 dimensions of complex dtype, but got 5"),
    ("istft_zero_window", lambda lib: lib.istft(lib.tensor(S), 16, window=lib.zeros(16)),
     "window overlap add min: 1"),
    ("istft_complex_window", lambda lib: lib.istft(lib.tensor(S), 16,
                                                   window=lib.ones(16, dtype=lib.complex64)),
     "Complex windows are incompatible with return_complex=False"),
]


@pytest.mark.parametrize("fn,match", [e[1:] for e in STFT_ERRORS], ids=[e[0] for e in STFT_ERRORS])
def test_errors(fn, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as t_info:
            fn(torch)
        with pytest.raises(type(t_info.value), match=match):
            fn(ember)
