"""ember.linalg's error side: LinAlgError and the exact PyTorch messages, which name the
batch element and the failing pivot or leading minor. Everything here runs only after
LAPACK has failed, so it may loop over the matrices of a batch.
"""

from __future__ import annotations

import contextlib

import numpy as np


class LinAlgError(RuntimeError):
    """A matrix was singular or not positive-definite (a RuntimeError, as PyTorch's)."""


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
            )
    raise LinAlgError(f"{name}: The input matrix is singular.")


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
    )


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
            )
    raise LinAlgError("linalg.cholesky: The input is not positive-definite.")
