"""Sparse MaskedTensors (COO and CSR), as torch.masked builds them.

A sparse MaskedTensor is a data tensor and a bool mask of one sparse layout sharing one
index structure: the stored elements, each specified or not by the mask's value there;
elements not stored are unspecified. ember keeps the tensor dense underneath (the data
with 0 where nothing is stored, the mask False there), so every dense op, the repr and
the reductions work unchanged, and remembers the sparse mask (``_sparse_mask``): its
layout and index structure give ``layout``, ``get_data()`` and ``get_mask()`` back in
sparse form. Ops that keep the structure (elementwise unary and binary ops) keep it;
reductions over all elements give a dense result, as in PyTorch.
"""

from __future__ import annotations

import ember

def is_sparse_layout(layout) -> bool:
    return layout in (ember.sparse_coo, ember.sparse_csr)


def _coo_indices(sparse):
    """The (ndim, nnz) indices of a COO or CSR tensor, in COO order."""
    if sparse.layout is ember.sparse_csr:
        sparse = sparse.to_sparse_coo()
    return sparse.coalesce().indices()


def _same_structure(a, b) -> bool:
    if a.layout is ember.sparse_csr:
        return (a.crow_indices().equal(b.crow_indices())
                and a.col_indices().equal(b.col_indices()))
    ia, ib = a.coalesce().indices(), b.coalesce().indices()
    return ia.shape == ib.shape and bool((ia == ib).all())


def split(data, mask):
    """(dense data, dense mask, sparse mask) of a sparse MaskedTensor, checked as PyTorch
    checks them: data stored where the mask is not is dropped (the data takes the
    mask's structure); equal counts with other positions are an error."""
    if data.layout is ember.sparse_coo:
        data, mask = data.coalesce(), mask.coalesce()
    if data._nnz() == mask._nnz() and not _same_structure(data, mask):
        if data.layout is ember.sparse_coo:
            raise ValueError("data and mask are both sparse COO tensors but do not have the "
                             "same indices.")
        raise ValueError("data and mask are both sparse CSR tensors but do not share either "
                         "crow or col indices.")
    stored = ember.zeros(mask.shape, dtype=ember.bool, device=mask.device)
    stored[tuple(_coo_indices(mask))] = True
    zero = ember.zeros((), dtype=data.dtype, device=data.device)
    dense_data = ember.where(stored, data.to_dense(), zero)
    return dense_data, mask.to_dense(), mask


def sparse_data(dense, sparse_mask):
    """``dense`` stored at ``sparse_mask``'s positions, in its layout."""
    return dense.sparse_mask(sparse_mask)


def same_structure(a, b) -> bool:
    """Whether two sparse MaskedTensors store the same positions (binary ops need it)."""
    return a.layout is b.layout and _same_structure(a, b)


def convert(mt, target):
    """``mt`` as a MaskedTensor of layout ``target``: (dense data, dense mask, sparse
    mask or None). Dense to sparse stores the specified elements only; CSR needs 2-D."""
    dense_data, dense_mask = mt._masked_data, mt._dense_mask()
    current = mt.__dict__.get("_sparse_mask")
    if target is ember.strided:
        return dense_data, dense_mask, None
    if target is ember.sparse_csr and dense_data.dim() != 2:
        raise ValueError("Only 2D tensors can be converted to the SparseCsr layout but got "
                         f"shape: {dense_data.shape}")
    source = current
    if current is None:  # only the specified elements are stored
        source = dense_mask
        dense_data = ember.where(dense_mask, dense_data,
                                 ember.zeros((), dtype=dense_data.dtype, device=dense_data.device))
    if source.layout is target:
        sparse_mask = source
    elif target is ember.sparse_coo:
        sparse_mask = source.to_sparse_coo().coalesce()
    else:
        sparse_mask = source.to_sparse_csr()
    return dense_data, dense_mask, sparse_mask
