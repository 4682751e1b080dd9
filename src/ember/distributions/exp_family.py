"""``ExponentialFamily``: densities ``h(x) exp(<t(x), theta> - F(theta))``; the entropy
follows from the log normaliser ``F`` and its gradient (a Bregman divergence)."""

from __future__ import annotations

import ember

from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """Base of exponential-family distributions: subclasses give ``_natural_params``,
    ``_log_normalizer`` and ``_mean_carrier_measure`` (``E[log h(x)]``); the entropy is
    ``F(theta) - <theta, grad F(theta)> - E[log h(x)]``, by autograd."""

    @property
    def _natural_params(self):
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError

    def entropy(self):
        result = -self._mean_carrier_measure
        natural = [p.detach().requires_grad_() for p in self._natural_params]
        with ember.enable_grad():
            log_normalizer = self._log_normalizer(*natural)
            gradients = ember.autograd.grad(log_normalizer.sum(), natural, create_graph=True)
        result = result + log_normalizer
        for param, grad in zip(natural, gradients):
            result = result - (param * grad).reshape(self._batch_shape + (-1,)).sum(-1)
        return result
