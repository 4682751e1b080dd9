"""Counting distributions: ``Poisson(rate)``, ``Binomial(total_count, probs|logits)``,
``Geometric(probs|logits)`` and ``NegativeBinomial(total_count, probs|logits)``."""

from __future__ import annotations

from numbers import Number
from typing import ClassVar

import ember
import ember.nn.functional as F

from . import constraints
from ._sampling import binomial_draw
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .gamma import Gamma
from .utils import (
    BinaryProbsLogits,
    batch_shape_of,
    broadcast_all,
    expand_params,
    lazy_property,
)

__all__ = ["Binomial", "Geometric", "NegativeBinomial", "Poisson"]

# Poisson, NegativeBinomial and Geometric all count from 0 without an upper bound.
_COUNTS = constraints.nonnegative_integer


def _one_of_probs_logits(probs, logits):
    """The name and value of the one parametrisation given; both or neither is the
    caller's mistake, reported with PyTorch's text."""
    if (probs is None) is (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    return ("probs", probs) if logits is None else ("logits", logits)


class Poisson(ExponentialFamily):
    """Counts with mean ``rate``: ``P(k) = rate^k exp(-rate) / k!``."""

    arg_constraints: ClassVar[dict] = {"rate": constraints.nonnegative}
    support = _COUNTS

    def __init__(self, rate, validate_args=None):
        self.rate = broadcast_all(rate)[0]
        super().__init__(batch_shape_of((rate,), self.rate), validate_args=validate_args)

    # mean and variance are both the rate; the mode is its integer part
    mean = property(lambda self: self.rate)
    variance = property(lambda self: self.rate)
    mode = property(lambda self: ember.floor(self.rate))

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Poisson, batch_shape, _instance, ["rate"])

    def sample(self, sample_shape=()):
        with ember.no_grad():
            return ember.poisson(self.rate.expand(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k, lam = broadcast_all(value, self.rate)
        # k log(lam) - lam - log k!, with 0 log 0 = 0 so that P(0 | lam=0) = 1
        return ember.xlogy(k, lam) - lam - ember.lgamma(k + 1)

    @property
    def _natural_params(self):
        return (ember.log(self.rate),)

    def _log_normalizer(self, x):
        return ember.exp(x)


class _CountWithProbs(BinaryProbsLogits, Distribution):
    """Shared state of Binomial and NegativeBinomial: ``total_count`` and one of
    ``probs``/``logits`` (the other computed on demand)."""

    def _set_params(self, total_count, probs, logits):
        name, given = _one_of_probs_logits(probs, logits)
        count, param = broadcast_all(total_count, given)
        # the count takes the parameter's dtype so every formula mixes like dtypes
        self.total_count = count.type_as(param)
        setattr(self, name, param)
        self._param = param
        return param.size()

    def expand(self, batch_shape, _instance=None):
        new = expand_params(self, type(self), batch_shape, _instance,
                            ["total_count", "probs", "logits"])
        new._param = new.__dict__.get("probs", new.__dict__.get("logits"))
        return new

    @property
    def param_shape(self):
        return self._param.size()


def _softplus_parts(logits):
    """``max(logits, 0)`` and ``log1p(exp(-|logits|))``, whose sum is
    ``log(1 + exp(logits))`` without overflow. The max is written as ``(x + |x|) / 2``
    so its gradient at 0 is 1/2, as PyTorch's: logits are exactly 0 whenever probs is
    1/2, a common value."""
    return (logits + logits.abs()) / 2, ember.log1p(ember.exp(-logits.abs()))


class Binomial(_CountWithProbs):
    """Successes in ``total_count`` coin flips of success probability ``probs``."""

    arg_constraints: ClassVar[dict] = {"total_count": constraints.nonnegative_integer,
                                       "probs": constraints.unit_interval,
                                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        batch_shape = self._set_params(total_count, probs, logits)
        super().__init__(batch_shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        # floor((n + 1) p), which reaches n + 1 only at p = 1, where the mode is n
        return ember.minimum(ember.floor(self.probs * (self.total_count + 1)),
                             self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with ember.no_grad():
            return binomial_draw(self.total_count.expand(shape), self.probs.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        n, lg = self.total_count, self.logits
        # log C(n, k) + k logits - n log(1 + exp(logits))
        log_choose = ember.lgamma(n + 1) - ember.lgamma(value + 1) - ember.lgamma(n - value + 1)
        positive, tail = _softplus_parts(lg)
        return log_choose + value * lg - (n * positive + n * tail)

    def _homogeneous_count(self, what):
        """The single total count that ``what`` needs to enumerate 0..n over the batch."""
        largest = self.total_count.max()
        if bool((self.total_count != largest).any()):
            raise NotImplementedError(
                f"Inhomogeneous total count not supported by `{what}`.")
        return int(largest)

    def entropy(self):
        self._homogeneous_count("entropy")
        lp = self.log_prob(self.enumerate_support(expand=False))
        return -(lp * ember.exp(lp)).sum(0)

    def enumerate_support(self, expand=True):
        top = self._homogeneous_count("enumerate_support")
        batch = tuple(self._batch_shape)
        values = ember.arange(top + 1, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((top + 1,) + (1,) * len(batch))
        return values.expand((top + 1,) + batch) if expand else values


class NegativeBinomial(_CountWithProbs):
    """Successes before ``total_count`` failures, each trial a success with ``probs``:
    a Poisson whose rate is Gamma-distributed."""

    arg_constraints: ClassVar[dict] = {
        "total_count": constraints.greater_than_eq(0),
        "probs": constraints.half_open_interval(0.0, 1.0), "logits": constraints.real}
    support = _COUNTS

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        batch_shape = self._set_params(total_count, probs, logits)
        super().__init__(batch_shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.total_count * ember.exp(self.logits)

    @property
    def mode(self):
        # floor((r - 1) p / (1 - p)), or 0 when r <= 1
        odds = ember.exp(self.logits)
        return ember.clamp(ember.floor(odds * (self.total_count - 1)), min=0.0)

    @property
    def variance(self):
        return self.mean / ember.sigmoid(-self.logits)

    @lazy_property
    def _gamma(self):
        return Gamma(concentration=self.total_count, rate=ember.exp(-self.logits),
                     validate_args=False)

    def sample(self, sample_shape=()):
        with ember.no_grad():
            return ember.poisson(self._gamma.sample(sample_shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        r, lg = self.total_count, self.logits
        unnormalized = r * F.logsigmoid(-lg) + value * F.logsigmoid(lg)
        # log of the Beta-function normaliser; 0 where r + k = 0 (lgamma(0) is inf there)
        normalizer = ember.lgamma(1.0 + value) + ember.lgamma(r) - ember.lgamma(r + value)
        return unnormalized - normalizer.masked_fill(r + value == 0.0, 0.0)


class Geometric(BinaryProbsLogits, Distribution):
    """Failures before the first success, each trial a success with ``probs``."""

    arg_constraints: ClassVar[dict] = {"probs": constraints.unit_interval,
                                       "logits": constraints.real}
    support = _COUNTS

    def __init__(self, probs=None, logits=None, validate_args=None):
        name, given = _one_of_probs_logits(probs, logits)
        setattr(self, name, broadcast_all(given)[0])
        batch_shape = ember.Size() if isinstance(given, Number) else given.size()
        super().__init__(batch_shape, validate_args=validate_args)
        if name == "probs" and self._validate_args:
            self._require_positive_probs()

    def _require_positive_probs(self):
        """probs = 0 passes ``unit_interval`` but has no geometric law (no success ever),
        so PyTorch checks it on top, with the wording of its constraint errors."""
        p = self.probs
        bad = ~(p > 0)
        if bool(bad.any()):
            raise ValueError(
                f"Expected parameter probs ({type(p).__name__} of shape "
                f"{tuple(p.shape)}) of distribution {self!r} to be positive but "
                f"found invalid values:\n{p.detach()[bad]}")

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Geometric, batch_shape, _instance, ["probs", "logits"])

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return ember.zeros_like(self.probs)

    @property
    def variance(self):
        # (1 - p) / p^2, as the mean over p
        return self.mean / self.probs

    def sample(self, sample_shape=()):
        p = self.probs
        with ember.no_grad():
            u = ember.rand(self._extended_shape(sample_shape), dtype=p.dtype, device=p.device)
            # inverse cdf: floor(log u / log(1 - p)), u kept off 0 so log u is finite
            u = ember.clamp(u, min=ember.finfo(p.dtype).tiny)
            return ember.floor(ember.log(u) / ember.log1p(-p))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k, p = broadcast_all(value, self.probs)
        # a certain success at k = 0 has log-probability 0, not 0 * log(0)
        p = ember.where((p == 1) & (k == 0), 0.0, p)
        return k * ember.log1p(-p) + ember.log(self.probs)

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs,
                                                  reduction="none") / self.probs
