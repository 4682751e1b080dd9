"""``sparse @ dense`` as one autograd node with a fast kernel.

Forward: SciPy's CSR product on the CPU when SciPy is installed (a compiled loop over the
stored entries, ~50x faster than gathering rows and scatter-adding them), else a gather
of the dense rows, a stable sort by output row and one ``add.reduceat``; on CuPy a gather
and a scatter-add. Backward, written with Tensor ops so double backward works:
``grad_values[k] = <grad[row_k], dense[col_k]>`` and ``grad_dense = S^T @ grad`` (this node
again, with rows and columns swapped).
"""

from __future__ import annotations

import numpy as np

from .._backend import array_module
from .._tensor import _make
from ..autograd.function import Function


def _spmm_arrays(values, dense, rows, cols, n_rows):
    xp = array_module(dense)
    if xp is np and (values.dtype.kind == "c" or values.dtype.kind == "f"
                     and values.dtype.itemsize >= 4):
        try:
            from scipy import sparse as scipy_sparse
        except ImportError:
            scipy_sparse = None
        if scipy_sparse is not None:
            matrix = scipy_sparse.csr_matrix((values, (rows, cols)),
                                             shape=(n_rows, dense.shape[0]))
            return np.ascontiguousarray(matrix @ dense, dtype=dense.dtype)
    contributions = values[:, None] * dense[cols]
    out = xp.zeros((n_rows, dense.shape[1]), dtype=contributions.dtype)
    if rows.shape[0] == 0:
        return out
    if xp is np:
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
        out[sorted_rows[starts]] = np.add.reduceat(contributions[order], starts, axis=0)
    elif hasattr(xp.add, "at"):
        xp.add.at(out, rows, contributions)
    else:
        import cupyx

        cupyx.scatter_add(out, rows, contributions)
    return out


class SparseDenseMm(Function):
    """``S @ dense`` for a 2-D COO ``S`` given as ``values`` and index arrays."""

    @staticmethod
    def forward(ctx, values, dense, rows, cols, n_rows):
        ctx.save_for_backward(values, dense)
        ctx.rows, ctx.cols = rows, cols
        return _make(_spmm_arrays(values._data, dense._data, rows, cols, n_rows))

    @staticmethod
    def backward(ctx, grad):
        values, dense = ctx.saved_tensors
        rows, cols = ctx.rows, ctx.cols
        grad_values = grad_dense = None
        if ctx.needs_input_grad[0]:
            grad_values = (grad[_make(rows)] * dense[_make(cols)]).sum(1)
        if ctx.needs_input_grad[1]:
            grad_dense = SparseDenseMm.apply(values, grad, cols, rows, dense.shape[0])
        return grad_values, grad_dense, None, None, None
