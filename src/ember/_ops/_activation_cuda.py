"""ReLU's forward with its gradient mask as one CUDA kernel (``ember._backend.kernels``).

Why: under autograd the array form is three launches on a GPU (the clip, a compare and
its negation for the mask backward reads); here one thread writes both. Same values as
``activation.Relu``: ``x < 0 ? 0 : x`` keeps -0.0 and NaN as clip does, and the mask
passes the gradient where the output is not ``<= 0`` (NaN included), as PyTorch's.
float32/float64 only; NumPy and everything else take the array path.
"""

from __future__ import annotations

import numpy as np

from .._backend.kernels import elementwise, launch

_RELU = """
const T value = x < (T)0 ? (T)0 : x;
out = value;
keep = !(value <= (T)0);
"""


def relu_with_mask(xp, x):
    """(relu(x), gradient mask) by one kernel, or None where the array path must run."""
    if xp is np or x.dtype not in (np.float32, np.float64):
        return None
    kernel = elementwise(xp, "ember_relu_with_mask", "T x", "T out, bool keep", _RELU)
    if kernel is None:
        return None
    out, keep = xp.empty(x.shape, x.dtype), xp.empty(x.shape, np.bool_)
    if not launch(xp, kernel, x, out, keep):
        return None
    return out, keep
