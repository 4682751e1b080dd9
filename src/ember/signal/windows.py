"""ember.signal.windows: torch.signal.windows' window functions.

Each is a formula over the sample index evaluated in float64 on the requested device and
cast to float32 or float64 (the two dtypes PyTorch allows here). ``sym=False`` gives the
periodic window used before a DFT: the symmetric window of ``M + 1`` points without its
last point. The torch-level ``hann_window`` and friends live in the spectral ops family.
"""

from __future__ import annotations

import math

from .._backend import get_default_dtype, to_dtype
from .._ops._factory import _finish, _module_and_device

__all__ = [
    "bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
    "general_hamming", "hamming", "hann", "kaiser", "nuttall",
]


def _check(fname, M, dtype, layout):
    """The checks every window makes first; returns the dtype (default: the default
    float)."""
    dtype = get_default_dtype() if dtype is None else to_dtype(dtype)
    if M < 0:
        raise ValueError(f"{fname} requires non-negative window length, got M={M}")
    if layout is not None and str(layout) != "torch.strided":
        raise ValueError(f"{fname} is implemented for strided tensors only, got: {layout}")
    if dtype.name not in ("float32", "float64"):
        raise ValueError(f"{fname} expects float32 or float64 dtypes, got: {dtype}")
    return dtype


def _build(M, sym, dtype, device, requires_grad, formula):
    """``formula(xp, n, span)`` over the indices ``n = 0 .. M - 1``, where ``span`` is the
    symmetric window's ``M - 1`` (``M`` when periodic); 0 or 1 points need no formula."""
    xp, _ = _module_and_device(device)
    if M <= 1:
        return _finish(xp.ones(M, dtype=dtype.np), requires_grad)
    span = M if not sym else M - 1
    values = formula(xp, xp.arange(M, dtype="float64"), span)
    return _finish(values.astype(dtype.np), requires_grad)


def exponential(M: int, *, center: float | None = None, tau: float = 1.0, sym: bool = True,
                dtype=None, layout=None, device=None, requires_grad: bool = False):
    """``exp(-|n - center| / tau)``; ``center`` defaults to the middle (periodic windows
    only may move it)."""
    dtype = _check("exponential", M, dtype, layout)
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")

    def formula(xp, n, span):
        middle = span / 2.0 if center is None else center
        return xp.exp(-xp.abs(n - middle) / tau)

    return _build(M, sym, dtype, device, requires_grad, formula)


def cosine(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
           requires_grad: bool = False):
    """Sine window ``sin(pi (n + 0.5) / M)`` (``M + 1`` in the denominator when
    periodic)."""
    dtype = _check("cosine", M, dtype, layout)

    def formula(xp, n, span):
        return xp.sin(math.pi * (n + 0.5) / (span + 1))

    return _build(M, sym, dtype, device, requires_grad, formula)


def gaussian(M: int, *, std: float = 1.0, sym: bool = True, dtype=None, layout=None,
             device=None, requires_grad: bool = False):
    """``exp(-(n - c)^2 / (2 std^2))`` around the window's middle ``c``."""
    dtype = _check("gaussian", M, dtype, layout)
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")

    def formula(xp, n, span):
        offset = (n - span / 2.0) / std
        return xp.exp(-0.5 * offset * offset)

    return _build(M, sym, dtype, device, requires_grad, formula)


def kaiser(M: int, *, beta: float = 12.0, sym: bool = True, dtype=None, layout=None,
           device=None, requires_grad: bool = False):
    """``I0(beta sqrt(1 - (2n / N - 1)^2)) / I0(beta)`` with ``N = M - 1`` (``M`` when
    periodic)."""
    dtype = _check("kaiser", M, dtype, layout)
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")

    def formula(xp, n, span):
        ratio = 2.0 * n / span - 1.0
        inner = xp.sqrt(xp.clip(1.0 - ratio * ratio, 0.0, None))
        return xp.i0(beta * inner) / xp.i0(xp.full(1, beta, dtype="float64"))

    return _build(M, sym, dtype, device, requires_grad, formula)


def general_cosine(M: int, *, a, sym: bool = True, dtype=None, layout=None, device=None,
                   requires_grad: bool = False, _name: str = "general_cosine"):
    """``sum_i (-1)^i a[i] cos(2 pi i n / N)``, ``N = M - 1`` (``M`` when periodic): the
    family of hann, hamming, blackman and nuttall."""
    if not isinstance(a, (list, tuple)):
        raise TypeError("Coefficients must be a list/tuple")
    if not a:
        raise ValueError("Coefficients cannot be empty")
    dtype = _check(_name, M, dtype, layout)

    def formula(xp, n, span):
        phase = 2.0 * math.pi * n / span
        total = xp.zeros(n.shape, dtype="float64")
        for i, coefficient in enumerate(a):
            total = total + (-1.0) ** i * coefficient * xp.cos(i * phase)
        return total

    return _build(M, sym, dtype, device, requires_grad, formula)


def general_hamming(M: int, *, alpha: float = 0.54, sym: bool = True, dtype=None,
                    layout=None, device=None, requires_grad: bool = False):
    """``alpha - (1 - alpha) cos(2 pi n / N)``."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def hamming(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
            requires_grad: bool = False):
    """Hamming window: general_hamming with ``alpha = 0.54``."""
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def hann(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
         requires_grad: bool = False):
    """Hann window: general_hamming with ``alpha = 0.5``."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def blackman(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
             requires_grad: bool = False):
    """Blackman window: general_cosine with ``a = [0.42, 0.5, 0.08]``."""
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad, _name="blackman")


def nuttall(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
            requires_grad: bool = False):
    """Nuttall window: a four-term general_cosine (minimum side lobes)."""
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym,
                          dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def bartlett(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
             requires_grad: bool = False):
    """Triangular window ``1 - |2n / N - 1|``."""
    dtype = _check("bartlett", M, dtype, layout)

    def formula(xp, n, span):
        return 1.0 - xp.abs(2.0 * n / span - 1.0)

    return _build(M, sym, dtype, device, requires_grad, formula)
