"""The products with an added input: addmm, addmv, baddbmm, addbmm and addr (``beta *
input + alpha * product``), split from ``linalg.py`` and re-exported there.

One GEMM each (addbmm folds its batches into the GEMM's inner dimension); the scaling
and the input are applied in place on the GEMM's result. Their dtype rules (each op's
mismatch errors, bool refusals, how ``beta``/``alpha`` convert) are ``_blas_dtypes``'.
"""

from __future__ import annotations

import numpy as np

from .._backend import from_numpy_dtype, promote_np
from ..autograd.function import Function
from . import _blas_dtypes as blas
from ._blas_dtypes import _BOOL
from ._util import Tensor, shape_str, type_name
from .linalg import (
    _check_bmm, _check_mm, _check_mv, _check_tensors, _is_sparse, _matmul_backward,
    _matmul_forward, _sparse_math, outer,
)


class AddMatmul(Function):
    """beta * input + alpha * (a @ b): addmm, addmv and baddbmm. One GEMM; the scaling and
    the bias are applied in place on the GEMM's result (no further temporaries)."""

    _array_io = True

    @staticmethod
    def forward(ctx, bias, a, b, beta, alpha):
        out = _matmul_forward(a, b)
        if bias.dtype != out.dtype:
            raise RuntimeError(
                f"self and mat2 must have the same dtype, but got {type_name(bias.dtype)} and "
                f"{type_name(b.dtype)}"
            )
        if bias.shape != out.shape:
            _expand_check(bias.shape, out.shape)
        if out.dtype.itemsize == 2 and out.dtype.kind in "fV" and (alpha != 1 or beta != 1):
            # torch scales 16-bit products in float32 (an alpha past float16's range must
            # not turn a zero product into inf * 0 = nan)
            wide = out.astype(np.float32)
            wide *= alpha
            if beta != 0:
                wide += beta * bias.astype(np.float32)
            return _saved_add(ctx, a, b, beta, alpha, wide.astype(out.dtype))
        if alpha != 1:
            out *= alpha
        if beta == 1:
            out += bias
        elif beta != 0:
            out += beta * bias
        return _saved_add(ctx, a, b, beta, alpha, out)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a_nd, b_nd, beta, alpha = ctx.meta
        needs = ctx.needs_input_grad
        grad_bias = None
        if needs[0]:
            grad_bias = grad if beta == 1 else grad * _conj_scalar(beta)
        scaled = grad if alpha == 1 else grad * _conj_scalar(alpha)
        grad_a, grad_b = _matmul_backward(scaled, a, b, a_nd, b_nd, needs[1], needs[2])
        return grad_bias, grad_a, grad_b, None, None


def _saved_add(ctx, a, b, beta, alpha, out):
    needs = ctx.needs_input_grad
    ctx.save_for_backward(a if needs[2] else None, b if needs[1] else None)
    ctx.meta = (a.ndim, b.ndim, beta, alpha)
    return out


def _conj_scalar(value):
    return value.conjugate() if type(value) is complex else value


class _Addmm(AddMatmul):
    _node_name = "AddmmBackward0"


class _Addmv(AddMatmul):
    _node_name = "AddmvBackward0"


class _Baddbmm(AddMatmul):
    _node_name = "BaddbmmBackward0"


class _Addbmm(AddMatmul):
    """addbmm: sum_b batch1[b] @ batch2[b] is one GEMM over the batch-and-inner dims,
    (rows, batch * inner) @ (batch * inner, cols)."""

    _node_name = "AddbmmBackward0"

    @staticmethod
    def forward(ctx, bias, batch1, batch2, beta, alpha):
        batch, rows, inner = batch1.shape
        ctx.batch = (batch, rows, inner, batch2.shape[2])
        left = batch1.transpose(1, 0, 2).reshape(rows, batch * inner)
        right = batch2.reshape(batch * inner, batch2.shape[2])
        out = AddMatmul.forward(ctx, bias, left, right, beta, alpha)
        # backward folds the saved inputs again with Tensor ops: double backward works
        needs = ctx.needs_input_grad
        ctx.save_for_backward(batch1 if needs[2] else None, batch2 if needs[1] else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        batch1, batch2 = ctx.saved_tensors
        batch, rows, inner, cols = ctx.batch
        beta, alpha = ctx.meta[2:]
        needs = ctx.needs_input_grad
        left = batch1.transpose(0, 1).reshape(rows, batch * inner) if batch1 is not None else None
        right = batch2.reshape(batch * inner, cols) if batch2 is not None else None
        grad_bias = None
        if needs[0]:
            grad_bias = grad if beta == 1 else grad * _conj_scalar(beta)
        scaled = grad if alpha == 1 else grad * _conj_scalar(alpha)
        grad_left, grad_right = _matmul_backward(scaled, left, right, 2, 2, needs[1], needs[2])
        if grad_left is not None:
            grad_left = grad_left.reshape(rows, batch, inner).transpose(0, 1)
        if grad_right is not None:
            grad_right = grad_right.reshape(batch, inner, cols)
        return grad_bias, grad_left, grad_right, None, None


def _expand_check(shape, target):
    if len(shape) > len(target):
        raise RuntimeError(
            f"The expanded size of the tensor ({len(target)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({len(shape)})"
        )
    lead = len(target) - len(shape)
    for i, size in enumerate(shape):
        if size != 1 and size != target[lead + i]:
            raise RuntimeError(
                f"The expanded size of the tensor ({target[lead + i]}) must match the existing "
                f"size ({size}) at non-singleton dimension {lead + i}.  Target sizes: "
                f"{shape_str(target)}.  Tensor sizes: {shape_str(shape)}"
            )


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (mat1 @ mat2)`` as one GEMM plus an in-place add (Linear)."""
    if type(beta) is not int or type(alpha) is not int:
        blas.check_scalar_args("addmm", (input, mat1, mat2), beta, alpha)
    if type(input) is not Tensor or type(mat1) is not Tensor or type(mat2) is not Tensor:
        _check_tensors("addmm", ("input", "mat1", "mat2"), (input, mat1, mat2))
        if _is_sparse(input) or _is_sparse(mat1) or _is_sparse(mat2):
            return _sparse_math(input, mat1, mat2).addmm(input, mat1, mat2, beta=beta,
                                                         alpha=alpha)
    blas.check_self_mat2(input, mat1, mat2)
    if mat1.ndim != 2:
        raise RuntimeError(f"mat1 must be a matrix, got {mat1.ndim}-D tensor")
    if mat2.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {mat2.ndim}-D tensor")
    _check_mm(mat1._data, mat2._data)
    target = (mat1._data.shape[0], mat2._data.shape[1])
    blas.check_expand(input, target)
    beta, alpha = blas.product_scalars("addmm_impl_cpu_", input, mat2._data.dtype, beta, alpha,
                                       target, mat1._data.shape[1])
    return _Addmm.apply(input, mat1, mat2, beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (mat @ vec)``."""
    if type(beta) is not int or type(alpha) is not int:
        blas.check_scalar_args("addmv", (input, mat, vec), beta, alpha)
    if type(input) is not Tensor or type(mat) is not Tensor or type(vec) is not Tensor:
        _check_tensors("addmv", ("input", "mat", "vec"), (input, mat, vec))
    _check_mv(mat, vec, input)
    blas.check_addmv(input, mat, vec)
    if mat._data.size == 0:  # the input scaled by beta cast to its type, no kernel
        beta, alpha = blas.plain_cast(beta, input._data.dtype), 1
    else:
        beta, alpha = blas.product_scalars("addmv_impl_cpu", input, vec._data.dtype, beta,
                                           alpha, mat._data.shape[:1], mat._data.shape[1],
                                           opmath=False)
    return _Addmv.apply(input, mat, vec, beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    if type(beta) is not int or type(alpha) is not int:
        blas.check_scalar_args("baddbmm", (input, batch1, batch2), beta, alpha)
    if type(input) is not Tensor or type(batch1) is not Tensor or type(batch2) is not Tensor:
        _check_tensors("baddbmm", ("input", "batch1", "batch2"), (input, batch1, batch2))
    target = (blas.size_of(batch1, 0), blas.size_of(batch1, 1), blas.size_of(batch2, 2))
    blas.check_expand(input, target)
    blas.check_baddbmm_input(input, batch1, batch2)
    if _check_bmm(batch1, batch2, "baddbmm") and batch1._data.dtype != batch2._data.dtype:
        # no kernel ran: the result (in batch2's dtype) is the input scaled, or empty
        result = input.expand(target).to(batch2.dtype)
        blas.scaled_input_check(result, beta)
        return result * blas.python_number(beta) if beta != 0 else result.new_zeros(target)
    beta, alpha = blas.product_scalars("baddbmm", input, batch2._data.dtype, beta, alpha,
                                       target, batch1._data.shape[2])
    return _Baddbmm.apply(input, batch1, batch2, beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``."""
    if type(beta) is not int or type(alpha) is not int:
        blas.check_scalar_args("addbmm", (input, batch1, batch2), beta, alpha)
    if type(input) is not Tensor or type(batch1) is not Tensor or type(batch2) is not Tensor:
        _check_tensors("addbmm", ("input", "batch1", "batch2"), (input, batch1, batch2))
    target = (blas.size_of(batch1, 1), blas.size_of(batch2, 2))
    blas.check_expand(input, target)
    _check_addbmm_shapes(batch1, batch2)
    if batch1._data.shape[0] == 0:  # no batch: only the input, scaled (in its own dtype)
        blas.scaled_input_check(input, beta)
        beta = blas.python_number(beta)
        if input._data.dtype == batch1._data.dtype == batch2._data.dtype:
            return _Addbmm.apply(input, batch1, batch2, beta, 1)  # empty grads for batches
        return input.new_zeros(target) if beta == 0 else input.expand(target) * beta
    blas.check_self_mat2(input, batch1, batch2)  # then addmm_ per batch
    beta, alpha = blas.product_scalars("addmm_impl_cpu_", input, batch2._data.dtype, beta,
                                       alpha, target, batch1._data.shape[2])
    return _Addbmm.apply(input, batch1, batch2, beta, alpha)


def _check_addbmm_shapes(batch1, batch2):
    shape1, shape2 = batch1._data.shape, batch2._data.shape
    if len(shape1) != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if len(shape2) != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if shape1[0] != shape2[0]:
        raise RuntimeError("batch1 and batch2 must have same number of batches, got "
                           f"{shape1[0]} and {shape2[0]}")
    if shape1[2] != shape2[1]:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({shape1[1]}x{shape1[2]} and "
                           f"{shape2[1]}x{shape2[2]})")


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * outer(vec1, vec2)``, in the three tensors' promoted dtype
    (bool: ``(beta and input) or (alpha and vec1 and vec2)``)."""
    if type(beta) is not int or type(alpha) is not int:
        blas.check_scalar_args("addr", (input, vec1, vec2), beta, alpha)
    if type(input) is not Tensor or type(vec1) is not Tensor or type(vec2) is not Tensor:
        _check_tensors("addr", ("input", "vec1", "vec2"), (input, vec1, vec2))
    for name, vec in (("vec1", vec1), ("vec2", vec2)):
        if vec.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {vec.ndim}-D")
    blas.check_expand(input, (vec1._data.shape[0], vec2._data.shape[0]))
    dtype = input._data.dtype
    if vec1._data.dtype != dtype or vec2._data.dtype != dtype:
        dtype = promote_np(promote_np(dtype, vec1._data.dtype), vec2._data.dtype)
        input, vec1, vec2 = (t if t._data.dtype == dtype else t.to(from_numpy_dtype(dtype))
                             for t in (input, vec1, vec2))
    if not (type(beta) is int and type(alpha) is int and beta == 1 and alpha == 1):
        blas.check_addr_scalar(dtype, beta, "beta")
        blas.check_addr_scalar(dtype, alpha, "alpha")
        beta, alpha = blas.kernel_scalar(beta, dtype), blas.kernel_scalar(alpha, dtype)
    product = outer(vec1, vec2)
    if dtype is _BOOL:
        product = product if alpha else product.logical_and(False)
        return product.logical_or(input) if beta else product
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return product
    return product + (input if beta == 1 else input * beta)
