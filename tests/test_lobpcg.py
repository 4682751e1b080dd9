"""ember.lobpcg against torch.lobpcg: converged eigenvalues agree to rtol 1e-9 in float64
(1e-4 in float32: the default tol there is sqrt(1.2e-7)), eigenvectors up to sign, the
gradient of the partial eigenspace, and the errors for bad arguments."""

import numpy as np
import pytest
import scipy.linalg
import torch

import ember

RNG = np.random.default_rng(11)
M = 18
_FACTOR = RNG.standard_normal((M, M))
A = _FACTOR @ _FACTOR.T + np.eye(M)
_B_FACTOR = RNG.standard_normal((M, M))
B = _B_FACTOR @ _B_FACTOR.T / M + np.eye(M)


def _both(value):
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value), ember.from_numpy(value.copy())
    return value, value


def _run_both(a, **kwargs):
    t_kwargs, e_kwargs = {}, {}
    for name, value in kwargs.items():
        t_kwargs[name], e_kwargs[name] = _both(value)
    t_a, e_a = _both(a)
    return torch.lobpcg(t_a, **t_kwargs), ember.lobpcg(e_a, **e_kwargs)


def _assert_vectors_match(e_vectors, t_vectors, atol):
    """Columns equal up to sign (both B-normalized)."""
    e, t = e_vectors.numpy(), t_vectors.numpy()
    signs = np.sign((e * t).sum(-2, keepdims=True))
    np.testing.assert_allclose(e * signs, t, atol=atol)


CASES = [
    {"k": 3},
    {"k": 3, "largest": False},
    {"k": 2, "method": "basic"},
    {"k": 2, "method": "basic", "largest": False},
    {"k": 2, "n": 4},
    {"k": 2, "B": B},
    {"k": 2, "B": B, "largest": False},
    {"k": 1, "niter": -1},
    {"k": 2, "iK": np.diag(1.0 / np.diag(A))},
    {"k": 2, "X": RNG.standard_normal((M, 3))},
    {"k": 2, "ortho_iparams": {"ortho_i_max": 2}, "ortho_fparams": {"ortho_tol": 1e-10}},
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_eigenpairs_match_torch(case):
    kwargs = CASES[case]
    (t_values, t_vectors), (e_values, e_vectors) = _run_both(A, **kwargs)
    assert e_values.dtype == ember.float64 and tuple(e_values.shape) == tuple(t_values.shape)
    assert tuple(e_vectors.shape) == tuple(t_vectors.shape)
    np.testing.assert_allclose(e_values.numpy(), t_values.numpy(), rtol=1e-9)
    _assert_vectors_match(e_vectors, t_vectors, atol=1e-6)


def test_float32_and_batches():
    a32 = A.astype(np.float32)
    (t_values, _), (e_values, e_vectors) = _run_both(a32, k=2)
    assert e_values.dtype == ember.float32 and e_vectors.dtype == ember.float32
    np.testing.assert_allclose(e_values.numpy(), t_values.numpy(), rtol=1e-4)
    batch = np.stack([A, A + 2 * np.eye(M)])
    (t_values, t_vectors), (e_values, e_vectors) = _run_both(batch, k=2, largest=False)
    assert tuple(e_vectors.shape) == (2, M, 2)
    np.testing.assert_allclose(e_values.numpy(), t_values.numpy(), rtol=1e-9)
    _assert_vectors_match(e_vectors, t_vectors, atol=1e-6)


def test_basic_smallest_with_b_finds_the_true_pairs():
    """torch 2.13's method="basic" returns a repeated eigenvalue on this pencil; ember's
    agrees with SciPy's dense generalized eigh (and with torch's "ortho")."""
    truth = scipy.linalg.eigh(A, B, eigvals_only=True)[:2]
    values, vectors = ember.lobpcg(ember.from_numpy(A), k=2, B=ember.from_numpy(B),
                                   largest=False, method="basic")
    np.testing.assert_allclose(values.numpy(), truth, rtol=1e-9)
    ortho = torch.lobpcg(torch.from_numpy(A), k=2, B=torch.from_numpy(B), largest=False)[0]
    np.testing.assert_allclose(values.numpy(), ortho.numpy(), rtol=1e-9)
    x = vectors.numpy()
    np.testing.assert_allclose(x.T @ B @ x, np.eye(2), atol=1e-8)


def test_iteration_limit_and_tracker():
    steps = []
    values, vectors = ember.lobpcg(ember.from_numpy(A), k=2, niter=2, tol=1e-14,
                                   tracker=lambda worker: steps.append(worker.ivars["istep"]))
    assert steps == [1, 2]
    truth = np.linalg.eigvalsh(A)[::-1][:2]
    assert (values.numpy() <= truth + 1e-9).all()  # Ritz values approach from inside
    assert tuple(vectors.shape) == (M, 2)
    sparse, _ = ember.lobpcg(ember.from_numpy(A).to_sparse(), k=1)
    np.testing.assert_allclose(sparse.numpy(), truth[:1], rtol=1e-9)


def _loss(lib, values, vectors, weights):
    return (values * lib.tensor(weights[0])).sum() + (vectors * vectors
                                                       * lib.tensor(weights[1])).sum()


@pytest.mark.parametrize("largest", [True, False])
def test_gradient_matches_torch(largest):
    weights = (RNG.standard_normal(2), RNG.standard_normal((M, 2)))
    grads = []
    for lib in (torch, ember):
        a = lib.tensor(A, requires_grad=True)
        values, vectors = lib.lobpcg(a, k=2, largest=largest)
        assert values.grad_fn.name() == "LOBPCGAutogradFunctionBackward"
        _loss(lib, values, vectors, weights).backward()
        grads.append(a.grad.detach().numpy())
    # eigenvectors converge to ~tol = 1.5e-8, so their gradients agree to about that
    np.testing.assert_allclose(grads[1], grads[0], atol=1e-6)
    np.testing.assert_allclose(grads[1], grads[1].T, atol=1e-12)  # symmetric, as torch


def test_gradcheck():
    start = ember.tensor(RNG.standard_normal((9, 2)))
    weights = ember.tensor(RNG.standard_normal((9, 2)))
    factor = RNG.standard_normal((9, 9))
    a = ember.tensor(factor @ factor.T + np.eye(9), requires_grad=True)

    def fn(matrix):
        values, vectors = ember.lobpcg(matrix, k=2, X=start, tol=1e-12)
        return values.sum() + (vectors * vectors * weights).sum()

    assert ember.autograd.gradcheck(fn, (a,))


def _with_b_backward(lib):
    a = lib.tensor(A, requires_grad=True)
    values, _ = lib.lobpcg(a, k=1, B=lib.eye(M, dtype=lib.float64))
    values.sum().backward()


ERRORS = [
    lambda lib, a: lib.lobpcg(a[:, :5]),
    lambda lib, a: lib.lobpcg(a, k=7),
    lambda lib, a: lib.lobpcg(a, B=a[:5, :5]),
    lambda lib, a: lib.lobpcg(a, X=lib.ones(M - 1, 2, dtype=lib.float64)),
    lambda lib, a: lib.lobpcg(a.long()),
    lambda lib, a: lib.lobpcg(a.to(lib.complex128)),
    lambda lib, a: lib.lobpcg(a.float(), X=lib.ones(M, 2, dtype=lib.float64)),
    lambda lib, a: lib.lobpcg(a, k=2, n=7),
    lambda lib, a: lib.lobpcg(a, k=1, X=lib.ones(M, dtype=lib.float64)),
    lambda lib, a: lib.lobpcg(a.half(), k=1),
    lambda lib, a: lib.lobpcg(a, k=2, X=lib.ones(2, M, 2, dtype=lib.float64)),
    lambda lib, a: lib.lobpcg(a.expand(2, M, M), k=2, X=lib.ones(M, 2, dtype=lib.float64)),
    lambda lib, a: _with_b_backward(lib),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    t_a, e_a = _both(A)
    with pytest.raises(BaseException) as expected:
        ERRORS[case](torch, t_a)
    with pytest.raises(type(expected.value)) as got:
        ERRORS[case](ember, e_a)
    assert str(got.value) == str(expected.value)
