"""``SparseCooTensor``: torch's ``sparse_coo`` layout as an indices/values pair.

A COO tensor of size ``(*sparse_shape, *dense_shape)`` stores ``indices`` (int64,
``(sparse_dim, nnz)``) and ``values`` (``(nnz, *dense_shape)``). Autograd needs no new
machinery: ``values`` is an ordinary Tensor, every sparse op is composed from
differentiable dense ops on it (gather, ``index_add``), so gradients reach whatever
``values`` came from. A sparse leaf (``requires_grad=True``) owns a leaf ``values``
tensor; its ``.grad`` is that tensor's gradient put back on the same indices, which is
PyTorch's "sparse gradient on the input's pattern".

The class derives from Tensor so ``isinstance`` checks and method lookup work, but it has
no strided array: reading ``_data`` (what every dense op does) raises PyTorch's
"Could not run 'aten::op' with arguments from the 'SparseCPU' backend" instead of
computing garbage.
"""

from __future__ import annotations

import math
import re
import sys

import numpy as np

from .._backend import array_module, device_of
from .._tensor import Size, Tensor, _make
from ._layout import sparse_coo
from ._names import named


def raise_no_kernel(backend: str):
    """PyTorch's error for a dense op reached with a sparse tensor of ``backend``."""
    raise NotImplementedError(
        f"Could not run 'aten::{_caller_op_name()}' with arguments from the '{backend}' "
        "backend. This could be because the operator doesn't exist for this backend, or "
        "was omitted during the selective/custom build process (if using custom build)."
    )


def _caller_op_name():
    """The public ember function the user called (the outermost ember frame)."""
    frame = sys._getframe(2)
    frames = []
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module == "ember" or module.startswith("ember."):
            if not module.startswith("ember.sparse"):
                frames.append(frame)
        elif frames:
            break
        frame = frame.f_back
    if not frames:
        return "unknown"
    name = frames[-1].f_code.co_name
    if name in _GENERIC_FRAMES:  # a generated wrapper: its Function class names the op
        for inner in reversed(frames):
            wrapped = inner.f_locals.get("fn")
            if callable(wrapped) and getattr(wrapped, "__name__", "fn") not in _GENERIC_FRAMES:
                return wrapped.__name__.strip("_")
        for inner in frames:
            cls = inner.f_locals.get("cls")
            if isinstance(cls, type):
                return re.sub(r"backward\d*$", "", cls.__name__.lower())
    return name.strip("_") or name


_GENERIC_FRAMES = {"fn", "wrapper", "apply", "apply_unary", "<lambda>", "method"}


class SparseCooTensor(Tensor):
    """A tensor in the ``torch.sparse_coo`` layout (``is_sparse`` is True)."""

    __slots__ = ("_sp_coalesced", "_sp_indices", "_sp_shape", "_sp_values")

    is_sparse = True
    is_sparse_csr = False
    layout = sparse_coo

    @property
    def data(self):
        return self.detach()

    def __new__(cls, *args, **kwargs):
        raise TypeError("use ember.sparse_coo_tensor to build a sparse tensor")

    # -- what dense ops read: refused with PyTorch's message -----------------------------

    @property
    def _data(self):
        raise_no_kernel("SparseCUDA" if self.is_cuda else "SparseCPU")

    @_data.setter
    def _data(self, value):
        raise NotImplementedError("a sparse tensor has no strided data to set")

    # -- identity ------------------------------------------------------------------------

    @property
    def dtype(self):
        return self._sp_values.dtype

    @property
    def device(self):
        return device_of(self._sp_values._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    @property
    def shape(self):
        return Size(self._sp_shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._sp_shape)
        return self._sp_shape[_wrap(dim, len(self._sp_shape))]

    def dim(self) -> int:
        return len(self._sp_shape)

    ndimension = dim

    @property
    def ndim(self) -> int:
        return len(self._sp_shape)

    def numel(self) -> int:
        return math.prod(self._sp_shape)

    nelement = numel

    def element_size(self) -> int:
        return self._sp_values.element_size()

    def is_floating_point(self) -> bool:
        return self._sp_values.is_floating_point()

    def is_complex(self) -> bool:
        return self._sp_values.is_complex()

    def is_contiguous(self, memory_format=None) -> bool:
        raise RuntimeError("is_contiguous is not implemented for sparse tensors")

    def stride(self, dim=None):
        raise RuntimeError("Sparse tensors do not have strides")

    # -- autograd identity: that of ``values`` --------------------------------------------

    @property
    def requires_grad(self) -> bool:
        return self._sp_values.requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True):
        self._sp_values.requires_grad_(requires_grad)
        return self

    @property
    def _requires_grad(self):  # what Tensor's own fast paths read
        return self._sp_values._requires_grad

    @_requires_grad.setter
    def _requires_grad(self, flag):
        self._sp_values._requires_grad = flag

    @property
    def grad_fn(self):
        return self._sp_values.grad_fn

    @grad_fn.setter
    def grad_fn(self, value):
        if value is not None:
            raise RuntimeError("a sparse tensor's grad_fn is that of its values")

    @property
    def is_leaf(self) -> bool:
        return self._sp_values.grad_fn is None

    @property
    def grad(self):
        """The gradient of a leaf, on this tensor's indices (PyTorch's sparse gradient)."""
        values_grad = self._sp_values.grad
        if values_grad is None or not self.is_leaf:
            return None
        indices = self._sp_indices
        if not self._sp_coalesced and indices.shape[1] > 1:
            # Duplicates of one position get equal gradients (every op sees their sum);
            # PyTorch reports that gradient once per position, coalesced.
            array = indices._data
            xp = array_module(array)
            sparse_shape = self._sp_shape[:array.shape[0]]
            unique, first = xp.unique(_linear(array, sparse_shape), return_index=True)
            if unique.shape[0] < array.shape[1]:
                return _new(_make(_unravel(unique, sparse_shape)),
                            values_grad[_make(first.astype(np.int64))], self._sp_shape, True)
        return _new(indices, values_grad, self._sp_shape, self._sp_coalesced)

    @grad.setter
    def grad(self, value):
        if value is None:
            self._sp_values.grad = None
            return
        if not isinstance(value, SparseCooTensor) or value._sp_shape != self._sp_shape:
            raise RuntimeError("assigned grad must be a sparse tensor of the same size")
        same = (value._sp_indices._data.shape == self._sp_indices._data.shape
                and bool((value._sp_indices._data == self._sp_indices._data).all()))
        if not same:
            raise RuntimeError("assigned sparse grad must have this tensor's indices")
        self._sp_values.grad = value._sp_values

    def detach(self):
        return _new(self._sp_indices, self._sp_values.detach(), self._sp_shape,
                    self._sp_coalesced)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        raise RuntimeError("backward from a sparse tensor is not supported; reduce it "
                           "with torch.sparse.sum or to_dense() first")

    # -- the COO accessors --------------------------------------------------------------

    def sparse_dim(self) -> int:
        return self._sp_indices.shape[0]

    def dense_dim(self) -> int:
        return len(self._sp_shape) - self._sp_indices.shape[0]

    def _nnz(self) -> int:
        return self._sp_indices.shape[1]

    def _indices(self) -> Tensor:
        return self._sp_indices

    def _values(self) -> Tensor:
        return self._sp_values

    def indices(self) -> Tensor:
        if not self._sp_coalesced:
            raise RuntimeError(
                "Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return self._sp_indices

    def values(self) -> Tensor:
        if not self._sp_coalesced:
            raise RuntimeError(
                "Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return named(self._sp_values, "ValuesBackward0")

    def is_coalesced(self) -> bool:
        return self._sp_coalesced

    def _coalesced_(self, coalesced: bool):
        self._sp_coalesced = bool(coalesced)
        return self

    def coalesce(self):
        """Duplicates summed, indices sorted lexicographically (``self`` if coalesced)."""
        if self._sp_coalesced:
            return self
        indices = self._sp_indices._data
        xp = array_module(indices)
        sparse_shape = self._sp_shape[:indices.shape[0]]
        unique, inverse = xp.unique(_linear(indices, sparse_shape), return_inverse=True)
        values = self._sp_values
        summed = values.new_zeros((unique.shape[0],) + tuple(values.shape[1:]))
        summed = summed.index_add(0, _make(inverse.reshape(-1)), values)
        summed = named(summed, "CoalesceBackward0")
        return _new(_make(_unravel(unique, sparse_shape)), summed, self._sp_shape, True)

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        """The strided tensor, duplicates summed; differentiable in ``values``."""
        indices = self._sp_indices._data
        values = self._sp_values if dtype is None else self._sp_values.to(dtype)
        sparse_shape = self._sp_shape[:indices.shape[0]]
        dense_shape = tuple(values.shape[1:])
        flat = values.new_zeros((math.prod(sparse_shape),) + dense_shape)
        flat = flat.index_add(0, _make(_linear(indices, sparse_shape)), values)
        return named(flat.reshape(self._sp_shape), "ToDenseBackward0")

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
        if sparse_dim is not None and sparse_dim != self.sparse_dim():
            raise RuntimeError(
                "to_sparse: conversion from Sparse to Sparse with sparse_dim argument "
                "!=self.sparse_dim() is not supported")
        return self

    to_sparse_coo = to_sparse

    # -- moves -------------------------------------------------------------------------

    def to(self, *args, **kwargs):
        values = self._sp_values.to(*args, **kwargs)
        indices = self._sp_indices.to(values.device)
        if values is self._sp_values and indices is self._sp_indices:
            return self
        return _new(indices, values, self._sp_shape, self._sp_coalesced)

    def cpu(self, memory_format=None):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        return self.to("cuda" if device is None else
                       (f"cuda:{device}" if isinstance(device, int) else device))

    def double(self, memory_format=None):
        return self.to(_dtype("float64"))

    def float(self, memory_format=None):
        return self.to(_dtype("float32"))

    def half(self, memory_format=None):
        return self.to(_dtype("float16"))

    def long(self, memory_format=None):
        return self.to(_dtype("int64"))

    def int(self, memory_format=None):
        return self.to(_dtype("int32"))

    def clone(self, *, memory_format=None):
        return _new(self._sp_indices.clone(), self._sp_values.clone(), self._sp_shape,
                    self._sp_coalesced)

    # -- printing and pickling ------------------------------------------------------------

    def __repr__(self, *, tensor_contents=None):
        from ._repr import sparse_repr

        return sparse_repr(self)

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (_rebuild_sparse_tensor,
                (sparse_coo, (self._sp_indices, self._sp_values, Size(self._sp_shape),
                              self._sp_coalesced)))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        values = self._sp_values.__deepcopy__(memo)
        new = _new(self._sp_indices.clone(), values, self._sp_shape, self._sp_coalesced)
        memo[id(self)] = new
        return new

    def __len__(self):
        return self._sp_shape[0]

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.to_dense())

    def item(self):
        if self.numel() != 1:
            raise RuntimeError(
                f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        return self.to_dense().item()

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "can't convert a sparse tensor to a NumPy array: call to_dense() first")

    def numpy(self, *, force=False):
        raise TypeError(
            "can't convert a sparse tensor to a NumPy array: call to_dense() first")

    def tolist(self):
        raise RuntimeError("tolist() is not supported for sparse tensors")


def _dtype(name):
    from .._backend import dtypes

    return getattr(dtypes, name)


def _wrap(dim, ndim):
    if not -ndim <= dim < ndim:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but "
            f"got {dim})")
    return dim + ndim if dim < 0 else dim


def _linear(indices, sparse_shape):
    """Row-major linear position of each column of ``indices`` (a backend array)."""
    xp = array_module(indices)
    linear = xp.zeros(indices.shape[1], dtype=np.int64)
    for d, extent in enumerate(sparse_shape):
        linear = linear * extent + indices[d]
    return linear


def _unravel(linear, sparse_shape):
    """The inverse of ``_linear``: a ``(sparse_dim, n)`` int64 array."""
    xp = array_module(linear)
    rows = []
    for extent in reversed(sparse_shape):
        rows.append(linear % extent if extent else linear)
        linear = linear // extent if extent else linear
    if not rows:
        return xp.zeros((0, linear.shape[0]), dtype=np.int64)
    return xp.stack(rows[::-1]).astype(np.int64, copy=False)


def _new(indices, values, shape, coalesced):
    """The internal constructor: no validation."""
    t = object.__new__(SparseCooTensor)
    t._sp_indices = indices
    t._sp_values = values
    t._sp_shape = tuple(int(n) for n in shape)
    t._sp_coalesced = bool(coalesced)
    t._output_nr = 0
    t._vc = [0]
    t._base = None
    t._acc = None
    t._retains_grad = False
    t._hooks = None
    return t


def _rebuild_sparse_tensor(layout, data):
    """Pickle/checkpoint rebuilder (``torch._utils._rebuild_sparse_tensor``'s arguments)."""
    if str(layout) in ("torch.sparse_csr", "torch.sparse_csc", "torch.sparse_bsr",
                       "torch.sparse_bsc"):
        from ._compressed import sparse_compressed_tensor
        from ._layout import layout_from_name

        compressed_indices, plain_indices, values, size = data
        return sparse_compressed_tensor(compressed_indices, plain_indices, values, size,
                                        layout=layout_from_name(str(layout)))
    if str(layout) != "torch.sparse_coo":
        raise NotImplementedError(f"rebuilding sparse tensor for layout {layout}")
    indices, values, size = data[0], data[1], data[2]
    coalesced = data[3] if len(data) > 3 else None
    return sparse_coo_tensor(indices, values, size, is_coalesced=coalesced)


def _as_tensor(data, dtype=None, device=None):
    from .._ops.creation import tensor as make_tensor

    if isinstance(data, Tensor):
        if dtype is not None or device is not None:
            return data.to(device=device, dtype=dtype)
        return data
    return make_tensor(data, dtype=dtype, device=device)


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None,
                      pin_memory=False, requires_grad=False, check_invariants=None,
                      is_coalesced=None) -> SparseCooTensor:
    """A COO tensor from ``indices`` (``(sparse_dim, nnz)`` integers) and ``values``
    (``(nnz, *dense_shape)``), as ``torch.sparse_coo_tensor``.

    ``size`` defaults to the smallest that holds every index. ``values`` is used as is
    (no copy when dtype and device already match), so gradients flow back to it.

    Example::

        >>> i = ember.tensor([[0, 1, 1], [2, 0, 2]])
        >>> s = ember.sparse_coo_tensor(i, ember.tensor([3., 4., 5.]), (2, 3))
        >>> s.to_dense()
        tensor([[0., 0., 3.],
                [4., 0., 5.]])
    """
    values = _as_tensor(values, dtype, device)
    indices = _as_tensor(indices, None, values.device)
    if indices.dtype.name != "int64":  # PyTorch converts (float indices included)
        indices = indices.detach().long()
    if indices.ndim != 2:
        raise RuntimeError(
            f"indices must be sparse_dim x nnz, but got: {list(indices.shape)}")
    sparse_dim, nnz = indices.shape
    if values.ndim == 0:
        raise RuntimeError("values must be at least 1-dimensional")
    if values.shape[0] != nnz:
        raise RuntimeError(
            "indices and values must have same nnz, but got nnz from indices: "
            f"{nnz}, nnz from values: {values.shape[0]}")
    dense_shape = tuple(values.shape[1:])
    array = indices._data
    if size is None:
        if nnz:
            sparse_shape = tuple(int(n) + 1 for n in array.max(axis=1).tolist())
        else:
            sparse_shape = (0,) * sparse_dim
        size = sparse_shape + dense_shape
    size = tuple(int(n) for n in size)
    if len(size) != sparse_dim + len(dense_shape):
        raise RuntimeError(
            "'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = "
            f"{len(size)}, sparse_dim = {sparse_dim}, dense_dim = {len(dense_shape)}")
    if size[sparse_dim:] != dense_shape:
        raise RuntimeError(
            f"values has incorrect size, expected {list(size[sparse_dim:])}, got "
            f"{list(dense_shape)}")
    if check_invariants is None:
        check_invariants = _CHECK_INVARIANTS[0]
    if check_invariants and nnz:
        _check_indices(array, size[:sparse_dim])
    if requires_grad:
        values = values.detach()
        values.requires_grad_(True)
    elif values.requires_grad:  # not a leaf: gradients go on to ``values``
        values = named(values, "SparseCooTensorWithDimsAndTensorsBackward0")
    coalesced = nnz <= 1 if is_coalesced is None else is_coalesced
    return _new(indices, values, size, coalesced)


_CHECK_INVARIANTS = [False]


class check_sparse_tensor_invariants:
    """Whether ``sparse_coo_tensor`` validates indices by default (off, as PyTorch's: the
    check costs a pass over the indices). A context manager and decorator; ``enable()``,
    ``disable()`` and ``is_enabled()`` set and read the global default."""

    def __init__(self, enable: bool = True):
        self.state = bool(enable)
        self.saved = None

    @staticmethod
    def is_enabled() -> bool:
        return _CHECK_INVARIANTS[0]

    @staticmethod
    def enable():
        _CHECK_INVARIANTS[0] = True

    @staticmethod
    def disable():
        _CHECK_INVARIANTS[0] = False

    def __enter__(self):
        self.saved = _CHECK_INVARIANTS[0]
        _CHECK_INVARIANTS[0] = self.state
        return self

    def __exit__(self, *exc):
        _CHECK_INVARIANTS[0] = self.saved
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with check_sparse_tensor_invariants(self.state):
                return fn(*args, **kwargs)

        return wrapper


def _check_indices(indices, sparse_shape):
    lowest = indices.min(axis=1).tolist()
    highest = indices.max(axis=1).tolist()
    for d, (low, high) in enumerate(zip(lowest, highest)):
        if low < 0:
            raise RuntimeError(f"found negative index {low} for dim {d}")
        if high >= sparse_shape[d]:
            raise RuntimeError(
                f"size is inconsistent with indices: for dim {d}, size is {sparse_shape[d]} "
                f"but found index {high}")


def dense_to_sparse(input: Tensor, sparse_dim=None) -> SparseCooTensor:
    """``Tensor.to_sparse``: the non-zero entries of the first ``sparse_dim`` dimensions
    (a slice counts if any of its dense elements is non-zero), coalesced."""
    ndim = input.ndim
    node_name = "ToSparseBackward1" if sparse_dim is None else "ToSparseBackward0"
    if sparse_dim is None:
        sparse_dim = ndim
    if not 0 <= sparse_dim <= ndim:
        raise RuntimeError(
            f"sparse_dim argument must be in [0,{ndim}] range, but {sparse_dim} is given")
    array = input.detach()._data
    xp = array_module(array)
    mask = array != 0
    if ndim > sparse_dim:
        mask = mask.any(axis=tuple(range(sparse_dim, ndim)))
    if sparse_dim == 0:
        indices = xp.zeros((0, 1), dtype=np.int64)
        values = input.unsqueeze(0)
    else:
        where = xp.nonzero(mask)
        indices = xp.stack(where).astype(np.int64) if where else xp.zeros((0, 0), np.int64)
        values = input[tuple(_make(w.astype(np.int64)) for w in where)]
    return _new(_make(indices), named(values, node_name), tuple(input.shape), True)
