"""``kl_divergence(p, q)`` and ``register_kl``: closed forms looked up by type pair."""

from __future__ import annotations

import functools
import math
import warnings

import ember
import ember.nn.functional as F

from .bernoulli import Bernoulli
from .categorical import Categorical
from .independent import Independent
from .normal import Normal
from .uniform import Uniform
from .utils import _sum_rightmost

__all__ = ["kl_divergence", "register_kl"]

# (type_p, type_q) -> KL function; the name is PyTorch's, for code that lists the
# registered pairs
_KL_REGISTRY: dict = {}


def _store(pair, fun):
    _KL_REGISTRY[pair] = fun
    return fun


def register_kl(type_p, type_q):
    """Decorator registering ``fn(p, q)`` as KL(p || q) for these two types."""
    if not (isinstance(type_p, type) and isinstance(type_q, type)):
        raise TypeError("Expected type_p and type_q to be subclasses of Distribution")
    return functools.partial(_store, (type_p, type_q))


def _closest_rule(type_p, type_q):
    """The registered pair closest to (type_p, type_q) along both MROs: nearest in p
    first; when nearest in q first picks another function, PyTorch's ambiguity warning."""
    def distance(pair, p_first):
        ranks = type_p.__mro__.index(pair[0]), type_q.__mro__.index(pair[1])
        return ranks if p_first else ranks[::-1]

    fitting = [pair for pair in _KL_REGISTRY
               if issubclass(type_p, pair[0]) and issubclass(type_q, pair[1])]
    if not fitting:
        return None
    by_p = min(fitting, key=lambda pair: distance(pair, True))
    by_q = min(fitting, key=lambda pair: distance(pair, False))
    chosen = _KL_REGISTRY[by_p]
    if chosen is not _KL_REGISTRY[by_q]:
        warnings.warn(f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). "
                      f"Please register_kl({by_p[0].__name__}, {by_q[1].__name__})",
                      RuntimeWarning, stacklevel=3)
    return chosen


def kl_divergence(p, q):
    """KL(p || q) per batch entry."""
    rule = _closest_rule(type(p), type(q))
    if rule is None:
        raise NotImplementedError(
            f"No KL(p || q) is implemented for p type {p.__class__.__name__} and q type "
            f"{q.__class__.__name__}")
    return rule(p, q)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    ratio = (p.scale / q.scale) ** 2
    gap = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (ratio - ember.log(ratio) + gap - 1)


def _mass_term(p_mass, q_mass, term):
    """One outcome's ``p log(p / q)``: zero where p puts no mass there, infinite where
    only q puts none."""
    term = ember.where(q_mass == 0, math.inf, term)
    return ember.where(p_mass == 0, 0.0, term)


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    terms = p.probs * (p.logits - q.logits)
    return _mass_term(p.probs.expand_as(terms), q.probs.expand_as(terms), terms).sum(-1)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    # log p - log q as softplus differences of the logits, stable for large |logits|
    heads = _mass_term(p.probs, q.probs,
                       p.probs * (F.softplus(-q.logits) - F.softplus(-p.logits)))
    tails = _mass_term(1 - p.probs, 1 - q.probs,
                       (1 - p.probs) * (F.softplus(q.logits) - F.softplus(p.logits)))
    return heads + tails


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    outside = (p.low < q.low) | (p.high > q.high)
    return ember.where(outside, math.inf, ember.log((q.high - q.low) / (p.high - p.low)))


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    moved = p.reinterpreted_batch_ndims
    if q.reinterpreted_batch_ndims != moved:
        raise NotImplementedError
    return _sum_rightmost(kl_divergence(p.base_dist, q.base_dist), moved)
