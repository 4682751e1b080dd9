"""``histogram`` and ``histogramdd`` for the scientific family: counts (or summed
weights) of values in bins, PyTorch's binning (the last bin closed on the right, values
outside the range dropped) with NumPy's searchsorted and bincount. Not differentiable,
as PyTorch's."""

from __future__ import annotations

import builtins

import numpy as np

from . import creation as _creation
from ._select import RETURN_TYPES
from ._util import Tensor, _make, type_name, xp_of

__all__ = ["histogram", "histogramdd"]


def _histogram_edges(input, bins, range, name, dim=0):
    if isinstance(bins, Tensor):
        return bins.detach()
    if bins <= 0:
        raise RuntimeError(f"{name}(): bins must be > 0, but got {bins} for dimension {dim}")
    if range is not None:
        low, high = float(range[0]), float(range[1])
    elif input.numel():
        low, high = input.min().item(), input.max().item()
    else:
        low, high = 0.0, 1.0  # PyTorch's range for no data
    if low > high:
        raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min "
                           f"{low:g} max {high:g} for dimension {dim}")
    if low == high:
        low, high = low - 0.5, high + 0.5
    return _creation.linspace(low, high, bins + 1, dtype=input.dtype, device=input.device)


def histogram(input, bins=100, *, range=None, weight=None, density=False):
    """Counts (or summed weights) of ``input`` in ``bins`` equal bins over ``range`` (the
    data's min/max by default) or between the given edges; the last bin includes its right
    edge and values outside are dropped. Returns ``(hist, bin_edges)``."""
    if not input.is_floating_point():
        raise NotImplementedError(
            f"\"histogramdd\" not implemented for '{type_name(input._data.dtype)}'")
    edges = _histogram_edges(input, bins, range, "torch.histogram")
    xp = xp_of(input._data)
    values = input._data.reshape(-1)
    edge_values = edges._data
    count = edge_values.size - 1
    index = xp.searchsorted(edge_values, values, side="right") - 1
    index = xp.where(values == edge_values[-1], count - 1, index)
    inside = (values >= edge_values[0]) & (values <= edge_values[-1])
    w = weight._data.reshape(-1) if weight is not None else None
    hist = xp.bincount(index[inside], weights=None if w is None else w[inside],
                       minlength=count).astype(input._data.dtype)
    if density:
        widths = xp.diff(edge_values)
        total = hist.sum()
        hist = hist / (total * widths) if total else hist / widths * 0
        hist = hist.astype(input._data.dtype)
    return RETURN_TYPES["histogram"](_make(hist), _make(edge_values.copy()))


def histogramdd(input, bins=10, *, range=None, weight=None, density=False):
    """The multi-dimensional histogram of the (N, D) points in ``input``: ``bins`` is a
    count per dim (or one for all) or a list of edge tensors; ``range`` is (lo, hi) per
    dim flattened. Returns ``(hist, [edges per dim])``."""
    if not input.is_floating_point():
        raise NotImplementedError(
            f"\"histogramdd\" not implemented for '{type_name(input._data.dtype)}'")
    points = input.reshape(-1, input.shape[-1])
    dims = points.shape[1]
    if isinstance(bins, int):
        bins = [bins] * dims
    xp = xp_of(input._data)
    all_edges = []
    flat_index = xp.zeros(points.shape[0], dtype=np.int64)
    inside = xp.ones(points.shape[0], dtype=bool)
    shape = []
    for d in builtins.range(dims):
        column = points[:, d]
        span = None if range is None else (range[2 * d], range[2 * d + 1])
        edges = _histogram_edges(column, bins[d], span, "torch.histogramdd", d)
        edge_values = edges._data
        count = edge_values.size - 1
        values = column._data
        index = xp.searchsorted(edge_values, values, side="right") - 1
        index = xp.where(values == edge_values[-1], count - 1, index)
        inside &= (values >= edge_values[0]) & (values <= edge_values[-1])
        flat_index = flat_index * count + xp.clip(index, 0, count - 1)
        shape.append(count)
        all_edges.append(_make(edge_values.copy()))
    w = weight._data.reshape(-1) if weight is not None else None
    total_bins = int(np.prod(shape))
    hist = xp.bincount(flat_index[inside], weights=None if w is None else w[inside],
                       minlength=total_bins).astype(input._data.dtype).reshape(shape)
    if density:
        volume = xp.ones(shape, dtype=input._data.dtype)
        for d, edges in enumerate(all_edges):
            widths = xp.diff(edges._data).reshape([-1 if i == d else 1 for i in
                                                   builtins.range(dims)])
            volume = volume * widths
        total = hist.sum()
        hist = (hist / (total * volume)).astype(input._data.dtype)
    return RETURN_TYPES["histogramdd"](_make(hist), tuple(all_edges))
