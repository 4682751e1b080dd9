"""Compiled elementwise kernels (``cupy.ElementwiseKernel``) for the places where a GPU
step was launch-bound, each with an array-op path that computes the same values.

``elementwise`` builds (once per backend and name) a kernel, or returns None on NumPy
and backends without kernels (meta);
``launch`` runs it and returns False where the backend cannot compile (a CuPy without
NVRTC, the CuPy test double without g++), after which that backend is not asked again
and every caller takes its array path. So NumPy runs the array path, and cuda runs the
kernel: on a GPU through NVRTC, in CI through the double, which builds the CUDA C++ body
with g++ and runs it on the CPU (tests/cuda_sim/fake_cupy_kernels.py).

The kernels: the LSTM and GRU time steps and the LSTM backward's factors
(``_rnn_cuda``), dropout (``_dropout``, ``random``), 2-d max pooling (``_pool_cuda``),
matmul under graph capture (``graph_capture``), layer norm (``_norm_cuda``),
softmax/log_softmax rows (``_softmax_cuda``), ReLU with its mask (``_activation_cuda``),
nll_loss/cross_entropy rows and input gradient (``_cross_entropy_cuda``), Adam/SGD
updates (``optim/_fused_cuda``) and the multi-tensor kernels (``multi_tensor``: the
optimizers' flat gather and scatter, gradient clipping, GradScaler's unscale).
"""

from __future__ import annotations

import warnings

import numpy as np

_KERNELS: dict = {}  # (id(xp), name) -> compiled kernel
_CANNOT_COMPILE: set = set()  # id(xp) of backends whose first launch raised
_FAILED: set = set()  # (id(xp), name) of kernels whose source the compiler refused


def elementwise(xp, name, in_params, out_params, operation, preamble=""):
    """The kernel ``name`` for backend ``xp`` (None on NumPy or a backend that cannot
    compile)."""
    if xp is np or id(xp) in _CANNOT_COMPILE:
        return None
    key = (id(xp), name)
    if key in _FAILED:
        return None
    kernel = _KERNELS.get(key)
    if kernel is None:
        factory = getattr(xp, "ElementwiseKernel", None)  # the meta backend has none
        if factory is None:
            _CANNOT_COMPILE.add(id(xp))
            return None
        kernel = _KERNELS[key] = factory(in_params, out_params, operation, name,
                                         preamble=preamble)
    return kernel


def launch(xp, kernel, *args, **kwargs) -> bool:
    """Run ``kernel``; False, having written nothing, where the backend cannot compile, or
    where its compiler refuses this kernel's source (``CompileException``, CuPy's and the
    double's): then a warning names the kernel, and that kernel is not tried again, so an
    op whose kernel a GPU's NVRTC rejects still runs, by its array path."""
    if kernel is None:
        return False
    try:
        kernel(*args, **kwargs)
    except NotImplementedError:
        _CANNOT_COMPILE.add(id(xp))
        return False
    except Exception as error:
        if type(error).__name__ != "CompileException":
            raise
        name = getattr(kernel, "name", "?")
        _FAILED.add((id(xp), name))
        warnings.warn(f"ember: the compiler refused the CUDA kernel {name!r}; its op runs "
                      f"by array operations instead ({str(error).splitlines()[0]})",
                      RuntimeWarning, stacklevel=2)
        return False
    return True
