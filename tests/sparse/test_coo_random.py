"""Random COO tensors (duplicates, hybrid dense dimensions, empty ones) through the core
operations, against PyTorch: a sweep that catches index bookkeeping slips."""

from __future__ import annotations

import numpy as np
import oracle
import pytest
import torch
from oracle import as_numpy
from sparse_oracle import both, same_sparse, same_sparse_sum

import ember

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")


def random_case(seed):
    rng = np.random.default_rng(seed)
    sparse_dim = int(rng.integers(1, 4))
    dense_dim = int(rng.integers(0, 2))
    shape = tuple(int(n) for n in rng.integers(1, 5, sparse_dim + dense_dim))
    nnz = int(rng.integers(0, 9))
    indices = np.stack([rng.integers(0, n, nnz) for n in shape[:sparse_dim]])
    values = rng.standard_normal((nnz, *shape[sparse_dim:])).astype(np.float64)
    return indices.reshape(sparse_dim, nnz), values, shape


def build(lib, case):
    indices, values, shape = case
    return lib.sparse_coo_tensor(lib.tensor(indices), lib.tensor(values), shape)


@pytest.mark.parametrize("seed", range(24))
def test_random_sparse_tensors(seed):
    case = random_case(seed)
    e, t = both(lambda lib: build(lib, case))
    assert e.device.type == oracle.DEVICE
    same_sparse(e, t)
    same_sparse(e.coalesce(), t.coalesce())
    np.testing.assert_allclose(as_numpy(e.to_dense()), as_numpy(t.to_dense()), rtol=1e-12)
    same_sparse(e * 2.5, t * 2.5)
    same_sparse_sum(e.coalesce() + e.coalesce() * 3, t.coalesce() + t.coalesce() * 3)
    for dim in range(e.ndim):
        result_e, result_t = ember.sparse.sum(e, dim), torch.sparse.sum(t, dim)
        if result_t.is_sparse:
            same_sparse(result_e, result_t)
        else:
            np.testing.assert_allclose(as_numpy(result_e), as_numpy(result_t), rtol=1e-12)
        if e._nnz():
            same_sparse(ember.sparse.softmax(e, dim), torch.sparse.softmax(t, dim))
    dense = torch.tensor(np.random.default_rng(seed).standard_normal(tuple(t.shape)),
                         device=t.device)
    np.testing.assert_allclose(as_numpy(ember.tensor(as_numpy(dense), device=e.device) + e),
                               as_numpy(dense + t), rtol=1e-12)
    if e.sparse_dim() >= 2:
        same_sparse(e.transpose(0, 1), t.transpose(0, 1))
    if e.sparse_dim() == 2 and e.dense_dim() == 0:
        right = np.random.default_rng(seed).standard_normal((t.shape[1], 3))
        np.testing.assert_allclose(as_numpy(ember.sparse.mm(e, ember.tensor(right,
                                                                          device=e.device))),
                                   as_numpy(torch.sparse.mm(t, torch.tensor(right,
                                                                            device=t.device))),
                                   rtol=1e-12, atol=1e-12)
    same_sparse(ember.tensor(as_numpy(t.to_dense()), device=e.device).to_sparse(e.sparse_dim()),
                t.to_dense().to_sparse(t.sparse_dim()))
