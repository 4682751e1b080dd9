"""ops family: spectral. Window functions (``hann_window``, ...) and the short-time
Fourier transform (``stft``/``istft``, in ``_stft.py``); the transforms themselves are
``ember.fft``'s (``_fft.py``).

Windows are factories (no graph): PyTorch's formulas, evaluated in float64 and cast to the
requested dtype, so float32 windows are the correctly rounded values (PyTorch's own float32
arithmetic lands within an ulp or two of them).
"""

from __future__ import annotations

import math

from ._factory import _finish, _module_and_device, _np_dtype
from ._stft import istft, stft
from ._util import type_name

__all__ = [
    "bartlett_window", "blackman_window", "hamming_window", "hann_window", "istft",
    "kaiser_window", "stft",
]

# C++'s names for dtypes, as PyTorch prints TensorOptions in the window dtype error
_CPP_NAMES = {
    "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
    "uint8": "unsigned char", "bool": "bool",
}


def _window(fname, window_length, periodic, dtype, device, requires_grad, formula):
    """Shared checks and the periodic trick: a periodic window of N points is the first N
    points of the symmetric window of N + 1, so a DFT of it has no end-point overlap."""
    np_dtype = _np_dtype(dtype)
    if np_dtype.kind not in "fcV":
        name = _CPP_NAMES.get(str(np_dtype), str(np_dtype))
        raise RuntimeError(
            f"{fname} expects floating point dtypes, got: TensorOptions(dtype={name}, "
            "device=cpu, layout=Strided (default), requires_grad=false (default), "
            "pinned_memory=false, memory_format=(nullopt))")
    if window_length < 0:
        raise RuntimeError(
            f"{fname} requires non-negative window_length, got window_length={window_length}")
    xp, _ = _module_and_device(device)
    if window_length <= 1:
        return _finish(xp.ones(window_length, dtype=np_dtype), requires_grad)
    if np_dtype.kind == "c":  # PyTorch's window kernels start from an arange, which refuses it
        raise NotImplementedError(
            f"\"arange_cpu\" not implemented for '{type_name(np_dtype)}'")
    points = window_length + 1 if periodic else window_length
    values = formula(xp, xp.arange(points, dtype="float64"), points)
    if periodic:
        values = values[:-1]
    return _finish(values.astype(np_dtype), requires_grad)


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                device=None, requires_grad: bool = False):
    """Hann window: ``0.5 - 0.5 cos(2 pi n / (N - 1))`` (``N = window_length + 1`` when
    ``periodic``, the last point dropped), the usual window for :func:`stft`.

    Example::

        >>> ember.hann_window(4)
        tensor([0.0000, 0.5000, 1.0000, 0.5000])
    """
    return _cosine_window("hann_window", window_length, periodic, 0.5, 0.5, dtype, device,
                          requires_grad)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype=None, layout=None, device=None,
                   requires_grad: bool = False):
    """Generalised Hamming window ``alpha - beta cos(2 pi n / (N - 1))``."""
    return _cosine_window("hamming_window", window_length, periodic, alpha, beta, dtype,
                          device, requires_grad)


def _cosine_window(fname, window_length, periodic, alpha, beta, dtype, device, requires_grad):
    def formula(xp, n, points):
        return alpha - beta * xp.cos(n * (2.0 * math.pi / (points - 1)))

    return _window(fname, window_length, periodic, dtype, device, requires_grad, formula)


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, requires_grad: bool = False):
    """Blackman window ``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``."""
    def formula(xp, n, points):
        phase = n * (math.pi / (points - 1))
        return 0.08 * xp.cos(4 * phase) - 0.5 * xp.cos(2 * phase) + 0.42

    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   formula)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, requires_grad: bool = False):
    """Bartlett (triangular) window: ``2n / (N - 1)`` rising, then ``2 - 2n / (N - 1)``."""
    def formula(xp, n, points):
        ramp = n * (2.0 / (points - 1))
        first_half = ((points - 1) >> 1) + 1
        ramp[first_half:] = 2 - ramp[first_half:]
        return ramp

    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   formula)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *,
                  dtype=None, layout=None, device=None, requires_grad: bool = False):
    """Kaiser window ``I0(beta sqrt(1 - ((n - m) / m)^2)) / I0(beta)``, ``m = (N - 1) / 2``;
    ``beta`` trades main-lobe width for side-lobe level."""
    def formula(xp, n, points):
        middle = (points - 1) / 2.0
        ratio = (n - middle) / middle
        return xp.i0(beta * xp.sqrt(xp.abs(1 - ratio * ratio))) / xp.i0(xp.float64(beta))

    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad,
                   formula)


def _stft_method(self, n_fft, hop_length=None, win_length=None, window=None, center=True,
                 pad_mode="reflect", normalized=False, onesided=None, return_complex=None,
                 align_to_window=None):
    return stft(self, n_fft, hop_length, win_length, window, center, pad_mode, normalized,
                onesided, return_complex, align_to_window)


def _istft_method(self, n_fft, hop_length=None, win_length=None, window=None, center=True,
                  normalized=False, onesided=None, length=None, return_complex=False):
    return istft(self, n_fft, hop_length, win_length, window, center, normalized, onesided,
                 length, return_complex)


TENSOR_METHODS: dict = {"stft": _stft_method, "istft": _istft_method}
