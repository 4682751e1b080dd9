"""ember.linalg functions composed from the primitives in ``linalg.py``: triangular and
tensor solves, the pseudo-inverse and least squares, the matrix exponential, condition numbers, Vandermonde
matrices.

Being compositions, their gradients come from the primitives' backward formulas, so they
restrict to the same structure PyTorch's do (a triangular solve's gradient lives on the
triangle it reads).
"""

from __future__ import annotations

import math

import numpy as np

from ._linalg_errors import check_lapack_dtype
from ._ops._select import _return_type
from ._ops._util import _make, type_name, xp_of
from ._ops.creation import eye as _eye
from ._ops.linalg import matmul
from .autograd.function import Function
from .linalg import _check_float, _check_square, _eye_like, inv, inv_ex, solve, svdvals

_lstsq_t = _return_type("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """Solve A X = B (or X A = B) reading only A's upper or lower triangle."""
    _check_float("linalg.solve_triangular", A._data)
    for name, value in (("A", A), ("B", B)):
        if value.ndim < 2:
            raise RuntimeError(f"linalg.solve_triangular: The input tensor {name} must have at "
                               "least 2 dimensions.")
    triangle = A.triu() if upper else A.tril()
    if unitriangular:
        identity = _eye(A.shape[-1], dtype=A.dtype, device=A.device)
        triangle = triangle * (1 - identity) + identity
    return solve(triangle, B, left=left)


def tensorinv(A, ind=2, *, out=None):
    """Inverse of A seen as a linear map from A.shape[ind:] to A.shape[:ind]."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows = math.prod(A.shape[:ind])
    cols = math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[ind:]) == "
            f"prod(self.shape[:ind]), but got {cols} != {rows}"
        )
    result = inv(A.reshape(rows, cols))
    return result.reshape(tuple(A.shape[ind:]) + tuple(A.shape[:ind]))


def tensorsolve(A, B, dims=None, *, out=None):
    """X such that tensordot(A, X, X.ndim) = B."""
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        rest = [d for d in range(A.ndim) if d not in dims]
        A = A.permute(*(rest + dims))
    result_shape = tuple(A.shape[B.ndim:])
    rows = B.numel()
    cols = math.prod(result_shape)
    if rows != cols:
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
            f"prod(self.shape[:other.ndim]), but got {cols} != {rows}"
        )
    solution = solve(A.reshape(rows, cols), B.reshape(rows))
    return solution.reshape(result_shape)


_TAYLOR_DEGREE = 18  # with ||A/2^s||_1 <= 1/2 the truncation error is below 1e-22


def matrix_exp(A):
    """exp(A) by scaling and squaring around a Taylor polynomial (Horner's rule)."""
    _check_square("linalg.matrix_exp", A._data)
    _check_float("linalg.matrix_exp", A._data)
    n = A.shape[-1]
    identity = _eye(n, dtype=A.dtype, device=A.device)
    if A.numel() == 0:
        return A * 1
    norm = float(abs(A._data).sum(-2).max())
    squarings = max(0, math.ceil(math.log2(norm / 0.5))) if norm > 0.5 else 0
    scaled = A / (2 ** squarings) if squarings else A
    result = identity + scaled / _TAYLOR_DEGREE
    for k in range(_TAYLOR_DEGREE - 1, 0, -1):  # over the polynomial degree, not elements
        result = identity + matmul(scaled, result) / k
    for _ in range(squarings):
        result = matmul(result, result)
    return result


def cond(A, p=None, *, out=None):
    """Condition number: sigma_max / sigma_min for p in (None, 2), its inverse for -2,
    else norm(A, p) * norm(inv(A), p)."""
    from ._linalg_norms import matrix_norm

    if p is None or p in (2, -2):
        _check_float("linalg.cond", A._data)
    else:
        _check_float("linalg.inv", A._data)
    if p is not None and p not in (2, -2):
        if A.ndim < 2:
            raise RuntimeError(f"linalg.cond(ord={p}): The input tensor A must have at least "
                               "2 dimensions.")
        if A.shape[-1] != A.shape[-2]:
            raise RuntimeError(
                f"linalg.cond(ord={p}): A must be batches of square matrices, but they are "
                f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if p is None or p == 2 or p == -2:
        values = svdvals(A)
        ratio = values[..., 0] / values[..., -1]
        return 1 / ratio if p == -2 else ratio
    if p not in (1, -1, math.inf, -math.inf, "fro", "nuc"):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    singular = inv_ex(A.detach()).info != 0
    if not bool(singular.any()):
        return matrix_norm(A, p) * matrix_norm(inv(A), p)
    # Singular matrices: infinite (nan for 'nuc', as PyTorch's), the others as usual.
    mask = singular.reshape(tuple(singular.shape) + (1, 1))
    regular = A.where(~mask, _eye(A.shape[-1], dtype=A.dtype, device=A.device))
    value = matrix_norm(A, p) * matrix_norm(inv(regular), p)
    return value.where(~singular, math.nan if p == "nuc" else math.inf)


def vander(x, *, N=None):
    """Columns x**0, x**1, ..., x**(N-1) (increasing powers, as torch.linalg.vander)."""
    from ._ops.shape_copy import stack

    check_lapack_dtype("linalg.vander", x._data)
    if x.ndim == 0:  # PyTorch reads a 0-d x as one value
        x = x.unsqueeze(0)
    columns = x.shape[-1] if N is None else N
    if columns <= 1:
        raise RuntimeError("N must be greater than 1.")
    powers = [x * 0 + 1]
    for _ in range(1, columns):  # over the requested number of columns
        powers.append(powers[-1] * x)
    return stack(powers, dim=-1)


def lstsq(A, B, rcond=None, *, driver=None):
    """Least-squares solution of A X = B with PyTorch's per-driver outputs: residuals when
    m > n, every matrix has full rank and the driver is gels/gelsd/gelss; rank unless gels;
    singular values for gelsd/gelss; empty tensors otherwise."""
    _check_float("linalg.lstsq", A._data)
    driver = "gelsy" if driver is None else driver
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, "
                           "gelsy, gelsd, gelss)")
    if A.dtype != B.dtype:
        raise RuntimeError(
            "torch.linalg.lstsq: Expected input and other to have the same dtype, but got "
            f"input's dtype {type_name(A._data.dtype)} and other's dtype "
            f"{type_name(B._data.dtype)}")
    vector = B.ndim == A.ndim - 1
    rhs = B.unsqueeze(-1) if vector else B
    if A.shape[-2] != rhs.shape[-2]:
        raise RuntimeError(
            "torch.linalg.lstsq: input.size(-2) should match other.size(-2)"
        )
    solution = matmul(pinv(A, rtol=rcond) if rcond is not None else pinv(A), rhs)
    xp = xp_of(A._data)
    real = A._data.real.dtype
    rank_array = xp.asarray(xp.linalg.matrix_rank(A._data)).astype(np.int64)
    m, n = A.shape[-2], A.shape[-1]
    residuals = _make(xp.empty((0,), real))
    if driver != "gelsy" and m > n and bool((rank_array == n).all()):
        residuals = (matmul(A, solution) - rhs).abs().pow(2).sum(-2)
    rank = _make(rank_array) if driver != "gels" else _make(xp.empty((0,), np.int64))
    singular = svdvals(A) if driver in ("gelsd", "gelss") else _make(xp.empty((0,), real))
    if vector:
        solution = solution.squeeze(-1)
    return _lstsq_t(solution, residuals, rank, singular)


class Pinv(Function):
    """Moore-Penrose pseudo-inverse through the SVD, singular values below
    max(atol, rtol * s_max) dropped."""

    _array_io = True

    @staticmethod
    def forward(ctx, a, atol, rtol, hermitian):
        xp = xp_of(a)
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        s_max = s[..., :1] if s.shape[-1] else s
        cutoff = xp.maximum(atol, rtol * s_max)
        keep = s > cutoff
        s_inv = xp.where(keep, 1 / xp.where(keep, s, 1), 0).astype(a.dtype)
        v, u_h = xp.swapaxes(vh, -1, -2), xp.swapaxes(u, -1, -2)
        if a.dtype.kind == "c":  # V S^-1 U^H: conjugate transposes
            v, u_h = v.conj(), u_h.conj()
        out = xp.matmul(v * s_inv[..., None, :], u_h)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, p = ctx.saved_tensors
        m, n = a.shape[-2], a.shape[-1]
        pt, grad_t = p.mH, grad.mH  # conjugate transposes (plain ones for real)
        grad_a = -pt.matmul(grad).matmul(pt)
        left = _eye_like(m, a) - a.matmul(p)
        right = _eye_like(n, a) - p.matmul(a)
        grad_a = grad_a + left.matmul(grad_t).matmul(p).matmul(pt)
        grad_a = grad_a + pt.matmul(p).matmul(grad_t).matmul(right)
        return grad_a, None, None, None


def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None):
    """Pseudo-inverse; default rtol = eps * max(m, n) when atol is not given."""
    check_lapack_dtype("linalg.pinv", A._data)
    if A.ndim < 2 or A._data.dtype.kind not in "fc":
        raise RuntimeError(
            f"linalg.pinv({type_name(A._data.dtype)}{{{list(A.shape)}}}): expected a tensor with "
            "2 or more dimensions of float, double, cfloat or cdouble types"
        )
    if rtol is None:
        rtol = 0.0 if (atol is not None and atol > 0) else (
            float(np.finfo(A._data.dtype).eps) * max(A.shape[-2], A.shape[-1]))
    if hermitian:  # PyTorch goes through eigh, which reads only the lower triangle
        _check_square("linalg.eigh", A._data)
        A = A.tril() + A.tril(-1).mH
    return Pinv.apply(A, float(atol or 0.0), float(rtol), hermitian)
