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

from .._ops._util import _make, type_name, wrap_dim, xp_of
from ..autograd.function import Function, same_float, saved_arrays
from ..autograd.grad_mode import no_grad

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
        out = x2 @ weight.T
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
            grad_x = grad2 @ weight
            if grad.ndim != 2:
                grad_x = grad_x.reshape(grad.shape[:-1] + (weight.shape[1],))
        if needs[1]:
            x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
            grad_w = grad2.T @ x2
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


# -- row gather / scatter (embedding) -----------------------------------------------------------


class _GatherRows(Function):
    """``table[index]`` for an integer index array of any shape."""

    _array_io = True

    @staticmethod
    def forward(ctx, table, index):
        ctx.meta = (index, table.shape[0])
        return table[index]

    @staticmethod
    def backward(ctx, grad):
        index, rows = ctx.meta
        return _ScatterAddRows.apply(grad, index, rows), None


class _ScatterAddRows(Function):
    """Rows of ``values`` summed into a zero table at ``index`` (the gather's adjoint)."""

    _array_io = True

    @staticmethod
    def forward(ctx, values, index, rows):
        ctx.index = index
        xp = xp_of(values)
        flat_index = index.reshape(-1)
        row_shape = values.shape[index.ndim:]
        table = xp.zeros((rows, *row_shape), dtype=values.dtype)
        xp.add.at(table, flat_index, values.reshape(-1, *row_shape))
        return table

    @staticmethod
    def backward(ctx, grad):
        return _GatherRows.apply(grad, ctx.index), None, None


class _EmbeddingFn(Function):
    """Gather whose weight gradient skips ``padding_idx`` and, with
    ``scale_grad_by_freq``, divides each row by its count in the batch."""

    _array_io = True
    _node_name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, weight, index, padding_idx, scale_grad_by_freq):
        ctx.meta = (index, weight.shape[0], padding_idx, scale_grad_by_freq)
        return weight[index]

    @staticmethod
    def backward(ctx, grad):
        index, rows, padding_idx, scale = ctx.meta
        xp = xp_of(index)
        row_scale = None
        if scale:
            counts = xp.bincount(index.reshape(-1), minlength=rows)
            row_scale = 1.0 / xp.maximum(counts, 1)
        if padding_idx is not None or row_scale is not None:
            weights = xp.ones(index.shape, dtype=grad._data.dtype)
            if padding_idx is not None:
                weights[index == padding_idx] = 0
            if row_scale is not None:
                weights = weights * row_scale[index].astype(weights.dtype)
            grad = grad * _make(weights.reshape(*index.shape, 1))
        return _ScatterAddRows.apply(grad, index, rows), None, None, None


def _check_indices(input, weight, op="embedding"):
    kind = input._data.dtype
    if kind != np.int64 and kind != np.int32:
        raise RuntimeError(
            f"Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got torch.{type_name(kind)}Tensor instead (while checking "
            f"arguments for {op})")
    index = input._data
    if index.size and (int(index.min()) < 0 or int(index.max()) >= weight.shape[0]):
        raise IndexError("index out of range in self")
    return index


def _renorm_rows_(weight, index, max_norm, norm_type):
    """Rows of ``weight`` used by ``index`` rescaled in place to norm <= max_norm, as
    PyTorch's embedding_renorm_ (not recorded by autograd)."""
    xp = xp_of(weight._data)
    rows = xp.unique(index.reshape(-1))
    selected = weight._data[rows]
    if norm_type == math.inf:
        norms = xp.abs(selected).max(axis=1)
    else:
        norms = (xp.abs(selected) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    over = norms > max_norm
    scale = (max_norm / (norms[over] + 1e-7)).astype(selected.dtype)
    weight._data[rows[over]] = selected[over] * scale[:, None]
    weight._vc[0] += 1


def _padding_index(padding_idx, num_embeddings):
    if padding_idx is None:
        return None
    if padding_idx > 0:
        if padding_idx >= num_embeddings:
            raise AssertionError("Padding_idx must be within num_embeddings")
    elif padding_idx < 0:
        if padding_idx < -num_embeddings:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx = num_embeddings + padding_idx
    return padding_idx


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` picked by the integer ``input``: (*) -> (*, embedding_dim)."""
    padding_idx = _padding_index(padding_idx, weight.shape[0])
    index = _check_indices(input, weight)
    if max_norm is not None:
        with no_grad():
            _renorm_rows_(weight, index, max_norm, norm_type)
    return _EmbeddingFn.apply(weight, index, padding_idx, scale_grad_by_freq)


def _bag_ids(input, offsets, include_last_offset):
    """Flatten the bags: (indices (N,), bag id of each index (N,), number of bags)."""
    xp = xp_of(input._data)
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences. However, found offsets "
                             f"of type {type(offsets)}")
        bags, length = input.shape
        return input._data.reshape(-1), xp.repeat(xp.arange(bags), length), bags
    if input.dim() != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.dim()}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if offsets.dim() != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    starts = offsets._data.astype(np.int64)
    bags = starts.shape[0] - 1 if include_last_offset else starts.shape[0]
    n = input.shape[0]
    if bags > 0 and starts[0] != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {int(starts[0])}")
    # bag id of position i = number of bag starts <= i, minus one
    ids = xp.searchsorted(starts[:bags], xp.arange(n), side="right") - 1
    if include_last_offset:
        ids = xp.where(xp.arange(n) < starts[-1], ids, bags)  # past the last offset: dropped
    return input._data, ids, bags


class _EmbeddingBag(Function):
    """Sums, means or maxes of bags of rows of ``weight`` in one node, as PyTorch's:
    rows are scatter-added straight into their bag (no (B, L, D) intermediate). ``ids``
    gives each index its bag; id ``bags`` collects what is dropped (padding_idx, indices
    past include_last_offset's last offset). Backward gathers the bag gradients back to
    the rows with Tensor ops, so double backward works."""

    _array_io = True
    _node_name = "EmbeddingBagBackward0"

    @staticmethod
    def forward(ctx, weight, per_sample_weights, index=None, ids=None, bags=0, mode="mean",
                scale_grad_by_freq=False):
        xp = xp_of(weight)
        rows = weight[index]
        if per_sample_weights is not None:
            rows = rows * per_sample_weights.reshape(-1, 1)
        scale = None
        if mode == "max":
            out, scale = _bag_max(xp, rows, ids, bags)
        else:
            out = xp.zeros((bags + 1, weight.shape[1]), dtype=rows.dtype)
            xp.add.at(out, ids, rows)
            out = out[:bags]
            if mode == "mean":
                share = 1 / xp.maximum(xp.bincount(ids, minlength=bags + 1), 1)
                share = share.astype(out.dtype).reshape(-1, 1)
                out *= share[:bags]
                scale = share[ids]
        ctx.meta = (index, ids, weight.shape[0], scale, scale_grad_by_freq)
        ctx.save_for_backward(weight if ctx.needs_input_grad[1] else None, per_sample_weights)
        return out

    @staticmethod
    def backward(ctx, grad):
        weight, per_sample_weights = ctx.saved_tensors
        index, ids, num_rows, scale, scale_grad_by_freq = ctx.meta
        grad_rows = _GatherRows.apply(_pad_rows(grad), ids)  # (N, D); dropped rows get 0
        if scale is not None:  # mean's 1 / bag size, or max's winner mask
            grad_rows = grad_rows * _make(scale)
        grad_weight = grad_psw = None
        if ctx.needs_input_grad[1]:
            grad_psw = (grad_rows * _GatherRows.apply(weight, index)).sum(1)
        if ctx.needs_input_grad[0]:
            if per_sample_weights is not None:
                grad_rows = grad_rows * per_sample_weights.reshape(-1, 1)
            if scale_grad_by_freq:
                xp = xp_of(index)
                counts = xp.bincount(index, minlength=num_rows)
                freq = (1 / xp.maximum(counts, 1))[index].astype(grad_rows._data.dtype)
                grad_rows = grad_rows * _make(freq.reshape(-1, 1))
            grad_weight = _ScatterAddRows.apply(grad_rows, index, num_rows)
        return grad_weight, grad_psw


def _bag_max(xp, values, ids, bags):
    """Per-bag, per-column max of ``values`` (N, D) (empty bags give 0) and the mask of
    the first winner of each (bag, column), which alone receives its gradient."""
    out = xp.full((bags + 1, values.shape[1]), -xp.inf, dtype=values.dtype)
    xp.maximum.at(out, ids, values)
    winners = values == out[ids]
    positions = xp.where(winners, xp.arange(values.shape[0])[:, None], values.shape[0])
    first = xp.full(out.shape, values.shape[0], dtype=positions.dtype)
    xp.minimum.at(first, ids, positions)
    mask = (positions == first[ids]) & winners
    out = out[:bags]
    out[xp.isneginf(out)] = 0
    return out, mask.astype(values.dtype)


def _pad_rows(grad):
    """grad with one extra zero row (the id of dropped indices)."""
    from .._ops.creation import zeros

    return _cat_rows(grad, zeros(1, grad.shape[1], dtype=grad.dtype, device=grad.device))


def _cat_rows(a, b):
    return _ScatterAddRows.apply(a, xp_of(a._data).arange(a.shape[0]), a.shape[0] + b.shape[0])


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """Sums, means or maxes of bags of embeddings, without materialising (B, L, D) for
    sum/mean: rows are scatter-added straight into their bag."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                "on GitHub.")
        if per_sample_weights.shape != input.shape:
            raise ValueError(
                f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, "
                f"then it must have the same shape as the input ({input.shape})")
    padding_idx = _padding_index(padding_idx, weight.shape[0])
    index, ids, bags = _bag_ids(input, offsets, include_last_offset)
    _check_indices(input, weight, "embedding_bag")
    if max_norm is not None:
        with no_grad():
            _renorm_rows_(weight, index, max_norm, norm_type)
    xp = xp_of(index)
    if padding_idx is not None:
        ids = xp.where(index == padding_idx, bags, ids)  # padding rows go to the dropped bag
    return _EmbeddingBag.apply(weight, per_sample_weights, index=index, ids=ids, bags=bags,
                               mode=mode, scale_grad_by_freq=scale_grad_by_freq)


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

    @staticmethod
    def forward(ctx, x, eps):
        return xp_of(x).maximum(x, eps).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class _ClampMin(Function):
    """``max(x, eps)``; the gradient passes where x >= eps, as PyTorch's clamp_min."""

    _array_io = True

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
    diff = x1 - x2 + eps
    if out_dim == 0:
        return diff.abs()
    return _norm(diff, p, out_dim - 1, keepdim)
