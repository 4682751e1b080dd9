"""``parametrizations.orthogonal``: a weight kept (semi-)orthogonal by mapping an
unconstrained matrix through matrix_exp, Cayley or a Householder product, as PyTorch's
``_Orthogonal`` (same ``original`` / ``base`` state, so checkpoints load across)."""

from __future__ import annotations

import numpy as np

from ..._ops._util import _make, xp_of
from ..._ops.creation import eye, zeros_like
from ..._ops.shape_copy import cat
from ..._tensor import Tensor
from ...autograd.function import Function
from ...autograd.grad_mode import no_grad
from ...linalg import solve
from ..modules.module import Module

_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
           129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
           40840800.0, 960960.0, 16380.0, 182.0, 1.0)


def _expm(a):
    """exp of (a batch of) square matrices: Pade 13 with scaling and squaring (Higham)."""
    xp = xp_of(a)
    work = a.astype(np.float64)
    norm = float(xp.abs(work).sum(axis=-2).max()) if work.size else 0.0
    squarings = max(0, int(np.ceil(np.log2(norm / 5.371920351148152)))) if norm > 0 else 0
    work = work / 2.0 ** squarings
    b = _PADE13
    ident = xp.broadcast_to(xp.eye(a.shape[-1]), work.shape)
    a2 = work @ work
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = work @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4
                + b[3] * a2 + b[1] * ident)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 \
        + b[0] * ident
    result = xp.linalg.solve(v - u, v + u)
    for _ in range(squarings):
        result = result @ result
    return result.astype(a.dtype)


class _MatrixExp(Function):
    """matrix_exp; the gradient is the Frechet derivative at A^T applied to the upstream
    gradient, read off the exp of the block matrix [[A^T, G], [0, A^T]]."""

    _array_io = True
    _node_name = "LinalgMatrixExpBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.a = a
        return _expm(a)

    @staticmethod
    def backward(ctx, grad):
        a = ctx.a
        xp = xp_of(a)
        n = a.shape[-1]
        at = xp.swapaxes(a, -1, -2)
        g = grad._data.astype(a.dtype)
        top = xp.concatenate([at, g], axis=-1)
        bottom = xp.concatenate([xp.zeros_like(at), at], axis=-1)
        block = _expm(xp.concatenate([top, bottom], axis=-2))
        return _make(xp.ascontiguousarray(block[..., :n, n:]))


def _householder_product(reflectors, tau):
    """Q = H_1 ... H_k (first k columns) with H_i = I - tau_i v_i v_i^T, v_i the i-th
    column of ``reflectors`` below the diagonal with a unit diagonal (LAPACK's layout);
    one rank-1 update per reflector, written with Tensor ops so it is differentiable."""
    n, k = reflectors.shape[-2], reflectors.shape[-1]
    vectors = reflectors.tril(-1) + eye(n, k, dtype=reflectors.dtype, device=reflectors.device)
    q = eye(n, dtype=reflectors.dtype, device=reflectors.device)
    for i in reversed(range(k)):
        v = vectors[..., :, i:i + 1]
        q = q - (tau[..., i:i + 1].unsqueeze(-1) * v) @ (v.transpose(-1, -2) @ q)
    return q[..., :, :k]


def _make_orthogonal(a):
    """Q of A = QR with diag(R) >= 0 (A tall), as arrays."""
    xp = xp_of(a)
    q, r = xp.linalg.qr(a)
    signs = xp.sign(xp.diagonal(r, axis1=-2, axis2=-1))
    signs = xp.where(signs == 0, 1, signs)
    return q * signs[..., None, :]


def _is_orthogonal(q):
    xp = xp_of(q)
    n, k = q.shape[-2], q.shape[-1]
    eps = 10.0 * n * np.finfo(q.dtype).eps
    return bool(xp.allclose(xp.swapaxes(q, -1, -2).conj() @ q, xp.eye(k), atol=eps))


_MAPS = ("matrix_exp", "cayley", "householder")


class _Orthogonal(Module):
    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        if weight.is_complex() and orthogonal_map == "householder":
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, x):
        n, k = x.shape[-2], x.shape[-1]
        transposed = n < k
        if transposed:
            x = x.transpose(-1, -2)
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            x = x.tril()
            if n != k:
                pad = zeros_like(x[..., :, :1]).expand(*x.shape[:-1], n - k)
                x = cat([x, pad], dim=-1)
            a = x - x.transpose(-1, -2)
            if self.orthogonal_map == "matrix_exp":
                q = _MatrixExp.apply(a)
            else:
                ident = eye(n, dtype=a.dtype, device=a.device)
                q = solve(ident - a * 0.5, ident + a * 0.5)
            if n != k:
                q = q[..., :k]
        else:
            reflectors = x.tril(-1)
            tau = 2.0 / (1.0 + (reflectors * reflectors).sum(dim=-2))
            q = _householder_product(reflectors, tau)
            q = q * x.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        if hasattr(self, "base"):
            q = self.base @ q
        if transposed:
            q = q.transpose(-1, -2)
        return q

    def right_inverse(self, q):
        if q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {q.shape}.")
        with no_grad():
            q_init = q
            n, k = q.shape[-2], q.shape[-1]
            transpose = n < k
            array = q._data
            xp = xp_of(array)
            if transpose:
                array = xp.swapaxes(array, -1, -2)
                n, k = k, n
            if not hasattr(self, "base"):
                if self.orthogonal_map != "householder":
                    raise NotImplementedError(
                        "It is not possible to assign to the matrix exponential or the Cayley "
                        "parametrizations when use_trivialization=False.")
                raw, tau = xp.linalg.qr(array, mode="raw")
                reflectors = xp.swapaxes(raw, -1, -2).copy()
                diag = xp.arange(k)
                reflectors[..., diag, diag] = (xp.sign(reflectors[..., diag, diag])
                                               * xp.where(tau == 0.0, -1, 1))
                out = xp.swapaxes(reflectors, -1, -2) if transpose else reflectors
                return _make(xp.ascontiguousarray(out))
            if n == k:
                base = array.copy() if _is_orthogonal(array) else _make_orthogonal(array)
            else:
                from ..._ops.random import randn

                completion = randn(*array.shape[:-2], n, n - k, dtype=q.dtype,
                                   device=q.device)._data
                base = _make_orthogonal(xp.concatenate([array, completion], axis=-1))
            self.base = _make(xp.ascontiguousarray(base.astype(array.dtype)))
            neg_id = xp.zeros(q_init.shape, dtype=array.dtype)
            diag = xp.arange(min(q_init.shape[-2:]))
            neg_id[..., diag, diag] = -1
            return _make(neg_id)


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Constrain ``module.<name>`` to (semi-)orthogonal matrices."""
    from . import parametrize

    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError("Expected a matrix or batch of matrices. Got a tensor of "
                         f"{weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = ("matrix_exp" if weight.shape[-2] == weight.shape[-1]
                          or weight.is_complex() else "householder")
    if orthogonal_map not in _MAPS:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", '
                         f'"householder". Got: {orthogonal_map}')
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
