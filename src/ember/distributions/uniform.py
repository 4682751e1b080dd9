"""``Uniform(low, high)``: the half-open interval ``[low, high)``, reparameterisable."""

from __future__ import annotations

import math

import ember

from . import constraints
from .distribution import Distribution
from .utils import batch_shape_of, broadcast_all, expand_params

__all__ = ["Uniform"]


class Uniform(Distribution):
    """Uniform distribution on ``[low, high)``: density ``1 / (high - low)`` inside,
    zero outside (``log_prob`` is -inf there rather than an error)."""

    has_rsample = True

    @property
    def arg_constraints(self):
        # each bound is checked against the other, so the constraints are built per call
        return {"low": constraints.less_than(self.high),
                "high": constraints.greater_than(self.low)}

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(batch_shape_of((low, high), self.low), validate_args=validate_args)

    @property
    def _width(self):
        return self.high - self.low

    @property
    def mean(self):
        return 0.5 * (self.low + self.high)

    @property
    def mode(self):
        # every point is a mode: PyTorch answers nan
        return self.high * math.nan

    @property
    def stddev(self):
        return self._width / math.sqrt(12)

    @property
    def variance(self):
        return self._width ** 2 / 12

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Uniform, batch_shape, _instance, ["low", "high"])

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    def rsample(self, sample_shape=()):
        u = ember.rand(self._extended_shape(sample_shape), dtype=self.low.dtype,
                       device=self.low.device)
        return self.low + self._width * u

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        inside = ((self.low <= value) & (value < self.high)).type_as(self.low)
        return ember.log(inside) - ember.log(self._width)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ember.clamp((value - self.low) / self._width, min=0, max=1)

    def icdf(self, value):
        return self.low + self._width * value

    def entropy(self):
        return ember.log(self._width)
