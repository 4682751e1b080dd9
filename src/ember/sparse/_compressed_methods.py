"""Method tables of the compressed layouts.

``TENSOR_METHODS`` joins the sparse family's table (``_methods.py``) on every Tensor: the
``to_sparse_csr/csc/bsr/bsc`` conversions of strided and COO tensors, ``to_sparse`` with a
``layout``, and ``sparse_mask`` with a compressed mask. ``COMPRESSED_METHODS`` are the
operators and methods of ``SparseCompressedTensor``; a dense left operand reaches them
because Python tries a subclass's reflected operator (``__radd__``, ``__rmatmul__``) first.
"""

from __future__ import annotations

from . import _compressed_math as cmath
from . import _math
from ._compressed import SparseCompressedTensor, like
from ._compressed_convert import to_sparse
from ._layout import sparse_bsc, sparse_bsr, sparse_csc, sparse_csr
from ._names import named


def _to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
    return to_sparse(self, sparse_dim, layout, blocksize, dense_dim)


def _coo_to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
    if layout is None or str(layout) == "torch.sparse_coo":
        if sparse_dim is not None and sparse_dim != self.sparse_dim():
            raise RuntimeError(
                "to_sparse: conversion from Sparse to Sparse with sparse_dim argument "
                "!=self.sparse_dim() is not supported")
        return self
    return to_sparse(self, sparse_dim, layout, blocksize, dense_dim)


def _converter(layout, blocked):
    if blocked:
        def convert(self, blocksize, dense_dim=None):
            return to_sparse(self, None, layout, blocksize, dense_dim)
    else:
        def convert(self, dense_dim=None):
            return to_sparse(self, None, layout, None, dense_dim)
    convert.__name__ = f"to_{str(layout)[6:]}"
    return convert


def _sparse_mask(self, mask):
    """``dense.sparse_mask(mask)``: ``self`` read at ``mask``'s stored entries, in
    ``mask``'s layout and pattern (differentiable in ``self``)."""
    if not isinstance(mask, SparseCompressedTensor):
        return _math.sparse_mask(self, mask)
    if tuple(self.shape) != mask._sp_shape:
        raise RuntimeError(
            f"sparse_mask(): operands have incompatible sizes; self has size "
            f"{list(self.shape)} but mask has size {list(mask._sp_shape)}")
    return like(mask, named(cmath._gather(self, mask), "SparseMaskBackward0"))


TENSOR_METHODS = {
    "to_sparse": _to_sparse,
    "to_sparse_csr": _converter(sparse_csr, False),
    "to_sparse_csc": _converter(sparse_csc, False),
    "to_sparse_bsr": _converter(sparse_bsr, True),
    "to_sparse_bsc": _converter(sparse_bsc, True),
    "sparse_mask": _sparse_mask,
}


def _rsub(self, other):
    return cmath.sub(other, self)


def _matmul(self, other):
    return cmath.matmul(self, other)


def _rmatmul(self, other):
    return cmath.matmul(other, self)


def _mm(self, mat2):
    return cmath.mm(self, mat2)


COMPRESSED_METHODS = {
    "__neg__": cmath.neg, "neg": cmath.neg,
    "__mul__": cmath.mul, "__rmul__": cmath.mul, "mul": cmath.mul,
    "__add__": cmath.add, "add": cmath.add,
    "__radd__": lambda self, other: cmath.add(other, self),
    "__sub__": cmath.sub, "sub": cmath.sub, "__rsub__": _rsub,
    "t": cmath.t, "transpose": cmath.transpose, "sum": cmath.sum,
    "mm": _mm, "mv": cmath.mv, "matmul": _matmul,
    "__matmul__": _matmul, "__rmatmul__": _rmatmul,
    "select": cmath.select, "__getitem__": cmath.getitem,
}
COMPRESSED_METHODS.update({name: cmath.elementwise(name) for name in cmath.ZERO_PRESERVING})


# -- in place: the stored values change (or, for zero_/add_/copy_, the whole triple) ----------


def _check_in_place(self):
    from ..autograd import is_grad_enabled

    if self.requires_grad and self.is_leaf and is_grad_enabled():
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation.")


def _take_parts(self, other):
    """``self`` becomes ``other`` (same size): indices, values and layout."""
    _check_in_place(self)
    self._sc_cidx, self._sc_pidx = other._sc_cidx, other._sc_pidx
    self._sp_values, self._sc_layout = other._sp_values, other._sc_layout
    self._vc[0] += 1
    return self


def _values_in_place(name):
    def method(self, *args, **kwargs):
        _check_in_place(self)
        getattr(self._sp_values, name)(*args, **kwargs)
        self._vc[0] += 1
        return self

    method.__name__ = name
    return method


def _mul_(self, other):
    if isinstance(other, SparseCompressedTensor) or (
            hasattr(other, "ndim") and other.ndim and tuple(other.shape) != self._sp_shape):
        return _take_parts(self, cmath.mul(self, other))
    if hasattr(other, "ndim") and other.ndim:  # a dense factor of the same size
        _check_in_place(self)
        self._sp_values.mul_(cmath._gather(other, self))
        self._vc[0] += 1
        return self
    return _values_in_place("mul_")(self, other)


def _add_(self, other, *, alpha=1):
    return _take_parts(self, cmath.add(self, other, alpha=alpha))


def _zero_(self):
    """PyTorch's ``zero_`` on a compressed tensor drops every stored entry."""
    _check_in_place(self)
    empty = self._sc_pidx.new_zeros(tuple(self._sc_pidx.shape[:-1]) + (0,))
    values = self._sp_values.new_zeros((0,) + tuple(self._sp_values.shape[1:]))
    self._sc_cidx = self._sc_cidx.new_zeros(tuple(self._sc_cidx.shape))
    self._sc_pidx, self._sp_values = empty, values
    self._vc[0] += 1
    return self


def _copy_(self, src, non_blocking=False):
    if not isinstance(src, SparseCompressedTensor) or src._sp_shape != self._sp_shape:
        raise RuntimeError("copy_: a compressed tensor copies only a compressed tensor of the "
                           "same size")
    if src._nnz() != self._nnz():
        raise RuntimeError("torch.copy_: only sparse compressed tensors with the same number "
                           "of specified elements are supported.")
    src = src.to(device=self.device, dtype=self.dtype)
    return _take_parts(self, src.clone())


IN_PLACE = {"mul_": _mul_, "add_": _add_, "zero_": _zero_, "copy_": _copy_,
            "fill_": _values_in_place("fill_"), "neg_": _values_in_place("neg_")}
IN_PLACE.update({f"{name}_": _values_in_place(f"{name}_") for name in cmath.ZERO_PRESERVING
                 if name not in ("angle", "isinf", "isnan", "isneginf", "isposinf", "positive",
                                 "signbit", "conj_physical")})
COMPRESSED_METHODS.update(IN_PLACE)

for _name, _fn in COMPRESSED_METHODS.items():
    setattr(SparseCompressedTensor, _name, _fn)
