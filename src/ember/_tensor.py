"""``Tensor``: one backend array plus the autograd fields.

Op methods (``x.add``, ``x.view``, ``x @ y``) are not defined here: each op family in
``ember._ops`` lists its methods in a table that ``ember._ops`` binds onto Tensor, so
this module imports no op family. What lives here is what every tensor is: its array,
its autograd identity (requires_grad, grad, grad_fn, version counter, view base) and the
conversions that need no graph.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._backend import (
    CPU,
    array_module,
    device_of,
    from_numpy_dtype,
    get_default_device,
    get_default_dtype,
    module_for,
    to_device,
    to_dtype,
)
from ._backend import dtypes as _dt
from ._backend.strided import data_ptr as _data_ptr
from ._backend.strided import storage_offset as _storage_offset
from ._backend.sync_debug import MODE as _SYNC_MODE
from ._backend.sync_debug import check as _sync_check
from ._grad_assign import _check_assigned_grad
from ._size import Size
from ._warn_once import WARN_ALWAYS as _WARN_ALWAYS  # ember.set_warn_always


# whether float() of a tensor requiring grad has warned yet (PyTorch warns once)
_FLOAT_OF_GRAD_WARNED = [False]


def _grad_mode_on():
    """PyTorch warns about float() of a tensor requiring grad only while grad mode is on
    (so optimizers' float(loss) under no_grad, as LBFGS's, stay quiet)."""
    from .autograd.grad_mode import is_grad_enabled

    return is_grad_enabled()

def _widened(array):
    """Python-convertible values of an ml_dtypes (float32) or complex32 (complex64) array."""
    if array.dtype.fields is not None:
        from ._complex32 import to_complex64

        return to_complex64(array)
    return array.astype(np.float32)


class Tensor:
    """A multi-dimensional array with autograd, as ``torch.Tensor``."""

    __slots__ = (
        "_data", "_requires_grad", "_grad", "grad_fn", "_output_nr", "_vc", "_base", "_acc",
        "_retains_grad", "_hooks", "_view_vc", "__dict__", "__weakref__",
    )
    # NumPy must defer to Tensor's reflected operators (ndarray * tensor -> tensor).
    __array_priority__ = 1000
    # How a view was made when that restricts in-place use (see _ops/shape.view_of); set
    # on the few views it concerns, in their __dict__.
    _view_creation = None

    def __new__(cls, *args, device=None, dtype=None):
        """Legacy constructor: ``Tensor([1, 2])`` copies data as float32,
        ``Tensor(2, 3)`` allocates an uninitialised 2x3 float tensor."""
        from ._ops.creation import _legacy_new

        array = _legacy_new(args, device, dtype)
        self = object.__new__(cls)
        _init_fields(self, array)
        return self

    def __init__(self, *args, **kwargs):
        pass

    # -- the __torch_function__ protocol (ember.overrides) --------------------------------

    def __init_subclass__(cls, **kwargs):
        """A user subclass that can dispatch turns the protocol on; ember's own subclasses
        get ``_disabled_torch_function_impl`` (see ember.overrides)."""
        super().__init_subclass__(**kwargs)
        from .overrides import _register_subclass

        _register_subclass(cls)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        """The default of every subclass: run ``func`` and return Tensor results as
        ``cls``, as PyTorch's ``Tensor.__torch_function__``."""
        from .overrides import _default_torch_function

        return _default_torch_function(cls, func, types, args, kwargs)

    def as_subclass(self, cls):
        """An alias of this tensor (same memory, ``AliasBackward0`` in a graph) whose
        class is ``cls``, a Tensor subclass."""
        from .overrides import _as_subclass

        return _as_subclass(self, cls)

    @staticmethod
    def _make_subclass(cls, data, require_grad=False, **dispatch_options):  # noqa: PLW0211
        """A detached leaf of class ``cls`` sharing ``data``'s memory."""
        from .overrides import _make_subclass

        return _make_subclass(cls, data, require_grad, **dispatch_options)

    # -- identity -----------------------------------------------------------------------

    @property
    def data(self) -> Tensor:
        return _make(self._data)

    @data.setter
    def data(self, value: Tensor):
        self._data = value._data

    @property
    def requires_grad(self) -> bool:
        if not self._requires_grad and self._base is not None and self._vc[0] != self._view_vc:
            # the base may have gained a history by an in-place write since this view was
            # made: PyTorch's view then requires grad too
            from .autograd.function import refresh_stale_view

            refresh_stale_view(self)
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if flag and self._data.dtype.kind not in "fcV":
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients"
            )
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if self.grad_fn is not None:
            if requires_grad:
                return self
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if requires_grad and self._data.dtype.kind not in "fcV":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self):
        """The gradient accumulated by backward (leaves, and non-leaves that called
        ``retain_grad``). Reading it while still None on another non-leaf warns, as
        PyTorch does: backward will not fill it. A property over the ``_grad`` slot: one
        extra check per read, which optimizers and the engine do not notice."""
        grad = self._grad
        if grad is None and self.grad_fn is not None and not self._retains_grad:
            warnings.warn(_NON_LEAF_GRAD, UserWarning, stacklevel=2)
        return grad

    @grad.setter
    def grad(self, value):
        """Assigning checks what backward would otherwise trip over later, with PyTorch's
        errors: a tensor (or None) of this tensor's dtype, device and size."""
        if value is not None:
            _check_assigned_grad(self, value)
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    @property
    def output_nr(self) -> int:
        """Which output of its grad_fn this tensor is (0 for leaves and single outputs):
        the input slot its gradient arrives in. Read-only, as PyTorch's."""
        return self._output_nr

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    @property
    def _version(self) -> int:
        return self._vc[0]

    @property
    def dtype(self):
        return from_numpy_dtype(self._data.dtype)

    @property
    def device(self):
        return device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    is_sparse = False
    is_quantized = False
    _plain_dispatch = True  # QuantizedTensor's raises: see autograd.function.apply
    is_meta = False
    is_nested = False
    layout = "torch.strided"

    def get_device(self) -> int:
        dev = self.device
        return -1 if dev.index is None else dev.index  # cpu and meta: -1

    @property
    def shape(self):
        return _tuple_new(Size, self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return _tuple_new(Size, self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    def stride(self, dim=None):
        itemsize = self._data.dtype.itemsize
        shape = self._data.shape
        byte_strides = self._data.strides
        if self._data.size == 0 and not any(byte_strides):
            # NumPy gives fresh empty arrays all-zero strides; PyTorch gives them contiguous
            # strides counting size-0 dims as 1. Views of empties keep NumPy's strides, as
            # PyTorch's views keep their base's.
            strides = tuple(_contiguous_stride(shape, i) for i in range(len(shape)))
        else:
            strides = _torch_strides(shape, byte_strides, itemsize)
        if dim is None:
            return strides
        return strides[_wrap_dim(dim, self._data.ndim)]

    def storage_offset(self) -> int:
        return _storage_offset(self._data)

    def is_contiguous(self, memory_format=None) -> bool:
        if memory_format is None:
            return bool(self._data.flags.c_contiguous)
        from ._memory_format import is_contiguous_as

        return is_contiguous_as(self._data, memory_format)

    def data_ptr(self) -> int:
        return _data_ptr(self._data)

    def is_floating_point(self) -> bool:
        np_dtype = self._data.dtype
        return np_dtype.kind in "fV" and np_dtype.fields is None  # (fields: complex32)

    def is_complex(self) -> bool:
        np_dtype = self._data.dtype
        return np_dtype.kind == "c" or np_dtype.fields is not None  # complex32's pairs

    def is_signed(self) -> bool:
        return self.dtype.is_signed

    # -- autograd -----------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        from .autograd.engine import backward

        backward((self,), None if gradient is None else (gradient,), retain_graph,
                 create_graph, inputs=inputs)

    def detach(self) -> Tensor:
        out = _make(self._data)
        out._vc = self._vc
        return out

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self._retains_grad:
            return
        self._retains_grad = True
        from .autograd.engine import add_tensor_hook

        add_tensor_hook(self, _RetainGrad(self), retain=True)

    def register_hook(self, hook):
        """``hook(grad) -> grad or None`` runs when this tensor's gradient is computed."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        from .autograd.engine import add_tensor_hook

        return add_tensor_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook):
        if self.grad_fn is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors"
            )
        hooks = self.__dict__.setdefault("_post_acc_hooks", [])
        hooks.append(hook)
        from .autograd.function import _RemovableHandle

        return _RemovableHandle(hooks, hook)

    # -- conversions ----------------------------------------------------------------------

    def numpy(self, *, force=False):
        array = self._data
        if type(array) is not np.ndarray:  # the device is checked first, as in PyTorch
            if not force:
                raise TypeError(
                    f"can't convert {self.device} device type tensor to "
                    "numpy. Use Tensor.cpu() to copy the tensor to host memory first."
                )
            if _SYNC_MODE[0]:
                _sync_check(array)
            return array.get()
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        return array

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(tensor)`` goes through ``numpy()``, as PyTorch's: a tensor that
        requires grad or lives on a GPU raises instead of silently leaving the graph or
        the device. NumPy 2's ``copy=`` is honoured (False raises when a copy is needed)."""
        array = self.numpy()
        if dtype is not None and np.dtype(dtype) != array.dtype:
            if copy is False:
                raise ValueError(f"Unable to avoid copy while converting {array.dtype} to "
                                 f"{np.dtype(dtype)}")
            return array.astype(dtype)
        return array.copy() if copy else array

    def _host_array(self):
        """The values as a NumPy array whatever requires_grad or the device (tolist)."""
        array = self._data
        if _SYNC_MODE[0]:  # ember.cuda.set_sync_debug_mode
            _sync_check(array)
        return array if type(array) is np.ndarray else array.get()

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        if _SYNC_MODE[0]:
            _sync_check(self._data)
        if self._data.dtype.kind != "V":
            return self._data.reshape(()).item()
        return _widened(self._host_array().reshape(())).item()  # bfloat16, float8, complex32

    def tolist(self):
        array = self._host_array()
        if array.dtype.kind == "V":
            array = _widened(array)
        return array.tolist()

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __contains__(self, element):
        """``element in tensor``: whether any entry equals it (a tensor or a number)."""
        if not isinstance(element, (Tensor, int, float, complex, bool)):
            raise RuntimeError("Tensor.__contains__ only supports Tensor or scalar, but you "
                               f"passed in a {type(element)}.")
        return bool((self == element).any().item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
                if self._data.size else "Boolean value of Tensor with no values is ambiguous"
            )
        return bool(self.item())

    def __float__(self):
        if (self.requires_grad and (not _FLOAT_OF_GRAD_WARNED[0] or _WARN_ALWAYS[0])
                and _grad_mode_on()):
            import warnings

            _FLOAT_OF_GRAD_WARNED[0] = True  # once per process, as PyTorch's TORCH_WARN_ONCE
            warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to "
                          "unexpected behavior.\nConsider using tensor.detach() first.",
                          UserWarning, stacklevel=2)
        return float(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def __complex__(self):
        return complex(self._scalar())

    def _scalar(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __hash__(self):
        return id(self)

    def __reduce_ex__(self, protocol):
        from .serialization import _reduce_tensor

        if type(self) is not Tensor:  # a subclass comes back as itself, with its attributes
            from .overrides import _reduce_subclass

            return _reduce_subclass(self, _reduce_tensor(self))
        return _reduce_tensor(self)

    def __deepcopy__(self, memo):
        if type(self) is not Tensor and not type(self).__module__.startswith("ember."):
            from ._overrides_subclass import _deepcopy_subclass  # PyTorch's subclass rules

            return _deepcopy_subclass(self, memo)
        if not self.is_leaf:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol at the moment.  If you were attempting to deepcopy a module, this may "
                "be because of a torch.nn.utils.weight_norm usage, see "
                "https://github.com/pytorch/pytorch/pull/103001"
            )
        if id(self) in memo:
            return memo[id(self)]
        new = object.__new__(type(self))
        _init_fields(new, self._data.copy())
        new._requires_grad = self._requires_grad
        if self._grad is not None:
            new._grad = self._grad.__deepcopy__(memo)
        new.__dict__.update({k: v for k, v in self.__dict__.items() if not k.startswith("_post")})
        memo[id(self)] = new
        return new

    def __repr__(self, *, tensor_contents=None):
        from ._tensor_str import tensor_repr

        if type(self) is not Tensor and self.__dict__.get("_is_param", False):
            return f"Parameter({tensor_repr(self)})"  # a subclass made a Parameter
        return tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec):
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec) if spec else repr(self)

    def __dir__(self):
        return sorted(set(dir(type(self))) | set(self.__dict__))

    # -- device and dtype moves (``to`` itself is in _ops/creation.py) -----------------------

    def cpu(self, memory_format=None) -> Tensor:
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False, memory_format=None) -> Tensor:
        if device is None:
            dev = "cuda"
        else:
            dev = f"cuda:{device}" if isinstance(device, int) else device
        return self.to(dev)

    def pin_memory(self, device=None) -> Tensor:
        """A copy in page-locked host memory (``self`` if already pinned), for asynchronous
        GPU copies; PyTorch's errors without a GPU and for device tensors."""
        from .cuda._pinned import pin

        pinned = pin(self._data)
        return self if pinned is self._data else _make(pinned)

    def is_pinned(self, device=None) -> bool:
        from .cuda._pinned import is_pinned

        return is_pinned(self._data)

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            return f"torch.{_legacy_name(self)}"
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            name = dtype.split(".")[-1]
            if name not in _LEGACY_TYPES:
                raise ValueError(f"invalid type: '{dtype}'")
            device = "cuda" if ".cuda." in dtype else "cpu"
            return self.to(device, _LEGACY_TYPES[name])
        if hasattr(dtype, "_dtype"):  # a legacy class such as ember.LongTensor
            return self.to("cpu", dtype._dtype)
        return self.to(dtype)


class _RetainGrad:
    """Tensor hook that stores the gradient of a non-leaf in ``.grad``."""

    __slots__ = ("tensor_ref",)

    def __init__(self, tensor):
        import weakref

        self.tensor_ref = weakref.ref(tensor)

    def __call__(self, grad):
        tensor = self.tensor_ref()
        if tensor is not None:
            if tensor._grad is None:
                tensor._grad = grad.detach() if not grad.requires_grad else grad
                if tensor._grad._data is grad._data:
                    tensor._grad = _make(grad._data.copy())
            else:
                tensor._grad = tensor._grad + grad
        return None


_NON_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
    "instead. See github.com/pytorch/pytorch/pull/30531 for more information.")

_LEGACY_TYPES = {
    "FloatTensor": _dt.float32, "DoubleTensor": _dt.float64, "HalfTensor": _dt.float16,
    "BFloat16Tensor": _dt.bfloat16, "LongTensor": _dt.int64, "IntTensor": _dt.int32,
    "ShortTensor": _dt.int16, "CharTensor": _dt.int8, "ByteTensor": _dt.uint8,
    "BoolTensor": _dt.bool_,
}


_OTHER_TYPE_NAMES = {
    "complex64": "ComplexFloatTensor", "complex128": "ComplexDoubleTensor",
    "uint16": "UInt16Tensor", "uint32": "UInt32Tensor", "uint64": "UInt64Tensor",
}


def _legacy_name(tensor):
    np_dtype = tensor._data.dtype
    name = next((n for n, d in _LEGACY_TYPES.items() if d.np == np_dtype), None)
    if name is None:
        special = _dt.SPECIAL_TYPE_NAMES.get(np_dtype)  # Float8_e4m3fnTensor, ComplexHalfTensor
        name = _OTHER_TYPE_NAMES.get(str(np_dtype)) or (f"{special}Tensor" if special
                                                         else "Tensor")
    return name if tensor.device.type == "cpu" else f"cuda.{name}"


def _torch_strides(shape, byte_strides, itemsize):
    """Element strides as PyTorch reports them. NumPy gives size-1 dims a stride of 0
    after ``x[:, None]``; PyTorch's unsqueeze gives them ``size * stride`` of the dim to
    their right (1 for the last dim), so those are recomputed right to left."""
    out = [s // itemsize for s in byte_strides]
    for i in range(len(shape) - 1, -1, -1):
        if shape[i] == 1 and out[i] == 0:
            out[i] = shape[i + 1] * out[i + 1] if i + 1 < len(shape) else 1
    return tuple(out)


def _contiguous_stride(shape, i):
    n = 1
    for s in shape[i + 1:]:
        n *= max(s, 1)
    return n


def _wrap_dim(dim, ndim):
    """Normalise a possibly negative dim; IndexError naming the valid range otherwise."""
    rank = ndim if ndim > 0 else 1
    if not -rank <= dim < rank:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-rank}, {rank - 1}], "
            f"but got {dim})"
        )
    return dim + rank if dim < 0 else dim


_new = object.__new__
_tuple_new = tuple.__new__
_np_generic = np.generic


def _init_fields(t, array):
    t._data = array
    t._requires_grad = False
    t._grad = None
    t.grad_fn = None
    t._output_nr = 0
    t._vc = [0]
    t._base = None
    t._acc = None
    t._retains_grad = False
    t._hooks = None


def _make(array, requires_grad=False, grad_fn=None, output_nr=0):
    """The internal constructor: wrap a backend array with no validation."""
    if isinstance(array, _np_generic):  # NumPy reductions return scalars for 0-d results
        array = np.asarray(array)
    t = _new(Tensor)
    t._data = array
    t._requires_grad = requires_grad
    t._grad = None
    t.grad_fn = grad_fn
    t._output_nr = output_nr
    t._vc = [0]
    t._base = None
    t._acc = None
    t._retains_grad = False
    t._hooks = None
    return t


__all__ = ["Tensor", "Size", "_make", "CPU", "array_module", "get_default_device",
           "get_default_dtype", "module_for", "to_device", "to_dtype"]
