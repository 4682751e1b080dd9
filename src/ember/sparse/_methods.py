"""The sparse family's method tables.

``TENSOR_METHODS`` is bound onto every Tensor by ``ember._ops`` (as each op family's is):
``to_sparse``/``to_sparse_coo``, ``to_dense`` (``self`` for a strided tensor) and the
``layout`` attribute as a real ``torch.layout`` object. ``SPARSE_METHODS`` are the
operators and methods of ``SparseCooTensor`` itself; a dense left operand reaches them
because Python tries a subclass's reflected operator (``__radd__``, ``__rmatmul__``) first.
"""

from __future__ import annotations

from . import _compressed_methods, _math
from ._coo import SparseCooTensor, dense_to_sparse
from ._layout import strided


def _to_sparse_coo(self, sparse_dim=None):
    return dense_to_sparse(self, sparse_dim)


def _to_dense(self, dtype=None, *, masked_grad=None):
    return self if dtype is None else self.to(dtype)


def _rsub(self, other):
    return _math.sub(other, self)


def _rtruediv(self, other):
    raise RuntimeError("Sparse division requires a scalar or zero-dim dense tensor divisor "
                       "(got a sparse divisor)")


def _sparse_matmul(self, other):
    return _math.matmul(self, other)


def _sparse_rmatmul(self, other):
    return _math.matmul(other, self)


def _sum(self, dim=None, keepdim=False, dtype=None):
    if keepdim:
        raise RuntimeError("sum: keepdim=True is not supported for sparse tensors")
    return _math.sum(self, dim, dtype=dtype, node_name="SumBackward1")


TENSOR_METHODS = {
    "to_sparse_coo": _to_sparse_coo,
    "to_dense": _to_dense,
    "sparse_mask": _math.sparse_mask,
    "is_sparse_csr": False,
    "layout": strided,
}
# The compressed layouts' conversions (to_sparse with a layout, to_sparse_csr, ...).
TENSOR_METHODS.update(_compressed_methods.TENSOR_METHODS)

SPARSE_METHODS = {
    "__neg__": _math.neg, "neg": _math.neg,
    "__mul__": _math.mul, "__rmul__": _math.mul, "mul": _math.mul,
    "__truediv__": _math.div, "div": _math.div, "__rtruediv__": _rtruediv,
    "__add__": _math.add, "add": _math.add,
    "__radd__": lambda self, other: _math.add(other, self),
    "__sub__": _math.sub, "sub": _math.sub, "__rsub__": _rsub,
    "t": _math.t, "transpose": _math.transpose,
    "sum": _sum, "index_select": _math.index_select,
    "mm": _math.mm, "matmul": _sparse_matmul,
    "__matmul__": _sparse_matmul, "__rmatmul__": _sparse_rmatmul,
}

SPARSE_METHODS.update({name: _math.elementwise(name) for name in _math.ZERO_PRESERVING})
SPARSE_METHODS.update({"pow": _math.pow, "__pow__": _math.pow})
SPARSE_METHODS["to_sparse"] = _compressed_methods._coo_to_sparse

for _name, _fn in SPARSE_METHODS.items():
    setattr(SparseCooTensor, _name, _fn)
