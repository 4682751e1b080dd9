"""PyTorch's dense gradient through ``mm``/``@``/``addmm``/``mv``/``sum()``/``dense + csr``.

``torch.mm(csr, w)`` treats the CSR matrix as a matrix like any other: the gradient it
sends back covers every entry, stored or not, and passes unchanged through conversions
(``x.to_sparse_csr()``, ``to_sparse_csc()``), transposes, scalar products and sums of
compressed tensors, so a dense ``x`` or a compressed leaf ends with a strided ``.grad``.
``torch.sparse.mm``, ``to_dense()`` and the pointwise ops send a gradient on the stored
pattern only, which is what ember's ``values`` carry.

So a compressed tensor may hold a *twin*: a dense tensor of its shape whose graph covers
every path its values have, and through which the dense gradient travels (the twin's own
numbers are never read). A leaf's twin is a zero-strided leaf of zeros made on first use
(``SparseCompressedTensor.grad`` adds its gradient); ``x.to_sparse_*()``'s twin is ``x``;
conversions, transposes, ``* scalar``, negation and sums of two twinned tensors carry
twins along. Any other op drops the twin, and the gradient after it stops at the pattern.
"""

from __future__ import annotations

from .._backend import array_module
from .._tensor import _make
from ..autograd import is_grad_enabled
from ..autograd.function import Function
from ._spmm import SparseDenseMm, _spmm_arrays


def shadow_of(sparse):
    """The twin of ``sparse`` (a leaf's zero shadow is made once), or None when no dense
    gradient can flow: no gradient wanted, or an op dropped the twin."""
    values = sparse._sp_values
    if not (values.requires_grad and is_grad_enabled()):
        return None
    shadow = sparse._sc_shadow
    if shadow is None and values.grad_fn is None:
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


class ShadowDense(Function):
    """``sparse.to_dense()`` (given as ``dense``, computed without gradient) whose gradient
    goes whole to the twin."""

    @staticmethod
    def forward(ctx, shadow, dense):
        return _make(dense._data)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def _zeros(like, shape):
    """A zero-strided array of ``shape``: a twin's value, which nothing reads."""
    array = like.detach()._data
    xp = array_module(array)
    return _make(xp.broadcast_to(xp.zeros((), dtype=array.dtype), tuple(shape)))


class TwinScale(Function):
    """``twin * factor`` as a twin: the gradient is scaled, no dense array is computed."""

    @staticmethod
    def forward(ctx, twin, factor):
        ctx.factor = factor
        return _zeros(twin, twin.shape)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.factor, None


class TwinTranspose(Function):
    @staticmethod
    def forward(ctx, twin, dim0, dim1):
        ctx.dims = (dim0, dim1)
        shape = list(twin.shape)
        shape[dim0], shape[dim1] = shape[dim1], shape[dim0]
        return _zeros(twin, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(*ctx.dims), None, None


class TwinSum(Function):
    @staticmethod
    def forward(ctx, first, second, alpha):
        ctx.alpha = alpha
        return _zeros(first, first.shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, (grad if ctx.alpha == 1 else grad * ctx.alpha), None


def with_twin(result, twin):
    """``result`` holding ``twin`` (when there is one and gradients are recorded)."""
    if twin is not None and is_grad_enabled() and twin.requires_grad:
        result._sc_shadow = twin
    return result
