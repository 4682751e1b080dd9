"""Matrix products and ``ember.linalg``'s decompositions."""

from __future__ import annotations

from ..autograd.function import Function
from ._util import promote_arrays, xp_of


class Matmul(Function):
    """matmul with NumPy's broadcasting rules (1-D operands are promoted and squeezed)."""

    _array_io = True

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError(
                f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and "
                f"{b.ndim}D"
            )
        a, b, _ = promote_arrays(a, b)
        k_a = a.shape[-1]
        k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if k_a != k_b:
            _raise_shapes(a, b)
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)
        ctx.ndims = (a.ndim, b.ndim)
        return xp_of(a).matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a_nd, b_nd = ctx.ndims
        if a_nd == 1 and b_nd == 1:
            return (grad * b if b is not None else None), (grad * a if a is not None else None)
        if a_nd == 1:
            grad = grad.unsqueeze(-2)
        if b_nd == 1:
            grad = grad.unsqueeze(-1)
        grad_a = grad_b = None
        if b is not None:
            b2 = b.unsqueeze(-1) if b_nd == 1 else b
            grad_a = grad.matmul(b2.transpose(-1, -2))
            if a_nd == 1:
                grad_a = grad_a.squeeze(-2)
        if a is not None:
            a2 = a.unsqueeze(-2) if a_nd == 1 else a
            grad_b = a2.transpose(-1, -2).matmul(grad)
            if b_nd == 1:
                grad_b = grad_b.squeeze(-1)
        return grad_a, grad_b


def _raise_shapes(a, b):
    if a.ndim == 2 and b.ndim == 2:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
            f"{b.shape[0]}x{b.shape[1]})"
        )
    if a.ndim == 1 and b.ndim == 1:
        raise RuntimeError(
            "inconsistent tensor size, expected tensor [{}] and src [{}] to have the same number "
            "of elements, but got {} and {} elements respectively".format(
                a.shape[0], b.shape[0], a.shape[0], b.shape[0])
        )
    raise RuntimeError(
        f"Expected size for first two dimensions of batch2 tensor to be: "
        f"[{', '.join(map(str, b.shape[:-2]))}, {a.shape[-1]}] but got: "
        f"[{', '.join(map(str, b.shape))}]." if a.ndim == 3 and b.ndim == 3 else
        f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, a.shape))} and "
        f"{'x'.join(map(str, b.shape))})"
    )


def matmul(input, other, *, out=None):
    return Matmul.apply(input, other)


__all__ = ["matmul"]

TENSOR_METHODS = {"matmul": matmul, "__matmul__": lambda self, other: Matmul.apply(self, other),
                  "__rmatmul__": lambda self, other: Matmul.apply(other, self)}
