"""ember.fft's transforms against torch.fft: values, dtypes, shapes, gradients (complex
upstream gradients; double backward), out=, and errors."""

from __future__ import annotations

import os
import sys

import numpy as np
import oracle
import pytest
import torch

import ember

sys.path.insert(0, os.path.dirname(__file__))
from fft_oracle import compare, compare_double, sample, to_numpy

F64, C128 = np.float64, np.complex128
NORMS = [None, "backward", "ortho", "forward"]

ONE_DIM = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
REAL_ONLY = {"rfft", "ihfft", "rfft2", "ihfft2", "rfftn", "ihfftn"}

# (shape, n, dim): default sizes, padding, trimming, odd and even n, a leading dim
ONE_DIM_CASES = [
    ((8,), None, -1), ((7,), None, -1), ((3, 6), None, -1), ((3, 6), 9, -1),
    ((3, 6), 4, 1), ((5, 4), 3, 0), ((5, 4), 8, 0), ((2, 5, 3), 5, 1), ((1,), 1, 0),
    ((4, 2), 1, -1), ((3, 6), 14, -1), ((3, 6), 15, 1),
]


def _dtypes(name):
    return [F64] if name in REAL_ONLY else [F64, C128]


@pytest.mark.parametrize("name", ONE_DIM)
@pytest.mark.parametrize("shape,n,dim", ONE_DIM_CASES)
def test_one_dim(name, shape, n, dim):
    for dtype in _dtypes(name):
        x = sample(shape, dtype)
        compare(lambda lib, t: getattr(lib.fft, name)(t, n=n, dim=dim), x)


@pytest.mark.parametrize("name", ONE_DIM)
@pytest.mark.parametrize("norm", NORMS)
def test_one_dim_norms(name, norm):
    for dtype in _dtypes(name):
        for n in (None, 5, 8):
            x = sample((3, 6), dtype)
            compare(lambda lib, t, n=n: getattr(lib.fft, name)(t, n, -1, norm), x)


ND = ["fft2", "ifft2", "fftn", "ifftn", "rfft2", "irfft2", "rfftn", "irfftn", "hfft2",
      "ihfft2", "hfftn", "ihfftn"]

# (shape, s, dim): default, s alone (last dims), dims alone, both, -1 in s, odd/even last
ND_CASES = [
    ((4, 6), None, None), ((3, 5), None, None), ((2, 4, 6), None, None),
    ((2, 4, 6), (3, 7), None), ((2, 4, 6), None, (0, 2)), ((2, 4, 6), (5, 3), (2, 0)),
    ((2, 4, 6), (-1, 5), (1, 2)), ((3, 4, 5), (4,), (1,)), ((3, 4, 5), (2, 2, 3), None),
    ((4, 6), (8, 9), (-2, -1)), ((4, 6), (5, 13), None), ((3, 4, 5), (6, -1, 12), (1, 0, 2)),
]


@pytest.mark.parametrize("name", ND)
@pytest.mark.parametrize("shape,s,dim", ND_CASES)
def test_n_dim(name, shape, s, dim):
    two_dim_mismatch = ((s is not None and len(s) != 2) or (dim is not None and len(dim) != 2)
                        or len(shape) < 2)
    if name.endswith("2") and two_dim_mismatch:
        return _two_dim_default(name, shape)
    kwargs = {}
    if s is not None:
        kwargs["s"] = s
    if dim is not None:
        kwargs["dim"] = dim
    for dtype in _dtypes(name):
        x = sample(shape, dtype)
        compare(lambda lib, t, kw=kwargs: getattr(lib.fft, name)(t, **kw), x)


def _two_dim_default(name, shape):
    for dtype in _dtypes(name):
        compare(lambda lib, t: getattr(lib.fft, name)(t), sample(shape, dtype))


@pytest.mark.parametrize("name", ND)
@pytest.mark.parametrize("norm", NORMS)
def test_n_dim_norms(name, norm):
    for dtype in _dtypes(name):
        x = sample((3, 4, 5), dtype)
        compare(lambda lib, t: getattr(lib.fft, name)(t, s=(5, 4), dim=(0, 2), norm=norm), x)


@pytest.mark.parametrize("name", ONE_DIM + ND)
def test_float32_dtypes_and_int_promotion(name):
    """float32 -> complex64 (not NumPy's complex128 habit); ints use the default float."""
    dtypes = [np.float32, np.int64, np.bool_] + ([] if name in REAL_ONLY else [np.complex64])
    for dtype in dtypes:
        compare(lambda lib, t: getattr(lib.fft, name)(t), sample((4, 6), dtype), grad=False)


@pytest.mark.parametrize("name", ONE_DIM + ND)
def test_float32_gradients(name):
    for dtype in [np.float32] + ([] if name in REAL_ONLY else [np.complex64]):
        compare(lambda lib, t: getattr(lib.fft, name)(t), sample((3, 6), dtype))


def test_default_dtype_float64_for_ints():
    previous = ember.get_default_dtype()
    ember.set_default_dtype(ember.float64)
    torch_previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        compare(lambda lib, t: lib.fft.rfft(t), sample((5,), np.int64), grad=False)
    finally:
        ember.set_default_dtype(previous)
        torch.set_default_dtype(torch_previous)


@pytest.mark.parametrize("name", ONE_DIM + ND)
def test_double_backward(name):
    for dtype in _dtypes(name):
        x = sample((3, 5), dtype)
        kwargs = {"n": 7} if name in ONE_DIM else {"s": (4, 7)}
        compare_double(lambda lib, t, kw=kwargs: getattr(lib.fft, name)(t, **kw), x)
        compare_double(lambda lib, t: getattr(lib.fft, name)(t, norm="ortho"), x)


@pytest.mark.parametrize("name", ["irfft", "hfft", "irfftn", "hfftn"])
def test_hermitian_bins_ignored_and_gradient(name):
    """The imaginary parts of the zero and Nyquist bins do not reach the output of a c2r
    transform; torch's gradient still has them (the doubled-bin formula), and so must ours."""
    x = sample((2, 5), C128)
    for n in (8, 9):
        kwargs = {"n": n} if name in ("irfft", "hfft") else {"s": (2, n)}
        compare(lambda lib, t, kw=kwargs: getattr(lib.fft, name)(t, **kw), x)


def test_real_losses_through_real_and_abs():
    """End to end with the complex family: losses of .real and .abs() of spectra."""
    x = sample((4, 10), F64)
    compare(lambda lib, t: (lib.fft.rfft(t, n=12).abs() ** 2).sum(), x)
    compare(lambda lib, t: lib.fft.fft2(t).real.sum() + lib.fft.ifft(t).imag.pow(2).sum(), x)
    compare(lambda lib, t: lib.fft.irfft(lib.fft.rfft(t) * 2, n=10).sum(), x)


def test_gradcheck_real_roundtrip():
    x = ember.tensor(sample((3, 7), F64), requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: ember.fft.irfft(ember.fft.rfft(t) ** 2, n=7), (x,))
    assert ember.autograd.gradcheck(lambda t: ember.fft.hfft(t, n=9, norm="ortho"), (x,))
    assert ember.autograd.gradgradcheck(lambda t: ember.fft.irfft(ember.fft.rfft(t) ** 2), (x,))


def test_grad_fn_names():
    x = ember.randn(5, requires_grad=True)
    c = ember.randn(5, dtype=ember.complex64, requires_grad=True)
    assert ember.fft.fft(x).grad_fn.name() == "FftR2CBackward0"
    assert ember.fft.rfft(x).grad_fn.name() == "FftR2CBackward0"
    assert ember.fft.ifft(x).grad_fn.name() == "ConjBackward0"
    assert ember.fft.irfft(c).grad_fn.name() == "FftC2RBackward0"
    assert ember.fft.hfft(c).grad_fn.name() == "FftC2RBackward0"
    assert ember.fft.fft(c).grad_fn.name() == "FftC2CBackward0"
    names = ("fft2", "ifft2", "fftn", "ifftn", "rfft2", "rfftn", "ihfft2", "ihfftn", "irfft2",
             "hfft2", "irfftn", "hfftn")
    for name in names:
        for dim in ((0, 1), (1,)):
            e = getattr(ember.fft, name)(ember.randn(3, 4, requires_grad=True), dim=dim)
            t = getattr(torch.fft, name)(torch.randn(3, 4, requires_grad=True), dim=dim)
            assert e.grad_fn.name() == type(t.grad_fn).__name__, (name, dim)


def test_zero_dim_and_empty_dims():
    compare(lambda lib, t: lib.fft.fftn(t), sample((), F64))
    compare(lambda lib, t: lib.fft.fftn(t, dim=()), sample((2, 3), F64))
    compare(lambda lib, t: lib.fft.ifftn(t, dim=()), sample((2, 3), C128))
    # an empty batch: torch's MKL backend raises an internal "Inconsistent configuration
    # parameters" error here; ember returns the empty spectrum
    empty = ember.fft.fft(ember.zeros(0, 3, dtype=ember.float64))
    assert empty.shape == (0, 3) and empty.dtype == ember.complex128
    compare(lambda lib, t: lib.fft.fft(t, n=4), sample((3, 0), F64))
    compare(lambda lib, t: lib.fft.irfft2(t, s=(3, 4)), sample((4, 0), C128))


def test_noncontiguous_input():
    x = sample((6, 8), C128)
    compare(lambda lib, t: lib.fft.fft(t.t(), dim=0), x)
    compare(lambda lib, t: lib.fft.irfft(t[:, ::2]), x)
    compare(lambda lib, t: lib.fft.rfft2(t.real.t()), x)


def test_out():
    x = sample((4, 6), np.float32)
    for lib in (torch, ember):
        out = lib.empty(4, 4, dtype=lib.complex64)
        result = lib.fft.rfft(lib.tensor(x), out=out)
        assert result is out
    e_out, t_out = ember.empty(0, dtype=ember.complex64), torch.empty(0, dtype=torch.complex64)
    ember.fft.fft2(ember.tensor(x), out=e_out)
    torch.fft.fft2(torch.tensor(x), out=t_out)
    np.testing.assert_allclose(e_out.numpy(), t_out.numpy(), rtol=1.3e-6, atol=1e-5)
    e_out, t_out = ember.empty(4, 10), torch.empty(4, 10)
    ember.fft.irfft(ember.tensor(x), out=e_out)
    torch.fft.irfft(torch.tensor(x), out=t_out)
    np.testing.assert_allclose(e_out.numpy(), t_out.numpy(), rtol=1.3e-6, atol=1e-5)


ERRORS = [
    ("half", lambda lib: lib.fft.fft(lib.ones(4, dtype=lib.float16)), "Unsupported dtype Half"),
    ("bf16", lambda lib: lib.fft.rfft(lib.ones(4, dtype=lib.bfloat16)),
     "Unsupported dtype BFloat16"),
    ("rfft_complex", lambda lib: lib.fft.rfft(lib.ones(4, dtype=lib.complex64)),
     "rfft expects a real input tensor, but got ComplexFloat"),
    ("ihfft_complex", lambda lib: lib.fft.ihfft(lib.ones(4, dtype=lib.complex64)),
     "ihfft expects a real input tensor"),
    ("rfft2_complex", lambda lib: lib.fft.rfft2(lib.ones(2, 4, dtype=lib.complex64)),
     "rfftn expects a real-valued input tensor, but got ComplexFloat"),
    ("ihfftn_complex", lambda lib: lib.fft.ihfftn(lib.ones(2, 4, dtype=lib.complex64)),
     "Only supports floating-point dtypes, but found: ComplexFloat"),
    ("n0", lambda lib: lib.fft.fft(lib.ones(4), n=0), r"Invalid number of data points \(0\)"),
    ("n-1", lambda lib: lib.fft.fft(lib.ones(4), n=-1), r"Invalid number of data points \(-1\)"),
    ("irfft_size1", lambda lib: lib.fft.irfft(lib.ones(4, 1)), r"data points \(0\)"),
    ("irfftn_size1", lambda lib: lib.fft.irfftn(lib.ones(4, 1)), r"data points \(0\)"),
    ("irfft2_s0", lambda lib: lib.fft.irfft2(lib.ones(4, 3), s=(3, 0)), r"data points \(0\)"),
    ("s0", lambda lib: lib.fft.fftn(lib.ones(4, 6), s=(0, 3)), r"data points \(0\)"),
    ("dim_range", lambda lib: lib.fft.fft(lib.ones(4, 6), dim=2), "Dimension out of range"),
    ("zero_dim", lambda lib: lib.fft.fft(lib.tensor(1.0)),
     "Dimension specified as -1 but tensor has no dimensions"),
    ("fft2_1d", lambda lib: lib.fft.fft2(lib.ones(3)), "Dimension out of range"),
    ("norm", lambda lib: lib.fft.fft(lib.ones(4), norm="bad"), 'Invalid normalization mode: "bad"'),
    ("s_dim_len", lambda lib: lib.fft.fftn(lib.ones(4, 6), s=(3,), dim=(0, 1)),
     "When given, dim and shape arguments must have the same length"),
    ("dup_dims", lambda lib: lib.fft.fftn(lib.ones(4, 6), dim=(0, 0)), "FFT dims must be unique"),
    ("dup_dims_neg", lambda lib: lib.fft.rfftn(lib.ones(4, 6), dim=(1, -1)),
     "FFT dims must be unique"),
    ("long_s", lambda lib: lib.fft.fftn(lib.ones(4, 6), s=(3, 4, 5)),
     "Got shape with 3 values but input tensor only has 2 dimensions."),
    ("rfftn_no_axis", lambda lib: lib.fft.rfftn(lib.ones(4, 6), dim=()),
     "rfftn must transform at least one axis"),
    ("irfft2_no_axis", lambda lib: lib.fft.irfft2(lib.ones(4, 6), dim=()),
     "irfftn must transform at least one axis"),
    ("hfftn_no_axis", lambda lib: lib.fft.hfftn(lib.ones(4, 6), dim=()),
     "hfftn must transform at least one axis"),
    ("ihfft2_no_axis", lambda lib: lib.fft.ihfft2(lib.ones(4, 6), dim=()),
     "ihfftn must transform at least one axis"),
    ("out_real", lambda lib: lib.fft.fft(lib.ones(4), out=lib.empty(4)),
     "fft expects a complex output tensor, but got Float"),
    ("out_complex", lambda lib: lib.fft.irfft(lib.ones(4), out=lib.empty(6, dtype=lib.complex64)),
     "irfft expects a floating point output tensor, but got ComplexFloat"),
    ("out_grad", lambda lib: lib.fft.fft(lib.ones(4, requires_grad=True),
                                         out=lib.empty(4, dtype=lib.complex64)),
     "don't support automatic differentiation"),
    ("not_tensor", lambda lib: lib.fft.fft(np.ones(4)), "must be Tensor"),
]


@pytest.mark.parametrize("fn,match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors(fn, match):
    with pytest.raises(Exception) as t_info:
        fn(torch)
    expected = type(t_info.value)
    with pytest.raises(expected, match=match):
        fn(ember)


@pytest.mark.parametrize("name", ONE_DIM + ND)
def test_numpy_fft_fallback(name, monkeypatch):
    """Without SciPy the host transforms run on numpy.fft: same values, dtypes, gradients."""
    from ember._ops import _fft_kernels

    monkeypatch.setattr(_fft_kernels, "_host_fft", [np.fft])
    for dtype in _dtypes(name) + ([] if name in REAL_ONLY else [np.complex64]) + [np.float32]:
        kwargs = {"n": 7} if name in ONE_DIM else {"s": (4, 7)}
        compare(lambda lib, t, kw=kwargs: getattr(lib.fft, name)(t, **kw), sample((3, 6), dtype))


def test_real_input_spectrum_prints_as_torch():
    """No negative-zero imaginary parts in the zero and Nyquist bins of a real signal's full
    spectrum (SciPy's mirroring leaves them; PyTorch and NumPy print ``6.+0.j``)."""
    e = ember.fft.fft(ember.arange(4.0, device=oracle.DEVICE))
    t = torch.fft.fft(torch.arange(4.0))
    assert repr(e.cpu()) == repr(t)
    np.testing.assert_array_equal(np.signbit(to_numpy(e).imag), np.signbit(t.numpy().imag))
