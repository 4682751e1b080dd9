"""Whether ember is capturing a CUDA graph (``ember.cuda.CUDAGraph.capture_begin`` to
``capture_end``), for code below the cuda layer that must refuse to be captured, such as
optimizers that keep their step count on the host (a captured step would replay the same
bias correction forever), or take another road while capturing (``matmul``)."""

from __future__ import annotations

import numpy as np

ACTIVE = [0]  # captures in progress


def matmul(a, b):
    """``a @ b`` that a capture can record. CuPy refuses every cuBLAS call while a stream
    captures ("calling cuBLAS API during stream capture is currently unsupported"), so
    during a capture a floating-point product of CuPy arrays is a broadcast multiply and a
    sum over the shared dimension: elementwise and reduction kernels, which capture (and
    replay) like any other. It holds the (..., m, k, n) products at once, fine for the
    small static shapes graphs are made of; half precision sums in float32, as cuBLAS."""
    if not ACTIVE[0] or type(a) is np.ndarray or a.dtype.kind not in "fc":
        return a @ b
    vector_a, vector_b = a.ndim == 1, b.ndim == 1
    if vector_a:
        a = a[None, :]
    if vector_b:
        b = b[:, None]
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
