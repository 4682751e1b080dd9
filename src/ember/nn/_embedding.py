"""embedding and embedding_bag (``torch.nn.functional``), split from ``_functional.py``.

Rows are gathered by index; their gradient is a scatter-add back into the table (and the
scatter's gradient a gather), so double backward works. embedding_bag is one node, as
PyTorch's: rows go straight into their bag, with no (B, L, D) intermediate.
"""

from __future__ import annotations

import math

import numpy as np

from .._backend.cupy_gaps import ufunc_at
from .._ops._util import _make, outside, type_name, xp_of
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled, no_grad


# -- row gather / scatter (embedding) -----------------------------------------------------------


class _GatherRows(Function):
    """``table[index]`` for an integer index array of any shape."""

    _array_io = True
    _node_name = "EmbeddingBackward0"

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
    _node_name = "EmbeddingDenseBackwardBackward0"  # embedding's gradient, under create_graph

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
    if index.size and bool(outside(index, weight.shape[0]).any()):
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
    if sparse and weight.requires_grad and is_grad_enabled():
        from ..sparse._embedding import sparse_embedding

        return sparse_embedding(weight, index, padding_idx, scale_grad_by_freq)
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
    ufunc_at(xp, "maximum", out, ids, values)  # CuPy's own rounds float64 to float32
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
