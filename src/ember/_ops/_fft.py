"""torch.fft's discrete Fourier transforms: argument handling as PyTorch's SpectralOps.cpp
(dims and sizes, padding and trimming, dtype promotion, norm modes, out=, errors) around
the three differentiable primitives of ``_fft_kernels.py`` (c2c, r2c, c2r), which carry
the gradients."""

from __future__ import annotations

from .._backend import get_default_dtype
from ._autocast import FLOAT32_FFT, autocast_entry_points
from ._fft_kernels import FftC2C, FftC2R, FftR2C, _complex_of, _InverseR2C
from ._select import named, write_out
from ._util import Tensor, type_name, wrap_dim

__all__ = [
    "fft", "fft2", "fftn", "hfft", "hfft2", "hfftn", "ifft", "ifft2", "ifftn", "ihfft", "ihfft2",
    "ihfftn", "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftn",
]


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


# PyTorch's n-D transforms promote real input to complex and run c2c; ember runs the
# full-spectrum r2c (no complex copy of the input) under the node name users see there.
_RealC2C = named(FftR2C, "FftC2CBackward0")


def _c2c(fname, x, dims, shape, norm, forward, out, n_dim=False):
    """A full transform: C2C for complex input, a full-spectrum R2C for real input."""
    x = _resize(x, dims, shape)
    mode = _norm_mode(norm, forward)
    if not dims:
        result = _complex_copy(x)
    elif x._data.dtype.kind == "c":
        result = FftC2C.apply(x, tuple(dims), mode, forward)
    else:
        op = _RealC2C if n_dim else FftR2C if forward else _InverseR2C
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
    return _c2c(fname, x, dims, shape, norm, forward, out, n_dim=True)


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
    if forward:
        op = FftR2C
    else:  # PyTorch's ihfftn ends in a conj (one dim) or a c2c over the other dims
        op = _InverseR2C if len(dims) == 1 else _RealC2C
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


autocast_entry_points(globals(), FLOAT32_FFT)  # float32 under autocast, as torch's
