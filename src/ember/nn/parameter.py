"""Parameter, Buffer, UninitializedParameter.

A ``Parameter`` is a Tensor subclass sharing its data's memory; Module's ``__setattr__``
recognises it and registers it, which is what makes ``parameters()`` and ``state_dict``
work. ``Buffer`` marks a tensor to be registered as a buffer the same way.
"""

from __future__ import annotations

from .._ops.creation import empty
from .._tensor import Tensor, _init_fields

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer"]


def _wrap(cls, data, requires_grad):
    if data is None:
        data = empty(0)
    self = object.__new__(cls)
    _init_fields(self, data._data)
    self._vc = data._vc  # same memory as data, so same version counter
    self._requires_grad = bool(requires_grad)
    return self


class _ParameterMeta(type):
    """``isinstance(t, Parameter)`` also holds for a user subclass instance made a
    parameter (``Parameter(MyTensor(...))`` keeps its class and sets ``_is_param``)."""

    def __instancecheck__(cls, instance):
        if type.__instancecheck__(cls, instance):
            return True
        return (cls is Parameter and isinstance(instance, Tensor)
                and getattr(instance, "_is_param", False))


class Parameter(Tensor, metaclass=_ParameterMeta):
    """A Tensor that a Module registers as a parameter, as ``torch.nn.Parameter``."""

    def __new__(cls, data=None, requires_grad=True):
        if data is not None and type(data) is not Tensor and type(data) is not Parameter:
            return _subclass_parameter(data, requires_grad)
        if requires_grad and data is not None and data._data.dtype.kind not in "fcV":
            raise RuntimeError(
                "Only Tensors of floating point and complex dtype can require gradients")
        return _wrap(cls, data, requires_grad)

    def __init__(self, *args, **kwargs):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(Tensor.clone(self.detach()), self._requires_grad)
        if self.grad is not None:
            result.grad = self.grad.clone()
        result.__dict__.update({k: v for k, v in self.__dict__.items()
                                if not k.startswith("_post")})
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self.detach(), self._requires_grad))


def _subclass_parameter(data, requires_grad):
    """PyTorch's path for a tensor subclass: the parameter is ``data.detach()`` (which
    must keep the class) flagged ``_is_param``, so ``__torch_function__`` keeps working on
    it and ``isinstance(p, Parameter)`` still holds."""
    t = data.detach().requires_grad_(requires_grad)
    if type(t) is not type(data):
        raise RuntimeError(
            f"Creating a Parameter from an instance of type {type(data).__name__} requires that "
            f"detach() returns an instance of the same type, but return type "
            f"{type(t).__name__} was found instead. To use the type as a Parameter, please "
            "correct the detach() semantics defined by its __torch_dispatch__() implementation.")
    t._is_param = True
    return t


def _rebuild_parameter(data, requires_grad):
    return Parameter(data, requires_grad)


class _BufferMeta(type):
    def __instancecheck__(cls, instance):
        if cls is Buffer:
            return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)
        return type.__instancecheck__(cls, instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute;
    ``Buffer(t)`` returns a plain Tensor (sharing memory) flagged as a buffer."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = empty(0)
        t = data.detach()
        t._requires_grad = data._requires_grad
        t._is_buffer = True
        t.persistent = persistent
        return t


class UninitializedParameter(Parameter):
    """A parameter with no shape yet (LazyLinear); ``materialize`` gives it one."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        data = empty(0, device=device, dtype=dtype)
        return _wrap(cls, data, requires_grad)

    def materialize(self, shape, device=None, dtype=None):
        if device is None:
            device = self.device
        if dtype is None:
            dtype = self.dtype
        self._data = empty(shape, device=device, dtype=dtype)._data
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes.")

    def __repr__(self):
        return "<UninitializedParameter>"

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(self._requires_grad, self.device, self.dtype)
        return memo[id(self)]


class UninitializedBuffer(Tensor):
    """A buffer with no shape yet (lazy norm layers)."""

    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None):
        return _wrap(cls, empty(0, device=device, dtype=dtype), requires_grad)

    def materialize(self, shape, device=None, dtype=None):
        self._data = empty(shape, device=device or self.device, dtype=dtype or self.dtype)._data
        self.__class__ = self.cls_to_become


def is_lazy(param) -> bool:
    return isinstance(param, (UninitializedParameter, UninitializedBuffer))
