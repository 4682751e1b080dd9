"""``MultivariateNormal`` (full covariance, given as covariance, precision or Cholesky
factor) and ``LowRankMultivariateNormal`` (``W W^T + diag(D)``), reparameterisable.

Everything goes through the lower Cholesky factor ``L`` of the covariance: samples are
``loc + L eps``, the Mahalanobis term is ``|L^-1 (x - loc)|^2`` by a triangular solve
and ``log det`` is twice the sum of ``log diag(L)``."""

from __future__ import annotations

import math
from typing import ClassVar

import ember

from . import constraints
from .distribution import Distribution
from ._expand import rebuilt
from .utils import lazy_property

__all__ = ["LowRankMultivariateNormal", "MultivariateNormal"]


def _batch_mv(bmat, bvec):
    return ember.matmul(bmat, bvec.unsqueeze(-1)).squeeze(-1)


def _batch_mahalanobis(tril, x):
    """``|tril^-1 x|^2`` over the last dim, ``tril`` broadcast against ``x``'s batch."""
    batch = ember.broadcast_shapes(tril.shape[:-2], x.shape[:-1])
    n = x.shape[-1]
    solved = ember.linalg.solve_triangular(tril.expand(batch + (n, n)),
                                           x.expand(batch + (n,)).unsqueeze(-1), upper=False)
    return solved.squeeze(-1).pow(2).sum(-1)


def _precision_to_scale_tril(precision):
    """Cholesky factor of ``precision^-1`` without inverting: the reversed Cholesky of
    ``precision`` is upper-triangular and inverts to the lower factor sought."""
    flipped = ember.linalg.cholesky(ember.flip(precision, (-2, -1)))
    inverse_factor = ember.flip(flipped, (-2, -1)).mT
    identity = ember.eye(precision.shape[-1], dtype=precision.dtype, device=precision.device)
    return ember.linalg.solve_triangular(inverse_factor, identity, upper=False)


# how each accepted form of the covariance becomes its lower Cholesky factor
_TO_SCALE_TRIL = {
    "scale_tril": lambda m: m,
    "covariance_matrix": lambda m: ember.linalg.cholesky(m),
    "precision_matrix": _precision_to_scale_tril,
}


def _one_matrix(error, covariance_matrix, precision_matrix, scale_tril):
    """(name, matrix) of the single covariance form given; any other count raises
    ``error`` (MultivariateNormal's ValueError, Wishart's AssertionError, as PyTorch)."""
    given = {name: m for name, m in (("scale_tril", scale_tril),
                                     ("covariance_matrix", covariance_matrix),
                                     ("precision_matrix", precision_matrix)) if m is not None}
    if len(given) != 1:
        raise error("Exactly one of covariance_matrix or precision_matrix or "
                    "scale_tril may be specified.")
    return next(iter(given.items()))


class _FromScaleTril:
    """A distribution that keeps one Cholesky factor ``_unbroadcasted_scale_tril``
    (shared across the batch), set from whichever matrix it was given, and expands
    ``scale_tril``/``covariance_matrix`` to ``_matrix_shape()`` only when asked
    (MultivariateNormal, Wishart). ``_unbroadcasted_scale_tril`` keeps PyTorch's name:
    KL rules and user code read it."""

    def _adopt_matrix(self, name, matrix):
        """The factor, computed once from the given (unexpanded) matrix so the batch
        shares it; called after ``Distribution.__init__`` has validated that matrix."""
        self._unbroadcasted_scale_tril = _TO_SCALE_TRIL[name](matrix)

    def _expanded_matrices(self, matrix_shape):
        """The covariance forms present on ``self`` (given or already computed), each
        expanded to ``matrix_shape``: state for an expanded copy."""
        return {name: self.__dict__[name].expand(matrix_shape)
                for name in _TO_SCALE_TRIL if name in self.__dict__}

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        tril = self._unbroadcasted_scale_tril
        return ember.matmul(tril, tril.mT).expand(self._matrix_shape())


def _log_det_tril(tril):
    """log |det(tril)|: the sum of the logs of its positive diagonal."""
    return ember.log(ember.diagonal(tril, dim1=-2, dim2=-1)).sum(-1)


_LOG_2PI = math.log(2 * math.pi)


class MultivariateNormal(_FromScaleTril, Distribution):
    """Gaussian over vectors, with ``loc`` and exactly one of ``covariance_matrix``,
    ``precision_matrix`` or ``scale_tril``.

    Example::

        >>> d = MultivariateNormal(ember.zeros(2), ember.eye(2))
        >>> d.sample().shape
        ember.Size([2])
    """

    arg_constraints: ClassVar[dict] = {"loc": constraints.real_vector,
                                       "covariance_matrix": constraints.positive_definite,
                                       "precision_matrix": constraints.positive_definite,
                                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        name, matrix = _one_matrix(ValueError, covariance_matrix, precision_matrix,
                                   scale_tril)
        if matrix.dim() < 2:
            label = "scale_tril matrix" if name == "scale_tril" else name
            raise ValueError(f"{label} must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        batch_shape = ember.broadcast_shapes(matrix.shape[:-2], loc.shape[:-1])
        setattr(self, name, matrix.expand(batch_shape + (-1, -1)))
        self.loc = loc.expand(batch_shape + loc.shape[-1:])
        super().__init__(batch_shape, loc.shape[-1:], validate_args=validate_args)
        self._adopt_matrix(name, matrix)

    def expand(self, batch_shape, _instance=None):
        batch_shape = ember.Size(batch_shape)
        return rebuilt(self, MultivariateNormal, _instance, batch_shape,
                       loc=self.loc.expand(batch_shape + self.event_shape),
                       _unbroadcasted_scale_tril=self._unbroadcasted_scale_tril,
                       **self._expanded_matrices(
                           batch_shape + self.event_shape + self.event_shape))

    def _matrix_shape(self):
        return self._batch_shape + self._event_shape * 2

    @lazy_property
    def precision_matrix(self):
        inverse = ember.cholesky_inverse(self._unbroadcasted_scale_tril)
        return inverse.expand(self._matrix_shape())

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        # diag(L L^T) is the row-wise sum of squares of L
        row_sq = ember.square(self._unbroadcasted_scale_tril).sum(-1)
        return row_sq.expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=()):
        eps = ember.randn(self._extended_shape(sample_shape), dtype=self.loc.dtype,
                          device=self.loc.device)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        n = self._event_shape[0]
        mahalanobis = _batch_mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        return (-0.5 * (n * _LOG_2PI + mahalanobis)
                - _log_det_tril(self._unbroadcasted_scale_tril))

    def entropy(self):
        n = self._event_shape[0]
        h = 0.5 * n * (1.0 + _LOG_2PI) + _log_det_tril(self._unbroadcasted_scale_tril)
        return h.expand(self._batch_shape) if self._batch_shape else h


def _add_identity(matrix):
    n = matrix.shape[-1]
    return matrix + ember.eye(n, dtype=matrix.dtype, device=matrix.device)


def _capacitance_tril(factor, diag):
    """Cholesky factor of ``I + W^T D^-1 W`` (m x m): the Woodbury identity's small
    matrix, so solves and determinants cost O(n m^2) instead of O(n^3)."""
    wt_dinv = factor.mT / diag.unsqueeze(-2)
    return ember.linalg.cholesky(_add_identity(ember.matmul(wt_dinv, factor)))


def _lowrank_logdet(diag, capacitance_tril):
    return (2 * capacitance_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
            + diag.log().sum(-1))


class LowRankMultivariateNormal(Distribution):
    """Gaussian with covariance ``cov_factor @ cov_factor.T + diag(cov_diag)``.
    The unbroadcasted factor and diagonal and the capacitance factor keep PyTorch's
    attribute names: KL rules and user code read them."""

    arg_constraints: ClassVar[dict] = {
        "loc": constraints.real_vector,
        "cov_factor": constraints.independent(constraints.real, 2),
        "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        n = loc.shape[-1]
        if cov_factor.dim() < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        if cov_factor.shape[-2] != n:
            raise ValueError(f"cov_factor must be a batch of matrices with shape {n} x m")
        if cov_diag.dim() < 1 or cov_diag.shape[-1] != n:
            raise ValueError(f"cov_diag must be a batch of vectors with shape {loc.shape[-1:]}")
        try:
            batch = ember.broadcast_shapes(loc.shape[:-1], cov_factor.shape[:-2],
                                           cov_diag.shape[:-1])
        except RuntimeError as e:
            raise ValueError(f"Incompatible batch shapes: loc {loc.shape}, cov_factor "
                             f"{cov_factor.shape}, cov_diag {cov_diag.shape}") from e
        self.loc = loc.expand(batch + (n,))
        self.cov_diag = cov_diag.expand(batch + (n,))
        self.cov_factor = cov_factor.expand(batch + cov_factor.shape[-2:])
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        self._capacitance_tril = _capacitance_tril(cov_factor, cov_diag)
        super().__init__(batch, loc.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        vector = ember.Size(batch_shape) + self.event_shape
        shared = ("_unbroadcasted_cov_factor", "_unbroadcasted_cov_diag", "_capacitance_tril")
        return rebuilt(self, LowRankMultivariateNormal, _instance, batch_shape,
                       loc=self.loc.expand(vector), cov_diag=self.cov_diag.expand(vector),
                       cov_factor=self.cov_factor.expand(vector + self.cov_factor.shape[-1:]),
                       **{name: getattr(self, name) for name in shared})

    def _matrix_shape(self):
        return self._batch_shape + self._event_shape * 2

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        factor, diag = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (ember.square(factor).sum(-1) + diag).expand(self._batch_shape
                                                            + self._event_shape)

    @lazy_property
    def scale_tril(self):
        # D^(1/2) chol(I + D^(-1/2) W W^T D^(-1/2)), factor of W W^T + D
        root_d = ember.sqrt(self._unbroadcasted_cov_diag).unsqueeze(-1)
        whitened = self._unbroadcasted_cov_factor / root_d
        inner = _add_identity(ember.matmul(whitened, whitened.mT))
        return (root_d * ember.linalg.cholesky(inner)).expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        factor = self._unbroadcasted_cov_factor
        return (ember.matmul(factor, factor.mT)
                + ember.diag_embed(self._unbroadcasted_cov_diag)).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        # Woodbury: D^-1 - (C^-1 W^T D^-1)^T (C^-1 W^T D^-1), C the capacitance factor
        diag = self._unbroadcasted_cov_diag
        wt_dinv = self._unbroadcasted_cov_factor.mT / diag.unsqueeze(-2)
        half = ember.linalg.solve_triangular(self._capacitance_tril, wt_dinv, upper=False)
        precision = ember.diag_embed(1 / diag) - half.mT @ half
        return precision.expand(self._matrix_shape())

    def rsample(self, sample_shape=()):
        out_shape = self._extended_shape(sample_shape)
        rank = self.cov_factor.shape[-1]
        like = {"dtype": self.loc.dtype, "device": self.loc.device}
        low_rank_noise = ember.randn(out_shape[:-1] + (rank,), **like)
        diag_noise = ember.randn(out_shape, **like)
        return (self.loc + _batch_mv(self._unbroadcasted_cov_factor, low_rank_noise)
                + ember.sqrt(self._unbroadcasted_cov_diag) * diag_noise)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        factor, diag = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        projected = _batch_mv(factor.mT / diag.unsqueeze(-2), diff)
        # Woodbury again: x^T D^-1 x minus the capacitance-whitened projection
        mahalanobis = ((ember.square(diff) / diag).sum(-1)
                       - _batch_mahalanobis(self._capacitance_tril, projected))
        log_det = _lowrank_logdet(diag, self._capacitance_tril)
        return -0.5 * (self._event_shape[0] * _LOG_2PI + log_det + mahalanobis)

    def entropy(self):
        log_det = _lowrank_logdet(self._unbroadcasted_cov_diag, self._capacitance_tril)
        h = 0.5 * (self._event_shape[0] * (1.0 + _LOG_2PI) + log_det)
        return h.expand(self._batch_shape) if self._batch_shape else h
