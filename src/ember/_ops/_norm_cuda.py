"""Layer norm over rows as a few CUDA kernels (``ember._backend.kernels``).

Why: the array form (``_norm_rows._layer_norm_forward_arrays`` / ``_backward_arrays``) is a
dozen array ops forward and about twenty backward, one kernel launch each on a GPU, and a
TransformerEncoder step there is host-bound on launches (scripts/gpu_launches.py).
Here the forward is two launches (per-row statistics, then the normalised elements) and
the backward five (per-row sums, the input gradient, per-chunk column sums for the weight
and bias gradients, and one sum for each). The arithmetic is the array path's, in the same
order, with the row sums taken left to right instead of pairwise, so results agree to
rounding.

A row's statistics are one thread's loop over the row, which is cheap for the rows a
layer norm usually has; rows longer than ``MAX_ROW`` take the array path (a CuPy
reduction parallelises within a row). float32/float64 only, with weight and bias of the
input's dtype; everything else (and NumPy, and a backend that cannot compile) takes the
array path.
"""

from __future__ import annotations

import numpy as np

from .._backend.kernels import elementwise, launch
from ._util import xp_of

MAX_ROW = 4096
_CHUNK = 32  # rows per thread in the weight/bias gradient's partial sums

_ROW_STATS = """
const ptrdiff_t start = i * count;
T total = 0;
for (ptrdiff_t k = 0; k < count; ++k) total += x[start + k];
const T m = total / (T)count;
T squares = 0;
for (ptrdiff_t k = 0; k < count; ++k) {
    const T d = x[start + k] - m;
    squares += d * d;
}
const T v = squares / (T)count;
mean[i] = m;
var[i] = v;
invstd[i] = (T)1 / sqrt(v + (T)eps);
"""

_NORMALIZE = """
const ptrdiff_t row = i / count, col = i - row * count;
T value = x - mean[row];
value *= invstd[row];
if (affine & 1) value *= weight[col];
if (affine & 2) value += bias[col];
out = value;
"""

_BACKWARD_ROWS = """
const ptrdiff_t start = i * count;
const T m = mean[i], s = invstd[i];
T total = 0, projected = 0;
for (ptrdiff_t k = 0; k < count; ++k) {
    const T g = has_weight ? grad[start + k] * weight[k] : grad[start + k];
    total += g;
    projected += g * ((x[start + k] - m) * s);
}
row_mean[i] = total / (T)count;
projection[i] = projected / (T)count;
"""

_BACKWARD_INPUT = """
const ptrdiff_t row = i / count, col = i - row * count;
T g = has_weight ? grad * weight[col] : grad;
T xhat = (x - mean[row]) * invstd[row];
xhat *= projection[row];
g -= xhat;
g -= row_mean[row];
grad_x = g * invstd[row];
"""

_BACKWARD_PARAMS = """
const ptrdiff_t chunk = i / count, col = i - chunk * count;
const ptrdiff_t first = chunk * chunk_rows;
const ptrdiff_t last = first + chunk_rows < rows ? first + chunk_rows : rows;
T weight_sum = 0, bias_sum = 0;
for (ptrdiff_t r = first; r < last; ++r) {
    const T g = grad[r * count + col];
    weight_sum += g * ((x[r * count + col] - mean[r]) * invstd[r]);
    bias_sum += g;
}
partial[chunk * 2 * count + col] = weight_sum;
partial[(chunk * 2 + 1) * count + col] = bias_sum;
"""


def _usable(x2, *params):
    return (x2.dtype in (np.float32, np.float64) and 0 < x2.shape[1] <= MAX_ROW
            and x2.shape[0] > 0 and all(p is None or p.dtype == x2.dtype for p in params))


def forward(x2, weight, bias, eps):
    """(out, mean, var, invstd) of layer norm over the rows of an (R, K) array (weight and
    bias flat (K,) arrays or None), or None where the array path must run."""
    xp = xp_of(x2)
    if not _usable(x2, weight, bias):
        return None
    stats = elementwise(xp, "ember_layer_norm_row_stats", "raw T x, int64 count, float64 eps",
                        "raw T mean, raw T var, raw T invstd", _ROW_STATS)
    normalize = elementwise(xp, "ember_layer_norm_normalize",
                            "T x, raw T mean, raw T invstd, raw T weight, raw T bias, "
                            "int64 count, int32 affine", "T out", _NORMALIZE)
    if stats is None or normalize is None:
        return None
    rows, count = x2.shape
    # raw parameters are indexed by their flat C-order index: hand the kernels contiguous
    # arrays (a no-op for the usual inputs) rather than rely on strided raw indexing
    x2 = xp.ascontiguousarray(x2)
    weight = None if weight is None else xp.ascontiguousarray(weight)
    bias = None if bias is None else xp.ascontiguousarray(bias)
    mean, var, invstd = (xp.empty(rows, x2.dtype) for _ in range(3))
    if not launch(xp, stats, x2, np.int64(count), np.float64(eps), mean, var, invstd,
                  size=rows):
        return None
    affine = (weight is not None) | (bias is not None) << 1
    out = xp.empty(x2.shape, x2.dtype)
    launch(xp, normalize, x2, mean, invstd, x2 if weight is None else weight,
           x2 if bias is None else bias, np.int64(count), np.int32(affine), out)
    return out, mean, var, invstd


def backward(grad2, x2, mean, invstd, weight, needs):
    """(grad_x, grad_weight, grad_bias) arrays of layer norm over (R, K) rows, each None
    where ``needs`` (input, weight, bias) says so; or None where the array path must run."""
    xp = xp_of(x2)
    if not _usable(x2, grad2, weight, mean, invstd):
        return None
    rows, count = x2.shape
    grad2, x2 = xp.ascontiguousarray(grad2), xp.ascontiguousarray(x2)  # see forward
    weight = None if weight is None else xp.ascontiguousarray(weight)
    has_weight = np.int32(weight is not None)
    weight_arg = x2 if weight is None else weight
    grad_x = grad_weight = grad_bias = None
    if needs[0]:
        row_sums = elementwise(xp, "ember_layer_norm_backward_rows",
                               "raw T grad, raw T x, raw T mean, raw T invstd, raw T weight, "
                               "int64 count, int32 has_weight", "raw T row_mean, raw T projection",
                               _BACKWARD_ROWS)
        input_grad = elementwise(xp, "ember_layer_norm_backward_input",
                                 "T grad, T x, raw T mean, raw T invstd, raw T weight, "
                                 "raw T row_mean, raw T projection, int64 count, int32 has_weight",
                                 "T grad_x", _BACKWARD_INPUT)
        if row_sums is None or input_grad is None:
            return None
        row_mean, projection = xp.empty(rows, x2.dtype), xp.empty(rows, x2.dtype)
        if not launch(xp, row_sums, grad2, x2, mean, invstd, weight_arg, np.int64(count),
                      has_weight, row_mean, projection, size=rows):
            return None
        grad_x = xp.empty(x2.shape, x2.dtype)
        launch(xp, input_grad, grad2, x2, mean, invstd, weight_arg, row_mean, projection,
               np.int64(count), has_weight, grad_x)
    if needs[1] or needs[2]:
        params = elementwise(xp, "ember_layer_norm_backward_params",
                             "raw T grad, raw T x, raw T mean, raw T invstd, int64 rows, "
                             "int64 count, int64 chunk_rows", "raw T partial", _BACKWARD_PARAMS)
        if params is None:
            return None
        chunks = -(-rows // _CHUNK)
        partial = xp.empty((chunks, 2, count), x2.dtype)
        if not launch(xp, params, grad2, x2, mean, invstd, np.int64(rows), np.int64(count),
                      np.int64(_CHUNK), partial, size=chunks * count):
            return None
        # one reduction each: a fresh array per gradient, which the engine adopts as .grad
        # (rows of one array would be copied there)
        grad_weight = partial[:, 0].sum(axis=0) if needs[1] else None
        grad_bias = partial[:, 1].sum(axis=0) if needs[2] else None
    return grad_x, grad_weight, grad_bias
