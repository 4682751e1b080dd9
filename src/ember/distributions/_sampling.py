"""Draws the NumPy generator makes directly (gamma, binomial), taken from
ember's default generator so ``ember.manual_seed`` makes them reproducible, and the
reparameterised Gamma draw.

The draws happen on the host (as all of ember's samplers do) and are moved to the
parameters' device. ``_StandardGamma`` carries implicit gradients: with ``u = P(a, x)``
(the regularised lower incomplete gamma function) held fixed, ``dx/da = -(dP/da)/p(x)``,
which the backward evaluates by a series (small ``a``) or by differentiating the
Wilson-Hilferty cube-root approximation (large ``a``, where it is accurate)."""

from __future__ import annotations

import numpy as np

import ember
from ember._ops import _special
from ember._ops.random import default_generator
from ember._ops.random_meta import no_meta_kernel
from ember.autograd import Function
from ember.autograd.function import once_differentiable

__all__ = ["binomial_draw", "standard_gamma", "standard_gamma_grad"]

# Above this concentration the Wilson-Hilferty derivative is within ~1e-5 relative of
# finite differences of the exact quantile (measured on a grid of quantiles at a = 2000;
# PyTorch's own is within ~5e-4), and the series would need O(sqrt(a)) terms.
_LARGE_CONCENTRATION = 2000.0
_SERIES_TERMS = 100000
_CHECK_EVERY = 8


def _host(t):
    return np.asarray(t.detach().cpu().numpy(), dtype=np.float64)


def _like(array, t):
    return ember.tensor(np.asarray(array), dtype=t.dtype, device=t.device)


def _series_grad(x, a):
    """``-sum_n c_n (log x - digamma(a + n + 1))`` with ``c_n = x^(n+1) G(a) / G(a+n+1)``:
    ``-(dP/da) / p(x)`` summed (float64) until the terms stop mattering. Every few terms
    the entries that have converged (past the largest term, last step negligible) leave
    the working arrays, so a few slow entries do not keep the whole batch iterating."""
    x, a = x.ravel(), a.ravel()
    log_x = np.log(x)
    term = x / a
    psi = _special.digamma(np, a) + 1.0 / a
    total = term * (log_x - psi)
    out = np.empty_like(total)
    active = np.arange(x.size)
    for n in range(1, _SERIES_TERMS):
        term = term * x / (a + n)
        psi = psi + 1.0 / (a + n)
        step = term * (log_x - psi)
        total = total + step
        if n % _CHECK_EVERY == 0:
            done = (a + n > x) & (np.abs(step) <= 1e-17 * np.abs(total) + 1e-300)
            if done.any():
                out[active[done]] = total[done]
                keep = ~done
                if not keep.any():
                    return -out
                active, x, a, log_x = active[keep], x[keep], a[keep], log_x[keep]
                term, psi, total = term[keep], psi[keep], total[keep]
    out[active] = total
    return -out


def _wilson_hilferty_grad(x, a):
    """``x = a (1 - 1/(9a) + z / (3 sqrt a))^3`` with ``z`` held fixed, differentiated
    in ``a``."""
    root = np.cbrt(x / a)
    z = (root - 1 + 1 / (9 * a)) * 3 * np.sqrt(a)
    inner = 1 - 1 / (9 * a) + z / (3 * np.sqrt(a))
    d_inner = 1 / (9 * a * a) - z / (6 * a * np.sqrt(a))
    return inner ** 3 + 3 * a * inner ** 2 * d_inner


def standard_gamma_grad(x, a):
    """d(sample)/d(concentration) of a standard Gamma(a) sample ``x`` (NumPy float64)."""
    x, a = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(a, np.float64))
    out = np.empty(x.shape)
    large = a >= _LARGE_CONCENTRATION
    if large.any():
        out[large] = _wilson_hilferty_grad(x[large], a[large])
    small = ~large
    if small.any():
        out[small] = _series_grad(np.maximum(x[small], 1e-300), a[small]).reshape(
            out[small].shape)
    return out


class _StandardGamma(Function):
    """Gamma(concentration, 1) draws with implicit reparameterisation gradients."""

    @staticmethod
    def forward(ctx, concentration):
        if concentration.is_meta:  # the shape only: nothing drawn
            ctx.save_for_backward(concentration)
            return ember.empty_like(concentration)
        alpha = _host(concentration)
        draws = default_generator._rng.standard_gamma(alpha)
        tiny = ember.finfo(concentration.dtype).tiny
        sample = _like(np.maximum(draws, tiny), concentration)
        ctx.save_for_backward(concentration, sample)
        return sample

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        if grad.is_meta:
            raise no_meta_kernel("_standard_gamma_grad")  # PyTorch has no meta kernel either
        concentration, sample = ctx.saved_tensors
        d_sample = standard_gamma_grad(_host(sample), _host(concentration))
        return grad * _like(d_sample, concentration)


def standard_gamma(concentration, op_name="_standard_gamma"):
    """One Gamma(concentration, 1) draw per entry, differentiable in ``concentration``.
    On meta: the shape only, nothing drawn, as PyTorch's ``_standard_gamma``; ``op_name``
    is the PyTorch operator the caller stands for, where that one has no meta kernel
    (``_sample_dirichlet``) it raises PyTorch's error."""
    if concentration.is_meta and op_name != "_standard_gamma":
        raise no_meta_kernel(op_name)
    if concentration.requires_grad and ember.is_grad_enabled():
        return _StandardGamma.apply(concentration)
    if concentration.is_meta:
        return ember.empty_like(concentration)
    alpha = _host(concentration)
    draws = default_generator._rng.standard_gamma(alpha)
    tiny = ember.finfo(concentration.dtype).tiny
    return _like(np.maximum(draws, tiny), concentration)


def binomial_draw(total_count, probs):
    if total_count.is_meta or probs.is_meta:
        raise no_meta_kernel("binomial")
    counts = np.rint(_host(total_count)).astype(np.int64)
    p = np.clip(_host(probs), 0.0, 1.0)
    return _like(default_generator._rng.binomial(counts, p), probs)
