"""Comparing a sparse ember result with PyTorch's: printed form and parts."""

from __future__ import annotations

import numpy as np
from oracle import as_numpy, on_device


def same_sparse(e, t, rtol=1.3e-6, atol=1e-5, check_repr=True, check_coalesced=True):
    """Same indices, values, size, nnz, dtype and coalesced flag; with ``check_repr`` the
    printed forms agree too (they include grad_fn names, which differ for some ops)."""
    import ember

    assert e.is_sparse and t.is_sparse
    if check_repr and e.device.type == t.device.type:
        # both name the device (cuda:0) or neither does (cpu)
        assert repr(e) == repr(t), (repr(e), repr(t))
    elif check_repr:  # ember on the device, torch (the oracle) on the host
        with on_device(ember):  # printed as torch's would be with ember's device as default
            assert repr(e) == repr(t)
    device = e.device.type
    assert e._indices().device.type == e._values().device.type == device
    if check_coalesced:
        assert e.is_coalesced() == t.is_coalesced()
    assert tuple(e.shape) == tuple(t.shape) and str(e.dtype) == str(t.dtype)
    assert (e.sparse_dim(), e.dense_dim(), e._nnz()) == (t.sparse_dim(), t.dense_dim(), t._nnz())
    np.testing.assert_array_equal(as_numpy(e._indices()), as_numpy(t._indices()))
    np.testing.assert_allclose(as_numpy(e._values()), as_numpy(t._values()), rtol=rtol,
                               atol=atol)


def same_sparse_sum(e, t, check_repr=True):
    """A sum of sparse tensors: PyTorch's CUDA kernel concatenates the operands (an
    uncoalesced result), its CPU kernel merges coalesced ones. Compared as ``same_sparse``
    where both libraries ran on one device; else (ember on cuda, the oracle on the cpu) by
    the coalesced contents."""
    if e.device.type == t.device.type:
        same_sparse(e, t, check_repr=check_repr)
    else:
        same_sparse(e.coalesce(), t.coalesce(), check_repr=False)


def both(fn):
    """``fn(ember)`` and ``fn(torch)``, each library building its tensors on its oracle
    device (``pytest --device cuda`` puts ember's on cuda; torch's stay on the cpu
    unless torch has a GPU, or $EMBER_TEST_TORCH_DEVICE says cpu)."""
    import torch

    import ember

    with on_device(ember):
        e = fn(ember)
    with on_device(torch):
        t = fn(torch)
    return e, t


def same_compressed(e, t, rtol=1.3e-6, atol=1e-5, check_repr=True):
    """A compressed (CSR/CSC/BSR/BSC) ember tensor equal to torch's: layout, size, dtype,
    nnz, both index tensors (values and dtype) and the values; with ``check_repr`` the
    printed forms agree too."""
    import torch

    assert str(e.layout) == str(t.layout)
    if check_repr:
        assert repr(e) == repr(t)
    assert tuple(e.shape) == tuple(t.shape) and str(e.dtype) == str(t.dtype)
    assert (e._nnz(), e.dense_dim(), e.sparse_dim()) == (t._nnz(), t.dense_dim(), t.sparse_dim())
    row = t.layout in (torch.sparse_csr, torch.sparse_bsr)
    names = ("crow_indices", "col_indices") if row else ("ccol_indices", "row_indices")
    for name in names:
        ei, ti = getattr(e, name)(), getattr(t, name)()
        assert str(ei.dtype) == str(ti.dtype), name
        np.testing.assert_array_equal(as_numpy(ei), as_numpy(ti))
    np.testing.assert_allclose(as_numpy(e.values()), as_numpy(t.values()), rtol=rtol,
                               atol=atol)
