"""2-d max pooling with indices as one CUDA kernel (``ember._backend.kernels``).

Why: the array form (``pool._max_pool_arrays``) takes a running max over the kH * kW
window offsets and then finds each winner's offset with a compare and a masked copy per
offset plus a NaN check that synchronises: some twenty kernel launches and a host wait
per pooling layer, most of LeNet's pooling time on an H200. Here one thread per output
element scans its window in PyTorch's order (``val > max || isnan(val)``: the first
maximum wins, a NaN wins and the last NaN stays), so values and indices are PyTorch's.
float32/float64 only; everything else takes the array path (also what CPU tests run).
"""

from __future__ import annotations

import numpy as np

from .._backend.kernels import elementwise, launch
from ._util import xp_of

_MAX_POOL_2D = """
const long long ow = i % out_w;
const long long rest = i / out_w;
const long long oh = rest % out_h;
const long long plane = rest / out_h;
T best = (T)0;
long long best_at = -1;
for (long long a = 0; a < k_h; ++a) {
    const long long row = oh * s_h - p_h + a * d_h;
    if (row < 0 || row >= in_h) continue;
    for (long long b = 0; b < k_w; ++b) {
        const long long col = ow * s_w - p_w + b * d_w;
        if (col < 0 || col >= in_w) continue;
        const T value = x[(plane * in_h + row) * in_w + col];
        if (best_at < 0 || value > best || isnan(value)) {
            best = value;
            best_at = row * in_w + col;
        }
    }
}
out = best;
index = best_at;
"""

_PARAMS = ", ".join(f"int64 {name}" for name in (
    "in_h", "in_w", "out_h", "out_w", "k_h", "k_w", "s_h", "s_w", "p_h", "p_w", "d_h", "d_w"))


def max_pool2d(x, kernel, stride, padding, dilation, out):
    """(values, flat per-plane indices) of an (N, C, H, W) ``x`` by one kernel, or None
    where the array path must run (NumPy, other dtypes, a backend that cannot compile)."""
    xp = xp_of(x)
    if x.ndim != 4 or x.dtype not in (np.float32, np.float64):
        return None
    kernel_fn = elementwise(xp, "ember_max_pool2d_with_indices", "raw T x, " + _PARAMS,
                            "T out, int64 index", _MAX_POOL_2D)
    if kernel_fn is None:
        return None
    x = xp.ascontiguousarray(x)
    values = xp.empty(x.shape[:2] + tuple(out), dtype=x.dtype)
    index = xp.empty(values.shape, dtype=np.int64)
    sizes = (*x.shape[2:], *out, *kernel, *stride, *padding, *dilation)
    if not launch(xp, kernel_fn, x, *(np.int64(v) for v in sizes), values, index):
        return None
    return values, index
