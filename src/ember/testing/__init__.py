"""``ember.testing`` (PyTorch's ``torch.testing``): ``assert_close`` and ``make_tensor``.

Compares tensors, NumPy arrays, Python numbers and (nested) sequences or mappings of
them with PyTorch's default tolerances per dtype and its failure messages."""

from __future__ import annotations

import cmath
from collections.abc import Mapping, Sequence
from numbers import Number

import numpy as np

import ember

from ._allclose import assert_allclose
from ._creation import make_tensor

__all__ = ["assert_allclose", "assert_close", "make_tensor"]

_DTYPE_PRECISIONS = {
    "float16": (0.001, 1e-5), "bfloat16": (0.016, 1e-5), "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7),
    "complex32": (0.001, 1e-5),
}


def _host_values(tensor):
    """NumPy values to compare: bfloat16 as float32, complex32 as complex64 (both exact)."""
    tensor = tensor.detach().cpu()
    if tensor.dtype is ember.bfloat16:
        tensor = tensor.float()
    elif tensor.dtype is ember.complex32:
        tensor = tensor.to(ember.complex64)
    return np.asarray(tensor.numpy())


def _tolerances(dtype_name, rtol, atol):
    if (rtol is None) != (atol is None):
        raise ValueError(
            f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
            f"{'rtol' if rtol is None else 'atol'}.")
    if rtol is not None:
        return rtol, atol
    return _DTYPE_PRECISIONS.get(dtype_name, (0.0, 0.0))


def _mismatch_msg(identifier, extra, abs_diff, abs_idx, atol, rel_diff, rel_idx, rtol):
    equality = rtol == 0 and atol == 0
    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n"
    if extra:
        msg += f"{extra.strip()}\n"
    for kind, diff, idx, tol in (("absolute", abs_diff, abs_idx, atol),
                                 ("relative", rel_diff, rel_idx, rtol)):
        line = (f"{kind.title()} difference: {diff}" if idx is None
                else f"Greatest {kind} difference: {diff} at index {idx}")
        if not equality:
            line += f" (up to {tol} allowed)"
        msg += line + "\n"
    return msg.strip()


def _compare_scalars(actual, expected, rtol, atol, equal_nan, msg):
    if type(actual) is not type(expected) and not (
            isinstance(actual, Number) and isinstance(expected, Number)):
        raise AssertionError(msg or f"The values for attribute 'type' do not match: "
                             f"{type(actual)} != {type(expected)}.")
    if isinstance(expected, bool) or not isinstance(expected, (float, complex)):
        default = (0.0, 0.0)
    else:
        default = _DTYPE_PRECISIONS["complex128" if isinstance(expected, complex) else "float64"]
    rtol, atol = default if rtol is None and atol is None else _tolerances(None, rtol, atol)
    both_nan = equal_nan and cmath.isnan(actual) and cmath.isnan(expected)
    if both_nan or abs(actual - expected) <= atol + rtol * abs(expected):
        return
    if msg is not None:
        raise AssertionError(msg)
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    raise AssertionError(_mismatch_msg("Scalars", f"Expected {expected} but got {actual}.",
                                       abs_diff, None, atol, rel_diff, None, rtol))


def _as_tensor(value):
    if isinstance(value, ember.Tensor):
        return value
    return ember.as_tensor(value)


def _compare_tensors(actual, expected, rtol, atol, equal_nan, check_device, check_dtype,
                     check_stride, msg):
    actual, expected = _as_tensor(actual), _as_tensor(expected)
    checks = [("shape", actual.shape, expected.shape)]
    if check_device:
        checks.append(("device", actual.device, expected.device))
    if check_dtype:
        checks.append(("dtype", actual.dtype, expected.dtype))
    if check_stride:
        checks.append(("stride()", actual.stride(), expected.stride()))
    for attribute, mine, theirs in checks:
        if mine != theirs:
            raise AssertionError(msg or f"The values for attribute '{attribute}' do not "
                                 f"match: {mine} != {theirs}.")
    if actual.dtype != expected.dtype:
        common = ember.promote_types(actual.dtype, expected.dtype)
        actual, expected = actual.to(common), expected.to(common)
    rtol, atol = _tolerances(str(actual.dtype).replace("torch.", ""), rtol, atol)
    mine, theirs = _host_values(actual), _host_values(expected)
    if mine.dtype == np.bool_:
        mine, theirs = mine.astype(np.int64), theirs.astype(np.int64)
    matches = np.isclose(mine, theirs, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if matches.all():
        return
    if msg is not None:
        raise AssertionError(msg)
    if mine.ndim == 0:
        _compare_scalars(mine.item(), theirs.item(), rtol, atol, equal_nan, None)
        return
    total, mismatched = matches.size, int(matches.size - matches.sum())
    extra = f"Mismatched elements: {mismatched} / {total} ({mismatched / total:.1%})"
    if mine.dtype.kind in "iub":
        mine, theirs = mine.astype(np.int64), theirs.astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        abs_diff = np.abs(mine - theirs).ravel()
        abs_diff[matches.ravel()] = 0
        if abs_diff.dtype.kind != "f":  # int / int divides in the default float dtype
            abs_diff = abs_diff.astype(np.float32)
        rel_diff = abs_diff / np.abs(theirs).ravel().astype(abs_diff.dtype)
        rel_diff[matches.ravel()] = 0
    abs_at, rel_at = int(np.argmax(abs_diff)), int(np.argmax(rel_diff))
    greatest = abs_diff[abs_at].item()
    if mine.dtype.kind in "iub":
        greatest = int(greatest)
    raise AssertionError(_mismatch_msg(
        "Tensor-likes", extra, greatest,
        tuple(int(i) for i in np.unravel_index(abs_at, mine.shape)), atol,
        rel_diff[rel_at].item(), tuple(int(i) for i in np.unravel_index(rel_at, mine.shape)),
        rtol))


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    """Raise ``AssertionError`` unless ``actual`` and ``expected`` are close:
    ``|actual - expected| <= atol + rtol * |expected|`` elementwise, with matching shape,
    device and dtype. Default tolerances come from the dtype (float32: 1.3e-6, 1e-5)."""
    tensor_like = (ember.Tensor, np.ndarray)
    if isinstance(actual, tensor_like) or isinstance(expected, tensor_like):
        same_kind = (isinstance(actual, ember.Tensor) and isinstance(expected, ember.Tensor)) or (
            isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray))
        if not same_kind:
            raise TypeError(f"No comparison pair was able to handle inputs of type "
                            f"{type(actual)} and {type(expected)}.")
        _compare_tensors(actual, expected, rtol, atol, equal_nan, check_device, check_dtype,
                         check_stride, msg)
    elif isinstance(actual, Number) and isinstance(expected, Number):
        _compare_scalars(actual, expected, rtol, atol, equal_nan, msg)
    elif isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            raise AssertionError(msg or "The keys of the mappings do not match:\n"
                                 f"{sorted(map(str, actual))} != {sorted(map(str, expected))}")
        for key in expected:
            assert_close(actual[key], expected[key], rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_device=check_device, check_dtype=check_dtype,
                         check_stride=check_stride, msg=msg)
    elif (isinstance(actual, Sequence) and isinstance(expected, Sequence)
          and not isinstance(actual, str) and not isinstance(expected, str)):
        if len(actual) != len(expected):
            raise AssertionError(msg or "The length of the sequences mismatch: "
                                 f"{len(actual)} != {len(expected)}")
        for mine, theirs in zip(actual, expected):
            assert_close(mine, theirs, rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_device=check_device, check_dtype=check_dtype,
                         check_stride=check_stride, msg=msg)
    elif actual != expected:
        raise AssertionError(msg or f"{actual!r} != {expected!r}")
