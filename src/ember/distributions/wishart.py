"""Distributions over matrices: ``LKJCholesky`` (Cholesky factors of correlation
matrices) and ``Wishart`` (positive-definite matrices, reparameterisable through the
Bartlett decomposition and the Chi2 draws' implicit gradients)."""

from __future__ import annotations

import math
import warnings
from numbers import Number
from typing import ClassVar

import ember

from . import constraints
from .dirichlet import Beta
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .gamma import Chi2
from ._expand import rebuilt
from .multivariate_normal import _FromScaleTril, _log_det_tril, _one_matrix
from .utils import broadcast_all, lazy_property

__all__ = ["LKJCholesky", "Wishart"]

_LOG_2 = math.log(2)


def _mvlgamma(x, p: int):
    """Multivariate log-gamma: ``p(p-1)/4 log(pi) + sum_j lgamma(x - j/2)``."""
    offsets = ember.arange(p, dtype=x.dtype, device=x.device) / 2
    return p * (p - 1) / 4 * math.log(math.pi) + ember.lgamma(x.unsqueeze(-1) - offsets).sum(-1)


def _mvdigamma(x, p: int):
    offsets = ember.arange(p, dtype=x.dtype, device=x.device) / 2
    return ember.digamma(x.unsqueeze(-1) - offsets).sum(-1)


class LKJCholesky(Distribution):
    """LKJ prior on correlation matrices, over their lower Cholesky factors: density
    proportional to ``det(L L^T)^(concentration - 1)``; draws by the onion method (a
    Beta-distributed squared norm and a uniform direction per row)."""

    arg_constraints: ClassVar[dict] = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError("Expected dim to be an integer greater than or equal to 2. "
                             f"Found dim={dim}.")
        self.dim = dim
        self.concentration = broadcast_all(concentration)[0]
        # row i's squared norm of its off-diagonal part is Beta(i / 2, eta + (d - 2 - i) / 2)
        # (row 0 has none: its Beta is a placeholder whose draw is multiplied by 0)
        eta = self.concentration
        rows = ember.arange(dim - 1, dtype=eta.dtype, device=eta.device)
        half_rows = ember.cat([ember.zeros(1, dtype=eta.dtype, device=eta.device), rows])
        b_param = (eta + 0.5 * (dim - 2)).unsqueeze(-1) - 0.5 * half_rows
        self._beta = Beta(half_rows + 0.5, b_param)
        super().__init__(eta.size(), ember.Size((dim, dim)), validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = ember.Size(batch_shape)
        return rebuilt(self, LKJCholesky, _instance, batch_shape, dim=self.dim,
                       concentration=self.concentration.expand(batch_shape),
                       _beta=self._beta.expand(batch_shape + (self.dim,)))

    def sample(self, sample_shape=()):
        with ember.no_grad():
            sq_norm = self._beta.sample(sample_shape).unsqueeze(-1)
            normal = ember.randn(self._extended_shape(sample_shape), dtype=sq_norm.dtype,
                                 device=sq_norm.device).tril(-1)
            norms = normal.norm(dim=-1, keepdim=True)
            # row 0 has no off-diagonal entries: its direction is 0, not 0 / 0
            first_row = ember.arange(self.dim, device=sq_norm.device).unsqueeze(-1) == 0
            direction = ember.where(first_row, 0.0, normal / ember.where(first_row, 1.0,
                                                                         norms))
            off_diag = ember.sqrt(sq_norm) * direction
            # each row has unit norm: the diagonal takes what the rest leaves
            rest = 1 - ember.square(off_diag).sum(-1)
            diagonal = ember.sqrt(ember.clamp(rest, min=ember.finfo(off_diag.dtype).tiny))
            return off_diag + ember.diag_embed(diagonal)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        d, eta = self.dim, self.concentration
        # density of L: prod_i L_ii^(d - i + 2 (eta - 1)), i = 2..d
        powers = (2 * (eta - 1)).unsqueeze(-1) + (
            d - ember.arange(2, d + 1, device=eta.device))
        log_diag = ember.log(ember.diagonal(value, dim1=-1, dim2=-2)[..., 1:])
        unnormalized = (powers * log_diag).sum(-1)
        alpha = eta + 0.5 * (d - 1)
        normalizer = (0.5 * (d - 1) * math.log(math.pi) + _mvlgamma(alpha - 0.5, d - 1)
                      - (d - 1) * ember.lgamma(alpha))
        return unnormalized - normalizer


def _trailing_dims(batch_shape):
    """The batch dims counted from the end (-1, -2, ...): PyTorch's ``_batch_dims``."""
    return list(range(-1, -len(batch_shape) - 1, -1))


class Wishart(_FromScaleTril, ExponentialFamily):
    """Wishart over ``p x p`` positive-definite matrices with ``df`` degrees of freedom
    and scale given as covariance, precision or Cholesky factor."""

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        name, matrix = _one_matrix(AssertionError, covariance_matrix, precision_matrix,
                                   scale_tril)
        if matrix.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        p = matrix.shape[-1]
        if isinstance(df, Number):
            batch_shape = ember.Size(matrix.shape[:-2])
            self.df = ember.tensor(df, dtype=matrix.dtype, device=matrix.device)
        else:
            batch_shape = ember.broadcast_shapes(matrix.shape[:-2], df.shape)
            self.df = df.expand(batch_shape)
        if bool((self.df <= p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = "
                             f"{p - 1}.")
        setattr(self, name, matrix.expand(batch_shape + (-1, -1)))
        if bool((self.df < p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to "
                          "occur for ndim - 1 < df < ndim.", stacklevel=2)
        super().__init__(batch_shape, matrix.shape[-2:], validate_args=validate_args)
        self._batch_dims = _trailing_dims(batch_shape)
        self._adopt_matrix(name, matrix)
        self._dist_chi2 = self._bartlett_chi2(batch_shape)

    def _bartlett_chi2(self, batch_shape):
        """The squared diagonal of the Bartlett factor: Chi2(df - i) for row i."""
        tril = self._unbroadcasted_scale_tril
        rows = ember.arange(self._event_shape[-1], dtype=tril.dtype, device=tril.device)
        return Chi2(df=self.df.unsqueeze(-1) - rows.expand(batch_shape + (-1,)))

    def expand(self, batch_shape, _instance=None):
        batch_shape = ember.Size(batch_shape)
        matrices = batch_shape + self.event_shape
        new = rebuilt(self, Wishart, _instance, batch_shape, df=self.df.expand(batch_shape),
                      _unbroadcasted_scale_tril=self._unbroadcasted_scale_tril.expand(matrices),
                      _batch_dims=_trailing_dims(batch_shape),
                      **self._expanded_matrices(matrices))
        new._dist_chi2 = new._bartlett_chi2(batch_shape)
        return new

    def _matrix_shape(self):
        return self._batch_shape + self._event_shape

    @lazy_property
    def precision_matrix(self):
        identity = ember.eye(self._event_shape[-1], device=self._unbroadcasted_scale_tril.device,
                             dtype=self._unbroadcasted_scale_tril.dtype)
        return ember.cholesky_solve(identity, self._unbroadcasted_scale_tril).expand(
            self._matrix_shape())

    def _per_matrix(self, x):
        """A batch-shaped ``x`` viewed so it scales each whole matrix."""
        return x.reshape(self._batch_shape + (1, 1))

    @property
    def mean(self):
        return self._per_matrix(self.df) * self.covariance_matrix

    @property
    def mode(self):
        # (df - p - 1) Sigma, which exists only for df > p + 1
        excess = self.df - (self._event_shape[-1] + 1)
        return self._per_matrix(ember.where(excess > 0, excess, math.nan)) * self.covariance_matrix

    @property
    def variance(self):
        # Var[X_ij] = df (Sigma_ij^2 + Sigma_ii Sigma_jj)
        cov = self.covariance_matrix
        d = ember.diagonal(cov, dim1=-2, dim2=-1)
        return self._per_matrix(self.df) * (ember.square(cov) + d.unsqueeze(-1) * d.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape=()):
        """``L A A^T L^T`` with ``A`` lower-triangular: sqrt(chi2) on the diagonal,
        standard normals below it."""
        p = self._event_shape[-1]
        diagonal = self._dist_chi2.rsample(sample_shape).sqrt()
        diagonal = diagonal.clamp(min=ember.finfo(diagonal.dtype).eps)
        below = ember.randn(ember.Size(sample_shape) + self._batch_shape + (p, p),
                            dtype=diagonal.dtype, device=diagonal.device).tril(-1)
        factor = self._unbroadcasted_scale_tril @ (ember.diag_embed(diagonal) + below)
        return factor @ factor.transpose(-2, -1)

    def rsample(self, sample_shape=(), max_try_correction=None):
        """Draws that are numerically singular (possible for df near p) are redrawn up
        to ``max_try_correction`` times (default 10), as PyTorch does, with one warning."""
        tries = 10 if max_try_correction is None else max_try_correction
        draw = self._bartlett_sampling(sample_shape)
        bad = ~self.support.check(draw)
        if bool(bad.any()):
            warnings.warn("Singular sample detected.", stacklevel=2)
        while tries > 0 and bool(bad.any()):
            draw = ember.where(bad[..., None, None], self._bartlett_sampling(sample_shape), draw)
            bad = ~self.support.check(draw)
            tries -= 1
        return draw

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu = self.df
        p = self._event_shape[-1]
        log_det_scale = _log_det_tril(self._unbroadcasted_scale_tril)
        trace_term = ember.cholesky_solve(value, self._unbroadcasted_scale_tril).diagonal(
            dim1=-2, dim2=-1).sum(dim=-1)
        return (-nu * (p * _LOG_2 / 2 + log_det_scale) - _mvlgamma(nu / 2, p)
                + (nu - p - 1) / 2 * ember.linalg.slogdet(value).logabsdet - trace_term / 2)

    def entropy(self):
        nu = self.df
        p = self._event_shape[-1]
        log_det_scale = _log_det_tril(self._unbroadcasted_scale_tril)
        return ((p + 1) * (p * _LOG_2 / 2 + log_det_scale) + _mvlgamma(nu / 2, p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2)

    @property
    def _natural_params(self):
        p = self._event_shape[-1]
        return -self.precision_matrix / 2, (self.df - p - 1) / 2

    def _log_normalizer(self, x, y):
        p = self._event_shape[-1]
        return ((y + (p + 1) / 2) * (-ember.linalg.slogdet(-2 * x).logabsdet + _LOG_2 * p)
                + _mvlgamma(y + (p + 1) / 2, p))
