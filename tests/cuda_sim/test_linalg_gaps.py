"""Where CuPy's linear algebra differs from NumPy's, ember on cuda still behaves as PyTorch:
a singular inv/solve or a not positive-definite cholesky raises PyTorch's LinAlgError
(CuPy returns inf/nan unless ``cupyx.errstate(linalg="raise")``), and eig/eigvals (which
CuPy lacks for general matrices) work on cuda tensors and give cuda results. Runs on the
CuPy double in CI (which models both gaps) and on real CuPy in scripts/gpu_check.sh."""

import numpy as np
import pytest
import torch

import ember

SINGULAR = [[[2.0, 0.0], [0.0, 2.0]], [[1.0, 2.0], [2.0, 4.0]]]


@pytest.mark.parametrize("call, match", [
    (lambda lib, a: lib.linalg.inv(a), r"inv: \(Batch element 1\): The diagonal element 2 is"),
    (lambda lib, a: lib.linalg.solve(a, lib.ones(2, 2, 1, dtype=a.dtype, device=a.device)),
     r"solve: \(Batch element 1\): The solver failed because the input matrix is singular"),
    (lambda lib, a: lib.linalg.cholesky(a), r"cholesky: \(Batch element 1\): The factorization"),
], ids=["inv", "solve", "cholesky"])
def test_singular_inputs_raise_on_cuda_as_torch(call, match):
    with pytest.raises(torch.linalg.LinAlgError, match=match):
        call(torch, torch.tensor(SINGULAR))
    with pytest.raises(ember.linalg.LinAlgError, match=match):
        call(ember, ember.tensor(SINGULAR, device="cuda"))


def test_ex_variants_report_info_on_cuda():
    a = ember.tensor(SINGULAR, device="cuda")
    inverse, info = ember.linalg.inv_ex(a)
    assert inverse.is_cuda and info.is_cuda and info.cpu().tolist() == [0, 2]
    factor, info = ember.linalg.cholesky_ex(a)
    assert factor.is_cuda and info.cpu().tolist() == [0, 2]
    np.testing.assert_allclose(factor[0].cpu().numpy(), np.sqrt(2) * np.eye(2))


def test_eig_of_a_cuda_tensor_matches_torch():
    values = np.random.default_rng(0).standard_normal((2, 4, 4))
    a = ember.tensor(values, device="cuda", requires_grad=True)
    eigenvalues, eigenvectors = ember.linalg.eig(a)
    expected, _ = torch.linalg.eig(torch.tensor(values))
    assert eigenvalues.is_cuda and eigenvectors.is_cuda
    np.testing.assert_allclose(np.sort_complex(eigenvalues.detach().cpu().numpy()),
                               np.sort_complex(expected.numpy()), rtol=1e-10)
    assert ember.linalg.eigvals(a).is_cuda
    eigenvalues.real.sum().backward()  # d trace(A) / dA = I
    assert a.grad.is_cuda
    np.testing.assert_allclose(a.grad.cpu().numpy(), np.broadcast_to(np.eye(4), (2, 4, 4)),
                               atol=1e-10)
