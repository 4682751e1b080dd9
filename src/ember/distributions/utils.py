"""Helpers shared by the distributions (PyTorch's ``torch.distributions.utils``)."""

from __future__ import annotations

import functools
import math
from numbers import Number

import ember
import ember.nn.functional as F

__all__ = ["broadcast_all", "clamp_probs", "euler_constant", "lazy_property", "logits_to_probs",
           "probs_to_logits", "tril_matrix_to_vec", "vec_to_tril_matrix"]

euler_constant = 0.57721566490153286060  # Euler-Mascheroni


def broadcast_all(*values):
    """Tensors and numbers broadcast to one shape; numbers take the first tensor's dtype
    and device (the default dtype when all are numbers)."""
    if not all(isinstance(v, (ember.Tensor, Number)) for v in values):
        raise ValueError("Input arguments must all be instances of Number, "
                         "torch.Tensor or objects implementing __torch_function__.")
    if not all(isinstance(v, ember.Tensor) for v in values):
        options = {"dtype": ember.get_default_dtype()}
        for value in values:
            if isinstance(value, ember.Tensor):
                options = {"dtype": value.dtype, "device": value.device}
                break
        values = [v if isinstance(v, ember.Tensor) else ember.tensor(v, **options)
                  for v in values]
    return ember.broadcast_tensors(*values)


def batch_shape_of(params, broadcast):
    """Batch shape of a distribution built from ``params`` after ``broadcast_all``
    turned them into ``broadcast`` (one of its results): ``()`` when every parameter
    was a Python number, else the broadcast shape (PyTorch's rule for its elementwise
    families)."""
    if all(isinstance(p, Number) for p in params):
        return ember.Size()
    return broadcast.size()


def _sum_rightmost(value, dim: int):
    if dim == 0:
        return value
    return value.reshape(value.shape[:value.dim() - dim] + (-1,)).sum(-1)


def clamp_probs(probs):
    eps = ember.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits, is_binary: bool = False):
    if is_binary:
        return ember.sigmoid(logits)
    return F.softmax(logits, dim=-1)


def probs_to_logits(probs, is_binary: bool = False):
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return ember.log(ps_clamped) - ember.log1p(-ps_clamped)
    return ember.log(ps_clamped)


class lazy_property:
    """Computed on first access and then stored on the instance (``probs`` from
    ``logits`` and the other way round)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        functools.update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        with ember.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class BinaryProbsLogits:
    """Mixin for a two-outcome parameter given as ``probs`` or ``logits``: whichever was
    not given is computed from the other on first access (sigmoid / log-odds), so
    Bernoulli, Geometric, Binomial, NegativeBinomial and LogitRelaxedBernoulli share one
    definition."""

    def _set_probs_or_logits(self, probs, logits):
        """Keep whichever of ``probs``/``logits`` was given (exactly one must be) as a
        tensor, also as ``_param``; returns the batch shape it implies."""
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            self._param = self.probs
        else:
            (self.logits,) = broadcast_all(logits)
            self._param = self.logits
        return batch_shape_of((probs if probs is not None else logits,), self._param)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)


def expand_params(dist, cls, batch_shape, _instance, names, event_dims=0):
    """``dist.expand(batch_shape)`` for a distribution whose state is the tensors
    ``names`` (those present on ``dist``), each with ``event_dims`` trailing dims that
    stay as they are."""
    new = dist._get_checked_instance(cls, _instance)
    batch_shape = ember.Size(batch_shape)
    for name in names:
        if name in dist.__dict__:
            value = dist.__dict__[name]
            trailing = value.shape[value.dim() - event_dims:] if event_dims else ()
            setattr(new, name, value.expand(batch_shape + ember.Size(trailing)))
    from .distribution import Distribution
    Distribution.__init__(new, batch_shape, dist.event_shape, validate_args=False)
    new._validate_args = dist._validate_args
    return new


def vec_to_tril_matrix(vec, diag: int = 0):
    """Fill the lower triangle (below diagonal ``diag``) row by row from ``vec``."""
    # n from the triangle's size m: the root of n^2 + (1 + 2 diag) n + ... = 2 m
    m = vec.shape[-1]
    n = round((-(1 + 2 * diag) + math.sqrt((1 + 2 * diag) ** 2 + 8 * m
                                           + 4 * abs(diag) * (diag + 1))) / 2)
    rows, cols = ember.tril_indices(n, n, offset=diag, device=vec.device)
    mat = vec.new_zeros(vec.shape[:-1] + (n * n,))
    flat_index = (rows * n + cols).expand(vec.shape[:-1] + (vec.shape[-1],))
    return mat.scatter(-1, flat_index, vec).reshape(vec.shape[:-1] + (n, n))


def tril_matrix_to_vec(mat, diag: int = 0):
    """The lower triangle (below diagonal ``diag``) of ``mat``, row by row."""
    n = mat.shape[-1]
    rows, cols = ember.tril_indices(n, n, offset=diag, device=mat.device)
    return mat[..., rows, cols]
