"""CPU autocast beyond matmul and losses: the LAPACK-backed linalg functions and FFTs that
torch runs in float32, the products that stay in their input dtype (dot, mv) or drop to
bfloat16 (linalg.vecdot, addbmm), and the ones that refuse bfloat16 as outside autocast.
Real PyTorch is the oracle for dtype, values and error types."""

import warnings

import numpy as np
import pytest
import torch

import ember
from oracle import as_numpy

_RNG = np.random.default_rng(0)
_A = _RNG.standard_normal((3, 3))
_SPD = _A @ _A.T + 3 * np.eye(3)  # positive-definite, well conditioned in bfloat16


def _lu_solve_old(L, a):
    factor, pivots = L.linalg.lu_factor(a.float())
    return L.lu_solve(a[:, :1], factor, pivots)


# name -> fn(lib, a) with ``a`` a 3x3 positive-definite matrix; the output compared is
# one tensor (singular values / eigenvalues where vectors have sign freedom).
ROWS = {
    "linalg.inv": lambda L, a: L.linalg.inv(a),
    "linalg.inv_ex": lambda L, a: L.linalg.inv_ex(a)[0],
    "inverse": lambda L, a: L.inverse(a),
    "Tensor.inverse": lambda L, a: a.inverse(),
    "linalg.cholesky": lambda L, a: L.linalg.cholesky(a),
    "linalg.cholesky_ex": lambda L, a: L.linalg.cholesky_ex(a)[0],
    "Tensor.cholesky": lambda L, a: a.cholesky(),
    "linalg.svd": lambda L, a: L.linalg.svd(a)[1],
    "svd": lambda L, a: L.svd(a)[1],
    "linalg.svdvals": lambda L, a: L.linalg.svdvals(a),
    "linalg.qr": lambda L, a: L.linalg.qr(a)[1].abs(),
    "Tensor.qr": lambda L, a: a.qr()[1].abs(),
    "linalg.solve": lambda L, a: L.linalg.solve(a, a[:, :1]),
    "linalg.eigh": lambda L, a: L.linalg.eigh(a)[0],
    "linalg.eigvalsh": lambda L, a: L.linalg.eigvalsh(a),
    "linalg.eigvals": lambda L, a: L.linalg.eigvals(a).real.sort().values,
    "pinverse": lambda L, a: L.pinverse(a),
    "Tensor.pinverse": lambda L, a: a.pinverse(),
    "cholesky_solve": lambda L, a: L.cholesky_solve(a[:, :1], L.linalg.cholesky(a)),
    "Tensor.cholesky_solve": lambda L, a: a[:, :1].cholesky_solve(L.linalg.cholesky(a)),
    "cholesky_inverse": lambda L, a: L.cholesky_inverse(a.tril()),
    "linalg.lstsq": lambda L, a: L.linalg.lstsq(a, a[:, :1])[0],
    "linalg.cond": lambda L, a: L.linalg.cond(a),
    "linalg.matrix_rank": lambda L, a: L.linalg.matrix_rank(a),
    "linalg.tensorinv": lambda L, a: L.linalg.tensorinv(a, ind=1),
    "linalg.tensorsolve": lambda L, a: L.linalg.tensorsolve(a, a[:, 0]),
    "linalg.householder_product": lambda L, a: L.linalg.householder_product(a, a[:, 0] / 9),
    "orgqr": lambda L, a: L.orgqr(a, a[:, 0] / 9),
    "ormqr": lambda L, a: L.ormqr(a, a[:, 0] / 9, a),
    "geqrf": lambda L, a: L.geqrf(a)[0].abs(),
    "lu": lambda L, a: L.lu(a)[0],
    "lu_solve (old)": _lu_solve_old,
    "triangular_solve": lambda L, a: L.triangular_solve(a[:, :1], a.triu())[0],
    "fft.fft": lambda L, a: L.fft.fft(a),
    "fft.ifft": lambda L, a: L.fft.ifft(a),
    "fft.fft2": lambda L, a: L.fft.fft2(a),
    "fft.ifft2": lambda L, a: L.fft.ifft2(a),
    "fft.fftn": lambda L, a: L.fft.fftn(a),
    "fft.ifftn": lambda L, a: L.fft.ifftn(a),
    "fft.rfft": lambda L, a: L.fft.rfft(a),
    "fft.irfft": lambda L, a: L.fft.irfft(a),
    "fft.rfft2": lambda L, a: L.fft.rfft2(a),
    "fft.irfft2": lambda L, a: L.fft.irfft2(a),
    "fft.rfftn": lambda L, a: L.fft.rfftn(a),
    "fft.irfftn": lambda L, a: L.fft.irfftn(a),
    "fft.hfft": lambda L, a: L.fft.hfft(a),
    "fft.ihfft": lambda L, a: L.fft.ihfft(a),
    "polar": lambda L, a: L.polar(a.abs(), a),
    "view_as_complex": lambda L, a: L.view_as_complex(a[:, :2].contiguous()),
    # the cpu promote list: the widest eligible input dtype
    "index_copy": lambda L, a: a.index_copy(0, L.tensor([0]), L.ones(1, 3)),
    "index_copy of bfloat16": lambda L, a: a.index_copy(
        0, L.tensor([0]), L.ones(1, 3, dtype=L.bfloat16)),
    # products: dot/vdot/mv keep their dtype, vecdot/addbmm/matmul/tensordot go low
    "dot": lambda L, a: L.dot(a[0], a[1]),
    "vdot": lambda L, a: L.vdot(a[0], a[1]),
    "mv": lambda L, a: L.mv(a, a[0]),
    "linalg.vecdot": lambda L, a: L.linalg.vecdot(a, a),
    "addbmm": lambda L, a: L.addbmm(a, a[None], a[None]),
    "matmul 1-D": lambda L, a: a[0] @ a[1],
    "tensordot": lambda L, a: L.tensordot(a, a, 1),
}
# Not on torch's CPU lists: they refuse bfloat16 under autocast as outside it.
REFUSED = {
    "linalg.pinv": lambda L, a: L.linalg.pinv(a),
    "linalg.det": lambda L, a: L.linalg.det(a),
    "linalg.slogdet": lambda L, a: L.linalg.slogdet(a),
    "linalg.solve_triangular": lambda L, a: L.linalg.solve_triangular(a, a, upper=True),
    "linalg.lu_factor": lambda L, a: L.linalg.lu_factor(a),
    "linalg.solve_ex": lambda L, a: L.linalg.solve_ex(a, a),
    "fft.hfft2": lambda L, a: L.fft.hfft2(a),
    "fft.ihfftn": lambda L, a: L.fft.ihfftn(a),
}


def _run(lib, fn, dtype):
    a = lib.tensor(_SPD, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.lu/svd/qr/... deprecation notices
        with lib.autocast("cpu", dtype=lib.bfloat16):
            return fn(lib, a)


@pytest.mark.parametrize("input_dtype", ["bfloat16", "float32"])
@pytest.mark.parametrize("name", list(ROWS))
def test_autocast_cpu_dtype_and_value_like_torch(name, input_dtype):
    t_out = _run(torch, ROWS[name], getattr(torch, input_dtype))
    e_out = _run(ember, ROWS[name], getattr(ember, input_dtype))
    assert str(e_out.dtype) == str(t_out.dtype)
    expected = t_out.to(torch.complex128 if t_out.is_complex() else torch.float64).numpy()
    got = as_numpy(e_out.to(ember.complex128 if e_out.is_complex() else ember.float64))
    # bfloat16 results round differently after a different summation order: 2 ulps
    tol = 2e-2 if t_out.dtype == torch.bfloat16 else 1e-4
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * np.abs(expected).max())


@pytest.mark.parametrize("name", list(REFUSED))
def test_autocast_cpu_refuses_like_torch(name):
    with pytest.raises(Exception) as t_err:
        _run(torch, REFUSED[name], torch.bfloat16)
    with pytest.raises(type(t_err.value)):
        _run(ember, REFUSED[name], ember.bfloat16)


def test_float32_ops_are_differentiable_back_to_bfloat16():
    """The cast to float32 is recorded: the gradient reaches the bfloat16 leaf in its dtype
    and matches torch's."""
    grads = []
    for lib in (torch, ember):
        a = lib.tensor(_SPD, dtype=lib.bfloat16, requires_grad=True)
        with lib.autocast("cpu", dtype=lib.bfloat16):
            out = lib.linalg.inv(a).sum() + lib.fft.rfft(a).abs().sum()
        out.backward()
        assert str(a.grad.dtype).endswith("bfloat16")
        grads.append(a.grad.float())
    np.testing.assert_allclose(as_numpy(grads[1]), grads[0].numpy(), rtol=2e-2, atol=2e-2)


def test_outside_autocast_bfloat16_still_refused():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="Low precision dtypes not supported"):
            lib.linalg.inv(lib.tensor(_SPD, dtype=lib.bfloat16))
