"""Checkpoint forms of the tensors that are more than one storage: subclasses, tensors and
Parameters with attributes, ``MaskedTensor`` and nested tensors (strided and jagged).

Each is written with the globals ``torch.save`` writes for it, so the files load in PyTorch
and PyTorch's files load here:

- a Tensor subclass or a tensor with attributes:
  ``torch._tensor._rebuild_from_type_v2(func, cls, args, state)`` around the plain form;
- a Parameter with attributes: ``torch._utils._rebuild_parameter_with_state``;
- ``MaskedTensor``: ``_rebuild_from_type_v2(torch._utils._rebuild_wrapper_subclass, cls,
  (cls, dtype, size, stride, offset, layout, device, requires_grad), {"_masked_data": ...,
  "_masked_mask": ...})``: an empty wrapper whose members arrive as its state;
- strided nested: ``torch._utils._rebuild_nested_tensor(buffer, sizes, strides, offsets)``;
- jagged nested: ``_rebuild_from_type_v2(torch.nested._internal.nested_tensor._rebuild_njt,
  NestedTensor, ({"values": ..., "offsets": ..., ...},), state)``.

On load the torch class paths map to ember's classes (``ember_object_for``), in both load
modes; weights-only loads refuse the classes torch refuses (``MaskedTensor``) and allow
those torch allows once ``torch.nested`` is imported (its NestedTensor).
"""

from __future__ import annotations

import warnings

from ._backend import dtypes as _dt

# ember-internal entries of a tensor's ``__dict__`` (view and conj bookkeeping, hooks,
# masked-tensor gradient masks): not user state, never written
_INTERNAL_STATE = ("_view_creation", "_post", "_is_conj", "_is_neg", "_grad_mask",
                   "_mask_rule", "_packets")

_NJT_MODULE = "torch.nested._internal.nested_tensor"
_MASKED_PATH = ("torch.masked.maskedtensor.core", "MaskedTensor")
# ember.vision.tv_tensors class -> the torchvision.tv_tensors submodule torch's files name
_TV_TENSORS = {"TVTensor": "_tv_tensor", "Image": "_image", "Video": "_video", "Mask": "_mask",
               "BoundingBoxes": "_bounding_boxes", "BoundingBoxFormat": "_bounding_boxes",
               "KeyPoints": "_keypoints"}
_TV_MODULE = "ember.vision.tv_tensors"


def user_state(tensor) -> dict:
    """The attributes a user set on ``tensor`` (what torch's ``_get_obj_state`` keeps)."""
    return {key: value for key, value in tensor.__dict__.items()
            if not key.startswith(_INTERNAL_STATE)}


def _subclass_state(tensor):
    """A user subclass's state as torch's ``_get_obj_state`` takes it: the class's own
    ``__getstate__`` if it has one, else its attributes, plus its slots as a second dict
    when the class declares any."""
    cls = type(tensor)
    getstate = getattr(cls, "__getstate__", None)
    if getstate is not None and getstate is not object.__getstate__:
        return tensor.__getstate__()
    state = user_state(tensor)
    slots = {}
    for klass in cls.__mro__:
        if klass.__module__.startswith("ember.") or klass is object:
            continue  # Tensor's own slots are its data, not state
        names = klass.__dict__.get("__slots__", ())
        for name in (names,) if isinstance(names, str) else names:
            if name not in ("__dict__", "__weakref__") and hasattr(tensor, name):
                slots[name] = getattr(tensor, name)
    return (state, slots) if slots else state


# ---------------------------------------------------------------------------
# Writing (called by _serialization_format._Writer.convert)
# ---------------------------------------------------------------------------


def _global(module, name):
    from ._serialization_format import TorchGlobal

    return TorchGlobal(module, name)


def _reduce(func, args):
    from ._serialization_format import _Reduce

    return _Reduce(func, args)


def reduce_tensor(writer, tensor, memo):
    """``tensor`` in torch's checkpoint form, with its class and attributes if it has any."""
    from .nn.parameter import Parameter

    cls = type(tensor)
    if cls.__name__ == "MaskedTensor" and cls.__module__ == "ember.masked._core":
        return _reduce_masked(writer, tensor, memo)
    reduced = writer.tensor(tensor)
    if tensor.is_quantized or tensor.is_sparse or getattr(tensor, "_sparse_compressed", False):
        return reduced  # their own forms: no attributes kept, as before
    state = user_state(tensor)
    if issubclass(cls, Parameter):
        if not state:
            return reduced
        data, requires_grad, hooks = reduced.args
        return _reduce(_global("torch._utils", "_rebuild_parameter_with_state"),
                       (data, requires_grad, hooks, writer.convert(state, memo)))
    if cls.__module__ == _TV_MODULE and cls.__name__ in _TV_TENSORS:
        class_global = _global(f"torchvision.tv_tensors.{_TV_TENSORS[cls.__name__]}",
                               cls.__name__)  # torchvision's Image, BoundingBoxes, ...
    elif cls.__module__.startswith("ember."):
        if cls.__name__ != "Tensor" or not state:
            return reduced  # ember's own subclasses keep their forms; a plain tensor too
        class_global = _global("torch", "Tensor")
    else:
        class_global = cls
        state = _subclass_state(tensor)
    return _reduce(_global("torch._tensor", "_rebuild_from_type_v2"),
                   (reduced.func, class_global, reduced.args, writer.convert(state, memo)))


def _reduce_masked(writer, tensor, memo):
    from ._C import DisableTorchFunction

    with DisableTorchFunction():
        data = tensor.get_data().detach()
        mask = tensor.get_mask()
        geometry = (tuple(tensor.shape), tuple(tensor.stride()), tensor.storage_offset())
    cls = _global(*_MASKED_PATH)
    layout = _reduce(_global("torch.serialization", "_get_layout"), (str(data.layout),))
    args = (cls, writer.convert(data.dtype, memo), *geometry, layout,
            writer.convert(tensor.device, memo), tensor.requires_grad)
    state = {"_masked_data": writer.convert(data, memo), "_masked_mask": writer.convert(mask, memo)}
    return _reduce(_global("torch._tensor", "_rebuild_from_type_v2"), (
        _global("torch._utils", "_rebuild_wrapper_subclass"), cls, args, state))


def reduce_other(obj):
    """A value in no container the writer walks: torchvision's enums (a BoundingBoxes'
    ``format``) by torchvision's name, anything else as it is."""
    cls = type(obj)
    if cls.__module__ == _TV_MODULE and cls.__name__ == "BoundingBoxFormat":
        return _reduce(_global("torchvision.tv_tensors._bounding_boxes", cls.__name__),
                       (obj.value,))
    return obj


def is_nested(obj) -> bool:
    cls = type(obj)
    return cls.__name__ == "NestedTensor" and cls.__module__ == "ember.nested._nested_tensor"


def reduce_nested(writer, nested, memo):
    import ember

    if nested.layout is ember.strided:
        return _reduce_strided_nested(writer, nested)
    kwargs = {
        "values": writer.convert(nested.values().detach(), memo),
        "offsets": writer.convert(nested.offsets(), memo),
        "lengths": writer.convert(nested.lengths(), memo),
        "_ragged_idx": 1,
        "_metadata_cache": {},
        "requires_grad": nested.requires_grad,
    }
    return _reduce(_global("torch._tensor", "_rebuild_from_type_v2"), (
        _global(_NJT_MODULE, "_rebuild_njt"), _global(_NJT_MODULE, "NestedTensor"), (kwargs,),
        {}))


def _reduce_strided_nested(writer, nested):
    """One flat buffer holding every entry contiguously, and per entry its size, stride
    and offset in it (int64 matrices), as torch's ``_nested_view_from_buffer`` takes them."""
    import ember

    entries = [t.detach() for t in nested.unbind(0)]
    ndim = entries[0].dim() if entries else 1
    sizes, strides, offsets, start = [], [], [], 0
    for t in entries:
        sizes.append(list(t.shape))
        strides.append(list(ember.empty(t.shape).stride()))
        offsets.append(start)
        start += t.numel()
    dtype = nested.dtype
    flat = [t.reshape(-1) for t in entries]
    buffer = ember.cat(flat) if flat else ember.empty(0, dtype=dtype)
    if nested.requires_grad:
        buffer.requires_grad_(True)

    def matrix(rows):  # no entries: a 0-d tensor, as torch keeps an empty nested's sizes
        return ember.tensor(rows, dtype=ember.int64).reshape(len(rows), ndim) if rows else \
            ember.zeros((), dtype=ember.int64)

    return _reduce(_global("torch._utils", "_rebuild_nested_tensor"), (
        writer.tensor(buffer), writer.tensor(matrix(sizes)), writer.tensor(matrix(strides)),
        writer.tensor(ember.tensor(offsets, dtype=ember.int64))))


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


class WrapperShell:
    """What ``torch._utils._rebuild_wrapper_subclass`` gives here: the class and flags of a
    wrapper subclass whose members come in ``_rebuild_from_type_v2``'s state."""

    __slots__ = ("cls", "requires_grad")

    def __init__(self, cls, requires_grad):
        self.cls, self.requires_grad = cls, requires_grad


def rebuild_wrapper_subclass(cls, dtype, size, stride, storage_offset, layout, device,
                             requires_grad):
    from .masked._core import MaskedTensor

    if cls is not MaskedTensor:
        raise TypeError(f"ember cannot rebuild the wrapper subclass {cls!r}: only "
                        "MaskedTensor is a wrapper subclass in ember")
    if not isinstance(dtype, _dt.dtype):
        raise TypeError(f"expected a dtype, got {type(dtype).__name__}")
    return WrapperShell(cls, bool(requires_grad))


def build_from_shell(shell, new_type, state):
    """A MaskedTensor from its saved members (torch sets them on the empty wrapper)."""
    if new_type is not shell.cls:
        raise TypeError(f"wrapper subclass {shell.cls!r} saved as {new_type!r}")
    if not isinstance(state, dict) or "_masked_data" not in state \
            or "_masked_mask" not in state:
        raise TypeError("a MaskedTensor's state must hold _masked_data and _masked_mask")
    with warnings.catch_warnings():  # torch.load builds it without the prototype warning
        warnings.simplefilter("ignore")
        return shell.cls(state["_masked_data"], state["_masked_mask"], shell.requires_grad)


def rebuild_nested_tensor(buffer, sizes, strides, storage_offsets):
    """``torch._utils._rebuild_nested_tensor``: each entry a view into the buffer."""
    import ember

    from .nested._nested_tensor import NestedTensor

    for name, value in (("buffer", buffer), ("sizes", sizes), ("strides", strides),
                        ("storage_offsets", storage_offsets)):
        if not isinstance(value, ember.Tensor):
            raise TypeError(f"_rebuild_nested_tensor(): {name} must be a Tensor, not "
                            f"{type(value).__name__}")
    if storage_offsets.dim() == 1 and storage_offsets.shape[0] == 0:
        return NestedTensor([], ember.strided)  # (torch saves its sizes as a 0-d tensor)
    if sizes.shape != strides.shape or sizes.shape[:1] != storage_offsets.shape:
        raise RuntimeError("_rebuild_nested_tensor(): sizes, strides and storage_offsets "
                           "disagree in shape")
    entries = [buffer.as_strided(size, stride, offset) for size, stride, offset in
               zip(sizes.tolist(), strides.tolist(), storage_offsets.tolist())]
    return NestedTensor(entries, ember.strided)


def rebuild_njt(constructor_kwargs):
    """``torch.nested._internal.nested_tensor._rebuild_njt``: a jagged NestedTensor over
    the saved values (the dynamo metadata cache is not kept: ember has no compiler)."""
    import ember

    from .nested._nested_tensor import NestedTensor, jagged

    if not isinstance(constructor_kwargs, dict):
        raise TypeError("_rebuild_njt() expects the NestedTensor constructor's keywords")
    values = constructor_kwargs["values"]
    offsets = constructor_kwargs["offsets"]
    lengths = constructor_kwargs.get("lengths")
    if not isinstance(values, ember.Tensor) or not isinstance(offsets, ember.Tensor):
        raise TypeError("_rebuild_njt(): values and offsets must be Tensors")
    if constructor_kwargs.get("_ragged_idx", 1) != 1:
        raise NotImplementedError("ember's jagged NestedTensor has its ragged dim at 1")
    if constructor_kwargs.get("requires_grad") and not values.requires_grad:
        values.requires_grad_(True)
    bounds = offsets.tolist()
    ends = bounds[1:] if lengths is None else [
        start + n for start, n in zip(bounds, lengths.tolist())]
    entries = [values[start:end] for start, end in zip(bounds, ends)]
    return NestedTensor(entries, jagged, values=values, offsets=offsets, lengths=lengths)


class DimRange:
    """A stand-in for ``torch._dynamo.decorators._DimRange`` records in a jagged tensor's
    metadata cache (compiler hints ember reads and drops)."""

    __slots__ = ("state",)

    def __setstate__(self, state):
        self.state = state


def allowed_by_default() -> dict:
    """The torch paths ember answers with its own objects that torch's weights-only
    unpickler allows after ``import torch`` (torch.nested and torch._dynamo register their
    jagged-tensor globals); MaskedTensor is not among them."""
    from .nested._nested_tensor import NestedTensor

    return {
        f"{_NJT_MODULE}.NestedTensor": NestedTensor,
        f"{_NJT_MODULE}._rebuild_njt": rebuild_njt,
        "torch._dynamo.decorators._DimRange": DimRange,
        "torch._utils._rebuild_nested_tensor": rebuild_nested_tensor,
        "torch._utils._rebuild_wrapper_subclass": rebuild_wrapper_subclass,
    }


def ember_object_for(full_name):
    """ember's object for a torch or torchvision path that ember names differently (in
    both load modes; weights-only loads allow only ``allowed_by_default``), or None."""
    if full_name.startswith("torchvision.tv_tensors."):
        module, _, name = full_name.rpartition(".")
        if _TV_TENSORS.get(name) == module[len("torchvision.tv_tensors."):]:
            from .vision import tv_tensors

            return getattr(tv_tensors, name)
        return None
    if full_name == ".".join(_MASKED_PATH):
        from .masked._core import MaskedTensor

        return MaskedTensor
    return allowed_by_default().get(full_name)


def rebuild_from_type_v2(func, new_type, args, state):
    """``torch._tensor._rebuild_from_type_v2``: the plain tensor, made ``new_type`` with
    the saved attributes set on it (``__setstate__`` if the class defines its own)."""
    from ._tensor import Tensor
    from .nested._nested_tensor import NestedTensor

    result = func(*args)
    if isinstance(result, WrapperShell):
        return build_from_shell(result, new_type, state)
    if isinstance(result, NestedTensor):
        return result  # everything is in the constructor keywords; state is dynamo's
    if not (isinstance(new_type, type) and issubclass(new_type, Tensor)):
        raise TypeError("Creating a Tensor subclass from a class that does not inherit from "
                        "Tensor is not possible. Make sure your class inherits from Tensor.")
    if type(result) is not new_type:
        from .overrides import _as_subclass

        result = _as_subclass(result, new_type)
    if getattr(new_type, "__setstate__", None) is not None:
        result.__setstate__(state)
        return result
    dict_state, slots_state = state if isinstance(state, tuple) else (state, None)
    for key, value in (dict_state or {}).items():
        setattr(result, key, value)
    for key, value in (slots_state or {}).items():
        setattr(result, key, value)
    return result
