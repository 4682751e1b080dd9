"""Arithmetic, reductions and products on COO tensors.

Every op is written on ``values`` with differentiable dense ops (a gather for reading a
dense operand at the stored indices, ``index_add`` for scattering into rows), so autograd
comes from those ops and ``create_graph`` works. Index bookkeeping (sorting, grouping)
is plain array work on ``indices``, which never needs a gradient.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._backend import array_module
from .._backend.cuda_sort import cuda_argsort
from .._backend.cupy_gaps import ufunc_at
from .._tensor import Tensor, _make
from ._coo import SparseCooTensor, _linear, _new, _unravel, _wrap
from ._names import named
from ._spmm import SparseDenseMm


def _is_sparse(x):
    return isinstance(x, SparseCooTensor)


def _gather(dense, indices):
    """``dense`` read at each column of ``indices`` (leading dims): ``(nnz, ...)``."""
    rows = indices._data
    return dense[tuple(_make(rows[d]) for d in range(rows.shape[0]))]


def _is_scalar(x):
    return isinstance(x, numbers.Number) or (isinstance(x, Tensor) and not _is_sparse(x)
                                             and x.ndim == 0)


def _renamed(sparse, node_name):
    """``sparse`` with its values behind a node named as PyTorch's."""
    return _new(sparse._sp_indices, named(sparse._sp_values, node_name), sparse._sp_shape,
                sparse._sp_coalesced)


# -- pointwise ---------------------------------------------------------------------------


def neg(input):
    return _new(input._sp_indices, -input._sp_values, input._sp_shape, input._sp_coalesced)


def mul(input, other):
    """sparse * scalar -> sparse; sparse * dense (same size) -> sparse on input's indices."""
    if _is_sparse(input) and _is_sparse(other):
        return _mul_sparse(input, other)
    if not _is_sparse(input):
        input, other = other, input
    if _is_scalar(other):
        return _new(input._sp_indices, input._sp_values * other, input._sp_shape,
                    input._sp_coalesced)
    if not isinstance(other, Tensor):
        return NotImplemented
    if tuple(other.shape) != input._sp_shape:
        other = other.expand(input._sp_shape)  # broadcasting: PyTorch's error if it cannot
    picked = _gather(other, input._sp_indices)
    return _new(input._sp_indices, input._sp_values * picked, input._sp_shape,
                input._sp_coalesced)


def _mul_sparse(a, b):
    """Elementwise product of two sparse tensors: their common indices, coalesced."""
    _check_same_size(a, b, "mul")
    a, b = a.coalesce(), b.coalesce()
    sparse_shape = a._sp_shape[:a.sparse_dim()]
    xp = array_module(a._sp_indices._data)
    common, pos_a, pos_b = xp.intersect1d(
        _linear(a._sp_indices._data, sparse_shape), _linear(b._sp_indices._data, sparse_shape),
        assume_unique=True, return_indices=True)
    values = a._sp_values[_make(pos_a.astype(np.int64))] * b._sp_values[
        _make(pos_b.astype(np.int64))]
    return _new(_make(_unravel(common, sparse_shape)), values, a._sp_shape, True)


def div(input, other, *, rounding_mode=None):
    if not _is_sparse(input) or not _is_scalar(other):
        shape = list(other.shape) if isinstance(other, Tensor) else []
        raise RuntimeError(
            "Sparse division requires a scalar or zero-dim dense tensor divisor (got shape "
            f"{shape} for divisor)")
    values = input._sp_values
    if rounding_mode is None:
        values = values / other
    else:
        values = values.div(other, rounding_mode=rounding_mode)
    return _new(input._sp_indices, values, input._sp_shape, input._sp_coalesced)


def _check_same_size(a, b, name):
    if tuple(a.shape) != tuple(b.shape):
        raise RuntimeError(
            f"{name}: expected sizes of 'self' and 'other' to match, but "
            f"{list(a.shape)} != {list(b.shape)}")


def add(input, other, *, alpha=1, node_name="AddBackward0"):
    """sparse + sparse -> sparse; dense + sparse -> dense (sparse + dense is refused, as
    PyTorch refuses it)."""
    if _is_sparse(input) and _is_sparse(other):
        _check_same_size(input, other, "add")
        if input.sparse_dim() != other.sparse_dim():
            raise RuntimeError(
                "add: expected 'self' and 'other' to have same sparse dimensions, but "
                f"{input.sparse_dim()} != {other.sparse_dim()}")
        other_values = other._sp_values if alpha == 1 else other._sp_values * alpha
        from .._ops.shape_copy import cat

        indices = cat([input._sp_indices, other._sp_indices], 1)
        values = cat([input._sp_values, other_values.to(input._sp_values.dtype)], 0)
        if not (input._nnz() and other._nnz()):  # PyTorch returns a copy of the other
            source = other if other._nnz() else input  # operand, coalesced flag and all
            return _renamed(_new(indices, values, input._sp_shape, source._sp_coalesced),
                            node_name)
        result = _new(indices, values, input._sp_shape, False)
        if input.device.type == "cpu":
            # Coalesced inputs give a coalesced sum, as PyTorch's CPU merge of sorted
            # indices does.
            merge = input._sp_coalesced and other._sp_coalesced
            return _renamed(result.coalesce() if merge else result, node_name)
        # PyTorch's CUDA kernel concatenates (uncoalesced: no nnz sync on the host) and
        # coalesces only when the entries outnumber the elements (unbounded nnz growth);
        # it puts the merged entries back through alias_into_sparse, which flags a tensor
        # coalesced only below two entries: merged, yet flagged uncoalesced.
        if indices.shape[1] > math.prod(input._sp_shape):
            merged = result.coalesce()
            result = _new(merged._sp_indices, merged._sp_values, input._sp_shape,
                          merged._nnz() < 2)
        return _renamed(result, node_name)
    if _is_sparse(input):
        if isinstance(other, Tensor):
            raise RuntimeError(
                "add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
        return NotImplemented
    if not isinstance(input, Tensor):
        return NotImplemented
    _check_same_size(input, other, "add")
    dense = other.to_dense()
    return input + (dense if alpha == 1 else dense * alpha)


def sub(input, other, *, alpha=1):
    if isinstance(input, Tensor) and not _is_sparse(input) and _is_sparse(other):
        _check_same_size(input, other, "sub")
        dense = other.to_dense()
        return input - (dense if alpha == 1 else dense * alpha)
    return add(input, other, alpha=-alpha, node_name="SubBackward0")


# -- shape -------------------------------------------------------------------------------


def transpose(input, dim0, dim1, node_name="TransposeBackward0"):
    ndim = input.ndim
    dim0, dim1 = _wrap(dim0, ndim), _wrap(dim1, ndim)
    if dim0 == dim1:
        return input
    sparse_dim = input.sparse_dim()
    if dim0 >= sparse_dim or dim1 >= sparse_dim:
        raise RuntimeError(
            "transpose: only sparse dimensions of a sparse tensor can be swapped here "
            f"(sparse_dim is {sparse_dim})")
    order = list(range(sparse_dim))
    order[dim0], order[dim1] = dim1, dim0
    shape = list(input._sp_shape)
    shape[dim0], shape[dim1] = shape[dim1], shape[dim0]
    indices = _make(input._sp_indices._data[order])
    # Swapping index rows breaks the sort order; PyTorch keeps the flag only when empty.
    return _new(indices, named(input._sp_values, node_name), shape, input._nnz() == 0)


def t(input):
    if input.ndim > 2:
        raise RuntimeError(
            f"t() expects a tensor with <= 2 sparse and 0 dense dimensions, but got "
            f"{input.sparse_dim()} sparse and {input.dense_dim()} dense dimensions")
    return input if input.ndim < 2 else transpose(input, 0, 1, "TBackward0")


# -- reductions --------------------------------------------------------------------------


def sum(input, dim=None, keepdim=False, *, dtype=None, node_name="SparseSumBackward0"):
    """Sum over all elements (dense 0-d result) or over ``dim``: sparse while some sparse
    dimension survives, dense otherwise (``torch.sparse.sum``)."""
    values = input._sp_values if dtype is None else input._sp_values.to(dtype)
    if values.dtype.name in ("bool", "int8", "int16", "int32", "uint8") and dtype is None:
        values = values.long()
    if dim is None:
        return values.sum()
    ndim = input.ndim
    dims = sorted({_wrap(d, ndim) for d in ((dim,) if isinstance(dim, int) else dim)})
    sparse_dim = input.sparse_dim()
    dense_dims = [d - sparse_dim + 1 for d in dims if d >= sparse_dim]
    if dense_dims:
        values = values.sum(dense_dims)
    sparse_dims = [d for d in dims if d < sparse_dim]
    if not sparse_dims:
        shape = [n for d, n in enumerate(input._sp_shape) if d not in dims]
        return _renamed(_new(input._sp_indices, values, shape, input._sp_coalesced).coalesce(),
                        node_name)
    keep = [d for d in range(sparse_dim) if d not in sparse_dims]
    if not keep:
        return named(values.sum(0), node_name)
    shape = [n for d, n in enumerate(input._sp_shape) if d not in dims]
    indices = _make(input._sp_indices._data[keep])
    return _renamed(_new(indices, values, shape, False).coalesce(), node_name)


# -- products ----------------------------------------------------------------------------


def _check_mm(sparse, dense, name="addmm"):
    if sparse.sparse_dim() != 2 or sparse.dense_dim() != 0:
        raise RuntimeError(
            f"{name}: matrices expected, got {sparse.sparse_dim()}D sparse and "
            f"{sparse.dense_dim()}D dense dimensions")
    if dense.ndim != 2:
        raise RuntimeError(f"{name}: matrices expected, got {dense.ndim}D tensor")
    if dense.shape[0] != sparse.shape[1]:
        raise RuntimeError(
            f"{name}: Argument #3 (dense): Expected dim 0 size {sparse.shape[1]}, got "
            f"{dense.shape[0]}")


def _sparse_dense_mm(sparse, dense):
    """One node (``_spmm.SparseDenseMm``): a compiled CSR product or a gather plus a
    segmented sum over the stored entries, no Python loop."""
    indices = sparse._sp_indices._data
    values = sparse._sp_values
    if values.dtype != dense.dtype:
        values = values.to(dense.dtype)
    return SparseDenseMm.apply(values, dense, indices[0], indices[1], sparse.shape[0])


def mm(mat1, mat2, node_name="MmBackward0"):
    """sparse @ dense -> dense; dense @ sparse -> dense (through the transposes)."""
    if _is_sparse(mat1) and not _is_sparse(mat2):
        _check_mm(mat1, mat2)
        return named(_sparse_dense_mm(mat1, mat2), node_name)
    if _is_sparse(mat2) and not _is_sparse(mat1):
        if mat1.ndim != 2:
            raise RuntimeError(f"addmm: matrices expected, got {mat1.ndim}D tensor")
        _check_mm(t(mat2), mat1.t())  # PyTorch computes (mat2^T @ mat1^T)^T, and says so
        return named(_sparse_dense_mm(t(mat2), mat1.t()).t(), node_name)
    if _is_sparse(mat1) and _is_sparse(mat2):
        if mat1.shape[1] != mat2.shape[0]:
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x{mat1.shape[1]} "
                f"and {mat2.shape[0]}x{mat2.shape[1]})")
        return mm(mat1, mat2.to_dense(), node_name).to_sparse()
    raise TypeError("ember.sparse.mm expects a sparse operand")


def matmul(input, other):
    if input.ndim == 2 and other.ndim == 2:
        return mm(input, other)
    if _is_sparse(input) and other.ndim == 1 and input.ndim == 2:
        return mm(input, other.unsqueeze(1)).squeeze(1)
    raise RuntimeError(
        f"matmul with a sparse operand supports 2-D operands (got {input.ndim}-D and "
        f"{other.ndim}-D)")


def addmm(input, mat1, mat2, *, beta=1, alpha=1, node_name="AddmmBackward0"):
    """``beta * input + alpha * (mat1 @ mat2)`` with ``mat1`` sparse (``torch.sparse.addmm``)."""
    if _is_sparse(mat1) and not _is_sparse(mat2):
        _check_mm(mat1, mat2)
        product = _sparse_dense_mm(mat1, mat2)
    else:
        product = mm(mat1, mat2)
    if alpha != 1:
        product = product * alpha
    if _is_sparse(input):
        input = input.to_dense()
    if beta == 0:  # PyTorch ignores ``input`` then (NaNs in it do not propagate)
        return named(product, node_name)
    return named((input if beta == 1 else input * beta) + product, node_name)


# -- softmax over a dimension --------------------------------------------------------------


def _softmax(input, dim, dtype, log):
    if dtype is not None:
        input = input.to(dtype)
    ndim = input.ndim
    dim = _wrap(dim, ndim)
    input = input.coalesce()
    node_name = "SparseLogSoftmaxBackward0" if log else "SparseSoftmaxBackward0"
    values = input._sp_values
    sparse_dim = input.sparse_dim()
    if dim >= sparse_dim:  # a dense dimension: an ordinary softmax of each stored slice
        d = dim - sparse_dim + 1
        out = values.log_softmax(d) if log else values.softmax(d)
        return _new(input._sp_indices, named(out, node_name), input._sp_shape, True)
    # Entries that differ only in ``dim`` form one group; unstored entries count as -inf.
    indices = input._sp_indices._data
    xp = array_module(indices)
    keep = [d for d in range(sparse_dim) if d != dim]
    shape = [input._sp_shape[d] for d in keep]
    _, group = xp.unique(_linear(indices[keep], shape), return_inverse=True)
    group = group.reshape(-1)
    count = int(group.max()) + 1 if group.size else 0
    group_t = _make(group.astype(np.int64))
    raw = values.detach()._data
    peak = xp.full((count,) + raw.shape[1:], -xp.inf, dtype=raw.dtype)
    # ufunc_at: exact on CuPy too, whose own maximum.at rounds float64 through float32
    # (a one-entry group's log_softmax came out 1e-17 instead of 0 on a GPU)
    ufunc_at(xp, "maximum", peak, group, raw)
    shifted = values - _make(peak[group])  # the max shift is a constant for autograd
    exp = shifted.exp()
    total = exp.new_zeros((count,) + tuple(exp.shape[1:])).index_add(0, group_t, exp)
    out = shifted - total.log()[group_t] if log else exp / total[group_t]
    return _new(input._sp_indices, named(out, node_name), input._sp_shape, True)


def softmax(input, dim, dtype=None):
    """Softmax over ``dim`` among the stored entries (unstored ones count as -inf)."""
    return _softmax(input, dim, dtype, log=False)


def log_softmax(input, dim, dtype=None):
    return _softmax(input, dim, dtype, log=True)


def smm(input, mat):
    """``torch.smm``: ``sparse @ dense`` as a sparse tensor holding every column of each
    row that ``input`` stores something in (PyTorch's sspaddmm pattern, uncoalesced)."""
    if not _is_sparse(input):
        raise RuntimeError("smm: expected a sparse COO tensor as input")
    if input.device.type == "cuda":  # PyTorch's SparseCUDA sspaddmm kernel, before any check
        raise RuntimeError("NYI: CUDA sspaddmm is not implemented")
    _check_mm(input, mat)
    full = _sparse_dense_mm(input, mat)
    xp = array_module(input._sp_indices._data)
    rows = xp.unique(input._sp_indices._data[0])
    ncols = mat.shape[1]
    values = full[_make(rows.astype(np.int64))].reshape(-1)
    indices = xp.stack([xp.repeat(rows, ncols), xp.tile(xp.arange(ncols), rows.shape[0])])
    return _new(_make(indices.astype(np.int64)), values, (input.shape[0], ncols), False)


# -- zero-preserving elementwise functions (f(0) == 0): applied to the stored values --------

ZERO_PRESERVING = (
    "abs", "asin", "asinh", "atan", "atanh", "ceil", "deg2rad", "erf", "expm1", "floor",
    "log1p", "nan_to_num", "rad2deg", "relu", "round", "sgn", "sign", "sin", "sinh", "sqrt",
    "square", "tan", "tanh", "trunc",
)

# PyTorch's node names where ember's dense op is composed or named otherwise.
_NODE_NAMES = {"log1p": "Log1PBackward0", "deg2rad": "Deg2RadBackward0",
               "rad2deg": "Rad2DegBackward0"}


def elementwise(name):
    """The method ``name`` on a sparse tensor: coalesce (so duplicates are summed before the
    non-linear function, as PyTorch does), then apply it to the values."""

    def method(self, *args, **kwargs):
        coalesced = self.coalesce()
        values = getattr(coalesced._sp_values, name)(*args, **kwargs)
        if name in _NODE_NAMES:
            values = named(values, _NODE_NAMES[name])
        return _new(coalesced._sp_indices, values, coalesced._sp_shape, True)

    method.__name__ = name
    return method


def pow(input, exponent):
    """``input ** exponent`` on the stored values, for a non-zero scalar exponent."""
    if not isinstance(exponent, numbers.Number):
        raise NotImplementedError(
            "Could not run 'aten::pow.Tensor_Tensor' with arguments from the 'SparseCPU' "
            "backend: the exponent must be a Python number")
    if exponent == 0:
        raise RuntimeError("pow: cannot raise to zeroth power on sparse tensor; it would make "
                           "the result tensor dense")
    coalesced = input.coalesce()
    return _new(coalesced._sp_indices, coalesced._sp_values ** exponent, coalesced._sp_shape,
                True)


def sparse_mask(input, mask):
    """``dense.sparse_mask(mask)``: ``input``'s entries at ``mask``'s indices, as a sparse
    tensor with that pattern (differentiable in ``input``)."""
    if not _is_sparse(mask):
        raise RuntimeError("sparse_mask expects mask to be a sparse COO tensor")
    if tuple(input.shape) != mask._sp_shape:
        raise RuntimeError(
            f"sparse_mask(): operands have incompatible sizes; self has size "
            f"{list(input.shape)} but mask has size {list(mask._sp_shape)}")
    values = named(_gather(input, mask._sp_indices), "SparseMaskBackward0")
    return _new(mask._sp_indices, values, mask._sp_shape, mask._sp_coalesced)


def index_select(input, dim, index):
    """Entries whose index along ``dim`` appears in ``index``, renumbered to its positions
    (an entry is repeated for each position naming it): position by position, entries in
    their stored order (on CUDA: in the order of PyTorch's unstable sort of the indices
    along ``dim``, unless they are dim-0 indices of a coalesced tensor). A dense dimension
    selects inside the values."""
    dim = _wrap(dim, input.ndim)
    sparse_dim = input.sparse_dim()
    shape = list(input._sp_shape)
    shape[dim] = int(index.shape[0])
    if dim >= sparse_dim:
        values = input._sp_values.index_select(dim - sparse_dim + 1, index)
        return _new(input._sp_indices, values, shape, input._sp_coalesced)
    indices = input._sp_indices._data
    xp = array_module(indices)
    wanted = index._data.astype(np.int64).reshape(-1)
    if xp is np or (dim == 0 and input._sp_coalesced):
        order = xp.argsort(indices[dim], kind="stable")
    else:  # index_select_sparse_cuda sorts with Tensor.sort (unstable for nnz <= 32)
        order = xp.asarray(cuda_argsort(input._sp_indices._host_array()[dim][None])[0])
    sorted_keys = indices[dim][order]
    low = xp.searchsorted(sorted_keys, wanted, side="left")
    counts = xp.searchsorted(sorted_keys, wanted, side="right") - low
    position = xp.repeat(xp.arange(wanted.shape[0]), counts)
    offsets = xp.arange(position.shape[0]) - xp.repeat(xp.cumsum(counts) - counts, counts)
    entry = order[xp.repeat(low, counts) + offsets]
    new_indices = indices[:, entry]
    new_indices[dim] = position
    values = input._sp_values[_make(entry.astype(np.int64))]
    return _new(_make(new_indices.astype(np.int64)), named(values, "IndexSelectBackward0"),
                shape, False)
