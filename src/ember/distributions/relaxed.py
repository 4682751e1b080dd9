"""Concrete (Gumbel-softmax) relaxations: ``RelaxedBernoulli`` and
``RelaxedOneHotCategorical``, continuous and reparameterisable stand-ins for coins and
one-hot draws whose sharpness ``temperature`` sets."""

from __future__ import annotations

from typing import ClassVar

import ember

from . import constraints
from ._expand import ExpandThroughParent, rebuilt
from .distribution import Distribution
from .one_hot_categorical import _OverCategorical
from .transformed_distribution import TransformedDistribution
from .transforms import ExpTransform, SigmoidTransform
from .utils import BinaryProbsLogits, broadcast_all, clamp_probs

__all__ = ["ExpRelaxedCategorical", "LogitRelaxedBernoulli", "RelaxedBernoulli",
           "RelaxedOneHotCategorical"]

_COIN = {"probs": constraints.unit_interval, "logits": constraints.real}
_CATEGORIES = {"probs": constraints.simplex, "logits": constraints.real_vector}


def _log_odds(p):
    return ember.log(p) - ember.log1p(-p)


def _uniform_like(value, shape):
    """Uniform draws kept off 0 and 1, so their logs and log-odds stay finite."""
    return clamp_probs(ember.rand(shape, dtype=value.dtype, device=value.device))


class _FromRelaxedBase:
    """``temperature``, ``logits`` and ``probs`` of a TransformedDistribution read from
    its relaxed ``base_dist`` (RelaxedBernoulli, RelaxedOneHotCategorical)."""

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs


class LogitRelaxedBernoulli(BinaryProbsLogits, Distribution):
    """The logit of a RelaxedBernoulli draw: ``(logit(U) + logits) / temperature``."""

    arg_constraints: ClassVar[dict] = dict(_COIN)
    support = constraints.real

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self.temperature = temperature
        batch_shape = self._set_probs_or_logits(probs, logits)
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = ember.Size(batch_shape)
        given = {name: self.__dict__[name].expand(batch_shape) for name in ("probs", "logits")
                 if name in self.__dict__}
        # _param follows logits when both were computed, as PyTorch's expand leaves it
        param = given.get("logits", given.get("probs"))
        return rebuilt(self, LogitRelaxedBernoulli, _instance, batch_shape,
                       temperature=self.temperature, _param=param, **given)

    @property
    def param_shape(self):
        return self._param.size()

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        p = clamp_probs(self.probs.expand(shape))
        return (_log_odds(_uniform_like(p, shape)) + _log_odds(p)) / self.temperature

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        # the logistic density of value * temperature around logits, times temperature
        z = logits - self.temperature * value
        return z + ember.log(self.temperature) - 2 * ember.log1p(ember.exp(z))


class RelaxedBernoulli(_FromRelaxedBase, TransformedDistribution):
    """``sigmoid`` of a LogitRelaxedBernoulli: values in (0, 1) that approach a coin
    as ``temperature`` goes to 0."""

    arg_constraints: ClassVar[dict] = dict(_COIN)
    support = constraints.unit_interval
    has_rsample = True
    expand = ExpandThroughParent()

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        super().__init__(LogitRelaxedBernoulli(temperature, probs, logits), SigmoidTransform(),
                         validate_args=validate_args)


class ExpRelaxedCategorical(_OverCategorical):
    """The log of a RelaxedOneHotCategorical draw: a log-softmax of Gumbel-perturbed
    logits divided by ``temperature``."""

    arg_constraints: ClassVar[dict] = dict(_CATEGORIES)
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self.temperature = temperature
        self._init_over(probs, logits, validate_args)

    def expand(self, batch_shape, _instance=None):
        own = self._get_checked_instance(ExpRelaxedCategorical, _instance)
        expanded = super().expand(batch_shape, _instance=own)
        expanded.temperature = self.temperature
        return expanded

    def rsample(self, sample_shape=()):
        u = _uniform_like(self.logits, self._extended_shape(sample_shape))
        gumbel = -ember.log(-ember.log(u))
        return ember.log_softmax((gumbel + self.logits) / self.temperature, dim=-1)

    def log_prob(self, value):
        k = self._categorical._num_events
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        # density of the log of a Concrete draw: (K-1)! T^(K-1) times the product of
        # the normalised scores
        log_norm = (k - 1) * ember.log(self.temperature) + ember.full_like(
            self.temperature, float(k)).lgamma()
        scores = ember.log_softmax(logits - self.temperature * value, dim=-1)
        return scores.sum(-1) + log_norm


class RelaxedOneHotCategorical(_FromRelaxedBase, TransformedDistribution):
    """``exp`` of an ExpRelaxedCategorical: points on the simplex that approach one-hot
    vectors as ``temperature`` goes to 0 (Gumbel-softmax)."""

    arg_constraints: ClassVar[dict] = dict(_CATEGORIES)
    support = constraints.simplex
    has_rsample = True
    expand = ExpandThroughParent()

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)
