"""einsum, tensordot, kron, cross and cdist: the products that are not one matmul.

einsum's backward is itself an einsum per operand, so any order of derivative works;
tensordot is einsum with generated subscripts; cdist's p=2 path is one GEMM.
"""

from __future__ import annotations

import string

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._blas_dtypes import not_implemented
from ._util import Tensor, _make, type_name, xp_of
from .linalg import _broadcast_error


# -- einsum -----------------------------------------------------------------------------


def _parse_einsum(equation, shapes):
    """Rewrite an equation with explicit output and no ellipsis; check sizes."""
    arrow = equation.find("->")
    for index, char in enumerate(equation):
        if (char.isascii() and char.isalpha()) or char in " ,." or (
                arrow >= 0 and index in (arrow, arrow + 1)):
            continue
        raise RuntimeError(
            f"einsum(): invalid subscript given at index {index} in the equation string, "
            "subscripts must be in [a-zA-Z]"
        )
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
        return _einsum_arrays(",".join(terms) + "->" + output, arrays)

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


def _einsum_arrays(equation, arrays):
    """NumPy's einsum, keeping bfloat16: ml_dtypes' bfloat16 operands come back float32
    (or raise, with one operand), so they are summed in float32 and the result cast back,
    as torch returns bfloat16."""
    xp = xp_of(*arrays)
    dtype = arrays[0].dtype
    if dtype.kind == "V":
        arrays = [a.astype(np.float32) for a in arrays]
    out = xp.einsum(equation, *arrays, optimize=len(arrays) > 1)
    return out.astype(dtype) if dtype.kind == "V" else out


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
    if grad._data.dtype.kind == "c":  # complex: the other operands enter conjugated
        in_operands[1:] = [o.conj_physical() for o in in_operands[1:]]
    if not _grad_enabled[0]:
        # No graph to build (no create_graph): one einsum on the arrays, no Function.
        arrays = [o._data for o in in_operands]
        return _make(_einsum_arrays(",".join(in_terms) + "->" + "".join(labels), arrays))
    return Einsum.apply(in_terms, "".join(labels), *in_operands)


def _sublist_term(sublist):
    letters = []
    for n in sublist:
        if n is Ellipsis:
            letters.append("...")
        elif 0 <= n < 26:
            letters.append(chr(ord("A") + n))
        elif 26 <= n < 52:
            letters.append(chr(ord("a") + n - 26))
        else:
            raise ValueError("einsum(): subscript in subscript list is not within the valid "
                             "range [0, 52)")
    return "".join(letters)


def _from_sublists(args):
    """einsum(op1, sublist1, op2, sublist2, ..., [sublist_out]) -> (equation, operands)."""
    operands = args[0::2]
    sublists = args[1::2]
    output = None
    if len(args) % 2 == 1:
        output = args[-1]
        operands = operands[:-1]
    equation = ",".join(_sublist_term(s) for s in sublists)
    if output is not None:
        equation += "->" + _sublist_term(output)
    return equation, tuple(operands)


def einsum(equation, *operands):
    """Einstein summation (``"ij,jk->ik"``, ellipsis and implicit output supported)."""
    if not isinstance(equation, str):
        equation, operands = _from_sublists((equation,) + tuple(operands))
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
    if a._data.dtype.kind == "b" and a._data.size and b._data.size:
        not_implemented("addmm_impl_cpu_", a._data.dtype)  # torch's tensordot is one mm
    letters = iter(string.ascii_letters)
    term_a = [next(letters) for _ in range(a.ndim)]
    term_b = [next(letters) for _ in range(b.ndim)]
    for da, db in zip(dims_a, dims_b):
        term_b[db % b.ndim] = term_a[da % a.ndim]
    contracted_a = {d % a.ndim for d in dims_a}
    contracted_b = {d % b.ndim for d in dims_b}
    output = [c for i, c in enumerate(term_a) if i not in contracted_a]
    output += [c for i, c in enumerate(term_b) if i not in contracted_b]
    result = Einsum.apply(["".join(term_a), "".join(term_b)], "".join(output), a, b)
    if not result._data.flags.c_contiguous:  # PyTorch's is a reshaped GEMM: contiguous
        result._data = xp_of(result._data).ascontiguousarray(result._data)
    return result


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
        if grad._data.dtype.kind == "c":  # bilinear: conjugated factors
            a = a.conj_physical() if a is not None else None
            b = b.conj_physical() if b is not None else None
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
    25 rows; other p, and p=2 with fewer rows, go through the broadcast difference, in
    forward and backward alike. Backward is written as PyTorch
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
        ctx.use_mm = use_mm
        return dist

    @staticmethod
    def backward(ctx, grad):
        x1, x2, dist = ctx.saved_tensors
        p = ctx.p
        if p == 0:
            return x1 * 0, x2 * 0, None, None
        zero = dist == 0
        if p == 2 and ctx.use_mm:
            # d dist / d x1_i = (x1_i - x2_j) / dist, contracted with GEMMs as PyTorch does
            # on its GEMM route (no 4-D temporary).
            scaled = (grad / dist.masked_fill(zero, 1.0)).masked_fill(zero, 0.0)
            grad_x1 = x1 * scaled.sum(-1).unsqueeze(-1) - scaled.matmul(x2)
            grad_x2 = x2 * scaled.sum(-2).unsqueeze(-1) - scaled.mT.matmul(x1)
            return grad_x1, grad_x2, None, None
        diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
        if p == 2:
            # The direct route differentiates the difference itself: the GEMM form above
            # loses digits when rows nearly coincide (|x| * sum(g/d) minus (g/d) @ y).
            scaled = (grad / dist.masked_fill(zero, 1.0)).masked_fill(zero, 0.0)
            grad_diff = diff * scaled.unsqueeze(-1)
        elif p == 1:
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
