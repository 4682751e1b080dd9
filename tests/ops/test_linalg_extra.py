"""The rest of torch.linalg and torch's legacy linear algebra against PyTorch: the _ex
variants' info and errors, geqrf/householder_product/ormqr, eig/eigvals (values and
gradients), torch.lu/lu_solve/lu_unpack/triangular_solve with their warnings, the old
norms, randomized low-rank SVD/PCA, and the removed functions' errors."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import oracle
from oracle import as_numpy, assert_same, check

import ember

RNG = np.random.default_rng(3)
SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember's tensors built in these tests land on the oracle's device (--device cuda)."""
    with oracle.on_device(ember):
        yield


def _t(x, grad=False):
    return torch.tensor(x, requires_grad=grad)


def _e(x, grad=False):
    return ember.tensor(x, requires_grad=grad)


def _batch_with_singular():
    return np.stack([np.eye(2) * 2, SINGULAR, SINGULAR])


@pytest.mark.parametrize("shape", [(4, 4), (3, 5, 5), (6, 4), (4, 6)])
def test_lu_factor_ex_matches_torch(shape):
    a = RNG.standard_normal(shape)
    e, t = ember.linalg.lu_factor_ex(_e(a)), torch.linalg.lu_factor_ex(_t(a))
    for e_part, t_part in zip(e, t):
        assert_same(e_part, t_part)


def test_lu_factor_ex_reports_zero_pivots_and_lu_factor_raises():
    a = _batch_with_singular()
    e, t = ember.linalg.lu_factor_ex(_e(a)), torch.linalg.lu_factor_ex(_t(a))
    assert_same(e.info, t.info)
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match=r"lu_factor: \(Batch element 1\): U\[2,2\] is zero"):
            lib.linalg.lu_factor(lib.tensor(a))
        with pytest.raises(RuntimeError, match=r"^torch.linalg.lu_factor: U\[2,2\] is zero"):
            lib.linalg.lu_factor(lib.tensor(SINGULAR))
        with pytest.raises(RuntimeError, match=r"lu_factor_ex: \(Batch element 1\)") as info:
            lib.linalg.lu_factor_ex(lib.tensor(a), check_errors=True)
        assert type(info.value) is RuntimeError


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("b_shape", [(3, 4, 2), (4,)])
def test_solve_ex_matches_torch(left, b_shape):
    if not left:
        b_shape = (3, 2, 4) if b_shape == (4,) else (3, 2, 4)[:len(b_shape)]
    check(lambda lib, a, b: lib.linalg.solve_ex(a, b, left=left),
          RNG.standard_normal((3, 4, 4)), RNG.standard_normal(b_shape))


def test_solve_ex_singular_info_and_errors():
    a, b = _batch_with_singular(), np.ones((3, 2, 1))
    e, t = ember.linalg.solve_ex(_e(a), _e(b)), torch.linalg.solve_ex(_t(a), _t(b))
    assert_same(e.info, t.info)
    assert_same(e.result[0], t.result[0])
    assert not ember.isfinite(e.result[1:]).any()
    for lib in (torch, ember):
        with pytest.raises(lib.linalg.LinAlgError,
                           match=r"solve_ex: \(Batch element 1\): The solver failed because"):
            lib.linalg.solve_ex(lib.tensor(a), lib.tensor(b), check_errors=True)


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 4), (6, 2)])
def test_geqrf_householder_product_and_orgqr_match_torch(shape):
    a = RNG.standard_normal(shape)
    e_a, e_tau = ember.geqrf(_e(a))
    t_a, t_tau = torch.geqrf(_t(a))
    assert_same(e_a, t_a)
    assert_same(e_tau, t_tau)
    check(lambda lib, h, tau: lib.linalg.householder_product(h, tau),
          t_a.numpy(), t_tau.numpy())
    check(lambda lib, h, tau: lib.orgqr(h, tau), t_a.numpy(), t_tau.numpy()[..., :1])


def test_geqrf_is_not_differentiable_like_torch():
    e = ember.geqrf(_e(RNG.standard_normal((3, 3)), grad=True))
    with pytest.raises(RuntimeError, match="the derivative for 'geqrf' is not implemented"):
        e.a.sum().backward()


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("transpose", [True, False])
def test_ormqr_matches_torch(left, transpose):
    t_h, t_tau = torch.geqrf(torch.tensor(RNG.standard_normal((5, 3))))
    other = RNG.standard_normal((5, 2) if left else (2, 5))
    check(lambda lib, h, tau, c: lib.ormqr(h, tau, c, left=left, transpose=transpose),
          t_h.numpy(), t_tau.numpy(), other)


def test_householder_product_errors_match_torch():
    cases = [(np.zeros((2, 3)), np.zeros(2)), (np.zeros((3, 2)), np.zeros(3)),
             (np.zeros((3, 2)), np.zeros((1, 2)))]
    for a, tau in cases:
        messages = []
        for lib in (torch, ember):
            with pytest.raises(RuntimeError) as info:
                lib.linalg.householder_product(lib.tensor(a), lib.tensor(tau))
            messages.append(str(info.value))
        assert messages[0] == messages[1]


def _unit_phase(vectors):
    """Eigenvectors with each column's largest entry made real and positive: LAPACK builds
    (OpenBLAS under NumPy, MKL under torch) may return a column times -1 or e^(i phi)."""
    vectors = np.asarray(vectors)
    rows = np.abs(vectors).argmax(axis=-2)
    pivots = np.take_along_axis(vectors, rows[..., None, :], axis=-2)
    return vectors * (np.abs(pivots) / pivots)


def _invariant_loss(values, vectors, weights):
    """A loss that neither the eigenvalues' order nor the eigenvectors' phases change."""
    return ((values.real + 0.3 * values.imag.abs() + values.abs() ** 2).sum()
            + (vectors.abs() * weights).sum())


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_eig_values_dtypes_and_gradients_match_torch(dtype):
    rng = np.random.default_rng(11)
    a = rng.standard_normal((2, 4, 4)).astype(dtype)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal((2, 4, 4))
    t_a, e_a = _t(a, grad=True), _e(a, grad=True)
    t_l, t_v = torch.linalg.eig(t_a)
    e_l, e_v = ember.linalg.eig(e_a)
    assert e_l.dtype == (ember.complex64 if dtype == np.float32 else ember.complex128)
    assert type(e_l.grad_fn).__name__ == type(t_l.grad_fn).__name__ == "LinalgEigBackward0"
    # the order of eigenvalues is LAPACK's (NumPy's eig runs float32 in double, torch's
    # sgeev in single): compare sorted values and A V = V diag(L)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(np.sort_complex(as_numpy(e_l).reshape(2, 4)),
                               np.sort_complex(t_l.detach().numpy()), atol=tol)
    np.testing.assert_allclose(a @ as_numpy(e_v), as_numpy(e_v) * as_numpy(e_l)[..., None, :],
                               atol=tol)
    if dtype != np.float32:
        order_e = np.argsort(as_numpy(e_l), axis=-1)
        order_t = np.argsort(t_l.detach().numpy(), axis=-1)
        np.testing.assert_allclose(
            np.take_along_axis(_unit_phase(as_numpy(e_v)), order_e[..., None, :], axis=-1),
            np.take_along_axis(_unit_phase(t_v.detach().numpy()), order_t[..., None, :],
                               axis=-1), atol=1e-10)
    weights = rng.uniform(0.5, 1.5, (4, 1))  # one weight per row: any column order
    (t_grad,) = torch.autograd.grad(_invariant_loss(t_l, t_v, torch.tensor(weights)), t_a)
    (e_grad,) = ember.autograd.grad(
        _invariant_loss(e_l, e_v, ember.tensor(weights, device=e_v.device)), e_a)
    # float32: the eigenvector gradient solves with V^H, which amplifies the last bits
    assert_same(e_grad, t_grad, **({"rtol": 1e-3, "atol": 1e-3} if dtype == np.float32
                                   else {}))
    np.testing.assert_allclose(np.sort_complex(as_numpy(ember.linalg.eigvals(_e(a)))),
                               np.sort_complex(torch.linalg.eigvals(_t(a)).numpy()), atol=tol)


def test_eig_rejects_phase_dependent_losses_like_torch():
    a = RNG.standard_normal((3, 3))
    g = np.ones((3, 3)) * (1 + 1j)
    for lib in (torch, ember):
        x = lib.tensor(a, requires_grad=True)
        _, v = lib.linalg.eig(x)
        with pytest.raises(RuntimeError, match="specified up to multiplication by e"):
            lib.autograd.grad(v, x, lib.tensor(g))


def test_legacy_lu_lu_solve_lu_unpack_warn_and_match_torch():
    a, b = RNG.standard_normal((2, 4, 4)), RNG.standard_normal((2, 4, 3))
    with pytest.warns(UserWarning, match="torch.lu is deprecated"):
        factor, pivots = ember.lu(_e(a))
    with pytest.warns(UserWarning, match="torch.lu_solve is deprecated"):
        ember.lu_solve(_e(b), factor, pivots)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_lu, t_piv, t_info = torch.lu(_t(a), get_infos=True)
        e_lu, e_piv, e_info = ember.lu(_e(a), get_infos=True)
        for e_part, t_part in ((e_lu, t_lu), (e_piv, t_piv), (e_info, t_info)):
            assert_same(e_part, t_part)
        check(lambda lib, b_, lu_, piv: lib.lu_solve(b_, lu_, piv), b, t_lu.numpy(),
              t_piv.numpy())
        assert_same(_e(b).lu_solve(e_lu, e_piv), _t(b).lu_solve(t_lu, t_piv))
    check(lambda lib, lu_, piv: tuple(lib.lu_unpack(lu_, piv)), t_lu.numpy(), t_piv.numpy())
    e_p, _, _ = ember.lu_unpack(e_lu, e_piv, unpack_data=False)
    t_p, _, _ = torch.lu_unpack(t_lu, t_piv, unpack_data=False)
    assert_same(e_p, t_p)


@pytest.mark.parametrize("upper,transpose,unitriangular",
                         [(True, False, False), (False, True, False), (True, True, True)])
def test_triangular_solve_matches_torch(upper, transpose, unitriangular):
    a = np.triu(RNG.standard_normal((3, 3))) + 3 * np.eye(3)
    a = a if upper else a.T
    b = RNG.standard_normal((3, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda lib, b_, a_: tuple(lib.triangular_solve(
            b_, a_, upper=upper, transpose=transpose, unitriangular=unitriangular)), b, a)
        assert ember.Tensor.triangular_solve is not None
    with pytest.warns(UserWarning, match="torch.triangular_solve is deprecated"):
        _e(b).triangular_solve(_e(a), upper=upper)


def test_old_norms_match_torch():
    a = RNG.standard_normal((2, 3, 4))
    check(lambda lib, x: lib.nuclear_norm(x[0]), a)
    check(lambda lib, x: lib.nuclear_norm(x, (1, 2), True), a)
    with pytest.warns(UserWarning, match="at::frobenius_norm is deprecated"):
        check(lambda lib, x: lib.frobenius_norm(x, (0, 2)), a)


def test_svd_and_pca_lowrank_are_exact_for_low_rank_matrices():
    torch.manual_seed(0)
    ember.manual_seed(0)
    a = RNG.standard_normal((20, 3)) @ RNG.standard_normal((3, 12))
    for wide in (False, True):
        x = a.T if wide else a
        e_u, e_s, e_v = ember.svd_lowrank(_e(x), q=5)
        _, t_s, _ = torch.svd_lowrank(_t(x), q=5)
        assert_same(e_s[:3], t_s[:3])
        np.testing.assert_allclose(as_numpy(e_u @ ember.diag(e_s) @ e_v.mT), x, atol=1e-10)
    e_u, e_s, e_v = ember.pca_lowrank(_e(a), q=4)
    _, t_s, _ = torch.pca_lowrank(_t(a), q=4)
    assert_same(e_s[:3], t_s[:3])
    for lib in (torch, ember):
        with pytest.raises(ValueError, match=r"q\(=13\) must be non-negative integer"):
            lib.pca_lowrank(lib.tensor(a), q=13)


@pytest.mark.parametrize("name,args", [("solve", 2), ("lstsq", 2), ("eig", 1), ("symeig", 1),
                                       ("matrix_rank", 1)])
def test_removed_functions_raise_torchs_error(name, args):
    messages = []
    for lib in (torch, ember):
        operands = [lib.eye(3)] * args
        with pytest.raises(RuntimeError) as info:
            getattr(lib, name)(*operands)
        messages.append(str(info.value))
        if name != "matrix_rank":
            with pytest.raises(RuntimeError):
                getattr(operands[0], name)(*operands[1:])
    assert messages[0] == messages[1]
