"""ember.linalg's LDL family: ldl_factor, ldl_factor_ex, ldl_solve.

PyTorch returns LAPACK's compact Bunch-Kaufman form (sytrf/hetrf with uplo='L'): the
unit-lower L and the block-diagonal D packed in one lower-triangular matrix, and 1-based
int32 pivots where a negative pair marks a 2x2 block of D. SciPy's ``linalg.ldl`` unpacks a
different layout, so the factorization calls SciPy's LAPACK wrappers directly when SciPy is
installed and otherwise runs the same algorithm (LAPACK's unblocked sytf2/hetf2) in NumPy.
The solve is sytrs/hetrs in NumPy: one pass down and one up over the pivots.

Pivoting decisions differ between matrices, so both loop over the batch on the host. As
in PyTorch, neither has a derivative: backward raises.
"""

from __future__ import annotations

import math

import numpy as np

from ._linalg_errors import check_lapack_dtype
from ._ops._select import _return_type
from ._ops._util import shape_str, type_name, xp_of
from .autograd.function import Function
from .linalg import _check_float, _check_square

_ldl_factor_t = _return_type("linalg_ldl_factor", ("LD", "pivots"))
_ldl_factor_ex_t = _return_type("linalg_ldl_factor_ex", ("LD", "pivots", "info"))

# Bunch-Kaufman's pivot threshold (1 + sqrt(17)) / 8: it bounds element growth.
_ALPHA = (1.0 + 17.0 ** 0.5) / 8.0



def _scipy_lapack():
    """SciPy's LAPACK wrappers (they give the packed form directly; NumPy exposes none of
    them), imported on first use: SciPy is optional and slow to import. None without it."""
    try:
        from scipy.linalg import lapack
    except ImportError:  # pragma: no cover - the test extras install SciPy
        return None
    return lapack


# Tests flip this to run the NumPy algorithm where SciPy is installed.
_USE_SCIPY = [True]


def _host(array):
    return array if type(array) is np.ndarray else array.get()


def _to_device_of(host, like):
    return host if type(like) is np.ndarray else xp_of(like).asarray(host)


# -- factorization ----------------------------------------------------------------------


def _abs1(values, kind):
    """LAPACK's magnitude for pivot search: |re| + |im| for complex (izamax), |x| else."""
    if kind == "c":
        return np.abs(values.real) + np.abs(values.imag)
    return np.abs(values)


def _diag_size(value, hermitian, kind):
    """The size of a diagonal entry: hetf2 reads only its real part."""
    if hermitian:
        return abs(value.real)
    return float(_abs1(np.asarray(value), kind))


def _swap_pivot(a, k, kk, kp, kstep, hermitian):
    """Interchange rows and columns kk and kp of the trailing lower triangle (sytf2's step,
    with hetf2's conjugations)."""
    n = a.shape[0]
    if kp < n - 1:
        a[kp + 1:, [kk, kp]] = a[kp + 1:, [kp, kk]]
    between = slice(kk + 1, kp)
    column = a[between, kk].copy()
    row = a[kp, between].copy()
    if hermitian:
        a[between, kk] = row.conj()
        a[kp, between] = column.conj()
        a[kp, kk] = a[kp, kk].conj()
    else:
        a[between, kk] = row
        a[kp, between] = column
    a[kk, kk], a[kp, kp] = a[kp, kp], a[kk, kk]
    if hermitian:  # hetf2 keeps only the real part of the diagonal
        a[kk, kk], a[kp, kp], a[k, k] = a[kk, kk].real, a[kp, kp].real, a[k, k].real
    if kstep == 2:
        a[k + 1, k], a[kp, k] = a[kp, k], a[k + 1, k]


def _choose_pivot(a, k, hermitian, kind):
    """(kp, kstep) by Bunch-Kaufman partial pivoting, or (k, 0) for a zero column."""
    n = a.shape[0]
    absakk = _diag_size(a[k, k], hermitian, kind)
    if k < n - 1:
        below = _abs1(a[k + 1:, k], kind)
        imax = k + 1 + int(np.argmax(below))
        colmax = float(below[imax - k - 1])
    else:
        imax, colmax = k, 0.0
    if max(absakk, colmax) == 0.0 or math.isnan(absakk):
        return k, 0
    if absakk >= _ALPHA * colmax:
        return k, 1
    row = _abs1(a[imax, k:imax], kind)
    rowmax = float(row.max())
    if imax < n - 1:
        rowmax = max(rowmax, float(_abs1(a[imax + 1:, imax], kind).max()))
    if absakk >= _ALPHA * colmax * (colmax / rowmax):
        return k, 1
    if _diag_size(a[imax, imax], hermitian, kind) >= _ALPHA * rowmax:
        return imax, 1
    return imax, 2


def _eliminate_1x1(a, k, hermitian):
    """A22 -= x d^-1 x^T (x^H when hermitian); x /= d."""
    x = a[k + 1:, k]
    if hermitian:
        scale = 1.0 / a[k, k].real
        a[k + 1:, k + 1:] += x[:, None] * (-scale * x.conj())[None, :]
        trailing = a[k + 1:, k + 1:]
        np.fill_diagonal(trailing, trailing.diagonal().real)
    else:
        scale = 1.0 / a[k, k]
        a[k + 1:, k + 1:] += x[:, None] * (-scale * x)[None, :]
    a[k + 1:, k] = x * scale


def _eliminate_2x2(a, k, hermitian):
    """A22 -= [x y] D^-1 [x y]^T with D the 2x2 block at k (sytf2's explicit formulas)."""
    first, second = a[k + 2:, k].copy(), a[k + 2:, k + 1].copy()
    if hermitian:
        off = a[k + 1, k]
        size = abs(off)
        d11 = a[k + 1, k + 1].real / size
        d22 = a[k, k].real / size
        tt = 1.0 / (d11 * d22 - 1.0)
        d21 = off / size
        scale = tt / size
        wk = scale * (d11 * first - d21 * second)
        wkp1 = scale * (d22 * second - d21.conj() * first)
        a[k + 2:, k + 2:] -= first[:, None] * wk.conj()[None, :]
        a[k + 2:, k + 2:] -= second[:, None] * wkp1.conj()[None, :]
        trailing = a[k + 2:, k + 2:]
        np.fill_diagonal(trailing, trailing.diagonal().real)
    else:
        d21 = a[k + 1, k]
        d11 = a[k + 1, k + 1] / d21
        d22 = a[k, k] / d21
        t = 1.0 / (d11 * d22 - 1.0)
        d21 = t / d21
        wk = d21 * (d11 * first - second)
        wkp1 = d21 * (d22 * second - first)
        a[k + 2:, k + 2:] -= first[:, None] * wk[None, :]
        a[k + 2:, k + 2:] -= second[:, None] * wkp1[None, :]
    a[k + 2:, k] = wk
    a[k + 2:, k + 1] = wkp1


def _sytf2(a, hermitian):
    """Factor one matrix in place (lower triangle read and written); (pivots, info)."""
    n = a.shape[0]
    kind = a.dtype.kind
    hermitian = hermitian and kind == "c"
    pivots = np.zeros(n, dtype=np.int32)
    info = 0
    k = 0
    while k < n:
        kp, kstep = _choose_pivot(a, k, hermitian, kind)
        if kstep == 0:  # a zero column: D[k, k] = 0, nothing to eliminate
            info = info or k + 1
            if hermitian:
                a[k, k] = a[k, k].real
            pivots[k] = k + 1
            k += 1
            continue
        kk = k + kstep - 1
        if kp != kk:
            _swap_pivot(a, k, kk, kp, kstep, hermitian)
        elif hermitian:
            a[k, k] = a[k, k].real
            if kstep == 2:
                a[k + 1, k + 1] = a[k + 1, k + 1].real
        if kstep == 1:
            if k < n - 1:
                _eliminate_1x1(a, k, hermitian)
            pivots[k] = kp + 1
        else:
            if k < n - 2:
                _eliminate_2x2(a, k, hermitian)
            pivots[k] = pivots[k + 1] = -(kp + 1)
        k += kstep
    return pivots, info


def _lapack_factor(matrix, hermitian):
    """SciPy's sytrf/hetrf (uplo='L') on one matrix: (packed, pivots, info)."""
    prefix = {"float32": "s", "float64": "d", "complex64": "c", "complex128": "z"}
    kind = "hetrf" if hermitian and matrix.dtype.kind == "c" else "sytrf"
    routine = getattr(_scipy_lapack(), prefix[matrix.dtype.name] + kind)
    packed, pivots, info = routine(matrix, lower=1)
    return packed, pivots.astype(np.int32), int(info)


def _factor(array, hermitian):
    """(LD, pivots, info) for a batch of square host arrays."""
    n = array.shape[-1]
    batch = array.shape[:-2]
    flat = array.reshape((math.prod(batch), n, n))
    packed = np.zeros_like(flat)
    pivots = np.zeros((flat.shape[0], n), dtype=np.int32)
    info = np.zeros(flat.shape[0], dtype=np.int32)
    for index in range(flat.shape[0]):
        if _USE_SCIPY[0] and n and _scipy_lapack() is not None:
            result, pivots[index], info[index] = _lapack_factor(flat[index], hermitian)
        else:
            result = flat[index].copy()
            pivots[index], info[index] = _sytf2(result, hermitian)
        packed[index] = np.tril(result)
    return packed.reshape(array.shape), pivots.reshape(batch + (n,)), info.reshape(batch)


class LDLFactor(Function):
    """No derivative, as PyTorch's ``linalg_ldl_factor_ex``."""

    _array_io = True

    @staticmethod
    def forward(ctx, a, hermitian):
        packed, pivots, info = _factor(_host(a), hermitian)
        ctx.mark_non_differentiable(_to_device_of(pivots, a), _to_device_of(info, a))
        return (_to_device_of(packed, a), _to_device_of(pivots, a), _to_device_of(info, a))

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError("derivative for aten::linalg_ldl_factor_ex is not implemented")


def _check_factor_input(name, A):
    array = A._data
    _check_square(name, array)
    _check_float(name, array)
    if array.dtype.itemsize == 2 and array.dtype.kind != "i":
        raise NotImplementedError(
            f'"ldl_factor_kernel_cpu" not implemented for \'{type_name(array.dtype)}\'')


def _write_out(out, results):
    """Copy results into ``out`` tensors (resized, same dtype required), as PyTorch."""
    if out is None:
        return results
    for target, value in zip(out, results):
        if target.dtype != value.dtype:
            raise RuntimeError(
                f"Expected out tensor to have dtype {_cpp_name(value)}, but got "
                f"{_cpp_name(target)} instead")
    for target, value in zip(out, results):
        target.resize_(value.shape)
        target.copy_(value)
    return type(results)(*out)


def _cpp_name(tensor):
    names = {"float32": "float", "float64": "double", "int32": "int", "int64": "long int",
             "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}
    name = str(tensor.dtype).split(".")[-1]
    return names.get(name, name)


def _raise_info(name, info):
    """PyTorch's (internal-assert worded) error for a factorization with info > 0."""
    flat = _host(info).reshape(-1)
    bad = np.flatnonzero(flat)
    if bad.size:
        raise RuntimeError(f"torch.linalg.{name}: Unknown error code: {int(flat[bad[0]])}.")


def ldl_factor_ex(A, *, hermitian=False, check_errors=False, out=None):
    """(LD, pivots, info): LAPACK's compact LDL^T (LDL^H when ``hermitian``) of a
    symmetric matrix read from its lower triangle; info = k > 0 when D[k-1, k-1] is 0."""
    _check_factor_input("torch.linalg.ldl_factor_ex", A)
    packed, pivots, info = LDLFactor.apply(A, bool(hermitian))
    if check_errors:
        _raise_info("ldl_factor_ex", info._data)
    return _write_out(out, _ldl_factor_ex_t(packed, pivots, info))


def ldl_factor(A, *, hermitian=False, out=None):
    """(LD, pivots) of ``ldl_factor_ex``; raises when D is singular, as PyTorch."""
    _check_factor_input("torch.linalg.ldl_factor_ex", A)
    packed, pivots, info = LDLFactor.apply(A, bool(hermitian))
    _raise_info("ldl_factor", info._data)
    return _write_out(out, _ldl_factor_t(packed, pivots))


# -- solve ------------------------------------------------------------------------------


def _solve_d_block(b, packed, k, hermitian):
    """Apply the inverse of D's 2x2 block at k to rows k, k+1 of b (sytrs's formulas)."""
    off = packed[k + 1, k]
    if hermitian:
        akm1 = packed[k, k] / off.conj()
        bkm1 = b[k] / off.conj()
    else:
        akm1 = packed[k, k] / off
        bkm1 = b[k] / off
    ak = packed[k + 1, k + 1] / off
    denom = akm1 * ak - 1.0
    bk = b[k + 1] / off
    b[k] = (ak * bkm1 - bk) / denom
    b[k + 1] = (akm1 * bk - bkm1) / denom


def _sytrs(packed, pivots, b, hermitian):
    """Solve A X = B in place from one matrix's packed factor (LAPACK's sytrs/hetrs)."""
    n = packed.shape[0]
    hermitian = hermitian and packed.dtype.kind == "c"
    k = 0
    while k < n:  # L D Y = P^T B, moving down
        if pivots[k] > 0:
            kp = pivots[k] - 1
            if kp != k:
                b[[k, kp]] = b[[kp, k]]
            b[k + 1:] -= packed[k + 1:, k, None] * b[k]
            b[k] /= packed[k, k].real if hermitian else packed[k, k]
            k += 1
        else:
            kp = -pivots[k] - 1
            if kp != k + 1:
                b[[k + 1, kp]] = b[[kp, k + 1]]
            b[k + 2:] -= packed[k + 2:, k, None] * b[k]
            b[k + 2:] -= packed[k + 2:, k + 1, None] * b[k + 1]
            _solve_d_block(b, packed, k, hermitian)
            k += 2
    k = n - 1
    while k >= 0:  # L^T X = Y (L^H when hermitian), moving up
        lower = packed[k + 1:, k].conj() if hermitian else packed[k + 1:, k]
        if pivots[k] > 0:
            b[k] -= lower @ b[k + 1:]
            kp = pivots[k] - 1
            k_swap = k
            k -= 1
        else:
            previous = packed[k + 1:, k - 1].conj() if hermitian else packed[k + 1:, k - 1]
            b[k] -= lower @ b[k + 1:]
            b[k - 1] -= previous @ b[k + 1:]
            kp = -pivots[k] - 1
            k_swap = k
            k -= 2
        if kp != k_swap:
            b[[k_swap, kp]] = b[[kp, k_swap]]


class LDLSolve(Function):
    """No derivative, as PyTorch's ``linalg_ldl_solve``."""

    _array_io = True

    @staticmethod
    def forward(ctx, packed, pivots, b, hermitian):
        host_packed, host_pivots, host_b = _host(packed), _host(pivots), _host(b)
        batch = np.broadcast_shapes(host_packed.shape[:-2], host_b.shape[:-2])
        n, columns = host_packed.shape[-1], host_b.shape[-1]
        count = math.prod(batch)
        matrices = np.broadcast_to(host_packed, batch + (n, n)).reshape((count, n, n))
        order = np.broadcast_to(host_pivots, batch + (n,)).reshape((count, n))
        result = np.broadcast_to(host_b, batch + (n, columns)).reshape((count, n, columns))
        result = result.copy()
        for index in range(result.shape[0]):
            _sytrs(matrices[index], order[index], result[index], hermitian)
        return _to_device_of(result.reshape(batch + (n, columns)), b)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::linalg_ldl_solve is not implemented")


def _check_solve_inputs(LD, pivots, B):
    name = "torch.linalg.ldl_solve"
    _check_square(name, LD._data)
    _check_float(name, LD._data)
    if LD._data.dtype.itemsize == 2 and LD._data.dtype.kind != "i":
        raise NotImplementedError(
            f'"ldl_solve_kernel_cpu" not implemented for \'{type_name(LD._data.dtype)}\'')
    if pivots._data.dtype.kind not in "iu":
        raise RuntimeError(
            f"{name}: Expected pivots to be integers. Got {type_name(pivots._data.dtype)}")
    if tuple(LD.shape[:-1]) != tuple(pivots.shape):
        raise RuntimeError(
            f"{name}: Expected LD.shape[:-1] and pivots.shape to be the same, but got pivots "
            f"with shape {shape_str(pivots.shape)} instead")
    if B.ndim < 2:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got "
                         "-2)")
    if B.dtype != LD.dtype:
        raise RuntimeError(
            f"Expected b and A to have the same dtype, but found b of type "
            f"{type_name(B._data.dtype)} and A of type {type_name(LD._data.dtype)} instead.")
    n = LD.shape[-1]
    if B.shape[-2] != n:
        raise RuntimeError(
            f"Incompatible matrix sizes for torch.linalg.ldl_solve: each A matrix is {n} by "
            f"{n} but each b matrix is {B.shape[-2]} by {B.shape[-1]}")
    try:
        np.broadcast_shapes(tuple(LD.shape[:-2]), tuple(B.shape[:-2]))
    except ValueError:
        _raise_broadcast(tuple(LD.shape[:-2]), tuple(B.shape[:-2]))
    host = _host(pivots._data)
    if host.size and int(np.abs(host).max()) > n:
        raise RuntimeError(
            "Pivots given to ldl_solve must all satisfy |pivot| <= LD.size(-2). Did you "
            "properly pass the result of ldl_factor?")


def _raise_broadcast(left, right):
    """PyTorch's broadcast error for the first mismatched dimension from the right."""
    for position in range(1, min(len(left), len(right)) + 1):
        a, b = right[-position], left[-position]
        if a != b and a != 1 and b != 1:
            raise RuntimeError(
                f"The size of tensor a ({a}) must match the size of tensor b ({b}) at "
                f"non-singleton dimension {len(right) - position}")


def ldl_solve(LD, pivots, B, *, hermitian=False, out=None):
    """X with A X = B, from A's ``ldl_factor`` (batches of LD and B broadcast)."""
    _check_solve_inputs(LD, pivots, B)
    check_lapack_dtype("linalg.ldl_solve", LD._data)
    result = LDLSolve.apply(LD, pivots, B, bool(hermitian))
    if out is None:
        return result
    out.resize_(result.shape)
    return out.copy_(result)


__all__ = ["ldl_factor", "ldl_factor_ex", "ldl_solve"]
