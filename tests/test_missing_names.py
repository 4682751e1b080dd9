"""Names PyTorch programs touch that ember lacked, against torch: Tensor.new_empty_strided,
ember.binomial, float16/bfloat16 inputs to linalg, stride() of empty tensors, is_meta."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember


def outcome(fn):
    """('ok', value) or (exception type, first line of the message)."""
    try:
        return ("ok", fn())
    except Exception as err:  # noqa: BLE001 - the type and text are what is compared
        return (type(err), str(err).split("\n")[0])


def _meta(t):
    return (tuple(t.shape), t.stride(), str(t.dtype).split(".")[1], t.requires_grad,
            t.device.type)


# -- Tensor.new_empty_strided / empty_strided -----------------------------------------------

@pytest.mark.parametrize("call", [
    lambda L, x: x.new_empty_strided((2, 3), (1, 2)),
    lambda L, x: x.new_empty_strided([2, 3], [3, 1], dtype=L.int32),
    lambda L, x: x.new_empty_strided((2, 3), (3, 1), requires_grad=True),
    lambda L, x: x.new_empty_strided((0, 3), (3, 1)),
    lambda L, x: x.new_empty_strided((2, 3), (0, 1)),
    lambda L, x: x.new_empty_strided((), ()),
    lambda L, x: x.new_empty_strided((4,), (2,), device="cpu"),
    lambda L, x: x.new_empty_strided((2, 3), (1,)),
    lambda L, x: x.new_empty_strided((2, -3), (1, 1)),
    lambda L, x: x.new_empty_strided((2, 3), (1, -1)),
    lambda L, x: x.new_empty_strided((2,), (1,), dtype=L.int64, requires_grad=True),
    lambda L, x: L.empty_strided((2, -3), (1, 1)),
    lambda L, x: L.empty_strided((3, 2), (-1, 1)),
])
def test_new_empty_strided_matches_torch(call):
    results = []
    for lib in (ember, torch):
        x = lib.zeros(2, dtype=lib.float64)
        got = outcome(lambda lib=lib, x=x: _meta(call(lib, x)))
        results.append(got)
    assert results[0] == results[1]


def test_new_empty_strided_is_writable_storage():
    out = ember.zeros(1).new_empty_strided((2, 3), (1, 2))
    out.copy_(ember.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(out.numpy(), np.arange(6.0).reshape(2, 3))


# -- binomial --------------------------------------------------------------------------------

def _c(lib, values, dtype="float32"):
    return lib.tensor(values, dtype=getattr(lib, dtype))


@pytest.mark.parametrize("call", [
    lambda L: L.binomial(_c(L, [5.0]), _c(L, [0.5]), generator=5),
    lambda L: L.binomial(5, _c(L, [0.5])),
    lambda L: L.binomial(_c(L, [5.0]), 0.5),
    lambda L: L.binomial(_c(L, [5], "int64"), _c(L, [0.5])),
    lambda L: L.binomial(_c(L, [5.0]), _c(L, [1], "int64")),
    lambda L: L.binomial(_c(L, [True], "bool"), _c(L, [True], "bool")),
    lambda L: L.binomial(_c(L, [5.0], "float64"), _c(L, [0.5])),
    lambda L: L.binomial(_c(L, [5.0], "bfloat16"), _c(L, [0.5], "float16")),
    lambda L: L.binomial(_c(L, [5.0], "float16"), _c(L, [0.5], "float16")),
    lambda L: L.binomial(_c(L, [5.0], "bfloat16"), _c(L, [0.5], "bfloat16")),
    lambda L: L.binomial(_c(L, [5.0, 1.0]), _c(L, [0.5, 0.1, 0.1])),
    lambda L: L.binomial(L.ones(2, 3), L.full((3, 2), 0.5)),
    lambda L: L.binomial(_c(L, [5.0], "float64"), _c(L, [0.5, 0.1, 0.1])),
])
def test_binomial_argument_errors(call):
    ours, theirs = outcome(lambda: call(ember)), outcome(lambda: call(torch))
    assert ours[0] != "ok" and ours == theirs


# Inputs whose result is fixed (no randomness): counts/probabilities at and past the edges.
EDGE_COUNT = [0.0, -2.5, 2.5, 7.0, 3.0, float("inf"), float("nan"), 4.0, 0.0, 6.0]
EDGE_PROB = [0.3, 0.5, 1.0, 1.5, 0.0, 0.0, 1.0, float("nan"), float("nan"), -0.5]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binomial_edge_values_match_torch(dtype):
    ours = ember.binomial(_c(ember, EDGE_COUNT, dtype), _c(ember, EDGE_PROB, dtype))
    theirs = torch.binomial(_c(torch, EDGE_COUNT, dtype), _c(torch, EDGE_PROB, dtype))
    assert ours.dtype == getattr(ember, dtype)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.filterwarnings("ignore:An output with one or more elements was resized")
@pytest.mark.parametrize("count_shape, prob_shape", [((), ()), ((4, 1), (3,)), ((2, 0), (0,)),
                                                     ((3,), (2, 3))])
def test_binomial_shapes_and_ranges(count_shape, prob_shape):
    count = ember.full(count_shape, 6.0)
    prob = ember.full(prob_shape, 0.4)
    out = ember.binomial(count, prob)
    expected = torch.binomial(torch.full(count_shape, 6.0), torch.full(prob_shape, 0.4))
    assert tuple(out.shape) == tuple(expected.shape) and out.dtype == ember.float32
    values = out.numpy()
    assert np.all((values >= 0) & (values <= 6) & (values == np.floor(values)))


@pytest.mark.parametrize("n, p", [(20.0, 0.3), (3.0, 0.9), (1000.0, 0.02), (2.7, 0.5)])
def test_binomial_distribution(n, p):
    """Sample mean and variance of 20000 draws within 6 standard errors of
    floor(n) p and floor(n) p (1 - p), as torch's sampler gives."""
    g = ember.Generator().manual_seed(0)
    draws = ember.binomial(ember.full((20000,), n), ember.full((20000,), p),
                           generator=g).double().numpy()
    theirs = torch.binomial(torch.full((20000,), n), torch.full((20000,), p)).double().numpy()
    trials = np.floor(n)
    mean, var = trials * p, trials * p * (1 - p)
    for sample in (draws, theirs):
        assert abs(sample.mean() - mean) < 6 * np.sqrt(var / sample.size)
        assert abs(sample.var() - var) < 6 * var * np.sqrt(2 / sample.size) + 1e-9


def test_binomial_generator_and_seed_reproducible():
    count, prob = ember.full((50,), 30.0), ember.full((50,), 0.25)
    a = ember.binomial(count, prob, generator=ember.Generator().manual_seed(7))
    b = ember.binomial(count, prob, generator=ember.Generator().manual_seed(7))
    assert ember.equal(a, b)
    ember.manual_seed(11)
    c = ember.binomial(count, prob)
    ember.manual_seed(11)
    assert ember.equal(c, ember.binomial(count, prob))


def test_binomial_grad_is_not_implemented_as_torch():
    messages = []
    for lib in (ember, torch):
        count = lib.tensor([5.0, 10.0], requires_grad=True)
        out = lib.binomial(count, lib.tensor([0.5, 0.2]))
        assert out.requires_grad and out.grad_fn.name() == "torch::autograd::NotImplemented"
        messages.append(outcome(lambda out=out: out.sum().backward()))
    assert messages[0] == messages[1]
    assert not ember.binomial(ember.ones(2), ember.full((2,), 0.5)).requires_grad


# -- float16 / bfloat16 into linalg -------------------------------------------------------------

LINALG = {
    "inv": lambda L, a: L.linalg.inv(a),
    "inv_ex": lambda L, a: L.linalg.inv_ex(a),
    "det": lambda L, a: L.linalg.det(a),
    "slogdet": lambda L, a: L.linalg.slogdet(a),
    "logdet": lambda L, a: L.logdet(a),
    "cholesky": lambda L, a: L.linalg.cholesky(a),
    "cholesky_ex": lambda L, a: L.linalg.cholesky_ex(a),
    "qr": lambda L, a: L.linalg.qr(a),
    "svd": lambda L, a: L.linalg.svd(a),
    "svdvals": lambda L, a: L.linalg.svdvals(a),
    "eig": lambda L, a: L.linalg.eig(a),
    "eigvals": lambda L, a: L.linalg.eigvals(a),
    "eigh": lambda L, a: L.linalg.eigh(a),
    "eigvalsh": lambda L, a: L.linalg.eigvalsh(a),
    "solve": lambda L, a: L.linalg.solve(a, a),
    "solve_ex": lambda L, a: L.linalg.solve_ex(a, a),
    "lstsq": lambda L, a: L.linalg.lstsq(a, a),
    "lu": lambda L, a: L.linalg.lu(a),
    "lu_factor": lambda L, a: L.linalg.lu_factor(a),
    "lu_factor_ex": lambda L, a: L.linalg.lu_factor_ex(a),
    "lu_solve": lambda L, a: L.linalg.lu_solve(a, L.ones(3, dtype=L.int32), a),
    "pinv": lambda L, a: L.linalg.pinv(a),
    "matrix_rank": lambda L, a: L.linalg.matrix_rank(a),
    "matrix_norm_2": lambda L, a: L.linalg.matrix_norm(a, ord=2),
    "matrix_norm_nuc": lambda L, a: L.linalg.matrix_norm(a, ord="nuc"),
    "matrix_norm_-2": lambda L, a: L.linalg.matrix_norm(a, ord=-2),
    "norm_2": lambda L, a: L.linalg.norm(a, ord=2),
    "cond": lambda L, a: L.linalg.cond(a),
    "cond_fro": lambda L, a: L.linalg.cond(a, "fro"),
    "matrix_power_-1": lambda L, a: L.linalg.matrix_power(a, -1),
    "tensorinv": lambda L, a: L.linalg.tensorinv(a, ind=1),
    "tensorsolve": lambda L, a: L.linalg.tensorsolve(a, a[0]),
    "solve_triangular": lambda L, a: L.linalg.solve_triangular(a, a, upper=True),
    "householder_product": lambda L, a: L.linalg.householder_product(a, a[0]),
    "vander": lambda L, a: L.linalg.vander(a[0]),
    "cholesky_inverse": lambda L, a: L.cholesky_inverse(a),
    "cholesky_solve": lambda L, a: L.cholesky_solve(a, a),
    "inverse": lambda L, a: L.inverse(a),
    "pinverse": lambda L, a: L.pinverse(a),
    "torch.svd": lambda L, a: L.svd(a),
    "torch.qr": lambda L, a: L.qr(a),
    "torch.cholesky": lambda L, a: L.cholesky(a),
    "triangular_solve": lambda L, a: L.triangular_solve(a, a),
    "geqrf": lambda L, a: L.geqrf(a),
    "ormqr": lambda L, a: L.ormqr(a, a[0], a),
    "lu_legacy": lambda L, a: L.lu(a),
    # These work on 16-bit floats in PyTorch: the check must not refuse them.
    "vector_norm": lambda L, a: L.linalg.vector_norm(a),
    "matrix_norm_fro": lambda L, a: L.linalg.matrix_norm(a),
    "matrix_norm_1": lambda L, a: L.linalg.matrix_norm(a, ord=1),
    "norm": lambda L, a: L.linalg.norm(a),
    "cross": lambda L, a: L.linalg.cross(a, a),
    "vecdot": lambda L, a: L.linalg.vecdot(a, a),
    "multi_dot": lambda L, a: L.linalg.multi_dot([a, a]),
}


def _linalg_outcome(fn):
    """Exceptions as (type, text); results as their float64 values and dtype name."""
    def run():
        result = fn()
        parts = result if isinstance(result, tuple) else (result,)
        return [(str(r.dtype).split(".")[1], np.round(r.double().numpy(), 2).tolist())
                for r in parts]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation notes for legacy names
        return outcome(run)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", list(LINALG))
def test_linalg_low_precision_matches_torch(name, dtype):
    matrix = np.eye(3) + 0.1
    ours = _linalg_outcome(lambda: LINALG[name](ember, ember.tensor(matrix,
                                                                   dtype=getattr(ember, dtype))))
    theirs = _linalg_outcome(lambda: LINALG[name](torch, torch.tensor(matrix,
                                                                     dtype=getattr(torch, dtype))))
    assert ours == theirs


def test_linalg_low_precision_is_not_a_numpy_type_error():
    with pytest.raises(RuntimeError, match=r"^linalg.inv: Low precision dtypes not supported. "
                                           r"Got Half$"):
        ember.linalg.inv(ember.eye(2, dtype=ember.float16))


# -- stride() of empty tensors, is_meta ------------------------------------------------------

EMPTY = {
    "zeros0": lambda L: L.zeros(0),
    "zeros03": lambda L: L.zeros(0, 3),
    "zeros30": lambda L: L.zeros(3, 0),
    "zeros204": lambda L: L.zeros(2, 0, 4),
    "zeros00": lambda L: L.zeros(0, 0),
    "empty2005": lambda L: L.empty(2, 0, 0, 5),
    "randn03": lambda L: L.randn(0, 3),
    "arange0": lambda L: L.arange(0),
    "tensor_empty_rows": lambda L: L.tensor([[], []]),
    "slice_cols": lambda L: L.zeros(3, 4)[:, :0],
    "slice_rows": lambda L: L.zeros(3, 4)[:0],
    "slice_mid": lambda L: L.zeros(2, 3, 4)[:, 1:1],
    "narrow": lambda L: L.zeros(4, 5).narrow(1, 2, 0),
    "reshape": lambda L: L.zeros(2, 0, 4).reshape(4, 0, 2),
    "view": lambda L: L.zeros(3, 0).view(0, 3),
    "clone": lambda L: L.zeros(2, 0, 4).clone(),
    "add": lambda L: L.zeros(2, 0, 4) + 1,
    "cat": lambda L: L.cat([L.zeros(2, 0), L.zeros(3, 0)]),
    "ones_like": lambda L: L.ones_like(L.zeros(2, 0, 3)),
    "sum_dim": lambda L: L.zeros(2, 0, 3).sum(0),
    "new_zeros": lambda L: L.zeros(1).new_zeros(0, 2, 3),
    "index_empty": lambda L: L.zeros(4, 5)[L.tensor([], dtype=L.int64)],
    "matmul": lambda L: L.zeros(0, 3) @ L.zeros(3, 2),
    "flatten": lambda L: L.zeros(2, 0, 3).flatten(),
    "empty_strided": lambda L: L.empty_strided((2, 0), (5, 7)),
    "nonempty_t": lambda L: L.zeros(2, 3).t(),
}


@pytest.mark.parametrize("name", list(EMPTY))
def test_stride_of_empty_tensors(name):
    ours, theirs = EMPTY[name](ember), EMPTY[name](torch)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.stride() == theirs.stride()
    assert [ours.stride(d) for d in range(ours.dim())] == list(theirs.stride())
    assert ours.is_contiguous() == theirs.is_contiguous()


def test_is_meta():
    assert isinstance(ember.Tensor.is_meta, property)  # a getset descriptor in torch
    assert ember.zeros(2).is_meta is torch.zeros(2).is_meta is False
