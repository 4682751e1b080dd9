"""Autocast for ops whose entry point is a Python function rather than one Function class.

``ember.amp`` keys its op lists on Function classes, consulted by ``Function.apply``. A
composite op (l1_loss, kl_div, avg_pool3d, addbmm, linalg.vecdot, ...) has no single class
for a list to name, and its parts would each be cast by their own rule (or refuse
bfloat16 before any Function runs, as the LAPACK-backed linalg and the FFT entry points
do), so such an op's entry point carries ``float32_in_autocast`` or
``lower_precision_in_autocast``: it runs the whole composition in that dtype with autocast
off for the device, as PyTorch runs a listed op. A module that holds many such entry
points names them once with ``autocast_entry_points(globals(), names)``; the name lists
below are PyTorch's CPU autocast lists (``torch/csrc/autograd/autocast_mode.cpp``) for the
functions ember implements in Python.
"""

from __future__ import annotations

import functools

import numpy as np

from .._backend import autocast_state
from .._backend.device import device_of
from .._backend.dtypes import from_numpy_dtype
from ._util import Tensor

# torch.linalg functions on the CPU float32 list (linalg_solve_ex, linalg_lu_factor,
# linalg_det, linalg_slogdet and linalg_solve_triangular are not on it: they refuse
# bfloat16 under autocast in PyTorch too).
FLOAT32_LINALG = (
    "inv", "inv_ex", "cholesky", "cholesky_ex", "svd", "svdvals", "qr", "solve", "eigh",
    "eigvalsh", "eig", "eigvals", "lstsq", "cond", "matrix_rank", "householder_product",
    "tensorinv", "tensorsolve",
)
# linalg.vecdot is on the lower-precision list (ember composes it from mul and sum);
# linalg.pinv is on neither (torch.pinverse is float32).
LOWER_PRECISION_LINALG = ("vecdot",)
# torch.* spellings on it (inverse, cholesky, svd and qr reach the linalg ones).
FLOAT32_TORCH_LINALG = (
    "pinverse", "cholesky_solve", "cholesky_inverse", "lu", "lu_solve", "triangular_solve", "geqrf",
    "orgqr", "ormqr",
)
# torch.fft: the c2c, r2c and c2r transforms of 1, 2 and n dims and hfft/ihfft (hfft2,
# hfftn, ihfft2 and ihfftn are not listed and refuse bfloat16 as outside autocast).
FLOAT32_FFT = (
    "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
    "rfftn", "irfftn", "hfft", "ihfft",
)


def _float32(dtype, tensors):
    return np.dtype(np.float32)


def _lower(dtype, tensors):
    return dtype


def _widest(dtype, tensors):
    # autocast's prioritize: float32 when any eligible (non-float64) input is, else the
    # autocast dtype; float64 inputs take no part and are not cast
    eligible = {t._data.dtype for t in tensors if t._data.dtype.kind in "fV"}
    eligible.discard(np.dtype(np.float64))
    return np.dtype(np.float32) if eligible - {dtype} else dtype


def _in_autocast(fn, target_of):
    """``fn`` with its eligible floating tensor arguments cast to ``target_of(autocast
    dtype)`` and autocast off for their device, when autocast is on there; otherwise ``fn``
    as is (one list read)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        active = autocast_state.ACTIVE[0]
        if active is None:
            return fn(*args, **kwargs)
        tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
        device = device_of(tensors[0]._data).type if tensors else "cpu"
        if device not in active:
            return fn(*args, **kwargs)
        target = target_of(active[device], tensors)

        def cast(value):
            # PyTorch casts only eligible tensors: floating, not float64 (is_eligible)
            if isinstance(value, Tensor):
                dtype = value._data.dtype
                if dtype.kind in "fV" and dtype != np.float64 and dtype != target:
                    return value.to(from_numpy_dtype(target))
            return value

        args = [cast(a) for a in args]
        kwargs = {k: cast(v) for k, v in kwargs.items()}
        autocast_state.ACTIVE[0] = {k: v for k, v in active.items() if k != device} or None
        try:
            return fn(*args, **kwargs)
        finally:
            autocast_state.ACTIVE[0] = active

    return wrapper


def float32_in_autocast(fn):
    """Run ``fn`` in float32 under autocast: an op on PyTorch's float32 list."""
    return _in_autocast(fn, _float32)


def lower_precision_in_autocast(fn):
    """Run ``fn`` in the autocast dtype (bfloat16, float16) under autocast: an op on
    PyTorch's lower-precision list that ember composes from several Functions."""
    return _in_autocast(fn, _lower)


def promote_in_autocast(fn):
    """Run ``fn`` with its floating tensors cast to the widest of their dtypes under
    autocast: an op on PyTorch's promote list (index_copy on cpu)."""
    return _in_autocast(fn, _widest)


def autocast_entry_points(namespace, names, wrap=float32_in_autocast):
    """Replace each function ``names`` lists in ``namespace`` (a module's globals) by its
    autocast wrapper: one line at the end of a module instead of a decorator per entry."""
    for name in names:
        function = namespace.get(name)
        if function is not None:
            namespace[name] = wrap(function)
