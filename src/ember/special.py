"""``ember.special`` (PyTorch's ``torch.special``): the special functions scripts call by
their SciPy-style names. Each is ember's own op or a short composition of ops, so
gradients come for free."""

from __future__ import annotations

import math

import ember

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
    product = input * ember.log1p(other)
    return ember.where((input == 0) & ~ember.isnan(other), ember.zeros_like(product), product)


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


def ndtri(input):
    """The inverse of the standard normal CDF."""
    return math.sqrt(2) * ember.erfinv(2 * input - 1)


def log_ndtr(input):
    """``log(ndtr(x))`` (computed directly: underflows to -inf below about x = -38,
    where PyTorch's asymptotic form stays finite)."""
    return ember.log(ndtr(input))


def multigammaln(input, p: int):
    """The multivariate log-gamma of dimension ``p`` (inf at the poles, unchecked, as
    PyTorch's)."""
    offsets = ember.arange(p, dtype=input.dtype, device=input.device) * -0.5
    terms = ember.lgamma(input.unsqueeze(-1) + offsets)
    return terms.sum(-1) + p * (p - 1) / 4 * math.log(math.pi)
