"""The index-target losses' forward rows and input gradient as one CUDA kernel each
(``ember._backend.kernels``).

Why: every classification step runs both, and their array forms are many launches on a
GPU: the forward a dozen (the keep mask, the safe targets, the bounds check's compare, the
weights' gather, the flat positions, the take and the products), where one thread a row
computes the same; the backward (``_cross_entropy._IndexTargetLoss.backward``) four for
nll_loss (zeros, the target coefficients times the gradient, the subtraction and the
write at the targets) and six from logits (exp and the row products besides), where one
thread per (row, class) element writes ``base - (class == target ? g * coef : 0)`` with
``base`` 0 (nll) or ``exp(logp) * (g * coef)`` (from logits). Both keep the array path's
arithmetic in its order (``0 - x`` keeps +0.0 where a target is ignored). float32/
float64, 2-D C-contiguous input and int64 targets without label smoothing; everything
else takes the array path.
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


_FORWARD = """
const long long t = target[i];
const bool keep = t != ignore_index;
const long long s = keep ? t : 0;
safe = s;
bad = keep && (t < 0 || t >= classes);
const long long c = bad ? 0 : s;
const T w = has_weight ? weight[c] * (T)keep : (T)keep;
w_target = w;
loss = -w * logp[i * classes + c];
"""


def index_target_forward(xp, logp, target, weight, ignore_index):
    """(safe targets, target weights, per-row losses, out-of-bounds mask) for the (N, C)
    log-probabilities ``logp``, the array path's ``where``/``weight[safe] * keep``/
    ``-w * picked`` (a row out of bounds reads class 0; the caller raises), or None where
    the array path must run."""
    dtype = logp.dtype
    if (xp is np or dtype not in (np.float32, np.float64) or logp.ndim != 2
            or not logp.flags.c_contiguous or not logp.shape[1]
            or target.dtype != np.int64 or target.ndim != 1
            or (weight is not None and (weight.dtype != dtype or weight.ndim != 1))):
        return None
    kernel = elementwise(xp, "ember_index_target_loss_forward",
                         "raw T logp, raw int64 target, raw T weight, int64 classes, "
                         "int64 ignore_index, bool has_weight",
                         "int64 safe, T w_target, T loss, bool bad", _FORWARD)
    if kernel is None:
        return None
    rows = target.shape[0]
    safe, w_target = xp.empty(rows, np.int64), xp.empty(rows, dtype)
    loss, bad = xp.empty(rows, dtype), xp.empty(rows, np.bool_)
    has_weight = weight is not None
    if not launch(xp, kernel, logp, xp.ascontiguousarray(target),
                  xp.ascontiguousarray(weight) if has_weight else logp,
                  np.int64(logp.shape[1]), np.int64(ignore_index), np.bool_(has_weight),
                  safe, w_target, loss, bad):
        return None
    return safe, w_target, loss, bad


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
