"""MultivariateNormal / LowRankMultivariateNormal (and the Wishart that shares their
Cholesky-factor base) against torch where the shared pieces matter: expand after other
covariance forms were computed, batch broadcasting of the low-rank parameters and its
errors, and Wishart's mode where it does not exist."""

import numpy as np
import oracle
import pytest
from oracle import check, check_raises, rand, randn

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    with oracle.on_device(ember):
        yield


def _spd(n, batch=()):
    a = randn(*batch, n, n, dtype=np.float64)
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


@pytest.mark.parametrize("form", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_mvn_expand_carries_computed_forms(form):
    def fn(lib, loc, m):
        given = lib.linalg.cholesky(m) if form == "scale_tril" else m
        d = lib.distributions.MultivariateNormal(loc, **{form: given})
        d.precision_matrix, d.covariance_matrix  # noqa: B018 - cached before expand
        e = d.expand((4, 2))
        return (e.batch_shape, e.precision_matrix, e.covariance_matrix, e.scale_tril,
                e.log_prob(lib.ones(4, 2, 3, dtype=lib.float64)), e.entropy(), e.variance)
    check(fn, randn(2, 3, dtype=np.float64), _spd(3))


def test_lowrank_batch_broadcast_and_expand():
    def fn(lib, loc, w, d):
        dist = lib.distributions.LowRankMultivariateNormal(loc, w, d)
        e = dist.expand((3, 2))
        return (dist.batch_shape, dist.cov_factor, dist.cov_diag, dist.loc,
                e.cov_factor, e.log_prob(lib.zeros(3, 2, 4, dtype=lib.float64)),
                e.precision_matrix, e.scale_tril, e.entropy())
    check(fn, randn(2, 4, dtype=np.float64), randn(4, 2, dtype=np.float64),
          rand(1, 4, low=0.5, high=2.0, dtype=np.float64))


@pytest.mark.parametrize("shapes", [
    ((2, 4), (3, 4, 2), (4,)),      # incompatible batches
    ((4,), (4, 2), ()),             # 0-d cov_diag
    ((4,), (3, 2), (4,)),           # factor rows != event size
    ((4,), (4,), (4,)),             # 1-d factor
])
def test_lowrank_shape_errors(shapes):
    arrays = [np.ones(s) for s in shapes]
    check_raises(lambda lib, a, b, c: lib.distributions.LowRankMultivariateNormal(a, b, c),
                 *arrays)


@pytest.mark.parametrize("df", [[3.5, 6.0], [4.0, 4.5]])
def test_wishart_mode_mean_variance_and_expand(df):
    def fn(lib, df, m):
        w = lib.distributions.Wishart(df, covariance_matrix=m)
        e = w.expand((3, 2))
        return w.mode, w.mean, w.variance, e.df, e.log_prob(e.mean), e._batch_dims
    check(fn, np.array(df), _spd(3, (2,)), grad=False)


def test_lkj_expand_log_prob():
    def fn(lib, eta):
        d = lib.distributions.LKJCholesky(3, eta).expand((2, 2))
        value = lib.linalg.cholesky(lib.tensor([[1.0, 0.3, 0.1], [0.3, 1.0, -0.2],
                                                [0.1, -0.2, 1.0]], dtype=lib.float64))
        return d.batch_shape, d.log_prob(value)
    check(fn, np.array([0.7, 2.0]))
