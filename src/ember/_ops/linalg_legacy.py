"""ops family: torch-level linear algebra outside torch.linalg.

The deprecated spellings PyTorch still runs (``torch.lu``, ``torch.lu_solve``,
``torch.triangular_solve``, with its warnings), LAPACK-level names (``geqrf``, ``orgqr``,
``ormqr``), ``lu_unpack``, the old norms, the randomized low-rank SVD/PCA, and the names
PyTorch removed, which raise its error telling what replaces them. Each delegates to
``ember.linalg`` (imported when first called: that module builds on the ops layer).
"""

from __future__ import annotations

import warnings

from ._autocast import FLOAT32_TORCH_LINALG, autocast_entry_points
from ._select import _return_type

__all__ = [
    "eig", "frobenius_norm", "geqrf", "lstsq", "lu", "lu_solve", "lu_unpack", "matrix_rank",
    "nuclear_norm", "orgqr", "ormqr", "pca_lowrank", "solve", "svd_lowrank", "symeig",
    "triangular_solve",
]

_triangular_solve_t = _return_type("triangular_solve", ("solution", "cloned_coefficient"))
_lu_unpack_t = _return_type("lu_unpack", ("P", "L", "U"))

_TRIGGER = " (Triggered internally at aten/src/ATen/native/BatchLinearAlgebra.cpp.)"


def _linalg():
    from .. import linalg

    return linalg


def _extra():
    from .. import _linalg_extra

    return _linalg_extra


def lu(A, pivot=True, get_infos=False, out=None):
    """(LU, pivots[, infos]): the deprecated spelling of ``linalg.lu_factor(_ex)``."""
    warnings.warn(
        "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex "
        "and will be removed in a future PyTorch release.\nLU, pivots = torch.lu(A, "
        "compute_pivots)\nshould be replaced with\nLU, pivots = torch.linalg.lu_factor(A, "
        "compute_pivots)\nand\nLU, pivots, info = torch.lu(A, compute_pivots, get_infos=True)"
        "\nshould be replaced with\nLU, pivots, info = torch.linalg.lu_factor_ex(A, "
        "compute_pivots)" + _TRIGGER, UserWarning, stacklevel=2)
    factor, pivots, info = _extra().lu_factor_ex(A, pivot=pivot, check_errors=not get_infos)
    return (factor, pivots, info) if get_infos else (factor, pivots)


def lu_solve(b, LU_data, LU_pivots, *, out=None):
    """The deprecated ``torch.lu_solve(B, LU, pivots)``: ``linalg.lu_solve`` reversed."""
    warnings.warn(
        "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in "
        "a future PyTorch release.\nNote that torch.linalg.lu_solve has its arguments "
        "reversed.\nX = torch.lu_solve(B, LU, pivots)\nshould be replaced with\nX = "
        "torch.linalg.lu_solve(LU, pivots, B)" + _TRIGGER, UserWarning, stacklevel=2)
    return _linalg().lu_solve(LU_data, LU_pivots, b)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    """(P, L, U) from ``lu_factor``'s packed form; L and U are differentiable in LU."""
    from .._linalg_lu import _permutation
    from ._util import _make, xp_of

    m, n = LU_data.shape[-2], LU_data.shape[-1]
    k = min(m, n)
    xp = xp_of(LU_data._data)
    if unpack_data:
        eye = _make(xp.eye(m, k, dtype=LU_data._data.dtype))
        lower = LU_data[..., :, :k].tril(-1) + eye
        upper = LU_data[..., :k, :].triu()
    else:
        lower = upper = LU_data.new_empty((0,))
    if unpack_pivots:
        if LU_pivots.dtype.is_floating_point or LU_pivots.dtype.is_complex:
            raise RuntimeError(
                "torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of "
                "torch.int32 dtype.\nNote: this function is intended to be used with the "
                "output produced by torch.linalg.lu_factor")
        perm = _make(_permutation(LU_pivots._data.astype("int64"), m, LU_data._data.dtype, xp))
    else:
        perm = LU_data.new_empty((0,))
    return _lu_unpack_t(perm, lower, upper)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    """(solution, cloned_coefficient) of A X = b: the deprecated ``solve_triangular``."""
    warnings.warn(
        "torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangularand "
        "will be removed in a future PyTorch release.\ntorch.linalg.solve_triangular has its "
        "arguments reversed and does not return a copy of one of the inputs.\nX = "
        "torch.triangular_solve(B, A).solution\nshould be replaced with\nX = "
        "torch.linalg.solve_triangular(A, B)." + _TRIGGER, UserWarning, stacklevel=2)
    coefficient = A.mT if transpose else A
    solution = _linalg().solve_triangular(coefficient, b, upper=upper != transpose,
                                          unitriangular=unitriangular)
    return _triangular_solve_t(solution, A.clone())


def geqrf(input, *, out=None):
    return _extra().geqrf(input)


def orgqr(input, tau):
    """LAPACK's name for ``linalg.householder_product``."""
    return _extra().householder_product(input, tau)


def ormqr(input, input2, input3, left=True, transpose=False, *, out=None):
    return _extra().ormqr(input, input2, input3, left=left, transpose=transpose)


def nuclear_norm(input, dim=None, keepdim=False, *, out=None):
    """The deprecated ``torch.nuclear_norm(input[, dim], keepdim=False)``."""
    if isinstance(dim, bool):  # nuclear_norm(input, keepdim)
        dim, keepdim = None, dim
    return _linalg().matrix_norm(input, "nuc", dim=(-2, -1) if dim is None else dim,
                                 keepdim=keepdim)


def frobenius_norm(input, dim, keepdim=False, *, out=None):
    """The deprecated ``torch.frobenius_norm(input, dim, keepdim=False)``."""
    warnings.warn(
        "at::frobenius_norm is deprecated and it is just left for JIT compatibility. It will "
        "be removed in a future PyTorch release. Please use `linalg.vector_norm(A, 2., dim, "
        "keepdim)` instead" + _TRIGGER, UserWarning, stacklevel=2)
    return _linalg().vector_norm(input, 2, dim=dim, keepdim=keepdim)


def svd_lowrank(A, q=6, niter=2, M=None):
    """(U, S, V): a rank-``q`` SVD of A (minus M) by randomized subspace iteration
    (Halko, Martinsson & Tropp, 2009), as PyTorch's: exact for matrices of rank <= q."""
    return _extra_lowrank().svd_lowrank(A, q=q, niter=niter, M=M)


def pca_lowrank(A, q=None, center=True, niter=2):
    """(U, S, V) of the centered data's low-rank SVD: principal directions in V."""
    return _extra_lowrank().pca_lowrank(A, q=q, center=center, niter=niter)


def _extra_lowrank():
    from .. import _linalg_lowrank

    return _linalg_lowrank


def _removed(message):
    def raise_removed(*args, **kwargs):
        raise RuntimeError("This function was deprecated since version 1.9 and is now removed."
                           + message)

    return raise_removed


solve = _removed(
    " `torch.solve` is deprecated in favor of `torch.linalg.solve`. `torch.linalg.solve` has "
    "its arguments reversed and does not return the LU factorization.\n\nTo get the LU "
    "factorization see `torch.lu`, which can be used with `torch.lu_solve` or "
    "`torch.lu_unpack`.\nX = torch.solve(B, A).solution should be replaced with:\nX = "
    "torch.linalg.solve(A, B)")
lstsq = _removed(
    " `torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`.\n`torch.linalg.lstsq` "
    "has reversed arguments and does not return the QR decomposition in the returned tuple "
    "(although it returns other information about the problem).\n\nTo get the QR "
    "decomposition consider using `torch.linalg.qr`.\n\nThe returned solution in "
    "`torch.lstsq` stored the residuals of the solution in the last m - n columns of the "
    "returned value whenever m > n. In torch.linalg.lstsq, the residuals are in the field "
    "'residuals' of the returned named tuple.\n\nThe unpacking of the solution, as in\nX, _ "
    "= torch.lstsq(B, A).solution[:A.size(1)]\nshould be replaced with:\nX = "
    "torch.linalg.lstsq(A, B).solution")
eig = _removed(
    " `torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` rather than "
    "real tensors mimicking complex tensors.\n\nL, _ = torch.eig(A) should be replaced with:"
    "\nL_complex = torch.linalg.eigvals(A)\n\nand\n\nL, V = torch.eig(A, eigenvectors=True) "
    "should be replaced with:\nL_complex, V_complex = torch.linalg.eig(A)")
symeig = _removed(
    " The default behavior has changed from using the upper triangular portion of the matrix "
    "by default to using the lower triangular portion.\n\nL, _ = torch.symeig(A, "
    "upper=upper) should be replaced with:\nL = torch.linalg.eigvalsh(A, UPLO='U' if upper "
    "else 'L')\n\nand\n\nL, V = torch.symeig(A, eigenvectors=True) should be replaced with:\n"
    "L, V = torch.linalg.eigh(A, UPLO='U' if upper else 'L')")
matrix_rank = _removed(
    "\nPlease use the `torch.linalg.matrix_rank` function instead. The parameter 'symmetric' "
    "was renamed in `torch.linalg.matrix_rank()` to 'hermitian'.")

autocast_entry_points(globals(), FLOAT32_TORCH_LINALG)  # float32 under autocast

TENSOR_METHODS = {
    "lu": lu, "lu_solve": lu_solve, "triangular_solve": triangular_solve, "geqrf": geqrf,
    "orgqr": orgqr, "ormqr": ormqr, "solve": solve, "lstsq": lstsq, "eig": eig,
    "symeig": symeig,
}
