"""Distributions built by transforming a Normal: ``LogNormal`` (exp), ``HalfNormal``
(abs) and ``LogisticNormal`` (stick-breaking onto the simplex); ``HalfCauchy`` (abs of
a Cauchy). Each only picks a base and a transform; sampling, log_prob and cdf come
from TransformedDistribution, with closed forms for the moments."""

from __future__ import annotations

import math
from typing import ClassVar

import ember

from . import constraints
from ._expand import ExpandThroughParent
from .cauchy import Cauchy
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform, ExpTransform, StickBreakingTransform

__all__ = ["HalfCauchy", "HalfNormal", "LogNormal", "LogisticNormal"]

_LOG_2 = math.log(2)
_LOC_SCALE: dict = {"loc": constraints.real, "scale": constraints.positive}


class LogNormal(TransformedDistribution):
    """``exp(Normal(loc, scale))``."""

    arg_constraints: ClassVar[dict] = dict(_LOC_SCALE)
    support = constraints.positive
    has_rsample = True
    expand = ExpandThroughParent()

    def __init__(self, loc, scale, validate_args=None):
        super().__init__(Normal(loc, scale, validate_args=validate_args), ExpTransform(),
                         validate_args=validate_args)

    @property
    def loc(self):
        return self.base_dist.loc

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mean(self):
        return ember.exp(self.loc + 0.5 * self.scale ** 2)

    @property
    def mode(self):
        return ember.exp(self.loc - self.scale ** 2)

    @property
    def variance(self):
        s2 = self.scale ** 2
        return ember.expm1(s2) * ember.exp(s2 + 2 * self.loc)

    def entropy(self):
        # the log-Jacobian of exp is x, whose mean is loc
        return self.loc + self.base_dist.entropy()


class _Folded(TransformedDistribution):
    """``|X|`` for X symmetric about 0 from ``_base_family(0, scale)``: twice the base
    density on ``x >= 0``, so cdf, icdf and entropy follow from the base's."""

    arg_constraints: ClassVar[dict] = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    expand = ExpandThroughParent()

    def __init__(self, scale, validate_args=None):
        base = self._base_family(0, scale, validate_args=False)
        super().__init__(base, AbsTransform(), validate_args=validate_args)

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mode(self):
        return ember.zeros_like(self.scale)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = ember.as_tensor(value, dtype=self.scale.dtype, device=self.scale.device)
        folded = _LOG_2 + self.base_dist.log_prob(value)
        return ember.where(value < 0, -math.inf, folded)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        # P(|X| <= v) = P(-v <= X <= v) = 2 F(v) - 1 by symmetry
        return self.base_dist.cdf(value) * 2 - 1

    def icdf(self, prob):
        return self.base_dist.icdf(0.5 * (1 + prob))

    def entropy(self):
        return self.base_dist.entropy() - _LOG_2


class HalfNormal(_Folded):
    """``|Normal(0, scale)|``."""

    _base_family = Normal

    @property
    def mean(self):
        return math.sqrt(2 / math.pi) * self.scale

    @property
    def variance(self):
        return (1 - 2 / math.pi) * self.scale ** 2


class HalfCauchy(_Folded):
    """``|Cauchy(0, scale)|``: heavy-tailed, so the mean is infinite."""

    _base_family = Cauchy

    @property
    def mean(self):
        return ember.full(self._extended_shape(), math.inf, dtype=self.scale.dtype,
                          device=self.scale.device)

    @property
    def variance(self):
        return self.base_dist.variance


class LogisticNormal(TransformedDistribution):
    """Stick-breaking of ``Normal(loc, scale)`` over the last dim: a distribution on the
    simplex with one more coordinate than ``loc``."""

    arg_constraints: ClassVar[dict] = dict(_LOC_SCALE)
    support = constraints.simplex
    has_rsample = True
    expand = ExpandThroughParent()

    def __init__(self, loc, scale, validate_args=None):
        normal = Normal(loc, scale, validate_args=validate_args)
        # stick-breaking reads a vector: a scalar Normal becomes a vector of one
        super().__init__(normal if normal.batch_shape else normal.expand([1]),
                         StickBreakingTransform(), validate_args=validate_args)

    @property
    def loc(self):
        return self.base_dist.base_dist.loc

    @property
    def scale(self):
        return self.base_dist.base_dist.scale
