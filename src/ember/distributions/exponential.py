"""``Exponential(rate)``: waiting times of a Poisson process, reparameterisable."""

from __future__ import annotations

from typing import ClassVar

import ember

from . import constraints
from .exp_family import ExponentialFamily
from .utils import batch_shape_of, broadcast_all, expand_params

__all__ = ["Exponential"]


class Exponential(ExponentialFamily):
    """Density ``rate * exp(-rate * x)`` on ``x >= 0``.

    Example::

        >>> m = Exponential(torch.tensor([1.0]))
        >>> m.sample().shape
        torch.Size([1])
    """

    arg_constraints: ClassVar[dict] = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        batch_shape = batch_shape_of((rate,), self.rate)
        super().__init__(batch_shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return ember.zeros_like(self.rate)

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Exponential, batch_shape, _instance, ["rate"])

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        uniform = ember.rand(shape, dtype=self.rate.dtype, device=self.rate.device)
        # -log1p(-u) is an Exp(1) draw that stays finite: u < 1 always
        return -ember.log1p(-uniform) / self.rate

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 1 - ember.exp(-self.rate * value)

    def icdf(self, value):
        return -ember.log1p(-value) / self.rate

    def entropy(self):
        return 1.0 - ember.log(self.rate)

    @property
    def _natural_params(self):
        return (-self.rate,)

    def _log_normalizer(self, x):
        return -ember.log(-x)
