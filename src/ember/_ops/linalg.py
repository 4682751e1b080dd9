"""Matrix products: matmul and its named special cases, einsum, tensordot, kron, cross,
cdist.

Every product goes to one BLAS GEMM through ``xp.matmul`` (NumPy passes transposed views
to BLAS with a transpose flag, so ``.mT`` in backward costs no copy). Backward formulas
are written with these same ops, so double backward works. Error messages name the
shapes exactly as PyTorch's do.
"""

from __future__ import annotations

import string

import numpy as np

from ..autograd.function import Function
from ._util import Tensor, shape_str, type_name, xp_of

# PyTorch names C++ scalar types in some matmul messages ("float != double").
_C_TYPE = {
    "float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
    "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
    "uint8": "unsigned char", "bool": "bool", "complex64": "c10::complex<float>",
    "complex128": "c10::complex<double>",
}


def _c_type(np_dtype):
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
    if a.shape[-1] != (b.shape[-2] if b.ndim > 1 else b.shape[0]):
        _matmul_error(a, b)
    xp = xp_of(a)
    if b.ndim == 2 and a.ndim > 2:
        # Fold the batch into the rows: one GEMM instead of one per batch element (NumPy's
        # stacked matmul is 2-6x slower here, worst with a transposed ``b``).
        rows = _prod(a.shape[:-1])
        out = xp.matmul(a.reshape(rows, a.shape[-1]), b).reshape(a.shape[:-1] + (b.shape[1],))
    else:
        try:
            out = xp.matmul(a, b)
        except ValueError:
            _matmul_error(a, b)
    # ml_dtypes computes bfloat16 matmul in float32 and returns float32; torch keeps bf16.
    return out if out.dtype == a.dtype else out.astype(a.dtype)


def _matmul_backward(grad, a, b, a_nd, b_nd, needs_a, needs_b):
    """Gradients of a @ b for every broadcasting case; the engine sums broadcast batch
    dims away. A batched ``a`` against a matrix ``b`` folds the batch into one GEMM."""
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


class Matmul(Function):
    """a @ b with PyTorch's rules: 1-D operands are promoted and squeezed, batch dims
    broadcast, both operands must share a dtype."""

    _array_io = True

    @staticmethod
    def forward(ctx, a, b):
        out = _matmul_forward(a, b)
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)
        ctx.ndims = (a.ndim, b.ndim)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a_nd, b_nd = ctx.ndims
        needs_a, needs_b = ctx.needs_input_grad
        return _matmul_backward(grad, a, b, a_nd, b_nd, needs_a, needs_b)


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
        if alpha != 1:
            out *= alpha
        if beta == 1:
            out += bias
        elif beta != 0:
            out += beta * bias
        needs = ctx.needs_input_grad
        ctx.save_for_backward(a if needs[2] else None, b if needs[1] else None)
        ctx.meta = (a.ndim, b.ndim, beta, alpha)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a_nd, b_nd, beta, alpha = ctx.meta
        needs = ctx.needs_input_grad
        grad_bias = None
        if needs[0]:
            grad_bias = grad if beta == 1 else grad * beta
        scaled = grad if alpha == 1 else grad * alpha
        grad_a, grad_b = _matmul_backward(scaled, a, b, a_nd, b_nd, needs[1], needs[2])
        return grad_bias, grad_a, grad_b, None, None


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


# -- the named products -----------------------------------------------------------------


def matmul(input, other, *, out=None):
    """Matrix product with broadcasting (``input @ other``)."""
    return Matmul.apply(input, other)


def mm(input, mat2, *, out=None):
    """Product of two matrices (no broadcasting)."""
    if input.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    return Matmul.apply(input, mat2)


def _check_bmm(batch1, batch2):
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
    if batch1.dtype != batch2.dtype:
        raise RuntimeError(
            f"expected scalar type {type_name(batch1._data.dtype)} but found "
            f"{type_name(batch2._data.dtype)}"
        )


def bmm(input, mat2, *, out=None):
    """Batched matrix product of two 3-D tensors with the same batch size."""
    _check_bmm(input, mat2)
    return Matmul.apply(input, mat2)


def _check_mv(mat, vec, bias=None):
    if mat.ndim != 2 or vec.ndim != 1:
        first = 1 if bias is None else bias.ndim
        raise RuntimeError(
            f"vector + matrix @ vector expected, got {first}, {mat.ndim}, {vec.ndim}"
        )
    rows = mat.shape[0] if bias is None else (bias.shape[0] if bias.ndim else 1)
    if mat.shape[1] != vec.shape[0] or (bias is not None and bias.numel() != 1
                                        and tuple(bias.shape) != (mat.shape[0],)):
        raise RuntimeError(
            f"size mismatch, got input ({rows}), mat ({mat.shape[0]}x{mat.shape[1]}), "
            f"vec ({vec.shape[0]})"
        )


def mv(input, vec, *, out=None):
    """Matrix-vector product."""
    _check_mv(input, vec)
    return Matmul.apply(input, vec)


def dot(input, tensor, *, out=None):
    """Inner product of two 1-D tensors."""
    _check_dot(input._data, tensor._data)
    return Matmul.apply(input, tensor)


def vdot(input, other, *, out=None):
    """Dot product with the first argument conjugated (same as dot for real tensors)."""
    _check_dot(input._data, other._data)
    if input._data.dtype.kind == "c":
        input = input.conj()
    return Matmul.apply(input, other)


def inner(input, other, *, out=None):
    """Sum of products over the last dims: shape ``input.shape[:-1] + other.shape[:-1]``."""
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
    if input.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument self, but got {input.ndim}-D")
    if vec2.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument vec2, but got {vec2.ndim}-D")
    return input.unsqueeze(1) * vec2


def ger(input, vec2, *, out=None):
    return outer(input, vec2)


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (mat1 @ mat2)`` as one GEMM plus an in-place add (Linear)."""
    if mat1.ndim != 2:
        raise RuntimeError(f"mat1 must be a matrix, got {mat1.ndim}-D tensor")
    if mat2.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {mat2.ndim}-D tensor")
    _check_mm(mat1._data, mat2._data)
    return AddMatmul.apply(input, mat1, mat2, beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (mat @ vec)``."""
    _check_mv(mat, vec, input)
    return AddMatmul.apply(input, mat, vec, beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    _check_bmm(batch1, batch2)
    return AddMatmul.apply(input, batch1, batch2, beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``."""
    _check_bmm(batch1, batch2)
    product = Matmul.apply(batch1, batch2).sum(0)
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return product
    return product + (input if beta == 1 else input * beta)


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * outer(vec1, vec2)``."""
    product = outer(vec1, vec2)
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return product
    return product + (input if beta == 1 else input * beta)


# -- einsum -----------------------------------------------------------------------------


def _parse_einsum(equation, shapes):
    """Rewrite an equation with explicit output and no ellipsis; check sizes."""
    equation = equation.replace(" ", "")
    if "->" in equation:
        lhs, rhs = equation.split("->")
    else:
        lhs, rhs = equation, None
    terms = lhs.split(",")
    if len(terms) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    used = {c for c in equation if c.isalpha()}
    free = [c for c in string.ascii_letters if c not in used]
    ell_ndim = 0
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        named = len(term.replace("...", ""))
        if "..." in term:
            ell_ndim = max(ell_ndim, len(shape) - named)
        elif named != len(shape):
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({named}) does not match "
                f"the number of dimensions ({len(shape)}) for operand {k} and no ellipsis was "
                "given"
            )
    ellipsis = "".join(free[:ell_ndim])
    explicit = []
    for term, shape in zip(terms, shapes):
        if "..." in term:
            width = len(shape) - len(term.replace("...", ""))
            term = term.replace("...", ellipsis[ell_ndim - width:])
        explicit.append(term)
    if rhs is None:
        counts = {}
        for term in terms:
            for c in term.replace("...", ""):
                counts[c] = counts.get(c, 0) + 1
        rhs = ellipsis + "".join(sorted(c for c, n in counts.items() if n == 1))
    else:
        rhs = rhs.replace("...", ellipsis)
        for c in rhs:
            if not any(c in term for term in explicit):
                raise RuntimeError(
                    f"einsum(): output subscript {c} does not appear in the equation for any "
                    "input operand"
                )
    sizes = {}
    for k, (term, shape) in enumerate(zip(explicit, shapes)):
        for c, size in zip(term, shape):
            seen = sizes.get(c)
            if seen is None or seen == 1:
                sizes[c] = size
            elif size != 1 and size != seen:
                raise RuntimeError(
                    f"einsum(): subscript {c} has size {size} for operand {k} which does not "
                    f"broadcast with previously seen size {seen}"
                )
    return explicit, rhs


class Einsum(Function):
    """einsum over explicit subscripts; each operand's gradient is another einsum of the
    upstream gradient with the other operands (identity matrices restore repeated
    subscripts, a ones vector restores a subscript summed away from one operand only)."""

    _array_io = True

    @staticmethod
    def forward(ctx, terms, output, *arrays):
        ctx.save_for_backward(*arrays)
        ctx.meta = (terms, output)
        equation = ",".join(terms) + "->" + output
        return xp_of(*arrays).einsum(equation, *arrays, optimize=len(arrays) > 1)

    @staticmethod
    def backward(ctx, grad):
        terms, output = ctx.meta
        operands = ctx.saved_tensors
        grads = [None, None]
        for k, term in enumerate(terms):
            if not ctx.needs_input_grad[k + 2]:
                grads.append(None)
                continue
            grads.append(_einsum_operand_grad(grad, output, terms, operands, k))
        return tuple(grads)


def _einsum_operand_grad(grad, output, terms, operands, k):
    from .creation import eye, ones

    term = terms[k]
    operand = operands[k]
    free = [c for c in reversed(string.ascii_letters)
            if c not in output and not any(c in t for t in terms)]
    labels, extra_terms, extra_operands = [], [], []
    for position, c in enumerate(term):
        if c in labels:
            fresh = free.pop()
            labels.append(fresh)
            extra_terms.append(c + fresh)
            extra_operands.append(eye(operand.shape[position], dtype=operand.dtype,
                                      device=operand.device))
        else:
            labels.append(c)
    others = [t for i, t in enumerate(terms) if i != k]
    available = set(output).union(*others) if others else set(output)
    for position, c in enumerate(term):
        if c not in available and c not in extra_terms:
            extra_terms.append(c)
            extra_operands.append(ones(operand.shape[position], dtype=operand.dtype,
                                       device=operand.device))
    in_terms = [output] + others + extra_terms
    in_operands = [grad] + [o for i, o in enumerate(operands) if i != k] + extra_operands
    return Einsum.apply(in_terms, "".join(labels), *in_operands)


def einsum(equation, *operands):
    """Einstein summation (``"ij,jk->ik"``, ellipsis and implicit output supported)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    first = operands[0]._data.dtype if operands else None
    for operand in operands[1:]:
        if operand._data.dtype != first:
            raise RuntimeError(
                f"expected scalar type {type_name(first)} but found "
                f"{type_name(operand._data.dtype)}"
            )
    terms, output = _parse_einsum(equation, [tuple(o.shape) for o in operands])
    return Einsum.apply(terms, output, *operands)


def tensordot(a, b, dims=2, out=None):
    """Sum over ``dims`` of a against ``dims`` of b (an int: last of a, first of b)."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        dims_a = list(range(-dims, 0))
        dims_b = list(range(dims))
    else:
        dims_a, dims_b = dims
        dims_a = [dims_a] if isinstance(dims_a, int) else list(dims_a)
        dims_b = [dims_b] if isinstance(dims_b, int) else list(dims_b)
    if a.dtype != b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size {a.shape[da]} in dim "
                f"{da} and second has size {b.shape[db]} in dim {db}"
            )
    letters = iter(string.ascii_letters)
    term_a = [next(letters) for _ in range(a.ndim)]
    term_b = [next(letters) for _ in range(b.ndim)]
    for da, db in zip(dims_a, dims_b):
        term_b[db % b.ndim] = term_a[da % a.ndim]
    contracted_a = {d % a.ndim for d in dims_a}
    contracted_b = {d % b.ndim for d in dims_b}
    output = [c for i, c in enumerate(term_a) if i not in contracted_a]
    output += [c for i, c in enumerate(term_b) if i not in contracted_b]
    return Einsum.apply(["".join(term_a), "".join(term_b)], "".join(output), a, b)


def kron(input, other, *, out=None):
    """Kronecker product: blocks ``input[i, j] * other``."""
    ndim = max(input.ndim, other.ndim)
    a_shape = (1,) * (ndim - input.ndim) + tuple(input.shape)
    b_shape = (1,) * (ndim - other.ndim) + tuple(other.shape)
    a_interleaved = []
    b_interleaved = []
    for size_a, size_b in zip(a_shape, b_shape):
        a_interleaved += [size_a, 1]
        b_interleaved += [1, size_b]
    product = input.reshape(tuple(a_interleaved)) * other.reshape(tuple(b_interleaved))
    return product.reshape(tuple(sa * sb for sa, sb in zip(a_shape, b_shape)))


class Cross(Function):
    """Cross product of 3-vectors along ``dim`` (operands already broadcast)."""

    _array_io = True

    @staticmethod
    def forward(ctx, a, b, dim):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)
        ctx.dim = dim
        return xp_of(a).cross(a, b, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_a = Cross.apply(b, grad, ctx.dim) if b is not None else None
        grad_b = Cross.apply(grad, a, ctx.dim) if a is not None else None
        return grad_a, grad_b, None


def linalg_cross(input, other, *, dim=-1, out=None):
    if input.dtype != other.dtype:
        raise RuntimeError(
            f"expected scalar type {type_name(input._data.dtype)} but found "
            f"{type_name(other._data.dtype)}"
        )
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    shape = tuple(input.shape)
    if tuple(other.shape) != shape:
        _broadcast_error(tuple(input.shape), tuple(other.shape))
        shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
    if not -len(shape) <= dim < len(shape):
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-len(shape)}, "
            f"{len(shape) - 1}], but got {dim})"
        )
    size_a = input.shape[dim] if input.ndim == len(shape) else shape[dim]
    size_b = other.shape[dim] if other.ndim == len(shape) else shape[dim]
    if size_a != 3 or size_b != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {size_a} and {size_b}"
        )
    if tuple(input.shape) != shape:
        input = input.expand(shape)
    if tuple(other.shape) != shape:
        other = other.expand(shape)
    return Cross.apply(input, other, dim % len(shape))


def cross(input, other, dim=None, *, out=None):
    """Cross product along ``dim`` (default: the first dim of size 3, as PyTorch)."""
    if dim is None:
        import warnings

        warnings.warn(
            "Using torch.cross without specifying the dim arg is deprecated.\nPlease either "
            "pass the dim explicitly or simply use torch.linalg.cross.\nThe default value of "
            "dim will change to agree with that of linalg.cross in a future release.",
            UserWarning, stacklevel=2,
        )
        shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return linalg_cross(input, other, dim=dim)


# -- cdist ------------------------------------------------------------------------------


class Cdist(Function):
    """p-norm distance between each row of x1 and each row of x2 (batched).

    p=2 computes through one GEMM (|a|^2 + |b|^2 - 2 a.b), as PyTorch does for more than
    25 rows; other p go through the broadcast difference. Backward is written as PyTorch
    writes it: zero gradient where the distance is zero.
    """

    _array_io = True

    @staticmethod
    def forward(ctx, x1, x2, p, use_mm):
        xp = xp_of(x1)
        if p == 2 and use_mm:
            sq1 = (x1 * x1).sum(-1)[..., :, None]
            sq2 = (x2 * x2).sum(-1)[..., None, :]
            squared = xp.matmul(x1, xp.swapaxes(x2, -1, -2))
            squared *= -2
            squared += sq1
            squared += sq2
            xp.maximum(squared, 0, out=squared)
            dist = xp.sqrt(squared, out=squared)
        else:
            diff = xp.abs(x1[..., :, None, :] - x2[..., None, :, :])
            if p == 0:
                dist = (diff != 0).sum(-1).astype(x1.dtype)
            elif p == 1:
                dist = diff.sum(-1)
            elif p == float("inf"):
                dist = diff.max(-1) if diff.shape[-1] else diff.sum(-1)
            elif p == 2:
                dist = xp.sqrt((diff * diff).sum(-1))
            else:
                dist = (diff ** p).sum(-1) ** (1.0 / p)
        ctx.save_for_backward(x1, x2, dist)
        ctx.p = p
        return dist

    @staticmethod
    def backward(ctx, grad):
        x1, x2, dist = ctx.saved_tensors
        p = ctx.p
        if p == 0:
            return x1 * 0, x2 * 0, None, None
        zero = dist == 0
        if p == 2:
            # d dist / d x1_i = (x1_i - x2_j) / dist: contract with GEMMs, no 4-D temp.
            scaled = (grad / dist.masked_fill(zero, 1.0)).masked_fill(zero, 0.0)
            grad_x1 = x1 * scaled.sum(-1).unsqueeze(-1) - scaled.matmul(x2)
            grad_x2 = x2 * scaled.sum(-2).unsqueeze(-1) - scaled.mT.matmul(x1)
            return grad_x1, grad_x2, None, None
        diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
        if p == 1:
            grad_diff = grad.unsqueeze(-1) * diff.sign()
        elif p == float("inf"):
            hit = (diff.abs() == dist.unsqueeze(-1)).to(diff.dtype)
            grad_diff = grad.unsqueeze(-1) * diff.sign() * hit
        else:
            safe = dist.masked_fill(zero, 1.0).unsqueeze(-1)
            grad_diff = (grad.unsqueeze(-1) * diff.sign() * diff.abs() ** (p - 1)
                         / safe ** (p - 1)).masked_fill(zero.unsqueeze(-1), 0.0)
        return grad_diff.sum(-2), -grad_diff.sum(-3), None, None


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Pairwise p-norm distances: (B, P, M) and (B, R, M) give (B, P, R)."""
    if x1.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(
            f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} "
            f"X2: {x2.shape[-1]}"
        )
    if not x1.is_floating_point():
        raise RuntimeError(
            f"cdist only supports floating-point dtypes, X1 got: {type_name(x1._data.dtype)}"
        )
    if not x2.is_floating_point():
        raise RuntimeError(
            f"cdist only supports floating-point dtypes, X2 got: {type_name(x2._data.dtype)}"
        )
    if x1.dtype != x2.dtype:
        raise RuntimeError(
            f"expected scalar type {type_name(x1._data.dtype)} but found "
            f"{type_name(x2._data.dtype)}"
        )
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    batch = np.broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2]))
    if tuple(x1.shape[:-2]) != batch:
        x1 = x1.expand(batch + tuple(x1.shape[-2:]))
    if tuple(x2.shape[:-2]) != batch:
        x2 = x2.expand(batch + tuple(x2.shape[-2:]))
    if compute_mode == "use_mm_for_euclid_dist":
        use_mm = True
    elif compute_mode == "donot_use_mm_for_euclid_dist":
        use_mm = False
    else:
        use_mm = x1.shape[-2] > 25 or x2.shape[-2] > 25
    return Cdist.apply(x1, x2, float(p), use_mm)


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


def slogdet(input):
    return _linalg().slogdet(input)


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
    linalg = _linalg()
    lower = L.mT if upper else L
    return linalg.solve(lower.matmul(lower.mT), B)


def cholesky_inverse(L, upper=False, *, out=None):
    lower = L.mT if upper else L
    return _linalg().inv(lower.matmul(lower.mT))


def svd(input, some=True, compute_uv=True, *, out=None):
    """Old torch.svd: (U, S, V) with V, not V^H; reduced unless ``some=False``."""
    linalg = _linalg()
    u, s, vh = linalg.svd(input, full_matrices=not some)
    if not compute_uv:  # PyTorch gives zero-filled square U and V
        batch, (m, n) = tuple(input.shape[:-2]), tuple(input.shape[-2:])
        return linalg._svd_old_t(u.detach().new_zeros(batch + (m, m)), s,
                                 vh.detach().new_zeros(batch + (n, n)))
    return linalg._svd_old_t(u, s, vh.mT)


def qr(input, some=True, *, out=None):
    return _linalg().qr(input, "reduced" if some else "complete")


def _rmatmul(self, other):
    return Matmul.apply(other, self)


def _imatmul(self, other):
    from ._inplace import apply_inplace

    return apply_inplace(self, Matmul.apply(self, other))


__all__ = [
    "matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm", "addmv",
    "addbmm", "baddbmm", "addr", "einsum", "tensordot", "kron", "cross", "cdist",
    "chain_matmul", "det", "logdet", "slogdet", "inverse", "pinverse", "matrix_power",
    "cholesky", "cholesky_solve", "cholesky_inverse", "svd", "qr",
]

TENSOR_METHODS = {
    "matmul": matmul, "mm": mm, "bmm": bmm, "mv": mv, "dot": dot, "vdot": vdot,
    "inner": inner, "outer": outer, "ger": ger, "addmm": addmm, "addmv": addmv,
    "addbmm": addbmm, "baddbmm": baddbmm, "addr": addr, "kron": kron, "cross": cross,
    "__matmul__": matmul, "__rmatmul__": _rmatmul, "det": det, "logdet": logdet,
    "slogdet": slogdet, "inverse": inverse, "pinverse": pinverse,
    "matrix_power": matrix_power, "cholesky": cholesky, "cholesky_solve": cholesky_solve,
    "cholesky_inverse": cholesky_inverse, "svd": svd, "qr": qr,
}
