"""The three FFT primitives behind ember.fft (PyTorch's ATen kernels) and their adjoints.

PyTorch routes every public transform through three ATen kernels: ``_fft_c2c`` (complex to
complex), ``_fft_r2c`` (real to complex, optionally one-sided) and ``_fft_c2r`` (one-sided
Hermitian to real). ember does the same with ``FftC2C``, ``FftR2C`` and ``FftC2R``, computed
by the backend's own FFT (``numpy.fft`` or ``cupy.fft``) so one code path serves both.

Each primitive is a real-linear map, so its gradient is its adjoint, and the adjoint of the
adjoint is the map itself: C2C's adjoint is C2C in the other direction; R2C's and C2R's are
two more small Functions (``_R2CAdjoint``, ``_C2RAdjoint``) whose own backward calls the
primitive again, so ``create_graph=True`` works at any order. The adjoints agree with
PyTorch's backward formulas: C2R's is the one-sided forward transform with the mirrored
bins doubled (each stands for two bins of the full spectrum); R2C's is the real part of
the inverse transform of the zero-padded gradient, computed as a C2R of the gradient with
those bins halved (the imaginary parts of the DC and Nyquist bins drop out of both).

On the host the transforms run on ``scipy.fft`` when SciPy is installed (the same
pocketfft with SIMD kernels: 5-15x faster than ``numpy.fft`` on float32/complex64, whose
multi-axis single-precision path is slow in NumPy 2), else on ``numpy.fft``; the two share
their call signatures, so one code path serves both and CuPy.

``norm`` becomes a scale mode (0: none, 1: 1/sqrt(n), 2: 1/n) once the direction is
known, as PyTorch's ``fft_norm_mode``; the backend call is then told the matching
``norm=`` string for its own direction, so no extra multiplication pass is made.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ._select import named
from ._util import xp_of

__all__ = ["FftC2C", "FftC2R", "FftR2C"]

# The backend's norm= string that scales by 1, 1/sqrt(n), 1/n (index: the scale mode) for a
# forward-direction call (fftn, rfftn) and for an inverse-direction one (ifftn, irfftn).
_FORWARD_NORM = ("backward", "ortho", "forward")
_INVERSE_NORM = ("forward", "ortho", "backward")


_host_fft: list = []  # scipy.fft or numpy.fft, resolved on first use (SciPy is optional)


def _fft_module(array):
    """The FFT module for ``array``'s backend."""
    xp = xp_of(array)
    if xp is not np:
        return xp.fft
    if not _host_fft:
        try:
            import scipy.fft as host
        except ImportError:
            host = np.fft
        _host_fft.append(host)
    return _host_fft[0]


_COMPLEX_OF = {np.dtype(np.float32): np.dtype(np.complex64),
               np.dtype(np.float64): np.dtype(np.complex128)}
_REAL_OF = {np.dtype(np.complex64): np.dtype(np.float32),
            np.dtype(np.complex128): np.dtype(np.float64)}


def _complex_of(np_dtype):
    return _COMPLEX_OF.get(np_dtype, np_dtype)


def _real_of(np_dtype):
    return _REAL_OF.get(np_dtype, np_dtype)


# One transformed dim goes to the 1-D functions: same result, a third less call overhead.


def _fftn(fft, x, dims, norm):
    if len(dims) == 1:
        return fft.fft(x, axis=dims[0], norm=norm)
    return fft.fftn(x, axes=dims, norm=norm)


def _ifftn(fft, x, dims, norm):
    if len(dims) == 1:
        return fft.ifft(x, axis=dims[0], norm=norm)
    return fft.ifftn(x, axes=dims, norm=norm)


def _rfftn(fft, x, dims, norm):
    if len(dims) == 1:
        return fft.rfft(x, axis=dims[0], norm=norm)
    return fft.rfftn(x, axes=dims, norm=norm)


def _irfftn(fft, x, dims, last_size, norm):
    if len(dims) == 1:
        return fft.irfft(x, n=last_size, axis=dims[0], norm=norm)
    sizes = [x.shape[d] for d in dims[:-1]] + [last_size]
    return fft.irfftn(x, s=sizes, axes=dims, norm=norm)


def _last_axis_index(ndim, axis, start, stop):
    index = [slice(None)] * ndim
    index[axis] = slice(start, stop)
    return tuple(index)


# ---------------------------------------------------------------------------
# the primitives and their adjoints
# ---------------------------------------------------------------------------


class FftC2C(Function):
    """Complex-to-complex transform over ``dims``; its adjoint is the same transform in the
    other direction with the same scale."""

    _array_io = True
    _node_name = "FftC2CBackward0"

    @staticmethod
    def forward(ctx, x, dims, mode, forward):
        ctx.args = (dims, mode, forward)
        fft = _fft_module(x)
        if forward:
            out = _fftn(fft, x, dims, _FORWARD_NORM[mode])
        else:
            out = _ifftn(fft, x, dims, _INVERSE_NORM[mode])
        return out.astype(_complex_of(x.dtype), copy=False)

    @staticmethod
    def backward(ctx, grad):
        dims, mode, forward = ctx.args
        return FftC2C.apply(grad, dims, mode, not forward), None, None, None


class FftR2C(Function):
    """Real-to-complex transform over ``dims``, one-sided (last of ``dims`` halved, as
    rfftn) or full. ``forward=False`` is the inverse-direction transform, which for real
    input is the conjugate of the forward one (ifft, ihfft of real data)."""

    _array_io = True
    _node_name = "FftR2CBackward0"

    @staticmethod
    def forward(ctx, x, dims, mode, onesided, forward):
        ctx.args = (dims, mode, onesided, forward, x.shape[dims[-1]])
        fft = _fft_module(x)
        if onesided:
            out = _rfftn(fft, x, dims, _FORWARD_NORM[mode])
            if not forward:
                out = out.conj()
        elif forward:
            out = _fftn(fft, x, dims, _FORWARD_NORM[mode])
            if fft is not np.fft and xp_of(x) is np:
                # scipy.fft mirrors the one-sided half with negative-zero imaginary parts
                # (fft(arange(4.))[0] prints 6.-0.j); NumPy and PyTorch give +0 there
                out.imag += 0.0
        else:
            out = _ifftn(fft, x, dims, _INVERSE_NORM[mode])
        return out.astype(_complex_of(x.dtype), copy=False)

    @staticmethod
    def backward(ctx, grad):
        return (_R2CAdjoint.apply(grad, *ctx.args),) + (None,) * 4


class _R2CAdjoint(Function):
    """R2C's adjoint: the real part of the other-direction transform of the (zero-padded,
    when one-sided) gradient."""

    _array_io = True
    _node_name = "FftR2CBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, dims, mode, onesided, forward, last_size):
        ctx.args = (dims, mode, onesided, forward)
        fft = _fft_module(grad)
        # R2C with forward=False is conj o (forward transform): its adjoint conjugates first
        g = grad if forward else grad.conj()
        if not onesided:
            out = _ifftn(fft, g, dims, _INVERSE_NORM[mode]).real
        else:
            axis = dims[-1]
            mirrored = last_size - g.shape[axis]
            if mirrored > 0:
                # irfftn counts these bins twice (once for their mirror image); the
                # zero-padded spectrum has them once
                g = g.copy() if g is grad else g
                g[_last_axis_index(g.ndim, axis, 1, 1 + mirrored)] *= 0.5
            out = _irfftn(fft, g, dims, last_size, _INVERSE_NORM[mode])
        return out.astype(_real_of(grad.dtype), copy=False)

    @staticmethod
    def backward(ctx, grad):
        return (FftR2C.apply(grad, *ctx.args),) + (None,) * 5


class FftC2R(Function):
    """One-sided Hermitian spectrum to a real signal over ``dims`` (the last of them has
    ``last_size`` points out); ``conj_input`` conjugates the input first (hfft). A real
    input is read as complex with zero imaginary part."""

    _array_io = True
    _node_name = "FftC2RBackward0"

    @staticmethod
    def forward(ctx, x, dims, mode, last_size, conj_input):
        ctx.args = (dims, mode, conj_input, x.dtype.kind != "c")
        if conj_input and x.dtype.kind == "c":
            x = x.conj()
        out = _irfftn(_fft_module(x), x, dims, last_size, _INVERSE_NORM[mode])
        return out.astype(_real_of(x.dtype), copy=False)

    @staticmethod
    def backward(ctx, grad):
        return (_C2RAdjoint.apply(grad, *ctx.args),) + (None,) * 4


class _C2RAdjoint(Function):
    """C2R's adjoint: the one-sided forward transform of the gradient, with the bins that
    stand for two bins of the full spectrum doubled (PyTorch's fft_c2r_backward)."""

    _array_io = True
    _node_name = "FftC2RBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, dims, mode, conj_input, real_input):
        axis = dims[-1]
        ctx.args = (dims, mode, grad.shape[axis], conj_input)
        out = _rfftn(_fft_module(grad), grad, dims, _FORWARD_NORM[mode])
        doubled = grad.shape[axis] - out.shape[axis]
        if doubled > 0:
            out[_last_axis_index(out.ndim, axis, 1, 1 + doubled)] *= 2
        if real_input:  # the input was real: its gradient is the real part
            return out.real.astype(_real_of(grad.dtype))
        if conj_input:
            out = out.conj()
        return out.astype(_complex_of(grad.dtype), copy=False)

    @staticmethod
    def backward(ctx, grad):
        return (FftC2R.apply(grad, *ctx.args),) + (None,) * 4


_InverseR2C = named(FftR2C, "ConjBackward0")  # PyTorch's ifft/ihfft of real data: r2c + conj
