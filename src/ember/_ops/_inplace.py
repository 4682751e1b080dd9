"""In-place ops: one mechanism for all of them.

Without a graph to record, an in-place op is a NumPy/CuPy ufunc writing into the
tensor's own memory (views see the change). With a graph, the op is computed out of
place, written back, and the tensor adopts the result's history. Either way the version
counter is bumped, so a backward that saved the old value raises PyTorch's error.
"""

from __future__ import annotations

from .._backend.device import retry_with_host_scalars
from .._backend.float8 import FLOAT8_NP
from .._backend.dtypes import category
from ..autograd import forward_ad as _forward_ad
from ..autograd.grad_mode import _grad_enabled
from ._util import Tensor, inplace_check, type_name


def check_cast(src_dtype, dst_dtype):
    if src_dtype != dst_dtype and category(src_dtype) > category(dst_dtype):
        raise RuntimeError(
            f"result type {type_name(src_dtype)} can't be cast to the desired output type "
            f"{type_name(dst_dtype)}"
        )


def needs_graph(self, *others) -> bool:
    if not _grad_enabled[0]:
        return False
    if self._requires_grad:
        return True
    for other in others:
        if isinstance(other, Tensor) and other._requires_grad:
            return True
    return False


def apply_inplace(self, result):
    """Write an out-of-place ``result`` into ``self``; adopt its autograd history."""
    if self._base is not None and _grad_enabled[0] and (
        result._requires_grad or self._base._requires_grad
    ):  # a view of a tracked tensor: the base takes the history (PyTorch's CopySlices)
        from .index import rebase_view

        out = rebase_view(self, result)
        if _forward_ad.ACTIVE[0]:  # forward AD: self takes the result's tangent
            _forward_ad.inherit_tangent(self, result)
        return out
    inplace_check(self)
    src = result._data
    dst = self._data
    check_cast(src.dtype, dst.dtype)
    if src.shape != dst.shape:
        if src.ndim > dst.ndim or any(
            s != d and s != 1 for s, d in zip(src.shape[::-1], dst.shape[::-1])
        ):
            raise RuntimeError(
                f"output with shape {list(dst.shape)} doesn't match the broadcast shape "
                f"{_broadcast_shape(src.shape, dst.shape)}"
            )
    dst[...] = src
    self._vc[0] += 1
    if result._requires_grad:
        self._requires_grad = True
        self.grad_fn = result.grad_fn
        self._output_nr = result._output_nr
    if _forward_ad.ACTIVE[0]:  # forward AD: self takes the result's tangent
        _forward_ad.inherit_tangent(self, result)
    return self


def _broadcast_shape(a, b):
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    return [max(x, y) for x, y in zip(a, b)]


def ufunc_inplace(self, ufunc, other, out_of_place, *args):
    """``self.op_(other)``: a direct ufunc write when nothing is recorded."""
    if needs_graph(self, other) or _forward_ad.ACTIVE[0]:
        return apply_inplace(self, out_of_place(self, other, *args))
    inplace_check(self)
    operand = other._data if isinstance(other, Tensor) else other
    dst = self._data
    if hasattr(operand, "dtype"):
        check_cast(operand.dtype, dst.dtype)
        if operand.ndim > dst.ndim or (operand.shape != dst.shape and any(
            s != d and s != 1 for s, d in zip(operand.shape[::-1], dst.shape[::-1])
        )):
            raise RuntimeError(
                f"output with shape {list(dst.shape)} doesn't match the broadcast shape "
                f"{_broadcast_shape(operand.shape, dst.shape)}"
            )
    elif isinstance(operand, float) and dst.dtype.kind in "biu":
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type {type_name(dst.dtype)}"
        )
    if (dst.dtype.kind == "V" and dst.dtype.fields is not None) or (
            dst.dtype.itemsize == 1 and dst.dtype in FLOAT8_NP):
        # complex32 (no NumPy arithmetic) and float8 (PyTorch's rounding or errors): the
        # out-of-place op computes, apply_inplace writes back
        return apply_inplace(self, out_of_place(self, other, *args))
    try:
        ufunc(dst, operand, out=dst, casting="unsafe")
    except TypeError as error:  # CuPy refusing a host array: a 0-d cpu tensor is a scalar
        retry_with_host_scalars(lambda _, scalar: ufunc(dst, scalar, out=dst, casting="unsafe"),
                                [dst, operand], error)
    self._vc[0] += 1
    return self
