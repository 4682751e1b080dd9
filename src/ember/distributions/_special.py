"""Special functions the distributions need and ember's ops do not have yet: the
regularised lower incomplete gamma function (Gamma's CDF) and the exponentially scaled
modified Bessel functions ``I0`` and ``I1`` (VonMises' normaliser)."""

from __future__ import annotations

import numpy as np

import ember
from ember._ops import _special
from ember.autograd import Function

__all__ = ["gammainc", "log_bessel_i0", "log_bessel_i1"]

_ITERATIONS = 500


def _gammainc_np(a, x):
    """P(a, x) in float64: the power series below ``a + 1``, the continued fraction of
    Q = 1 - P above it (each converges fast on its side)."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    out = np.zeros(a.shape)
    log_prefix = np.where(x > 0, a * np.log(np.where(x > 0, x, 1.0)) - x
                          - _special.lgamma(np, a), -np.inf)
    series = x < a + 1
    if series.any():
        aa, xx = a[series], x[series]
        term = 1.0 / aa
        total = term.copy()
        for n in range(1, _ITERATIONS):
            term = term * xx / (aa + n)
            total = total + term
            if np.all(np.abs(term) < np.abs(total) * 1e-16):
                break
        out[series] = total * np.exp(log_prefix[series])
    fraction = ~series
    if fraction.any():  # modified Lentz on Q(a, x)
        aa, xx = a[fraction], x[fraction]
        tiny = 1e-300
        b = xx + 1 - aa
        c = np.full(aa.shape, 1 / tiny)
        d = 1 / b
        h = d.copy()
        for n in range(1, _ITERATIONS):
            an = -n * (n - aa)
            b = b + 2
            d = an * d + b
            d = np.where(np.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            d = 1 / d
            delta = d * c
            h = h * delta
            if np.all(np.abs(delta - 1) < 1e-16):
                break
        out[fraction] = 1 - np.exp(log_prefix[fraction]) * h
    out = np.where(x <= 0, 0.0, out)
    return np.where(np.isinf(x) & (x > 0), 1.0, out)


class _GammaInc(Function):
    """P(a, x); differentiable in ``x`` only, as PyTorch's ``igamma`` is."""

    @staticmethod
    def forward(ctx, a, x):
        ctx.save_for_backward(a, x)
        host = _gammainc_np(a.detach().cpu().numpy(), x.detach().cpu().numpy())
        return ember.tensor(host, dtype=x.dtype, device=x.device)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'igamma: input' is not implemented.")
        density = ember.exp((a - 1) * ember.log(x) - x - ember.lgamma(a))
        return None, grad * density


def gammainc(a, x):
    """Regularised lower incomplete gamma ``P(a, x)`` (``torch.special.gammainc``)."""
    a, x = ember.broadcast_tensors(a, x)
    return _GammaInc.apply(a, x)


# Abramowitz & Stegun 9.8.1-9.8.4: polynomials in (x/3.75)^2 below 3.75 and in 3.75/x
# above, for I0 and I1.
_I0_SMALL = [1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.0360768, 0.0045813]
_I0_LARGE = [0.39894228, 0.01328592, 0.00225319, -0.00157565, 0.00916281, -0.02057706,
             0.02635537, -0.01647633, 0.00392377]
_I1_SMALL = [0.5, 0.87890594, 0.51498869, 0.15084934, 0.02658733, 0.00301532, 0.00032411]
_I1_LARGE = [0.39894228, -0.03988024, -0.00362018, 0.00163801, -0.01031555, 0.02282967,
             -0.02895312, 0.01787654, -0.00420059]


def _poly(coefficients, y):
    result = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        result = result * y + c
    return result


def _log_bessel(x, small, large, order):
    """log I_order(x) for x >= 0 from the A&S polynomials, with ember ops (so it is
    differentiable in x)."""
    y_small = (x / 3.75) ** 2
    small_value = _poly(small, y_small)
    if order == 1:
        small_value = small_value * x
    small_log = small_value.log()
    y_large = 3.75 / x.clamp(min=3.75)
    large_log = x - 0.5 * x.clamp(min=3.75).log() + _poly(large, y_large).log()
    return ember.where(x < 3.75, small_log, large_log)


def log_bessel_i0(x):
    return _log_bessel(x, _I0_SMALL, _I0_LARGE, 0)


def log_bessel_i1(x):
    return _log_bessel(x, _I1_SMALL, _I1_LARGE, 1)
