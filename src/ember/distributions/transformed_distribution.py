"""``TransformedDistribution(base, transforms)``: push a distribution through
invertible maps; ``log_prob`` is the base density at the pulled-back value minus the
log-Jacobians (change of variables)."""

from __future__ import annotations

import functools
import operator
from typing import ClassVar

import ember

from . import constraints
from ._expand import rebuilt
from .distribution import Distribution
from .independent import Independent
from .transforms import ComposeTransform, Transform, widen
from .utils import _sum_rightmost

__all__ = ["TransformedDistribution"]


def _transform_list(transforms) -> list:
    if isinstance(transforms, Transform):
        return [transforms]
    if not isinstance(transforms, list):
        raise ValueError(  # noqa: TRY004 - PyTorch raises ValueError here
            f"transforms must be a Transform or list, but was {transforms}")
    if any(not isinstance(t, Transform) for t in transforms):
        raise ValueError("transforms must be a Transform or a list of Transforms")
    return transforms


class TransformedDistribution(Distribution):
    """Samples ``transforms[-1](...transforms[0](base.sample()))``.

    The base is adapted to the chain when built: expanded when the transforms broadcast
    (an AffineTransform with a batch of ``loc``), and wrapped in ``Independent`` when the
    first transform reads more event dims than the base has.

    Example::

        >>> base = Normal(torch.zeros(2), torch.ones(2))
        >>> log_normal = TransformedDistribution(base, [ExpTransform()])
    """

    arg_constraints: ClassVar[dict] = {}

    def __init__(self, base_distribution, transforms, validate_args=None):
        self.transforms = _transform_list(transforms)
        chain = ComposeTransform(self.transforms)
        reads, writes = chain.domain.event_dim, chain.codomain.event_dim
        base = base_distribution
        given = base.batch_shape + base.event_shape
        base_events = len(base.event_shape)
        if len(given) < reads:
            raise ValueError("base_distribution needs to have shape with size at least "
                             f"{reads}, but got {given}.")
        out_shape = chain.forward_shape(given)
        pulled_back = chain.inverse_shape(out_shape)
        if pulled_back != given:
            base = base.expand(pulled_back[:len(pulled_back) - base_events])
        if reads > base_events:
            base = Independent(base, reads - base_events)
        self.base_dist = base
        out_events = max(writes, base_events + writes - reads)
        split = len(out_shape) - out_events
        super().__init__(out_shape[:split], out_shape[split:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = ember.Size(batch_shape)
        base_shape = ComposeTransform(self.transforms).inverse_shape(
            batch_shape + self.event_shape)
        base_batch = base_shape[:len(base_shape) - len(self.base_dist.event_shape)]
        return rebuilt(self, TransformedDistribution, _instance, batch_shape,
                       base_dist=self.base_dist.expand(base_batch),
                       transforms=self.transforms)

    @constraints.dependent_property(is_discrete=False)
    def support(self):
        if self.transforms:
            return widen(self.transforms[-1].codomain, len(self.event_shape))
        return self.base_dist.support

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    def _push(self, value):
        """Through every transform, first to last."""
        return functools.reduce(lambda v, t: t(v), self.transforms, value)

    def _pull(self, value):
        """Back through every inverse, last transform first."""
        return functools.reduce(lambda v, t: t.inv(v), self.transforms[::-1], value)

    def sample(self, sample_shape=()):
        with ember.no_grad():
            return self._push(self.base_dist.sample(sample_shape))

    def rsample(self, sample_shape=()):
        return self._push(self.base_dist.rsample(sample_shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        # walk back from y, tracking how many rightmost dims form one event, and take
        # off each step's log|dy/dx| summed over the dims beyond its own event
        event_dims = len(self.event_shape)
        total = 0.0
        y = value
        for t in self.transforms[::-1]:
            x = t.inv(y)
            jacobian = t.log_abs_det_jacobian(x, y)
            total = total - _sum_rightmost(jacobian, event_dims - t.codomain.event_dim)
            event_dims = event_dims - t.codomain.event_dim + t.domain.event_dim
            y = x
        base_term = self.base_dist.log_prob(y)
        return total + _sum_rightmost(base_term, event_dims - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value):
        """A decreasing chain of transforms turns the base CDF into ``1 - cdf``."""
        sign = functools.reduce(operator.mul, (t.sign for t in self.transforms), 1)
        if not isinstance(sign, ember.Tensor) and sign == 1:
            return value
        return 0.5 + sign * (value - 0.5)

    def cdf(self, value):
        base_value = self._pull(value)
        if self._validate_args:
            self.base_dist._validate_sample(base_value)
        return self._monotonize_cdf(self.base_dist.cdf(base_value))

    def icdf(self, value):
        return self._push(self.base_dist.icdf(self._monotonize_cdf(value)))
