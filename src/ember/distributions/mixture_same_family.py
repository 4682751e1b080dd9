"""``MixtureSameFamily(mixture, components)``: a Categorical choice among the last batch
dim of one component distribution (a Gaussian mixture is a Categorical over K Normals
with batch shape ``(..., K)``)."""

from __future__ import annotations

from typing import ClassVar

import ember

from . import constraints
from ._expand import rebuilt
from .categorical import Categorical
from .distribution import Distribution

__all__ = ["MixtureSameFamily"]


def _broadcastable(a, b) -> bool:
    return all(x == y or 1 in (x, y) for x, y in zip(a[::-1], b[::-1]))


class MixtureSameFamily(Distribution):
    """Density ``sum_k pi_k p_k(x)``, computed as a ``logsumexp`` of log-densities.

    The components' last batch dim is the component axis ``K``; everything the mixture
    computes per component is reduced over it, which sits just left of the event dims
    (``_component_axis``)."""

    arg_constraints: ClassVar[dict] = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        # ValueError, not TypeError, for a wrong type: PyTorch's choice
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(  # noqa: TRY004
                " The Mixture distribution needs to be an  instance of "
                "torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError(  # noqa: TRY004
                "The Component distribution needs to be an instance of "
                "torch.distributions.Distribution")
        mix_batch = mixture_distribution.batch_shape
        comp_batch = component_distribution.batch_shape[:-1]
        if not _broadcastable(mix_batch, comp_batch):
            raise ValueError(f"`mixture_distribution.batch_shape` ({mix_batch}) is not "
                             "compatible with `component_distribution."
                             f"batch_shape`({comp_batch})")
        weights_k = mixture_distribution.logits.shape[-1]
        k = component_distribution.batch_shape[-1]
        if weights_k != k:
            raise ValueError(f"`mixture_distribution component` ({weights_k}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({k})")
        # attribute names as PyTorch's: they are what a pickled mixture holds
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._num_component = k
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(batch_shape=comp_batch, event_shape=component_distribution.event_shape,
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = ember.Size(batch_shape)
        components = self._component_distribution.expand(batch_shape + (self._num_component,))
        return rebuilt(self, MixtureSameFamily, _instance, batch_shape, components.event_shape,
                       _component_distribution=components,
                       _mixture_distribution=self._mixture_distribution.expand(batch_shape),
                       _num_component=self._num_component, _event_ndims=self._event_ndims)

    @constraints.dependent_property
    def support(self):
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    @property
    def _component_axis(self):
        return -1 - self._event_ndims

    def _weights(self):
        """The mixture's probs shaped to broadcast against per-component values: ones
        for batch dims the mixture lacks (unless it has a single one) and for the
        event dims."""
        probs = self.mixture_distribution.probs
        mix_ndims = len(self.mixture_distribution.batch_shape)
        missing = 0 if mix_ndims == 1 else len(self.batch_shape) - mix_ndims
        return probs.reshape(probs.shape[:-1] + (1,) * missing + probs.shape[-1:]
                             + (1,) * self._event_ndims)

    def _average(self, per_component):
        return (self._weights() * per_component).sum(self._component_axis)

    @property
    def mean(self):
        return self._average(self.component_distribution.mean)

    @property
    def variance(self):
        """Law of total variance: mean of the variances plus variance of the means."""
        components = self.component_distribution
        spread = (components.mean - self._pad(self.mean)) ** 2
        return self._average(components.variance) + self._average(spread)

    def cdf(self, x):
        per_component = self.component_distribution.cdf(self._pad(x))
        return (per_component * self.mixture_distribution.probs).sum(-1)

    def log_prob(self, x):
        if self._validate_args:
            self._validate_sample(x)
        per_component = self.component_distribution.log_prob(self._pad(x))
        log_weights = ember.log_softmax(self.mixture_distribution.logits, dim=-1)
        return ember.logsumexp(per_component + log_weights, dim=-1)

    def sample(self, sample_shape=()):
        with ember.no_grad():
            chosen = self.mixture_distribution.sample(sample_shape)
            draws = self.component_distribution.sample(sample_shape)
            # pick, for every sample and batch entry, the draw of its chosen component
            axis = len(sample_shape) + len(self.batch_shape)
            index = chosen.reshape(chosen.shape + (1,) * (1 + self._event_ndims)).expand(
                chosen.shape + (1,) + tuple(self.event_shape))
            return draws.gather(axis, index).squeeze(axis)

    def _pad(self, x):
        """``x`` with a size-1 component axis, to broadcast over the components."""
        return x.unsqueeze(self._component_axis)

    def __repr__(self):
        return (f"MixtureSameFamily(\n  {self.mixture_distribution},\n  "
                f"{self.component_distribution})")
