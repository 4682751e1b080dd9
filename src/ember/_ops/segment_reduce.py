"""``torch.segment_reduce``: reduce consecutive runs ("segments") of rows along one axis.

``lengths`` (or ``offsets``) has the data's leading dims plus one axis of segments:
segment ``s`` of batch ``b`` covers the next ``lengths[b, s]`` rows of ``data[b]`` along
``axis = lengths.dim() - 1``. Forward is one scatter per reduction (``ufunc.at``) over
the used rows, flattened to a (rows, features) matrix; backward routes each output
gradient to the rows of its segment with Tensor ops (index_select, index_add), so
double backward through the gradient path works.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ._util import Tensor, _make, type_name, xp_of

__all__ = ["segment_reduce"]

_REDUCTIONS = {"sum": "sum", "mean": "mean", "prod": "prod", "max": "max", "amax": "max",
               "min": "min", "amin": "min"}
_IDENTITY = {"sum": 0.0, "mean": 0.0, "prod": 1.0, "max": -np.inf, "min": np.inf}
_UFUNC = {"sum": np.add, "mean": np.add, "prod": np.multiply, "max": np.maximum,
          "min": np.minimum}


def _scatter(xp, kind, out, ids, values):
    """``out[ids[i]] (op)= values[i]`` for every i, repeated ids accumulating."""
    if xp is np:
        _UFUNC[kind].at(out, ids, values)
        return out
    host = out.get()  # CuPy has no ufunc.at for every op: reduce on the host
    _UFUNC[kind].at(host, ids.get(), values.get())
    return xp.asarray(host)


class SegmentReduce(Function):
    """data (B, N, R), segment ids and row indices of the used rows -> (B*S, R)."""

    _array_io = True

    @staticmethod
    def forward(ctx, data, kind, seg_ids, rows, lengths, segments, initial):
        xp = xp_of(data)
        values = data[rows]
        start = _IDENTITY[kind] if initial is None else initial
        out = xp.full((segments, data.shape[1]), start, dtype=data.dtype)
        out = _scatter(xp, kind, out, seg_ids, values)
        counts = lengths.astype(data.dtype)[:, None]
        if kind == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                out = out / counts
            if initial is not None:
                out = xp.where(counts == 0, xp.asarray(initial, dtype=data.dtype), out)
        ctx.kind, ctx.initial = kind, initial
        ctx.seg_ids, ctx.rows, ctx.counts, ctx.rows_total = seg_ids, rows, counts, data.shape[0]
        ctx.values, ctx.out = values, out
        return out

    @staticmethod
    def backward(ctx, grad):
        xp = xp_of(ctx.out)
        kind, seg_ids, values, out = ctx.kind, ctx.seg_ids, ctx.values, ctx.out
        ids = _make(seg_ids)
        picked = grad.index_select(0, ids)
        if kind == "mean":
            weight = 1.0 / ctx.counts[seg_ids]
        elif kind in ("max", "min"):
            hits = (values == out[seg_ids]).astype(values.dtype)
            ties = _scatter(xp, "sum", xp.zeros_like(out), seg_ids, hits)
            shared = ties[seg_ids]  # ties share the gradient evenly, as PyTorch's; none
            weight = hits / xp.where(shared > 0, shared, 1)  # when the initial value won
        elif kind == "prod":
            weight = _prod_weight(xp, ctx)
        else:
            weight = None
        contribution = picked if weight is None else picked * _make(weight)
        full = _make(xp.zeros((ctx.rows_total, out.shape[1]), dtype=out.dtype))
        return full.index_add(0, _make(ctx.rows), contribution), None, None, None, None, None, None


def _prod_weight(xp, ctx):
    """d out / d value: the product of the segment's other values (and the initial)."""
    values, seg_ids = ctx.values, ctx.seg_ids
    zero = values == 0
    nonzero = xp.where(zero, xp.ones_like(values), values)
    start = 1.0 if ctx.initial is None else ctx.initial
    partial = _scatter(xp, "prod", xp.full_like(ctx.out, start), seg_ids, nonzero)
    zeros = _scatter(xp, "sum", xp.zeros_like(ctx.out), seg_ids, zero.astype(values.dtype))
    others = partial[seg_ids] / nonzero  # right where the segment has no zero
    count = zeros[seg_ids]
    return xp.where(count == 0, others, xp.where(zero & (count == 1), partial[seg_ids], 0))


def _lengths_of(lengths, offsets):
    if lengths is not None:
        return lengths
    if offsets is None:
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined.")
    return offsets[..., 1:] - offsets[..., :-1]


def segment_reduce(data: Tensor, reduce: str, *, lengths: Tensor | None = None,
                   indices: Tensor | None = None, offsets: Tensor | None = None, axis: int = 0,
                   unsafe: bool = False, initial=None) -> Tensor:
    """Reduce segments of ``data`` along ``axis`` (``sum``, ``mean``, ``prod``, ``max`` /
    ``amax``, ``min`` / ``amin``); an empty segment gives ``initial`` (default: the
    reduction's identity; nan for mean).

    Example::

        >>> data = ember.tensor([[1., 2], [3, 4], [5, 6]])
        >>> ember.segment_reduce(data, "max", lengths=ember.tensor([2, 1]))
        tensor([[3., 4.],
                [5., 6.]])
    """
    if reduce not in _REDUCTIONS:
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    kind = _REDUCTIONS[reduce]
    from_offsets = lengths is None
    lengths = _lengths_of(lengths, offsets)
    if lengths._data.dtype.kind not in "iu":
        raise NotImplementedError('"_segment_reduce_lengths_cpu_kernel1" not implemented for '
                                  f"'{type_name(lengths._data.dtype)}'")
    if data._data.dtype.kind not in "fV":
        raise NotImplementedError(
            f"\"_segment_reduce_cpu\" not implemented for '{type_name(data._data.dtype)}'")
    if data.dim() < lengths.dim():
        raise RuntimeError("Expected data.dim() >= lengths_value.dim() to be true, but got "
                           "false.  (Could this error message be improved?  If so, please "
                           "report an enhancement request to PyTorch.)")
    axis = axis + data.dim() if axis < 0 else axis
    if axis != lengths.dim() - 1:
        raise RuntimeError("segment_reduce(): Expected axis to be the last dimension of "
                           f"lengths but got {axis}.")
    xp = xp_of(data._data)
    counts = lengths._data.astype(np.int64)
    if bool((counts < 0).any()):
        if from_offsets:
            raise RuntimeError("Expected segment_length >= 0 to be true, but got false.  "
                               "(Could this error message be improved?  If so, please report "
                               "an enhancement request to PyTorch.)")
        raise RuntimeError("lengths contains negative value!")
    rows_along = data.shape[axis]
    if not unsafe and bool((counts.sum(-1) != rows_along).any()):
        raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis to sum "
                           "to data.size(lengths.dim()-1) when !unsafe.")
    lead = data.shape[:axis]
    batch = int(np.prod(lead)) if lead else 1
    segments = counts.shape[-1]
    flat_counts = counts.reshape(batch, segments)
    used = flat_counts.sum(1)
    total = int(used.sum())
    seg_ids = xp.repeat(xp.arange(batch * segments), flat_counts.ravel())
    first = xp.cumsum(used) - used
    rows = (xp.repeat(xp.arange(batch) * rows_along, used) + xp.arange(total)
            - xp.repeat(first, used))
    features = int(np.prod(data.shape[axis + 1:]))
    matrix = data.reshape(batch * rows_along, features)
    out = SegmentReduce.apply(matrix, kind, seg_ids, rows, flat_counts.ravel(),
                              batch * segments, None if initial is None else float(initial))
    return out.reshape(*lead, segments, *data.shape[axis + 1:])
