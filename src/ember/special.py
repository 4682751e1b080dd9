"""``ember.special`` (PyTorch's ``torch.special``): the special functions scripts call by
their SciPy-style names. Each is ember's own op or a short composition of ops, so
gradients come for free."""

from __future__ import annotations

import functools
import math

import numpy as np

import ember
from ember._ops import _special_kernels as _kernels
from ember._ops._util import _make, float_np, type_name, xp_of

__all__ = [
    "digamma", "entr", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammaln",
    "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr",
    "ndtri", "polygamma", "psi", "round", "sinc", "softmax", "xlog1py", "xlogy",
]

digamma = psi = ember.digamma
erf = ember.erf
erfc = ember.erfc
erfinv = ember.erfinv
exp2 = ember.exp2
expit = ember.sigmoid
expm1 = ember.expm1
gammaln = ember.lgamma
log1p = ember.log1p
logit = ember.logit
logsumexp = ember.logsumexp
polygamma = ember.polygamma
round = ember.round
sinc = ember.sinc
xlogy = ember.xlogy


def softmax(input, dim, *, dtype=None):
    return ember.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    return ember.log_softmax(input, dim, dtype=dtype)


def _as_tensor(value, like=None):
    if isinstance(value, ember.Tensor):
        return value
    if like is not None:
        return ember.tensor(value, dtype=ember.result_type(like, value), device=like.device)
    return ember.tensor(value)


def xlog1py(input, other):
    """``input * log1p(other)``, zero where ``input`` is zero (unless ``other`` is NaN)."""
    if not isinstance(input, ember.Tensor):
        input = _as_tensor(input, other)
    other = _as_tensor(other, input)
    # Mask the log, not the product: where input == 0 the input's gradient is still
    # log1p(other), as PyTorch's, and 0 * log1p(-1) gives 0, not NaN.
    safe = ember.where((input == 0) & (other <= -1), ember.zeros_like(other), ember.log1p(other))
    return input * safe


class _Entr(ember.autograd.Function):
    """``-x * ln(x)`` with PyTorch's derivative ``-(1 + ln x)`` everywhere (inf at 0,
    NaN below 0), which a masked composition would zero."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        safe = ember.where(input > 0, input, ember.ones_like(input))
        value = -input * ember.log(safe)
        return ember.where(input < 0, ember.full_like(value, -math.inf), value)

    @staticmethod
    def backward(ctx, grad):
        (input,) = ctx.saved_tensors
        return grad * -(1 + ember.log(input))


def entr(input):
    """Elementwise entropy ``-x * ln(x)``: 0 at 0, -inf below 0."""
    return _Entr.apply(input)


def ndtr(input):
    """The standard normal CDF."""
    return 0.5 * ember.erfc(-input * (1 / math.sqrt(2)))


class _Ndtri(ember.autograd.Function):
    """The inverse normal CDF. sqrt(2) erfinv(2p - 1) loses the lower tail (2p - 1 rounds
    to -1 below p ~ 1e-8 in float32), so p < 1/2 is refined by Newton steps on
    log ndtr(x) = log p, which erfc keeps accurate down to the smallest doubles."""

    _array_io = True
    _node_name = "SpecialNdtriBackward0"

    @staticmethod
    def forward(ctx, p):
        from ember._ops import _special

        p = _float_array(p)
        xp = xp_of(p)
        q = p.astype(np.float64)
        with np.errstate(all="ignore"):
            x = math.sqrt(2) * _special.erfinv(xp, 2 * q - 1)
            lower = (q > 0) & (q < 0.5)
            start = -xp.sqrt(-2 * xp.log(xp.where(lower, q, 0.5)))  # the tail's asymptote
            x = xp.where(lower & ~xp.isfinite(x), start, x)
            for _ in range(6):  # quadratic convergence; the first steps fix the tail start
                cdf = 0.5 * _special.erfc(xp, -x / math.sqrt(2))
                slope = xp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) / cdf
                step = (xp.log(cdf) - xp.log(q)) / slope
                x = xp.where(lower & xp.isfinite(step), x - step, x)
        out = x.astype(p.dtype)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * math.sqrt(2 * math.pi) * ember.exp(x * x / 2)


def ndtri(input):
    """The inverse of the standard normal CDF."""
    return _Ndtri.apply(_as_tensor(input))


def log_ndtr(input):
    """``log(ndtr(x))``: through erfcx below 0 (log(erfcx(-x/sqrt 2) / 2) - x^2/2 stays
    finite where ndtr underflows), log1p of the small upper tail above."""
    x = _as_tensor(input)
    if not (x.is_floating_point() or x.is_complex()):
        x = x.to(ember.get_default_dtype())
    negative = x < 0
    scaled = ember.where(negative, -x, ember.zeros_like(x)) * (1 / math.sqrt(2))
    lower = ember.log(0.5 * erfcx(scaled)) - 0.5 * x * x
    upper = ember.log1p(-0.5 * ember.erfc(ember.where(negative, ember.zeros_like(x), x)
                                          * (1 / math.sqrt(2))))
    return ember.where(negative, lower, upper)


def multigammaln(input, p: int):
    """The multivariate log-gamma of dimension ``p`` (inf at the poles, unchecked, as
    PyTorch's)."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    offsets = ember.arange(p, dtype=input.dtype, device=input.device) * -0.5
    terms = ember.lgamma(input.unsqueeze(-1) + offsets)
    return terms.sum(-1) + p * (p - 1) / 4 * math.log(math.pi)


# -- Bessel, Airy, incomplete gamma, zeta and the orthogonal polynomials ------------------------
# Kernels: ember._ops._special_kernels (NumPy/CuPy, float64, no SciPy). i0, i0e, i1, i1e and
# erfcx carry gradients as PyTorch's do; the rest are not differentiable in PyTorch either
# (their results do not require grad).

i0 = ember.i0
gammainc = ember.igamma
gammaincc = ember.igammac


def _float_array(x):
    return x if x.dtype.kind in "fc" else x.astype(float_np(x.dtype))


def _evaluate(kernel, input):
    """``kernel`` on ``input``'s values, cast back to its float dtype; nothing recorded."""
    x = _float_array(_as_tensor(input)._data)
    return _make(kernel(xp_of(x), x).astype(x.dtype))


class _SavingKernel(ember.autograd.Function):
    """A one-input special function: ``_kernels.<_kernel>`` on the float input, which is
    saved for the subclass's backward."""

    _array_io = True

    @classmethod
    def forward(cls, ctx, x):
        x = _float_array(x)
        ctx.save_for_backward(x)
        return getattr(_kernels, cls._kernel)(xp_of(x), x).astype(x.dtype)


class _ScaledI0(_SavingKernel):
    """``exp(-|x|) I0(x)``; derivative ``i1e(x) - sign(x) i0e(x)``."""

    _array_io = True
    _node_name = "SpecialI0EBackward0"

    _kernel = "i0e"

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (i1e(x) - x.sign() * i0e(x))


class _I1(_SavingKernel):
    """``I1(x)``; derivative ``I0(x) - I1(x) / x`` (1/2 at 0)."""

    _array_io = True
    _node_name = "SpecialI1Backward0"

    _kernel = "i1"

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        safe = ember.where(x == 0, ember.ones_like(x), x)
        slope = ember.where(x == 0, ember.full_like(x, 0.5), i0(x) - i1(x) / safe)
        return grad * slope


class _ScaledI1(_SavingKernel):
    """``exp(-|x|) I1(x)``; derivative ``i0e(x) - i1e(x) (sign(x) + 1/x)`` (1/2 at 0)."""

    _array_io = True
    _node_name = "SpecialI1EBackward0"

    _kernel = "i1e"

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        safe = ember.where(x == 0, ember.ones_like(x), x)
        slope = i0e(x) - i1e(x) * (x.sign() + 1 / safe)
        return grad * ember.where(x == 0, ember.full_like(x, 0.5), slope)


class _Erfcx(_SavingKernel):
    """``exp(x^2) erfc(x)``; derivative ``2 x erfcx(x) - 2 / sqrt(pi)``."""

    _array_io = True
    _node_name = "SpecialErfcxBackward0"

    _kernel = "erfcx"

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (2 * x * erfcx(x) - 2 / math.sqrt(math.pi))


def i0e(input):
    """The exponentially scaled modified Bessel function of order 0."""
    return _ScaledI0.apply(_as_tensor(input))


def i1(input):
    """The modified Bessel function of the first kind of order 1."""
    return _I1.apply(_as_tensor(input))


def i1e(input):
    """The exponentially scaled modified Bessel function of order 1."""
    return _ScaledI1.apply(_as_tensor(input))


def erfcx(input):
    """The scaled complementary error function ``exp(x^2) erfc(x)``, finite where erfc
    underflows."""
    return _Erfcx.apply(_as_tensor(input))


class _Zeta(ember.autograd.Function):
    """The Hurwitz zeta; PyTorch records it but has no derivative."""

    _array_io = True
    _node_name = "SpecialZetaBackward0"

    @staticmethod
    def forward(ctx, x, q):
        dtype = np.result_type(_float_array(x).dtype, _float_array(q).dtype)
        return _kernels.zeta(xp_of(x, q), x, q).astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("the derivative for 'zeta' is not implemented.")


def zeta(input, other):
    """The Hurwitz zeta function ``sum_k (k + other) ** -input``."""
    if not isinstance(input, ember.Tensor):
        input = _as_tensor(input, other)
    return _Zeta.apply(input, _as_tensor(other, input))


def _elementwise(kernel, doc):
    def fn(input):
        return _evaluate(kernel, input)

    fn.__doc__ = doc
    return fn


bessel_j0 = _elementwise(_kernels.j0, "The Bessel function of the first kind of order 0.")
bessel_j1 = _elementwise(_kernels.j1, "The Bessel function of the first kind of order 1.")
bessel_y0 = _elementwise(_kernels.y0, "The Bessel function of the second kind of order 0.")
bessel_y1 = _elementwise(_kernels.y1, "The Bessel function of the second kind of order 1.")
modified_bessel_i0 = _elementwise(_kernels.i0, "The modified Bessel function I0.")
modified_bessel_i1 = _elementwise(_kernels.i1, "The modified Bessel function I1.")
modified_bessel_k0 = _elementwise(_kernels.k0, "The modified Bessel function K0.")
modified_bessel_k1 = _elementwise(_kernels.k1, "The modified Bessel function K1.")
scaled_modified_bessel_k0 = _elementwise(_kernels.k0e, "``exp(x) K0(x)``.")
scaled_modified_bessel_k1 = _elementwise(_kernels.k1e, "``exp(x) K1(x)``.")
spherical_bessel_j0 = _elementwise(_kernels.spherical_j0, "``sin(x) / x`` (1 at 0).")
airy_ai = _elementwise(_kernels.airy_ai, "The Airy function Ai.")


def _polynomial(kernel, shift, doc):
    """``p_n(x)`` for tensor-or-number x and n (n truncated to an integer), in the promoted
    float dtype."""

    def fn(input, n):
        if not isinstance(input, ember.Tensor) and not isinstance(n, ember.Tensor):
            raise TypeError("expected at least one of input and n to be a Tensor")
        x = input if isinstance(input, ember.Tensor) else _as_tensor(input, n)
        n = n if isinstance(n, ember.Tensor) else _as_tensor(n, x)
        dtype = ember.result_type(x, n)
        if not dtype.is_floating_point:
            dtype = ember.get_default_dtype()
        xs = x._data.astype(np.float64)
        if shift:
            xs = 2 * xs - 1
        values = kernel(xp_of(xs), xs, xp_of(xs).trunc(n._data.astype(np.float64)))
        return _make(values.astype(dtype.np))

    fn.__doc__ = doc
    return fn


chebyshev_polynomial_t = _polynomial(_kernels.chebyshev_t, False, "Chebyshev T_n(x).")
chebyshev_polynomial_u = _polynomial(_kernels.chebyshev_u, False, "Chebyshev U_n(x).")
chebyshev_polynomial_v = _polynomial(_kernels.chebyshev_v, False, "Chebyshev V_n(x).")
chebyshev_polynomial_w = _polynomial(_kernels.chebyshev_w, False, "Chebyshev W_n(x).")
shifted_chebyshev_polynomial_t = _polynomial(_kernels.chebyshev_t, True, "T_n(2x - 1).")
shifted_chebyshev_polynomial_u = _polynomial(_kernels.chebyshev_u, True, "U_n(2x - 1).")
shifted_chebyshev_polynomial_v = _polynomial(_kernels.chebyshev_v, True, "V_n(2x - 1).")
shifted_chebyshev_polynomial_w = _polynomial(_kernels.chebyshev_w, True, "W_n(2x - 1).")
hermite_polynomial_h = _polynomial(_kernels.hermite_h, False, "Physicists' Hermite H_n(x).")
hermite_polynomial_he = _polynomial(_kernels.hermite_he, False, "Probabilists' Hermite He_n(x).")
laguerre_polynomial_l = _polynomial(_kernels.laguerre_l, False, "Laguerre L_n(x).")
legendre_polynomial_p = _polynomial(_kernels.legendre_p, False, "Legendre P_n(x).")

__all__ += [
    "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t",
    "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w", "erfcx",
    "gammainc", "gammaincc", "hermite_polynomial_h", "hermite_polynomial_he", "i0", "i0e", "i1",
    "i1e", "laguerre_polynomial_l", "legendre_polynomial_p", "modified_bessel_i0",
    "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
    "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "shifted_chebyshev_polynomial_t",
    "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w", "spherical_bessel_j0", "zeta",
]


def _real_only(function, kernel):
    """PyTorch has no complex kernel for these functions: a complex input is refused under
    the kernel's name instead of losing its imaginary part."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        for value in args:
            if isinstance(value, ember.Tensor) and value.is_complex():
                raise NotImplementedError(
                    f'"{kernel}" not implemented for \'{type_name(value._data.dtype)}\'')
        return function(*args, **kwargs)

    return wrapper


_REAL_ONLY = [
    "i0e", "i1", "i1e", "erfcx", "ndtri", "log_ndtr", "entr", "zeta", "xlog1py",
    "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
    "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
    "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0", "airy_ai",
    "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
    "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
    "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
    "laguerre_polynomial_l", "legendre_polynomial_p",
]
for _name in _REAL_ONLY:
    globals()[_name] = _real_only(globals()[_name], f"{_name}_cpu")
ndtr = _real_only(ndtr, "erf_vml_cpu")  # composed from erf in PyTorch
multigammaln = _real_only(multigammaln, "arange_cpu")  # its first complex step there
