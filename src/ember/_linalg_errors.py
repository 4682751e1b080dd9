"""ember.linalg's error side: LinAlgError and the exact PyTorch messages, which name the
batch element and the failing pivot or leading minor. Everything here runs only after
LAPACK has failed, so it may loop over the matrices of a batch.
"""

from __future__ import annotations

import contextlib

import numpy as np


class LinAlgError(RuntimeError):
    """A matrix was singular or not positive-definite (a RuntimeError, as PyTorch's).

    PyTorch's class is ``torch._C._LinAlgError`` (``torch.linalg.LinAlgError`` is the same
    object), so its repr reads ``_LinAlgError('...')`` and a traceback names the private
    class; ember names it ``_LinAlgError`` too, homed in ``ember.linalg`` (which exports
    both names, so pickling finds it). Raised ``from None``: NumPy's error it replaces
    would otherwise print first as a chained traceback, which PyTorch's has not."""


LinAlgError.__name__ = LinAlgError.__qualname__ = "_LinAlgError"
LinAlgError.__module__ = "ember.linalg"
_LinAlgError = LinAlgError


def lapack_errors(xp):
    """A context in which ``xp.linalg``'s inv, solve and cholesky raise NumPy's LinAlgError
    on a singular (or not positive-definite) input. NumPy always does; CuPy reads
    cuSOLVER's info back (one device sync, as PyTorch's CUDA inv/solve/cholesky do) only
    under ``cupyx.errstate(linalg="raise")``; by default it returns inf/nan silently."""
    if xp is np:
        return contextlib.nullcontext()
    import cupyx

    return cupyx.errstate(linalg="raise")


def _batch_prefix(array, index):
    return f"(Batch element {index}): " if array.ndim > 2 else ""


def _first_zero_pivot(matrix):
    """1-based index of the first zero pivot LAPACK's getrf meets (partial pivoting)."""
    lu = np.array(matrix, dtype=np.float64, copy=True)
    n = lu.shape[0]
    first = 0
    for k in range(n):  # one column at a time: only reached on the error path
        pivot = k + int(np.argmax(np.abs(lu[k:, k])))
        if lu[pivot, k] == 0:
            first = first or k + 1
            continue
        lu[[k, pivot]] = lu[[pivot, k]]
        lu[k + 1:, k:] -= np.outer(lu[k + 1:, k] / lu[k, k], lu[k, k:])
    return first or n


def _host(array):
    return array.get() if type(array).__module__.startswith("cupy") else np.asarray(array)


def _raise_singular(name, array):
    host = _host(array)
    flat = host.reshape((-1,) + host.shape[-2:])
    for index, matrix in enumerate(flat):  # error path only
        if np.linalg.matrix_rank(matrix) < matrix.shape[0] or not np.all(np.isfinite(matrix)):
            pivot = _first_zero_pivot(matrix)
            raise LinAlgError(
                f"{name}: {_batch_prefix(host, index)}The diagonal element {pivot} is zero, the "
                "inversion could not be completed because the input matrix is singular."
            ) from None
    raise LinAlgError(f"{name}: The input matrix is singular.") from None


def _per_matrix_info(array, info_of):
    host = _host(array)
    flat = host.reshape((-1,) + host.shape[-2:])
    info = np.array([info_of(m) for m in flat], dtype=np.int32)  # error path only
    return info.reshape(host.shape[:-2])


def _singular_info(matrix):
    singular = np.linalg.matrix_rank(matrix) < matrix.shape[0] or not np.all(np.isfinite(matrix))
    return _first_zero_pivot(matrix) if singular else 0


def _not_pd_order(matrix):
    """Order of the first leading minor that is not positive-definite (0 if none)."""
    for order in range(1, matrix.shape[0] + 1):
        try:
            np.linalg.cholesky(matrix[:order, :order])
        except np.linalg.LinAlgError:
            return order
    return 0


def _raise_solve_singular(a):
    prefix = ""
    if a.ndim > 2:
        host = _host(a)
        flat = host.reshape((-1,) + host.shape[-2:])
        ranks = np.linalg.matrix_rank(flat)  # error path only
        index = int(np.argmax(ranks < host.shape[-1]))
        prefix = f"(Batch element {index}): "
    raise LinAlgError(
        f"torch.linalg.solve: {prefix}The solver failed because the input matrix is singular."
    ) from None


def _raise_not_pd(a):
    host = _host(a)
    flat = host.reshape((-1,) + host.shape[-2:])
    for index, matrix in enumerate(flat):  # error path only
        order = _not_pd_order(matrix)
        if order:
            raise LinAlgError(
                f"linalg.cholesky: {_batch_prefix(host, index)}The factorization could not "
                "be completed because the input is not positive-definite (the leading "
                f"minor of order {order} is not positive-definite)."
            ) from None
    raise LinAlgError("linalg.cholesky: The input is not positive-definite.") from None


# -- half and bfloat16 inputs -------------------------------------------------------------
# LAPACK has no 16-bit routines, and NumPy would raise a TypeError of its own. PyTorch
# refuses these dtypes up front with one of three kinds of message, depending on the op:
# a dtype check, the name of the CPU kernel that is not instantiated, or a float/double
# check. The table says which for every op ember routes through check_lapack_dtype.
_LOW_PRECISION_NAMES = {"float16": "Half", "bfloat16": "BFloat16"}
_CHECKED = "{name}: Low precision dtypes not supported. Got {dtype}"
_FLOAT_DOUBLE = "This function doesn't handle types other than float and double"
_LOW_PRECISION = {
    "linalg.inv": _CHECKED, "linalg.slogdet": _CHECKED, "logdet": _CHECKED,
    # matrix_norm checks only where it takes singular values (ord 2, -2, 'nuc')
    "linalg.matrix_norm(svd)": "linalg.matrix_norm: Low precision dtypes not supported. "
                               "Got {dtype}",
    "linalg.lstsq": _FLOAT_DOUBLE, "linalg.matrix_rank": _FLOAT_DOUBLE,
    "linalg.pinv": ("linalg.pinv({dtype}{{{shape}}}): expected a tensor with 2 or more "
                    "dimensions of float, double, cfloat or cdouble types"),
    "linalg.vander": ("linalg.vander supports floating point, complex, and integer tensors, "
                      "but got {dtype}"),
}
_LOW_PRECISION_KERNEL = {
    "linalg.det": "lu_cpu", "linalg.solve": "lu_cpu", "linalg.solve_ex": "lu_cpu",
    "linalg.lu": "lu_cpu", "linalg.lu_factor": "lu_cpu", "linalg.lu_factor_ex": "lu_cpu",
    "linalg.lu_solve": "linalg.lu_solve_cpu", "linalg.cholesky": "cholesky_cpu",
    "cholesky_solve": "cholesky_solve_cpu", "cholesky_inverse": "cholesky_inverse_out_cpu",
    "linalg.qr": "geqrf_cpu", "geqrf": "geqrf_cpu", "linalg.householder_product": "orgqr_cpu",
    "ormqr": "ormqr_cpu", "linalg.svd": "linalg_svd_cpu", "linalg.eig": "linalg_eig_out_cpu",
    "linalg.eigvals": "linalg_eig_out_cpu", "linalg.eigh": "linalg_eigh_cpu",
    "linalg.eigvalsh": "linalg_eigh_cpu", "linalg.solve_triangular": "triangular_solve_cpu",
}


def check_lapack_dtype(name, array):
    """Raise PyTorch's error when ``array`` is float16/bfloat16 and op ``name`` cannot take
    it (RuntimeError, or NotImplementedError naming the kernel). One itemsize comparison
    for every other input."""
    if array.dtype.itemsize != 2:
        return
    dtype = _LOW_PRECISION_NAMES.get(array.dtype.name)
    if dtype is None:  # int16 / uint16
        return
    kernel = _LOW_PRECISION_KERNEL.get(name)
    if kernel is not None:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{dtype}\'')
    template = _LOW_PRECISION.get(name)
    if template is not None:
        raise RuntimeError(template.format(name=name, dtype=dtype, shape=list(array.shape)))


# Integer input: where PyTorch's error is not the generic one, (type, text) as it words it
_INTEGER_INPUT = {
    "linalg.lu": (NotImplementedError, '"lu_cpu" not implemented for \'{}\''),
    "linalg.lu_factor": (NotImplementedError, '"lu_cpu" not implemented for \'{}\''),
    "linalg.lu_factor_ex": (NotImplementedError, '"lu_cpu" not implemented for \'{}\''),
    "linalg.eigh": (NotImplementedError, '"linalg_eigh_cpu" not implemented for \'{}\''),
    "linalg.eigvalsh": (NotImplementedError, '"linalg_eigh_cpu" not implemented for \'{}\''),
    "linalg.solve_triangular": (NotImplementedError,
                                '"triangular_solve_cpu" not implemented for \'{}\''),
    "linalg.eig": (RuntimeError, "Unknown Complex ScalarType for {}"),
    "linalg.eigvals": (RuntimeError, "Unknown Complex ScalarType for {}"),
    "linalg.lstsq": (RuntimeError,
                     "This function doesn't handle types other than float and double"),
    "linalg.solve_ex": (RuntimeError, ("linalg.solve: Expected a floating point or complex "
                                       "tensor as input. Got {}")),
    "linalg.cond": (RuntimeError, ("linalg.svd: Expected a floating point or complex tensor "
                                   "as input. Got {}")),
}


def _check_float(name, array):
    """Float or complex input, else PyTorch's error for op ``name``."""
    from ._ops._util import type_name

    check_lapack_dtype(name, array)  # half/bfloat16: PyTorch's error, not NumPy's TypeError
    if array.dtype.kind not in "fc" and array.dtype.name != "bfloat16":
        special = _INTEGER_INPUT.get(name)
        if special is not None:
            raise special[0](special[1].format(type_name(array.dtype)))
        raise RuntimeError(
            f"{name}: Expected a floating point or complex tensor as input. Got "
            f"{type_name(array.dtype)}"
        )


def _partial_cholesky(matrix):
    """What LAPACK's potrf leaves in the lower triangle when it stops at the first leading
    minor that is not positive-definite (left-looking, as potf2): the columns before it
    factored, the failing pivot's value in place, the rest untouched."""
    factor = np.tril(matrix).copy()
    for j in range(factor.shape[0]):
        row = factor[j, :j]
        pivot = factor[j, j] - row @ row.conj()
        if factor.dtype.kind == "c":
            pivot = pivot.real
        if not pivot > 0:
            factor[j, j] = pivot
            break
        pivot = np.sqrt(pivot)
        factor[j, j] = pivot
        factor[j + 1:, j] = (factor[j + 1:, j] - factor[j + 1:, :j] @ row.conj()) / pivot
    return factor
