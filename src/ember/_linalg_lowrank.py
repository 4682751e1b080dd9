"""Randomized low-rank SVD and PCA (Halko, Martinsson & Tropp, 2009), as torch's.

A Gaussian test matrix finds the range of A, a few subspace iterations (alternating
QR of A Q and A^H Q) sharpen it, and a small SVD of Q^H A finishes: exact for matrices of
rank <= q, a close approximation for matrices with decaying spectra. Composed of
differentiable ops; the draws come from ember's generator, so results match torch's up
to the signs of singular vectors, not bit for bit.
"""

from __future__ import annotations

import ember

from ._ops._select import _return_type

_svd_t = _return_type("svd_lowrank", ("U", "S", "V"))


def _approximate_basis(A, q, niter, M):
    """Q with orthonormal columns such that Q Q^H (A - M) approximates A - M."""
    dtype = A.dtype if A.dtype.is_floating_point or A.dtype.is_complex else ember.float32
    probe = ember.randn(A.shape[-1], q, dtype=dtype, device=A.device)

    def times(matrix, mean, x):
        product = ember.matmul(matrix, x)
        return product if mean is None else product - ember.matmul(mean, x)

    Q = ember.linalg.qr(times(A, M, probe)).Q
    for _ in range(niter):
        Q = ember.linalg.qr(times(A.mH, None if M is None else M.mH, Q)).Q
        Q = ember.linalg.qr(times(A, M, Q)).Q
    return Q


def svd_lowrank(A, q=6, niter=2, M=None):
    q = 6 if q is None else q
    niter = 2 if niter is None else niter
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.shape)
    wide = m < n
    if wide:
        A = A.mH
        M = None if M is None else M.mH
    Q = _approximate_basis(A, q, niter, M)
    B = ember.matmul(Q.mH, A)
    if M is not None:
        B = B - ember.matmul(Q.mH, M)
    U, S, Vh = ember.linalg.svd(B, full_matrices=False)
    V, U = Vh.mH, ember.matmul(Q, U)
    return _svd_t(V, S, U) if wide else _svd_t(U, S, V)


def pca_lowrank(A, q=None, center=True, niter=2):
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not (q >= 0 and q <= min(m, n)):
        raise ValueError(
            f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return svd_lowrank(A, q, niter=niter)
    return svd_lowrank(A - A.mean(dim=(-2,), keepdim=True), q, niter=niter)
