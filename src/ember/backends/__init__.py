"""ember.backends: the flags PyTorch code sets (``cudnn.benchmark``, ``cuda.matmul.allow_tf32``,
``mps.is_available()``, ...).

ember has no cuDNN, MPS or oneDNN of its own: the flags are recorded so scripts that set
them run unchanged, and each ``is_available()`` answers truthfully for ember.
"""

from __future__ import annotations

from . import (
    cpu,
    cuda,
    cudnn,
    kleidiai,
    mha,
    mkl,
    mkldnn,
    mps,
    nnpack,
    openmp,
    opt_einsum,
    quantized,
)

__all__ = [
    "cpu", "cuda", "cudnn", "kleidiai", "mha", "mkl", "mkldnn", "mps", "nnpack", "openmp",
    "opt_einsum", "quantized",
]
