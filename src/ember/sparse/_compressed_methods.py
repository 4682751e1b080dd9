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
}
COMPRESSED_METHODS.update({name: cmath.elementwise(name) for name in cmath.ZERO_PRESERVING})

for _name, _fn in COMPRESSED_METHODS.items():
    setattr(SparseCompressedTensor, _name, _fn)
