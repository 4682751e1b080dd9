"""Matrix products: matmul and its named special cases (einsum, tensordot, kron, cross
and cdist live in ``einsum.py`` and are re-exported here).

Every product goes to one BLAS GEMM through ``xp.matmul`` (NumPy passes transposed views
to BLAS with a transpose flag, so ``.mT`` in backward costs no copy). Backward formulas
are written with these same ops, so double backward works. Error messages name the
shapes exactly as PyTorch's do.
"""

from __future__ import annotations

import numpy as np

from .._backend import dtypes as _dt
from .._backend.dtypes import SPECIAL_TYPE_NAMES
from .._backend.float8 import FLOAT8_NP
from .._backend.float8 import matmul as float8_matmul
from .._backend.float8 import not_implemented as float8_not_implemented
from .._backend.float8 import refuse as refuse_float8
from .._backend.graph_capture import ACTIVE as _CAPTURING
from .._backend.graph_capture import matmul as capture_matmul
from .._linalg_errors import check_lapack_dtype
from . import _blas_dtypes as blas
from ._blas_dtypes import matmul_dtype_error
from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._autocast import FLOAT32_TORCH_LINALG, autocast_entry_points, lower_precision_in_autocast
from ._select import _return_type, write_out
from ._util import Tensor, _make, shape_str, type_name, xp_of

# PyTorch names C++ scalar types in some matmul messages ("float != double").
_C_TYPE = {
    "float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
    "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
    "uint8": "unsigned char", "bool": "bool", "complex64": "c10::complex<float>",
    "complex128": "c10::complex<double>",
}


def _c_type(np_dtype):
    special = SPECIAL_TYPE_NAMES.get(np_dtype)  # float8, complex32: c10::Float8_e4m3fn
    if special is not None:
        return "c10::complex<c10::Half>" if special == "ComplexHalf" else f"c10::{special}"
    return _C_TYPE.get(str(np_dtype), str(np_dtype))


def _dims_str(shape):
    return "x".join(str(s) for s in shape)


def _broadcast_error(shape_a, shape_b):
    """PyTorch's infer_size message for the first dim that does not broadcast."""
    ndim = max(len(shape_a), len(shape_b))
    for i in range(ndim - 1, -1, -1):
        offset = ndim - 1 - i
        size_a = shape_a[len(shape_a) - 1 - offset] if offset < len(shape_a) else 1
        size_b = shape_b[len(shape_b) - 1 - offset] if offset < len(shape_b) else 1
        if size_a != size_b and size_a != 1 and size_b != 1:
            raise RuntimeError(
                f"The size of tensor a ({size_a}) must match the size of tensor b ({size_b}) "
                f"at non-singleton dimension {i}"
            )


def _prod(values):
    total = 1
    for v in values:
        total *= v
    return total


def _matmul_error(a, b):
    """Raise the error PyTorch's matmul gives for these operands (it dispatches to dot,
    mv, mm or bmm, and each names the problem its own way)."""
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and "
            f"{b.ndim}D"
        )
    if a.ndim == 1 and b.ndim == 1:
        _check_dot(a, b)
    if b.ndim == 1 and a.ndim >= 2:
        rows = _prod(a.shape[:-1])
        if a.dtype != b.dtype:
            raise RuntimeError(
                "addmv input tensors must have the same dtype, but got "
                f"{type_name(b.dtype)}, {type_name(a.dtype)}, and {type_name(b.dtype)}"
            )
        raise RuntimeError(
            f"size mismatch, got input ({rows}), mat ({rows}x{a.shape[-1]}), vec ({b.shape[0]})"
        )
    if a.ndim == 1 and b.ndim >= 3 and b.size == 0 and a.dtype != b.dtype:
        # an empty batch against a vector is folded into one mv (``b`` transposed)
        raise RuntimeError(
            "addmv input tensors must have the same dtype, but got "
            f"{type_name(a.dtype)}, {type_name(b.dtype)}, and {type_name(a.dtype)}"
        )
    if b.ndim == 2 and a.ndim != 2 or (a.ndim == 1 and b.ndim == 2):
        rows = _prod(a.shape[:-1])
        if a.dtype != b.dtype:
            raise RuntimeError(
                "expected m1 and m2 to have the same dtype, but got: "
                f"{_c_type(a.dtype)} != {_c_type(b.dtype)}"
            )
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{a.shape[-1]} and "
            f"{_dims_str(b.shape)})"
        )
    if a.ndim == 2 and b.ndim == 2:
        _check_mm(a, b)
    batch_a = a.shape[:-2]
    batch_b = b.shape[:-2]
    _broadcast_error(batch_a, batch_b)
    batch = _prod(np.broadcast_shapes(batch_a, batch_b))
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"expected scalar type {type_name(a.dtype)} but found {type_name(b.dtype)}"
        )
    raise RuntimeError(
        "Expected size for first two dimensions of batch2 tensor to be: "
        f"[{batch}, {a.shape[-1]}] but got: [{batch}, {b.shape[-2]}]."
    )


def _check_mm(a, b):
    if a.dtype != b.dtype:
        raise RuntimeError(
            "expected m1 and m2 to have the same dtype, but got: "
            f"{_c_type(a.dtype)} != {_c_type(b.dtype)}"
        )
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({_dims_str(a.shape)} and "
            f"{_dims_str(b.shape)})"
        )


def _check_dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors"
        )
    if a.dtype != b.dtype:
        raise RuntimeError(
            "dot : expected both vectors to have same dtype, but found "
            f"{type_name(a.dtype)} and {type_name(b.dtype)}"
        )
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] "
            "to have the same number of elements, but got "
            f"{a.shape[0]} and {b.shape[0]} elements respectively"
        )


def _matmul_forward(a, b):
    if a.dtype != b.dtype or a.ndim == 0 or b.ndim == 0:
        _matmul_error(a, b)
    if a.dtype.kind in "biu" and a.shape[-1] == (b.shape[-2] if b.ndim > 1 else b.shape[0]):
        # after the shape checks: the kernels refuse bool (and CUDA's, integers)
        matmul_dtype_error(a, b)
    if a.shape[-1] != (b.shape[-2] if b.ndim > 1 else b.shape[0]):
        _matmul_error(a, b)
    if a.dtype.itemsize == 1 and a.dtype in FLOAT8_NP:
        return float8_matmul(a, b)
    if a.dtype is _dt.COMPLEX32_NP:  # PyTorch's CPU build has no complex32 GEMM
        raise float8_not_implemented("addmm_impl_cpu_" if a.ndim <= 2 and b.ndim <= 2
                                     else "bmm", a.dtype)
    try:
        out = _fold_matmul(xp_of(a), a, b)
    except ValueError:
        _matmul_error(a, b)
    # ml_dtypes computes bfloat16 matmul in float32 and returns float32; torch keeps bf16.
    return out if out.dtype == a.dtype else out.astype(a.dtype)


def _matmul_backward(grad, a, b, a_nd, b_nd, needs_a, needs_b):
    """Gradients of a @ b for every broadcasting case; the engine sums broadcast batch
    dims away. A batched ``a`` against a matrix ``b`` folds the batch into one GEMM.

    Without create_graph (grad mode off) nothing needs recording, so the GEMMs run on the
    arrays directly: no Function or transpose-view overhead per call.

    Complex operands: the gradients use conjugate transposes (grad @ b^H, a^H @ grad), so
    ``a`` and ``b`` are conjugated first."""
    if grad._data.dtype.kind == "c":
        a = a.conj_physical() if a is not None else None
        b = b.conj_physical() if b is not None else None
    if not _grad_enabled[0]:
        grad_a, grad_b = _matmul_backward_arrays(
            grad._data, a._data if a is not None else None, b._data if b is not None else None,
            a_nd, b_nd, needs_a, needs_b)
        return (_make(grad_a) if grad_a is not None else None,
                _make(grad_b) if grad_b is not None else None)
    if a_nd == 1 and b_nd == 1:
        return (grad * b if needs_a else None), (grad * a if needs_b else None)
    if a_nd == 1:
        grad = grad.unsqueeze(-2)
    if b_nd == 1:
        grad = grad.unsqueeze(-1)
    grad_a = grad_b = None
    if needs_a:
        b_mat = b.unsqueeze(-1) if b_nd == 1 else b
        grad_a = grad.matmul(b_mat.mT)
        if a_nd == 1:
            grad_a = grad_a.squeeze(-2)
    if needs_b:
        if a_nd >= 3 and b_nd <= 2:
            rows = _prod(a.shape[:-1])
            grad_b = a.reshape(rows, a.shape[-1]).mT.matmul(grad.reshape(rows, grad.shape[-1]))
        else:
            a_mat = a.unsqueeze(-2) if a_nd == 1 else a
            grad_b = a_mat.mT.matmul(grad)
        if b_nd == 1:
            grad_b = grad_b.squeeze(-1)
    return grad_a, grad_b


def _fold_matmul(xp, left, right):
    """left @ right, folding a batched ``left`` against a matrix into one GEMM (NumPy's
    stacked matmul is 2-6x slower, worst with a transposed ``right``). While a CUDA graph
    captures, CuPy refuses cuBLAS: the product is graph_capture.matmul's then."""
    if _CAPTURING[0]:
        return capture_matmul(left, right)
    if right.ndim == 2 and left.ndim > 2:
        rows = _prod(left.shape[:-1])
        out = xp.matmul(left.reshape(rows, left.shape[-1]), right)
        return out.reshape(left.shape[:-1] + (right.shape[1],))
    return xp.matmul(left, right)


def _matmul_backward_arrays(grad, a, b, a_nd, b_nd, needs_a, needs_b):
    """The array twin of _matmul_backward (same cases, same GEMMs)."""
    xp = xp_of(grad)
    if a_nd == 1 and b_nd == 1:
        return (grad * b if needs_a else None), (grad * a if needs_b else None)
    if a_nd == 1:
        grad = grad[..., None, :]
    if b_nd == 1:
        grad = grad[..., None]
    grad_a = grad_b = None
    if needs_a:
        b_mat = b[:, None] if b_nd == 1 else b
        grad_a = _fold_matmul(xp, grad, xp.swapaxes(b_mat, -1, -2))
        if a_nd == 1:
            grad_a = grad_a[..., 0, :]
    if needs_b:
        if a_nd >= 3 and b_nd <= 2:
            rows = _prod(a.shape[:-1])
            grad_b = _fold_matmul(xp, a.reshape(rows, a.shape[-1]).T,
                                  grad.reshape(rows, grad.shape[-1]))
        else:
            a_mat = a[None, :] if a_nd == 1 else a
            grad_b = _fold_matmul(xp, xp.swapaxes(a_mat, -1, -2), grad)
        if b_nd == 1:
            grad_b = grad_b[..., 0]
    return grad_a, grad_b


_MATMUL_NODE_NAMES = {
    (2, 2): "MmBackward0", (1, 1): "DotBackward0", (2, 1): "MvBackward0",
    (1, 2): "SqueezeBackward4",
}


class Matmul(Function):
    """a @ b with PyTorch's rules: 1-D operands are promoted and squeezed, batch dims
    broadcast, both operands must share a dtype."""

    _array_io = True

    def name(self):
        """The node PyTorch's matmul decomposition ends in, for these operand ranks."""
        return _MATMUL_NODE_NAMES.get(getattr(self, "ndims", None), "UnsafeViewBackward0")

    @staticmethod
    def forward(ctx, a, b):
        ctx.ndims = (a.ndim, b.ndim)
        if a.dtype != b.dtype and (a.size == 0 or b.size == 0) and b.ndim >= 3 and (
                a.ndim >= 3 or a.ndim == 2 and not ctx.needs_input_grad[0]):
            return _empty_mixed_bmm(ctx, a, b)
        out = _matmul_forward(a, b)
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        a_nd, b_nd = ctx.ndims
        inputs = getattr(ctx, "empty_mixed_inputs", None)
        if inputs is not None:  # an empty mixed-dtype product: zero gradients
            xp = xp_of(grad._data)
            return tuple(_make(xp.zeros(shape, dtype)) for shape, dtype in inputs)
        a, b = ctx.saved_tensors
        needs_a, needs_b = ctx.needs_input_grad
        return _matmul_backward(grad, a, b, a_nd, b_nd, needs_a, needs_b)


def _empty_mixed_bmm(ctx, a, b):
    """matmul's batched path (bmm on expanded operands) when an operand is empty: PyTorch's
    bmm returns before its kernel's dtype check, so mixed dtypes give zeros in ``b``'s
    dtype (shapes are still checked, as the kernel would)."""
    xp = xp_of(a)
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] != b.shape[0] and 1 in (a.shape[0],
                                                                           b.shape[0]):
        # a batch of one against a 3-D operand is folded into one mm (transposed when the
        # batch of one is ``a``), whose dtype check comes first
        first, second = (a, b) if b.shape[0] == 1 else (b, a)
        raise RuntimeError("expected m1 and m2 to have the same dtype, but got: "
                           f"{_c_type(first.dtype)} != {_c_type(second.dtype)}")
    _broadcast_error(a.shape[:-2], b.shape[:-2])
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) if a.shape[-1] == b.shape[-2] \
        else None
    if batch is None:  # the size error, as for operands of one dtype
        _matmul_forward(np.broadcast_to(np.zeros((), b.dtype), a.shape), b)
    ctx.empty_mixed_inputs = ((a.shape, a.dtype), (b.shape, b.dtype))
    return xp.zeros(batch + (a.shape[-2], b.shape[-1]), b.dtype)


class _Dot(Matmul):
    """dot, vdot and mv: Matmul's kernel under a class autocast's lists do not name (torch
    lists matmul, but not these: they keep their inputs' dtype)."""


class _Bmm(Matmul):
    """bmm: the batched product under PyTorch's node name (matmul of 3-D operands ends in
    an UnsafeView instead)."""

    _node_name = "BmmBackward0"
    name = Function.name


def _type_label(value):
    cls = type(value)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _check_tensors(fn_name, names, values):
    """PyTorch's TypeError for a non-Tensor argument (the fast path only checks exact
    type, so subclasses such as Parameter come here and pass)."""
    for position, (name, value) in enumerate(zip(names, values), 1):
        if not isinstance(value, Tensor):
            raise TypeError(
                f"{fn_name}(): argument '{name}' (position {position}) must be Tensor, not "
                f"{_type_label(value)}"
            )


def _is_sparse(x):
    """COO (``is_sparse``) or a compressed layout (CSR, CSC, BSR, BSC)."""
    return x.is_sparse or getattr(x, "_sparse_compressed", False)


def _sparse_math(*operands):
    """Products with a sparse operand live in ember.sparse (one layer up): COO's family or
    the compressed layouts'."""
    from ..sparse import _math_of

    return _math_of(*operands)


# -- the named products -----------------------------------------------------------------


def matmul(input, other, *, out=None):
    """Matrix product with broadcasting (``input @ other``)."""
    if type(input) is not Tensor or type(other) is not Tensor:
        _check_tensors("matmul", ("input", "other"), (input, other))
        if _is_sparse(input) or _is_sparse(other):
            return _sparse_math(input, other).matmul(input, other)
    if out is not None:
        return _write_product(Matmul.apply(input, other), out, "matmul")
    return Matmul.apply(input, other)


def _write_product(result, out, op):
    """out= of a matrix product: PyTorch wants the result's dtype exactly (no casting)."""
    if out.dtype != result.dtype:
        from .._grad_assign import _CPP_TYPE_NAMES

        wanted, got = (_CPP_TYPE_NAMES.get(str(x.dtype).split(".")[-1]) for x in (result, out))
        raise RuntimeError(f"Expected out tensor to have dtype {wanted}, but got {got} instead")
    return write_out(result, out, op)


def mm(input, mat2, *, out=None):
    """Product of two matrices (no broadcasting)."""
    if type(input) is not Tensor or type(mat2) is not Tensor:
        _check_tensors("mm", ("input", "mat2"), (input, mat2))
        if _is_sparse(input) or _is_sparse(mat2):
            return _sparse_math(input, mat2).mm(input, mat2)
    if input.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    return Matmul.apply(input, mat2)


def _check_bmm(batch1, batch2, kernel="bmm"):
    if batch1.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if batch2.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    expected = (batch1.shape[0], batch1.shape[2])
    if tuple(batch2.shape[:2]) != expected:
        raise RuntimeError(
            "Expected size for first two dimensions of batch2 tensor to be: "
            f"[{expected[0]}, {expected[1]}] but got: [{batch2.shape[0]}, {batch2.shape[1]}]."
        )
    if batch1._data.size == 0 or batch2._data.size == 0:
        return True  # an empty product never reaches the kernel (no dtype or bool check)
    blas.check_bmm_kernel(batch1, batch2, kernel)
    return False


def bmm(input, mat2, *, out=None):
    """Batched matrix product of two 3-D tensors with the same batch size."""
    refuse_float8("bmm", input)
    if type(input) is not Tensor or type(mat2) is not Tensor:
        _check_tensors("bmm", ("input", "mat2"), (input, mat2))
    if _check_bmm(input, mat2) and input._data.dtype != mat2._data.dtype:
        # no kernel ran: zeros in mat2's dtype (the result's), as torch's
        return mat2.new_zeros((input.shape[0], input.shape[1], mat2.shape[2]))
    return _Bmm.apply(input, mat2)


def _check_mv(mat, vec, bias=None):
    if mat.ndim != 2 or vec.ndim != 1 or (bias is not None and bias.ndim > 1):
        first = 1 if bias is None else bias.ndim
        raise RuntimeError(
            f"vector + matrix @ vector expected, got {first}, {mat.ndim}, {vec.ndim}"
        )
    if mat.shape[1] != vec.shape[0] or (bias is not None and bias.numel() != 1
                                        and tuple(bias.shape) != (mat.shape[0],)):
        rows = mat.shape[0] if bias is None else blas.size_of(bias, 0)  # torch's self.size(0)
        raise RuntimeError(
            f"size mismatch, got input ({rows}), mat ({mat.shape[0]}x{mat.shape[1]}), "
            f"vec ({vec.shape[0]})"
        )


def mv(input, vec, *, out=None):
    """Matrix-vector product."""
    refuse_float8("addmv_impl_cpu", input)
    if type(input) is not Tensor or type(vec) is not Tensor:
        _check_tensors("mv", ("input", "vec"), (input, vec))
        if getattr(input, "_sparse_compressed", False):
            return _sparse_math(input).mv(input, vec)
    _check_mv(input, vec)
    return _Dot.apply(input, vec)


def dot(input, tensor, *, out=None):
    """Inner product of two 1-D tensors."""
    refuse_float8("dot", input)
    if type(input) is not Tensor or type(tensor) is not Tensor:
        _check_tensors("dot", ("input", "tensor"), (input, tensor))
    _check_dot(input._data, tensor._data)
    return _Dot.apply(input, tensor)


def vdot(input, other, *, out=None):
    """Dot product with the first argument conjugated (same as dot for real tensors)."""
    if type(input) is not Tensor or type(other) is not Tensor:
        _check_tensors("vdot", ("input", "other"), (input, other))
    _check_dot(input._data, other._data)
    if input._data.dtype.kind == "c":
        input = input.conj()
    return _Dot.apply(input, other)


def inner(input, other, *, out=None):
    """Sum of products over the last dims: shape ``input.shape[:-1] + other.shape[:-1]``."""
    if type(input) is not Tensor or type(other) is not Tensor:
        _check_tensors("inner", ("input", "other"), (input, other))
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(
            "inner() the last dimension must match on both input tensors but got shapes "
            f"{shape_str(input.shape)} and {shape_str(other.shape)}"
        )
    if input.dtype != other.dtype:
        raise RuntimeError("both inputs should have same dtype")
    k = input.shape[-1]
    flat = Matmul.apply(input.reshape(-1, k), other.reshape(-1, k).mT)
    return flat.reshape(tuple(input.shape[:-1]) + tuple(other.shape[:-1]))


def outer(input, vec2, *, out=None):
    """Outer product of two vectors (promotes dtypes, as a broadcast multiply)."""
    if type(input) is not Tensor or type(vec2) is not Tensor:
        _check_tensors("outer", ("input", "vec2"), (input, vec2))
    if input.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument self, but got {input.ndim}-D")
    if vec2.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument vec2, but got {vec2.ndim}-D")
    return input.reshape(-1, 1) * vec2  # a view, as PyTorch's (ViewBackward0)


def ger(input, vec2, *, out=None):
    return outer(input, vec2)


def chain_matmul(*matrices, out=None):
    """Product of matrices (deprecated in PyTorch in favour of linalg.multi_dot)."""
    from ..linalg import multi_dot

    if len(matrices) == 1:
        return matrices[0]
    return multi_dot(matrices)


# -- torch.* aliases of ember.linalg (and the older torch.svd / torch.qr signatures) ------


def _linalg():
    from .. import linalg  # the namespace module sits above the ops layer: import late

    return linalg


def det(input):
    return _linalg().det(input)


def logdet(input):
    return _linalg().logdet(input)


_SLOGDET = _return_type("slogdet", ("sign", "logabsdet"))
_QR = _return_type("qr", ("Q", "R"))


def slogdet(input):
    """torch.slogdet: linalg.slogdet's pair under the old name (torch.return_types.slogdet)."""
    return _SLOGDET(*_linalg().slogdet(input))


def inverse(input, *, out=None):
    return _linalg().inv(input)


def pinverse(input, rcond=1e-15):
    return _linalg().pinv(input, rtol=rcond)


def matrix_power(input, n):
    return _linalg().matrix_power(input, n)


def cholesky(input, upper=False, *, out=None):
    return _linalg().cholesky(input, upper=upper)


def cholesky_solve(B, L, upper=False, *, out=None):
    """Solve A X = B given the Cholesky factor of A."""
    check_lapack_dtype("cholesky_solve", L._data)
    linalg = _linalg()
    lower = L.mH if upper else L  # A = L L^H (conjugate transposes: complex as PyTorch)
    return linalg.solve(lower.matmul(lower.mH), B)


def cholesky_inverse(L, upper=False, *, out=None):
    check_lapack_dtype("cholesky_inverse", L._data)
    lower = L.mH if upper else L
    return _linalg().inv(lower.matmul(lower.mH))


def svd(input, some=True, compute_uv=True, *, out=None):
    """Old torch.svd: (U, S, V) with V, not V^H; reduced unless ``some=False``."""
    linalg = _linalg()
    u, s, vh = linalg.svd(input, full_matrices=not some)
    if not compute_uv:  # PyTorch gives zero-filled square U and V
        batch, (m, n) = tuple(input.shape[:-2]), tuple(input.shape[-2:])
        return linalg._svd_old_t(u.detach().new_zeros(batch + (m, m)), s,
                                 vh.detach().new_zeros(batch + (n, n)))
    return linalg._svd_old_t(u, s, vh.mH)


def qr(input, some=True, *, out=None):
    """torch.qr: linalg.qr's pair under the old name (torch.return_types.qr)."""
    return _QR(*_linalg().qr(input, "reduced" if some else "complete"))


def _matmul_operator(self, other):
    if not isinstance(other, Tensor):
        return NotImplemented  # Python then raises "unsupported operand type(s) for @"
    return Matmul.apply(self, other)


def _rmatmul(self, other):
    if not isinstance(other, Tensor):
        return NotImplemented
    return Matmul.apply(other, self)


def _imatmul(self, other):
    from ._inplace import apply_inplace

    return apply_inplace(self, Matmul.apply(self, other))


from .einsum import cdist, cross, einsum, kron, linalg_cross, tensordot  # noqa: E402
from .linalg_add import (  # noqa: E402, F401 - re-exported (onnx, flop counter use them)
    AddMatmul, _Addbmm, _Addmm, _Addmv, _Baddbmm, addbmm, addmm, addmv, addr, baddbmm,
)


def _honour_out(fn):
    """Wrap a product so ``out=`` receives the result (resized as PyTorch does)."""
    template = _OUT_DTYPE_ERRORS.get(fn.__name__)

    def wrapper(*args, out=None, **kwargs):
        result = fn(*args, **kwargs)
        if out is None:
            return result
        if template is not None and out.dtype != result.dtype:
            from .._grad_assign import _CPP_TYPE_NAMES
            from ._util import type_name

            names = [str(x.dtype).split(".")[-1] for x in (result, out)]
            raise RuntimeError(template.format(
                *(_CPP_TYPE_NAMES.get(name, name) for name in names),
                *(type_name(name) for name in names)))
        return write_out(result, out, fn.__name__)

    wrapper.__name__, wrapper.__qualname__, wrapper.__doc__ = fn.__name__, fn.__name__, fn.__doc__
    return wrapper


# out= dtype mismatches each product refuses, in PyTorch's words ({0}/{1}: C++ names of
# the result's and out's dtypes, {2}/{3}: their ScalarType names); the rest cast.
_OUT_DTYPE_ERRORS = {
    "dot": "result dtype {3} does not match input dtype {2}",
    "vdot": "result dtype {3} does not match input dtype {2}",
    "inner": "tensordot: Expected the output tensor to have dtype {2}, but got an output "
             "tensor with dtype {3}",
    "addbmm": "self and mat2 must have the same dtype, but got {3} and {2}",
    "chain_matmul": "multi_dot(): expected out tensor to have dtype {0} but got {1}",
    **dict.fromkeys(("mm", "bmm", "mv", "addmm", "addmv", "baddbmm", "inverse"),
                    "Expected out tensor to have dtype {0}, but got {1} instead"),
}


mm, bmm, mv, dot, vdot, inner, outer, ger = (
    _honour_out(f) for f in (mm, bmm, mv, dot, vdot, inner, outer, ger))
addmm, addmv, baddbmm, addbmm, addr, chain_matmul = (
    _honour_out(f) for f in (addmm, addmv, baddbmm, addbmm, addr, chain_matmul))
inverse, cholesky, cholesky_solve, cholesky_inverse = (
    _honour_out(f) for f in (inverse, cholesky, cholesky_solve, cholesky_inverse))
# torch's CPU autocast lists: cholesky_solve/_inverse run in float32, addbmm in bfloat16
autocast_entry_points(globals(), FLOAT32_TORCH_LINALG)
addbmm = lower_precision_in_autocast(addbmm)

__all__ = [
    "matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm", "addmv",
    "addbmm", "baddbmm", "addr", "einsum", "tensordot", "kron", "cross", "cdist",
    "chain_matmul", "det", "logdet", "slogdet", "inverse", "pinverse", "matrix_power",
    "matrix_exp",
    "cholesky", "cholesky_solve", "cholesky_inverse", "svd", "qr",
]


def matrix_exp(input):
    """``torch.matrix_exp`` / ``Tensor.matrix_exp``: ``ember.linalg.matrix_exp``, which is
    composed from the primitives here (imported on use: it sits one layer up)."""
    from .. import linalg as _linalg
    return _linalg.matrix_exp(input)


def _product_method(fn, name):
    """``Tensor.addmm`` & co: the method binding has one signature, so PyTorch names a bad
    ``beta``/``alpha`` as an argument (the function's parser names the whole call)."""
    def method(self, first, second, *, beta=1, alpha=1):
        if type(beta) is not int or type(alpha) is not int:
            blas.check_scalar_args(name, None, beta, alpha)
        return fn(self, first, second, beta=beta, alpha=alpha)
    method.__name__ = name
    return method


TENSOR_METHODS = {
    "matmul": matmul, "mm": mm, "bmm": bmm, "mv": mv, "dot": dot, "vdot": vdot,
    "inner": inner, "outer": outer, "ger": ger,
    **{name: _product_method(fn, name) for name, fn in (
        ("addmm", addmm), ("addmv", addmv), ("addbmm", addbmm), ("baddbmm", baddbmm),
        ("addr", addr))},
    "kron": kron, "cross": cross,
    "__matmul__": _matmul_operator, "__rmatmul__": _rmatmul, "det": det, "logdet": logdet,
    "slogdet": slogdet, "inverse": inverse, "pinverse": pinverse,
    "matrix_power": matrix_power, "cholesky": cholesky, "cholesky_solve": cholesky_solve,
    "cholesky_inverse": cholesky_inverse, "svd": svd, "qr": qr, "matrix_exp": matrix_exp,
}
