"""``Categorical(probs=None, logits=None)``: one of K classes per batch entry."""

from __future__ import annotations

import math
from typing import ClassVar

import ember

from . import constraints
from .distribution import Distribution
from ._expand import rebuilt
from .utils import lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Categorical"]


_NORMALISE = {
    "probs": lambda p: p / p.sum(-1, keepdim=True),
    "logits": lambda lg: lg - lg.logsumexp(dim=-1, keepdim=True),
}


class Categorical(Distribution):
    """A categorical distribution over ``0 .. K-1`` given by ``probs`` (nonnegative,
    normalised along the last dim) or ``logits`` (unnormalised log-probabilities).

    Whichever was given is normalised and kept (also as ``_param``); the other is
    computed from it on first access.

    Example::

        >>> m = Categorical(torch.tensor([0.25, 0.25, 0.25, 0.25]))
        >>> m.sample().shape
        torch.Size([])
    """

    arg_constraints: ClassVar[dict] = {"probs": constraints.simplex,
                                       "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        name, given = ("probs", probs) if logits is None else ("logits", logits)
        if given.dim() < 1:
            raise ValueError(f"`{name}` parameter must be at least one-dimensional.")
        param = _NORMALISE[name](given)
        setattr(self, name, param)
        # private names as PyTorch's: a pickled Categorical holds them
        self._param = param
        self._num_events = param.shape[-1]
        super().__init__(param.shape[:-1], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = ember.Size(batch_shape)
        present = {name: self.__dict__[name].expand(batch_shape + (self._num_events,))
                   for name in ("probs", "logits") if name in self.__dict__}
        # _param follows logits when both were computed, as PyTorch's expand leaves it
        param = present.get("logits", present.get("probs"))
        return rebuilt(self, Categorical, _instance, batch_shape, _param=param,
                       _num_events=self._num_events, **present)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    @property
    def param_shape(self):
        return self._param.size()

    def _undefined(self):
        """Class indices have no meaningful mean or variance: NaN, as PyTorch."""
        return ember.full(self._extended_shape(), math.nan, dtype=self.probs.dtype,
                          device=self.probs.device)

    @property
    def mean(self):
        return self._undefined()

    @property
    def mode(self):
        return self.probs.argmax(dim=-1)

    @property
    def variance(self):
        return self._undefined()

    def sample(self, sample_shape=()):
        sample_shape = ember.Size(sample_shape)
        rows = self.probs.reshape(-1, self._num_events)
        with ember.no_grad():
            # one row of draws per batch entry, then samples first
            draws = ember.multinomial(rows, sample_shape.numel(), True).T
        return draws.reshape(self._extended_shape(sample_shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        index, table = ember.broadcast_tensors(value.long().unsqueeze(-1), self.logits)
        return table.gather(-1, index[..., :1]).squeeze(-1)

    def entropy(self):
        # -inf logits (zero probs) clamped to the lowest float: 0 * finite is 0, not nan
        logits = ember.clamp(self.logits, min=ember.finfo(self.logits.dtype).min)
        return -(self.probs * logits).sum(-1)

    def enumerate_support(self, expand=True):
        classes = ember.arange(self._num_events, dtype=ember.long, device=self._param.device)
        batch = tuple(self._batch_shape)
        classes = classes.reshape((-1,) + (1,) * len(batch))
        return classes.expand((-1,) + batch) if expand else classes
