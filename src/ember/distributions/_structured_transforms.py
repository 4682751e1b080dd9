"""Transforms between structured spaces: simplex (softmax, stick-breaking), Cholesky
factors (lower-Cholesky, positive-definite, correlation Cholesky), slices (cat, stack)
and a distribution's CDF. Re-exported by ``ember.distributions.transforms``."""

from __future__ import annotations

import math
from itertools import accumulate

import ember
import ember.nn.functional as F

from . import constraints
from .transforms import Transform, _clipped_sigmoid, _FixedMap, _needs_rank
from .utils import _sum_rightmost, lazy_property, tril_matrix_to_vec, vec_to_tril_matrix

__all__ = [
    "CatTransform", "CorrCholeskyTransform", "CumulativeDistributionTransform",
    "LowerCholeskyTransform", "PositiveDefiniteTransform", "SoftmaxTransform",
    "StackTransform", "StickBreakingTransform",
]

_square_matrices = constraints.independent(constraints.real, 2)


def _pad_last(x, before: int, after: int, value: float):
    """Pad the last dim with ``value`` (ember has no ``F.pad`` for this yet)."""
    def fill(n):
        return ember.full(x.shape[:-1] + (n,), value, dtype=x.dtype, device=x.device)
    return ember.cat([fill(before)] * bool(before) + [x] + [fill(after)] * bool(after), -1)


def _last_dim_plus(shape, delta: int):
    """``shape`` with its last size grown by ``delta`` (a vector gaining or losing the
    simplex's dependent coordinate)."""
    _needs_rank(len(shape), 1)
    return shape[:-1] + (shape[-1] + delta,)


class SoftmaxTransform(_FixedMap, domain=constraints.real_vector, codomain=constraints.simplex):
    """Real vectors to the simplex by ``exp`` and normalising (not bijective: adding a
    constant to ``x`` gives the same ``y``, so the inverse picks ``log y``)."""

    def _call(self, x):
        return F.softmax(x, dim=-1)

    def _inverse(self, y):
        return ember.log(y)

    def forward_shape(self, shape):
        return _last_dim_plus(shape, 0)

    inverse_shape = forward_shape


def _stick_offset(x):
    """``log(K), ..., log(1)`` for the K coordinates of ``x``: subtracting it centres
    the map, so ``x = 0`` lands on the simplex's centre."""
    k = x.shape[-1]
    return ember.arange(k, 0, -1, dtype=x.dtype, device=x.device).log()


class StickBreakingTransform(_FixedMap, domain=constraints.real_vector,
                             codomain=constraints.simplex, bijective=True):
    """``R^(K-1)`` to the K-simplex: each coordinate takes a sigmoid fraction of the
    stick that is left. Bijective, with a triangular Jacobian."""

    def _call(self, x):
        fraction = _clipped_sigmoid(x - _stick_offset(x))
        left_after = ember.cumprod(1 - fraction, -1)
        # piece i = fraction i of what pieces 0..i-1 left; the last piece is the rest
        return _pad_last(fraction, 0, 1, 1.0) * _pad_last(left_after, 1, 0, 1.0)

    def _inverse(self, y):
        pieces = y[..., :-1]
        left = ember.clamp(1 - ember.cumsum(pieces, -1), min=ember.finfo(y.dtype).tiny)
        return ember.log(pieces) - ember.log(left) + _stick_offset(pieces)

    def log_abs_det_jacobian(self, x, y):
        centred = x - _stick_offset(x)
        return (F.logsigmoid(centred) - centred + ember.log(y[..., :-1])).sum(-1)

    def forward_shape(self, shape):
        return _last_dim_plus(shape, +1)

    def inverse_shape(self, shape):
        return _last_dim_plus(shape, -1)


def _with_diagonal(m, fn):
    """``m``'s strict lower triangle with ``fn`` of its diagonal on the diagonal."""
    return ember.tril(m, -1) + ember.diag_embed(fn(ember.diagonal(m, 0, -2, -1)))


class LowerCholeskyTransform(_FixedMap, domain=_square_matrices,
                             codomain=constraints.lower_cholesky):
    """Square matrices to lower-triangular ones with a positive (exponentiated)
    diagonal; the strict upper triangle is dropped."""

    def _call(self, x):
        return _with_diagonal(x, ember.exp)

    def _inverse(self, y):
        return _with_diagonal(y, ember.log)


class PositiveDefiniteTransform(_FixedMap, domain=_square_matrices,
                                codomain=constraints.positive_definite):
    """Square matrices to positive-definite ones: ``L L^T`` of the lower-Cholesky map."""

    def _call(self, x):
        factor = _with_diagonal(x, ember.exp)
        return factor @ factor.mT

    def _inverse(self, y):
        return _with_diagonal(ember.linalg.cholesky(y), ember.log)


class CorrCholeskyTransform(_FixedMap, domain=constraints.real_vector,
                            codomain=constraints.corr_cholesky, bijective=True):
    """``R^(D(D-1)/2)`` to Cholesky factors of correlation matrices: ``tanh`` gives
    partial correlations in (-1, 1), and each row is stick-broken so it has unit norm
    (the onion construction LKJ priors use)."""

    def _call(self, x):
        eps = ember.finfo(x.dtype).eps
        partial = vec_to_tril_matrix(ember.clamp(ember.tanh(x), -1 + eps, 1 - eps), diag=-1)
        row_norm_left = ember.cumprod(ember.sqrt(1 - partial * partial), -1)
        unit_diag = partial + ember.eye(partial.shape[-1], dtype=x.dtype, device=x.device)
        return unit_diag * _pad_last(row_norm_left[..., :-1], 1, 0, 1.0)

    def _inverse(self, y):
        left = 1 - ember.cumsum(y * y, dim=-1)
        left_before = _pad_last(left[..., :-1], 1, 0, 1.0)
        t = tril_matrix_to_vec(y, diag=-1) / tril_matrix_to_vec(left_before, diag=-1).sqrt()
        return ember.atanh(t)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        left = 1 - ember.cumsum(y * y, dim=-1)
        # stick-breaking part: half the log of what each row had left; tanh part:
        # log(1 - tanh(x)^2) in its softplus form
        from_rows = 0.5 * ember.log(tril_matrix_to_vec(left, diag=-2)).sum(-1)
        from_tanh = 2 * (math.log(2.0) - x - F.softplus(-2 * x)).sum(dim=-1)
        return from_rows + from_tanh

    def forward_shape(self, shape):
        _needs_rank(len(shape), 1)
        size = shape[-1]
        dim = round((0.25 + 2 * size) ** 0.5 + 0.5)
        if dim * (dim - 1) // 2 != size:
            raise ValueError(f"Input is not a flattened lower-diagonal number: {size}")
        return shape[:-1] + (dim, dim)

    def inverse_shape(self, shape):
        _needs_rank(len(shape), 2)
        if shape[-2] != shape[-1]:
            raise ValueError("Input is not square")
        return shape[:-2] + (shape[-1] * (shape[-1] - 1) // 2,)


class _Piecewise(Transform):
    """One transform per slice of ``dim`` (Cat and Stack differ only in how they cut the
    input and join the results, given by ``_pieces`` and ``_join``)."""

    def __init__(self, tseq, cache_size: int) -> None:
        super().__init__(cache_size=cache_size)
        self.transforms = [t.with_cache(cache_size) for t in tseq] if cache_size else list(
            tseq)

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    def _each(self, method, value):
        return self._join([method(t)(piece) for t, piece in
                           zip(self.transforms, self._pieces(value))])

    def _call(self, x):
        return self._each(lambda t: t, x)

    def _inverse(self, y):
        return self._each(lambda t: t.inv, y)

    def _joint(self, constraint_of):
        raise NotImplementedError

    @constraints.dependent_property
    def domain(self):
        return self._joint([t.domain for t in self.transforms])

    @constraints.dependent_property
    def codomain(self):
        return self._joint([t.codomain for t in self.transforms])


class CatTransform(_Piecewise):
    """``tseq[i]`` applied to the i-th slice of ``lengths[i]`` along ``dim``."""

    _ctor_args = ("transforms", "dim", "lengths")

    def __init__(self, tseq, dim: int = 0, lengths=None, cache_size: int = 0) -> None:
        super().__init__(tseq, cache_size)
        self.lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        self.dim = dim

    @lazy_property
    def event_dim(self):
        return max(t.event_dim for t in self.transforms)

    @lazy_property
    def length(self):
        return sum(self.lengths)

    def _pieces(self, value):
        starts = accumulate(self.lengths[:-1], initial=0)
        return [value.narrow(self.dim, s, n) for s, n in zip(starts, self.lengths)]

    def _join(self, pieces):
        return ember.cat(pieces, dim=self.dim)

    def _joint(self, parts):
        return constraints.cat(parts, self.dim, self.lengths)

    def log_abs_det_jacobian(self, x, y):
        terms = [_sum_rightmost(t.log_abs_det_jacobian(xp, yp), self.event_dim - t.event_dim)
                 for t, xp, yp in zip(self.transforms, self._pieces(x), self._pieces(y))]
        # where ``dim`` falls among the summed event dims the pieces add up; otherwise
        # they stay side by side along it
        axis = (self.dim if self.dim < 0 else self.dim - x.dim()) + self.event_dim
        return ember.cat(terms, dim=axis) if axis < 0 else sum(terms)


class StackTransform(_Piecewise):
    """``tseq[i]`` applied to the i-th slice along ``dim`` (as ``stack`` joins them)."""

    _ctor_args = ("transforms", "dim")

    def __init__(self, tseq, dim: int = 0, cache_size: int = 0) -> None:
        super().__init__(tseq, cache_size)
        self.dim = dim

    def _pieces(self, value):
        return value.unbind(self.dim)

    def _join(self, pieces):
        return ember.stack(pieces, dim=self.dim)

    def _joint(self, parts):
        return constraints.stack(parts, self.dim)

    def log_abs_det_jacobian(self, x, y):
        return self._join([t.log_abs_det_jacobian(xp, yp) for t, xp, yp in
                           zip(self.transforms, self._pieces(x), self._pieces(y))])


class CumulativeDistributionTransform(Transform):
    """A univariate distribution's CDF: its support to the unit interval; the
    log-Jacobian is the log-density, since the CDF's derivative is the density."""

    bijective = True
    codomain = constraints.unit_interval
    sign = +1
    _ctor_args = ("distribution",)

    def __init__(self, distribution, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    @property
    def domain(self):
        return self.distribution.support

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)
