"""``testing.assert_allclose``: the comparison PyTorch deprecated in 1.12 in favour of
``assert_close``, kept because older test suites still call it.

It differs from ``assert_close`` in what it accepts and how strict it is: non-tensor
arguments become tensors (``expected`` in ``actual``'s dtype), dtypes and strides are not
compared, NaNs compare equal by default, and the default tolerances come from an older
table (float32: rtol 1e-4, atol 1e-5), the looser of the two arguments' dtypes.
"""

from __future__ import annotations

import warnings

import ember

_OLD_PRECISIONS = {"float16": (1e-3, 1e-3), "float32": (1e-4, 1e-5), "float64": (1e-5, 1e-8)}


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """Deprecated: use ``assert_close``. Raise ``AssertionError`` unless the two are close
    (see the module docstring for how this one differs)."""
    from . import assert_close

    warnings.warn(
        "`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a "
        "future release. Please use `torch.testing.assert_close()` instead. You can find "
        "detailed upgrade instructions in https://github.com/pytorch/pytorch/issues/61844.",
        FutureWarning, stacklevel=2)
    if not isinstance(actual, ember.Tensor):
        actual = ember.tensor(actual)
    if not isinstance(expected, ember.Tensor):
        expected = ember.tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        pairs = [_OLD_PRECISIONS.get(str(t.dtype).split(".")[-1], (0.0, 0.0))
                 for t in (actual, expected)]
        rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True,
                 check_dtype=False, check_stride=False, msg=msg or None)
