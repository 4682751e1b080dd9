"""Functional forms of the nn layers: linear, bilinear, embedding, embedding_bag, the
dropout family, one_hot, normalize and the distances.

``linear`` is one fused Function (one GEMM plus the bias in the forward, one GEMM each for
the input and weight gradients) because it is the hot path of every MLP. The rest are
compositions of ops plus three small primitives defined here (row gather, row
scatter-add, vector norm) whose backwards are each other, so double backward works.
"""

from __future__ import annotations

import math

import numpy as np

from .._backend.graph_capture import matmul
from .._ops._util import _make, type_name, wrap_dim, xp_of
from .._ops.pointwise import AddScalar
from ..autograd.function import Function, same_float, saved_arrays

__all__ = [
    "linear", "bilinear", "embedding", "embedding_bag", "dropout", "dropout1d", "dropout2d",
    "dropout3d", "alpha_dropout", "feature_alpha_dropout", "one_hot", "normalize",
    "cosine_similarity", "pairwise_distance",
]


def _c_name(np_dtype):
    """The C type name PyTorch's dtype-mismatch messages use (float, double, c10::Half)."""
    name = type_name(np_dtype)
    return {"Half": "c10::Half", "BFloat16": "c10::BFloat16", "Long": "long int",
            "Short": "short int", "Char": "signed char", "Byte": "unsigned char",
            "ComplexFloat": "c10::complex<float>",
            "ComplexDouble": "c10::complex<double>"}.get(name, name.lower())


# -- linear -----------------------------------------------------------------------------------


class Linear(Function):
    """``x @ w.T + b`` for x of shape (*, in): one GEMM on the flattened batch."""

    _array_io = True

    def name(self):
        """PyTorch's node for linear: addmm/mm for 2-D input, a view otherwise."""
        rank, has_bias = getattr(self, "signature", (2, True))
        if rank == 2:
            return "AddmmBackward0" if has_bias else "MmBackward0"
        if rank == 1 and not has_bias:
            return "SqueezeBackward4"
        return "ViewBackward0" if has_bias else "UnsafeViewBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias):
        if x.dtype != weight.dtype:
            if bias is not None:  # PyTorch reports the addmm path's text then
                raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                                   f"{type_name(x.dtype)} and {type_name(weight.dtype)}")
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                               f"{_c_name(x.dtype)} != {_c_name(weight.dtype)}")
        x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
        if x.shape[-1] != weight.shape[1]:
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({x2.shape[0]}x{x2.shape[1]} and "
                f"{weight.shape[1]}x{weight.shape[0]})")
        out = matmul(x2, weight.T)  # graph_capture's: a plain @ unless a CUDA graph captures
        if out.dtype != x.dtype:  # ml_dtypes returns float32 from a bfloat16 GEMM
            out = out.astype(x.dtype)
        if bias is not None:
            if bias.dtype != x.dtype:
                raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                                   f"{type_name(bias.dtype)} and {type_name(x.dtype)}")
            try:
                out += bias
            except ValueError:
                raise RuntimeError(
                    f"The expanded size of the tensor ({out.shape[-1]}) must match the existing "
                    f"size ({bias.shape[-1]}) at non-singleton dimension {bias.ndim - 1}.  "
                    f"Target sizes: [{out.shape[0]}, {out.shape[1]}].  Tensor sizes: "
                    f"[{', '.join(map(str, bias.shape))}]") from None
        needs = ctx.needs_input_grad
        if needs[0] or needs[1]:
            ctx.save_for_backward(x if needs[1] else None, weight if needs[0] else None)
        if x.ndim != 2 or bias is None:
            ctx.signature = (x.ndim, bias is not None)
        return out if x.ndim == 2 else out.reshape(*x.shape[:-1], weight.shape[0])

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_tensors
        x, weight = saved if saved else (None, None)
        grad_x = grad_w = grad_b = None
        if grad._data.dtype.kind == "c":  # complex: conjugate transposes
            x = x.conj_physical() if x is not None else None
            weight = weight.conj_physical() if weight is not None else None
        if ctx.needs_input_grad[0]:
            grad_x = grad.matmul(weight)
        grad2 = grad if grad.ndim == 2 else grad.reshape(-1, grad.shape[-1])
        if ctx.needs_input_grad[1]:
            x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
            grad_w = grad2.t().matmul(x2)
        if ctx.needs_input_grad[2]:
            grad_b = grad2.sum(0)
        return grad_x, grad_w, grad_b

    @staticmethod
    def _array_backward(ctx, grad):
        """The same GEMMs on arrays when no graph is built (float32/64; half precision
        takes the Tensor path, whose sum accumulates in float32)."""
        saved = saved_arrays(ctx)
        x, weight = saved if saved else (None, None)
        if grad.dtype.itemsize < 4 or not same_float(grad, x, weight):
            return NotImplemented
        needs = ctx.needs_input_grad
        grad_x = grad_w = grad_b = None
        grad2 = grad if grad.ndim == 2 else grad.reshape(-1, grad.shape[-1])
        if needs[0]:
            grad_x = matmul(grad2, weight)
            if grad.ndim != 2:
                grad_x = grad_x.reshape(grad.shape[:-1] + (weight.shape[1],))
        if needs[1]:
            x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
            grad_w = matmul(grad2.T, x2)
        if needs[2]:
            grad_b = grad2.sum(0)
        return grad_x, grad_w, grad_b


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``.

    Shape: input (*, in_features), weight (out_features, in_features), bias
    (out_features) -> (*, out_features).
    """
    input_ndim = input._data.ndim
    weight_ndim = weight._data.ndim
    if input_ndim == 0 or weight_ndim == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                           f"{input_ndim}D and {weight_ndim}D")
    if weight_ndim == 1:
        out = input.matmul(weight)
        return out if bias is None else out + bias
    return Linear.apply(input, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    """``y[n, o] = x1[n] @ W[o] @ x2[n] + b[o]``: one GEMM against W laid out (I, O*J),
    then a product with x2 summed over J."""
    if weight.dim() != 3:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[-{weight.dim()}, {weight.dim() - 1}], but got 2)")
    out_f, in1, in2 = weight.shape
    if input1.dim() != input2.dim():
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.dim()} and "
                           f"{input2.dim()}")
    for dim, (a, b) in enumerate(zip(input1.shape[:-1], input2.shape[:-1])):
        if a != b:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {dim}: "
                               f"got {a} and {b}")
    if input1.shape[-1] != in1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1]} but expected {in1}")
    if input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1]} but expected {in2}")
    if bias is not None and bias.shape[-1] != out_f:
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                           f"{bias.shape[-1]} but expected {out_f}")
    batch = input1.shape[:-1]
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    projected = x1.matmul(weight.permute(1, 0, 2).reshape(in1, out_f * in2))
    out = (projected.reshape(-1, out_f, in2) * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(*batch, out_f)


# -- embedding: its own file ------------------------------------------------------------------

from ._embedding import embedding, embedding_bag  # noqa: E402


# -- dropout ----------------------------------------------------------------------------------


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input, p, shape, generator=None):
    """Bernoulli(1 - p) draws in the input's dtype, from ember's RNG."""
    from .._ops.creation import empty

    return empty(shape, dtype=input.dtype, device=input.device).bernoulli_(
        1.0 - p, generator=generator)


def _apply_mask(input, noise, inplace, offset=None):
    out = input * noise if offset is None else input * noise + offset
    if inplace:
        from .._ops._inplace import apply_inplace

        return apply_inplace(input, out)
    return out


def _dropout_impl(input, p, training, inplace, feature, alpha):
    _check_p(p)
    if p == 0 or not training or input.numel() == 0:
        return input
    if feature:
        shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2)
    else:
        shape = tuple(input.shape)
    if p == 1:
        noise = _make(xp_of(input._data).zeros((), dtype=input._data.dtype))
        return _apply_mask(input, noise, inplace)
    if not (alpha or feature or inplace) and input.device.type == "cuda":
        # PyTorch's CUDA path: the fused native_dropout (one kernel; NativeDropoutBackward0)
        from .._ops._dropout import NativeDropout

        return NativeDropout.apply(input, p, None)[0]
    noise = _keep_mask(input, p, shape)
    if not alpha:
        return _apply_mask(input, noise * (1.0 / (1.0 - p)), inplace)
    alpha_value = 1.7580993408473766
    a = 1.0 / math.sqrt((alpha_value * alpha_value * p + 1) * (1 - p))
    offset = (noise - 1) * (alpha_value * a) + alpha_value * a * p
    return _apply_mask(input, noise * a, inplace, offset)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero elements with probability p and scale the rest by 1/(1-p) (identity in eval)."""
    return _dropout_impl(input, p, training, inplace, feature=False, alpha=False)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    return _dropout_impl(input, p, training, inplace, feature=False, alpha=True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    return _dropout_impl(input, p, training, inplace, feature=True, alpha=True)


def _unbatched_feature_dropout(input, p, training, inplace):
    """Channel dropout of an input without a batch dim: run it batched, write back."""
    if p == 0 or not training or input.numel() == 0:
        return input
    out = _dropout_impl(input.unsqueeze(0), p, training, False, feature=True,
                        alpha=False).squeeze(0)
    if inplace:
        from .._ops._inplace import apply_inplace

        return apply_inplace(input, out)
    return out


def _warn_feature_dims(name, ndim, expected, spatial):
    import warnings

    warnings.warn(
        f"{name}: Received a {ndim}-D input to {name}, which is deprecated and will result in "
        "an error in a future release. To retain the behavior and silence this warning, please "
        f"use dropout instead. Note that {name} exists to provide channel-wise dropout on "
        f"inputs with {spatial} spatial dimensions, a channel dimension, and an optional batch "
        f"dimension (i.e. {expected[0]}D or {expected[1]}D inputs).", stacklevel=3)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) or (C, L) inputs."""
    _check_p(p)
    ndim = input.dim()
    if ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {ndim}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs).")
    if ndim == 2:
        return _unbatched_feature_dropout(input, p, training, inplace)
    return _dropout_impl(input, p, training, inplace, feature=True, alpha=False)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) inputs (3-D inputs are taken as (N, C, L), with
    PyTorch's warning)."""
    _check_p(p)
    ndim = input.dim()
    if ndim not in (3, 4):
        _warn_feature_dims("dropout2d", ndim, (3, 4), 2)
    if ndim == 3:
        import warnings

        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2)
    return _dropout_impl(input, p, training, inplace, feature=True, alpha=False)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs."""
    _check_p(p)
    ndim = input.dim()
    if ndim not in (4, 5):
        _warn_feature_dims("dropout3d", ndim, (4, 5), 3)
    if ndim != 5:
        return _unbatched_feature_dropout(input, p, training, inplace)
    return _dropout_impl(input, p, training, inplace, feature=True, alpha=False)


# -- one_hot, norms and distances -------------------------------------------------------------


def one_hot(tensor, num_classes=-1):
    """int64 (*, num_classes) with a 1 at each value of ``tensor``."""
    data = tensor._data
    if data.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = xp_of(data)
    if num_classes == -1:
        if data.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(data.max()) + 1
    if data.size:
        if int(data.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(data.max()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    out = (data[..., None] == xp.arange(num_classes)).astype(np.int64)
    return _make(out)


class _VectorNorm(Function):
    """p-norm over ``dims`` (keepdim); the gradient is 0 where the norm is 0, as in
    PyTorch, rather than 0/0."""

    _array_io = True
    _node_name = "LinalgVectorNormBackward0"  # what Tensor.norm records in PyTorch

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        xp = xp_of(x)
        magnitude = xp.abs(x)
        if p == math.inf:
            out = magnitude.max(axis=dims, keepdims=True)
        elif p == 2:
            out = xp.sqrt((magnitude * magnitude).sum(axis=dims, keepdims=True))
        elif p == 1:
            out = magnitude.sum(axis=dims, keepdims=True)
        elif p == 0:
            out = (magnitude != 0).sum(axis=dims, keepdims=True).astype(x.dtype)
        else:
            out = (magnitude ** p).sum(axis=dims, keepdims=True) ** (1.0 / p)
        ctx.meta = (p, dims, keepdim)
        ctx.save_for_backward(x, out)
        return out if keepdim else out.squeeze(axis=dims)

    @staticmethod
    def backward(ctx, grad):
        x, norm = ctx.saved_tensors
        p, dims, keepdim = ctx.meta
        if not keepdim:
            grad = grad.reshape(norm.shape)
        if p == 0:
            return grad * 0 * x, None, None, None
        if p == 1:
            return grad * x.sign(), None, None, None
        if p == math.inf:
            winners = (x.abs() == norm).to(x.dtype)
            count = winners.sum(dims, keepdim=True)
            return grad * x.sign() * winners / count, None, None, None
        safe = (norm == 0).to(x.dtype) + norm
        if p == 2:
            return grad * x / safe, None, None, None
        scaled = x * x.abs().pow(p - 2) / safe.pow(p - 1)
        return grad * scaled, None, None, None


class _PairwiseNorm(_VectorNorm):
    _node_name = "NormBackward1"  # pairwise_distance calls at::norm(diff, p, dim)


def _norm(x, p, dim, keepdim=False):
    ndim = x.dim()
    dims = tuple(sorted(wrap_dim(d, ndim) for d in
                        (dim if isinstance(dim, (tuple, list)) else (dim,))))
    return _VectorNorm.apply(x, float(p), dims, keepdim)


def _broadcast_shape(a, b):
    """The broadcast of two shapes, or PyTorch's RuntimeError naming the first clash."""
    ndim = max(len(a), len(b))
    a = (1,) * (ndim - len(a)) + tuple(a)
    b = (1,) * (ndim - len(b)) + tuple(b)
    shape = []
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                               f"({y}) at non-singleton dimension {i}")
        shape.append(y if x == 1 else x)
    return tuple(shape)


class _ClampMinNoGrad(Function):
    """``max(x, eps)`` with an identity gradient: PyTorch clamps these norms in place
    under no_grad, so the gradient flows as if unclamped."""

    _array_io = True
    _node_name = "CloneBackward0"  # PyTorch's graph sees only the clone it clamps

    @staticmethod
    def forward(ctx, x, eps):
        return xp_of(x).maximum(x, eps).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class _ClampMin(Function):
    """``max(x, eps)``; the gradient passes where x >= eps, as PyTorch's clamp_min."""

    _array_io = True
    _node_name = "ClampMinBackward0"

    @staticmethod
    def forward(ctx, x, eps):
        ctx.mask = x >= eps
        return xp_of(x).maximum(x, eps).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad * _make(ctx.mask.astype(grad._data.dtype)), None


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``input / max(||input||_p, eps)`` along ``dim``."""
    denom = _ClampMin.apply(_norm(input, p, dim, keepdim=True), eps)
    return input / denom.expand(*input.shape)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between x1 and x2 along ``dim`` (broadcasting)."""
    from .._ops.shape import expand

    shape = _broadcast_shape(x1.shape, x2.shape)
    if tuple(x1.shape) != shape:
        x1 = expand(x1, *shape)
    if tuple(x2.shape) != shape:
        x2 = expand(x2, *shape)
    n1 = _ClampMinNoGrad.apply(_norm(x1, 2, dim, keepdim=True), eps)
    n2 = _ClampMinNoGrad.apply(_norm(x2, 2, dim, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``||x1 - x2 + eps||_p`` over the last dimension."""
    out_dim = max(x1.dim(), x2.dim())
    _broadcast_shape(x1.shape, x2.shape)
    diff = AddScalar.apply(x1 - x2, eps)
    if out_dim == 0:
        return diff.abs()
    ndim = diff.dim()
    return _PairwiseNorm.apply(diff, float(p), (ndim - 1,), keepdim)
