"""Shared math of weight and spectral normalisation (both API generations use it)."""

from __future__ import annotations

from ..._ops._util import xp_of
from .._functional import _norm


def norm_except_dim(v, pow=2, dim=0):
    """Norm over every dim but ``dim`` (kept as size-1 dims); ``dim=-1``: the whole
    tensor's norm, as PyTorch's norm_except_dim."""
    if dim == -1:
        return _norm(v, pow, tuple(range(v.dim())), keepdim=False)
    others = tuple(d for d in range(v.dim()) if d != dim)
    if not others:
        return v.abs() if pow != 0 else v
    return _norm(v, pow, others, keepdim=True)


def weight_norm_compute(v, g, dim):
    """``v * (g / ||v||)`` with the norm taken as norm_except_dim(v, 2, dim)."""
    return v * (g / norm_except_dim(v, 2, dim))


def reshape_weight_to_matrix(weight, dim):
    if dim != 0:
        weight = weight.permute(dim, *[d for d in range(weight.dim()) if d != dim])
    return weight.reshape(weight.shape[0], -1)


def normalize_into(buffer, array, eps):
    """``F.normalize(array, dim=0, eps=eps, out=buffer)`` on arrays, in place."""
    xp = xp_of(array)
    norm = xp.sqrt((array * array).sum())
    buffer._data[...] = array / xp.maximum(norm, eps)
    buffer._vc[0] += 1
