"""softmax / log_softmax along one dim as one CUDA kernel each way
(``ember._backend.kernels``).

Why: the array form (``_softmax._softmax_array`` and friends) is a max, a subtraction, an
exponential, a sum and a division or logarithm: five or six launches forward and three
or four backward on a GPU, for every attention softmax and every cross entropy. Here one
thread per row (the elements sharing all indices but ``dim``) makes the row's passes,
with the array path's formulas in its order: ``exp(x - max) / sum`` and
``(x - max) - log(sum)`` forward (a NaN max propagates, as CuPy's max does; rows of
-inf only give zeros in ``_safe_softmax``'s form), and
``g * out - out * sum(g * out)`` and ``g - exp(out) * sum(g)`` backward.

Rows longer than ``MAX_ROW`` take the array path (a CuPy reduction parallelises within a
row), as do NumPy, dtypes other than float32/float64 (half precision reaches here as
float32) and a backend that cannot compile.
"""

from __future__ import annotations

import math

import numpy as np

from .._backend.kernels import elementwise, launch
from ._util import xp_of

MAX_ROW = 4096

_ROW = """
const ptrdiff_t outer = i / inner, j = i - outer * inner;
const ptrdiff_t base = outer * classes * inner + j;
"""

_FORWARD = _ROW + """
T peak = x[base];
for (ptrdiff_t c = 1; c < classes; ++c) {
    const T v = x[base + c * inner];
    if (v > peak || v != v) peak = v;
    if (peak != peak) break;
}
T total = 0;
for (ptrdiff_t c = 0; c < classes; ++c) total += exp(x[base + c * inner] - peak);
if (safe && isinf(peak) && peak < (T)0) {  // a row of -inf only: zeros (_safe_softmax)
    for (ptrdiff_t c = 0; c < classes; ++c) out[base + c * inner] = (T)0;
} else if (log_form) {
    const T log_total = log(total);
    for (ptrdiff_t c = 0; c < classes; ++c)
        out[base + c * inner] = (x[base + c * inner] - peak) - log_total;
} else {
    for (ptrdiff_t c = 0; c < classes; ++c)
        out[base + c * inner] = exp(x[base + c * inner] - peak) / total;
}
"""

_BACKWARD = _ROW + """
T total = 0;
for (ptrdiff_t c = 0; c < classes; ++c) {
    const ptrdiff_t k = base + c * inner;
    total += log_form ? grad[k] : grad[k] * out[k];
}
for (ptrdiff_t c = 0; c < classes; ++c) {
    const ptrdiff_t k = base + c * inner;
    grad_x[k] = log_form ? grad[k] - exp(out[k]) * total
                         : grad[k] * out[k] - out[k] * total;
}
"""


def _layout(array, dim):
    """(rows, classes, inner) for a kernel over ``array`` along ``dim``, or None."""
    if xp_of(array) is np or array.dtype not in (np.float32, np.float64) or not array.ndim:
        return None
    classes = array.shape[dim]
    if not 0 < classes <= MAX_ROW or not array.size:
        return None
    inner = math.prod(array.shape[dim + 1:])
    return array.size // classes, classes, inner


def forward(x, dim, log, safe=False):
    """softmax (log_softmax with ``log``) of ``x`` along ``dim``, C-contiguous, by one
    kernel; with ``safe``, rows of -inf only give zeros (PyTorch's ``_safe_softmax``).
    None where the array path must run."""
    dim = dim % x.ndim if x.ndim else dim
    layout = _layout(x, dim)
    if layout is None:
        return None
    xp = xp_of(x)
    kernel = elementwise(xp, "ember_softmax_rows", "raw T x, int64 classes, int64 inner, "
                         "bool log_form, bool safe", "raw T out", _FORWARD)
    if kernel is None:
        return None
    rows, classes, inner = layout
    x = xp.ascontiguousarray(x)
    out = xp.empty(x.shape, x.dtype)
    if not launch(xp, kernel, x, np.int64(classes), np.int64(inner), np.bool_(log),
                  np.bool_(safe), out, size=rows):
        return None
    return out


def backward(grad, out, dim, log):
    """The input gradient of softmax (log_softmax with ``log``) from the upstream ``grad``
    and the forward's ``out``, by one kernel; None where the array path must run."""
    dim = dim % out.ndim if out.ndim else dim
    layout = _layout(out, dim)
    if layout is None or grad.dtype != out.dtype or grad.shape != out.shape:
        return None
    xp = xp_of(out)
    kernel = elementwise(xp, "ember_softmax_rows_backward", "raw T grad, raw T out, "
                         "int64 classes, int64 inner, bool log_form", "raw T grad_x", _BACKWARD)
    if kernel is None:
        return None
    rows, classes, inner = layout
    grad, out = xp.ascontiguousarray(grad), xp.ascontiguousarray(out)
    grad_x = xp.empty(out.shape, out.dtype)
    if not launch(xp, kernel, grad, out, np.int64(classes), np.int64(inner), np.bool_(log),
                  grad_x, size=rows):
        return None
    return grad_x
