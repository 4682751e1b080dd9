"""``F.gumbel_softmax``: a differentiable sample from a categorical distribution given by
logits (Jang et al., 2016), with the straight-through ``hard`` variant."""

from __future__ import annotations

import warnings

__all__ = ["gumbel_softmax"]


def gumbel_softmax(logits, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1):
    """``softmax((logits + g) / tau)`` with ``g`` standard Gumbel noise. With ``hard`` the
    result is the one-hot argmax in the forward and the soft sample's gradient in the
    backward (``y_hard - y_soft.detach() + y_soft``)."""
    from .. import empty_like, zeros_like

    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -empty_like(logits).exponential_().log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
