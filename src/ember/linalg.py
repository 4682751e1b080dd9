"""ember.linalg: norms, inverses, solvers and decompositions with gradients.

Forward passes call ``xp.linalg`` (LAPACK through NumPy or cuSOLVER through CuPy) on the
whole batch at once. Backward formulas are PyTorch's (FunctionsManual.cpp), written with
ember ops so that they run on either backend and can be differentiated again. Errors
raise ``LinAlgError`` (a RuntimeError, as ``torch.linalg.LinAlgError``) with PyTorch's
text.
"""

from __future__ import annotations

import numpy as np

from ._linalg_errors import (  # noqa: F401 - LinAlgError is public here, as torch.linalg's
    LinAlgError, _check_float, _LinAlgError, _not_pd_order, _partial_cholesky, _per_matrix_info,
    _raise_not_pd, _raise_singular, _raise_solve_singular, _singular_info, check_lapack_dtype,
    lapack_errors,
)
from ._ops._select import _return_type
from ._ops._util import _make, type_name, xp_of
from ._ops.creation import eye as _eye
from ._ops.linalg import linalg_cross as cross
from ._ops.linalg import matmul
from ._ops.pointwise import where as _where
from .autograd.function import Function


_slogdet_t = _return_type("linalg_slogdet", ("sign", "logabsdet"))
_qr_t = _return_type("linalg_qr", ("Q", "R"))
_svd_t = _return_type("linalg_svd", ("U", "S", "Vh"))
_svd_old_t = _return_type("svd", ("U", "S", "V"))
_eigh_t = _return_type("linalg_eigh", ("eigenvalues", "eigenvectors"))
_inv_ex_t = _return_type("linalg_inv_ex", ("inverse", "info"))
_cholesky_ex_t = _return_type("linalg_cholesky_ex", ("L", "info"))


# -- checks -----------------------------------------------------------------------------


def _check_square(name, array):
    if array.ndim < 2:
        raise RuntimeError(
            f"{name}: The input tensor A must have at least 2 dimensions."
        )
    if array.shape[-1] != array.shape[-2]:
        raise RuntimeError(
            f"{name}: A must be batches of square matrices, but they are {array.shape[-2]} by "
            f"{array.shape[-1]} matrices"
        )


def _eye_like(n, like):
    return _eye(n, dtype=like.dtype, device=like.device)


def _diag_embed(vector):
    """(..., n) -> (..., n, n) with ``vector`` on the diagonal."""
    return vector.unsqueeze(-1) * _eye_like(vector.shape[-1], vector)


def _diagonal(matrix):
    return (matrix * _eye_like(matrix.shape[-1], matrix)).sum(-1)


# -- inverse, determinant, solve --------------------------------------------------------


class Inv(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a)
        try:
            with lapack_errors(xp):
                out = xp.linalg.inv(a)
        except np.linalg.LinAlgError:
            _raise_singular("linalg.inv", a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (inverse,) = ctx.saved_tensors
        inverse_t = inverse.mH  # conjugate transpose: complex gradients as PyTorch
        return -(inverse_t.matmul(grad).matmul(inverse_t))


def inv(A, *, out=None):
    """Inverse of a square matrix (or batch); LinAlgError when singular."""
    _check_square("linalg.inv", A._data)
    _check_float("linalg.inv", A._data)
    return Inv.apply(A)


def inv_ex(A, *, check_errors=False, out=None):
    """(inverse, info): info is 0, or the 1-based zero pivot of a singular matrix."""
    _check_square("linalg.inv", A._data)
    _check_float("linalg.inv", A._data)
    try:
        inverse = Inv.apply(A)
        info = np.zeros(A.shape[:-2], dtype=np.int32)
    except LinAlgError:
        if check_errors:
            raise
        inverse = _make(xp_of(A._data).full(A._data.shape, np.nan, A._data.dtype))
        info = _per_matrix_info(A._data, _singular_info)
    return _inv_ex_t(inverse, _make(xp_of(A._data).asarray(info)))


class Det(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a)
        out = xp.asarray(xp.linalg.det(a))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, det_a = ctx.saved_tensors
        # d det / dA = det * A^{-T}. A singular matrix gets a zero gradient, as PyTorch
        # gives (det * anything is 0 there; invert the identity in its place).
        singular = det_a == 0
        if bool(singular._data.any()):
            a = _where(singular.unsqueeze(-1).unsqueeze(-1), _eye_like(a.shape[-1], a), a)
        return (grad * det_a.conj()).unsqueeze(-1).unsqueeze(-1) * inv(a).mH


def det(A, *, out=None):
    """Determinant of a square matrix (or batch)."""
    _check_square("linalg.det", A._data)
    _check_float("linalg.det", A._data)
    return Det.apply(A)


class Slogdet(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a)
        sign, logabsdet = xp.linalg.slogdet(a)
        sign = xp.asarray(sign)
        ctx.save_for_backward(a, sign)
        return sign, xp.asarray(logabsdet)

    @staticmethod
    def backward(ctx, grad_sign, grad_logabsdet):
        a, sign = ctx.saved_tensors
        if a._data.dtype.kind == "c" and grad_sign is not None:
            # sign = e^{i theta}, d theta = Im tr(A^-1 dA): the sign's gradient enters as
            # i Im(g_sign conj(sign)) beside g_logabsdet, both times A^-H
            phase = (grad_sign * sign.conj()).imag * 1j
            scale = phase if grad_logabsdet is None else grad_logabsdet + phase
        elif grad_logabsdet is None:
            return None
        else:
            scale = grad_logabsdet
        return scale.unsqueeze(-1).unsqueeze(-1) * inv(a).mH


def slogdet(A, *, out=None):
    """(sign, log|det|) of a square matrix (or batch)."""
    _check_square("linalg.slogdet", A._data)
    _check_float("linalg.slogdet", A._data)
    sign, logabsdet = Slogdet.apply(A)
    return _slogdet_t(sign, logabsdet)


def logdet(A):
    """log(det(A)): NaN where the determinant is negative, -inf where it is zero."""
    check_lapack_dtype("logdet", A._data)
    sign, logabsdet = slogdet(A)
    if A._data.dtype.kind == "c":  # the principal complex log: log|det| + i arg(det)
        from ._ops.complex import complex as _complex

        phase = _where(sign == 0, float("nan"), sign.angle())  # PyTorch: -inf + nan i
        return _complex(logabsdet, phase)
    if bool((sign._data < 0).any()):
        logabsdet = _where(sign < 0, float("nan"), logabsdet)
    return logabsdet


class Solve(Function):
    """X with A X = B (B already a matrix batch)."""

    _array_io = True

    @staticmethod
    def forward(ctx, a, b):
        xp = xp_of(a)
        try:
            with lapack_errors(xp):
                out = xp.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            _raise_solve_singular(a)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        grad_b = Solve.apply(a.mH, grad)  # mH: complex gradients as PyTorch
        grad_a = -grad_b.matmul(x.mH) if ctx.needs_input_grad[0] else None
        return grad_a, grad_b


def _is_vector_rhs(A, B):
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def solve(A, B, *, left=True, out=None):
    """Solve A X = B (or X A = B with left=False); B may be a vector (batch)."""
    _check_square("linalg.solve", A._data)
    _check_float("linalg.solve", A._data)
    if A.dtype != B.dtype:
        raise RuntimeError(
            "linalg.solve: Expected A and B to have the same dtype, but found A of type "
            f"{type_name(A._data.dtype)} and B of type {type_name(B._data.dtype)} instead"
        )
    if not left:
        if _is_vector_rhs(A, B):  # X A = B has no vector form: B is read as a column
            raise RuntimeError(
                "linalg.solve: Incompatible shapes of A and B for the equation XA = B "
                f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-1]}x1)")
        if B.ndim >= 2 and B.shape[-1] != A.shape[-2]:
            raise RuntimeError(
                "linalg.solve: Incompatible shapes of A and B for the equation XA = B "
                f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-2]}x{B.shape[-1]})")
        return solve(A.mT, B.mT, left=True).mT
    vector = _is_vector_rhs(A, B)
    if vector:
        B = B.unsqueeze(-1)
    if A.shape[-1] != B.shape[-2]:
        raise RuntimeError(
            "linalg.solve: Incompatible shapes of A and B for the equation AX = B "
            f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-2]}x{B.shape[-1]})"
        )
    batch = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    if tuple(A.shape[:-2]) != batch:
        A = A.expand(batch + tuple(A.shape[-2:]))
    if tuple(B.shape[:-2]) != batch:
        B = B.expand(batch + tuple(B.shape[-2:]))
    result = Solve.apply(A, B)
    return result.squeeze(-1) if vector else result


class _IdentityPower(Function):
    """A^0: identity matrices of A's shape; the gradient is zero (not None), as PyTorch."""

    _array_io = True
    _node_name = "torch::autograd::CopyBackwards"  # PyTorch copies an identity into A's shape

    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a)
        return xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape).copy()

    @staticmethod
    def backward(ctx, grad):
        return grad * 0


def matrix_power(A, n):
    """A multiplied by itself n times (n < 0 uses the inverse; n == 0 gives I)."""
    if type(n) is not int and not isinstance(n, np.integer):
        raise TypeError("linalg_matrix_power(): argument 'n' (position 2) must be int, not "
                        f"{type(n).__name__}")
    _check_square("linalg.matrix_power", A._data)
    if n == 0:
        return _IdentityPower.apply(A)
    base = inv(A) if n < 0 else A
    n = abs(n)
    result = None
    while n:  # binary exponentiation: O(log n) matmuls
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def multi_dot(tensors, *, out=None):
    """Chain of matrix products; the first may be a row vector, the last a column vector."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(
            f"multi_dot(): expected at least 2 tensors but got {len(tensors)}"
        )
    for i, t in enumerate(tensors):
        if i == 0 and t.ndim not in (1, 2):
            raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got {t.ndim}D")
        if i == len(tensors) - 1 and t.ndim not in (1, 2):
            raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got {t.ndim}D")
        if 0 < i < len(tensors) - 1 and t.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
        if t.dtype != tensors[0].dtype:
            from ._grad_assign import _CPP_TYPE_NAMES

            first, this = (_CPP_TYPE_NAMES.get(str(x.dtype).split(".")[-1])
                           for x in (tensors[0], t))
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but "
                               f"tensor 0 is {first} and tensor {i} {this}")
    originals = [tuple(t.shape) for t in tensors]
    first_vector = tensors[0].ndim == 1
    last_vector = tensors[-1].ndim == 1
    if first_vector:
        tensors[0] = tensors[0].unsqueeze(0)
    if last_vector:
        tensors[-1] = tensors[-1].unsqueeze(-1)
    for i in range(len(tensors) - 1):
        if tensors[i].shape[-1] != tensors[i + 1].shape[0]:
            raise RuntimeError(
                f"multi_dot(): tensors {i} and {i + 1} with shapes {list(originals[i])} and "
                f"{list(originals[i + 1])} cannot be multiplied"
            )
    result = tensors[0]
    for t in tensors[1:]:
        result = matmul(result, t)
    if first_vector:
        result = result.squeeze(0)
    if last_vector:
        result = result.squeeze(-1)
    return result


# -- decompositions ---------------------------------------------------------------------


def _lower_half_mask(n, like):
    """tril(ones) with the diagonal halved: PyTorch's Phi() for Cholesky's backward."""
    mask = np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)
    return _make(xp_of(like._data).asarray(mask.astype(like._data.dtype)))


class Cholesky(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a)
        try:
            with lapack_errors(xp):
                lower = xp.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            _raise_not_pd(a)
        ctx.save_for_backward(lower)
        return lower

    @staticmethod
    def backward(ctx, grad):
        (lower,) = ctx.saved_tensors
        n = lower.shape[-1]
        if lower._data.dtype.kind == "c":
            # PyTorch's complex form: Phi = tril(L^H G), A's gradient is
            # L^-H (Phi + tril(Phi, -1)^H) / 2 L^-1 (its diagonal keeps Phi's imaginary part)
            phi = lower.mH.matmul(grad).tril()
            lower_inv = inv(lower)
            return lower_inv.mH.matmul(0.5 * (phi + phi.tril(-1).mH)).matmul(lower_inv)
        phi = lower.mT.matmul(grad) * _lower_half_mask(n, lower)
        lower_inv = inv(lower)
        grad_a = lower_inv.mT.matmul(phi).matmul(lower_inv)
        return 0.5 * (grad_a + grad_a.mT)


def cholesky(A, *, upper=False, out=None):
    """Lower (or upper) Cholesky factor of a symmetric positive-definite matrix."""
    _check_square("linalg.cholesky", A._data)
    _check_float("linalg.cholesky", A._data)
    # upper=True reads A's upper triangle, as LAPACK's potrf('U'): that of A^H, lower
    lower = Cholesky.apply(A.mH if upper else A)
    return lower.mH if upper else lower


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """(L, info): info is 0, or the order of the first minor that is not
    positive-definite."""
    try:
        factor = cholesky(A, upper=upper)
        info = np.zeros(A.shape[:-2], dtype=np.int32)
    except LinAlgError:
        if check_errors:
            raise
        source = (A.mH if upper else A).detach()._data  # the triangle potrf reads, as lower
        info = _per_matrix_info(source, _not_pd_order)
        # Factor the matrices that are positive-definite; the others stay zero.
        xp = xp_of(source)
        factors = xp.zeros(source.shape, source.dtype)
        good = xp.asarray(info == 0)
        if bool(good.any()):
            factors[good] = xp.linalg.cholesky(source[good])
        n = source.shape[-1]
        host = (source if xp is np else source.get()).reshape((-1, n, n))
        flat = factors.reshape((-1, n, n))  # a view: factors is a fresh contiguous array
        for index in np.flatnonzero(info):  # what potrf leaves in a failed factorization
            flat[index] = xp.asarray(_partial_cholesky(host[index]))
        factor = _make(xp.swapaxes(factors, -1, -2).conj().copy() if upper else factors)
    return _cholesky_ex_t(factor, _make(xp_of(A._data).asarray(info)))


class QR(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, a, mode):
        q, r = xp_of(a).linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
        if mode == "r":
            q = xp_of(a).empty((0,), a.dtype)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(q, r)
        ctx.mode = mode
        return q, r

    @staticmethod
    def backward(ctx, grad_q, grad_r):
        q, r = ctx.saved_tensors
        m, n = q.shape[-2], r.shape[-1]
        if ctx.mode == "r":
            raise RuntimeError(
                "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                "through linalg.qr."
            )
        if ctx.mode == "complete" and m > n:
            raise RuntimeError(
                "The QR decomposition is not differentiable when mode='complete' and "
                "nrows > ncols."
            )
        if m < n:
            raise NotImplementedError(
                "The derivative of linalg.qr is not implemented when nrows < ncols."
            )
        # M = R gR^H - gQ^H Q; gA = (gQ + Q copyltu(M)) R^{-H}, copyltu(M) = tril(M, -1)
        # + tril(M, -1)^H + Re(diag(M)) (conjugate transposes: complex as PyTorch)
        m_term = None
        if grad_r is not None:
            m_term = r.matmul(grad_r.mH)
        if grad_q is not None:
            qq = grad_q.mH.matmul(q)
            m_term = -qq if m_term is None else m_term - qq
        lower = m_term * _tril_mask(n, m_term, strict=True)
        copyltu = lower + lower.mH + _diag_embed(_diagonal(m_term).real)
        base = q.matmul(copyltu)
        if grad_q is not None:
            base = base + grad_q
        return Solve.apply(r, base.mH).mH, None


def _tril_mask(n, like, strict=False):
    mask = np.tril(np.ones((n, n)), -1 if strict else 0)
    return _make(xp_of(like._data).asarray(mask.astype(like._data.dtype)))


def qr(A, mode="reduced", *, out=None):
    """QR decomposition (mode 'reduced', 'complete' or 'r')."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
            "'r', or 'complete'"
        )
    _check_float("linalg.qr", A._data)
    q, r = QR.apply(A, mode)
    return _qr_t(q, r)


class SVD(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, a, full_matrices):
        u, s, vh = xp_of(a).linalg.svd(a, full_matrices=full_matrices)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(u, s, vh)
        ctx.full = full_matrices
        return u, s, vh

    @staticmethod
    def backward(ctx, grad_u, grad_s, grad_vh):
        u, s, vh = ctx.saved_tensors
        k = s.shape[-1]
        if ctx.full:
            u = u[..., :, :k]
            vh = vh[..., :k, :]
            grad_u = grad_u[..., :, :k] if grad_u is not None else None
            grad_vh = grad_vh[..., :k, :] if grad_vh is not None else None
        return _svd_backward(grad_u, grad_s, grad_vh, u, s, vh), None


def _svd_backward(grad_u, grad_s, grad_vh, u, s, vh):
    """PyTorch's svd_backward (real case):
    gA = U [(skew(U^T gU) / E) S + S (skew(V^T gV) / E) + diag(gS)] V^T
         + (I - U U^T) gU S^{-1} V^T + U S^{-1} gV^T (I - V V^T),  E_jk = s_k^2 - s_j^2."""
    if u._data.dtype.kind == "c":
        return _svd_backward_complex(grad_u, grad_s, grad_vh, u, s, vh)
    v = vh.mT
    m, n = u.shape[-2], v.shape[-2]
    if grad_u is None and grad_vh is None:
        if grad_s is None:
            return None
        return (u * grad_s.unsqueeze(-2)).matmul(vh)
    k = s.shape[-1]
    eye_k = _eye_like(k, s)
    squared = s * s
    gap = squared.unsqueeze(-2) - squared.unsqueeze(-1) + eye_k
    inner = None
    if grad_u is not None:
        utgu = u.mT.matmul(grad_u)
        term = ((utgu - utgu.mT) / gap) * s.unsqueeze(-2)
        inner = term
    if grad_vh is not None:
        grad_v = grad_vh.mT
        vtgv = v.mT.matmul(grad_v)
        term = s.unsqueeze(-1) * ((vtgv - vtgv.mT) / gap)
        inner = term if inner is None else inner + term
    if grad_s is not None:
        inner = inner + _diag_embed(grad_s)
    grad_a = u.matmul(inner).matmul(vh)
    if grad_u is not None and m > k:
        projected = grad_u - u.matmul(u.mT.matmul(grad_u))
        grad_a = grad_a + (projected / s.unsqueeze(-2)).matmul(vh)
    if grad_vh is not None and n > k:
        grad_v = grad_vh.mT
        projected = grad_v - v.matmul(v.mT.matmul(grad_v))
        grad_a = grad_a + (u / s.unsqueeze(-2)).matmul(projected.mT)
    return grad_a


def _svd_backward_complex(grad_u, grad_s, grad_vh, u, s, vh):
    """The complex case of PyTorch's svd_backward: conjugate transposes, skew(X) = X - X^H,
    and on the diagonal, besides gS, i Im(diag(U^H gU)) / S (the phase of U's columns)."""
    v = vh.mH
    m, n = u.shape[-2], v.shape[-2]
    if grad_u is None and grad_vh is None:
        if grad_s is None:
            return None
        return (u * grad_s.unsqueeze(-2).to(u.dtype)).matmul(vh)
    k = s.shape[-1]
    eye_k = _eye_like(k, s)
    squared = s * s
    gap = squared.unsqueeze(-2) - squared.unsqueeze(-1) + eye_k
    off = 1 - eye_k
    inner = None
    if grad_u is not None:
        skew_u = u.mH.matmul(grad_u)
        skew_u = skew_u - skew_u.mH
        inner = (skew_u / gap) * s.unsqueeze(-2) * off + _diag_embed(
            _diagonal(skew_u) / (2 * s))
    if grad_vh is not None:
        skew_v = vh.matmul(grad_vh.mH)
        skew_v = skew_v - skew_v.mH
        term = s.unsqueeze(-1) * (skew_v / gap) * off
        inner = term if inner is None else inner + term
    if grad_s is not None:
        inner = inner + _diag_embed(grad_s).to(inner.dtype)
    grad_a = u.matmul(inner).matmul(vh)
    if grad_u is not None and m > k:
        projected = grad_u - u.matmul(u.mH.matmul(grad_u))
        grad_a = grad_a + (projected / s.unsqueeze(-2)).matmul(vh)
    if grad_vh is not None and n > k:
        grad_v = grad_vh.mH
        projected = grad_v - v.matmul(v.mH.matmul(grad_v))
        grad_a = grad_a + (u / s.unsqueeze(-2)).matmul(projected.mH)
    return grad_a


def _check_driver(A, driver):
    if driver is not None and A.device.type != "cuda":
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on "
                           "CUDA inputs with cuSOLVER backend.")


def svd(A, full_matrices=True, *, driver=None, out=None):
    """Singular value decomposition A = U diag(S) Vh."""
    _check_float("linalg.svd", A._data)
    _check_driver(A, driver)
    u, s, vh = SVD.apply(A, full_matrices)
    return _svd_t(u, s, vh)


def svdvals(A, *, driver=None, out=None):
    """Singular values in descending order."""
    _check_float("linalg.svd", A._data)
    _check_driver(A, driver)
    if not A._requires_grad:
        return _make(xp_of(A._data).linalg.svd(A._data, compute_uv=False))
    return SVD.apply(A, False)[1]


class Eigh(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, a, uplo):
        values, vectors = xp_of(a).linalg.eigh(a, UPLO=uplo)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(values, vectors)
        return values, vectors

    @staticmethod
    def backward(ctx, grad_values, grad_vectors):
        values, vectors = ctx.saved_tensors
        # gA = V (diag(gL) + (V^T gV) / E) V^T, E_ij = L_j - L_i (PyTorch's formula).
        inner = None
        if grad_vectors is not None:
            n = values.shape[-1]
            gap = values.unsqueeze(-2) - values.unsqueeze(-1) + _eye_like(n, values)
            off = 1 - _eye_like(n, values)
            inner = vectors.mH.matmul(grad_vectors) / gap * off
        if grad_values is not None:
            diag = _diag_embed(grad_values)
            if vectors._data.dtype.kind == "c":  # a Hermitian A: real values, complex V
                diag = diag.to(vectors.dtype)
            inner = diag if inner is None else inner + diag
        return vectors.matmul(inner).matmul(vectors.mH), None


def _check_uplo(UPLO):
    if UPLO not in ("L", "U", "l", "u"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eigh(A, UPLO="L", *, out=None):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix."""
    _check_square("linalg.eigh", A._data)
    _check_float("linalg.eigh", A._data)
    _check_uplo(UPLO)
    values, vectors = Eigh.apply(A, UPLO)
    return _eigh_t(values, vectors)


def eigvalsh(A, UPLO="L", *, out=None):
    """Eigenvalues (ascending) of a symmetric matrix."""
    _check_square("linalg.eigvalsh", A._data)
    _check_float("linalg.eigvalsh", A._data)
    _check_uplo(UPLO)
    if not A._requires_grad:
        return _make(xp_of(A._data).linalg.eigvalsh(A._data, UPLO=UPLO))
    return Eigh.apply(A, UPLO)[0]


from ._linalg_norms import matrix_norm, norm, vector_norm  # noqa: E402 - uses svdvals above
from ._linalg_composite import (  # noqa: E402 - composed from the primitives above
    cond, lstsq, matrix_exp, pinv, solve_triangular, tensorinv, tensorsolve, vander,
)
from ._linalg_lu import lu, lu_factor, lu_solve  # noqa: E402 - uses inv and solve above
from ._linalg_extra import (  # noqa: E402 - builds on the LU family and solve
    diagonal, eig, eigvals, householder_product, lu_factor_ex, matrix_rank, solve_ex, vecdot,
)
from ._linalg_ldl import ldl_factor, ldl_factor_ex, ldl_solve


__all__ = [
    "LinAlgError", "cholesky", "cholesky_ex", "cross", "det", "eigh", "eigvalsh", "inv",
    "inv_ex", "lstsq", "matmul", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot",
    "norm", "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "vecdot", "vector_norm",
    "diagonal", "cond", "matrix_exp", "solve_triangular", "tensorinv", "tensorsolve", "vander",
    "lu", "lu_factor", "lu_solve", "lu_factor_ex", "solve_ex", "householder_product", "eig",
    "eigvals", "ldl_factor", "ldl_factor_ex", "ldl_solve",
]

from ._ops import _autocast  # noqa: E402 - the autocast lists name functions defined above

_autocast.autocast_entry_points(globals(), _autocast.FLOAT32_LINALG)
_autocast.autocast_entry_points(globals(), _autocast.LOWER_PRECISION_LINALG,
                                _autocast.lower_precision_in_autocast)
from ._linalg_out import wrap_out  # noqa: E402 - wraps the functions defined above

wrap_out(globals(), __all__)
