"""``ember.sparse``: the COO layout (``torch.sparse_coo``), the compressed layouts
(``sparse_csr``/``csc``/``bsr``/``bsc``, see ``_compressed.py``) and the ``torch.sparse``
functions graph-network code uses: ``mm``, ``addmm``, ``sum``, ``softmax``, ``log_softmax``,
``sampled_addmm``.

``ember.sparse_coo_tensor(indices, values, size)`` builds a tensor; ``x.to_sparse()``
converts a dense one and ``s.to_dense()`` converts back. See ``_coo.py`` for how autograd
reaches ``values``, ``_embedding.py`` for ``nn.Embedding(sparse=True)``'s gradient.

Dense ops that have no sparse version here refuse a sparse operand with PyTorch's
"Could not run 'aten::op' with arguments from the 'SparseCPU' backend". Function forms of
the COO methods (``torch.add(dense, s)``, ``torch.abs(s)``) are not dispatched: use the
methods and operators (``dense + s``, ``s.abs()``), ``torch.sparse.*`` or ``torch.mm``/
``torch.matmul``/``torch.addmm``/``@``, which are. Compressed tensors' function forms are
(``_compressed_dispatch.py``).
"""

from __future__ import annotations

from . import _compressed_math, _math
from ._compressed import (
    SparseCompressedTensor,
    sparse_bsc_tensor,
    sparse_bsr_tensor,
    sparse_compressed_tensor,
    sparse_csc_tensor,
    sparse_csr_tensor,
)
from ._coo import (
    SparseCooTensor,
    check_sparse_tensor_invariants,
    dense_to_sparse,
    sparse_coo_tensor,
)
from ._gradcheck import as_sparse_gradcheck
from ._layout import layout, sparse_bsc, sparse_bsr, sparse_coo, sparse_csc, sparse_csr, strided

__all__ = [
    "SparseCompressedTensor", "SparseCooTensor", "addmm", "as_sparse_gradcheck",
    "check_sparse_tensor_invariants", "dense_to_sparse", "layout", "log_softmax", "mm",
    "sampled_addmm", "smm", "softmax", "sparse_bsc", "sparse_bsc_tensor", "sparse_bsr",
    "sparse_bsr_tensor", "sparse_compressed_tensor", "sparse_coo", "sparse_coo_tensor",
    "sparse_csc", "sparse_csc_tensor", "sparse_csr", "sparse_csr_tensor", "spmm", "strided",
    "sum",
]


def _require_sparse(name, input):
    if isinstance(input, SparseCompressedTensor):
        raise RuntimeError(f"coalesce expected sparse coordinate tensor layout but got "
                           f"{_compressed_math._label(input)}")
    if not isinstance(input, SparseCooTensor):
        raise TypeError(f"{name}: expected a sparse COO tensor, got layout {input.layout}")


def _math_of(*operands):
    """The op family for these operands: compressed or COO."""
    if any(isinstance(x, SparseCompressedTensor) for x in operands):
        return _compressed_math
    return _math


def mm(mat1, mat2):
    """Matrix product with a sparse operand: ``sparse @ dense`` and ``dense @ sparse`` give
    dense results; gradients reach the sparse operand's values (its own indices)."""
    return _math_of(mat1, mat2).mm(mat1, mat2, "SparseAddmmBackward0")


def sampled_addmm(input, mat1, mat2, *, beta=1.0, alpha=1.0, out=None):
    """``beta * input + alpha * (mat1 @ mat2)`` evaluated only where the CSR ``input``
    stores an entry: a CSR result with ``input``'s pattern."""
    return _compressed_math.sampled_addmm(input, mat1, mat2, beta=beta, alpha=alpha, out=out)


def spmm(input, mat2):
    """``torch.spmm``: ``mm`` with a sparse first operand."""
    if isinstance(input, SparseCompressedTensor):
        return _compressed_math.mm(input, mat2)
    _require_sparse("spmm", input)
    return _math.mm(input, mat2)


def smm(input, mat):
    """``torch.smm``: ``sparse @ dense`` returned sparse (all columns of each stored row)."""
    return _math.smm(input, mat)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0):
    """``beta * mat + alpha * (mat1 @ mat2)`` with ``mat1`` sparse, ``mat``/``mat2`` dense."""
    if isinstance(mat1, SparseCompressedTensor):
        return _compressed_math.addmm(mat, mat1, mat2, beta=beta, alpha=alpha,
                                      node_name="SparseAddmmBackward0")
    _require_sparse("addmm", mat1)
    return _math.addmm(mat, mat1, mat2, beta=beta, alpha=alpha, node_name="SparseAddmmBackward0")


def sum(input, dim=None, dtype=None):
    """Sum of all elements (a dense 0-d tensor) or over ``dim`` (sparse while a sparse
    dimension remains)."""
    _require_sparse("sparse.sum", input)
    return _math.sum(input, dim, dtype=dtype)


def softmax(input, dim, *, dtype=None):
    """Softmax over ``dim`` among the stored entries: unstored entries act as -inf, so the
    result keeps the (coalesced) input's indices."""
    if isinstance(input, SparseCompressedTensor):
        return _compressed_math.softmax(input, dim, dtype)
    _require_sparse("sparse.softmax", input)
    return _math.softmax(input, dim, dtype)


def log_softmax(input, dim, *, dtype=None):
    """``log(softmax(input, dim))`` on the stored entries, computed stably."""
    if isinstance(input, SparseCompressedTensor):
        return _compressed_math.log_softmax(input, dim, dtype)
    _require_sparse("sparse.log_softmax", input)
    return _math.log_softmax(input, dim, dtype)
