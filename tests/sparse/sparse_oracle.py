"""Comparing a sparse ember result with PyTorch's: printed form and parts."""

from __future__ import annotations

import numpy as np
from oracle import as_numpy


def same_sparse(e, t, rtol=1.3e-6, atol=1e-5, check_repr=True, check_coalesced=True):
    """Same indices, values, size, nnz, dtype and coalesced flag; with ``check_repr`` the
    printed forms agree too (they include grad_fn names, which differ for some ops)."""
    assert e.is_sparse and t.is_sparse
    if check_repr:
        assert repr(e) == repr(t)
    if check_coalesced:
        assert e.is_coalesced() == t.is_coalesced()
    assert tuple(e.shape) == tuple(t.shape) and str(e.dtype) == str(t.dtype)
    assert (e.sparse_dim(), e.dense_dim(), e._nnz()) == (t.sparse_dim(), t.dense_dim(), t._nnz())
    np.testing.assert_array_equal(as_numpy(e._indices()), as_numpy(t._indices()))
    np.testing.assert_allclose(as_numpy(e._values()), as_numpy(t._values()), rtol=rtol,
                               atol=atol)


def both(fn):
    import torch

    import ember

    return fn(ember), fn(torch)
