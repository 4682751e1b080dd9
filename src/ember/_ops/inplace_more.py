"""ops family: the in-place forms of the BLAS-style products, of the running sums and
products, and of ``as_strided``.

Each is its out-of-place op (``ember._ops.linalg``, ``_cumulative``, ``combine``) written
back through the one in-place mechanism (``_inplace.apply_inplace``): the version counter
moves, a leaf that requires grad is refused in grad mode, a view passes the write to its
base. What is added here is what PyTorch checks only for the in-place call: the result
must have ``self``'s exact shape and dtype ("Bad in-place call"), and the dtype rules each
product's in-place kernel applies before computing.
"""

from __future__ import annotations

from .._backend import promote_np
from .._grad_assign import _CPP_TYPE_NAMES
from ._blas_dtypes import check_scalar_args, check_self_mat2
from ._cumulative import cumprod, cumsum
from ._elementwise import inplace_of
from ._inplace import apply_inplace, check_cast, needs_graph
from ._util import Tensor, inplace_check, np_dtype_of, shape_str, type_name
from .combine import as_strided
from .linalg import addbmm, addmm, addmv, addr, baddbmm

__all__ = ["addmv_", "as_strided_"]


def _cpp(tensor):
    name = str(tensor._data.dtype)
    return _CPP_TYPE_NAMES.get(name, name)


def _check_same_shape(self, result):
    """In-place products do not broadcast ``self``: the product's shape must be its own."""
    if self._data.shape != result._data.shape:
        raise RuntimeError(
            f"Bad in-place call: input tensor size {shape_str(self.shape)} and output tensor "
            f"size {shape_str(result.shape)} should match")


def _check_same_dtype(self, dtype):
    if self._data.dtype != dtype:
        name = str(dtype)
        raise RuntimeError(
            f"Bad in-place call: input tensor dtype {_cpp(self)} and output tensor dtype "
            f"{_CPP_TYPE_NAMES.get(name, name)} should match")


def _product_inplace(self, result):
    _check_same_shape(self, result)
    return apply_inplace(self, result)


def addmm_(self, mat1, mat2, *, beta=1, alpha=1):
    """``self = beta * self + alpha * (mat1 @ mat2)``, ``self`` of the product's shape."""
    if type(beta) is not int or type(alpha) is not int:
        check_scalar_args("addmm_", None, beta, alpha)
    if isinstance(mat1, Tensor) and isinstance(mat2, Tensor):
        check_self_mat2(self, mat1, mat2)
    return _product_inplace(self, addmm(self, mat1, mat2, beta=beta, alpha=alpha))


def addmv_(self, mat, vec, *, beta=1, alpha=1):
    """``self = beta * self + alpha * (mat @ vec)`` (also ``ember.addmv_``)."""
    if type(beta) is not int or type(alpha) is not int:
        check_scalar_args("addmv_", None, beta, alpha)
    dtypes = {t._data.dtype for t in (self, mat, vec) if isinstance(t, Tensor)}
    if len(dtypes) > 1:
        raise RuntimeError(
            f"addmv input tensors must have the same dtype, but got "
            f"{type_name(self._data.dtype)}, {type_name(mat._data.dtype)}, and "
            f"{type_name(vec._data.dtype)}")
    return _product_inplace(self, addmv(self, mat, vec, beta=beta, alpha=alpha))


def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1):
    """``self = beta * self + alpha * bmm(batch1, batch2)``."""
    if type(beta) is not int or type(alpha) is not int:
        check_scalar_args("baddbmm_", None, beta, alpha)
    if isinstance(batch1, Tensor) and isinstance(batch2, Tensor):
        if self._data.dtype != batch1._data.dtype:
            raise RuntimeError(
                f"Input dtypes must be the same, got: input {_cpp(self)}, batch1: "
                f"{_cpp(batch1)}, batch2: {_cpp(batch2)}")
        _check_same_dtype(self, batch2._data.dtype)  # the kernel's result takes batch2's
    return _product_inplace(self, baddbmm(self, batch1, batch2, beta=beta, alpha=alpha))


def addbmm_(self, batch1, batch2, *, beta=1, alpha=1):
    """``self = beta * self + alpha * sum_b batch1[b] @ batch2[b]``. As PyTorch's, ``self``
    need only broadcast to the product's shape; it is then resized to that shape."""
    if type(beta) is not int or type(alpha) is not int:
        check_scalar_args("addbmm_", None, beta, alpha)
    if isinstance(batch1, Tensor) and isinstance(batch2, Tensor):
        check_self_mat2(self, batch1, batch2)
        if batch1.ndim == 3 and batch2.ndim == 3:
            _check_expandable(self.shape, (batch1.shape[1], batch2.shape[2]))
    result = addbmm(self, batch1, batch2, beta=beta, alpha=alpha)
    if self._data.shape != result._data.shape:
        return _adopt_resized(self, result)
    return apply_inplace(self, result)


def _check_expandable(shape, target):
    """``self.expand(target)``'s check, with its message."""
    shape, target = tuple(shape), tuple(target)
    if len(shape) > len(target):
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(target)}) must be greater or equal "
            f"to the number of dimensions in the tensor ({len(shape)})")
    padded = (1,) * (len(target) - len(shape)) + shape
    for dim, (have, want) in enumerate(zip(padded, target)):
        if have != want and have != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({want}) must match the existing size "
                f"({have}) at non-singleton dimension {dim}.  Target sizes: "
                f"{shape_str(target)}.  Tensor sizes: {shape_str(shape)}")


def _adopt_resized(self, result):
    """``self`` takes ``result``'s shape and values (an ``out=`` resize: new memory)."""
    if self._base is not None:
        raise RuntimeError(
            f"Bad in-place call: input tensor size {shape_str(self.shape)} and output tensor "
            f"size {shape_str(result.shape)} should match")
    inplace_check(self)
    self._data = result._data.copy()
    self._vc[0] += 1
    if result._requires_grad:
        self._requires_grad = True
        self.grad_fn = result.grad_fn
        self._output_nr = result._output_nr
    return self


def addr_(self, vec1, vec2, *, beta=1, alpha=1):
    """``self = beta * self + alpha * outer(vec1, vec2)`` (dtypes promote, then cast back
    into ``self`` where that is a safe cast)."""
    if type(beta) is not int or type(alpha) is not int:
        check_scalar_args("addr_", None, beta, alpha)
    for name, vec in (("vec1", vec1), ("vec2", vec2)):
        if isinstance(vec, Tensor) and vec.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {vec.ndim}-D")
    if self.ndim != 2:
        raise RuntimeError(f"2D tensor expected, got {self.ndim}D tensor for input")
    if tuple(self.shape) != (vec1.shape[0], vec2.shape[0]):
        raise RuntimeError(
            f"size mismatch, input: {shape_str(self.shape)}, v1: {shape_str(vec1.shape)}, "
            f"v2: {shape_str(vec2.shape)}")
    # the iterator's cast check comes before addr's own checks of beta and alpha
    dtype = self._data.dtype
    check_cast(promote_np(promote_np(dtype, vec1._data.dtype), vec2._data.dtype), dtype)
    return apply_inplace(self, addr(self, vec1, vec2, beta=beta, alpha=alpha))


def _scan_inplace(name, scan):
    clone_self = inplace_of(scan, saves_self=True)  # cumprod's backward reads its input

    def method(self, dim, *, dtype=None):
        if dtype is not None:
            _check_same_dtype(self, np_dtype_of(dtype))
        return clone_self(self, dim, dtype=self.dtype)  # bool: the scan's own refusal

    method.__name__ = name + "_"
    method.__doc__ = (f"In-place ``{name}`` along ``dim``, accumulated in ``self``'s own "
                      "dtype (integers wrap around as PyTorch's do).")
    return method


cumsum_ = _scan_inplace("cumsum", cumsum)
cumprod_ = _scan_inplace("cumprod", cumprod)


def as_strided_(self, size, stride, storage_offset=None):
    """Make ``self`` the ``(size, stride, storage_offset)`` window onto its own storage
    (also ``ember.as_strided_``). Its history becomes ``AsStridedBackward`` of the old one;
    the version counter moves as for every in-place op."""
    if needs_graph(self):
        inplace_check(self)
    view = as_strided(self, size, stride, storage_offset)
    self._data = view._data
    self._vc[0] += 1
    if self._base is not None:
        self._view_vc = self._vc[0]  # the history attached below is current
    if view._requires_grad and view.grad_fn is not None:
        self.grad_fn = view.grad_fn
        self._output_nr = view._output_nr
    return self


TENSOR_METHODS = {
    "addmm_": addmm_, "addmv_": addmv_, "addbmm_": addbmm_, "baddbmm_": baddbmm_,
    "addr_": addr_, "cumsum_": cumsum_, "cumprod_": cumprod_, "as_strided_": as_strided_,
}
