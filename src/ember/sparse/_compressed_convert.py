"""Conversions between strided, COO and the compressed layouts.

Every conversion moves ``values`` with differentiable dense ops (advanced indexing, a
reshape, ``index_add`` into zeros), so gradients flow through them as in PyTorch; index
arrays are computed with plain array work (a ``nonzero``, a stable sort, a ``bincount``).
Block layouts are handled as ``(bh, bw)``-blocked views of the dense matrix: a dense
``(R, C)`` matrix is seen as ``(R/bh, C/bw, bh, bw)`` and CSR/CSC as the 1x1-block case.
"""

from __future__ import annotations

import math

import numpy as np

from .._backend import array_module
from .._tensor import Tensor, _make
from ._compressed import (
    _BLOCKED,
    _ROW_COMPRESSED,
    COMPRESSED_LAYOUTS,
    SparseCompressedTensor,
    _new,
    block_rows_cols,
    from_entries,
    layout_label,
)
from ._compressed_leafgrad import shadow_of, with_twin
from ._layout import sparse_bsc, sparse_bsr, sparse_coo, sparse_csc, sparse_csr, strided
from ._names import named

_NODE = {sparse_csr: "ToSparseCsrBackward0", sparse_csc: "ToSparseCscBackward0",
         sparse_bsr: "ToSparseBsrBackward0", sparse_bsc: "ToSparseBscBackward0"}
_SHORT = {sparse_csr: "csr", sparse_csc: "csc", sparse_bsr: "bsr", sparse_bsc: "bsc"}


def _split_shape(tensor):
    """``(batch_shape, (R, C), dense_shape)`` of a compressed tensor."""
    batch = tensor._batch_dim()
    shape = tensor._sp_shape
    return shape[:batch], shape[batch:batch + 2], shape[batch + 2:]


def compressed_to_dense(tensor, dtype=None) -> Tensor:
    """The strided tensor: each stored block scattered into a zero matrix (differentiable
    in ``values``)."""
    values = tensor._sp_values if dtype is None else tensor._sp_values.to(dtype)
    batch_shape, (nrows, ncols), dense_shape = _split_shape(tensor)
    bh, bw = tensor._blocksize()
    n_batch = math.prod(batch_shape)
    rb_count, cb_count = (nrows // bh if bh else 0), (ncols // bw if bw else 0)
    batch, rb, cb = block_rows_cols(tensor)
    linear = (batch * rb_count + rb) * cb_count + cb
    blocks = values.reshape((n_batch * tensor._nnz(), bh, bw) + dense_shape)
    out = values.new_zeros((n_batch * rb_count * cb_count, bh, bw) + dense_shape)
    out = out.index_add(0, _make(linear), blocks)
    out = out.reshape((n_batch, rb_count, cb_count, bh, bw) + dense_shape)
    out = out.permute((0, 1, 3, 2, 4) + tuple(range(5, 5 + len(dense_shape))))
    return named(out.reshape(tensor._sp_shape), "ToDenseBackward0")


def _blocksize_pair(blocksize):
    if blocksize is None:
        return None
    if isinstance(blocksize, int):
        return (blocksize, blocksize)
    return tuple(int(b) for b in blocksize)


def dense_to_compressed(input, layout, blocksize=None, dense_dim=None):
    """``Tensor.to_sparse_csr/csc/bsr/bsc``: the non-zero elements (blocks with a non-zero
    element) of the last two non-dense dimensions, leading dimensions as batches."""
    dense_dim = 0 if dense_dim is None else int(dense_dim)
    ndim = input.ndim
    n_batch_dims = ndim - 2 - dense_dim
    if n_batch_dims < 0:
        raise RuntimeError(
            f"to_sparse_{_SHORT[layout]}: expected a tensor with at least {2 + dense_dim} "
            f"dimensions (2 sparse and {dense_dim} dense), but got {ndim}")
    shape = tuple(input.shape)
    batch_shape = shape[:n_batch_dims]
    nrows, ncols = shape[n_batch_dims:n_batch_dims + 2]
    dense_shape = shape[n_batch_dims + 2:]
    if layout in _BLOCKED:
        bh, bw = _blocksize_pair(blocksize)
        if (bh and nrows % bh) or (bw and ncols % bw) or not bh or not bw:
            raise RuntimeError(
                f"dense_to_sparse_{_SHORT[layout]}: tensor sparse size ({nrows},{ncols}) must "
                f"be divisible by given blocksize ({bh},{bw})")
    else:
        bh = bw = 1
    n_batch = math.prod(batch_shape)
    rb_count, cb_count = nrows // bh, ncols // bw
    blocked = input.reshape((n_batch, rb_count, bh, cb_count, bw) + dense_shape)
    blocked = blocked.permute((0, 1, 3, 2, 4) + tuple(range(5, 5 + len(dense_shape))))
    array = blocked.detach()._data
    xp = array_module(array)
    mask = (array != 0).any(axis=tuple(range(3, array.ndim))) if array.ndim > 3 else array != 0
    row = layout in _ROW_COMPRESSED
    if not row:
        mask = mask.transpose(0, 2, 1)
    batch, compressed, plain = (w.astype(np.int64) for w in xp.nonzero(mask))
    nnz = batch.shape[0] // n_batch if n_batch else 0
    if n_batch > 1 and bool((xp.bincount(batch, minlength=n_batch) != nnz).any()):
        raise RuntimeError("Expect the same number of specified elements per batch.")
    rows, cols = (compressed, plain) if row else (plain, compressed)
    values = blocked[_make(batch), _make(rows), _make(cols)]
    if layout not in _BLOCKED:
        values = values.reshape((values.shape[0],) + dense_shape)
    values = values.reshape(batch_shape + (nnz,) + tuple(values.shape[1:]))
    n_compressed = rb_count if row else cb_count
    cidx, pidx = from_entries(xp, batch_shape, n_compressed, compressed, plain, nnz)
    result = _new(cidx, pidx, named(values, _NODE[layout]), shape, layout)
    return with_twin(result, input)  # torch.mm's gradient reaches all of ``input``


def _element_entries(tensor):
    """Element-level ``(batch, row, col, values)`` of every stored element (a block
    expands to its ``bh * bw`` elements), values flattened to ``(n, *dense)``."""
    batch, rb, cb = block_rows_cols(tensor)
    bh, bw = tensor._blocksize()
    _, _, dense_shape = _split_shape(tensor)
    values = tensor._sp_values.reshape((-1,) + dense_shape)
    if (bh, bw) == (1, 1):
        return batch, rb, cb, values
    xp = array_module(batch)
    inner_r = xp.repeat(xp.arange(bh, dtype=np.int64), bw)
    inner_c = xp.tile(xp.arange(bw, dtype=np.int64), bh)
    rows = (rb[:, None] * bh + inner_r[None, :]).reshape(-1)
    cols = (cb[:, None] * bw + inner_c[None, :]).reshape(-1)
    return xp.repeat(batch, bh * bw), rows, cols, values


def _coo_coalesced_flag(tensor, batch, rows, cols):
    """The coalesced flag PyTorch gives ``to_sparse_coo()``'s result: always for CSR; for
    CSC as a transpose leaves it (one entry, or no elements at all); for blocks, whether the
    element order happens to be row-major and unique."""
    layout = tensor._sc_layout
    if layout is sparse_csr:
        return True
    if layout is sparse_csc:
        return rows.shape[0] == 1 or tensor.numel() == 0
    _, (nrows, ncols), _ = _split_shape(tensor)
    linear = (batch * nrows + rows) * ncols + cols
    return bool((linear[1:] > linear[:-1]).all()) if linear.shape[0] > 1 else True


def compressed_to_coo(tensor):
    """``to_sparse_coo``: a COO tensor with ``batch + 2`` sparse dimensions, one entry per
    stored element in storage order (coalesced when that order is row-major: CSR and 1x1
    BSR, as PyTorch flags it)."""
    from ._coo import _new as new_coo
    from ._coo import _unravel

    batch_shape, _, _ = _split_shape(tensor)
    batch, rows, cols, values = _element_entries(tensor)
    xp = array_module(rows)
    coalesced = _coo_coalesced_flag(tensor, batch, rows, cols)
    if batch_shape:
        coords = [_unravel(batch, batch_shape), rows[None], cols[None]]
        indices = xp.concatenate(coords, axis=0)
    else:
        indices = xp.stack([rows, cols]) if rows.size else xp.zeros((2, 0), dtype=np.int64)
    return new_coo(_make(indices.astype(np.int64)), named(values, "ToSparseBackward1"),
                   tensor._sp_shape, coalesced)


def coo_to_compressed(coo, layout, blocksize=None, dense_dim=None):
    """A COO tensor in a compressed layout. Two sparse dimensions and no blocks: its own
    pattern, reordered; otherwise through the dense tensor (pattern = non-zeros)."""
    if coo.sparse_dim() != 2 or layout in _BLOCKED:
        return dense_to_compressed(coo.to_dense(), layout, blocksize,
                                   coo.dense_dim() if dense_dim is None else dense_dim)
    coo = coo.coalesce()
    indices = coo._sp_indices._data
    xp = array_module(indices)
    rows, cols = indices[0], indices[1]
    values = coo._sp_values
    nrows, ncols = coo._sp_shape[:2]
    if layout is sparse_csr:
        compressed, plain, n_compressed = rows, cols, nrows
    else:
        order = xp.argsort(cols * nrows + rows, kind="stable")
        compressed, plain, n_compressed = cols[order], rows[order], ncols
        values = values[_make(order.astype(np.int64))]
    cidx, pidx = from_entries(xp, (), n_compressed, compressed, plain, compressed.shape[0])
    return _new(cidx, pidx, named(values, _NODE[layout]), coo._sp_shape, layout)


def _flip(tensor, layout):
    """CSR <-> CSC and BSR <-> BSC: the same entries ordered by the other dimension."""
    batch_shape, (nrows, ncols), _ = _split_shape(tensor)
    bh, bw = tensor._blocksize()
    batch, rb, cb = block_rows_cols(tensor)
    xp = array_module(rb)
    row = layout in _ROW_COMPRESSED
    compressed, plain = (rb, cb) if row else (cb, rb)
    n_compressed = nrows // bh if row else ncols // bw
    n_plain = ncols // bw if row else nrows // bh
    order = xp.argsort((batch * n_compressed + compressed) * n_plain + plain, kind="stable")
    values = tensor._sp_values
    per_entry = tuple(values.shape[len(batch_shape) + 1:])
    flat = values.reshape((-1,) + per_entry)[_make(order.astype(np.int64))]
    values = flat.reshape(batch_shape + (tensor._nnz(),) + per_entry)
    cidx, pidx = from_entries(xp, batch_shape, n_compressed, compressed[order], plain[order],
                              tensor._nnz())
    result = _new(cidx, pidx, named(values, _NODE[layout]), tensor._sp_shape, layout)
    return with_twin(result, shadow_of(tensor))


def convert(tensor, layout, blocksize=None, dense_dim=None):
    """A compressed tensor in ``layout`` (``to_sparse(layout=...)`` and friends)."""
    if layout is strided:
        return tensor.to_dense()
    if layout is sparse_coo:
        return compressed_to_coo(tensor)
    if layout not in COMPRESSED_LAYOUTS:
        raise RuntimeError(f"to_sparse: unsupported layout {layout}")
    source = tensor._sc_layout
    blocksize = _blocksize_pair(blocksize)
    if layout is source and (blocksize is None or blocksize == tensor._blocksize()):
        return tensor
    if layout not in _BLOCKED and source in _BLOCKED:
        raise RuntimeError(
            f"sparse_compressed_to_sparse_{_SHORT[layout]}: expected SparseCsr or SparseCsc "
            f"layout but got {layout_label(source)}")
    if (layout in _BLOCKED) == (source in _BLOCKED) and (
            blocksize is None or blocksize == tensor._blocksize()):
        return _flip(tensor, layout)
    if layout in _BLOCKED and blocksize is None:
        raise RuntimeError(
            f"to_sparse_{_SHORT[layout]}: conversion from {layout_label(source)} to "
            f"{layout_label(layout)} without blocksize argument given is not supported")
    result = dense_to_compressed(tensor.to_dense(), layout, blocksize, tensor.dense_dim())
    result._sc_shadow = None
    return with_twin(result, shadow_of(tensor))


def to_sparse(input, sparse_dim=None, layout=None, blocksize=None, dense_dim=None):
    """``Tensor.to_sparse`` of a strided or COO tensor, any target layout."""
    if layout is None or layout is sparse_coo:
        if isinstance(input, SparseCompressedTensor):
            return compressed_to_coo(input)
        from ._coo import dense_to_sparse

        if sparse_dim is None and dense_dim is not None:
            sparse_dim = input.ndim - dense_dim
        return dense_to_sparse(input, sparse_dim)
    if layout is strided:
        return input.to_dense()
    if layout not in COMPRESSED_LAYOUTS:
        raise RuntimeError(f"to_sparse: unsupported layout {layout}")
    if sparse_dim is not None:
        raise RuntimeError(
            "to_sparse: sparse_dim is only supported for the sparse_coo layout")
    if isinstance(input, SparseCompressedTensor):
        return convert(input, layout, blocksize, dense_dim)
    if layout in _BLOCKED and blocksize is None:
        source = "Sparse" if input.is_sparse else "Strided"
        raise RuntimeError(
            f"{'sparse_coo_to_sparse' if input.is_sparse else 'dense_to_sparse'}: conversion "
            f"from {source} to {layout_label(layout)} without blocksize argument given is "
            "not supported")
    if input.is_sparse:
        return coo_to_compressed(input, layout, blocksize, dense_dim)
    return dense_to_compressed(input, layout, blocksize, dense_dim)
