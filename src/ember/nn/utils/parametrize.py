"""``nn.utils.parametrize``: a tensor of a module computed from its original on access.

As in PyTorch, ``register_parametrization`` swaps the module's class for a subclass with a
property named after the tensor, and keeps the original (the same Parameter object, so
optimizers holding it still work) in ``module.parametrizations[name].original``; the
``state_dict`` keys are PyTorch's. A ``right_inverse`` that returns several tensors
stores them as ``original0``, ``original1``, ...
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from contextlib import contextmanager

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ..modules.container import ModuleDict, ModuleList
from ..parameter import Parameter

__all__ = ["cached", "ParametrizationList", "register_parametrization", "is_parametrized",
           "remove_parametrizations", "type_before_parametrizations",
           "transfer_parametrizations_and_params"]

# Depth of nested ``cached()`` blocks, and the values computed inside them keyed by
# (id(module), tensor name); emptied when the outermost block exits.
_cache_depth = 0
_cache_values: dict = {}


@contextmanager
def cached():
    """Inside, each parametrized tensor is computed once and reused."""
    global _cache_depth
    _cache_depth += 1
    try:
        yield
    finally:
        _cache_depth -= 1
        if _cache_depth == 0:
            _cache_values.clear()


def _store(module, name, value):
    """A Parameter stays trainable, any other tensor becomes a buffer."""
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _adopt(dest, src):
    """``dest.set_(src)``: dest keeps its identity (optimizers hold it) and takes src's
    memory."""
    dest._data = src._data
    dest._vc[0] += 1


def _require_tensor_result(value):
    if not isinstance(value, Tensor):
        raise ValueError(f"A parametrization must return a tensor. Got {type(value).__name__}.")


def _invert_if_possible(chain, value):
    """Run ``value`` back through the chain's ``right_inverse``s, last module first; one
    missing or raising NotImplementedError is skipped (registration tolerates it)."""
    for module in reversed(chain):
        inverse = getattr(module, "right_inverse", None)
        if inverse is None:
            continue
        try:
            value = inverse(value)
        except NotImplementedError:
            pass
    return value


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order to ``original``."""

    def __init__(self, modules, original, unsafe=False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        shape, dtype = original.shape, original.dtype
        with no_grad():
            stored = _invert_if_possible(self, original)
        self.is_tensor = isinstance(stored, Tensor)
        if not (self.is_tensor or isinstance(stored, Sequence)):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors "
                             f"(list, tuple...). Got {type(stored).__name__}")
        self.ntensors = 1 if self.is_tensor else len(stored)
        if self.is_tensor:
            self._keep_single(original, stored)
        else:
            self._keep_several(original, stored)
        if not unsafe:
            self._check_unchanged(shape, dtype)

    def _keep_single(self, original, stored):
        """``original`` itself (same object) takes the inverted values."""
        if stored.dtype != original.dtype:
            raise ValueError(
                "When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                f"original.dtype: {original.dtype}\nright_inverse(original).dtype: "
                f"{stored.dtype}")
        with no_grad():
            _adopt(original, stored)
        _store(self, "original", original)

    def _keep_several(self, original, pieces):
        """Each piece becomes ``original<i>``, a Parameter if the tensor was one."""
        for i, piece in enumerate(pieces):
            if not isinstance(piece, Tensor):
                raise ValueError("'right_inverse' must return a Tensor or a Sequence of "
                                 f"tensors (list, tuple...). Got element {i} of the "
                                 f"sequence with type {type(piece).__name__}.")
            if isinstance(original, Parameter):
                piece = Parameter(piece.detach(), original.requires_grad)
            _store(self, f"original{i}", piece)

    def _check_unchanged(self, shape, dtype):
        """Without ``unsafe``, the parametrized tensor must look like the original did."""
        result = self()
        _require_tensor_result(result)
        for what, before, after in (("dtype", dtype, result.dtype),
                                    ("shape", shape, result.shape)):
            if before != after:
                raise ValueError(
                    f"Registering a parametrization may not change the {what} of the tensor, "
                    "unless `unsafe` flag is enabled.\n"
                    f"unparametrized {what}: {before}\nparametrized {what}: {after}")

    def _originals(self):
        if self.is_tensor:
            return (self.original,)
        return tuple(getattr(self, f"original{i}") for i in range(self.ntensors))

    def right_inverse(self, value):
        """Set the original so that the parametrized tensor becomes ``value``."""
        with no_grad():
            for module in reversed(self):
                inverse = getattr(module, "right_inverse", None)
                if inverse is None:
                    raise RuntimeError(f"parametrization {type(module).__name__} does not "
                                       "implement right_inverse.")
                value = inverse(value)
            if not self.is_tensor:
                for dest, src in zip(self._originals(), value):
                    _adopt(dest, src)
                return
            if not isinstance(value, Tensor):
                raise ValueError(f"`right_inverse` should return a tensor. Got "
                                 f"{type(value).__name__}")
            if value.dtype != self.original.dtype:
                raise ValueError(f"The tensor returned by `right_inverse` has dtype "
                                 f"{value.dtype} while `original` has dtype "
                                 f"{self.original.dtype}")
            _adopt(self.original, value)

    def forward(self):
        first, *rest = self
        out = first(*self._originals())
        for module in rest:
            out = module(out)
        return out


def _refuse_pickling(self):
    raise RuntimeError(
        "Serialization of parametrized modules is only supported through state_dict(). "
        "See:\nhttps://pytorch.org/tutorials/beginner/saving_loading_models.html"
        "#saving-loading-a-general-checkpoint-for-inference-and-or-resuming-training")


def _deepcopy_by_dict(self, memo):
    """The generated class exists only on this object, so deepcopy cannot go through
    pickling: copy the instance dict into a fresh object of the same class."""
    if id(self) in memo:
        return memo[id(self)]
    clone = object.__new__(type(self))
    memo[id(self)] = clone
    clone.__dict__ = copy.deepcopy(self.__dict__, memo)
    return clone


def _swap_in_subclass(module):
    """Give ``module`` a class of its own, so properties added to it touch no other
    instance."""
    base = type(module)
    module.__class__ = type(f"Parametrized{base.__name__}", (base,),
                            {"__getstate__": _refuse_pickling, "__deepcopy__": _deepcopy_by_dict})


def _parametrized_property(tensor_name):
    """``module.<tensor_name>``: computed from the originals on read (once per
    ``cached()`` block), inverted into them on assignment."""

    def compute(module):
        chain = module.parametrizations[tensor_name]
        if not _cache_depth:
            return chain()
        key = (id(module), tensor_name)
        if _cache_values.get(key) is None:
            _cache_values[key] = chain()
        return _cache_values[key]

    def assign(module, value):
        module.parametrizations[tensor_name].right_inverse(value)

    return property(compute, assign)


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` be ``parametrization(original)`` on every access."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        chain = module.parametrizations[tensor_name]
        if not unsafe:
            current = getattr(module, tensor_name)
            result = parametrization(current)
            _require_tensor_result(result)
            if (result.dtype, result.shape) != (current.dtype, current.shape):
                raise ValueError(
                    "Registering a parametrization may not change the shape or dtype of the "
                    "tensor, unless `unsafe` flag is enabled.")
        chain.append(parametrization)
        chain.unsafe = chain.unsafe or unsafe
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    chain = ParametrizationList([parametrization], getattr(module, tensor_name), unsafe=unsafe)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        _swap_in_subclass(module)
        module.parametrizations = ModuleDict()
    setattr(type(module), tensor_name, _parametrized_property(tensor_name))
    module.parametrizations[tensor_name] = chain
    return module


def is_parametrized(module, tensor_name=None):
    registry = getattr(module, "parametrizations", None)
    if not isinstance(registry, ModuleDict):
        return False
    return len(registry) > 0 if tensor_name is None else tensor_name in registry


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo ``register_parametrization``; the tensor keeps its current (parametrized)
    value unless ``leave_parametrized=False``."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    chain = module.parametrizations[tensor_name]
    if chain.is_tensor:
        restored = chain.original
        if leave_parametrized:
            with no_grad():
                _adopt(restored, getattr(module, tensor_name))
    elif not leave_parametrized:
        raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                         "that is parametrized in terms of a sequence of tensors.")
    else:
        value = getattr(module, tensor_name)
        restored = value.detach()
        if value.requires_grad:
            restored = Parameter(restored, True)
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _store(module, tensor_name, restored)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module


def type_before_parametrizations(module):
    """The module's class before parametrizations were registered: the generated
    subclass has it as its only base."""
    if is_parametrized(module):
        return type(module).__bases__[0]
    return type(module)


def transfer_parametrizations_and_params(from_module, to_module, tensor_name=None):
    """Copy parametrizations (and their originals) from one module to another."""
    if not is_parametrized(from_module):
        return to_module
    names = [tensor_name] if tensor_name else list(from_module.parametrizations)
    for name in names:
        if not hasattr(to_module, name):
            setattr(to_module, name, Parameter(getattr(from_module, name).detach()))
        source = from_module.parametrizations[name]
        for step in source:
            register_parametrization(to_module, name, step)
        target = to_module.parametrizations[name]
        if source.is_tensor:
            target.original = source.original
            continue
        for i, tensor in enumerate(source._originals()):
            setattr(target, f"original{i}", tensor)
    return to_module
