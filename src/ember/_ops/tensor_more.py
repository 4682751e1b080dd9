"""ops family: Tensor methods about storage and layout rather than math.

``set_`` (point a tensor at another tensor's or a storage's memory), ``is_set_to``,
``resize_as_`` and the deprecated out-of-place ``resize``/``resize_as``, ``dim_order``,
``storage_type``, ``const_data_ptr``, ``module_load``, ``nonzero_static``,
``unsafe_split_with_sizes``; the sparse accessors a strided tensor answers with
PyTorch's layout errors (sparse classes override them); the ``is_<device>`` flags of
backends ember never runs on; and ``record_stream``.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._backend.strided import strided_view
from .._grad_assign import _CPP_TYPE_NAMES
from .._memory_format import (
    _ORDER, canonical_strides, channels_last, channels_last_3d, check_rank, memory_format,
)
from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from . import combine as _combine
from ._fill import resize_
from ._util import Tensor, _make, inplace_check, type_name, xp_of
from .index import _data_ptr
from .index_ops import nonzero

__all__ = ["nonzero_static", "resize_as_", "sspaddmm", "unsafe_split_with_sizes"]


def _cpp(np_dtype):
    name = str(np_dtype)
    return _CPP_TYPE_NAMES.get(name, name)


# -- set_ / is_set_to ---------------------------------------------------------------------------


class _SetSource(Function):
    """``self.set_(source)`` with ``source`` requiring grad: PyTorch records a node with no
    derivative, so backward through it raises; so does this one."""

    _array_io = True
    _node_name = "NotImplemented"

    @staticmethod
    def forward(ctx, x, window):
        return window

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for set_ is not implemented")


_SET_SIGNATURES = (
    " * ()\n * (torch.Storage source)\n * (torch.Storage source, int storage_offset, tuple of "
    "ints size, tuple of ints stride = None)\n * (Tensor source)\n * (Tensor source, int "
    "storage_offset, tuple of ints size, tuple of ints stride = None)\n")


def _set_type_error(*args):
    got = ", ".join(type(a).__name__ if not isinstance(a, Tensor) else "Tensor" for a in args)
    return TypeError(f"set_() received an invalid combination of arguments - got ({got}), "
                     f"but expected one of:\n{_SET_SIGNATURES}")


def _typed_flat(self, source):
    """The storage ``source`` names, as a 1-D array of ``self``'s dtype."""
    from .._storage import TypedStorage, UntypedStorage

    own = self._data.dtype
    if isinstance(source, Tensor):
        if source._data.dtype != own:
            raise RuntimeError(f"Could not set tensor of type {_cpp(source._data.dtype)} to a "
                               f"tensor of type {_cpp(own)}")
        return _combine.storage_flat(source._data)
    if isinstance(source, TypedStorage) and source._flat.dtype != own:
        raise RuntimeError(
            f"Expected a Storage of type {_cpp(own)} or an UntypedStorage, but got type "
            f"{type_name(source._flat.dtype)} for argument 1 'storage'")
    if isinstance(source, UntypedStorage) and own != np.uint8:
        raw = source._flat
        whole = raw.size // own.itemsize * own.itemsize
        return raw[:whole].view(own)  # the bytes read as self's dtype, as PyTorch does
    return source._flat


def set_(self, source=None, storage_offset=None, size=None, stride=None):
    """Make ``self`` look at ``source``'s memory: another tensor (same storage, offset,
    sizes and strides unless given) or a storage, with an optional ``(storage_offset,
    size, stride)`` window; ``set_()`` gives it a fresh empty storage. Writes through
    either tensor are then seen by the other.

    A window reaching past the end of the storage grows it, as PyTorch's does; here the
    growth is new memory (the old elements first, zeros after) that ``source`` does not
    share."""
    from .._storage import TypedStorage, UntypedStorage

    if not isinstance(source, (Tensor, TypedStorage, UntypedStorage, type(None))):
        raise _set_type_error(*(a for a in (source, storage_offset, size, stride)
                                if a is not None))
    if source is None and (storage_offset is not None or size is not None):
        raise _set_type_error(*(a for a in (storage_offset, size, stride) if a is not None))
    if (storage_offset is None) != (size is None):
        raise _set_type_error(source, *(a for a in (storage_offset, size, stride)
                                        if a is not None))
    if _grad_enabled[0]:
        inplace_check(self)
    xp = xp_of(self._data)
    if source is None:
        window = xp.empty(0, self._data.dtype)
    else:
        flat = _typed_flat(self, source)
        if size is None and isinstance(source, Tensor):
            window = source._data.view()
        else:
            if size is None:
                offset, size, stride = 0, (flat.size,), (1,)
            else:
                offset = int(storage_offset)
                size = tuple(int(s) for s in size)
                stride = (canonical_strides(size, None) if stride is None
                          else tuple(int(s) for s in stride))
            window = _window(flat, offset, size, stride, self._data.dtype.itemsize)
    if isinstance(source, Tensor) and source._requires_grad and _grad_enabled[0]:
        result = _SetSource.apply(source, window)
        self.grad_fn, self._output_nr, self._requires_grad = result.grad_fn, 0, True
    self._data = window
    self._base = None  # no longer a view of what it was a view of
    self.__dict__.pop("_view_creation", None)
    self._vc[0] += 1
    return self


def _window(flat, offset, size, stride, itemsize):
    if len(size) != len(stride):
        raise RuntimeError(f"unequal size length ({len(size)}) and stride length ({len(stride)})")
    needed = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1 if 0 not in size else 0
    _combine._check_geometry(size, stride, offset, itemsize, max(flat.size, needed))
    if needed > flat.size:
        grown = xp_of(flat).zeros(needed, flat.dtype)
        grown[:flat.size] = flat
        flat = grown
    start = flat[offset:] if offset < flat.size else flat[flat.size:]
    return strided_view(start, size, tuple(s * itemsize for s in stride))


def is_set_to(self, tensor) -> bool:
    """True when both tensors view the same storage with the same offset, sizes and
    strides (what ``b.set_(a)`` makes true)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"is_set_to(): argument 'tensor' (position 1) must be Tensor, not "
                        f"{type(tensor).__name__}")
    mine, theirs = self._data, tensor._data
    return (_data_ptr(_combine.storage_flat(mine)) == _data_ptr(_combine.storage_flat(theirs))
            and _data_ptr(mine) == _data_ptr(theirs) and mine.shape == theirs.shape
            and mine.strides == theirs.strides and mine.dtype == theirs.dtype)


# -- resizing -----------------------------------------------------------------------------------


def resize_as_(self, the_template, *, memory_format=None):
    """``self.resize_(the_template.size())`` (also ``ember.resize_as_``); an explicit
    channels-last ``memory_format`` lays the result out channels-last."""
    if not isinstance(the_template, Tensor):
        raise TypeError(f"resize_as_(): argument 'the_template' (position 1) must be Tensor, "
                        f"not {type(the_template).__name__}")
    return _resize_in_format(self, tuple(the_template.shape), memory_format)


def _resize_in_format(self, shape, fmt):
    if fmt is not None and not isinstance(fmt, memory_format):
        raise TypeError(f"resize_as_(): argument 'memory_format' must be torch.memory_format, "
                        f"not {type(fmt).__name__}")
    if fmt in (channels_last, channels_last_3d):
        check_rank(len(shape), fmt)
    resize_(self, *shape)
    if fmt in _ORDER:
        flat = _combine.storage_flat(self._data)
        offset = _combine.storage_offset_of(self._data)
        self._data = _window(flat, offset, shape, canonical_strides(shape, fmt),
                             self._data.dtype.itemsize)
    return self


def _resize_out_of_place(self, shape, name):
    warnings.warn(f"non-inplace {name} is deprecated", UserWarning, stacklevel=3)
    numel = 1
    for s in shape:
        numel *= s
    if numel != self.numel():
        sizes = "x".join(str(s) for s in shape)
        raise RuntimeError(
            f"requested resize to {sizes} ({numel} elements in total), but the given tensor "
            f"has a size of {'x'.join(str(s) for s in self.shape)} ({self.numel()} elements). "
            "autograd's resize can only change the shape of a given tensor, while preserving "
            "the number of elements. ")
    return self.reshape(shape)


def resize(self, *sizes):
    """Deprecated: ``self.reshape(sizes)``, refusing a change in the number of elements."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    return _resize_out_of_place(self, sizes, "resize")


def resize_as(self, tensor):
    """Deprecated: ``self.reshape(tensor.size())`` with ``resize``'s check."""
    return _resize_out_of_place(self, tuple(tensor.size()), "resize_as")


# -- layout queries -----------------------------------------------------------------------------


def _order_key(sizes, strides, a, b):
    """Whether dim ``a`` must come after (1), before (-1) or either side (0) of dim ``b``
    from outermost to innermost: the larger stride is outer; zero strides and equal
    strides of dims that do not prefer an order leave it open (PyTorch's TensorIterator
    rule, which ``dim_order`` reuses)."""
    sa, sb = strides[a], strides[b]
    if sa == 0 or sb == 0:
        return 0
    if sa == sb:
        return 0 if sizes[b] >= sizes[a] else 1
    return -1 if sb > sa else 1


def _physical_order(sizes, strides):
    """Dims from outermost to innermost in memory, and whether that order is forced."""
    ndim = len(sizes)
    order = list(range(ndim - 1, -1, -1))  # innermost first while sorting
    for i in range(1, ndim):
        moving = i
        for j in range(i - 1, -1, -1):
            rule = _order_key(sizes, strides, order[j], order[moving])
            if rule > 0:
                order[j], order[moving] = order[moving], order[j]
                moving = j
            elif rule < 0:
                break
    unique = all(_order_key(sizes, strides, order[i], order[i + 1]) == -1
                 for i in range(ndim - 1))
    return tuple(reversed(order)), unique


def dim_order(self, *, ambiguity_check=False):
    """The dims from outermost to innermost in memory: ``(0, 2, 3, 1)`` for a channels-last
    4-D tensor. ``ambiguity_check=True`` refuses a layout with several valid orders
    (size-1 dims, equal strides); a list of memory formats also accepts a tensor that is
    contiguous in exactly one of them."""
    if self.is_sparse:
        raise AttributeError(f"Can't get dim order on sparse type: {self.type()} Use "
                             "Tensor.to_dense() to convert to a dense tensor first.")
    formats = []
    if not isinstance(ambiguity_check, bool):
        if not isinstance(ambiguity_check, list) or not all(
                isinstance(f, memory_format) for f in ambiguity_check):
            raise TypeError(
                "The ambiguity_check argument must be a bool or a list of memory formats.")
        formats = ambiguity_check
    sizes, strides = tuple(self.shape), tuple(self.stride())
    ndim = len(sizes)
    if ndim <= 1:
        return tuple(range(ndim))
    if ambiguity_check is not False:
        several = 1 in sizes or any(a == b for a, b in zip(strides, strides[1:]))
        matching = sum(1 for f in formats if self.is_contiguous(memory_format=f))
        if several and matching != 1:
            raise RuntimeError("The tensor does not have unique dim order, or cannot map to "
                               "exact one of the given memory formats.")
    contiguous = self.is_contiguous()
    last = ndim == 4 and self.is_contiguous(memory_format=channels_last)
    if contiguous and not last:
        return tuple(range(ndim))
    if last and not contiguous:
        return (0, 2, 3, 1)
    order, unique = _physical_order(sizes, strides)
    if ambiguity_check is not False and not unique:
        raise RuntimeError("The tensor does not have unique dim order.")
    return order


_STORAGE_NAMES = {
    "float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage",
    "bfloat16": "BFloat16Storage", "int64": "LongStorage", "int32": "IntStorage",
    "int16": "ShortStorage", "int8": "CharStorage", "uint8": "ByteStorage",
    "bool": "BoolStorage", "complex64": "ComplexFloatStorage",
    "complex128": "ComplexDoubleStorage",
}


def storage_type(self):
    """The legacy storage class of this tensor's dtype (``ember.FloatStorage``, or
    ``ember.cuda.FloatStorage`` on a GPU), warning as ``storage()`` does."""
    import ember

    self.storage()  # TypedStorage's deprecation warning, once, as PyTorch's
    name = _STORAGE_NAMES[str(self._data.dtype)]
    owner = ember.cuda if self.device.type == "cuda" else ember
    return getattr(owner, name)


def const_data_ptr(self) -> int:
    """``data_ptr()`` for code that promises not to write (ember does not tell them apart)."""
    return self.data_ptr()


def module_load(self, other, assign=False):
    """What ``Module.load_state_dict`` turns a state-dict value into before swapping it
    in: ``other.detach()`` with ``assign``, else ``self.copy_(other).detach()``."""
    if assign:
        return other.detach()
    return self.copy_(other).detach()


# -- splitting and nonzero ----------------------------------------------------------------------


def unsafe_split_with_sizes(input, split_sizes, dim=0):
    """``split_with_sizes``; PyTorch's "unsafe" form only skips view tracking."""
    return _combine.split_with_sizes(input, split_sizes, dim)


def nonzero_static(input, *, size, fill_value=-1):
    """``nonzero(input)`` with exactly ``size`` rows: truncated, or padded with
    ``fill_value`` (a fixed output shape, for compiled and exported code)."""
    for name, value in (("size", size), ("fill_value", fill_value)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"nonzero_static(): argument '{name}' must be int, not "
                            f"{type(value).__name__}")
    if size < 0:
        raise RuntimeError("nonzero_static: 'size' must be an non-negative integer")
    found = nonzero(input)._data[:size]
    if found.shape[0] == size:
        return _make(found)
    xp = xp_of(found)
    out = xp.full((size, found.shape[1]), fill_value, np.int64)
    out[:found.shape[0]] = found
    return _make(out)


# -- what a strided tensor answers to sparse accessors ------------------------------------------

_LAYOUT_NAMES = {
    "torch.strided": "Strided", "torch.sparse_coo": "Sparse", "torch.sparse_csr": "SparseCsr",
    "torch.sparse_csc": "SparseCsc", "torch.sparse_bsr": "SparseBsr",
    "torch.sparse_bsc": "SparseBsc", "torch.jagged": "Jagged",
}

_EXPECTED = {
    "values": "sparse tensor", "indices": "sparse coordinate tensor",
    "coalesce": "sparse coordinate tensor", "is_coalesced": "sparse coordinate tensor",
    "crow_indices": "sparse row compressed tensor", "col_indices": "sparse row compressed tensor",
    "ccol_indices": "sparse column compressed tensor",
    "row_indices": "sparse column compressed tensor",
}


def _layout_refusal(name):
    def method(self):
        layout = _LAYOUT_NAMES.get(repr(self.layout), repr(self.layout))
        raise RuntimeError(f"{name} expected {_EXPECTED[name]} layout but got {layout}")

    method.__name__ = name
    method.__doc__ = f"``{name}()`` of a sparse tensor; a strided one raises PyTorch's error."
    return method


def sparse_dim(self) -> int:
    """0: a strided tensor has no sparse dims."""
    return 0


def dense_dim(self) -> int:
    """Every dim of a strided tensor is dense."""
    return self.dim()


# -- sparse products with a sparse result -----------------------------------------------------


def _layout_label(tensor):
    return _LAYOUT_NAMES.get(repr(tensor.layout), repr(tensor.layout))


def smm(self, mat):
    """``self @ mat`` (sparse COO ``self``, dense ``mat``) as a sparse tensor: see
    ``ember.smm``."""
    from ..sparse import SparseCooTensor, smm as sparse_smm

    if not isinstance(self, SparseCooTensor):
        raise RuntimeError("tensor.sspaddmm(...) can only be called on sparse tensors")
    return sparse_smm(self, mat)


def sspaddmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (mat1 @ mat2)`` kept sparse: ``input`` and ``mat1`` sparse
    COO, ``mat2`` dense. As PyTorch's, the result is uncoalesced: ``input``'s entries,
    then every column of each row ``mat1`` stores something in."""
    from ..sparse import SparseCooTensor, smm as sparse_smm
    from ..sparse._coo import _new
    from .shape_copy import cat

    if out is not None:
        raise NotImplementedError("sspaddmm: out= is not supported in ember")
    if not isinstance(input, SparseCooTensor):
        raise RuntimeError("tensor.sspaddmm(...) can only be called on sparse tensors")
    if not isinstance(mat1, SparseCooTensor):
        raise RuntimeError(f"sspaddmm: expected 'mat1' to have sparse layout, got 'mat1' with "
                           f"layout {_layout_label(mat1)}")
    rows, cols = mat1.shape[0], mat2.shape[-1]
    for position, (have, want) in ((1, (input.shape[0], rows)), (3, (mat2.shape[0],
                                                                     mat1.shape[1]))):
        if have != want:
            raise RuntimeError(f"sspaddmm: Argument #{position}: Expected dim 0 size {want}, "
                               f"got {have}")
    if tuple(input.shape) != (rows, cols):
        raise RuntimeError(f"sspaddmm: Argument #1: Expected dim 1 size {cols}, got "
                           f"{input.shape[1]}")
    product = sparse_smm(mat1, mat2)
    values = cat([input._sp_values * beta, product._sp_values * alpha])
    indices = cat([input._sp_indices, product._sp_indices], 1)
    return _new(indices, values, (rows, cols), False)


# -- grad_dtype ---------------------------------------------------------------------------------

# ``grad_dtype = None``: any gradient dtype is accepted (stored apart from "unset", which
# means the tensor's own dtype).
ANY_GRAD_DTYPE = "any"


def _get_grad_dtype(self):
    if self.grad_fn is not None:
        raise RuntimeError("grad_dtype can only be accessed on leaf tensors.")
    custom = self._custom_grad_dtype
    if custom is None:
        return self.dtype
    return None if custom is ANY_GRAD_DTYPE else custom


def _set_grad_dtype(self, value):
    from .._backend.dtypes import dtype as dtype_class

    if self.grad_fn is not None:
        raise RuntimeError("grad_dtype can only be set on leaf tensors.")
    if value is not None and not isinstance(value, dtype_class):
        raise RuntimeError(f"grad_dtype must be a torch.dtype or None, but got "
                           f"{type(value).__name__}")
    self._custom_grad_dtype = ANY_GRAD_DTYPE if value is None else value


grad_dtype = property(_get_grad_dtype, _set_grad_dtype, doc=(
    "The dtype a leaf's ``.grad`` must have: the tensor's own dtype unless set; backward "
    "casts the gradient to it (mixed-precision master weights); None accepts any dtype."))


# -- devices ember never runs on; streams -------------------------------------------------------


def _device_flag(kind):
    return property(lambda self: self.device.type == kind,
                    doc=f"Is ``True`` if the tensor is stored on a {kind} device (never in "
                        "ember).")


_NO_BACKEND = {
    "xpu": (AssertionError, "Torch not compiled with XPU enabled"),
    "ipu": (RuntimeError, "PyTorch is not linked with support for ipu devices"),
    "mtia": (AssertionError, "Torch not compiled with MTIA enabled. Ensure you have `import "
             "mtia.host_runtime.torch_mtia.dynamic_library` in your python src file and "
             "include `//mtia/host_runtime/torch_mtia:torch_mtia` as your target dependency!"),
}


def _move_to(kind):
    def method(self, device=None, non_blocking=False, memory_format=None):
        error, message = _NO_BACKEND[kind]
        raise error(message)

    method.__name__ = kind
    method.__doc__ = (f"A copy on the {kind} device: ember has no {kind} backend, so this "
                      "raises PyTorch's error for a build without one.")
    return method


def is_distributed(self) -> bool:
    return False


def record_stream(self, stream):
    """Keep this CUDA tensor's memory from being reused until the work queued on
    ``stream`` now has finished: when the tensor is freed, the host waits for an event
    recorded on ``stream`` here. A CPU tensor has no streams: PyTorch's error."""
    from ..cuda import Stream as CudaStream

    stream_types = (CudaStream,)
    import ember

    generic = getattr(ember, "Stream", None)
    if isinstance(generic, type):
        stream_types += (generic,)
    if not isinstance(stream, stream_types):
        raise RuntimeError("unknown parameter type")
    if self.device.type != "cuda":
        raise NotImplementedError(
            f"Could not run 'aten::record_stream' with arguments from the "
            f"'{self.device.type.upper()}' backend.")
    import weakref

    from ..cuda import Event

    event = Event()
    event.record(stream)
    # the finalizer holds the array: its memory goes back to the pool only after the event
    weakref.finalize(self, _release_after, event, self._data)
    return None


def _release_after(event, array):
    event.synchronize()


TENSOR_METHODS = {
    "set_": set_, "is_set_to": is_set_to, "resize_as_": resize_as_, "resize": resize,
    "resize_as": resize_as, "dim_order": dim_order, "storage_type": storage_type,
    "const_data_ptr": const_data_ptr, "module_load": module_load,
    "unsafe_split_with_sizes": unsafe_split_with_sizes, "nonzero_static": nonzero_static,
    "sparse_dim": sparse_dim, "dense_dim": dense_dim, "is_distributed": is_distributed,
    "record_stream": record_stream, "smm": smm, "sspaddmm": sspaddmm,
    "grad_dtype": grad_dtype, "_custom_grad_dtype": None,
    **{name: _layout_refusal(name) for name in (
        "values", "indices", "crow_indices", "col_indices", "ccol_indices", "row_indices",
        "coalesce", "is_coalesced")},
    **{f"is_{kind}": _device_flag(kind) for kind in (
        "xpu", "mps", "ipu", "mtia", "maia", "vulkan", "xla")},
    **{kind: _move_to(kind) for kind in _NO_BACKEND},
    "is_mkldnn": property(lambda self: False, doc="MKL-DNN (oneDNN) layout: never in ember."),
}
