"""``VonMises(loc, concentration)``: the circular normal."""

from __future__ import annotations

import math
from typing import ClassVar

import ember

from . import constraints
from ._special import log_bessel_i0, log_bessel_i1
from .distribution import Distribution
from .utils import broadcast_all, expand_params, lazy_property

__all__ = ["VonMises"]


class VonMises(Distribution):
    """Density ``exp(concentration cos(x - loc)) / (2 pi I0(concentration))`` on the
    circle; draws by Best and Fisher's rejection sampler, in float64."""

    arg_constraints: ClassVar[dict] = {"loc": constraints.real,
                                       "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, ember.Size(), validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, VonMises, batch_shape, _instance, ["loc", "concentration"])

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (self.concentration * ember.cos(value - self.loc) - math.log(2 * math.pi)
                - log_bessel_i0(self.concentration))

    @lazy_property
    def _proposal_r(self):
        kappa = self.concentration.detach().to(ember.float64)
        tau = 1 + (1 + 4 * kappa ** 2).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        # tiny kappa: the exact form cancels; its Taylor expansion does not
        return ember.where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho ** 2) / (2 * rho))

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with ember.no_grad():
            loc = self.loc.detach().to(ember.float64)
            kappa = self.concentration.detach().to(ember.float64)
            r = self._proposal_r
            x = ember.zeros(shape, dtype=ember.float64, device=self.loc.device)
            done = ember.zeros(shape, dtype=ember.bool, device=self.loc.device)
            while not bool(done.all()):
                u1, u2, u3 = ember.rand((3,) + tuple(shape), dtype=ember.float64,
                                        device=self.loc.device).unbind()
                z = ember.cos(math.pi * u1)
                f = (1 + r * z) / (r + z)
                c = kappa * (r - f)
                accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
                accept = accept & ~done
                x = ember.where(accept, (u3 - 0.5).sign() * f.acos(), x)
                done = done | accept
            return ((x + math.pi + loc) % (2 * math.pi) - math.pi).to(self.loc.dtype)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        """Circular variance ``1 - I1(k) / I0(k)``."""
        return 1 - (log_bessel_i1(self.concentration)
                    - log_bessel_i0(self.concentration)).exp()
