"""PyTorch's dense gradient for a compressed *leaf* in ``mm``/``@``/``addmm``/``mv``/``sum``.

``torch.mm(csr_leaf, w)`` treats the CSR matrix as a matrix like any other: its leaf gets
the gradient of every entry, stored or not (a strided ``.grad``), whereas
``torch.sparse.mm`` and the pointwise ops give a gradient on the stored pattern only.
ember's compressed tensors carry their autograd on ``values`` (the pattern), so for these
ops a leaf lends a *dense shadow*: a zero-strided leaf of the full shape that takes the
dense gradient. ``SparseCompressedTensor.grad`` adds it to the values' gradient.

Only leaves get this: through a chain (``(csr * 2) @ w``) the gradient still stops at the
stored pattern.
"""

from __future__ import annotations

from .._backend import array_module
from .._tensor import _make
from ..autograd import is_grad_enabled
from ..autograd.function import Function
from ._spmm import SparseDenseMm, _spmm_arrays


def shadow_of(sparse):
    """The leaf's dense shadow (made once), or None when no dense gradient is wanted."""
    values = sparse._sp_values
    if not (values.requires_grad and values.grad_fn is None and is_grad_enabled()):
        return None
    shadow = sparse._sc_shadow
    if shadow is None:
        array = values.detach()._data
        xp = array_module(array)
        shadow = _make(xp.broadcast_to(xp.zeros((), dtype=array.dtype), sparse._sp_shape))
        shadow.requires_grad_(True)
        sparse._sc_shadow = shadow
    return shadow


class ShadowMm(Function):
    """``S @ dense`` (``transposed``: ``(S^T @ dense)``, for ``dense @ S``) whose first input
    is the dense shadow of ``S``: its gradient is ``grad @ dense^T`` (every entry)."""

    @staticmethod
    def forward(ctx, shadow, dense, values, rows, cols, n_rows, transposed):
        ctx.save_for_backward(dense)
        ctx.values, ctx.rows, ctx.cols, ctx.transposed = values, rows, cols, transposed
        return _make(_spmm_arrays(values._data, dense._data, rows, cols, n_rows))

    @staticmethod
    def backward(ctx, grad):
        (dense,) = ctx.saved_tensors
        grad_shadow = grad_dense = None
        if ctx.needs_input_grad[0]:
            grad_shadow = grad @ dense.t()
            if ctx.transposed:
                grad_shadow = grad_shadow.t()
        if ctx.needs_input_grad[1]:
            grad_dense = SparseDenseMm.apply(ctx.values, grad, ctx.cols, ctx.rows,
                                             dense.shape[0])
        return grad_shadow, grad_dense, None, None, None, None, None


class ShadowSum(Function):
    """The sum of the stored values, differentiated as the sum of every entry."""

    @staticmethod
    def forward(ctx, shadow, values):
        ctx.shape = tuple(shadow.shape)
        return values.sum()

    @staticmethod
    def backward(ctx, grad):
        return grad.expand(ctx.shape), None
