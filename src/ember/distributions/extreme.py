"""Transformed uniforms and exponentials: ``Gumbel`` (double log of a uniform),
``Weibull`` (power of an exponential), ``Pareto`` (exp of an exponential),
``Kumaraswamy`` (powers of a uniform) and ``GeneralizedPareto`` (its inverse CDF of a
uniform)."""

from __future__ import annotations

import math
from numbers import Number
from typing import ClassVar

import ember

from . import constraints
from .distribution import Distribution
from .exponential import Exponential
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, ExpTransform, PowerTransform
from .uniform import Uniform
from .utils import batch_shape_of, broadcast_all, expand_params

__all__ = ["GeneralizedPareto", "Gumbel", "Kumaraswamy", "Pareto", "Weibull"]

EULER_GAMMA = 0.57721566490153286060
_GUMBEL_STD_PER_SCALE = math.pi / math.sqrt(6)


class _ChainOfBase(TransformedDistribution):
    """A law defined as a fixed chain of transforms of a simple base draw, the chain's
    parameters being the law's own. Both the chain and the base are built from the
    parameters (``_base``, ``_chain``), so ``expand`` only expands the parameters and
    builds them again, whichever law it is; the class that defines ``_chain`` is the
    one whose subclasses with their own ``__init__`` must bring their own ``expand``."""

    _params: ClassVar[tuple] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_chain" in cls.__dict__:
            cls._expand_owner = cls

    def _setup(self, validate_args, **given):
        """Broadcast the given parameters and build base and chain from them; the base
        sees the values as given (a law of plain numbers gets a scalar base)."""
        for name, value in zip(self._params, broadcast_all(*given.values())):
            setattr(self, name, value)
        TransformedDistribution.__init__(self, self._base(given, validate_args),
                                         self._chain(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(self._expand_owner, _instance)
        batch_shape = ember.Size(batch_shape)
        for name in self._params:
            setattr(new, name, getattr(self, name).expand(batch_shape))
        TransformedDistribution.__init__(new, self.base_dist.expand(batch_shape), new._chain(),
                                         validate_args=False)
        new._validate_args = self._validate_args
        return new


class Gumbel(_ChainOfBase):
    """``loc - scale * log(-log(U))`` for uniform ``U``: the law of maxima."""

    arg_constraints: ClassVar[dict] = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    _params = ("loc", "scale")

    def __init__(self, loc, scale, validate_args=None):
        self._setup(validate_args, loc=loc, scale=scale)

    def _base(self, given, validate_args):
        # U stays inside (tiny, 1 - eps) so that neither logarithm reaches infinity
        info = ember.finfo(self.loc.dtype)
        low, high = info.tiny, 1 - info.eps
        if not all(isinstance(v, Number) for v in given.values()):
            low, high = ember.full_like(self.loc, low), ember.full_like(self.loc, high)
        return Uniform(low, high, validate_args=validate_args)

    def _chain(self):
        # U -> -log U -> log(-log U) -> loc - scale * log(-log U)
        log = ExpTransform().inv
        negate = AffineTransform(loc=0, scale=-ember.ones_like(self.scale))
        return [log, negate, log, AffineTransform(loc=self.loc, scale=-self.scale)]

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -(z + ember.exp(-z)) - ember.log(self.scale)

    @property
    def mean(self):
        return self.loc + self.scale * EULER_GAMMA

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return _GUMBEL_STD_PER_SCALE * self.scale

    @property
    def variance(self):
        return ember.square(self.stddev)

    def entropy(self):
        return ember.log(self.scale) + (1 + EULER_GAMMA)


def _log_gamma_at_one_plus(x):
    """log Gamma(1 + x): the Weibull moments are Gamma functions of 1 + n / k."""
    return ember.lgamma(1 + x)


class Weibull(_ChainOfBase):
    """``scale * E^(1 / concentration)`` for a unit exponential ``E``."""

    arg_constraints: ClassVar[dict] = {"scale": constraints.positive,
                                       "concentration": constraints.positive}
    support = constraints.positive
    _params = ("scale", "concentration")

    def __init__(self, scale, concentration, validate_args=None):
        self._setup(validate_args, scale=scale, concentration=concentration)

    def _base(self, given, validate_args):
        return Exponential(ember.ones_like(self.scale), validate_args=validate_args)

    def _chain(self):
        # 1 / k is kept as an attribute (as PyTorch's Weibull does); it is the exponent
        self.concentration_reciprocal = 1 / self.concentration
        return [PowerTransform(exponent=self.concentration_reciprocal),
                AffineTransform(loc=0, scale=self.scale)]

    @property
    def mean(self):
        return self.scale * ember.exp(_log_gamma_at_one_plus(self.concentration_reciprocal))

    @property
    def mode(self):
        k = self.concentration
        return self.scale * ember.pow(1 - 1 / k, 1 / k)

    @property
    def variance(self):
        inv_k = self.concentration_reciprocal
        second = ember.exp(_log_gamma_at_one_plus(2 * inv_k))
        first_squared = ember.exp(2 * _log_gamma_at_one_plus(inv_k))
        return ember.square(self.scale) * (second - first_squared)

    def entropy(self):
        inv_k = self.concentration_reciprocal
        return EULER_GAMMA * (1 - inv_k) + ember.log(self.scale * inv_k) + 1


class Pareto(_ChainOfBase):
    """``scale * exp(E / alpha)`` for a unit exponential ``E``: support ``[scale, inf)``."""

    arg_constraints: ClassVar[dict] = {"alpha": constraints.positive,
                                       "scale": constraints.positive}
    _params = ("scale", "alpha")

    def __init__(self, scale, alpha, validate_args=None):
        self._setup(validate_args, scale=scale, alpha=alpha)

    def _base(self, given, validate_args):
        return Exponential(self.alpha, validate_args=validate_args)

    def _chain(self):
        return [ExpTransform(), AffineTransform(loc=0, scale=self.scale)]

    @property
    def mean(self):
        # infinite for alpha <= 1: alpha is clamped there so the division gives inf
        a = ember.clamp(self.alpha, min=1)
        return self.scale * a / (a - 1)

    @property
    def mode(self):
        return self.scale

    @property
    def variance(self):
        a = ember.clamp(self.alpha, min=2)
        return ember.square(self.scale) * a / (ember.square(a - 1) * (a - 2))

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.greater_than_eq(self.scale)

    def entropy(self):
        inv_alpha = 1 / self.alpha
        return ember.log(self.scale / self.alpha) + (1 + inv_alpha)


def _kumaraswamy_moment(a, b, n):
    """E[X^n] = b B(1 + n/a, b)."""
    shifted = 1 + n / a
    return b * ember.exp(ember.lgamma(shifted) + ember.lgamma(b) - ember.lgamma(shifted + b))


class Kumaraswamy(_ChainOfBase):
    """``(1 - U^(1/b))^(1/a)`` for uniform ``U``: a Beta-like law with a closed-form
    CDF, so it reparameterises without Gamma draws."""

    arg_constraints: ClassVar[dict] = {"concentration1": constraints.positive,
                                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True
    _params = ("concentration1", "concentration0")

    def __init__(self, concentration1, concentration0, validate_args=None):
        self._setup(validate_args, concentration1=concentration1,
                    concentration0=concentration0)

    def _base(self, given, validate_args):
        b = self.concentration0
        return Uniform(ember.zeros_like(b), ember.ones_like(b), validate_args=validate_args)

    def _chain(self):
        # U -> U^(1/b) -> 1 - U^(1/b) -> (1 - U^(1/b))^(1/a)
        return [PowerTransform(exponent=1 / self.concentration0),
                AffineTransform(loc=1.0, scale=-1.0),
                PowerTransform(exponent=1 / self.concentration1)]

    @property
    def mean(self):
        return _kumaraswamy_moment(self.concentration1, self.concentration0, 1)

    @property
    def mode(self):
        a, b = self.concentration1, self.concentration0
        # PyTorch's expression in logs, kept so values agree; NaN below 1 in either
        log_mode = ember.log1p(-b) / b - ember.log1p(-b * a)
        return ember.exp(ember.where((b < 1) | (a < 1), math.nan, log_mode))

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        return _kumaraswamy_moment(a, b, 2) - ember.square(self.mean)

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        harmonic_b = ember.digamma(b + 1) + EULER_GAMMA
        return (1 - 1 / b) + (1 - 1 / a) * harmonic_b - ember.log(a) - ember.log(b)


class GeneralizedPareto(Distribution):
    """Peaks over a threshold: ``loc + scale ((1 - U)^(-concentration) - 1) /
    concentration``; ``concentration = 0`` is the exponential limit."""

    arg_constraints: ClassVar[dict] = {"loc": constraints.real, "scale": constraints.positive,
                                       "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        batch_shape = batch_shape_of((loc, scale, concentration), self.loc)
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, GeneralizedPareto, batch_shape, _instance,
                             ["loc", "scale", "concentration"])

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return self.icdf(ember.rand(shape, dtype=self.loc.dtype, device=self.loc.device))

    def _safe_concentration(self):
        """(is the concentration 0, the concentration with 1 in place of 0): the
        closed forms divide by it, and ``where`` must not see a NaN branch's gradient."""
        is_zero = ember.isclose(self.concentration, ember.zeros_like(self.concentration))
        return is_zero, ember.where(is_zero, ember.ones_like(self.concentration),
                                    self.concentration)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        is_zero, safe = self._safe_concentration()
        y = 1 / safe + ember.ones_like(z)
        nonzero = ember.where(y == 0, y, y * ember.log1p(safe * z))
        return -self.scale.log() - ember.where(is_zero, z, nonzero)

    def log_survival_function(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        is_zero, safe = self._safe_concentration()
        return ember.where(is_zero, -z, -ember.log1p(safe * z) / safe)

    def log_cdf(self, value):
        return ember.log1p(-ember.exp(self.log_survival_function(value)))

    def cdf(self, value):
        return ember.exp(self.log_cdf(value))

    def icdf(self, value):
        is_zero, safe = self._safe_concentration()
        log_u = ember.log1p(-value)
        nonzero = self.loc + self.scale / safe * ember.expm1(-safe * log_u)
        return ember.where(is_zero, self.loc - self.scale * log_u, nonzero)

    @property
    def mean(self):
        valid = self.concentration < 1
        safe = ember.where(valid, self.concentration, 0.5)
        return ember.where(valid, self.loc + self.scale / (1 - safe), math.nan)

    @property
    def variance(self):
        valid = self.concentration < 0.5
        safe = ember.where(valid, self.concentration, 0.25)
        result = self.scale ** 2 / ((1 - safe) ** 2 * (1 - 2 * safe))
        return ember.where(valid, result, math.nan)

    def entropy(self):
        return ember.broadcast_to(ember.log(self.scale) + self.concentration + 1,
                                  self._batch_shape)

    @property
    def mode(self):
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        upper = ember.where(self.concentration < 0,
                            self.loc - self.scale / self.concentration, math.inf)
        return constraints.interval(self.loc, upper)
