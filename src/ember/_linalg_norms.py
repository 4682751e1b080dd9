"""ember.linalg's norms: vector_norm (one Function, every ord), matrix_norm and norm
composed from it and svdvals.

The backward of each ord is PyTorch's: zero where the norm is zero, ties share the
gradient of an inf-norm evenly.
"""

from __future__ import annotations

from ._linalg_errors import check_lapack_dtype
from ._ops._util import type_name, xp_of
from ._ops.pointwise import where as _where
from .autograd.function import Function
from .linalg import _check_float, svdvals

# -- norms ------------------------------------------------------------------------------


class VectorNorm(Function):
    _array_io = True
    _node_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, ord, dims, keepdim):
        xp = xp_of(x)
        magnitude = xp.abs(x)
        if ord == 2:
            out = xp.sqrt((magnitude * magnitude).sum(axis=dims, keepdims=keepdim))
        elif ord == 1:
            out = magnitude.sum(axis=dims, keepdims=keepdim)
        elif ord == float("inf"):
            out = magnitude.max(axis=dims, keepdims=keepdim)
        elif ord == float("-inf"):
            out = magnitude.min(axis=dims, keepdims=keepdim)
        elif ord == 0:
            out = (magnitude != 0).sum(axis=dims, keepdims=keepdim).astype(magnitude.dtype)
        else:
            out = (magnitude ** ord).sum(axis=dims, keepdims=keepdim) ** (1.0 / ord)
        out = xp.asarray(out, dtype=x.real.dtype if x.dtype.kind == "c" else x.dtype)
        ctx.save_for_backward(x, out)
        ctx.meta = (ord, dims, keepdim)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, norm = ctx.saved_tensors
        ord, dims, keepdim = ctx.meta
        if not keepdim:
            for d in dims:
                grad = grad.unsqueeze(d)
                norm = norm.unsqueeze(d)
        if ord == 0:
            return x * 0, None, None, None
        if ord == 1:
            return grad * x.sgn(), None, None, None
        if ord in (float("inf"), float("-inf")):
            hit = (x.abs() == norm).to(x.dtype)
            count = hit.sum(dims, keepdim=True)
            return x.sgn() * hit * (grad / count), None, None, None
        zero = norm == 0
        safe = _where(zero, 1.0, norm)
        if ord == 2:
            scaled = x * (grad / safe)
        else:
            scaled = x * x.abs() ** (ord - 2) * (grad / safe ** (ord - 1))
        return _where(zero, 0.0, scaled), None, None, None


def _norm_dims(dim, ndim):
    """Sorted non-negative dims; PyTorch's IndexError out of range, RuntimeError for a
    repeated dim."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    low, high = (-ndim, ndim - 1) if ndim else (-1, 0)
    seen = []
    for d in dim:
        if not low <= d <= high:
            raise IndexError(f"Dimension out of range (expected to be in range of [{low}, "
                             f"{high}], but got {d})")
        wrapped = d % ndim if ndim else 0
        if wrapped in seen:
            raise RuntimeError(f"dim {wrapped} appears multiple times in the list of dims")
        seen.append(wrapped)
    return tuple(sorted(seen))


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """p-norm of x over ``dim`` (all elements when None), as one vector."""
    if isinstance(ord, str):
        raise TypeError("linalg_vector_norm(): argument 'ord' must be Number, not str")
    if dtype is not None:
        wanted_complex = str(dtype).split(".")[-1].startswith("complex")
        if wanted_complex != x.is_complex():
            kind = "complex" if x.is_complex() else "real"
            raise RuntimeError(f"linalg.vector_norm: dtype should be {kind} for {kind} inputs, "
                               f"but got {type_name(str(dtype).split('.')[-1])}")
        x = x.to(dtype)
    _check_float("linalg.vector_norm", x._data)
    ord = float(ord)
    dims = _norm_dims(dim, x.ndim)
    if x.ndim == 0:
        dims = ()
    if (ord < 0 or ord == float("inf")) and x.numel() == 0:
        if dim is None:
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {_ord_str(ord)} norm on an empty "
                "tensor because the operation does not have an identity"
            )
        for d in dims:
            if x.shape[d] == 0:
                raise RuntimeError(
                    f"linalg.vector_norm cannot compute the {_ord_str(ord)} norm on the "
                    f"dimension {d}because this dimension is empty and the operation does not "
                    "have an identity"
                )
    return VectorNorm.apply(x, ord, dims, keepdim)


def _ord_str(ord):
    """The ord as PyTorch prints a Scalar: inf, -inf, -1, 1.5."""
    return f"{ord:g}"


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """Frobenius, nuclear, spectral (2, -2) or max-column/row-sum (1, -1, inf, -inf) norm."""
    if dtype is not None:
        A = A.to(dtype)
    _check_float("linalg.matrix_norm", A._data)
    if A.ndim < 2:
        raise RuntimeError(
            "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."
        )
    row, col = _norm_dims(dim[0], A.ndim)[0], _norm_dims(dim[1], A.ndim)[0]
    if row == col:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, "
                           f"{dim[1]})")
    if ord == "fro":
        return vector_norm(A, 2, (row, col), keepdim)
    if ord in ("nuc", 2, -2):
        check_lapack_dtype("linalg.matrix_norm(svd)", A._data)
        moved = A.movedim((row, col), (-2, -1)) if (row, col) != (A.ndim - 2, A.ndim - 1) else A
        values = svdvals(moved)
        if ord == "nuc":
            result = values.sum(-1)
        elif values.shape[-1] == 0:  # an empty matrix: PyTorch's amax gives 0, amin raises
            if ord == -2:
                raise IndexError("amin(): Expected reduction dim -1 to have non-zero size.")
            result = values.sum(-1)
        else:
            result = vector_norm(values, float("inf") if ord == 2 else float("-inf"), -1)
        if keepdim:
            for d in sorted((row, col)):
                result = result.unsqueeze(d)
        return result
    if ord in (1, -1, float("inf"), float("-inf")):
        summed_dim = row if abs(ord) == 1 else col
        sums = vector_norm(A, 1, summed_dim, keepdim=True)
        reduce_dim = col if abs(ord) == 1 else row
        if A.shape[reduce_dim] == 0:  # as for an empty spectrum above
            if ord < 0:
                shown = reduce_dim - (summed_dim < reduce_dim)
                raise IndexError(
                    f"amin(): Expected reduction dim {shown} to have non-zero size.")
            result = sums.sum(reduce_dim, keepdim=True)
        else:
            result = vector_norm(sums, float("inf") if ord > 0 else float("-inf"), reduce_dim,
                                 keepdim=True)
        if not keepdim:
            result = result.squeeze(max(row, col)).squeeze(min(row, col))
        return result
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """Vector or matrix norm, chosen by ``ord`` and ``dim`` as PyTorch does."""
    if dim is not None and not isinstance(dim, int):
        dim = tuple(dim)
    if isinstance(ord, str):  # 'fro' and 'nuc' are matrix norms whatever A's shape
        return matrix_norm(A, ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    if ord is None:
        if isinstance(dim, tuple) and len(dim) == 2:
            return matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim == 2:
            return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
        if A.ndim != 1:
            raise RuntimeError(
                f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                f"Got {A.ndim}D."
            )
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    if isinstance(dim, tuple) and len(dim) == 2:
        return matrix_norm(A, ord, dim, keepdim, dtype=dtype)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)
