"""The softmax family's fused Functions: one max-shifted pass over the reduced dim
forward, closed-form gradients backward (array-level unless a graph is being built).
Shared by ``softmax``/``softmin``/``log_softmax`` and by ``cross_entropy``."""

from __future__ import annotations

import warnings

import numpy as np

from .._backend import autocast_state
from .._backend.dtypes import _BF16
from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from . import _softmax_cuda
from ._util import _make, float_np, type_name, wrap_dim, xp_of

_autocast = autocast_state.ACTIVE


def _as_float(x):
    return x.astype(float_np(x.dtype), copy=False)


_REDUCED = tuple(d for d in (np.dtype(np.float16), _BF16) if d is not None)


def _rounded_once(kernel, x, dim):
    """``kernel(x, dim)``; half/bfloat16 through float32 and rounded once at the end, as
    PyTorch's CPU softmax kernels (step-by-step half arithmetic was off on most values)."""
    if x.dtype in _REDUCED:
        return kernel(x.astype(np.float32), dim).astype(x.dtype)
    return kernel(x, dim)


def _require_float(x, kernel_name):
    if x.dtype.kind not in "fV":  # complex too: PyTorch has no complex softmax kernel
        raise NotImplementedError(f'"{kernel_name}" not implemented for \'{type_name(x.dtype)}\'')



def _contiguous(out):
    """PyTorch's softmax kernels write a contiguous result whatever the input's strides
    (a transposed input gave a transposed result, which .view refused)."""
    return out if out.flags.c_contiguous else xp_of(out).ascontiguousarray(out)

class Softmax(Function):
    _array_io = True

    @classmethod
    def forward(cls, ctx, x, dim):
        out = _contiguous(_rounded_once(cls._values, _as_float(x), dim))
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        dim = ctx.dim if out.dim() else None
        if not _grad_enabled[0]:
            # grad * out - out * sum(grad * out): the factored form out * (grad - sum)
            # saves an array but rounds differently, and a 16-epoch Transformer run
            # (tests/yardstick/transformer_translation.py) then drifts from PyTorch's
            fused = _softmax_cuda.backward(grad._data, out._data, dim, log=False)
            if fused is not None:
                return _make(fused), None
            weighted = grad._data * out._data
            weighted -= out._data * weighted.sum(axis=dim, keepdims=True)
            return _make(weighted), None
        weighted = grad * out
        return weighted - out * weighted.sum(dim, keepdim=True), None


class SafeSoftmax(Softmax):
    """PyTorch's ``_safe_softmax`` (attention's math path): softmax, except that a row of
    -inf only (every key masked) gives zeros instead of NaN, and so zero gradients; the
    backward is softmax's."""


def _safe_softmax_array(x, dim):
    fused = _softmax_cuda.forward(x, dim, log=False, safe=True)  # one launch on a GPU
    if fused is not None:
        return fused
    xp = xp_of(x)
    dead = (x == -np.inf).all(axis=dim, keepdims=True) if x.ndim else xp.zeros((), bool)
    out = _softmax_array(xp.where(dead, xp.zeros((), x.dtype), x), dim)
    out[xp.broadcast_to(dead, out.shape)] = 0
    return out


class LogSoftmax(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, dim):
        x = _as_float(x)
        out = _contiguous(_rounded_once(_log_softmax_array, x, dim))
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        dim = ctx.dim if out.dim() else None
        if not _grad_enabled[0]:
            g = grad._data
            fused = _softmax_cuda.backward(g, out._data, dim, log=True)
            if fused is not None:
                return _make(fused), None
            result = xp_of(g).exp(out._data)
            result *= g.sum(axis=dim, keepdims=True)
            if result.dtype != g.dtype or not result.ndim:  # 0-d: NumPy gives scalars
                return _make(g - result), None
            # in exp's buffer: a second result-sized array costs more than the arithmetic
            return _make(xp_of(g).subtract(g, result, out=result)), None
        return grad - out.exp() * grad.sum(dim, keepdim=True), None


def _softmax_array(x, dim):
    """exp(x - max) / sum, max-shifted along ``dim``."""
    if x.ndim and not x.shape[dim]:
        return x.copy()  # nothing to normalise over (the max below has no identity)
    if type(x) is np.ndarray:
        if x.ndim == 0:
            return np.ones_like(x)
        # the ufuncs' reduce directly: ndarray.max/sum add a Python wrapper each
        out = x - np.maximum.reduce(x, dim, None, None, True)
        np.exp(out, out=out)
        out /= np.add.reduce(out, dim, None, None, True)
        return out
    xp = xp_of(x)
    if x.ndim == 0:
        return xp.ones_like(x)
    fused = _softmax_cuda.forward(x, dim, log=False)  # one launch on a GPU
    if fused is not None:
        return fused
    out = x - x.max(axis=dim, keepdims=True)
    xp.exp(out, out=out)
    out /= out.sum(axis=dim, keepdims=True)
    return out


def _log_softmax_array(x, dim):
    """x - logsumexp(x, dim) in one max-shifted pass (also used by cross_entropy)."""
    xp = xp_of(x)
    if x.ndim == 0:
        return xp.zeros_like(x)
    if x.shape[dim] == 0:
        return x.copy()  # nothing to normalise over (the max has no identity)
    if xp is np:
        shifted = x - np.maximum.reduce(x, dim, None, None, True)
        shifted -= np.log(np.add.reduce(np.exp(shifted), dim, None, None, True))
        return shifted
    fused = _softmax_cuda.forward(x, dim, log=True)  # one launch on a GPU
    if fused is not None:
        return fused
    shifted = x - x.max(axis=dim, keepdims=True)
    shifted -= xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
    return shifted


def _unrecorded_softmax(input, dim, log):
    """softmax/log_softmax of a Tensor autograd does not record (no grad needed, no
    autocast), without the Function; None when the Function must run."""
    if (input._requires_grad and _grad_enabled[0]) or _autocast[0] is not None:
        return None
    x = _as_float(input._data)
    return _make(_contiguous(_rounded_once(_log_softmax_array if log else _softmax_array,
                                           x, dim)))


def _softmax_dim(name, ndim, stacklevel):
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument.",
        stacklevel=stacklevel + 1,
    )
    return 0 if ndim in (0, 1, 3) else 1


def _prepare_softmax(input, dim, dtype, name, stacklevel):
    if dim is None:
        dim = _softmax_dim(name, input.dim(), stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    dim = wrap_dim(dim, max(input.dim(), 1))
    last = "_lastdim" if dim == input.dim() - 1 or input.dim() == 0 else ""
    _require_float(input._data, f"{name.replace('min', 'max')}{last}_kernel_impl")
    return input, dim


Softmax._values = staticmethod(_softmax_array)  # the forward's array function
SafeSoftmax._values = staticmethod(_safe_softmax_array)
