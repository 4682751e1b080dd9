"""Gradients of compressed tensors against torch: through values, to_dense and the
conversions, torch's dense gradient to leaves and dense sources (chains of ops), and
as_sparse_gradcheck."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from compressed_oracle import (
    MATRIX,
    RNG,
    W,
    build_sparse,
    ember_gradcheck,
    node_name,
    pattern,
    run,
    same_dense,
    same_grad,
    same_leaf_grad,
)
from oracle import as_numpy

import ember
from ember import overrides

pytestmark = pytest.mark.filterwarnings("ignore:Sparse (CSR|CSC|BSR|BSC|invariant)")


@pytest.fixture(autouse=True, scope="module")
def _protocol_off_afterwards():
    """A compressed tensor installs the __torch_function__ dispatch (its function forms);
    leave ember as the other test modules expect it."""
    yield
    overrides._uninstall()


def test_leaf_gradients_accumulate_dense_and_sparse():
    grads = []
    for lib in (ember, torch):
        s = lib.tensor(MATRIX).to_sparse_csr().requires_grad_()
        (s @ lib.tensor(W)).sum().backward()          # dense gradient
        (s * 2).to_dense().sum().backward()           # + gradient on the pattern
        (lib.ones(3, 4, dtype=s.dtype) @ s).sum().backward()
        grads.append(s.grad)
        s.grad = None
        assert s.grad is None
        (s * 3).to_dense().sum().backward()
        assert s.grad.layout == lib.sparse_csr
    same_dense(*grads)



# -- values, to_dense and the conversions carry gradients ------------------------------------


@pytest.mark.parametrize("case", ["values", "to_dense", "to_coo", "to_csc", "bsr_to_dense"])
def test_gradients_through_parts(case):
    fns = {
        "values": lambda lib, s: s.values(),
        "to_dense": lambda lib, s: s.to_dense(),
        "to_coo": lambda lib, s: s.to_sparse_coo(),
        "to_csc": lambda lib, s: s.to_sparse_csc(),
        "bsr_to_dense": lambda lib, s: s.to_dense(),
    }
    layout, blocksize = ("bsr", (2, 2)) if case == "bsr_to_dense" else ("csr", None)
    csr = layout == "csr"  # torch's ToDenseBackward refuses BSR
    e, t, (es, _), (ts, _) = run(fns[case], MATRIX, layout=layout, blocksize=blocksize,
                                 torch_grad=csr)
    if csr:
        assert node_name(e) == node_name(t)
        same_leaf_grad(es, ts)
    else:
        assert node_name(e) == "ToDenseBackward0"
        ember_gradcheck(fns[case], MATRIX, layout=layout, blocksize=blocksize)


@pytest.mark.parametrize("layout", ["csr", "csc", "bsr"])
def test_dense_to_compressed_gradient(layout):
    def fn(lib, s, x):
        if layout == "bsr":
            return x.to_sparse_bsr((2, 2)).to_dense()
        return getattr(x, f"to_sparse_{layout}")().to_dense()

    e, t, (_, (ex,)), (_, (tx,)) = run(fn, MATRIX, MATRIX, grad=True)
    same_dense(e, t)
    # torch's ToSparse*Backward passes the whole dense gradient back; ember's reaches the
    # entries that were stored (the non-zeros; whole blocks for BSR)
    stored = pattern(build_sparse(ember, MATRIX, layout, (2, 2)))
    np.testing.assert_allclose(as_numpy(ex.grad), as_numpy(tx.grad) * stored, rtol=1e-7)


def test_constructor_from_values_is_differentiable():
    values = ember.tensor([1., 2., 3.], dtype=ember.float64, requires_grad=True)
    s = ember.sparse_csr_tensor([0, 2, 3], [0, 1, 1], values * 2, (2, 2))
    (s @ ember.ones(2, 2, dtype=ember.float64)).sum().backward()
    np.testing.assert_allclose(as_numpy(values.grad), [4., 4., 4.])


@pytest.mark.parametrize("layout", ["csr", "csc", "bsr", "bsc"])
def test_as_sparse_gradcheck(layout):
    blocksize = (2, 2) if layout[0] == "b" else None
    results = []
    for lib in (ember, torch):
        gradcheck = lib.sparse.as_sparse_gradcheck(lib.autograd.gradcheck)
        base = lib.tensor(MATRIX)
        s = (getattr(base, f"to_sparse_{layout}")(blocksize) if blocksize
             else getattr(base, f"to_sparse_{layout}")()).requires_grad_(True)
        results.append(gradcheck(lambda x: x.to_dense() * 2, s))
        results.append(gradcheck(lambda x: x.to_dense(), (s,), masked=True))
    assert results == [True] * 4


def test_as_sparse_gradcheck_of_products():
    gradcheck = ember.sparse.as_sparse_gradcheck(ember.autograd.gradcheck)
    s = ember.tensor(MATRIX).to_sparse_csr().requires_grad_(True)
    w = ember.tensor(W, requires_grad=True)
    assert gradcheck(lambda a, b: ember.sparse.mm(a, b), (s, w), masked=True)
    assert gradcheck(lambda a: a * 3.0 + a, (s,), masked=True)
    assert gradcheck(lambda a: a.t(), (s,))



CHAINS = {  # torch's dense gradient reaches the dense source through these, not through abs
    "to_csr_mm": lambda lib, x, w: x.to_sparse_csr() @ w,
    "to_bsr_mm": lambda lib, x, w: x.to_sparse_bsr((2, 2)) @ w,
    "to_csr_sum": lambda lib, x, w: x.to_sparse_csr().sum(),
    "to_csr_t_mm": lambda lib, x, w: x.to_sparse_csr().t() @ w,
    "csr_to_csc_mm": lambda lib, x, w: x.to_sparse_csr().to_sparse_csc() @ w,
    "scaled_mm": lambda lib, x, w: (x.to_sparse_csr() * 2) @ w,
    "negated_mv": lambda lib, x, w: (-x.to_sparse_csr()).mv(w[:, 0]),
    "sum_of_two_mm": lambda lib, x, w: (x.to_sparse_csr() + x.t().to_sparse_csr()) @ w,
    "abs_mm": lambda lib, x, w: x.to_sparse_csr().abs() @ w,
    "to_dense": lambda lib, x, w: x.to_sparse_csr().to_dense() * w.sum(),
    "dense_plus": lambda lib, x, w: lib.ones(4, 4, dtype=x.dtype) + x.to_sparse_csr(),
    "addmm": lambda lib, x, w: lib.addmm(w, x.to_sparse_csr(), w[:4, :2]),
    "clone_mm": lambda lib, x, w: x.to_sparse_csc().clone() @ w,
}


@pytest.mark.parametrize("name", CHAINS)
def test_gradient_through_chains_to_a_dense_source(name):
    weights = RNG.standard_normal((4, 2))
    outs = []
    for lib in (ember, torch):
        x = lib.tensor(MATRIX, requires_grad=True)
        # torch's BSR backward to the dense factor is missing (BSC @ strided on CPU)
        w = lib.tensor(weights, requires_grad="bsr" not in name)
        out = CHAINS[name](lib, x, w)
        (out * lib.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)))).sum() \
            .backward()
        outs.append((out, x.grad, w.grad))
    (e, ex, ew), (t, tx, tw) = outs
    same_dense(e, t)
    same_dense(ex, tx)
    same_grad(ew, tw)
