"""ember.linalg's LU family: lu_factor, lu, lu_solve (NumPy has no LU of its own).

The factorization is LAPACK's getrf algorithm (partial pivoting, first largest pivot),
vectorized over the batch; it steps over the columns of the matrix, as getrf does. The
backward of ``lu`` covers square, tall and wide matrices; lu_factor and lu_solve are
composed from it, so their gradients follow.
"""

from __future__ import annotations

import numpy as np

from ._linalg_errors import check_lapack_dtype
from ._ops._select import _return_type
from ._ops._util import _make, type_name, xp_of
from .autograd.function import Function
from .linalg import _check_float, inv, solve

_lu_t = _return_type("linalg_lu", ("P", "L", "U"))
_lu_factor_t = _return_type("linalg_lu_factor", ("LU", "pivots"))


def _getrf(a):
    """(LU, pivots) with LAPACK's conventions: unit-lower L below the diagonal, U on and
    above it, 1-based int32 row interchanges."""
    xp = xp_of(a)
    lu = a.astype(a.dtype, copy=True)
    m, n = lu.shape[-2], lu.shape[-1]
    steps = min(m, n)
    batch_shape = lu.shape[:-2]
    flat = lu.reshape((-1, m, n))
    rows = xp.arange(flat.shape[0])
    pivots = xp.zeros((flat.shape[0], steps), dtype=np.int32)
    for k in range(steps):  # over columns, as getrf; the batch is vectorized
        column = flat[:, k:, k]
        if column.dtype.kind == "c":  # LAPACK's izamax ranks complex pivots by |re| + |im|
            size = xp.abs(column.real) + xp.abs(column.imag)
        else:
            size = xp.abs(column)
        pivot = k + xp.argmax(size, axis=1)
        pivots[:, k] = pivot + 1
        row_k = flat[rows, k].copy()
        flat[rows, k] = flat[rows, pivot]
        flat[rows, pivot] = row_k
        diagonal = flat[:, k, k]
        safe = xp.where(diagonal == 0, 1, diagonal)
        flat[:, k + 1:, k] /= safe[:, None]
        flat[:, k + 1:, k + 1:] -= flat[:, k + 1:, k, None] * flat[:, k, None, k + 1:]
    return flat.reshape(lu.shape), pivots.reshape(batch_shape + (steps,))


def _permutation(pivots, m, dtype, xp):
    """The matrix P of A = P L U from getrf's sequential row interchanges."""
    steps = pivots.shape[-1]
    flat = pivots.reshape((-1, steps)) - 1
    order = xp.broadcast_to(xp.arange(m), (flat.shape[0], m)).copy()
    rows = xp.arange(flat.shape[0])
    for k in range(steps):  # replay the interchanges, vectorized over the batch
        swap = flat[:, k]
        at_k = order[:, k].copy()
        order[:, k] = order[rows, swap]
        order[rows, swap] = at_k
    # Row i of P^T A is row order[i] of A, so P[order[i], i] = 1.
    perm = xp.zeros((flat.shape[0], m, m), dtype=dtype)
    perm[rows[:, None], order, xp.arange(m)[None, :]] = 1
    return perm.reshape(pivots.shape[:-1] + (m, m))


def _split(lu, xp):
    m, n = lu.shape[-2], lu.shape[-1]
    k = min(m, n)
    lower = xp.tril(lu[..., :, :k], -1) + xp.eye(m, k, dtype=lu.dtype)
    upper = xp.triu(lu[..., :k, :])
    return lower, upper


class LU(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a)
        packed, pivots = _getrf(a)
        lower, upper = _split(packed, xp)
        perm = _permutation(pivots, a.shape[-2], a.dtype, xp)
        ctx.save_for_backward(perm, lower, upper)
        ctx.mark_non_differentiable(perm)
        ctx.set_materialize_grads(False)
        return perm, lower, upper, pivots

    @staticmethod
    def backward(ctx, grad_perm, grad_lower, grad_upper, grad_pivots):
        perm, lower, upper = ctx.saved_tensors
        if grad_lower is None and grad_upper is None:
            return None
        m, n = lower.shape[-2], upper.shape[-1]
        if grad_lower is None:
            grad_lower = lower * 0
        if grad_upper is None:
            grad_upper = upper * 0
        k = min(m, n)
        strict_lower = _mask(k, lower, strict_lower=True)
        upper_mask = _mask(k, upper, strict_lower=False)
        if m == n:
            # gA = P L^{-T} (tril(L^T gL, -1) + triu(gU U^T)) U^{-T}   (PyTorch, square)
            phi = (lower.mH.matmul(grad_lower) * strict_lower
                   + grad_upper.matmul(upper.mH) * upper_mask)
            return perm.matmul(inv(lower).mH).matmul(phi).matmul(inv(upper).mH)
        from ._ops.shape_copy import cat

        if m > n:
            # Tall: A' = P^T A = [L1; L2] U. With X = L1^{-1} dA1 U^{-1}:
            # gA1 = L1^{-T} phi U^{-T}, gA2 = gL2 U^{-T},
            # phi = tril(L1^T gL1, -1) + triu(gU U^T) - triu(L2^T gL2).
            lower_top, lower_bottom = lower[..., :n, :], lower[..., n:, :]
            grad_top, grad_bottom = grad_lower[..., :n, :], grad_lower[..., n:, :]
            upper_inv_t = inv(upper).mH
            phi = (lower_top.mH.matmul(grad_top) * strict_lower
                   + grad_upper.matmul(upper.mH) * upper_mask
                   - lower_bottom.mH.matmul(grad_bottom) * upper_mask)
            grad_a1 = inv(lower_top).mH.matmul(phi).matmul(upper_inv_t)
            grad_a2 = grad_bottom.matmul(upper_inv_t)
            return perm.matmul(cat([grad_a1, grad_a2], dim=-2))
        # Wide: A' = L [U1 U2]. With X = L^{-1} dA1 U1^{-1}:
        # gA1 = L^{-T} phi U1^{-T}, gA2 = L^{-T} gU2,
        # phi = tril(L^T gL, -1) + triu(gU1 U1^T) - tril(gU2 U2^T, -1).
        upper_left, upper_right = upper[..., :, :m], upper[..., :, m:]
        grad_left, grad_right = grad_upper[..., :, :m], grad_upper[..., :, m:]
        lower_inv_t = inv(lower).mH
        phi = (lower.mH.matmul(grad_lower) * strict_lower
               + grad_left.matmul(upper_left.mH) * upper_mask
               - grad_right.matmul(upper_right.mH) * strict_lower)
        grad_a1 = lower_inv_t.matmul(phi).matmul(inv(upper_left).mH)
        grad_a2 = lower_inv_t.matmul(grad_right)
        return perm.matmul(cat([grad_a1, grad_a2], dim=-1))


def _mask(n, like, strict_lower):
    mask = np.tril(np.ones((n, n)), -1) if strict_lower else np.triu(np.ones((n, n)))
    return _make(xp_of(like._data).asarray(mask.astype(like._data.dtype)))


def lu(A, *, pivot=True, out=None):
    """(P, L, U) with A = P L U, partial pivoting."""
    _check_float("linalg.lu", A._data)
    if not pivot:
        raise RuntimeError(
            "linalg.lu_factor: LU without pivoting is not implemented on the CPU"
        )
    perm, lower, upper, _ = LU.apply(A)
    return _lu_t(perm, lower, upper)


def lu_factor(A, *, pivot=True, out=None):
    """(LU, pivots): L and U packed in one matrix, LAPACK's 1-based pivots (int32); raises
    on a zero pivot, as PyTorch (``linalg.lu_factor_ex`` reports it instead)."""
    packed, pivots, info = factor_packed(A, pivot, "torch.linalg.lu_factor")
    raise_zero_pivot("torch.linalg.lu_factor", info)
    return _lu_factor_t(packed, pivots)


def factor_packed(A, pivot, name):
    """(packed LU, pivots, info) as getrf: info is 1 + the first zero pivot's index, or 0."""
    _check_float(name.replace("torch.", ""), A._data)
    if A.ndim < 2:
        raise RuntimeError(
            f"{'torch.lu_factor' if 'lu_factor' in name else name}: Expected tensor with 2 "
            "or more dimensions. Got size: "
            f"{list(A.shape)} instead"
        )
    if not pivot:
        raise RuntimeError(
            "linalg.lu_factor: LU without pivoting is not implemented on the CPU"
        )
    _, lower, upper, pivots = LU.apply(A)
    m, n = A.shape[-2], A.shape[-1]
    packed = _pad_to(lower, (m, n)) - _identity_like(m, n, A) + _pad_to(upper, (m, n))
    xp = xp_of(upper._data)
    zero = xp.diagonal(upper._data, 0, -2, -1) == 0
    info = xp.where(zero.any(axis=-1), xp.argmax(zero, axis=-1) + 1, 0).astype(np.int32)
    return packed, pivots, info


def raise_zero_pivot(name, info):
    """PyTorch's error for the first batch element whose U has a zero on its diagonal."""
    flat = np.asarray(info.tolist()).reshape(-1)
    bad = np.flatnonzero(flat)
    if bad.size:
        where = f"(Batch element {int(bad[0])}): " if np.ndim(info) else ""
        value = int(flat[bad[0]])
        raise RuntimeError(  # PyTorch raises a plain RuntimeError here, not LinAlgError
            f"{name}: {where}U[{value},{value}] is zero and using it on lu_solve would result "
            "in a division by zero. If you still want to perform the factorization, consider "
            "calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")


def _check_lu_solve(LU, B, left):
    """lu_solve's own errors, before solve's would name the wrong function."""
    _check_float("torch.linalg.lu_solve", LU._data)
    if LU.dtype != B.dtype:
        raise RuntimeError(
            "linalg.lu_solve: Expected LU and B to have the same dtype, but found LU of type "
            f"{type_name(LU._data.dtype)} and B of type {type_name(B._data.dtype)} instead")
    if B.ndim >= 2 and (B.shape[-2] if left else B.shape[-1]) != LU.shape[-1]:
        equation = "AX = B" if left else "XA = B"
        raise RuntimeError(
            f"linalg.lu_solve: Incompatible shapes of A and B for the equation {equation} "
            f"({LU.shape[-2]}x{LU.shape[-1]} and {B.shape[-2]}x{B.shape[-1]})")


def _identity_like(m, n, like):
    return _make(xp_of(like._data).eye(m, n, dtype=like._data.dtype))


def _pad_to(matrix, shape):
    """Zero-pad an (m, k) or (k, n) factor to (m, n) with a differentiable matmul."""
    rows, cols = matrix.shape[-2], matrix.shape[-1]
    if (rows, cols) == shape:
        return matrix
    xp = xp_of(matrix._data)
    if rows != shape[0]:
        matrix = _make(xp.eye(shape[0], rows, dtype=matrix._data.dtype)).matmul(matrix)
    if cols != shape[1]:
        matrix = matrix.matmul(_make(xp.eye(cols, shape[1], dtype=matrix._data.dtype)))
    return matrix


def lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    """Solve A X = B from A's lu_factor (A^H X = B with adjoint; X A = B with left=False)."""
    check_lapack_dtype("linalg.lu_solve", LU._data)
    _check_lu_solve(LU, B, left)
    xp = xp_of(LU._data)
    n = LU.shape[-1]
    eye_n = _make(xp.eye(n, dtype=LU._data.dtype))
    lower = LU.tril(-1) + eye_n
    upper = LU.triu()
    perm = _make(_permutation(pivots._data, n, LU._data.dtype, xp))
    matrix = perm.matmul(lower).matmul(upper)
    if adjoint:
        matrix = matrix.mH  # A^H (plain A^T for real)
    return solve(matrix, B, left=left)


__all__ = ["lu", "lu_factor", "lu_solve"]
