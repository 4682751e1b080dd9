"""Arithmetic, reductions and products on compressed (CSR/CSC/BSR/BSC) tensors.

As for COO (``_math.py``), every op is written on ``values`` with differentiable dense ops,
so autograd and ``create_graph`` come for free; index bookkeeping is plain array work.
Products expand the stored blocks to element-level (row, column, value) triples and reuse
COO's one-node product (``_spmm.SparseDenseMm``).

Gradients reach the stored values (PyTorch's ``torch.sparse.mm`` and pointwise semantics),
except where PyTorch sends a dense gradient over every entry: ``torch.mm``/``@``/``addmm``/
``mv``/``sum()``/``dense + csr`` back to a compressed leaf or a dense source, through
conversions, transposes, scalar products and sums (``_compressed_leafgrad``'s twins).
"""

from __future__ import annotations

import numbers

import numpy as np

from .._backend import array_module
from .._tensor import Tensor, _make
from ._compressed import (
    _BLOCKED,
    _ROW_COMPRESSED,
    SparseCompressedTensor,
    _new,
    from_entries,
    layout_label,
    like,
)
from ._compressed_convert import _element_entries
from ._compressed_leafgrad import (
    ShadowDense,
    ShadowMm,
    ShadowSum,
    TwinScale,
    TwinSum,
    TwinTranspose,
    shadow_of,
    with_twin,
)
from ._layout import sparse_bsc, sparse_bsr, sparse_csc, sparse_csr
from ._names import named
from ._spmm import SparseDenseMm

_FLIPPED = {sparse_csr: sparse_csc, sparse_csc: sparse_csr, sparse_bsr: sparse_bsc,
            sparse_bsc: sparse_bsr}


def _is_compressed(x):
    return isinstance(x, SparseCompressedTensor)


def _label(x):
    return layout_label(x._sc_layout)


def _dtype_label(x):
    from ._compressed_check import _type_name

    return _type_name(x)


# -- products -------------------------------------------------------------------------------


def _matrix_entries(sparse, op="addmm"):
    """Element-level ``(rows, cols, values)`` of a 2-D compressed matrix without dense
    dimensions; ``values`` is a differentiable 1-D view of the stored values."""
    if sparse._batch_dim() or sparse.dense_dim():
        raise RuntimeError(f"Sparse {_label(sparse)[6:].upper()} tensors do not have strides")
    if sparse._sc_layout is sparse_bsc:
        raise RuntimeError(f"{op}: computation on CPU is not implemented for Strided + "
                           "SparseBsc @ Strided")
    _, rows, cols, values = _element_entries(sparse)
    return rows, cols, values


def _check_mm(mat1, mat2):
    if mat2.ndim != 2:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [-{mat2.ndim}, "
            f"{mat2.ndim - 1}], but got 1)")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x{mat1.shape[1]} and "
            f"{mat2.shape[0]}x{mat2.shape[1]})")
    if mat1.dtype != mat2.dtype:
        raise RuntimeError(f"expected scalar type {_dtype_label(mat1)} but found "
                           f"{_dtype_label(mat2)}")


def _sparse_dense(sparse, dense, op="addmm", dense_grad=False):
    """``sparse @ dense`` (dense result), one autograd node. ``dense_grad``: a leaf
    ``sparse`` gets PyTorch's dense gradient (``_compressed_leafgrad``)."""
    rows, cols, values = _matrix_entries(sparse, op)
    shadow = shadow_of(sparse) if dense_grad else None
    if shadow is not None:
        return ShadowMm.apply(shadow, dense, values.detach(), rows, cols, sparse.shape[0],
                              False)
    return SparseDenseMm.apply(values, dense, rows, cols, sparse.shape[0])


def _dense_sparse(dense, sparse, op="addmm", dense_grad=False):
    """``dense @ sparse`` as ``(sparse^T @ dense^T)^T``."""
    rows, cols, values = _matrix_entries(sparse, op)
    shadow = shadow_of(sparse) if dense_grad else None
    if shadow is not None:
        return ShadowMm.apply(shadow, dense.t(), values.detach(), cols, rows, sparse.shape[1],
                              True).t()
    return SparseDenseMm.apply(values, dense.t(), cols, rows, sparse.shape[1]).t()


def _sparse_sparse(mat1, mat2):
    """``sparse @ sparse``: a CSR result on the structural pattern of the product (an entry
    wherever some stored pair meets, even if the sum cancels), values differentiable."""
    product = _dense_sparse(mat1.to_dense(), mat2)
    xp = array_module(mat1._sc_pidx._data)
    pattern = (_pattern(mat1, xp).astype(np.float32) @ _pattern(mat2, xp).astype(np.float32)) > 0
    rows, cols = (w.astype(np.int64) for w in xp.nonzero(pattern))
    values = product[_make(rows), _make(cols)]
    cidx, pidx = from_entries(xp, (), pattern.shape[0], rows, cols, rows.shape[0])
    return _new(cidx, pidx, values, pattern.shape, sparse_csr)


def _pattern(sparse, xp):
    rows, cols, _ = _matrix_entries(sparse)
    mask = xp.zeros(tuple(sparse.shape), dtype=bool)
    mask[rows, cols] = True
    return mask


def mm(mat1, mat2, node_name="MmBackward0"):
    """``torch.mm``/``@`` with a compressed operand: dense result unless both are sparse."""
    _check_mm(mat1, mat2)
    if _is_compressed(mat1) and _is_compressed(mat2):
        return _renamed(_sparse_sparse(mat1, mat2), node_name)
    dense_grad = node_name != "SparseAddmmBackward0"  # torch.mm's leaf gradient is dense
    if _is_compressed(mat1):
        return named(_sparse_dense(mat1, mat2, dense_grad=dense_grad), node_name)
    return named(_dense_sparse(mat1, mat2, dense_grad=dense_grad), node_name)


def addmm(input, mat1, mat2, *, beta=1, alpha=1, node_name="AddmmBackward0"):
    """``beta * input + alpha * (mat1 @ mat2)`` with a compressed ``mat1`` or ``mat2``."""
    _check_mm(mat1, mat2)
    if _is_compressed(mat1) and _is_compressed(mat2):
        product = _sparse_sparse(mat1, mat2).to_dense()
    elif not _is_compressed(mat1) and not _is_compressed(mat2):  # only ``input`` is sparse
        raise RuntimeError(f"addmm: computation on CPU is not implemented for {_label(input)} "
                           "+ Strided @ Strided")
    else:
        dense_grad = node_name != "SparseAddmmBackward0"
        if _is_compressed(mat1):
            product = _sparse_dense(mat1, mat2, dense_grad=dense_grad)
        else:
            product = _dense_sparse(mat1, mat2, dense_grad=dense_grad)
    if alpha != 1:
        product = product * alpha
    if _is_compressed(input):
        input = _dense_of(input)
    if beta == 0:  # PyTorch ignores ``input`` then (NaNs in it do not propagate)
        return named(product, node_name)
    return named((input if beta == 1 else input * beta) + product, node_name)


def mv(input, vec):
    if vec.ndim != 1 or input.shape[1] != vec.shape[0]:
        raise RuntimeError(
            f"size mismatch, got input ({input.shape[0]}), mat ({input.shape[0]}x"
            f"{input.shape[1]}), vec ({vec.shape[0] if vec.ndim else 0})")
    if input.dtype != vec.dtype:
        raise RuntimeError(
            "addmv input tensors must have the same dtype, but got "
            f"{_dtype_label(vec)}, {_dtype_label(input)}, and {_dtype_label(vec)}")
    product = _sparse_dense(input, vec.unsqueeze(1), "addmv", dense_grad=True)
    return named(product.squeeze(1), "MvBackward0")


def matmul(input, other):
    if input.ndim == 2 and other.ndim == 2:
        return mm(input, other)
    if _is_compressed(input) and input.ndim == 2 and other.ndim == 1:
        return mv(input, other)
    if _is_compressed(other) and other.ndim == 2 and input.ndim == 1:
        return mm(input.unsqueeze(0), other).squeeze(0)
    raise RuntimeError(
        f"matmul with a sparse compressed operand supports 2-D operands (got {input.ndim}-D "
        f"and {other.ndim}-D)")


def sampled_addmm(input, mat1, mat2, *, beta=1.0, alpha=1.0, out=None):
    """``beta * input + alpha * (mat1 @ mat2)`` computed only at ``input``'s stored
    entries (``torch.sparse.sampled_addmm``): a CSR result on ``input``'s pattern."""
    if not _is_compressed(input):
        backend = "CUDA" if input.is_cuda else "CPU"
        raise NotImplementedError(
            f"Could not run 'aten::sparse_sampled_addmm' with arguments from the '{backend}' "
            "backend. This could be because the operator doesn't exist for this backend, or "
            "was omitted during the selective/custom build process (if using custom build).")
    if input._sc_layout is not sparse_csr:
        raise RuntimeError("sampled_addmm: Expected result to have sparse csr layout, but got "
                           f"{_label(input)}")
    if mat1.dtype != mat2.dtype:
        raise RuntimeError("sampled_addmm: Expected mat1 and mat2 to have the same dtype, but "
                           f"got {_dtype_label(mat1)} and {_dtype_label(mat2)}")
    if mat1.shape[-1] != mat2.shape[-2]:
        raise RuntimeError(
            f"sampled_addmm: mat1 and mat2 shapes cannot be multiplied ({mat1.shape[-2]}x"
            f"{mat1.shape[-1]} and {mat2.shape[-2]}x{mat2.shape[-1]})")
    if input.shape[-2] != mat1.shape[-2]:
        raise RuntimeError("sampled_addmm: self.shape[-2] must match mat1.shape[-2]")
    if input.shape[-1] != mat2.shape[-1]:
        raise RuntimeError("sampled_addmm: self.shape[-1] must match mat2.shape[-1]")
    if out is not None:
        raise RuntimeError("sampled_addmm: out= is not supported in ember")
    rows, cols, values = _matrix_entries(input, "sampled_addmm")
    sampled = (mat1[_make(rows)] * mat2.t()[_make(cols)]).sum(-1)
    if alpha != 1:
        sampled = sampled * alpha
    if beta != 0:
        sampled = (values if beta == 1 else values * beta) + sampled
    return like(input, named(sampled, "SparseSampledAddmmBackward0"))


# -- pointwise ------------------------------------------------------------------------------


def _renamed(tensor, node_name):
    return like(tensor, named(tensor._sp_values, node_name))


def neg(input):
    twin = shadow_of(input)
    return with_twin(like(input, -input._sp_values),
                     None if twin is None else TwinScale.apply(twin, -1))


def _gather(dense, sparse):
    """``dense`` read at each stored element of ``sparse``, shaped as its values."""
    batch, rows, cols, _ = _element_entries(sparse)
    batch_shape = sparse._sp_shape[:sparse._batch_dim()]
    if batch_shape:
        dense = dense.reshape((-1,) + tuple(dense.shape[len(batch_shape):]))
        picked = dense[_make(batch), _make(rows), _make(cols)]
    else:
        picked = dense[_make(rows), _make(cols)]
    return picked.reshape(sparse._sp_values.shape)


def mul(input, other):
    """compressed * scalar, * dense (same size: read at the stored entries) or * compressed
    (their common entries): a compressed result."""
    if not _is_compressed(input):
        input, other = other, input
    if isinstance(other, numbers.Number) or (isinstance(other, Tensor) and other.ndim == 0
                                             and not _is_compressed(other)):
        twin = shadow_of(input)
        return with_twin(like(input, input._sp_values * other),
                         None if twin is None else TwinScale.apply(twin, other))
    if _is_compressed(other):
        return _mul_sparse(input, other)
    if not isinstance(other, Tensor) or other.is_sparse:
        return NotImplemented
    if tuple(other.shape) != input._sp_shape:
        raise RuntimeError(
            f"sparse_mask(): operands have incompatible sizes; self has size "
            f"{list(other.shape)} but mask has size {list(input._sp_shape)}")
    return like(input, input._sp_values * _gather(other, input))


def _linear_entries(sparse):
    batch, rows, cols, values = _element_entries(sparse)
    _, ncols = sparse._sp_shape[sparse._batch_dim():sparse._batch_dim() + 2]
    nrows = sparse._sp_shape[sparse._batch_dim()]
    return (batch * nrows + rows) * ncols + cols, values


def _check_pair(a, b):
    if a._sc_layout is not b._sc_layout:
        name, kind = ("crow", "row") if a._sc_layout in _ROW_COMPRESSED else ("ccol", "column")
        raise RuntimeError(f"{name}_indices expected sparse {kind} compressed tensor layout "
                           f"but got {_label(b)}")
    if a._sp_shape != b._sp_shape:
        raise RuntimeError(
            "torch.add: Expected input tensors to have the same shape, but got tensor `self` "
            f"with shape {list(a._sp_shape)} and tensor `other` with shape {list(b._sp_shape)}")
    if a._sc_layout in _BLOCKED or a._batch_dim() or a.dense_dim():
        raise RuntimeError(f"{_label(a)} + {_label(b)}: only 2-D CSR/CSC tensors without "
                           "dense dimensions are supported here")


def _mul_sparse(a, b):
    _check_pair(a, b)
    key_a, values_a = _linear_entries(a)
    key_b, values_b = _linear_entries(b)
    xp = array_module(key_a)
    common, pos_a, pos_b = xp.intersect1d(key_a, key_b, assume_unique=True,
                                          return_indices=True)
    values = (values_a[_make(pos_a.astype(np.int64))]
              * values_b[_make(pos_b.astype(np.int64))])
    return _from_linear(a, common, values)


def _from_linear(template, linear, values):
    """A 2-D compressed tensor of ``template``'s layout and size from sorted row-major
    linear positions ``linear`` and their ``values``."""
    nrows, ncols = template._sp_shape
    xp = array_module(linear)
    rows, cols = linear // ncols, linear % ncols
    if template._sc_layout is sparse_csr:
        compressed, plain, n_compressed = rows, cols, nrows
    else:
        order = xp.argsort(cols * nrows + rows, kind="stable")
        compressed, plain, n_compressed = cols[order], rows[order], ncols
        values = values[_make(order.astype(np.int64))]
    cidx, pidx = from_entries(xp, (), n_compressed, compressed, plain, linear.shape[0])
    return _new(cidx, pidx, values, template._sp_shape, template._sc_layout)


def add(input, other, *, alpha=1, node_name="AddBackward0"):
    """compressed + compressed (union of the patterns) -> compressed; compressed + dense
    and dense + compressed -> dense."""
    if _is_compressed(input) and _is_compressed(other):
        _check_pair(input, other)
        if input.dtype != other.dtype:
            raise RuntimeError(f"expected scalar type {_dtype_label(other)} but found "
                               f"{_dtype_label(input)}")
        key_a, values_a = _linear_entries(input)
        key_b, values_b = _linear_entries(other)
        if alpha != 1:
            values_b = values_b * alpha
        xp = array_module(key_a)
        union, inverse = xp.unique(xp.concatenate([key_a, key_b]), return_inverse=True)
        from .._ops.shape_copy import cat

        both = cat([values_a, values_b], 0)
        summed = both.new_zeros((union.shape[0],)).index_add(
            0, _make(inverse.reshape(-1).astype(np.int64)), both)
        result = _from_linear(input, union, named(summed, node_name))
        twin_a, twin_b = shadow_of(input), shadow_of(other)
        if twin_a is not None and twin_b is not None:  # else the gradient stays on patterns
            with_twin(result, TwinSum.apply(twin_a, twin_b, alpha))
        return result
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        if _is_compressed(input):
            raise RuntimeError(
                "add: expected 'self' and 'other' to have same size, but self has size [] "
                f"while other has size {list(input._sp_shape)} (FYI: op2-sparse addition "
                "does not currently support broadcasting)")
        return NotImplemented
    if tuple(input.shape) != tuple(other.shape):
        raise RuntimeError(
            "torch.add: Expected input tensors to have the same shape, but got tensor `self` "
            f"with shape {list(input.shape)} and tensor `other` with shape "
            f"{list(other.shape)}")
    other = _dense_of(other) if _is_compressed(other) else other
    input = _dense_of(input) if _is_compressed(input) else input
    return input + (other if alpha == 1 else other * alpha)


def _dense_of(sparse):
    """``sparse.to_dense()`` for a dense sum: a leaf's gradient is then every entry's, as
    PyTorch's ``dense + csr`` gives (through the leaf's zero shadow)."""
    shadow = shadow_of(sparse)
    if shadow is None:
        return sparse.to_dense()
    return ShadowDense.apply(shadow, sparse.detach().to_dense())


def sub(input, other, *, alpha=1):
    return add(input, other, alpha=-alpha, node_name="SubBackward0")


# -- zero-preserving elementwise functions: applied to the stored values ----------------------

ZERO_PRESERVING = (
    "abs", "angle", "asin", "asinh", "atan", "atanh", "ceil", "conj_physical", "deg2rad",
    "erf", "erfinv", "expm1", "floor", "frac", "isinf", "isnan", "isneginf", "isposinf",
    "log1p", "positive", "rad2deg", "relu", "round", "sgn", "sign", "signbit", "sin", "sinh",
    "sqrt", "tan", "tanh", "trunc",
)

_NODE_NAMES = {"log1p": "Log1PBackward0", "deg2rad": "Deg2RadBackward0",
               "rad2deg": "Rad2DegBackward0", "frac": "FracBackward0",
               "positive": "AliasBackward0"}


def elementwise(name):
    """The method ``name`` on a compressed tensor: applied to its values, pattern kept."""

    def method(self, *args, **kwargs):
        values = getattr(self._sp_values, name)(*args, **kwargs)
        if name in _NODE_NAMES:
            values = named(values, _NODE_NAMES[name])
        return like(self, values)

    method.__name__ = name
    return method


# -- shape and reductions -------------------------------------------------------------------


def transpose(input, dim0, dim1, node_name="TransposeBackward0"):
    """Swapping the two sparse dimensions flips the layout (CSR <-> CSC, BSR <-> BSC) and
    keeps the index arrays: the transpose of a CSR matrix is a CSC matrix of the same
    arrays. Blocks are transposed themselves."""
    from ._coo import _wrap

    ndim = input.ndim
    dim0, dim1 = _wrap(dim0, ndim), _wrap(dim1, ndim)
    batch = input._batch_dim()
    kinds = [("Batch" if d < batch else "Sparse" if d < batch + 2 else "Dense")
             for d in (dim0, dim1)]
    if dim0 == dim1:
        return _renamed(input, node_name)
    if kinds != ["Sparse", "Sparse"]:
        if kinds[0] != kinds[1]:
            raise RuntimeError(
                "transpose(): can only transpose dimensions of the same type (Batch, Sparse, "
                f"Dense), got {dim0}({kinds[0]}) and {dim1}({kinds[1]})")
        raise RuntimeError(f"transpose(): transposing {kinds[0].lower()} dimensions of a "
                           "compressed sparse tensor is not supported in ember")
    values = input._sp_values
    if input._sc_layout in _BLOCKED:
        values = values.transpose(batch + 1, batch + 2)
    shape = list(input._sp_shape)
    shape[batch], shape[batch + 1] = shape[batch + 1], shape[batch]
    twin = shadow_of(input)
    result = _new(input._sc_cidx, input._sc_pidx, named(values, node_name), shape,
                  _FLIPPED[input._sc_layout])
    return with_twin(result, None if twin is None else TwinTranspose.apply(twin, batch,
                                                                             batch + 1))


def select(input, dim, index):
    """One index along ``dim``: a batch (a compressed tensor), or a row or column of a 2-D
    CSR/CSC matrix (a 1-D COO tensor of the entries stored there, as PyTorch returns)."""
    from ._coo import _new as new_coo
    from ._coo import _wrap

    dim = _wrap(dim, input.ndim)
    extent = input._sp_shape[dim]
    if not -extent <= index < extent:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input._sp_shape)} at dimension {dim}")
    index = index % extent
    batch = input._batch_dim()
    shape = input._sp_shape[:dim] + input._sp_shape[dim + 1:]
    if dim < batch:
        return _new(input._sc_cidx.select(dim, index), input._sc_pidx.select(dim, index),
                    named(input._sp_values.select(dim, index), "SelectBackward0"), shape,
                    input._sc_layout)
    if input._sc_layout in _BLOCKED or batch or dim >= batch + 2:
        raise RuntimeError("select(): no view exists for the given input, consider using "
                           "torch.select_copy.")
    _, rows, cols, values = _element_entries(input)
    keep = (rows if dim == 0 else cols) == index
    other = (cols if dim == 0 else rows)[keep]
    xp = array_module(other)
    position = xp.nonzero(keep)[0].astype(np.int64)
    values = named(values[_make(position)], "SelectBackward0")
    return new_coo(_make(other[None].astype(np.int64)), values, shape, True)


def getitem(input, index):
    if isinstance(index, int):
        extent = input._sp_shape[0]
        if not -extent <= index < extent:
            raise IndexError(f"index {index} is out of bounds for dimension 0 with size "
                             f"{extent}")
        return select(input, 0, index)
    raise RuntimeError(f"Sparse {_label(input)[6:].upper()} tensors do not have strides")


def t(input):
    if input.ndim != 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D")
    return transpose(input, 0, 1, "TBackward0")


def sum(input, dim=None, keepdim=False, dtype=None):
    """All stored values summed (dense 0-d), or over ``dim`` with ``keepdim=True`` for a
    2-D CSR (a CSR result storing the non-empty rows or columns), as PyTorch allows."""
    values = input._sp_values if dtype is None else input._sp_values.to(dtype)
    if values.dtype.name in ("bool", "int8", "int16", "int32", "uint8") and dtype is None:
        values = values.long()
    if dim is None:
        shadow = shadow_of(input)
        if shadow is not None:  # PyTorch: a leaf's gradient of sum() is every entry's
            return named(ShadowSum.apply(shadow, values.detach()), "SumBackward0")
        return named(values.sum(), "SumBackward0")
    if input._sc_layout is not sparse_csr:
        raise RuntimeError("Currently the only compressed sparse format supported for "
                           f"sum.dim_IntList is CSR, but got layout {_label(input)}")
    if not keepdim:
        raise RuntimeError("reduction operations on CSR tensors with keepdim=False is "
                           "unsupported")
    from ._coo import _wrap

    dims = sorted({_wrap(d, input.ndim) for d in ((dim,) if isinstance(dim, int) else dim)})
    if input.ndim != 2:
        raise RuntimeError("sum: only 2-D CSR tensors are supported here")
    rows, cols, _ = _matrix_entries(input)
    xp = array_module(rows)
    shape = list(input._sp_shape)
    key = xp.zeros_like(rows)
    if 0 not in dims:
        key = key + rows
    if 1 not in dims:
        key = key * shape[1] + cols
    for d in dims:
        shape[d] = 1
    present, inverse = xp.unique(key, return_inverse=True)
    summed = values.new_zeros((present.shape[0],)).index_add(
        0, _make(inverse.reshape(-1).astype(np.int64)), values)
    template = _new(None, None, None, shape, sparse_csr)
    return _from_linear(template, present, named(summed, "SumBackward1"))


def softmax(input, dim, dtype=None):
    backend = _label(input) + ("CUDA" if input.is_cuda else "CPU")
    raise NotImplementedError(
        f"Could not run 'aten::_sparse_softmax' with arguments from the '{backend}' backend. "
        "This could be because the operator doesn't exist for this backend, or was omitted "
        "during the selective/custom build process (if using custom build).")


def log_softmax(input, dim, dtype=None):
    backend = _label(input) + ("CUDA" if input.is_cuda else "CPU")
    raise NotImplementedError(
        f"Could not run 'aten::_sparse_log_softmax' with arguments from the '{backend}' "
        "backend. This could be because the operator doesn't exist for this backend, or was "
        "omitted during the selective/custom build process (if using custom build).")
