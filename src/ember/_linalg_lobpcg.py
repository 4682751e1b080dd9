"""``ember.lobpcg``: the k largest (or smallest) eigenpairs of a symmetric positive definite
generalized problem A x = lambda B x by LOBPCG (Knyazev 2001).

Each step does a Rayleigh-Ritz projection onto [X, W, P]: the current approximations, their
preconditioned residuals and the previous search directions. ``method="ortho"`` (the
default, after Duersch et al. 2018) keeps that basis B-orthonormal by repeated projection
and SVQB, dropping directions that have become dependent; ``method="basic"`` projects the
raw basis and solves the small generalized problem through a scaled Cholesky factor,
restarting without P when the Gram matrix stops being positive definite. Iteration stops
when the first k residuals are small relative to the norms of A and B, or after ``niter``
steps, as in PyTorch. The iterates are not PyTorch's bit for bit (the start is random);
converged eigenvalues agree to the tolerance.

The gradient is the partial-eigenspace eigh backward for B = I and real A (PyTorch
refuses the rest), written with ember ops so it can be differentiated again.
"""

from __future__ import annotations

import math

import numpy as np

from ._ops._util import _make, xp_of
from .autograd.function import Function

_FEPS = {"float32": 1.2e-07, "float64": 2.23e-16}  # PyTorch's per-dtype machine epsilon


class _Worker:
    """One matrix's LOBPCG run on backend arrays; ``tracker(worker)`` sees each step."""

    def __init__(self, A, B, X, iK, settings):
        self.A, self.B, self.iK = A, B, iK
        self.xp = xp_of(A)
        self.k, self.niter, self.tol = settings["k"], settings["niter"], settings["tol"]
        self.largest, self.method = settings["largest"], settings["method"]
        self.ortho = settings["ortho"]
        self.tracker = settings["tracker"]
        self.X = X
        self.E = None
        self.R = None
        self.ivars = {"istep": 0, "converged_count": 0}
        self.tvars = {}

    # -- B inner products -----------------------------------------------------------------

    def _times_b(self, V):
        return V if self.B is None else self.B @ V

    def _gram(self, U, V):
        return U.T @ self._times_b(V)

    def _svqb(self, U, drop):
        """A B-orthonormal basis of span(U) (Stathopoulos-Wu SVQB); with ``drop``, directions
        whose Gram eigenvalue falls under tau times the largest are removed."""
        xp = self.xp
        gram = self._gram(U, U)
        gram = (gram + gram.T) / 2
        scale = 1.0 / xp.sqrt(xp.maximum(xp.abs(xp.diagonal(gram)), np.finfo(U.dtype).tiny))
        values, vectors = xp.linalg.eigh(gram * scale[:, None] * scale[None, :])
        tau = self.ortho["ortho_tol_drop"] if drop else self.ortho["ortho_tol_replace"]
        floor = tau * float(xp.abs(values).max()) if values.size else 0.0
        if drop:
            keep = values > floor
            values, vectors = values[keep], vectors[:, keep]
        else:
            values = xp.maximum(values, floor)
        return (U * scale[None, :]) @ (vectors / xp.sqrt(values)[None, :])

    def _orthogonalize_against(self, V, U):
        """Directions of U B-orthonormal to each other and to the B-orthonormal V: repeated
        projection and SVQB until the Gram matrix is the identity to ``ortho_tol``."""
        xp = self.xp
        for _ in range(self.ortho["ortho_i_max"]):
            for _ in range(self.ortho["ortho_j_max"]):
                U = U - V @ self._gram(V, U)
                if U.shape[1] == 0:
                    return U
                U = self._svqb(U, drop=True)  # dependent directions must go
                gram = self._gram(U, U)
                error = float(xp.linalg.norm(gram - xp.eye(U.shape[1], dtype=U.dtype)))
                if error < self.ortho["ortho_tol"]:
                    break
            coupling = float(xp.linalg.norm(self._gram(V, U))) if U.shape[1] else 0.0
            if coupling < self.ortho["ortho_tol"]:
                break
        return U

    # -- Rayleigh-Ritz --------------------------------------------------------------------

    def _select(self, values, vectors):
        """The n wanted Ritz pairs: largest first, or smallest first."""
        n = self.X.shape[1]
        if self.largest:
            return values[::-1][:n], vectors[:, ::-1][:, :n]
        return values[:n], vectors[:, :n]

    def _ritz_orthonormal(self, S):
        projected = S.T @ (self.A @ S)
        values, vectors = self.xp.linalg.eigh((projected + projected.T) / 2)
        return self._select(values, vectors)

    def _ritz_cholesky(self, S):
        """Ritz pairs of the raw basis S through a scaled Cholesky factor of its Gram matrix,
        or None when that matrix is not numerically positive definite."""
        xp = self.xp
        gram = self._gram(S, S)
        scale = 1.0 / xp.sqrt(xp.maximum(xp.abs(xp.diagonal(gram)), np.finfo(S.dtype).tiny))
        gram = gram * scale[:, None] * scale[None, :]
        try:
            lower = xp.linalg.cholesky((gram + gram.T) / 2)
        except np.linalg.LinAlgError:
            return None
        if not bool(xp.isfinite(lower).all()):  # CuPy's cholesky returns nan, not raising
            return None
        projected = S.T @ (self.A @ S) * scale[:, None] * scale[None, :]
        inverse = xp.linalg.inv(lower)
        reduced = inverse @ projected @ inverse.T
        values, vectors = xp.linalg.eigh((reduced + reduced.T) / 2)
        values, vectors = self._select(values, vectors)
        return values, scale[:, None] * (inverse.T @ vectors)

    # -- iteration ------------------------------------------------------------------------

    def _converged_count(self):
        """How many leading pairs have a relative residual under tol."""
        xp = self.xp
        scale = xp.linalg.norm(self.X, axis=0) * (self.A_norm + xp.abs(self.E) * self.B_norm)
        relative = xp.linalg.norm(self.R, axis=0) / scale
        self.tvars["rerr"] = relative
        converged = (relative < self.tol).tolist()
        count = 0
        while count < len(converged) and converged[count]:
            count += 1
        return count

    def run(self):
        xp = self.xp
        if self.method == "ortho":
            self.X = self._svqb(self.X, drop=False)
            self.E, vectors = self._ritz_orthonormal(self.X)
            self.X = self.X @ vectors
        else:
            self.E, vectors = self._ritz_cholesky(self.X)
            self.X = self.X @ vectors
        x_norm = float(xp.linalg.norm(self.X)) or 1.0
        self.A_norm = float(xp.linalg.norm(self.A @ self.X)) / x_norm
        self.B_norm = float(xp.linalg.norm(self._times_b(self.X))) / x_norm
        directions = None
        self._update_residual()
        while self.ivars["converged_count"] < self.k and not (
                0 < self.niter <= self.ivars["istep"]):
            residual = self.R if self.iK is None else self.iK @ self.R
            directions = self._step(residual, directions)
            self.ivars["istep"] += 1
            self._update_residual()
            if self.tracker is not None:  # after each step, as PyTorch's (istep from 1)
                self.tracker(self)
        return self.E, self.X

    def _update_residual(self):
        self.R = self.A @ self.X - self._times_b(self.X) * self.E[None, :]
        self.ivars["converged_count"] = self._converged_count()

    def _step(self, residual, directions):
        """One Rayleigh-Ritz update of X and E; returns the new search directions P."""
        xp = self.xp
        extra = residual if directions is None else xp.concatenate([residual, directions], 1)
        if self.method == "ortho":
            extra = self._orthogonalize_against(self.X, extra)
            basis = xp.concatenate([self.X, extra], 1)
            self.E, vectors = self._ritz_orthonormal(basis)
        else:
            basis = xp.concatenate([self.X, extra], 1)
            result = self._ritz_cholesky(basis)
            if result is None and directions is not None:  # restart without P
                basis = xp.concatenate([self.X, residual], 1)
                result = self._ritz_cholesky(basis)
            if result is None:  # dependent residuals: fall back to an orthonormal basis
                basis = xp.concatenate([self.X, self._orthogonalize_against(
                    self._svqb(self.X, drop=False), residual)], 1)
                basis = self._svqb(basis, drop=True)
                result = self._ritz_orthonormal(basis)
            self.E, vectors = result
        n = self.X.shape[1]
        self.X = basis @ vectors
        return basis[:, n:] @ vectors[n:]


def _settings(A, dtype, k, X, n, niter, tol, largest, method, tracker, ortho_iparams,
              ortho_fparams, ortho_bparams):
    """PyTorch's defaults and checks, in its order; (settings, n)."""
    if tol is None:
        name = str(dtype).split(".")[-1]
        if name not in _FEPS:
            raise KeyError(dtype)
        tol = _FEPS[name] ** 0.5
    m = A.shape[-1]
    k = (1 if X is None else X.shape[-1]) if k is None else k
    n = (k if n is None else n) if X is None else X.shape[-1]
    if m < 3 * n:
        raise ValueError(
            f"LOBPCG algorithm is not applicable when the number of A rows (={m}) is smaller "
            f"than 3 x the number of requested eigenpairs (={n})")
    method = "ortho" if method is None else method
    ortho = {"ortho_i_max": 3, "ortho_j_max": 3, "ortho_tol": tol, "ortho_tol_drop": tol,
             "ortho_tol_replace": tol, "ortho_use_drop": False}  # ember always drops
    if method == "ortho":
        for extra in (ortho_iparams, ortho_fparams, ortho_bparams):
            ortho.update(extra or {})
    settings = {"k": k, "niter": 1000 if niter is None else niter, "tol": tol,
                "largest": True if largest is None else largest, "method": method,
                "tracker": tracker, "ortho": ortho}
    return settings, n


def _run(A, B, X, iK, settings):
    """E (..., k) and X (..., m, k) for a batch of backend arrays (X already drawn)."""
    xp = xp_of(A)
    m, k = A.shape[-1], settings["k"]
    batch = A.shape[:-2]
    count = math.prod(batch)
    flat_a = A.reshape((count, m, m))
    flat_b = None if B is None else B.reshape((count, m, m))
    flat_x = X.reshape((count,) + X.shape[-2:])
    values, vectors = [], []
    for index in range(count):
        worker = _Worker(flat_a[index], None if flat_b is None else flat_b[index],
                         flat_x[index], iK, settings)
        E, U = worker.run()
        values.append(E[:k])
        vectors.append(U[:, :k])
    kept = values[0].shape[0] if count else min(k, X.shape[-1])
    E = xp.stack(values) if count else xp.empty((0, kept), A.dtype)
    U = xp.stack(vectors) if count else xp.empty((0, m, kept), A.dtype)
    return E.reshape(batch + (kept,)), U.reshape(batch + (m, kept))


class LOBPCGFunction(Function):
    """lobpcg with PyTorch's partial-eigenspace gradient (B = I, real A)."""

    _array_io = True
    _node_name = "LOBPCGAutogradFunctionBackward"

    @staticmethod
    def forward(ctx, A, B, X, iK, settings):
        E, U = _run(A, B, X, iK, settings)
        ctx.has_b = B is not None
        ctx.complex = A.dtype.kind == "c"
        ctx.save_for_backward(A, E, U)
        return E, U

    @staticmethod
    def backward(ctx, grad_e, grad_u):
        if ctx.complex:
            raise ValueError("lobpcg.backward does not support complex input yet. Note that "
                             "lobpcg.forward does though.")
        if ctx.has_b:
            raise ValueError("lobpcg.backward does not support backward with B != I yet.")
        A, E, U = ctx.saved_tensors
        return _partial_eigh_backward(grad_e, grad_u, A, E, U), None, None, None, None


def _partial_eigh_backward(grad_e, grad_u, A, E, U):
    """dL/dA for k eigenpairs (E, U) of symmetric A: U diag(gE) U^T from the eigenvalues;
    for the eigenvectors, the part of gU inside span(U) as eigh's backward, the part
    outside through (A - e_i I)^-1 on the complement of span(U)."""
    from ._ops.creation import eye
    from .linalg import solve

    m, k = U.shape[-2], U.shape[-1]
    gradient = None
    if grad_e is not None:
        gradient = (U * grad_e.unsqueeze(-2)).matmul(U.mT)
    if grad_u is not None:
        identity = eye(m, dtype=A.dtype, device=A.device)
        gaps = E.unsqueeze(-2) - E.unsqueeze(-1)  # gaps[i, j] = e_j - e_i
        off_diagonal = 1 - eye(k, dtype=A.dtype, device=A.device)
        inverse_gaps = off_diagonal / (gaps + (1 - off_diagonal))
        inside = U.matmul(inverse_gaps * U.mT.matmul(grad_u)).matmul(U.mT)
        projector = identity - U.matmul(U.mT)
        outside_grad = projector.matmul(grad_u)  # (..., m, k)
        # M_i = A - e_i I + U diag(1 - e + e_i) U^T: (A - e_i I) on the complement of
        # span(U), the identity on span(U), so it is invertible when e_i is simple.
        shift = 1 - E.unsqueeze(-2) + E.unsqueeze(-1)  # shift[i, j] = 1 - e_j + e_i
        on_span = (U.unsqueeze(-3) * shift.unsqueeze(-2)).matmul(U.mT.unsqueeze(-3))
        shifted = A.unsqueeze(-3) - E.unsqueeze(-1).unsqueeze(-1) * identity + on_span
        solved = solve(shifted, outside_grad.mT.unsqueeze(-1)).squeeze(-1)  # (..., k, m)
        outside = -projector.matmul(solved.mT).matmul(U.mT)
        vector_part = inside + outside
        gradient = vector_part if gradient is None else gradient + vector_part
    return gradient


def lobpcg(A, k=None, B=None, X=None, n=None, iK=None, niter=None, tol=None, largest=None,
           method=None, tracker=None, ortho_iparams=None, ortho_fparams=None,
           ortho_bparams=None):
    """The ``k`` largest (``largest=False``: smallest) eigenpairs (E, X) of the symmetric
    generalized problem A x = e B x, as ``torch.lobpcg``.

    Args:
        A: (*, m, m) symmetric matrix (dense; a sparse one is densified).
        k: pairs wanted (default: X's columns, or 1). n: block size when X is None.
        B: (*, m, m) symmetric positive definite, or None for the identity.
        X: (*, m, n) starting block (default: standard normal).
        iK: (m, m) preconditioner applied to the residuals.
        niter: iteration limit (default 1000; 0 or less: until converged).
        tol: relative residual tolerance (default sqrt of the dtype's epsilon).
        method: "ortho" (default) or "basic". tracker: called with the worker each step.
    """
    from ._backend.dtypes import float32
    from ._ops.random import randn

    if A.shape[-2] != A.shape[-1]:
        raise AssertionError(f"A must be square, got shape {A.shape}")
    if B is not None and tuple(A.shape) != tuple(B.shape):
        raise AssertionError(f"A and B must have same shape, got {A.shape} vs {B.shape}")
    A, B, iK = (_dense(value) for value in (A, B, iK))
    # PyTorch works in A's dtype when it is floating, else in float32 (then the first
    # product fails on the dtype mismatch, as there)
    dtype = A.dtype if A.is_floating_point() else float32
    settings, n = _settings(A, dtype, k, X, n, niter, tol, largest, method, tracker,
                            ortho_iparams, ortho_fparams, ortho_bparams)
    m = A.shape[-1]
    if X is None:
        X = randn(tuple(A.shape[:-2]) + (m, n), dtype=dtype, device=A.device)
    else:
        _check_start(A, X, m, n)
    A[..., :1, :].matmul(X[..., :1])  # PyTorch's matmul error for mismatched dtypes
    if A.requires_grad or (B is not None and B.requires_grad):
        # Symmetrize, as PyTorch: the gradient then stays symmetric, so a step
        # A - lr * A.grad keeps A symmetric.
        A = (A + A.mT) / 2
        B = None if B is None else (B + B.mT) / 2
        return LOBPCGFunction.apply(A, B, X.detach(), iK, settings)
    E, U = _run(A._data, None if B is None else B._data, X.detach()._data,
                None if iK is None else iK._data, settings)
    return _make(E), _make(U)


def _check_start(A, X, m, n):
    """PyTorch's errors for a starting block X of the wrong shape."""
    if A.ndim > 2:
        count = math.prod(A.shape[:-2])
        wanted = [count, *X.shape[-2:]]
        if X.numel() != math.prod(wanted):
            raise RuntimeError(f"shape '{wanted}' is invalid for input of size {X.numel()}")
        if tuple(X.shape[-2:]) != (m, n):
            raise AssertionError(
                f"X_ shape mismatch: got {X.shape[-2:]}, expected {(m, n)}")
    elif X.ndim != 2 or tuple(X.shape) != (m, n):
        raise AssertionError(f"X shape mismatch: got {X.shape}, expected {(m, n)}")


def _dense(value):
    if value is None or not getattr(value, "is_sparse", False):
        return value
    return value.to_dense()


__all__ = ["lobpcg"]
