"""Compressed sparse layouts on cuda: every part (indices, values, results, gradients)
stays on the device, and the numbers agree with the host's. Runs on the CuPy double in CI
and on real CuPy by scripts/gpu_check.sh (tests/sparse compares the host against torch)."""

import numpy as np
import pytest

import ember
from ember import overrides

pytestmark = pytest.mark.filterwarnings("ignore:Sparse")

MATRIX = np.array([[0., 1.5, 0, 0], [-2, 0, 3, 0], [0, 0, 0, 0], [4, 0, -5, 6]])


@pytest.fixture(autouse=True, scope="module")
def _protocol_off_afterwards():
    yield
    overrides._uninstall()


def _on(device, layout):
    base = ember.tensor(MATRIX, device=device)
    if layout in ("bsr", "bsc"):
        return getattr(base, f"to_sparse_{layout}")((2, 2))
    return getattr(base, f"to_sparse_{layout}")()


def _host(x):
    x = x.to_dense() if x.layout != ember.strided else x
    return x.detach().cpu().numpy()


@pytest.mark.parametrize("layout", ["csr", "csc", "bsr", "bsc"])
def test_parts_and_conversions_stay_on_the_device(layout):
    s = _on("cuda", layout)
    assert s.device.type == "cuda" and s.values().device.type == "cuda"
    assert "device='cuda:0'" in repr(s)
    for result in (s.to_dense(), s.to_sparse_coo(), s.clone(), s.t(), s * 2, s.abs()):
        assert result.device.type == "cuda"
    np.testing.assert_array_equal(_host(s), MATRIX)
    np.testing.assert_array_equal(_host(s.to_sparse_coo()), MATRIX)
    assert s.cpu().device.type == "cpu"


@pytest.mark.parametrize("layout", ["csr", "csc", "bsr"])
def test_products_and_gradients_on_the_device(layout):
    results = {}
    for device in ("cpu", "cuda"):
        s = _on(device, layout).requires_grad_()
        w = ember.tensor(np.arange(8.).reshape(4, 2), device=device, requires_grad=True)
        out = s @ w
        (out * ember.tensor([[1., -1.]], device=device)).sum().backward()
        pattern = ember.sparse.mm(s, w).sum()
        assert out.device.type == s.grad.device.type == w.grad.device.type == device
        results[device] = (_host(out), _host(s.grad), _host(w.grad), float(pattern.detach()))
    for host, device in zip(results["cpu"], results["cuda"]):
        np.testing.assert_allclose(device, host)


def test_csr_ops_on_the_device():
    s = _on("cuda", "csr")
    ones = ember.ones(4, 4, dtype=s.dtype, device="cuda")
    checks = {
        "add": ((s + s), 2 * MATRIX),
        "mul": (s * s, MATRIX * MATRIX),
        "sum_rows": (s.sum(1, keepdim=True), MATRIX.sum(1, keepdims=True)),
        "sampled": (ember.sparse.sampled_addmm(s, ones, ones), (MATRIX + 4) * (MATRIX != 0)),
        "dense_plus": (ones + s, MATRIX + 1),
        "row": (s[1], MATRIX[1]),
    }
    for name, (result, expected) in checks.items():
        assert result.device.type == "cuda", name
        np.testing.assert_allclose(_host(result), expected, err_msg=name)
    checked = ember.sparse_csr_tensor(
        ember.tensor([0, 2, 3], device="cuda"), ember.tensor([0, 1, 1], device="cuda"),
        ember.tensor([1., 2, 3], device="cuda"), (2, 2), check_invariants=True)
    assert checked.device.type == "cuda"
    with pytest.raises(RuntimeError, match="0 <= col_indices < ncols"):
        ember.sparse_csr_tensor(
            ember.tensor([0, 2, 3], device="cuda"), ember.tensor([0, 2, 1], device="cuda"),
            ember.tensor([1., 2, 3], device="cuda"), (2, 2), check_invariants=True)
