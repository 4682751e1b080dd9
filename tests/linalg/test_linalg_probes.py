"""Differences the torch-vs-ember probes found in linalg (and a few complex/random ops),
one row each: the same call on both libraries gives the same values, dtype and shape, or
the same exception type and message."""

import functools

import numpy as np
import pytest
import torch
from oracle import assert_same

import ember

RNG = np.random.default_rng(3)
M34 = RNG.standard_normal((3, 4)).astype(np.float32)
M33 = RNG.standard_normal((3, 3)).astype(np.float32)
M53 = RNG.standard_normal((5, 3)).astype(np.float32)
M52 = RNG.standard_normal((5, 2)).astype(np.float32)
_UPPER_PD = np.array([[4.0, 1, 2], [9, 5, 1], [9, 9, 6]], np.float32)  # PD read from above
C34 = (RNG.standard_normal((3, 4)) + 1j * RNG.standard_normal((3, 4))).astype(np.complex64)


def _t(lib, array):
    return lib.tensor(array)


def _on_integers(fn, lib):
    return fn(lib, lib.ones(3, 3, dtype=lib.int64))


def _product_out(name, lib):
    vector, matrix, batch = lib.ones(3), lib.ones(3, 3) * 2 + lib.eye(3), lib.ones(2, 3, 3)
    arguments = {"mm": (matrix, matrix), "bmm": (batch, batch), "mv": (matrix, vector),
                 "dot": (vector, vector), "inner": (vector, vector), "outer": (vector, vector),
                 "addmm": (matrix, matrix, matrix), "addbmm": (matrix, batch, batch),
                 "chain_matmul": (matrix, matrix), "inverse": (matrix,),
                 "matmul": (matrix, matrix)}[name]
    return getattr(lib, name)(*arguments, out=lib.empty(0, dtype=lib.float64))


def _complex_special(name, lib):
    z = lib.tensor([1 + 1j, 0.5 - 2j])
    if name in ("zeta", "xlog1py"):
        return getattr(lib.special, name)(z, z)
    if name in ("chebyshev_polynomial_t", "hermite_polynomial_h", "multigammaln"):
        return getattr(lib.special, name)(z, 2)
    return getattr(lib.special, name)(z)


def _cond_singular(p, lib):
    return lib.linalg.cond(lib.stack([lib.eye(2), lib.zeros(2, 2)]), p=p)


CASES = {
    # vector_norm / matrix_norm / norm
    "vnorm_complex_real_dtype": lambda lib: lib.linalg.vector_norm(_t(lib, C34),
                                                                   dtype=lib.float64),
    "vnorm_real_complex_dtype": lambda lib: lib.linalg.vector_norm(_t(lib, M34),
                                                                   dtype=lib.complex64),
    "vnorm_complex_dtype": lambda lib: lib.linalg.vector_norm(_t(lib, C34),
                                                              dtype=lib.complex128),
    "vnorm_dim_range": lambda lib: lib.linalg.vector_norm(_t(lib, M34), dim=5),
    "vnorm_dim_repeat": lambda lib: lib.linalg.vector_norm(_t(lib, M34), dim=(0, -2)),
    "vnorm_0d_dim0": lambda lib: lib.linalg.vector_norm(lib.tensor(2.0), dim=0),
    "mnorm_empty_2": lambda lib: lib.linalg.matrix_norm(lib.zeros(0, 4), ord=2),
    "mnorm_empty_batch_inf": lambda lib: lib.linalg.matrix_norm(lib.zeros(2, 0, 3),
                                                                ord=float("inf")),
    "mnorm_empty_minus2": lambda lib: lib.linalg.matrix_norm(lib.zeros(0, 4), ord=-2),
    "mnorm_empty_minus1": lambda lib: lib.linalg.matrix_norm(lib.zeros(4, 0), ord=-1),
    "mnorm_empty_1": lambda lib: lib.linalg.matrix_norm(lib.zeros(4, 0), ord=1),
    "norm_fro_1d": lambda lib: lib.linalg.norm(_t(lib, M34[0]), ord="fro"),
    # lstsq drivers
    "lstsq_gelsd": lambda lib: tuple(lib.linalg.lstsq(_t(lib, M53), _t(lib, M52),
                                                      driver="gelsd")),
    "lstsq_gels": lambda lib: tuple(lib.linalg.lstsq(_t(lib, M53), _t(lib, M52),
                                                     driver="gels")),
    "lstsq_gelss_vector": lambda lib: tuple(lib.linalg.lstsq(_t(lib, M53), _t(lib, M52[:, 0]),
                                                             driver="gelss")),
    "lstsq_default": lambda lib: tuple(lib.linalg.lstsq(_t(lib, M53), _t(lib, M52))),
    "lstsq_bad_driver": lambda lib: lib.linalg.lstsq(_t(lib, M53), _t(lib, M52), driver="x"),
    "lstsq_dtype": lambda lib: lib.linalg.lstsq(_t(lib, M53), _t(lib, M52).double()),
    # other argument checks
    "eigvalsh_uplo": lambda lib: lib.linalg.eigvalsh(_t(lib, M33), UPLO="X"),
    "solve_left_false_shape": lambda lib: lib.linalg.solve(_t(lib, M33), _t(lib, M34[:, :2]),
                                                          left=False),
    "pinv_hermitian_lower": lambda lib: lib.linalg.pinv(_t(lib, M33), hermitian=True),
    "matrix_rank_hermitian_square": lambda lib: lib.linalg.matrix_rank(_t(lib, M34),
                                                                       hermitian=True),
    "matrix_rank_tol": lambda lib: lib.linalg.matrix_rank(_t(lib, M33), tol=0.5),
    "matrix_rank_hermitian": lambda lib: lib.linalg.matrix_rank(_t(lib, M33 + M33.T),
                                                                hermitian=True),
    "multi_dot_dtype": lambda lib: lib.linalg.multi_dot([_t(lib, M34), _t(lib, M34[0]).double()]),
    "vecdot_dtype": lambda lib: lib.linalg.vecdot(_t(lib, M34), _t(lib, M34).double()),
    "solve_triangular_1d": lambda lib: lib.linalg.solve_triangular(_t(lib, M33),
                                                                   _t(lib, M33[0]), upper=True),
    "cond_nonsquare": lambda lib: lib.linalg.cond(_t(lib, M34), p=1),
    "svd_driver_cpu": lambda lib: lib.linalg.svd(_t(lib, M34), driver="gesvd"),
    # out=
    "out_dtype": lambda lib: lib.linalg.inv(_t(lib, M33), out=lib.empty(0, dtype=lib.float64)),
    "out_norm_dtype": lambda lib: lib.linalg.norm(_t(lib, M33),
                                                  out=lib.empty(0, dtype=lib.float64)),
    "out_eigvals_castable": lambda lib: lib.linalg.eigvals(
        _t(lib, M33), out=lib.empty(0, dtype=lib.complex128)),
    "out_eigvals_real": lambda lib: lib.linalg.eigvals(_t(lib, M33), out=lib.empty(0)),
    "out_rank_float": lambda lib: lib.linalg.matrix_rank(_t(lib, M33), out=lib.empty(0)),
    "out_rank_bool": lambda lib: lib.linalg.matrix_rank(_t(lib, M33),
                                                        out=lib.empty(0, dtype=lib.bool)),
    "out_tuple": lambda lib: lib.linalg.slogdet(_t(lib, M33),
                                                out=(lib.empty(5), lib.empty(0))),
    "out_requires_grad": lambda lib: lib.linalg.inv(lib.tensor(M33, requires_grad=True),
                                                    out=lib.empty(0)),
    "out_eigh_requires_grad": lambda lib: lib.linalg.eigh(
        lib.tensor(M33, requires_grad=True), out=(lib.empty(0), lib.empty(0))),
    "out_norm_requires_grad": lambda lib: lib.linalg.norm(lib.tensor(M33, requires_grad=True),
                                                          out=lib.empty(0)),
    # integer inputs: each function's own error
    **{f"int_{name}": functools.partial(_on_integers, fn) for name, fn in {
           "lu": lambda lib, a: lib.linalg.lu(a),
           "lu_factor_ex": lambda lib, a: lib.linalg.lu_factor_ex(a),
           "eigh": lambda lib, a: lib.linalg.eigh(a),
           "eigvalsh": lambda lib, a: lib.linalg.eigvalsh(a.bool()),
           "eig": lambda lib, a: lib.linalg.eig(a),
           "solve_triangular": lambda lib, a: lib.linalg.solve_triangular(a, a, upper=True),
           "lstsq": lambda lib, a: lib.linalg.lstsq(a, a),
           "solve_ex": lambda lib, a: lib.linalg.solve_ex(a, a),
           "cond": lambda lib, a: lib.linalg.cond(a),
           "cond_1": lambda lib, a: lib.linalg.cond(a, p=1),
           "matrix_rank": lambda lib, a: lib.linalg.matrix_rank(a),
           "householder": lambda lib, a: lib.linalg.householder_product(a, a[0]),
           "lu_solve": lambda lib, a: lib.linalg.lu_solve(a, lib.ones(3, dtype=lib.int32), a),
           "vecdot": lambda lib, a: lib.linalg.vecdot(a, a),
       }.items()},
    "lu_factor_1d": lambda lib: lib.linalg.lu_factor(lib.ones(3)),
    "lu_solve_shape": lambda lib: lib.linalg.lu_solve(*lib.linalg.lu_factor(_t(lib, M33)),
                                                      _t(lib, M34.T[:, :2])),
    "lu_solve_dtype": lambda lib: lib.linalg.lu_solve(*lib.linalg.lu_factor(_t(lib, M33)),
                                                      _t(lib, M33).double()),
    "matrix_norm_same_dims": lambda lib: lib.linalg.matrix_norm(_t(lib, M34), dim=(0, 0)),
    "matrix_norm_dim_range": lambda lib: lib.linalg.matrix_norm(_t(lib, M34), dim=(0, 2)),
    "vector_norm_str_ord": lambda lib: lib.linalg.vector_norm(_t(lib, M34), ord="fro"),
    "matrix_power_float": lambda lib: lib.linalg.matrix_power(_t(lib, M33), 2.0),
    "vander_0d": lambda lib: lib.linalg.vander(lib.tensor(2.0)),
    "vander_0d_n": lambda lib: lib.linalg.vander(lib.tensor(2.0), N=3),
    "cond_bad_ord": lambda lib: lib.linalg.cond(_t(lib, M33), p=3),
    **{f"cond_singular_{p}": functools.partial(_cond_singular, p)
       for p in (1, -1, float("inf"), "fro", "nuc")},
    "solve_left_false_vector": lambda lib: lib.linalg.solve(_t(lib, M33), _t(lib, M33[0]),
                                                           left=False),
    # complex and random
    "relu_complex": lambda lib: lib.relu(_t(lib, C34)),
    "relu__complex": lambda lib: _t(lib, C34).relu_(),
    "softmax_complex_last": lambda lib: _t(lib, C34).softmax(1),
    "log_softmax_complex": lambda lib: _t(lib, C34).log_softmax(0),
    "logsigmoid_long": lambda lib: lib.nn.functional.logsigmoid(lib.ones(2, dtype=lib.int64)),
    "randint_complex": lambda lib: lib.randint(0, 5, (3,), dtype=lib.complex64),
    # out= of the matrix products: exact dtype, each with torch's words
    **{f"product_out_{name}": functools.partial(_product_out, name)
       for name in ("mm", "bmm", "mv", "dot", "inner", "outer", "addmm", "addbmm",
                    "chain_matmul", "inverse", "matmul")},
    # cholesky reads the triangle it is asked for; a failed one leaves potrf's partial factor
    "cholesky_upper_reads_upper": lambda lib: lib.linalg.cholesky(_t(lib, _UPPER_PD), upper=True),
    "cholesky_ex_partial": lambda lib: tuple(lib.linalg.cholesky_ex(
        lib.stack([_t(lib, _UPPER_PD), lib.eye(3), _t(lib, _UPPER_PD).mT]))),
    "cholesky_ex_upper": lambda lib: tuple(lib.linalg.cholesky_ex(_t(lib, _UPPER_PD),
                                                                  upper=True)),
    # fft and special
    "fftshift_dim_range": lambda lib: lib.fft.fftshift(_t(lib, M33[0]), dim=2),
    "ifftshift_negative_dim": lambda lib: lib.fft.ifftshift(_t(lib, M34), dim=-1),
    "multigammaln_p0": lambda lib: lib.special.multigammaln(_t(lib, M33[0]), 0),
    "polygamma_negative_n": lambda lib: lib.special.polygamma(-1, _t(lib, M33[0])),
    "i0_out": lambda lib: lib.special.i0(_t(lib, M33[0]), out=lib.empty(3)),
    "ndtri_tails": lambda lib: lib.special.ndtri(lib.tensor([1e-30, 1e-10, 0.3, 0.5, 0.99,
                                                             0.0, 1.0, 1.5])),
    "ndtri_float64": lambda lib: lib.special.ndtri(lib.tensor([1e-300, 1e-20, 0.7],
                                                              dtype=lib.float64)),
    "log_ndtr_tails": lambda lib: lib.special.log_ndtr(lib.tensor(
        [-40.0, -20.0, -1.0, 0.0, 0.1, 5.0, 40.0, float("inf"), -float("inf")])),
    "logit_eps_one": lambda lib: lib.special.logit(lib.tensor([0.0, 1.0, 0.5]), eps=1.0),
    "logit_eps_large": lambda lib: lib.logit(lib.tensor([0.0, 1.0, 0.3]), eps=0.6),
    **{f"complex_{name}": functools.partial(_complex_special, name)
       for name in ("i0", "i0e", "i1e", "bessel_j0", "modified_bessel_k1", "airy_ai", "erfcx",
                    "ndtri", "log_ndtr", "ndtr", "entr", "zeta", "xlog1py",
                    "chebyshev_polynomial_t", "hermite_polynomial_h", "multigammaln")},
    "randperm_bool": lambda lib: lib.randperm(5, dtype=lib.bool),
    "randperm_overflow": lambda lib: lib.randperm(300, dtype=lib.uint8),
    "randperm_fits": lambda lib: lib.randperm(256, dtype=lib.uint8).sort().values,
    "uniform_nan_bound": lambda lib: lib.empty(2).uniform_(float("nan"), 1),
    "uniform_half_bound": lambda lib: lib.empty(2, dtype=lib.float16).uniform_(0, 1e6),
}


@pytest.mark.parametrize("name", list(CASES))
def test_probe_case_matches_torch(name):
    fn = CASES[name]
    try:
        expected = fn(torch)
    except Exception as error:  # noqa: BLE001 - the oracle decides what is expected
        with pytest.raises(type(error)) as got:
            fn(ember)
        assert str(got.value) == str(error)
        return
    assert_same(fn(ember), expected, rtol=1e-5, atol=1e-5)


def test_out_writes_into_the_given_tensor():
    for lib in (torch, ember):
        target = lib.empty(2)
        result = lib.linalg.inv(_t(lib, M33), out=target)
        assert result is target and tuple(target.shape) == (3, 3)
        pair = (lib.empty(0), lib.empty(0))
        values = lib.linalg.eigh(_t(lib, M33 + M33.T), out=pair)
        assert values[0] is pair[0] and tuple(pair[1].shape) == (3, 3)
    np.testing.assert_allclose(ember.linalg.inv(_t(ember, M33)).numpy(),
                               torch.linalg.inv(_t(torch, M33)).numpy(), rtol=1e-5)


def test_return_type_names():
    a = M33 @ M33.T + np.eye(3, dtype=np.float32)
    calls = {
        "slogdet": lambda lib, x: lib.linalg.slogdet(x), "qr": lambda lib, x: lib.linalg.qr(x),
        "svd": lambda lib, x: lib.linalg.svd(x), "eigh": lambda lib, x: lib.linalg.eigh(x),
        "inv_ex": lambda lib, x: lib.linalg.inv_ex(x),
        "cholesky_ex": lambda lib, x: lib.linalg.cholesky_ex(x),
        "lstsq": lambda lib, x: lib.linalg.lstsq(x, x), "lu": lambda lib, x: lib.linalg.lu(x),
        "lu_factor": lambda lib, x: lib.linalg.lu_factor(x),
        "old_slogdet": lambda lib, x: lib.slogdet(x), "old_qr": lambda lib, x: lib.qr(x),
        "old_svd": lambda lib, x: lib.svd(x),
    }
    for name, call in calls.items():
        expected = type(call(torch, torch.tensor(a))).__name__
        assert type(call(ember, ember.tensor(a))).__name__ == expected, name


def test_ndtri_and_log_ndtr_gradients():
    for fn, values in ((lambda lib, x: lib.special.ndtri(x), [0.2, 0.7, 1e-20]),
                       (lambda lib, x: lib.special.log_ndtr(x), [-30.0, -1.0, 2.0])):
        grads = []
        for lib in (torch, ember):
            x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
            fn(lib, x).sum().backward()
            grads.append(x.grad.numpy())
        np.testing.assert_allclose(grads[1], grads[0], rtol=1e-9)
    x = ember.tensor([0.2, 0.6], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda v: ember.special.ndtri(v), (x,))
    y = ember.tensor([-30.0, -0.5, 0.5, 3.0], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda v: ember.special.log_ndtr(v), (y,))
