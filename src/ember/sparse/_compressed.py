"""``SparseCompressedTensor``: torch's ``sparse_csr``, ``sparse_csc``, ``sparse_bsr`` and
``sparse_bsc`` layouts as a (compressed indices, plain indices, values) triple.

A compressed tensor of size ``(*batch, nrows, ncols, *dense)`` stores

- ``compressed_indices``: ``(*batch, n + 1)`` offsets (``crow_indices`` for CSR/BSR with
  ``n`` row blocks, ``ccol_indices`` for CSC/BSC with ``n`` column blocks);
- ``plain_indices``: ``(*batch, nnz)`` the other coordinate of each stored entry, sorted
  within each compressed slice (``col_indices`` / ``row_indices``);
- ``values``: ``(*batch, nnz, *dense)``, or ``(*batch, nnz, bh, bw, *dense)`` for blocks.

Autograd works as for COO (``_coo.py``): ``values`` is an ordinary Tensor, every op is made
of differentiable dense ops on it, and a compressed leaf's ``.grad`` is its values' gradient
on its own pattern. Identity methods that only read ``_sp_values``/``_sp_shape`` are the
COO class's own functions, shared rather than written twice.
"""

from __future__ import annotations

import numpy as np

from .._backend import array_module
from .._tensor import Size, Tensor, _make
from ._coo import SparseCooTensor, _as_tensor, raise_no_kernel
from ._layout import sparse_bsc, sparse_bsr, sparse_csc, sparse_csr, strided
from ._names import named

COMPRESSED_LAYOUTS = (sparse_csr, sparse_csc, sparse_bsr, sparse_bsc)
_ROW_COMPRESSED = (sparse_csr, sparse_bsr)
_BLOCKED = (sparse_bsr, sparse_bsc)
# torch's short layout names, used in its messages ("but got SparseCsr")
LAYOUT_NAMES = {sparse_csr: "SparseCsr", sparse_csc: "SparseCsc", sparse_bsr: "SparseBsr",
                sparse_bsc: "SparseBsc", strided: "Strided"}


def layout_label(layout):
    from ._layout import sparse_coo

    if layout is sparse_coo:
        return "Sparse"
    return LAYOUT_NAMES.get(layout, "none" if layout is None else str(layout))


def index_names(layout):
    """``(compressed, plain)`` accessor names of ``layout``: ('crow', 'col') or ('ccol', 'row')."""
    return ("crow", "col") if layout in _ROW_COMPRESSED else ("ccol", "row")


class SparseCompressedTensor(Tensor):
    """A tensor in one of the compressed sparse layouts (``layout`` says which)."""

    __slots__ = ("_sc_cidx", "_sc_layout", "_sc_pidx", "_sc_shadow", "_sp_shape", "_sp_values")

    is_sparse = False
    _sparse_compressed = True  # what ember's products check to dispatch here

    def __new__(cls, *args, **kwargs):
        raise TypeError("use ember.sparse_csr_tensor (or csc/bsr/bsc) to build a sparse tensor")

    # -- what dense ops read: refused with PyTorch's message -----------------------------

    @property
    def _data(self):
        raise_no_kernel(layout_label(self._sc_layout) + ("CUDA" if self.is_cuda else "CPU"))

    @_data.setter
    def _data(self, value):
        raise NotImplementedError("a sparse tensor has no strided data to set")

    # -- identity ------------------------------------------------------------------------

    @property
    def layout(self):
        return self._sc_layout

    @property
    def is_sparse_csr(self) -> bool:
        return self._sc_layout is sparse_csr

    def is_contiguous(self, memory_format=None) -> bool:
        raise RuntimeError(f"Sparse {layout_label(self._sc_layout)[6:].upper()} tensors do "
                           "not have is_contiguous")

    def stride(self, dim=None):
        raise RuntimeError(f"Sparse {layout_label(self._sc_layout)[6:].upper()} tensors do "
                           "not have strides")

    def _batch_dim(self) -> int:
        return self._sc_cidx.ndim - 1

    def sparse_dim(self) -> int:
        return 2

    def dense_dim(self) -> int:
        return len(self._sp_shape) - self._batch_dim() - 2

    def _nnz(self) -> int:
        return self._sc_pidx.shape[-1]

    def _blocksize(self):
        """``(bh, bw)``: the block shape, ``(1, 1)`` for CSR/CSC."""
        if self._sc_layout not in _BLOCKED:
            return (1, 1)
        batch = self._batch_dim()
        return tuple(self._sp_values.shape[batch + 1:batch + 3])

    # -- accessors, each refusing the layouts it does not belong to as torch does ----------

    def _index(self, name, compressed):
        if (name in ("crow", "col")) != (self._sc_layout in _ROW_COMPRESSED):
            kind = "row" if name in ("crow", "col") else "column"
            raise RuntimeError(f"{name}_indices expected sparse {kind} compressed tensor layout "
                               f"but got {layout_label(self._sc_layout)}")
        return self._sc_cidx if compressed else self._sc_pidx

    def crow_indices(self) -> Tensor:
        return self._index("crow", True)

    def col_indices(self) -> Tensor:
        return self._index("col", False)

    def ccol_indices(self) -> Tensor:
        return self._index("ccol", True)

    def row_indices(self) -> Tensor:
        return self._index("row", False)

    def values(self) -> Tensor:
        return named(self._sp_values, "ValuesBackward0")

    def _values(self):
        raise NotImplementedError(
            f"Could not run 'aten::_values' with arguments from the "
            f"'{layout_label(self._sc_layout)}{'CUDA' if self.is_cuda else 'CPU'}' backend. "
            "This could be because the operator doesn't exist for this backend, or was "
            "omitted during the selective/custom build process (if using custom build).")

    def _refuse_coo(self, name):
        raise RuntimeError(f"{name} expected sparse coordinate tensor layout but got "
                           f"{layout_label(self._sc_layout)}")

    def indices(self):
        self._refuse_coo("indices")

    def _indices(self):
        self._refuse_coo("_indices")

    def coalesce(self):
        self._refuse_coo("coalesce")

    def is_coalesced(self):
        self._refuse_coo("is_coalesced")

    # -- autograd: the leaf's gradient on its own pattern -----------------------------------

    @property
    def grad(self):
        """The values' gradient on this tensor's pattern; a strided tensor once a dense
        gradient arrived (``torch.mm`` and friends: see ``_compressed_leafgrad``)."""
        if not self.is_leaf:
            return None
        values_grad = self._sp_values.grad
        dense_grad = None if self._sc_shadow is None else self._sc_shadow.grad
        sparse_grad = None if values_grad is None else _new(
            self._sc_cidx, self._sc_pidx, values_grad, self._sp_shape, self._sc_layout)
        if dense_grad is None:
            return sparse_grad
        return dense_grad if sparse_grad is None else dense_grad + sparse_grad.to_dense()

    @grad.setter
    def grad(self, value):
        if value is None:
            self._sp_values.grad = None
            if self._sc_shadow is not None:
                self._sc_shadow.grad = None
            return
        if (not isinstance(value, SparseCompressedTensor) or value._sp_shape != self._sp_shape
                or value._sc_layout is not self._sc_layout):
            raise RuntimeError("assigned grad must be a sparse tensor of the same size and "
                               "layout")
        self._sp_values.grad = value._sp_values

    def detach(self):
        return _new(self._sc_cidx, self._sc_pidx, self._sp_values.detach(), self._sp_shape,
                    self._sc_layout)

    # -- conversions ---------------------------------------------------------------------

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        from ._compressed_convert import compressed_to_dense

        return compressed_to_dense(self, dtype)

    def to_sparse(self, *args, layout=None, blocksize=None, dense_dim=None):
        from ._compressed_convert import convert

        if args:
            raise TypeError("to_sparse() takes 0 positional arguments but "
                            f"{len(args)} was given")
        return convert(self, layout or sparse_coo_layout(), blocksize, dense_dim)

    def to_sparse_coo(self, sparse_dim=None):
        from ._compressed_convert import compressed_to_coo

        return compressed_to_coo(self)

    def to_sparse_csr(self, dense_dim=None):
        from ._compressed_convert import convert

        return convert(self, sparse_csr, None, dense_dim)

    def to_sparse_csc(self, dense_dim=None):
        from ._compressed_convert import convert

        return convert(self, sparse_csc, None, dense_dim)

    def to_sparse_bsr(self, blocksize, dense_dim=None):
        from ._compressed_convert import convert

        return convert(self, sparse_bsr, blocksize, dense_dim)

    def to_sparse_bsc(self, blocksize, dense_dim=None):
        from ._compressed_convert import convert

        return convert(self, sparse_bsc, blocksize, dense_dim)

    # -- moves -------------------------------------------------------------------------

    def to(self, *args, **kwargs):
        values = self._sp_values.to(*args, **kwargs)
        cidx = self._sc_cidx.to(values.device)
        pidx = self._sc_pidx.to(values.device)
        if values is self._sp_values and cidx is self._sc_cidx:
            return self
        return _new(cidx, pidx, values, self._sp_shape, self._sc_layout)

    def clone(self, *, memory_format=None):
        from ._compressed_leafgrad import shadow_of, with_twin

        copy = _new(self._sc_cidx.clone(), self._sc_pidx.clone(), self._sp_values.clone(),
                    self._sp_shape, self._sc_layout)
        return with_twin(copy, shadow_of(self))  # a dense gradient passes through a copy

    # -- printing and pickling ------------------------------------------------------------

    def __repr__(self, *, tensor_contents=None):
        from ._repr import compressed_repr

        text = compressed_repr(self)
        if getattr(self, "_is_param", False):  # nn.Parameter(csr) keeps the class
            return "Parameter containing:\n" + text
        return text

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        from ._coo import _rebuild_sparse_tensor

        return (_rebuild_sparse_tensor,
                (self._sc_layout, (self._sc_cidx, self._sc_pidx, self._sp_values,
                                   Size(self._sp_shape))))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        values = self._sp_values.__deepcopy__(memo)
        new = _new(self._sc_cidx.clone(), self._sc_pidx.clone(), values, self._sp_shape,
                   self._sc_layout)
        memo[id(self)] = new
        return new

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"can't convert {layout_label(self._sc_layout)} layout tensor to "
                        "numpy. Use Tensor.to_dense() first.")

    def numpy(self, *, force=False):
        return self.__array__()

    def tolist(self):
        raise RuntimeError("tolist() is not supported for sparse tensors")


# Identity and autograd plumbing that reads only ``_sp_values``/``_sp_shape``: COO's own.
for _name in ("data", "dtype", "device", "is_cuda", "is_cpu", "shape", "size", "dim",
              "ndimension", "ndim", "numel", "nelement", "element_size", "is_floating_point",
              "is_complex", "requires_grad", "requires_grad_", "_requires_grad", "grad_fn",
              "is_leaf", "backward", "cpu", "cuda", "double", "float", "half", "long", "int",
              "__len__", "__bool__", "item"):
    setattr(SparseCompressedTensor, _name, SparseCooTensor.__dict__[_name])


def sparse_coo_layout():
    from ._layout import sparse_coo

    return sparse_coo


_PROTOCOL: list = []  # [ember.overrides._INSTALLED], once looked up


def _new(cidx, pidx, values, shape, layout):
    """The internal constructor: no validation. Turns on the function forms
    (``torch.sum(csr)``: see ``_compressed_dispatch``) while the protocol is off."""
    if not _PROTOCOL or not _PROTOCOL[0][0]:
        from ._compressed_dispatch import enable_dispatch

        _PROTOCOL[:] = [enable_dispatch()]
    t = object.__new__(SparseCompressedTensor)
    t._sc_cidx = cidx
    t._sc_pidx = pidx
    t._sp_values = values
    t._sp_shape = tuple(int(n) for n in shape)
    t._sc_layout = layout
    t._sc_shadow = None
    t._output_nr = 0
    t._vc = [0]
    t._base = None
    t._acc = None
    t._retains_grad = False
    t._hooks = None
    return t


def like(template, values, shape=None, layout=None):
    """A tensor with ``template``'s indices and new ``values``."""
    return _new(template._sc_cidx, template._sc_pidx, values,
                template._sp_shape if shape is None else shape,
                template._sc_layout if layout is None else layout)


# -- construction ----------------------------------------------------------------------------


def _infer_size(layout, cidx, pidx, values):
    """torch's size when none is given: the compressed extent from ``compressed_indices``,
    the plain extent from the largest plain index, scaled by the block shape."""
    batch = cidx.ndim - 1
    block = tuple(values.shape[batch + 1:batch + 3]) if layout in _BLOCKED else (1, 1)
    dense = tuple(values.shape[batch + 1 + (2 if layout in _BLOCKED else 0):])
    n_compressed = cidx.shape[-1] - 1
    array = pidx._data
    n_plain = int(array.max()) + 1 if array.size else 0
    if layout in _ROW_COMPRESSED:
        sparse_shape = (n_compressed * block[0], n_plain * block[1])
    else:
        sparse_shape = (n_plain * block[0], n_compressed * block[1])
    return tuple(cidx.shape[:-1]) + sparse_shape + dense


def sparse_compressed_tensor(compressed_indices, plain_indices, values, size=None, *,
                             dtype=None, layout=None, device=None, pin_memory=False,
                             requires_grad=False, check_invariants=None):
    """A tensor in a compressed layout (``layout``: csr, csc, bsr or bsc) from its three
    parts, as ``torch.sparse_compressed_tensor``. ``values`` is used as is (no copy when
    dtype and device already match), so gradients flow back to it.

    Example::

        >>> s = ember.sparse_compressed_tensor([0, 2, 3], [0, 1, 1], [1., 2., 3.],
        ...                                    (2, 2), layout=ember.sparse_csr)
        >>> s.to_dense()
        tensor([[1., 2.],
                [0., 3.]])
    """
    if layout not in COMPRESSED_LAYOUTS:
        raise RuntimeError("sparse_compressed_tensor expected sparse compressed tensor "
                           f"layout but got {layout_label(layout)}")
    values = _as_tensor(values, dtype, device)
    cidx = _as_tensor(compressed_indices, None, values.device)
    pidx = _as_tensor(plain_indices, None, values.device)
    if size is None:
        size = _infer_size(layout, cidx, pidx, values)
    size = tuple(int(n) for n in size)
    if check_invariants is None:
        from ._coo import _CHECK_INVARIANTS

        check_invariants = _CHECK_INVARIANTS[0]
    if check_invariants:
        from ._compressed_check import check_invariants as check

        check(layout, cidx, pidx, values, size)
    if requires_grad:
        values = values.detach()
        values.requires_grad_(True)
    elif values.requires_grad:  # not a leaf: gradients go on to ``values``
        values = named(values, "SparseCompressedTensorBackward0")
    return _new(cidx, pidx, values, size, layout)


def _constructor(layout, name, compressed, plain):
    def build(compressed_indices, plain_indices, values, size=None, *, dtype=None,
              device=None, pin_memory=False, requires_grad=False, check_invariants=None):
        return sparse_compressed_tensor(
            compressed_indices, plain_indices, values, size, dtype=dtype, layout=layout,
            device=device, requires_grad=requires_grad, check_invariants=check_invariants)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (
        f"``torch.{name}({compressed}_indices, {plain}_indices, values, size=None, *, "
        "dtype, device, requires_grad, check_invariants)``: ``sparse_compressed_tensor`` "
        f"with ``layout={layout}``.")
    return build


sparse_csr_tensor = _constructor(sparse_csr, "sparse_csr_tensor", "crow", "col")
sparse_csc_tensor = _constructor(sparse_csc, "sparse_csc_tensor", "ccol", "row")
sparse_bsr_tensor = _constructor(sparse_bsr, "sparse_bsr_tensor", "crow", "col")
sparse_bsc_tensor = _constructor(sparse_bsc, "sparse_bsc_tensor", "ccol", "row")


def entry_coordinates(tensor):
    """Backend arrays ``(batch, compressed, plain)``, one element per stored entry in
    storage order (batches flattened): the compressed coordinate is each entry's slice."""
    cidx = tensor._sc_cidx._data
    pidx = tensor._sc_pidx._data
    xp = array_module(cidx)
    n_compressed = cidx.shape[-1] - 1
    flat_c = cidx.reshape(-1, n_compressed + 1).astype(np.int64)
    n_batch = flat_c.shape[0]
    nnz = pidx.shape[-1]
    batch = xp.repeat(xp.arange(n_batch, dtype=np.int64), nnz)
    # Each entry's slice is the last slice start at or before it (a search, not a repeat
    # by counts: CuPy's repeat takes no array of counts); batches are laid end to end.
    starts = (flat_c[:, :-1] + (xp.arange(n_batch, dtype=np.int64) * nnz)[:, None]).reshape(-1)
    if n_compressed == 0:
        return batch, xp.zeros(batch.shape[0], dtype=np.int64), pidx.reshape(-1).astype(
            np.int64)
    slot = xp.searchsorted(starts, xp.arange(n_batch * nnz, dtype=np.int64), side="right") - 1
    return batch, slot % n_compressed, pidx.reshape(-1).astype(np.int64)


def block_rows_cols(tensor):
    """``(batch, row_block, col_block)`` of each stored entry (see ``entry_coordinates``)."""
    batch, compressed, plain = entry_coordinates(tensor)
    if tensor._sc_layout in _ROW_COMPRESSED:
        return batch, compressed, plain
    return batch, plain, compressed


def from_entries(xp, batch_shape, n_compressed, compressed, plain, nnz):
    """``(compressed_indices, plain_indices)`` Tensors from entries already sorted by
    (batch, compressed, plain), ``nnz`` per batch."""
    n_batch = int(np.prod(batch_shape)) if batch_shape else 1
    batch = xp.repeat(xp.arange(n_batch, dtype=np.int64), nnz)
    key = batch * n_compressed + compressed
    counts = xp.bincount(key, minlength=n_batch * n_compressed).reshape(n_batch, n_compressed)
    cidx = xp.concatenate([xp.zeros((n_batch, 1), dtype=np.int64),
                           xp.cumsum(counts, axis=1)], axis=1)
    cidx = cidx.reshape(tuple(batch_shape) + (n_compressed + 1,))
    pidx = plain.reshape(tuple(batch_shape) + (nnz,)).astype(np.int64)
    return _make(cidx), _make(pidx)
