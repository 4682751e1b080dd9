"""torch.fft's discrete Fourier transforms, built on three primitives as PyTorch's are.

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

from .._backend import get_default_dtype
from ..autograd.function import Function
from ._select import named, write_out
from ._util import Tensor, type_name, wrap_dim, xp_of

__all__ = [
    "fft",
    "fft2",
    "fftn",
    "hfft",
    "hfft2",
    "hfftn",
    "ifft",
    "ifft2",
    "ifftn",
    "ihfft",
    "ihfft2",
    "ihfftn",
    "irfft",
    "irfft2",
    "irfftn",
    "rfft",
    "rfft2",
    "rfftn",
]

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


# ---------------------------------------------------------------------------
# argument handling, as PyTorch's SpectralOps.cpp
# ---------------------------------------------------------------------------


def _norm_mode(norm, forward):
    if norm is None or norm == "backward":
        return 0 if forward else 2
    if norm == "forward":
        return 2 if forward else 0
    if norm == "ortho":
        return 1
    raise RuntimeError(f'Invalid normalization mode: "{norm}"')


def _promote(fname, x, require_real=False):
    """Integer and bool inputs compute in the default float dtype; half precision is
    refused as PyTorch's CPU FFT refuses it."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{fname}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    np_dtype = x._data.dtype
    kind = np_dtype.kind
    if kind == "c":
        if require_real:
            raise RuntimeError(
                f"{fname} expects a real input tensor, but got {type_name(np_dtype)}")
        return x
    if kind in "fV":
        if np_dtype.itemsize < 4 or kind == "V":
            raise RuntimeError(f"Unsupported dtype {type_name(np_dtype)}")
        return x
    return x.to(get_default_dtype())


def _wrap(dim, ndim):
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return wrap_dim(int(dim), ndim)


def _as_list(value):
    if value is None:
        return None
    if isinstance(value, Tensor) or not hasattr(value, "__len__"):
        return [int(value)]
    return [int(v) for v in value]


def _dims_and_shape(x, s, dim):
    """PyTorch's canonicalize_fft_shape_and_dim_args: the transformed dims and their sizes
    (``s`` entries of -1 keep the input's size; ``s`` alone picks the last dims)."""
    ndim = x._data.ndim
    sizes = x._data.shape
    s, dim = _as_list(s), _as_list(dim)
    dims = None
    if dim is not None:
        dims = [_wrap(d, ndim) for d in dim]
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    if s is not None:
        if dims is not None and len(dims) != len(s):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        if len(s) > ndim:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has "
                               f"{ndim} dimensions.")
        if dims is None:
            dims = list(range(ndim - len(s), ndim))
        shape = [sizes[d] if n == -1 else n for d, n in zip(dims, s)]
    elif dims is None:
        dims = list(range(ndim))
        shape = list(sizes)
    else:
        shape = [sizes[d] for d in dims]
    for n in shape:
        if n <= 0:
            raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return dims, shape


def _resize(x, dims, shape):
    """Zero-pad or trim each transformed dim to its size (one differentiable pad)."""
    ndim = x._data.ndim
    pads = [0] * (2 * ndim)
    changed = False
    for d, n in zip(dims, shape):
        delta = n - x._data.shape[d]
        if delta:
            pads[2 * (ndim - 1 - d) + 1] = delta
            changed = True
    if not changed:
        return x
    from .resample import pad

    return pad(x, tuple(pads))


def _check_out(fname, out, complex_out):
    if out is None:
        return
    kind = out._data.dtype.kind
    if complex_out and kind != "c":
        raise RuntimeError(f"{fname} expects a complex output tensor, but got "
                           f"{type_name(out._data.dtype)}")
    if not complex_out and kind not in "fV":
        raise RuntimeError(f"{fname} expects a floating point output tensor, but got "
                           f"{type_name(out._data.dtype)}")


def _complex_copy(x):
    return x.to(_dtype_of(_complex_of(x._data.dtype)), copy=True)


def _dtype_of(np_dtype):
    from .._backend import from_numpy_dtype

    return from_numpy_dtype(np_dtype)


def _one_dim(x, n, dim, default_n=None):
    """The 1-D functions' dim and n checks (n=-1 is an error here, unlike in s=)."""
    d = _wrap(dim, x._data.ndim)
    if n is None:
        n = x._data.shape[d] if default_n is None else default_n(x._data.shape[d])
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return d, int(n)


# ---------------------------------------------------------------------------
# complex output: fft, ifft, fft2, ifft2, fftn, ifftn
# ---------------------------------------------------------------------------


def _c2c(fname, x, dims, shape, norm, forward, out):
    """A full transform: C2C for complex input, a full-spectrum R2C for real input."""
    x = _resize(x, dims, shape)
    mode = _norm_mode(norm, forward)
    if not dims:
        result = _complex_copy(x)
    elif x._data.dtype.kind == "c":
        result = FftC2C.apply(x, tuple(dims), mode, forward)
    else:
        op = FftR2C if forward else _InverseR2C
        result = op.apply(x, tuple(dims), mode, False, forward)
    return write_out(result, out, fname)


def _c2c_1d(fname, input, n, dim, norm, forward, out):
    _check_out(fname, out, True)
    x = _promote(fname, input)
    d, n = _one_dim(x, n, dim)
    return _c2c(fname, x, [d], [n], norm, forward, out)


def _c2c_nd(fname, input, s, dim, norm, forward, out):
    _check_out(fname, out, True)
    x = _promote(fname, input)
    dims, shape = _dims_and_shape(x, s, dim)
    return _c2c(fname, x, dims, shape, norm, forward, out)


def fft(input, n=None, dim=-1, norm=None, *, out=None) -> Tensor:
    """One-dimensional discrete Fourier transform along ``dim``.

    Args:
        n: signal length: the input is zero-padded or trimmed to ``n`` along ``dim``.
        norm: ``"backward"`` (default, no scaling), ``"ortho"`` (1/sqrt(n)) or
            ``"forward"`` (1/n).

    Real float32 input gives complex64 (not NumPy's complex128); integer input is
    computed in the default float dtype.

    Example::

        >>> ember.fft.fft(ember.arange(4.0))
        tensor([ 6.+0.j, -2.+2.j, -2.+0.j, -2.-2.j])
    """
    return _c2c_1d("fft", input, n, dim, norm, True, out)


def ifft(input, n=None, dim=-1, norm=None, *, out=None) -> Tensor:
    """Inverse of :func:`fft` (``norm="backward"`` scales by 1/n here)."""
    return _c2c_1d("ifft", input, n, dim, norm, False, out)


def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    """Two-dimensional :func:`fftn` (over the last two dims by default)."""
    return _c2c_nd("fft2", input, s, dim, norm, True, out)


def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    """Two-dimensional :func:`ifftn`."""
    return _c2c_nd("ifft2", input, s, dim, norm, False, out)


def fftn(input, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    """N-dimensional discrete Fourier transform.

    Args:
        s: signal size per transformed dim (-1 keeps the input's); given without ``dim``,
            the last ``len(s)`` dims are transformed.
        dim: dims to transform (default: all, or the last ``len(s)``).
    """
    return _c2c_nd("fftn", input, s, dim, norm, True, out)


def ifftn(input, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    """Inverse of :func:`fftn`."""
    return _c2c_nd("ifftn", input, s, dim, norm, False, out)


# ---------------------------------------------------------------------------
# real input, one-sided output: rfft*, ihfft*
# ---------------------------------------------------------------------------


def _r2c(fname, x, dims, shape, norm, forward, out):
    x = _resize(x, dims, shape)
    mode = _norm_mode(norm, forward)
    op = FftR2C if forward else _InverseR2C
    return write_out(op.apply(x, tuple(dims), mode, True, forward), out, fname)


def _r2c_1d(fname, input, n, dim, norm, forward, out):
    if isinstance(input, Tensor) and input._data.dtype.kind == "c":
        _promote(fname, input, require_real=True)
    _check_out(fname, out, True)
    x = _promote(fname, input)
    d, n = _one_dim(x, n, dim)
    return _r2c(fname, x, [d], [n], norm, forward, out)


def _r2c_nd(fname, input, s, dim, norm, forward, out):
    """rfftn and ihfftn (their 2-D forms report errors under the n-D name, as PyTorch)."""
    if forward and isinstance(input, Tensor) and input._data.dtype.kind == "c":
        raise RuntimeError(f"{fname} expects a real-valued input tensor, but got "
                           f"{type_name(input._data.dtype)}")
    _check_out(fname, out, True)
    x = _promote(fname, input)
    dims, shape = _dims_and_shape(x, s, dim)
    if not dims:
        raise RuntimeError(f"{fname} must transform at least one axis")
    if x._data.dtype.kind == "c":
        raise RuntimeError("Only supports floating-point dtypes, but found: "
                           f"{type_name(x._data.dtype)}")
    return _r2c(fname, x, dims, shape, norm, forward, out)


def rfft(input, n=None, dim=-1, norm=None, *, out=None) -> Tensor:
    """FFT of real input, keeping the ``n // 2 + 1`` non-negative frequencies (the rest
    are their complex conjugates).

    Example::

        >>> ember.fft.rfft(ember.arange(4.0))
        tensor([ 6.+0.j, -2.+2.j, -2.+0.j])
    """
    return _r2c_1d("rfft", input, n, dim, norm, True, out)


def ihfft(input, n=None, dim=-1, norm=None, *, out=None) -> Tensor:
    """Inverse of :func:`hfft`: the one-sided half of ``ifft`` of real input."""
    return _r2c_1d("ihfft", input, n, dim, norm, False, out)


def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    """Two-dimensional :func:`rfftn`."""
    return _r2c_nd("rfftn", input, s, dim, norm, True, out)


def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    """Two-dimensional :func:`ihfftn`."""
    return _r2c_nd("ihfftn", input, s, dim, norm, False, out)


def rfftn(input, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    """N-dimensional FFT of real input; the last transformed dim is one-sided."""
    return _r2c_nd("rfftn", input, s, dim, norm, True, out)


def ihfftn(input, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    """N-dimensional inverse of :func:`hfftn`; the last transformed dim is one-sided."""
    return _r2c_nd("ihfftn", input, s, dim, norm, False, out)


# ---------------------------------------------------------------------------
# one-sided Hermitian input, real output: irfft*, hfft*
# ---------------------------------------------------------------------------


def _c2r(fname, x, dims, shape, last_size, norm, forward, out):
    shape = list(shape[:-1]) + [last_size // 2 + 1]
    x = _resize(x, dims, shape)
    mode = _norm_mode(norm, forward)
    result = FftC2R.apply(x, tuple(dims), mode, last_size, forward)
    return write_out(result, out, fname)


def _c2r_1d(fname, input, n, dim, norm, forward, out):
    _check_out(fname, out, False)
    x = _promote(fname, input)
    d, n = _one_dim(x, n, dim, default_n=lambda m: 2 * (m - 1))
    return _c2r(fname, x, [d], [x._data.shape[d]], n, norm, forward, out)


def _c2r_nd(fname, input, s, dim, norm, forward, out):
    _check_out(fname, out, False)
    x = _promote(fname, input)
    dims, shape = _dims_and_shape(x, s, dim)
    if not dims:
        raise RuntimeError(f"{fname} must transform at least one axis")
    s_list = _as_list(s)
    if s_list is None or s_list[-1] == -1:
        last_size = 2 * (x._data.shape[dims[-1]] - 1)
    else:
        last_size = shape[-1]
    if last_size < 1:
        raise RuntimeError(f"Invalid number of data points ({last_size}) specified")
    return _c2r(fname, x, dims, shape, last_size, norm, forward, out)


def irfft(input, n=None, dim=-1, norm=None, *, out=None) -> Tensor:
    """Inverse of :func:`rfft`: ``n`` real points (default ``2 * (m - 1)`` from ``m``
    one-sided bins; pass ``n`` for odd lengths). The imaginary parts of the zero (and, for
    even ``n``, Nyquist) bins are ignored, as they must be zero in a real signal's
    spectrum."""
    return _c2r_1d("irfft", input, n, dim, norm, False, out)


def hfft(input, n=None, dim=-1, norm=None, *, out=None) -> Tensor:
    """FFT of a Hermitian-symmetric signal given by its one-sided half: a real
    spectrum of ``n`` points (default ``2 * (m - 1)``)."""
    return _c2r_1d("hfft", input, n, dim, norm, True, out)


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    """Two-dimensional :func:`irfftn`."""
    return _c2r_nd("irfftn", input, s, dim, norm, False, out)


def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    """Two-dimensional :func:`hfftn`."""
    return _c2r_nd("hfftn", input, s, dim, norm, True, out)


def irfftn(input, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    """Inverse of :func:`rfftn`; ``s[-1]`` (default ``2 * (m - 1)``) is the length of the
    last transformed dim."""
    return _c2r_nd("irfftn", input, s, dim, norm, False, out)


def hfftn(input, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    """N-dimensional :func:`hfft`: the last transformed dim holds the one-sided half."""
    return _c2r_nd("hfftn", input, s, dim, norm, True, out)
