"""linalg.ldl_factor / ldl_factor_ex / ldl_solve against torch: LAPACK's compact LD, its
1-based pivots and info, on SciPy's LAPACK path and on the NumPy Bunch-Kaufman fallback."""

import numpy as np
import pytest
import torch
from oracle import assert_same, check_raises

import ember
from ember import _linalg_ldl

RNG = np.random.default_rng(7)
_TOL = {np.float32: (1e-4, 1e-5), np.float64: (1e-9, 1e-10),
        np.complex64: (1e-4, 1e-5), np.complex128: (1e-9, 1e-10)}


@pytest.fixture(params=["scipy", "numpy"])
def backend(request):
    """Run each case through SciPy's sytrf/hetrf and through the NumPy algorithm."""
    saved = _linalg_ldl._USE_SCIPY[0]
    _linalg_ldl._USE_SCIPY[0] = request.param == "scipy"
    yield request.param
    _linalg_ldl._USE_SCIPY[0] = saved


def _symmetric(shape, dtype, hermitian):
    a = RNG.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * RNG.standard_normal(shape)
    other = np.swapaxes(a, -1, -2)
    a = a + (other.conj() if hermitian else other)
    return a.astype(dtype)


def _swap_pivots(n, dtype):
    """A zero diagonal: Bunch-Kaufman must take 2x2 pivots (negative pivot pairs)."""
    a = RNG.standard_normal((n, n))
    a = a + a.T
    np.fill_diagonal(a, 0.0)
    return a.astype(dtype)


def _compare_factor(a, hermitian, dtype):
    t = torch.linalg.ldl_factor_ex(torch.from_numpy(a), hermitian=hermitian)
    e = ember.linalg.ldl_factor_ex(ember.from_numpy(a.copy()), hermitian=hermitian)
    rtol, atol = _TOL[dtype]
    assert_same(e.LD, t.LD, rtol=rtol, atol=atol, what="LD")
    assert_same(e.pivots, t.pivots, what="pivots")
    assert_same(e.info, t.info, what="info")
    return e, t


CASES = [
    (np.float64, False, (5, 5)), (np.float64, True, (2, 4, 4)), (np.float32, False, (3, 3)),
    (np.complex128, False, (4, 4)), (np.complex128, True, (2, 5, 5)),
    (np.complex64, True, (3, 3)), (np.float64, False, (1, 1)), (np.float64, False, (2, 0, 0)),
]


@pytest.mark.parametrize("dtype,hermitian,shape", CASES)
def test_factor_and_solve_match_torch(backend, dtype, hermitian, shape):
    a = _symmetric(shape, dtype, hermitian)
    e, t = _compare_factor(a, hermitian, dtype)
    b = RNG.standard_normal(shape[:-1] + (2,)).astype(dtype)
    expected = torch.linalg.ldl_solve(t.LD, t.pivots, torch.from_numpy(b), hermitian=hermitian)
    got = ember.linalg.ldl_solve(e.LD, e.pivots, ember.from_numpy(b), hermitian=hermitian)
    rtol, atol = _TOL[dtype]
    assert_same(got, expected, rtol=rtol * 10, atol=atol * 10)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_two_by_two_pivots(backend, dtype):
    a = _swap_pivots(6, dtype)
    e, _ = _compare_factor(a, False, dtype)
    assert (e.pivots.numpy() < 0).any()
    b = RNG.standard_normal((6, 3)).astype(dtype)
    x = ember.linalg.ldl_solve(e.LD, e.pivots, ember.from_numpy(b))
    np.testing.assert_allclose(a @ x.numpy(), b, atol=1e-10)


def test_singular_info_and_errors(backend):
    a = np.zeros((2, 3, 3))
    a[0] = _symmetric((3, 3), np.float64, False)
    a[1, 1:, 1:] = [[2.0, 1.0], [1.0, 3.0]]  # first column zero: D[0, 0] = 0, info 1
    _compare_factor(a, False, np.float64)
    for name in ("ldl_factor", "ldl_factor_ex"):
        kwargs = {"check_errors": True} if name == "ldl_factor_ex" else {}
        error, _ = check_raises(
            lambda lib, x, name=name, kwargs=kwargs: getattr(lib.linalg, name)(x, **kwargs), a)
        assert str(error).endswith(f"torch.linalg.{name}: Unknown error code: 1.")


def test_large_blocked_size(backend):
    """Past LAPACK's block size (sytrf then runs its blocked variant)."""
    a = _symmetric((70, 70), np.float64, False)
    _compare_factor(a, False, np.float64)


@pytest.mark.parametrize("a_shape,b_shape", [((2, 4, 4), (4, 2)), ((4, 4), (3, 4, 2))])
def test_solve_broadcasts_batches(a_shape, b_shape):
    """One side batched (torch 2.13 crashes when both batches need broadcasting; ember
    broadcasts those too, checked against the solution's residual)."""
    a = _symmetric(a_shape, np.float64, False)
    b = RNG.standard_normal(b_shape)
    t = torch.linalg.ldl_factor(torch.from_numpy(a))
    e = ember.linalg.ldl_factor(ember.from_numpy(a))
    expected = torch.linalg.ldl_solve(*t, torch.from_numpy(b))
    assert_same(ember.linalg.ldl_solve(*e, ember.from_numpy(b)), expected, rtol=1e-9, atol=1e-9)


def test_solve_broadcasts_both_batches():
    a = _symmetric((2, 1, 4, 4), np.float64, False)
    b = RNG.standard_normal((3, 4, 2))
    x = ember.linalg.ldl_solve(*ember.linalg.ldl_factor(ember.from_numpy(a)), ember.from_numpy(b))
    assert tuple(x.shape) == (2, 3, 4, 2)
    np.testing.assert_allclose(a @ x.numpy(), np.broadcast_to(b, (2, 3, 4, 2)), atol=1e-9)


def test_out_and_return_types():
    a = _symmetric((3, 3), np.float64, False)
    t_out = (torch.empty(0, dtype=torch.float64), torch.empty(0, dtype=torch.int32))
    e_out = (ember.empty(0, dtype=ember.float64), ember.empty(0, dtype=ember.int32))
    torch.linalg.ldl_factor(torch.from_numpy(a), out=t_out)
    ember.linalg.ldl_factor(ember.from_numpy(a), out=e_out)
    assert_same(list(e_out), list(t_out), rtol=1e-9, atol=1e-10)
    bad = (ember.empty(0, dtype=ember.float64), ember.empty(0, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="Expected out tensor to have dtype int, but got long"):
        ember.linalg.ldl_factor(ember.from_numpy(a), out=bad)
    result = ember.linalg.ldl_factor_ex(ember.from_numpy(a))
    assert type(result).__name__ == "linalg_ldl_factor_ex"
    assert result.LD.dtype == ember.float64 and result.pivots.dtype == ember.int32
    b = RNG.standard_normal((3, 1))
    x_out = ember.empty(0, dtype=ember.float64)
    x = ember.linalg.ldl_solve(result.LD, result.pivots, ember.from_numpy(b), out=x_out)
    assert x is x_out and tuple(x.shape) == (3, 1)


_LD = np.tril(_symmetric((3, 3), np.float64, False))
_PIV = np.array([1, 2, 3], np.int32)
ERRORS = [
    (lambda lib, a: lib.linalg.ldl_factor(a), RNG.standard_normal((3, 4))),
    (lambda lib, a: lib.linalg.ldl_factor(a), RNG.standard_normal(3)),
    (lambda lib, a: lib.linalg.ldl_factor(a.long()), RNG.standard_normal((3, 3))),
    (lambda lib, a: lib.linalg.ldl_factor(a.half()), RNG.standard_normal((3, 3))),
    (lambda lib, a: lib.linalg.ldl_factor(a.bfloat16()), RNG.standard_normal((3, 3))),
    (lambda lib, a: lib.linalg.ldl_solve(a, lib.ones(3, dtype=lib.int32), a[:, :1].float()),
     _LD),
    (lambda lib, a: lib.linalg.ldl_solve(a, lib.ones(3), a[:, :1]), _LD),
    (lambda lib, a: lib.linalg.ldl_solve(a, lib.ones(2, dtype=lib.int32), a[:, :1]), _LD),
    (lambda lib, a: lib.linalg.ldl_solve(a, lib.ones(3, dtype=lib.int32), a[0]), _LD),
    (lambda lib, a: lib.linalg.ldl_solve(a, lib.ones(3, dtype=lib.int32), lib.ones(4, 2,
                                         dtype=a.dtype)), _LD),
    (lambda lib, a: lib.linalg.ldl_solve(a, lib.tensor([1, 5, 3], dtype=lib.int32),
                                         a[:, :1]), _LD),
    (lambda lib, a: lib.linalg.ldl_solve(a.expand(2, 3, 3), lib.ones(2, 3, dtype=lib.int32),
                                         lib.ones(4, 3, 1, dtype=a.dtype)), _LD),
    (lambda lib, a: lib.linalg.ldl_solve(a[:, :2], lib.ones(3, dtype=lib.int32), a), _LD),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    fn, value = ERRORS[case]
    error, expected = check_raises(fn, value)
    if "INTERNAL ASSERT" not in str(expected):
        assert str(error) == str(expected)


def test_no_derivative():
    a = _symmetric((3, 3), np.float64, False)
    for lib in (torch, ember):
        leaf = lib.tensor(a, requires_grad=True)
        ld, pivots = lib.linalg.ldl_factor(leaf)
        assert ld.requires_grad and not pivots.requires_grad
        with pytest.raises(RuntimeError,
                           match="derivative for aten::linalg_ldl_factor_ex is not implemented"):
            ld.sum().backward()
        rhs = lib.ones(3, 1, dtype=lib.float64, requires_grad=True)
        with pytest.raises(RuntimeError,
                           match="derivative for aten::linalg_ldl_solve is not implemented"):
            lib.linalg.ldl_solve(ld.detach(), pivots, rhs).sum().backward()
