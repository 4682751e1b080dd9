"""Tensor factories (``zeros``, ``full``, ``arange``, ``eye``, ...) and the ``new_*``
methods. Tensors from data are in from_data.py, copies and moves in copies.py; both are
re-exported here, the family's public face."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._backend import get_default_dtype, to_device, to_dtype
from .._backend import dtypes as _dt
from .._backend.float8 import check_fill, convert, not_implemented
from .._memory_format import as_format, contiguous_format, preserve_format
from ._util import Tensor, array_module, type_name
from . import copies, from_data
from ._factory import (  # noqa: F401 - re-exported: other families import them from here
    _finish, _module_and_device, _module_for_device, _np_dtype, _on_device, _size,
    fill_uninitialized, sizes_given, supports_out,
)
from .copies import Clone, ToCopy, clone, contiguous, to  # noqa: F401
from .from_data import (  # noqa: F401
    _copy_tensor, _legacy_new, _tensor_from_data, _warn_copy_construct, as_tensor, asarray,
    from_numpy, tensor,
)


def _filled(size, dtype, device, requires_grad, kind):
    xp, _ = _module_and_device(device)
    try:
        shape = _size(size, kind)
    except RuntimeError:
        if kind == "zeros":  # PyTorch's zeros checks sizes itself, with its own text
            raise RuntimeError("zeros: Dimension size must be non-negative.") from None
        raise
    np_dtype = _np_dtype(dtype)
    if kind == "ones" and np_dtype in _dt.SPECIAL_TYPE_NAMES:  # complex32: 1 + 0j, not 1 + 1j
        return _finish(xp.full(shape, convert(1, np_dtype), np_dtype), requires_grad)
    return _finish(getattr(xp, kind)(shape, np_dtype), requires_grad)


@supports_out
def zeros(*sizes, size=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False) -> Tensor:
    result = _filled(sizes_given(sizes, size, "zeros"), dtype, device, requires_grad, "zeros")
    return _pin_created(result) if pin_memory else result


@supports_out
def ones(*sizes, size=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    result = _filled(sizes_given(sizes, size, "ones"), dtype, device, requires_grad, "ones")
    return _pin_created(result) if pin_memory else result


@supports_out
def empty(*sizes, size=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False, memory_format=None) -> Tensor:
    size = sizes_given(sizes, size, "empty")
    _size(size, "empty")  # the generic negative-size text, not zeros' own
    # Zero-filled: uninitialised memory would make tests and users' bugs irreproducible;
    # NaN-filled (as PyTorch) under deterministic algorithms + fill_uninitialized_memory.
    result = _filled(size, dtype, device, requires_grad, "zeros")
    fill_uninitialized(result._data)
    if memory_format is not None and memory_format not in (contiguous_format, preserve_format):
        result._data = as_format(result._data, memory_format, array_module(result._data))
    return _pin_created(result) if pin_memory else result


@supports_out
def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    xp, _ = _module_and_device(device)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        if isinstance(fill_value, bool):
            np_dtype = np.dtype(np.bool_)
        elif isinstance(fill_value, numbers.Integral):
            np_dtype = np.dtype(np.int64)
        elif isinstance(fill_value, complex):
            np_dtype = _dt.default_complex().np
        else:
            np_dtype = get_default_dtype().np
    else:
        np_dtype = to_dtype(dtype).numpy_dtype
    if not isinstance(size, (tuple, list)):
        raise TypeError(
            f"full(): argument 'size' (position 1) must be tuple of ints, not "
            f"{type(size).__name__}"
        )
    if np_dtype in _dt.SPECIAL_TYPE_NAMES:  # float8, complex32: PyTorch's rounding
        check_fill(fill_value, np_dtype, math.prod(_size((size,))))
        fill_value = convert(fill_value, np_dtype)
    result = _finish(xp.full(_size((size,)), fill_value, np_dtype), requires_grad)
    return _pin_created(result) if pin_memory else result


def _like(input, dtype, device):
    np_dtype = to_dtype(dtype).numpy_dtype if dtype is not None else input._data.dtype
    dev = to_device(device) if device is not None else input.device
    return _module_for_device(dev), np_dtype


def _zeros(xp):
    return xp.zeros


def _ones(xp):
    return xp.ones


def _filled_like(input, fill_value, dtype, device, requires_grad, memory_format, maker=None):
    """``*_like``: ``input``'s shape (and, by preserve_format, its layout) filled with
    ``fill_value`` (None leaves it uninitialised, as empty_like)."""
    xp, np_dtype = _like(input, dtype, device)
    array = input._data
    if memory_format is None or memory_format is preserve_format:
        plain = (array.flags.c_contiguous and 1 not in array.shape) or copies.plain_layout(array)
    else:
        plain = memory_format is contiguous_format
    if plain:
        if fill_value is None:
            filled = fill_uninitialized(xp.zeros(array.shape, np_dtype))
        elif maker is not None:  # zeros/ones: a little cheaper than full
            filled = maker(xp)(array.shape, np_dtype)
        else:
            filled = xp.full(array.shape, fill_value, np_dtype)
        return _finish(filled, requires_grad)
    filled = copies.empty_like_array(array, np_dtype, memory_format, xp)
    filled[...] = 0 if fill_value is None else fill_value
    if fill_value is None:
        fill_uninitialized(filled)
    return _finish(filled, requires_grad)


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    return _filled_like(input, 0, dtype, device, requires_grad, memory_format, _zeros)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    return _filled_like(input, 1, dtype, device, requires_grad, memory_format, _ones)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    """Zero-filled (ember's empty tensors are deterministic), laid out as ``input`` under
    preserve_format, as PyTorch."""
    return _filled_like(input, None, dtype, device, requires_grad, memory_format)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    return _filled_like(input, fill_value, dtype, device, requires_grad, memory_format)


def _refuse_float8_factory(kernel, dtype):
    if dtype is not None and dtype in _dt.FLOAT8_DTYPES:
        raise not_implemented(kernel, dtype.np)


@supports_out
def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False) -> Tensor:
    """``start + i * step`` for ``i`` in ``0..ceil((end - start) / step)``; integer
    results first truncate the bounds and step to integers, as PyTorch does."""
    _refuse_float8_factory("arange_cpu", dtype)
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if dtype is None:
        all_int = all(isinstance(v, (int, np.integer)) for v in values)
        np_dtype = np.dtype(np.int64) if all_int else get_default_dtype().np
    else:
        np_dtype = to_dtype(dtype).numpy_dtype
    if values[2] == 0:
        raise RuntimeError("step must be nonzero")
    integral = np_dtype.kind in "iub"
    if integral:
        values = [int(v) for v in values]
        if values[2] == 0:
            raise ValueError("step must be nonzero")
    start, end, step = values
    if not all(math.isfinite(v) for v in (start, end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    xp, _ = _module_and_device(device)
    if integral:
        array = xp.arange(start, end, step, dtype=np.int64)
    else:
        count = max(int(math.ceil((end - start) / step)), 0)
        # start + i * step in float64, then cast, like PyTorch's kernel
        array = start + xp.arange(count, dtype=np.float64) * step
    return _finish(array.astype(np_dtype), requires_grad)


def range_(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Deprecated ``torch.range``: like arange but includes ``end``."""
    if end is None:
        start, end = 0, start
    xp, _ = _module_and_device(device)
    np_dtype = _np_dtype(dtype)
    count = int((end - start) // step) + 1
    return _finish((start + xp.arange(count, dtype=np.float64) * step).astype(np_dtype),
                   requires_grad)


@supports_out
def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False) -> Tensor:
    _refuse_float8_factory("linspace_cpu", dtype)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    xp, _ = _module_and_device(device)
    start = start.item() if isinstance(start, Tensor) else start
    end = end.item() if isinstance(end, Tensor) else end
    np_dtype = _spaced_dtype("linspace", start, end, dtype)
    array = _linspace(xp, start, end, steps, np_dtype.kind == "c")
    if np_dtype.kind in "iu":
        array = xp.trunc(array)
    return _finish(array.astype(np_dtype), requires_grad)


@supports_out
def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False) -> Tensor:
    xp, _ = _module_and_device(device)
    np_dtype = _spaced_dtype("logspace", start, end, dtype)
    exponents = _linspace(xp, start, end, steps, np_dtype.kind == "c")
    return _finish(xp.power(base, exponents).astype(np_dtype), requires_grad)


def _linspace(xp, start, end, steps, complex_result):
    """float64 (or complex128) linspace. A complex one is spaced part by part, which is
    what NumPy's complex arithmetic computes too (CuPy's linspace takes real endpoints
    only)."""
    if not complex_result:
        return xp.linspace(start, end, steps, dtype=np.float64)
    start, end = complex(start), complex(end)
    out = xp.linspace(start.real, end.real, steps, dtype=np.float64).astype(np.complex128)
    out.imag = xp.linspace(start.imag, end.imag, steps, dtype=np.float64)
    return out


def _spaced_dtype(name, start, end, dtype):
    """linspace/logspace's dtype: complex endpoints make the default complex dtype, and
    refuse a real ``dtype``, as PyTorch."""
    np_dtype = _np_dtype(dtype)
    if isinstance(start, complex) or isinstance(end, complex):
        from .._backend.dtypes import default_complex

        if dtype is None:
            return default_complex().np
        if np_dtype.kind != "c":
            raise RuntimeError(
                f"torch.{name}(): inferred dtype c10::complex<float> can't be safely cast to "
                f"passed dtype {type_name(np_dtype)}")
    return np_dtype


@supports_out
def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None,
        requires_grad=False) -> Tensor:
    xp, _ = _module_and_device(device)
    np_dtype = _np_dtype(dtype)
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    return _finish(xp.eye(n, n if m is None else m, dtype=np_dtype), requires_grad)


def _triangle_indices(name, lower, row, col, offset, dtype, device):
    """Coordinates of a matrix triangle, row-major, as a 2 x N tensor (what indexing a
    batch of matrices with ``m[..., i, j]`` wants)."""
    if row < 0:
        raise RuntimeError(f"row must be non-negative, got{row}")
    if col < 0:
        raise RuntimeError(f"col must be non-negative, got{col}")
    np_dtype = np.dtype(np.int64) if dtype is None else to_dtype(dtype).numpy_dtype
    if np_dtype not in (np.dtype(np.int64), np.dtype(np.int32)):
        raise NotImplementedError(f'"{name}" not implemented for \'{type_name(np_dtype)}\'')
    xp, _ = _module_and_device(device)
    rows, cols = (xp.tril_indices if lower else xp.triu_indices)(row, offset, col)
    return _finish(xp.stack([rows, cols]).astype(np_dtype), False)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None) -> Tensor:
    return _triangle_indices("tril_indices", True, row, col, offset, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None) -> Tensor:
    return _triangle_indices("triu_indices", False, row, col, offset, dtype, device)


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    dtype, device = dtype or self.dtype, device or self.device
    if isinstance(data, Tensor):
        _warn_copy_construct("tensor.new_tensor(sourceTensor)")
        return _copy_tensor(data, dtype, device, requires_grad)
    return _tensor_from_data(data, dtype, device, requires_grad)


def _new_sized(factory):
    """``self.new_zeros(*size)`` and kin: ``factory`` with self's dtype and device as the
    defaults."""

    def method(self, *sizes, size=None, dtype=None, device=None, requires_grad=False):
        sizes = sizes if size is None else (size,)
        _size(sizes)  # PyTorch's new_* check sizes with the generic text, zeros' own aside
        return factory(*sizes, dtype=dtype or self.dtype, device=device or self.device,
                       requires_grad=requires_grad)

    method.__name__ = "new_" + factory.__name__
    return method


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input) -> int:
    return input.numel()


__all__ = [
    "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like",
    "arange", "linspace", "logspace", "eye", "tril_indices", "triu_indices", "is_tensor",
    "numel",
] + from_data.__all__ + copies.__all__

from ._fill import copy_, fill_, fill_diagonal_, resize_, zero_  # noqa: E402 - they build on the above

TENSOR_METHODS = {
    **copies.TENSOR_METHODS,
    "zero_": zero_, "fill_": fill_, "fill_diagonal_": fill_diagonal_, "copy_": copy_,
    "resize_": resize_,
    "new_tensor": _new_tensor, "new_zeros": _new_sized(zeros), "new_ones": _new_sized(ones),
    "new_empty": _new_sized(empty), "new_full": _new_full,
}


def _pin_created(new_tensor):
    """``pin_memory=True`` of a factory: the new tensor in page-locked memory."""
    from ..cuda._pinned import pin_created

    return pin_created(new_tensor)
