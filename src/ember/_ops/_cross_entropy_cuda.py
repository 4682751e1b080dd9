"""The index-target losses' input gradient as one CUDA kernel (``ember._backend.kernels``).

Why: the array form (``_cross_entropy._IndexTargetLoss.backward``) is four launches on a
GPU for nll_loss (zeros, the target coefficients times the gradient, the subtraction and
the write at the targets) and six from logits (exp and the row products besides), and
every classification step runs it (cross_entropy is log_softmax then nll_loss). Here one
thread per (row, class) element writes ``base - (class == target ? g * coef : 0)`` with
``base`` 0 (nll) or ``exp(logp) * (g * coef)`` (from logits), the array path's
arithmetic in its order (``0 - x`` keeps +0.0 where a target is ignored). float32/float64,
2-D C-contiguous input and int64 targets without label smoothing; everything else takes
the array path.
"""

from __future__ import annotations

import numpy as np

from .._backend.kernels import elementwise, launch

_BACKWARD = """
const ptrdiff_t row = i / classes, col = i - row * classes;
const T scaled = g[per_row ? row : 0] * coef[row];
T value = from_logits ? exp(logp[i]) * scaled : (T)0;
if (col == index[row]) value -= scaled;
out = value;
"""


def index_target_backward(xp, logp, coef, index, g, from_logits):
    """The gradient of the loss with respect to its (N, C) input ``logp`` (log-probabilities,
    or logits whose log_softmax ``logp`` is, ``from_logits``), or None where the array
    path must run. ``coef``: each row's target coefficient (weight / total, zero where
    ignored); ``index``: the (safe) target classes; ``g``: the incoming gradient, one value
    (mean, sum) or one a row (none)."""
    dtype = logp.dtype
    if (xp is np or dtype not in (np.float32, np.float64) or logp.ndim != 2
            or not logp.flags.c_contiguous or index.dtype != np.int64
            or coef.dtype != dtype or g.dtype != dtype
            or not (g.size == 1 or g.flags.c_contiguous)):
        return None
    kernel = elementwise(xp, "ember_index_target_loss_backward",
                         "raw T logp, raw T coef, raw int64 index, raw T g, int64 classes, "
                         "bool per_row, bool from_logits", "T out", _BACKWARD)
    if kernel is None:
        return None
    out = xp.empty(logp.shape, dtype)
    if not launch(xp, kernel, logp, xp.ascontiguousarray(coef), index.reshape(-1), g,
                  np.int64(logp.shape[1]), np.bool_(g.size != 1), np.bool_(from_logits), out):
        return None
    return out
