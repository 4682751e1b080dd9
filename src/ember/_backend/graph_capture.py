"""Whether ember is capturing a CUDA graph (``ember.cuda.CUDAGraph.capture_begin`` to
``capture_end``), for code below the cuda layer that must refuse to be captured, such as
optimizers that keep their step count on the host (a captured step would replay the same
bias correction forever), or take another road while capturing (``matmul``)."""

from __future__ import annotations

import numpy as np

ACTIVE = [0]  # captures in progress


_MATMUL = """
const long long col = i % n_cols;
const long long rest = i / n_cols;
const long long row = rest % n_rows;
const long long batch = rest / n_rows;
T total = 0;
for (long long k = 0; k < inner; ++k) {
    total += a[(batch * n_rows + row) * inner + k] * b[(batch * inner + k) * n_cols + col];
}
out = total;
"""


def matmul(a, b):
    """``a @ b`` that a capture can record. CuPy refuses every cuBLAS call while a stream
    captures ("calling cuBLAS API during stream capture is currently unsupported"), so
    during a capture a floating-point product of CuPy arrays is one compiled kernel, a
    thread per output element summing over the shared dimension (slower than cuBLAS, but
    it captures and replays like any other kernel, in no extra memory). Where the backend
    cannot compile (the CuPy double) it is a broadcast multiply and a sum, which holds the
    (..., m, k, n) products at once. Half precision sums in float32, as cuBLAS."""
    if not ACTIVE[0] or type(a) is np.ndarray or a.dtype.kind not in "fc":
        return a @ b
    vector_a, vector_b = a.ndim == 1, b.ndim == 1
    if vector_a:
        a = a[None, :]
    if vector_b:
        b = b[:, None]
    out = _kernel_matmul(a, b)
    if out is None:
        products = a[..., :, :, None] * b[..., None, :, :]
        if products.dtype.itemsize < 4:
            out = products.sum(axis=-2, dtype=np.float32).astype(products.dtype)
        else:
            out = products.sum(axis=-2)
    if vector_b:
        out = out[..., 0]
    if vector_a:
        out = out[..., 0] if vector_b else out[..., 0, :]
    return out


def _kernel_matmul(a, b):
    """(..., m, k) @ (..., k, n) by ``_MATMUL``, batch dims broadcast; None where the
    backend cannot compile."""
    from .kernels import elementwise, launch
    from .device import array_module

    xp = array_module(a)
    kernel = elementwise(xp, "ember_capture_matmul", "raw T a, raw T b, int64 n_rows, "
                         "int64 inner, int64 n_cols", "T out", _MATMUL)
    if kernel is None:
        return None
    dtype = np.result_type(a.dtype, b.dtype)
    work = np.dtype(np.float32) if dtype.itemsize < 4 else dtype
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    (m, k), n = a.shape[-2:], b.shape[-1]
    a3 = xp.ascontiguousarray(xp.broadcast_to(a, batch + (m, k)).astype(work, copy=False))
    b3 = xp.ascontiguousarray(xp.broadcast_to(b, batch + (k, n)).astype(work, copy=False))
    out = xp.empty(batch + (m, n), dtype=work)
    if not launch(xp, kernel, a3, b3, np.int64(m), np.int64(k), np.int64(n), out):
        return None
    return out.astype(dtype, copy=False)
