"""KL divergences between different families (registered on import).

Every closed form here is one identity, ``KL(p || q) = E_p[-log q] - H(p)``: the
cross-entropy term depends on q's family and on a few expectations under p (its mean
and variance, ``E[log x]``, ``E[exp(-(x - m) / s)]``). So instead of one formula per
pair, q's family contributes a cross-entropy written in terms of those expectations,
p's family contributes the expectations, and the table at the bottom names the pairs
PyTorch registers and where each is infinite (p puts mass where q has none, or p's
needed moment diverges). Pairs whose supports never overlap are infinite outright."""

from __future__ import annotations

import math

import ember

from .bernoulli import Bernoulli
from .continuous_bernoulli import ContinuousBernoulli
from .dirichlet import Beta
from .exponential import Exponential
from .extreme import EULER_GAMMA, Gumbel, Pareto
from .gamma import Gamma
from .kl import register_kl
from .laplace import Laplace
from .normal import Normal
from .poisson import Binomial, Poisson
from .uniform import Uniform

__all__: list = []

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


# ---- expectations under p ----------------------------------------------------------

def _uniform_mean_log(lo, hi):
    """E[log x] for x uniform on (lo, hi): the average of log, through x log x - x."""
    return (ember.xlogy(hi, hi) - ember.xlogy(lo, lo)) / (hi - lo) - 1


_MEAN_LOG = {
    Beta: lambda p: ember.digamma(p.concentration1)
    - ember.digamma(p.concentration1 + p.concentration0),
    Exponential: lambda p: -EULER_GAMMA - ember.log(p.rate),
    Pareto: lambda p: ember.log(p.scale) + 1 / p.alpha,
    Uniform: lambda p: _uniform_mean_log(p.low, p.high),
}


def _uniform_gumbel_tail(p, loc, scale):
    width = p.high - p.low
    return scale / width * (ember.exp((loc - p.low) / scale) - ember.exp((loc - p.high) / scale))


# E_p[exp(-(x - loc) / scale)]: p's moment generating function at -1/scale, shifted
_GUMBEL_TAIL = {
    Exponential: lambda p, loc, scale: (p.rate * scale / (p.rate * scale + 1)
                                        * ember.exp(loc / scale)),
    Gamma: lambda p, loc, scale: (ember.pow(1 + 1 / (p.rate * scale), -p.concentration)
                                  * ember.exp(loc / scale)),
    Normal: lambda p, loc, scale: ember.exp((loc - p.loc) / scale
                                            + ember.square(p.scale / scale) / 2),
    Uniform: _uniform_gumbel_tail,
}


def _normal_abs_deviation(p, center):
    """E|x - center| for x ~ p Normal: the folded normal's mean."""
    d = p.loc - center
    return (math.sqrt(2 / math.pi) * p.scale * ember.exp(-ember.square(d / p.scale) / 2)
            + d * ember.erf(d / (p.scale * math.sqrt(2))))


# ---- cross-entropies E_p[-log q], one per q family ---------------------------------

def _ce_normal(p, q):
    spread = p.variance + ember.square(p.mean - q.loc)
    return _LOG_SQRT_2PI + ember.log(q.scale) + spread / (2 * ember.square(q.scale))


def _ce_exponential(p, q):
    return q.rate * p.mean - ember.log(q.rate)


def _ce_gamma(p, q):
    a, b = q.concentration, q.rate
    return (ember.lgamma(a) - a * ember.log(b) - (a - 1) * _MEAN_LOG[type(p)](p)
            + b * p.mean)


def _ce_gumbel(p, q):
    tail = _GUMBEL_TAIL[type(p)](p, q.loc, q.scale)
    return ember.log(q.scale) + (p.mean - q.loc) / q.scale + tail


def _ce_beta(p, q):
    a, b = q.concentration1, q.concentration0
    log_beta = ember.lgamma(a) + ember.lgamma(b) - ember.lgamma(a + b)
    # p is a Uniform inside (0, 1); E[log(1 - x)] is E[log u] for u on (1 - high, 1 - low)
    mean_log1m = _uniform_mean_log(1 - p.high, 1 - p.low)
    return log_beta - (a - 1) * _MEAN_LOG[type(p)](p) - (b - 1) * mean_log1m


def _ce_pareto(p, q):
    a = q.alpha
    return (a + 1) * _MEAN_LOG[type(p)](p) - ember.log(a) - a * ember.log(q.scale)


def _ce_continuous_bernoulli(p, q):
    return -(p.mean * q.logits + ember.log1p(-q.probs) + q._cont_bern_log_norm())


def _ce_uniform(p, q):
    return ember.log(q.high - q.low)


def _ce_laplace(p, q):
    return math.log(2) + ember.log(q.scale) + _normal_abs_deviation(p, q.loc) / q.scale


def _ce_poisson(p, q):
    # a Bernoulli count is 0 or 1, so E[log x!] = 0
    return q.rate - p.mean * ember.log(q.rate)


# ---- where a finite closed form does not apply --------------------------------------

def _alpha_at_most(bound):
    """A Pareto p has no finite mean (bound 1) or variance (bound 2) below its alpha."""
    return lambda p, q: p.alpha <= bound


def _p_starts_below_q(p, q):
    return p.low < q.support.lower_bound


def _outside_unit(p, q):
    return (p.high > q.support.upper_bound) | (p.low < q.support.lower_bound)


def _q_inside_unit(p, q):
    return (q.low > p.support.lower_bound) | (q.high < p.support.upper_bound)


def _q_inside_open_unit(p, q):
    return ember.ge(q.low, p.support.lower_bound) | ember.le(q.high, p.support.upper_bound)


def _outside_open_unit(p, q):
    return ember.ge(p.high, q.support.upper_bound) | ember.le(p.low, q.support.lower_bound)


# (q family, its cross-entropy, [(p family, mask or None), ...])
_CLOSED_FORMS = [
    (Normal, _ce_normal, [(Beta, None), (ContinuousBernoulli, None), (Exponential, None),
                          (Gamma, None), (Gumbel, None), (Laplace, None),
                          (Pareto, _alpha_at_most(2)), (Uniform, None)]),
    (Exponential, _ce_exponential, [(Beta, None), (ContinuousBernoulli, None), (Gamma, None),
                                    (Pareto, _alpha_at_most(1)), (Uniform, _p_starts_below_q)]),
    (Gamma, _ce_gamma, [(Beta, None), (Exponential, None), (Pareto, _alpha_at_most(1)),
                        (Uniform, _p_starts_below_q)]),
    (Gumbel, _ce_gumbel, [(Exponential, None), (Gamma, None), (Normal, None), (Uniform, None)]),
    (Beta, _ce_beta, [(Uniform, _outside_unit)]),
    (Pareto, _ce_pareto, [(Uniform, _p_starts_below_q)]),
    (ContinuousBernoulli, _ce_continuous_bernoulli, [(Beta, None),
                                                     (Uniform, _outside_open_unit)]),
    (Uniform, _ce_uniform, [(Beta, _q_inside_unit),
                            (ContinuousBernoulli, _q_inside_open_unit)]),
    (Laplace, _ce_laplace, [(Normal, None)]),
    (Poisson, _ce_poisson, [(Bernoulli, None)]),
]


def _closed_form(cross_entropy, infinite_where):
    def kl(p, q):
        value = cross_entropy(p, q) - p.entropy()
        return value if infinite_where is None else ember.where(
            infinite_where(p, q), math.inf, value)
    return kl


def _register_closed_forms():
    for q_type, cross_entropy, p_rows in _CLOSED_FORMS:
        for p_type, mask in p_rows:
            register_kl(p_type, q_type)(_closed_form(cross_entropy, mask))


_register_closed_forms()


# p's support reaches where q's density is 0 (a real line against a half line, ...):
# KL(p || q) = inf, shaped like the named parameter of p
_DISJOINT = [
    (Beta, [Pareto], "concentration1"),
    (ContinuousBernoulli, [Pareto], "probs"),
    (Exponential, [Beta, ContinuousBernoulli, Pareto, Uniform], "rate"),
    (Gamma, [Beta, ContinuousBernoulli, Pareto, Uniform], "concentration"),
    (Gumbel, [Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform], "loc"),
    (Laplace, [Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform], "loc"),
    (Normal, [Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform], "loc"),
    (Pareto, [Beta, ContinuousBernoulli, Uniform], "scale"),
    (Poisson, [Bernoulli, Binomial], "rate"),
]


def _infinite(param):
    return lambda p, q: ember.full_like(getattr(p, param), math.inf)


def _register_disjoint():
    for p_type, q_types, param in _DISJOINT:
        for q_type in q_types:
            register_kl(p_type, q_type)(_infinite(param))


_register_disjoint()
