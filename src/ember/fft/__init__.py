"""ember.fft: torch.fft's discrete Fourier transforms and their helpers.

The transforms live in the ops layer (``ember/_ops/_fft.py``, over three differentiable
primitives as PyTorch's in ``_fft_kernels.py``, run by ``scipy.fft``/``numpy.fft`` or
``cupy.fft``); the helpers here are factories (``fftfreq``, ``rfftfreq``) and compositions
of ``roll`` (``fftshift``, ``ifftshift``), so they need no backward of their own.
"""

from __future__ import annotations

import math

from .._backend import get_default_dtype, to_dtype
from .._ops._factory import _finish, _module_and_device
from .._ops._fft import (
    fft,
    fft2,
    fftn,
    hfft,
    hfft2,
    hfftn,
    ifft,
    ifft2,
    ifftn,
    ihfft,
    ihfft2,
    ihfftn,
    irfft,
    irfft2,
    irfftn,
    rfft,
    rfft2,
    rfftn,
)
from .._ops._select import write_out
from .._ops._util import type_name
from .._tensor import Tensor

__all__ = [
    "fft",
    "fft2",
    "fftfreq",
    "fftn",
    "fftshift",
    "hfft",
    "hfft2",
    "hfftn",
    "ifft",
    "ifft2",
    "ifftn",
    "ifftshift",
    "ihfft",
    "ihfft2",
    "ihfftn",
    "irfft",
    "irfft2",
    "irfftn",
    "rfft",
    "rfft2",
    "rfftfreq",
    "rfftn",
]


def _frequencies(fname, n, d, dtype, device, requires_grad, one_sided, out):
    if out is not None:  # out= decides what the call left open: dtype and device
        dtype = out.dtype if dtype is None else dtype
        device = out.device if device is None else device
    np_dtype = to_dtype(dtype).numpy_dtype if dtype is not None else get_default_dtype().np
    if np_dtype.kind not in "fc":
        raise RuntimeError(f"{fname} requires a floating point or complex dtype")
    if np_dtype.kind == "c":  # PyTorch accepts the dtype, then its arange refuses it
        raise NotImplementedError(
            f'"arange_cpu" not implemented for \'{type_name(np_dtype)}\'')
    # rfftfreq's length is n / 2 + 1 in C++ integer division (truncating toward zero)
    count = int(n / 2) + 1 if one_sided else n
    if count < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {count}: [{count}]")
    xp, _ = _module_and_device(device)
    if one_sided:
        samples = xp.arange(count, dtype=np_dtype)
    else:
        # 0, 1, ..., ceil(n/2) - 1, then -floor(n/2), ..., -1
        samples = xp.arange(n, dtype=np_dtype)
        samples[(n + 1) // 2:] -= n
    # PyTorch multiplies by 1/(n*d) in the result dtype, not divides: same rounding
    spacing = n * d
    scale = 1.0 / spacing if spacing else math.inf  # rfftfreq(0) is [nan], as PyTorch
    return write_out(_finish(samples * np_dtype.type(scale), requires_grad), out, fname)


def fftfreq(n: int, d: float = 1.0, *, out=None, dtype=None, layout=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """The sample frequencies of :func:`fft`'s bins for a signal of ``n`` samples spaced
    ``d`` apart, in cycles per unit of ``d``: ``[0, 1, ..., -2, -1] / (n * d)``.

    Example::

        >>> ember.fft.fftfreq(5)
        tensor([ 0.0000,  0.2000,  0.4000, -0.4000, -0.2000])
    """
    return _frequencies("fftfreq", n, d, dtype, device, requires_grad, False, out)


def rfftfreq(n: int, d: float = 1.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """The sample frequencies of :func:`rfft`'s ``n // 2 + 1`` bins:
    ``[0, 1, ..., n // 2] / (n * d)``."""
    return _frequencies("rfftfreq", n, d, dtype, device, requires_grad, True, out)


def _shift(input, dim, inverse):
    if dim is None:
        dims = list(range(input.dim()))
    elif isinstance(dim, int):
        dims = [dim]
    else:
        dims = list(dim)
    sizes = input.shape
    low, high = -max(input.dim(), 1), max(input.dim(), 1) - 1
    for d in dims:
        if not low <= d <= high:
            raise IndexError(f"Dimension out of range (expected to be in range of [{low}, "
                             f"{high}], but got {d})")
    shifts = [(sizes[d] + 1) // 2 if inverse else sizes[d] // 2 for d in dims]
    if not dims:  # roll's own complaint, as PyTorch (0-d input or dim=())
        raise RuntimeError("`shifts` required")
    return input.roll(shifts, dims)


def fftshift(input: Tensor, dim=None) -> Tensor:
    """Move the zero-frequency bin to the centre of each ``dim`` (default all): a roll
    by ``size // 2``, so ``fftshift(fftfreq(n))`` ascends."""
    return _shift(input, dim, False)


def ifftshift(input: Tensor, dim=None) -> Tensor:
    """Inverse of :func:`fftshift` (a roll by ``(size + 1) // 2``; differs for odd sizes)."""
    return _shift(input, dim, True)
