"""The rest of torch.linalg: the ``_ex`` variants that report failure in an ``info``
tensor instead of raising, Householder products (LAPACK's orgqr/ormqr, and geqrf that
makes their input), and the general eigendecomposition, whose results are complex.

Householder products are composed from differentiable ops (one rank-1 update per
reflector), so their gradients come from autograd. ``eig`` is one Function whose backward
is PyTorch's formula for a diagonalisable matrix.
"""

from __future__ import annotations

import numpy as np

from ._linalg_errors import LinAlgError, check_lapack_dtype
from ._linalg_lu import _identity_like, factor_packed, raise_zero_pivot
from ._ops._select import _return_type
from ._ops._util import _make, type_name, xp_of
from .autograd.function import Function
from .linalg import _check_float, _check_square, _is_vector_rhs, solve

_lu_factor_ex_t = _return_type("linalg_lu_factor_ex", ("LU", "pivots", "info"))
_solve_ex_t = _return_type("linalg_solve_ex", ("result", "info"))
_eig_t = _return_type("linalg_eig", ("eigenvalues", "eigenvectors"))
_geqrf_t = _return_type("geqrf", ("a", "tau"))


def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    """(LU, pivots, info): ``lu_factor`` that reports a zero pivot in ``info`` (LAPACK's
    getrf convention) instead of raising, unless ``check_errors``."""
    packed, pivots, info = factor_packed(A, pivot, "torch.linalg.lu_factor_ex")
    if check_errors:
        raise_zero_pivot("torch.linalg.lu_factor_ex", info)
    return _lu_factor_ex_t(packed, pivots, _make(info))


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """(result, info): ``solve`` that reports a singular matrix in ``info`` instead of
    raising; singular batch elements get LAPACK's non-finite result."""
    _check_square("linalg.solve_ex", A._data)
    _check_float("linalg.solve_ex", A._data)
    info = factor_packed(A.detach() if left else A.detach().mT, True, "linalg.solve_ex")[2]
    bad = np.flatnonzero(np.asarray(info.tolist()).reshape(-1))
    value = bool(bad.size)
    if value and check_errors:
        where = f"(Batch element {int(bad[0])}): " if np.ndim(info) else ""
        raise LinAlgError(f"torch.linalg.solve_ex: {where}The solver failed because the "
                          "input matrix is singular.")
    if not value:
        return _solve_ex_t(solve(A, B, left=left), _make(info))
    # Solve the regular matrices; the singular ones' results are not finite (LAPACK's
    # getrs divides by their zero pivot: inf and nan; here nan throughout).
    singular = _make(info != 0)
    mask = singular.reshape(tuple(singular.shape) + (1, 1))
    eye = _identity_like(A.shape[-1], A.shape[-1], A)
    regular = solve(A.where(~mask, eye), B, left=left)
    fill_mask = mask.squeeze(-1) if _is_vector_rhs(A, B) else mask
    return _solve_ex_t(regular.where(~fill_mask, float("nan")), _make(info))


def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None, out=None):
    """How many singular values exceed max(atol, rtol * largest) (NumPy's default rtol).
    ``tol`` is PyTorch's deprecated spelling of atol with rtol 0; ``hermitian`` reads the
    eigenvalues of the lower triangle, as eigvalsh."""
    check_lapack_dtype("linalg.matrix_rank", A._data)
    if A._data.dtype.kind not in "fcV":
        raise RuntimeError("This function doesn't handle types other than float and double")
    if tol is not None:
        atol, rtol = tol, 0.0
    xp = xp_of(A._data)
    if hermitian:
        _check_square("linalg.eigh", A._data)
        s = xp.sort(xp.abs(xp.linalg.eigvalsh(A._data, UPLO="L")), axis=-1)[..., ::-1]
    else:
        s = xp.linalg.svd(A._data, compute_uv=False)
    s_max = s[..., :1] if s.shape[-1] else s
    if rtol is None:
        rtol = 0.0 if (atol is not None and atol > 0) else (
            float(np.finfo(A._data.dtype).eps) * max(A.shape[-2], A.shape[-1]))
    cutoff = xp.maximum(atol or 0.0, rtol * s_max)
    return _make((s > cutoff).sum(-1).astype(np.int64))


def vecdot(x, y, *, dim=-1, out=None):
    """Dot products along ``dim``, conjugating ``x`` when complex."""
    if not x.is_floating_point() and not x.is_complex():
        raise RuntimeError("linalg.vecdot: Expected a floating point or complex tensor as "
                           f"input. Got {type_name(x._data.dtype)}")
    if x.dtype != y.dtype:
        raise RuntimeError(
            "linalg.vecdot: Expected x and y to have the same dtype, but found x of type "
            f"{type_name(x._data.dtype)} and y of type {type_name(y._data.dtype)} instead")
    return (x.conj() * y if x._data.dtype.kind == "c" else x * y).sum(dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return A.diagonal(offset=offset, dim1=dim1, dim2=dim2)


# -- Householder reflectors --------------------------------------------------------------


def _apply_reflectors(A, tau, columns, name):
    """H_1 H_2 ... H_k restricted to its first ``columns`` columns, H_i = I - tau_i v_i v_i^H
    with v_i = (0, ..., 0, 1, A[i+1:, i]): orgqr's product, composed of differentiable ops."""
    import ember

    m = A.shape[-2]
    xp = xp_of(A._data)
    rows = xp.arange(m)
    q = _make(xp.broadcast_to(xp.eye(m, columns, dtype=A._data.dtype),
                              tuple(A.shape[:-2]) + (m, columns)).copy())
    for i in range(tau.shape[-1] - 1, -1, -1):  # Q = H_1 (H_2 (... H_k I))
        below = _make((rows > i).astype(A._data.dtype))
        unit = _make((rows == i).astype(A._data.dtype))
        v = A[..., :, i] * below + unit
        # H_i Q = Q - tau_i v (v^H Q)
        projection = ember.matmul(v.conj().unsqueeze(-2), q)
        q = q - tau[..., i, None, None] * v.unsqueeze(-1) * projection
    return q


def _check_householder(name, A, tau):
    if A.ndim < 2:
        raise RuntimeError(f"torch.{name}: input must have at least 2 dimensions.")
    if A.shape[-2] < A.shape[-1]:
        raise RuntimeError(
            f"torch.{name}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if A.shape[-1] < tau.shape[-1]:
        raise RuntimeError(
            f"torch.{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if A.ndim - tau.ndim != 1:
        raise RuntimeError(
            f"torch.{name}: Expected tau to have one dimension less than input, but got "
            f"tau.ndim equal to {tau.ndim} and input.ndim is equal to {A.ndim}")
    if tuple(A.shape[:-2]) != tuple(tau.shape[:-1]):
        raise RuntimeError(
            f"torch.{name}: Expected batch dimensions of tau to be equal to input.shape[:-2], "
            f"but got {tuple(tau.shape[:-1])}".replace(",)", ")"))
    if A.dtype != tau.dtype:
        raise RuntimeError(
            f"torch.{name}: tau dtype {type_name(tau._data.dtype)} does not match input dtype "
            f"{type_name(A._data.dtype)}")


def householder_product(A, tau, *, out=None):
    """The first n columns of the product of Householder reflectors stored in ``A``
    and ``tau`` (as geqrf returns them): LAPACK's orgqr."""
    check_lapack_dtype("linalg.householder_product", A._data)
    if A._data.dtype.kind not in "fcV":
        raise NotImplementedError(
            f'"orgqr_cpu" not implemented for \'{type_name(A._data.dtype)}\'')
    _check_householder("linalg.householder_product", A, tau)
    return _apply_reflectors(A, tau, A.shape[-1], "linalg.householder_product")


class Geqrf(Function):
    """QR in LAPACK's compact form: R on and above the diagonal, the reflectors below."""

    _array_io = True
    _node_name = "GeqrfBackward0"

    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a)
        if a.ndim == 2:
            h, tau = xp.linalg.qr(a, mode="raw")
        else:  # NumPy's raw mode is per matrix
            pairs = [xp.linalg.qr(m, mode="raw") for m in a.reshape((-1,) + a.shape[-2:])]
            h = xp.stack([p[0] for p in pairs]).reshape(a.shape[:-2] + a.shape[-1:] + a.shape[-2:-1])
            tau = xp.stack([p[1] for p in pairs]).reshape(a.shape[:-2] + (-1,))
        ctx.mark_non_differentiable()
        return xp.ascontiguousarray(xp.swapaxes(h, -1, -2)).astype(a.dtype), tau.astype(a.dtype)

    @staticmethod
    def backward(ctx, grad_a, grad_tau):
        raise RuntimeError("the derivative for 'geqrf' is not implemented.")


def geqrf(input, *, out=None):
    """(a, tau): R and the Householder reflectors of QR, as LAPACK's geqrf stores them."""
    _check_float("geqrf", input._data)
    if input.ndim < 2:
        raise RuntimeError(
            "torch.geqrf: input must have at least 2 dimensions.")
    a, tau = Geqrf.apply(input)
    return _geqrf_t(a, tau)


def ormqr(input, tau, other, left=True, transpose=False, *, out=None):
    """``Q @ other`` (or other @ Q, with Q^H for ``transpose``) for the Q of geqrf's
    reflectors, without forming it as a separate call: LAPACK's ormqr."""
    check_lapack_dtype("ormqr", input._data)
    import ember

    if input.shape[-2] < tau.shape[-1]:
        raise RuntimeError(
            "torch.ormqr: input.shape[-2] must be greater than or equal to tau.shape[-1]")
    expected = other.shape[-2] if left else other.shape[-1]
    if expected != input.shape[-2]:
        side = "other.shape[-2]" if left else "other.shape[-1]"
        raise RuntimeError(
            f"torch.ormqr: {side} must be equal to input.shape[-2]")
    m = input.shape[-2]
    q = _apply_reflectors(input, tau, m, "ormqr")
    if transpose:
        q = q.mH
    return ember.matmul(q, other) if left else ember.matmul(other, q)


# -- eigendecomposition ------------------------------------------------------------------


_COMPLEX_OF = {np.dtype(np.float32): np.complex64, np.dtype(np.float64): np.complex128}


class Eig(Function):
    """A = V diag(L) V^-1 with unit-norm eigenvectors, complex even for real A."""

    _array_io = True
    _node_name = "LinalgEigBackward0"

    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a)
        complex_dtype = _COMPLEX_OF.get(a.dtype, a.dtype)
        if not xp.isfinite(a).all():
            raise LinAlgError("torch.linalg.eig: input tensor should not contain infs or NaNs.")
        host = a if xp is np else xp.asnumpy(a)
        values, vectors = np.linalg.eig(host)
        values = xp.asarray(values.astype(complex_dtype))
        vectors = xp.asarray(vectors.astype(complex_dtype))
        ctx.real_input = a.dtype.kind == "f"
        ctx.save_for_backward(values, vectors)
        ctx.set_materialize_grads(False)
        return values, vectors

    @staticmethod
    def backward(ctx, grad_values, grad_vectors):
        import ember

        values, vectors = ctx.saved_tensors
        n = values.shape[-1]
        vh = vectors.mH
        if grad_vectors is None:
            inner = ember.zeros_like(vectors)
        else:
            vhgv = ember.matmul(vh, grad_vectors)
            diagonal = vhgv.diagonal(0, -2, -1)
            if bool((diagonal.imag.abs() > _phase_tolerance(values)).any()):
                raise RuntimeError(
                    "linalg_eig_backward: The eigenvectors in the complex case are specified "
                    "up to multiplication by e^{i phi}. The specified loss function depends "
                    "on this quantity, so it is ill-defined.")
            gap = values.conj().unsqueeze(-2) - values.conj().unsqueeze(-1)
            eye = ember.eye(n, dtype=ember.bool, device=values.device)
            gap = gap.where(~eye, ember.ones_like(gap))
            inner = (vhgv - ember.matmul(vh, vectors * diagonal.real.unsqueeze(-2))) / gap
        # the diagonal is gL's (the phase check above made V^H gV's diagonal real there)
        off_diagonal = ~ember.eye(n, dtype=ember.bool, device=values.device)
        inner = inner * off_diagonal
        if grad_values is not None:
            inner = inner + ember.diag_embed(grad_values)
        grad = ember.linalg.solve(vh, ember.matmul(inner, vh))
        return grad.real if ctx.real_input else grad


def _phase_tolerance(values):
    return 1e-4 if values.dtype == np.complex64 or str(values.dtype).endswith("complex64") \
        else 1e-10


def eig(A, *, out=None):
    """(eigenvalues, eigenvectors) of a general square matrix, both complex."""
    _check_square("linalg.eig", A._data)
    _check_float("linalg.eig", A._data)
    values, vectors = Eig.apply(A)
    return _eig_t(values, vectors)


def eigvals(A, *, out=None):
    """The eigenvalues of a general square matrix (complex)."""
    _check_square("linalg.eigvals", A._data)
    _check_float("linalg.eigvals", A._data)
    return Eig.apply(A)[0]
