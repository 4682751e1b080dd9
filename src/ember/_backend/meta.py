"""The meta device: arrays with a shape, a dtype and strides but no data.

PyTorch users build models too big for memory on ``meta`` (``with torch.device('meta'):``),
run forwards there to infer shapes, then ``to_empty`` the model onto a real device. The
tensor layer needs nothing new for this if a meta tensor's ``_data`` answers ``shape``,
``dtype``, ``strides`` and NumPy's functions like any array. So a meta array is an
``ndarray`` subclass, ``MetaArray``, whose memory is never meant to be read:

- Creation is free: large arrays are views of an anonymous ``mmap`` reserved without
  backing (``MAP_NORESERVE``): the kernel hands out pages only when written, and nothing
  writes them (a 10-billion-element meta parameter costs an address range, not 40 GB).
  Small ones are zero-filled NumPy arrays (cheaper than a system call). Reading an
  unwritten page gives zeros, so ops that do read (below) see valid all-zero data.
- Writes are no-ops: ``a[i] = v``, ``fill``, ufuncs with ``out=``, ``copyto``, ``put``
  check the shapes and keep nothing, so in-place initialisation allocates nothing.
- Elementwise ufuncs (most of an op's work) are free: the result's dtype comes from
  applying the ufunc to 0-d samples, its shape from broadcasting. ``matmul`` (so Linear
  and conv), ufunc reductions (sum, mean, max, norm) and argmax/argmin are shape rules
  too: a 10-billion-parameter layer's forward and backward take milliseconds.
- Everything else (``einsum``, ``concatenate``, ``take``, sorting, ...) runs NumPy's own
  code on the zero data and wraps the result as meta: correct shapes and dtypes for the
  price of the real op on zeros (time, and memory for the output). Views (``reshape``,
  ``transpose``, slicing, ``as_strided``) are real views, so strides and storage offsets
  are PyTorch's without extra bookkeeping.
- Data-dependent results (``nonzero``, boolean masks, ``unique``) raise
  ``NotImplementedError`` as PyTorch's meta kernels do, instead of answering from zeros.
- Mixing a meta array with a non-scalar host array in one op raises ``TypeError`` (as
  CuPy refuses host arrays); the op layer turns that into PyTorch's device error through
  ``check_same_device``.

Array math inside ops reaches NumPy through ``array_module(array)``, which for meta arrays
is ``META_NUMPY``: NumPy's namespace with the creation functions returning meta arrays.
"""

from __future__ import annotations

import math
import mmap
import sys

import numpy as np

from .reshape_view import reshape_view

# Python 3.11 has no mmap.MAP_NORESERVE; Linux's value is 0x4000 on every architecture
# ember runs on. Elsewhere anonymous mappings are lazily committed anyway.
_MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000 if sys.platform.startswith("linux") else 0)
_SMALL_BYTES = 1 << 16  # below this a zeroed NumPy allocation beats an mmap system call

NO_DATA = "Cannot copy out of meta tensor; no data!"
NO_ITEM = "Tensor.item() cannot be called on meta tensors"


# the PyTorch operator behind each data-dependent NumPy function, for the error text
_ATEN_NAMES = {"array_equal": "equal", "array_equiv": "equal", "unique": "_unique2",
               "compress": "masked_select", "extract": "masked_select", "argwhere": "nonzero",
               "flatnonzero": "nonzero"}


def _no_kernel(name):
    name = _ATEN_NAMES.get(name, name)
    return NotImplementedError(
        f"aten::{name}: attempted to run this operator with Meta tensors, but there was no "
        "fake impl or Meta kernel registered: its output shape depends on the data"
    )


_nesting = [0]  # > 0 while NumPy's own implementation of a function runs on meta arrays


class _MetaPointer:
    """``array.data.ptr`` as CuPy spells it: meta tensors report a null data pointer."""

    __slots__ = ()
    ptr = 0


class MetaArray(np.ndarray):
    """An array on the meta device: real shape, dtype and strides, no meaningful data."""

    __array_priority__ = 50.0

    # -- NumPy's protocols ---------------------------------------------------------------

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.pop("out", None)
        if out is not None:  # in place into meta: host operands are fine, as in PyTorch
            return _ufunc_into(ufunc, method, inputs, out, kwargs)
        if not _nesting[0]:
            _check_not_mixed(inputs)
        if method == "__call__" and "where" not in kwargs:
            if ufunc.signature is None:
                return _elementwise(ufunc, inputs, kwargs)
            if ufunc is np.matmul:
                return _matmul(inputs, kwargs)
        if kwargs.get("where", False) is True:
            del kwargs["where"]  # ndarray.sum and friends pass where=True: no mask
        if method == "reduce" and len(inputs) == 1 and "where" not in kwargs:
            reduced = _reduce(ufunc, inputs[0], kwargs)
            if reduced is not None:
                return reduced
        if method == "at":
            return None  # an in-place scatter into meta: nothing to write
        result = getattr(ufunc, method)(*[_zeros_view(x) for x in inputs], **kwargs)
        return wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        name = func.__name__
        if name in _DATA_DEPENDENT:
            raise _no_kernel(name)
        if name in _WRITES:
            return None
        if name in _FREE:
            return _FREE[name](*args, **kwargs)
        implementation = getattr(func, "_implementation", None)
        if implementation is None:
            return wrap(func(*_plain(args), **_plain(kwargs)))
        # NumPy's own code on the meta arrays themselves: the ufuncs and methods it calls
        # come back here (np.clip is a ufunc underneath: free). Its internal temporaries
        # are host arrays, so only the caller's arguments are checked for mixing.
        if not _nesting[0]:
            _check_not_mixed(args)
        _nesting[0] += 1
        try:
            return wrap(implementation(*args, **kwargs))
        finally:
            _nesting[0] -= 1

    # -- writes keep nothing --------------------------------------------------------------

    def __setitem__(self, index, value):
        target = _plain_view(self)[_plain_index(index)]
        np.broadcast_to(_zeros_view(value), np.shape(target))  # NumPy's shape error

    def fill(self, value):
        return None

    def sort(self, *args, **kwargs):
        return None

    # -- reads have no data to give ---------------------------------------------------------

    def __getitem__(self, index):
        return np.ndarray.__getitem__(self, _plain_index(index, check_masks=True))

    def item(self, *args):
        raise RuntimeError(NO_ITEM)

    def tolist(self):
        raise NotImplementedError(NO_DATA)

    def tobytes(self, order="C"):
        raise NotImplementedError(NO_DATA)

    def get(self, *args, **kwargs):
        """CuPy's device-to-host copy, which ``Tensor.cpu()`` and ``tolist`` call."""
        raise NotImplementedError(NO_DATA)

    @property
    def data(self):
        return _MetaPointer()

    def nonzero(self):
        raise _no_kernel("nonzero")

    def argmax(self, axis=None, out=None, *, keepdims=False):
        return _arg_reduce(self, "argmax", axis, out, keepdims)

    def argmin(self, axis=None, out=None, *, keepdims=False):
        return _arg_reduce(self, "argmin", axis, out, keepdims)

    # -- copies are fresh meta arrays, not copies of zeros ----------------------------------

    def copy(self, order="C"):
        return empty_like(self, order=order)

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        dtype = np.dtype(dtype)
        if not copy and dtype == self.dtype:
            return self
        return empty_like(self, dtype=dtype, order=order)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        if order != "C":
            return wrap(np.ndarray.reshape(_plain_view(self), shape, order=order))
        view = reshape_view(self, shape)  # exactly when NumPy's reshape would not copy
        if view is not None:
            return view
        new_shape = np.broadcast_to(np.zeros((), self.dtype), self.shape).reshape(shape).shape
        return empty(new_shape, self.dtype)

    def ravel(self, order="C"):
        return self.reshape(-1)

    def flatten(self, order="C"):
        return empty((self.size,), self.dtype)

    def __reduce__(self):
        return (empty, (self.shape, self.dtype))

    def __deepcopy__(self, memo):
        return self.copy()

    def __copy__(self):
        return self.copy()


# -- creation ------------------------------------------------------------------------------

def _memory(nbytes):
    """An unbacked anonymous mapping of ``nbytes`` (None when the system refuses one)."""
    try:
        if hasattr(mmap, "MAP_ANONYMOUS"):
            flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE
            return mmap.mmap(-1, nbytes, flags=flags)
        return mmap.mmap(-1, nbytes)
    except (OSError, OverflowError, ValueError):
        return None


def empty(shape, dtype=float, order="C") -> MetaArray:
    """A meta array; free at any size (see the module docstring)."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = tuple(int(s) for s in shape)
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes <= _SMALL_BYTES:
        return np.zeros(shape, dtype, order="F" if order == "F" else "C").view(MetaArray)
    buffer = _memory(nbytes)
    if buffer is None:  # no address space to reserve: zero strides, still no data
        return np.lib.stride_tricks.as_strided(
            np.zeros(1, dtype), shape, (0,) * len(shape), writeable=False).view(MetaArray)
    return MetaArray(shape, dtype, buffer=buffer, order="F" if order == "F" else "C")


def empty_like(array, dtype=None, order="K", shape=None) -> MetaArray:
    """A meta array shaped like ``array``; ``order='K'`` keeps its axis order, as
    ``empty_like`` and PyTorch's preserve_format do."""
    dtype = array.dtype if dtype is None else np.dtype(dtype)
    if shape is not None:
        return empty(shape, dtype, order if order in ("C", "F") else "C")
    shape = np.shape(array)
    strides = getattr(array, "strides", None)
    if order != "K" or not strides or len(shape) < 2:
        return empty(shape, dtype, "F" if order == "F" else "C")
    axes = _layout_order(shape, strides)  # allocate contiguous in that order, view back
    out = empty(tuple(shape[axis] for axis in axes), dtype)
    return out.transpose(np.argsort(axes))


def _layout_order(shape, strides):
    """The axes from outermost to innermost as PyTorch's ``empty_like`` orders them
    (``infer_dense_strides``): a stable insertion sort by stride, the larger size first
    on equal strides, and an expanded axis (stride 0) never moved past another, so an
    ``expand``-ed input gives a contiguous result."""
    perm = list(range(len(shape)))[::-1]  # innermost first
    for i in range(1, len(perm)):
        moving = i
        for j in range(i - 1, -1, -1):
            a, b = abs(strides[perm[j]]), abs(strides[perm[moving]])
            if a == 0 or b == 0 or a < b:
                break
            if a > b or shape[perm[j]] > shape[perm[moving]]:
                perm[j], perm[moving] = perm[moving], perm[j]
                moving = j
            else:
                break
    return perm[::-1]


def to_meta(array) -> MetaArray:
    """``array`` (any device) as a meta array of the same shape, dtype and layout."""
    return empty_like(array)


def wrap(result):
    """Results of NumPy calls as meta arrays (tuples and lists of them too)."""
    if isinstance(result, np.ndarray):
        return result if isinstance(result, MetaArray) else result.view(MetaArray)
    if isinstance(result, np.generic):
        return empty((), result.dtype)
    if isinstance(result, tuple):
        return tuple(wrap(r) for r in result)
    if isinstance(result, list):
        return [wrap(r) for r in result]
    return result


# -- the ufunc shortcuts -----------------------------------------------------------------

def _elementwise(ufunc, inputs, kwargs):
    try:
        shape = np.broadcast_shapes(*[np.shape(x) for x in inputs])
    except ValueError:  # the ufunc's own error, which the op layer words as PyTorch's
        ufunc(*[_zeros_view(x) for x in inputs], **kwargs)
        raise
    samples = [np.zeros((), x.dtype) if isinstance(x, np.ndarray) else x for x in inputs]
    with np.errstate(all="ignore"):
        result = ufunc(*samples, **kwargs)
    if isinstance(result, tuple):
        return tuple(empty(shape, r.dtype) for r in result)
    return empty(shape, np.asarray(result).dtype)


def _matmul(inputs, kwargs):
    a, b = (np.shape(x) for x in inputs)
    if len(a) == 0 or len(b) == 0 or (a if len(a) == 1 else a[-1:]) != (
            b if len(b) == 1 else b[-2:-1]):
        np.matmul(*[_zeros_view(x) for x in inputs], **kwargs)  # raises NumPy's error
    batch = np.broadcast_shapes(a[:-2], b[:-2])
    shape = batch + a[-2:-1] + b[-1:] if len(b) > 1 else batch + a[-2:-1]
    dtype = np.matmul(*[np.zeros((1, 1), np.asarray(x).dtype) for x in inputs], **kwargs).dtype
    return empty(shape, dtype)


def _reduce(ufunc, array, kwargs):
    """``ufunc.reduce`` (sum, max, any, ...) by shape rule: the dtype from reducing a
    one-element sample, the shape from dropping (or keeping as 1) the reduced axes. None
    where NumPy must decide (empty axes, bad axes, 0-d): the caller runs it on zeros."""
    shape = array.shape
    ndim = len(shape)
    axis = kwargs.get("axis", 0)
    if axis is None:
        axes = set(range(ndim))
    else:
        axes = set()
        for a in axis if isinstance(axis, tuple) else (axis,):
            if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
                return None
            axes.add(int(a) % ndim)
    if ndim == 0 or any(shape[a] == 0 for a in axes):
        return None
    keepdims = kwargs.get("keepdims", False)
    dtype = ufunc.reduce(np.zeros((1,) * ndim, array.dtype), **kwargs).dtype
    out_shape = tuple(1 if i in axes else size for i, size in enumerate(shape)
                      if keepdims or i not in axes)
    return empty(out_shape, dtype)


def _arg_reduce(array, name, axis, out, keepdims):
    """argmax/argmin by shape rule (NumPy's C methods would read every element)."""
    if out is not None or array.size == 0:  # NumPy's errors for empty arrays
        return wrap(getattr(_plain_view(array), name)(axis, out, keepdims=keepdims))
    if axis is None:
        shape = (1,) * array.ndim if keepdims else ()
    else:
        axis = np.lib.array_utils.normalize_axis_index(axis, array.ndim)
        shape = tuple(1 if i == axis else n for i, n in enumerate(array.shape)
                      if keepdims or i != axis)
    return empty(shape, np.intp)


def _ufunc_into(ufunc, method, inputs, out, kwargs):
    """A ufunc writing into ``out``: meta outputs take nothing; the shape checks stay."""
    outs = out if isinstance(out, tuple) else (out,)
    if not all(isinstance(o, MetaArray) for o in outs):
        raise RuntimeError("Tensor on device meta is not on the expected device cpu!")
    if method == "__call__" and ufunc.signature is None and "where" not in kwargs:
        try:
            shape = np.broadcast_shapes(*[np.shape(x) for x in inputs])
        except ValueError:  # the ufunc's own wording, as for results
            ufunc(*[_zeros_view(x) for x in inputs], **kwargs)
            raise
        for o in outs:
            if np.broadcast_shapes(shape, o.shape) != o.shape:
                raise ValueError(
                    f"non-broadcastable output operand with shape {o.shape} doesn't match "
                    f"the broadcast shape {shape}")
    return out[0] if isinstance(out, tuple) and len(out) == 1 else out


# -- helpers -----------------------------------------------------------------------------

def _zeros_view(value):
    """A read-only all-zero stand-in of ``value``'s shape that costs no memory."""
    if isinstance(value, MetaArray):
        return np.broadcast_to(np.zeros((), value.dtype), value.shape)
    return value


def _plain_view(array):
    return np.ndarray.view(array, np.ndarray)


def _plain(value):
    """Arguments for a NumPy call with meta arrays as plain views of their (zero) memory,
    so views taken by the call are real views with real strides."""
    if isinstance(value, MetaArray):
        return np.ndarray.view(value, np.ndarray)
    if type(value) is tuple or type(value) is list:
        return type(value)(_plain(v) for v in value)
    if type(value) is dict:
        return {k: _plain(v) for k, v in value.items()}
    return value


def _plain_index(index, check_masks=False):
    if isinstance(index, MetaArray):
        if check_masks and index.dtype == np.bool_:
            raise _no_kernel("nonzero")
        return _zeros_view(index)
    if type(index) is tuple:
        return tuple(_plain_index(i, check_masks) for i in index)
    return index


def _check_not_mixed(values):
    """TypeError when a host array (0-d arrays are scalars) meets a meta array."""
    for value in values:
        if type(value) is np.ndarray and value.ndim:
            raise TypeError("meta and host arrays in one operation")
        if type(value) is tuple or type(value) is list:
            _check_not_mixed(value)


def _asarray(a, dtype=None, order=None, **kwargs):
    if isinstance(a, MetaArray):
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    return wrap(np.asarray(a, dtype=dtype, order=order, **kwargs))


def _array(a, dtype=None, *, copy=True, order="K", **kwargs):
    if isinstance(a, MetaArray):
        if not copy and (dtype is None or np.dtype(dtype) == a.dtype):
            return a
        return empty_like(a, dtype=dtype, order=order)
    return wrap(np.array(a, dtype=dtype, copy=copy, order=order, **kwargs))


def _ascontiguousarray(a, dtype=None, **kwargs):
    if isinstance(a, MetaArray):
        if a.flags.c_contiguous and (dtype is None or np.dtype(dtype) == a.dtype):
            return a
        return empty(a.shape, a.dtype if dtype is None else dtype)
    return wrap(np.ascontiguousarray(a, dtype=dtype, **kwargs))


def _asfortranarray(a, dtype=None, **kwargs):
    if isinstance(a, MetaArray):
        if a.flags.f_contiguous and (dtype is None or np.dtype(dtype) == a.dtype):
            return a
        return empty(a.shape, a.dtype if dtype is None else dtype, "F")
    return wrap(np.asfortranarray(a, dtype=dtype, **kwargs))


def _like(prototype, dtype=None, order="K", subok=True, shape=None, **kwargs):
    return empty_like(prototype, dtype, order, shape)


def _full_like(prototype, fill_value, dtype=None, order="K", subok=True, shape=None, **kwargs):
    return empty_like(prototype, dtype, order, shape)


def _copy(a, order="K", **kwargs):
    return empty_like(a, order=order)


def _qr(a, mode="reduced"):
    """QR by shape rule (nn.init.orthogonal_ on a meta weight would factor zeros)."""
    if (not isinstance(a, MetaArray) or mode not in ("reduced", "complete", "r")
            or a.ndim < 2 or 0 in a.shape[-2:]):
        return wrap(np.linalg.qr(_plain(a), mode=mode))
    *batch, rows, cols = a.shape
    sample = np.linalg.qr(np.zeros((1, 1), a.dtype), mode=mode)
    inner = rows if mode == "complete" else min(rows, cols)
    if mode == "r":
        return empty((*batch, inner, cols), sample.dtype)
    return type(sample)(empty((*batch, rows, inner), sample.Q.dtype),
                        empty((*batch, inner, cols), sample.R.dtype))


# NumPy functions whose meta answer needs no computation (so no memory): one table for
# calls through META_NUMPY (``xp.asarray``) and through NumPy itself (``np.copy(meta)``)
_FREE = {
    "asarray": _asarray, "asanyarray": _asarray, "array": _array,
    "ascontiguousarray": _ascontiguousarray, "asfortranarray": _asfortranarray,
    "empty_like": _like, "zeros_like": _like, "ones_like": _like,
    "full_like": _full_like,
    "copy": _copy, "qr": _qr,
}

_DATA_DEPENDENT = frozenset({
    "nonzero", "flatnonzero", "argwhere", "unique", "unique_values", "unique_counts",
    "unique_inverse", "unique_all", "compress", "extract", "array_equal", "allclose",
    "array_equiv",
})
_WRITES = frozenset({"copyto", "put", "place", "putmask", "put_along_axis", "fill_diagonal"})


class _MetaNumPy:
    """NumPy's namespace for meta arrays: what ``array_module`` answers for them, so an
    op's ``xp.zeros(...)`` / ``xp.asarray(...)`` lands on meta as its inputs did."""

    __name__ = "ember.meta_numpy"

    def __init__(self):
        self.lib = _MetaLib()

    @staticmethod
    def empty(shape, dtype=float, order="C", **kwargs):
        return empty(shape, dtype, order)

    zeros = ones = empty

    @staticmethod
    def full(shape, fill_value, dtype=None, order="C", **kwargs):
        return empty(shape, np.full((), fill_value, dtype).dtype, order)

    def __getattr__(self, name):
        attr = getattr(np, name)
        if not callable(attr) or isinstance(attr, (type, np.ufunc)):
            return attr
        if name in _DATA_DEPENDENT:
            raise _no_kernel(name)
        if name in _FREE:
            return _FREE[name]

        def on_meta(*args, **kwargs):
            # meta arguments dispatch through MetaArray.__array_function__; what comes
            # back from argument-free calls (arange, eye, asarray of a list) is made meta
            return wrap(attr(*args, **kwargs))

        on_meta.__name__ = name
        return on_meta


class _MetaLib:
    """``xp.lib`` for meta arrays: ``as_strided`` keeps the subclass (NumPy's default
    returns a plain ndarray, which would be a cpu array)."""

    def __init__(self):
        self.stride_tricks = _MetaStrideTricks()

    def __getattr__(self, name):
        return getattr(np.lib, name)


class _MetaStrideTricks:
    @staticmethod
    def as_strided(x, shape=None, strides=None, subok=False, writeable=True):
        return wrap(np.lib.stride_tricks.as_strided(x, shape, strides, subok=True,
                                                    writeable=writeable))

    @staticmethod
    def sliding_window_view(x, window_shape, axis=None, *, subok=False, writeable=False):
        return wrap(np.lib.stride_tricks.sliding_window_view(
            x, window_shape, axis, subok=True, writeable=writeable))

    def __getattr__(self, name):
        return getattr(np.lib.stride_tricks, name)


META_NUMPY = _MetaNumPy()
