"""``ember.testing.make_tensor`` (PyTorch's ``torch.testing.make_tensor``): random test
inputs of a given shape, dtype and device, uniform in ``[low, high)``."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import ember

__all__ = ["make_tensor"]


def _is_integral(dtype) -> bool:
    return dtype == ember.bool or not (dtype.is_floating_point or dtype.is_complex)


def _interval(dtype, low, high, *, lowest: float, highest: float, default_low: float,
              default_high: float):
    """``[low, high)`` for ``dtype``: the defaults filled in, NaN and empty intervals refused,
    clamped to what the dtype represents, rounded up to integers for integral dtypes."""
    low = default_low if low is None else low
    high = default_high if high is None else high
    if any(isinstance(value, float) and math.isnan(value) for value in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low == high and not _is_integral(dtype):
        warnings.warn(
            "Passing `low==high` to `torch.testing.make_tensor` for floating or complex types "
            "is deprecated since 2.1 and will be removed in 2.3. Use `torch.full(...)` "
            "instead.", FutureWarning, stacklevel=3)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lowest or low >= highest:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, "
                         f"{high}), but {dtype} only supports [{lowest}, {highest})")
    low, high = min(max(low, lowest), highest), min(max(high, lowest), highest)
    if _is_integral(dtype):
        return math.ceil(low), math.ceil(high)
    return low, high


def _uniform(shape, low: float, high: float, dtype, device):
    """Uniform floats in ``[low, high)``; an interval wider than the dtype's largest value is
    drawn at half size and doubled, so its width does not overflow."""
    real_dtype = {ember.complex64: ember.float32, ember.complex128: ember.float64}.get(dtype,
                                                                                       dtype)
    draw_shape = (*shape, 2) if dtype.is_complex else shape
    values = ember.empty(draw_shape, dtype=real_dtype, device=device)
    if high - low >= ember.finfo(real_dtype).max:
        values.uniform_(low / 2, high / 2).mul_(2)
    else:
        values.uniform_(low, high)
    return ember.view_as_complex(values) if dtype.is_complex else values


def make_tensor(*shape, dtype, device, low: float | None = None, high: float | None = None,
                requires_grad: bool = False, noncontiguous: bool = False,
                exclude_zero: bool = False, memory_format=None):
    """A tensor of ``shape`` with values drawn uniformly from ``[low, high)``.

    Defaults: bool ``[0, 2)``, unsigned integers ``[0, 10)``, signed integers ``[-9, 10)``,
    floating and complex ``[-9, 9)``; bounds outside the dtype's range are clamped to it.
    ``noncontiguous`` returns a strided view (when there are two or more elements);
    ``exclude_zero`` replaces zeros by 1 (integral) or the dtype's ``tiny``.

    Example:
        >>> make_tensor((3,), device="cpu", dtype=ember.float32, low=-1, high=1).shape
        torch.Size([3])
    """
    if len(shape) == 1 and isinstance(shape[0], Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError(
            f"The parameters `noncontiguous` and `memory_format` are mutually exclusive, but "
            f"got noncontiguous={noncontiguous} and memory_format={memory_format}")
    integral = _is_integral(dtype)
    if requires_grad and integral:
        raise ValueError("`requires_grad=True` is not supported for boolean and integral "
                         f"dtypes, but got dtype={dtype}")
    noncontiguous = noncontiguous and math.prod(shape) > 1
    if noncontiguous:
        shape = (*shape[:-1], 2 * shape[-1])  # every other element along the last dim

    if dtype == ember.bool:
        low, high = _interval(dtype, low, high, lowest=0, highest=2, default_low=0,
                              default_high=2)
        result = ember.randint(low, high, shape, device=device, dtype=dtype)
    elif integral:
        info = ember.iinfo(dtype)
        low, high = _interval(dtype, low, high, lowest=info.min,
                              highest=info.max + (dtype != ember.int64), default_low=-9,
                              default_high=10)
        result = ember.randint(low, high, shape, device=device, dtype=dtype)
    elif dtype.is_floating_point or dtype.is_complex:
        info = ember.finfo(dtype)
        low, high = _interval(dtype, low, high, lowest=info.min, highest=info.max,
                              default_low=-9, default_high=9)
        result = _uniform(shape, low, high, dtype, device)
    else:
        raise TypeError(
            f"The requested dtype '{dtype}' is not supported by torch.testing.make_tensor(). "
            "To request support, file an issue at: https://github.com/pytorch/pytorch/issues")

    if noncontiguous:
        result = result[..., 1::2]  # offset by one so offset bugs show too
    elif memory_format is not None:
        result = result.clone(memory_format=memory_format)
    if exclude_zero:
        result[result == 0] = 1 if integral else ember.finfo(dtype).tiny
    if not integral:
        result.requires_grad = requires_grad
    return result
