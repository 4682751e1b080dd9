"""Cumulative reductions along one dim: cumsum, cumprod, cummax, cummin.

Re-exported by ``reduce.py`` (``ember.cumsum``, ``Tensor.cumsum``, ...). Backward
formulas use Tensor ops, so second derivatives work; cumprod's is exact with zeros.
"""

from __future__ import annotations

import numpy as np

from .._backend.cupy_gaps import running_extreme
from .._backend.float8 import refuse_complex32 as refuse_special
from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._select import RETURN_TYPES, Flip, const, positions, take_along, write_out
from ._util import _make, np_dtype_of, wrap_dim, xp_of


def _reverse_cumsum(t, dim):
    """sum over j >= k along ``dim`` (cumsum's adjoint)."""
    return Flip.apply(CumSum.apply(Flip.apply(t, dim), dim, None), dim)


def _scan_array(scan, x, dim, np_dtype):
    """Run a scan in PyTorch's result dtype: bool and integers accumulate in int64 unless a
    dtype is given, and half-precision results are accumulated in float32."""
    if np_dtype is None and x.dtype.kind in "biu":
        np_dtype = np.dtype(np.int64)
    target = x.dtype if np_dtype is None else np.dtype(np_dtype)
    if target.itemsize == 2 and target.kind in "fV" and scan.__name__ == "cumsum" and \
            xp_of(x) is not np and target.fields is None:
        out = _device_half_cumsum(xp_of(x), x.astype(target, copy=False), dim)
    elif target.itemsize == 2 and target.kind in "fV":
        out = scan(x.astype(np.float32), axis=dim).astype(target)
    else:
        out = scan(x, axis=dim, dtype=np_dtype)
    # contiguous whatever x's strides, as PyTorch's scans (NumPy's keep a transposed layout)
    return out if out.flags.c_contiguous else out.copy()


def _device_half_cumsum(xp, x, axis):
    """torch's CUDA cumsum of float16/bfloat16 adds with std::plus in that type, so every
    partial sum is rounded, in its kernels' order (ATen's ScanUtils.cuh): along the last
    dim a Sklansky scan over blocks of 2 * num_threads_x carrying the running total, along
    another dim a sequential loop. (A 1-D tensor goes to CUB there; float32 sums here.)"""
    dt, n = x.dtype, x.shape[axis]

    def add(a, b):  # c10's Half/BFloat16 +: in float32, rounded back
        return (a.astype(np.float32) + b.astype(np.float32)).astype(dt)

    if x.size in (0, n):
        return xp.cumsum(x.astype(np.float32), axis=axis).astype(dt)
    if axis != x.ndim - 1:
        moved = xp.moveaxis(x, axis, 0)
        out, acc = xp.empty(moved.shape, dt), xp.zeros(moved.shape[1:], dt)
        for i in range(n):
            acc = add(acc, moved[i])
            out[i] = acc
        return xp.moveaxis(out, 0, axis)
    rows = x.reshape(-1, n)
    log_x = _log_num_threads_x(rows.shape[0], n)
    width = 2 << log_x
    out, total = xp.empty(rows.shape, dt), xp.zeros((rows.shape[0], 1), dt)
    for start in range(0, n, width):
        chunk = rows[:, start:start + width]
        buf = xp.zeros((rows.shape[0], width), dt)
        buf[:, :chunk.shape[1]] = chunk
        buf[:, :1] = add(buf[:, :1], total)
        for m in range(log_x + 1):  # step m: each block of 2s adds its s-th sum to the rest
            s = 1 << m
            blocks = buf.reshape(rows.shape[0], width // (2 * s), 2 * s)
            blocks[:, :, s:] = add(blocks[:, :, s:], blocks[:, :, s - 1:s])
        out[:, start:start + chunk.shape[1]] = buf[:, :chunk.shape[1]]
        total = buf[:, -1:]
    return out.reshape(x.shape)


def _log_num_threads_x(num_rows, row_size):
    """ATen's get_log_num_threads_x_inner_scan<uint32_t>, its unsigned wrap included."""
    diff = ((row_size - 1).bit_length() - (num_rows - 1).bit_length()) % 2**32
    return min(max(((9 + diff) % 2**32) // 2, 4), 9)


class CumSum(Function):
    _array_io = True
    _node_name = "CumsumBackward0"
    _kernel = "cumsum_out_cpu"

    @staticmethod
    def forward(ctx, x, dim, np_dtype):
        ctx.dim = dim
        return _scan_array(xp_of(x).cumsum, x, dim, np_dtype)

    @staticmethod
    def backward(ctx, grad):
        return _reverse_cumsum(grad, ctx.dim), None, None


class CumProd(Function):
    """Running product. Backward: for k before the first zero of a slice,
    sum_{j>=k} grad_j out_j / x_k; at the first zero, the same sum with that zero
    replaced by one; after it, nothing (every product there contains the zero)."""

    _array_io = True
    _node_name = "CumprodBackward0"
    _kernel = "cumprod_out_cpu"

    @staticmethod
    def forward(ctx, x, dim, np_dtype):
        ctx.dim = dim
        out = _scan_array(xp_of(x).cumprod, x, dim, np_dtype)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dim = ctx.dim
        if x._data.dtype.kind == "c":  # holomorphic: grad times conjugated derivatives
            x, out = x.conj_physical(), out.conj_physical()
        if not (x._data == 0).any():
            return _reverse_cumsum(grad * out, dim) / x, None, None
        return _cumprod_backward_with_zeros(x, grad, dim), None, None


def _cumprod_backward_with_zeros(x, grad, dim):
    """grad_k = excl_k * sum_{j>=k} grad_j prod_{k<i<=j} x_i, exact with zeros: the inner
    products for all (k, j) pairs come from one cumprod over an (n, n) table, so every
    term stays differentiable (O(n^2) memory, used only when the input has zeros)."""
    last = x.ndim - 1
    if dim != last:
        x, grad = x.transpose(dim, last), grad.transpose(dim, last)
    n = x.shape[-1]
    xp = xp_of(x._data)
    k = xp.arange(n).reshape(n, 1)
    i = xp.arange(n).reshape(1, n)
    later = i > k  # table[k, i] = x_i for i > k, else 1
    table = x.unsqueeze(-2) * const(later, x) + const(~later, x)
    spans = CumProd.apply(table, x.ndim, None)  # spans[k, j] = prod_{k<i<=j} x_i
    inner = (grad.unsqueeze(-2) * spans * const(i >= k, x)).sum(-1)
    result = exclusive_cumprod(x, last) * inner
    return result.transpose(dim, last) if dim != last else result


def exclusive_cumprod(x, dim):
    """[1, x_0, x_0 x_1, ...] along ``dim``: cumprod of the input shifted by one."""
    xd = x._data
    xp = xp_of(xd)
    n = xd.shape[dim]
    shift = xp.broadcast_to(xp.maximum(positions(n, dim, xd.ndim, xp) - 1, 0), xd.shape)
    first = positions(n, dim, xd.ndim, xp) == 0
    first = xp.broadcast_to(first, xd.shape)
    shifted = take_along(x, shift, dim, accumulate=True) * const(~first, x) + const(first, x)
    return CumProd.apply(shifted, dim, None)


def _scan(cls, input, dim, dtype, out=None):
    """The scan in PyTorch's result dtype: ``dtype``, else ``out``'s (the input is cast to
    it first), else int64 for bool/integers. The CPU kernels have no bool scan; a 0-d or
    empty input never reaches them."""
    x = input._data
    np_dtype = np_dtype_of(dtype)
    if out is not None:
        if np_dtype is not None and out._data.dtype != np_dtype:
            from .._grad_assign import _CPP_TYPE_NAMES

            raise RuntimeError(
                f"Expected out tensor to have dtype {_CPP_TYPE_NAMES[str(np_dtype)]}, but got "
                f"{_CPP_TYPE_NAMES[str(out._data.dtype)]} instead")
        np_dtype = out._data.dtype
    if x.ndim == 0:
        wrap_dim(dim, 0)
        return cls.apply(input.reshape(1), 0, np_dtype).reshape(())
    dim = wrap_dim(dim, x.ndim)
    if np_dtype == np.bool_ and x.size:
        raise NotImplementedError(f'"{cls._kernel}" not implemented for \'Bool\'')
    return cls.apply(input, dim, np_dtype)


def cumsum(input, dim, *, dtype=None, out=None):
    """Running sum along ``dim`` (bool/int inputs accumulate in int64)."""
    refuse_special("cumsum_out_cpu", input)
    return write_out(_scan(CumSum, input, dim, dtype, out), out, "cumsum")


def cumprod(input, dim, *, dtype=None, out=None):
    """Running product along ``dim``; its gradient is exact with zeros in the input."""
    return write_out(_scan(CumProd, input, dim, dtype, out), out, "cumprod")


def _running_extreme(name, input, dim, largest):
    """(values, indices): the running max/min and where it was last attained (ties and
    NaN move the index forward, as PyTorch's loop does)."""
    x = input._data
    if x.dtype.kind == "c":  # no order on complex numbers
        from ._util import type_name

        raise NotImplementedError(f'"{name}_cpu" not implemented for \'{type_name(x.dtype)}\'')
    if x.ndim == 0:
        wrap_dim(dim, 0)
        values, indices = _running_extreme(name, input.reshape(1), 0, largest)
        return RETURN_TYPES[name](values.reshape(()), indices.reshape(()))
    d = wrap_dim(dim, x.ndim)
    xp = xp_of(x)
    data = x.view(np.uint8) if x.dtype.kind == "b" else x
    running = running_extreme(xp, data, d, largest)
    hit = data == running
    if data.dtype.kind in "fc":
        hit |= xp.isnan(data)
    index_dtype = np.int32 if x.shape[d] < 2**31 else np.int64  # narrower scans are faster
    candidates = xp.where(hit, positions(x.shape[d], d, x.ndim, xp).astype(index_dtype), 0)
    indices = running_extreme(xp, candidates, d, True).astype(np.int64)
    if input._requires_grad and _grad_enabled[0]:
        node = "CummaxBackward0" if largest else "CumminBackward0"
        values = take_along(input, indices, d, accumulate=True, node_name=node)
    else:  # the running extreme already is the value at each index
        values = _make(running.view(np.bool_) if x.dtype.kind == "b" else running)
    return RETURN_TYPES[name](values, _make(indices))


def cummax(input, dim):
    """``(values, indices)`` of the running maximum; the gradient flows to the index."""
    return _running_extreme("cummax", input, dim, True)


def cummin(input, dim):
    """``(values, indices)`` of the running minimum; the gradient flows to the index."""
    return _running_extreme("cummin", input, dim, False)
