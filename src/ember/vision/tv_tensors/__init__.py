"""``torchvision.tv_tensors``: Tensor subclasses that tell v2 transforms what they hold.

An ``Image``, ``Video``, ``Mask``, ``BoundingBoxes`` or ``KeyPoints`` is an ordinary ember
Tensor whose class says how a transform must treat it (a flip moves boxes, a resize of a
mask uses nearest). As in torchvision, ops on them return plain Tensors (ember's ops build
plain ``Tensor`` results already), except ``clone``, ``to``, ``detach``, ``requires_grad_``
and ``pin_memory``, which keep the subclass and its metadata; ``wrap(t, like=x)`` puts a
result back into ``x``'s class. Under ``set_return_type("TVTensor")`` methods and
operators called on a TVTensor keep the subclass too.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import ember
from ember import Tensor

__all__ = [
    "BoundingBoxFormat",
    "BoundingBoxes",
    "Image",
    "KeyPoints",
    "Mask",
    "TVTensor",
    "Video",
    "is_rotated_bounding_format",
    "set_return_type",
    "wrap",
]

_RETURN_SUBCLASS = [False]


class _ReturnTypeCM:
    def __init__(self, to_restore: bool):
        self.to_restore = to_restore

    def __enter__(self):
        return self

    def __exit__(self, *args):
        _RETURN_SUBCLASS[0] = self.to_restore


def set_return_type(return_type: str):
    """Make Tensor methods/operators on TVTensors return "TVTensor" or plain "Tensor".

    Usable as a global switch or as a context manager, as torchvision's.
    """
    to_restore = _RETURN_SUBCLASS[0]
    try:
        _RETURN_SUBCLASS[0] = {"tensor": False, "tvtensor": True}[return_type.lower()]
    except KeyError:
        raise ValueError(f"return_type must be 'TVTensor' or 'Tensor', got {return_type}") from None
    return _ReturnTypeCM(to_restore)


def _as_subclass(tensor: Tensor, cls) -> Tensor:
    """``tensor.as_subclass(cls)``: a new object of ``cls`` sharing memory and history.

    A tensor in a graph gets a view node (as torch's AliasBackward), so gradients flow
    back to ``tensor``; otherwise it is a detached alias with the same version counter.
    """
    if tensor.requires_grad:
        out = Tensor.view_as(tensor, tensor)
    else:
        out = Tensor.detach(tensor)
    out.__class__ = cls
    return out


class TVTensor(Tensor):
    """Base class of all tv_tensors (torchvision.tv_tensors.TVTensor)."""

    @staticmethod
    def _to_tensor(data: Any, dtype=None, device=None, requires_grad=None) -> Tensor:
        if requires_grad is None:
            requires_grad = data.requires_grad if isinstance(data, Tensor) else False
        tensor = ember.as_tensor(data, dtype=dtype, device=device)
        if type(tensor) is not Tensor:
            tensor = Tensor.detach(tensor) if not tensor.requires_grad else tensor
        return tensor.requires_grad_(requires_grad)

    @classmethod
    def wrap(cls, tensor: Tensor, like: TVTensor, **kwargs: Any) -> TVTensor:
        return _as_subclass(tensor, cls)

    @classmethod
    def _wrap_output(cls, tensor: Tensor, like: TVTensor) -> TVTensor:
        """Wrap the result of a Tensor method (any shape: ``boxes[0]`` stays 1-D)."""
        return cls.wrap(tensor, like)

    def _rewrap(self, output):
        """Put a result of a subclass-keeping method back into this object's class."""
        if isinstance(output, Tensor) and not isinstance(output, type(self)):
            return type(self)._wrap_output(output, self)
        if isinstance(output, (tuple, list)):
            return type(output)(self._rewrap(part) for part in output)
        return output

    def clone(self, *args, **kwargs):
        return self._rewrap(Tensor.clone(self, *args, **kwargs))

    def to(self, *args, **kwargs):
        return self._rewrap(Tensor.to(self, *args, **kwargs))

    def detach(self):
        return self._rewrap(Tensor.detach(self))

    def requires_grad_(self, requires_grad: bool = True):
        return self._rewrap(Tensor.requires_grad_(self, requires_grad))

    def pin_memory(self, *args, **kwargs):
        return self._rewrap(Tensor.pin_memory(self, *args, **kwargs))

    def as_subclass(self, cls):
        """This tensor's data and history as an instance of ``cls`` (e.g. ember.Tensor)."""
        out = _as_subclass(self, cls)
        if cls is not Tensor and issubclass(cls, TVTensor):
            out.__dict__.update(self.__dict__)
        return out

    def __getattribute__(self, name):
        attr = object.__getattribute__(self, name)
        if name[0] == "_" or name in _OWN_METHODS:
            return attr
        if not _RETURN_SUBCLASS[0]:
            if name[-1] != "_" or not callable(attr):
                return attr

            # in-place methods write into this object but, as torchvision's, hand back a
            # plain Tensor (the same memory)
            def plain_result(*args, **kwargs):
                out = attr(*args, **kwargs)
                return _as_subclass(out, Tensor) if out is self else out
            return plain_result
        if not (callable(attr) and hasattr(Tensor, name)):
            return attr

        def keep_subclass(*args, **kwargs):
            return object.__getattribute__(self, "_rewrap")(attr(*args, **kwargs))
        return keep_subclass

    def _make_repr(self, **kwargs: Any) -> str:
        extra = ", ".join(f"{key}={value}" for key, value in kwargs.items())
        return f"{Tensor.__repr__(self)[:-1]}, {extra})"

    def __str__(self) -> str:
        return self.__repr__()

    def __deepcopy__(self, memo):
        return self.detach().clone().requires_grad_(self.requires_grad)

    def __reduce_ex__(self, protocol):
        return (_rebuild, (type(self), Tensor.detach(self), dict(self.__dict__)))


_OWN_METHODS = {"clone", "to", "detach", "requires_grad_", "pin_memory", "wrap",
                "as_subclass"}


def _plain_cast(name):
    """``img.float()`` on a float image returns the object itself in ember; torchvision
    returns a plain Tensor there (only ``to`` keeps the class), so unwrap that case."""
    method = getattr(Tensor, name)

    def cast(self, *args, **kwargs):
        out = method(self, *args, **kwargs)
        if out is self and not _RETURN_SUBCLASS[0]:
            return _as_subclass(self, Tensor)
        return out
    cast.__name__ = name
    return cast


for _name in ("float", "double", "half", "bfloat16", "int", "long", "short", "byte", "char",
              "bool", "contiguous", "cpu", "type_as", "view_as", "reshape_as", "expand_as"):
    if hasattr(Tensor, _name):
        setattr(TVTensor, _name, _plain_cast(_name))


def _rebuild(cls, tensor, state):
    out = _as_subclass(tensor, cls)
    out.__dict__.update(state)
    return out


def _keep_operator(name):
    method = getattr(Tensor, name)

    def operator(self, *args):
        out = method(self, *args)
        if out is NotImplemented:
            return out
        if _RETURN_SUBCLASS[0]:
            return self._rewrap(out)
        if out is self:  # ``img += 1`` rebinds ``img`` to a plain Tensor, as torchvision
            return _as_subclass(out, Tensor)
        return out
    operator.__name__ = name
    return operator


# operators are looked up on the type, not through __getattribute__
for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__floordiv__", "__pow__", "__neg__", "__abs__",
              "__getitem__", "__matmul__", "__mod__", "__and__", "__or__", "__xor__",
              "__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__", "__ipow__",
              "__iand__", "__ior__", "__ixor__"):
    if hasattr(Tensor, _name):
        setattr(TVTensor, _name, _keep_operator(_name))


def _pil_to_tensor(data):
    from ..transforms import functional as F1
    return F1.pil_to_tensor(data)


def _is_pil(data) -> bool:
    from ..transforms import _functional_pil as F_pil
    return F_pil.is_pil_image(data)


class Image(TVTensor):
    """An image (..., C, H, W); built from a tensor, array, or PIL image (kept uint8)."""

    def __new__(cls, data: Any, *, dtype=None, device=None, requires_grad=None):
        if _is_pil(data):
            data = _pil_to_tensor(data)
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        if tensor.ndim < 2:
            raise ValueError(f"Tensor must be 2D or higher, got {tensor.ndim}D tensor.")
        if tensor.ndim == 2:
            tensor = tensor.unsqueeze(0)
        return _as_subclass(tensor, cls)

    def __repr__(self, *, tensor_contents=None) -> str:
        return self._make_repr()


class Video(TVTensor):
    """A video (..., T, C, H, W)."""

    def __new__(cls, data: Any, *, dtype=None, device=None, requires_grad=None):
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        if tensor.ndim < 4:
            raise ValueError
        return _as_subclass(tensor, cls)

    def __repr__(self, *, tensor_contents=None) -> str:
        return self._make_repr()


class Mask(TVTensor):
    """A segmentation or detection mask (..., H, W)."""

    def __new__(cls, data: Any, *, dtype=None, device=None, requires_grad=None):
        if _is_pil(data):
            data = _pil_to_tensor(data)
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        return _as_subclass(tensor, cls)


class BoundingBoxFormat(Enum):
    """Box coordinate formats: XYXY corners, XYWH corner+size, CXCYWH centre+size (and
    the rotated XYWHR, CXCYWHR, XYXYXYXY, which ember's kernels do not transform)."""

    XYXY = "XYXY"
    XYWH = "XYWH"
    CXCYWH = "CXCYWH"
    XYWHR = "XYWHR"
    CXCYWHR = "CXCYWHR"
    XYXYXYXY = "XYXYXYXY"


def is_rotated_bounding_format(format) -> bool:
    if isinstance(format, BoundingBoxFormat):
        return format in (BoundingBoxFormat.XYWHR, BoundingBoxFormat.CXCYWHR,
                          BoundingBoxFormat.XYXYXYXY)
    if isinstance(format, str):
        return format in ("XYWHR", "CXCYWHR", "XYXYXYXY")
    raise ValueError(f"format should be str or BoundingBoxFormat, got {type(format)}")


class BoundingBoxes(TVTensor):
    """Boxes (N, 4) of one image, with their ``format`` and the image's ``canvas_size``.

    Args:
        data: anything ``ember.as_tensor`` takes; 1-D data is one box.
        format: a BoundingBoxFormat or its name ("XYXY", "xywh", ...).
        canvas_size: (height, width) of the image the boxes belong to.
        clamping_mode: "soft", "hard" (same for axis-aligned boxes) or None (no clamping).
    """

    @classmethod
    def _wrap(cls, tensor, *, format, canvas_size, clamping_mode="soft",
              check_dims: bool = True) -> BoundingBoxes:
        if check_dims:
            if tensor.ndim == 1:
                tensor = tensor.unsqueeze(0)
            elif tensor.ndim != 2:
                raise ValueError(f"Expected a 1D or 2D tensor, got {tensor.ndim}D")
        if clamping_mode is not None and clamping_mode not in ("hard", "soft"):
            raise ValueError(f"clamping_mode must be None, hard or soft, got {clamping_mode}.")
        if isinstance(format, str):
            format = BoundingBoxFormat[format.upper()]
        boxes = _as_subclass(tensor, cls)
        boxes.format = format
        boxes.canvas_size = canvas_size
        boxes.clamping_mode = clamping_mode
        return boxes

    @classmethod
    def wrap(cls, tensor, like, **kwargs) -> BoundingBoxes:
        return cls._wrap(tensor, format=kwargs.get("format", like.format),
                         canvas_size=kwargs.get("canvas_size", like.canvas_size),
                         clamping_mode=kwargs.get("clamping_mode", like.clamping_mode))

    @classmethod
    def _wrap_output(cls, tensor, like) -> BoundingBoxes:
        return cls._wrap(tensor, format=like.format, canvas_size=like.canvas_size,
                         clamping_mode=like.clamping_mode, check_dims=False)

    def __new__(cls, data: Any, *, format, canvas_size, clamping_mode="soft", dtype=None,
                device=None, requires_grad=None):
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        if not tensor.is_floating_point() and is_rotated_bounding_format(format):
            raise ValueError("Rotated bounding boxes should be floating point tensors, got "
                             f"{tensor.dtype}.")
        return cls._wrap(tensor, format=format, canvas_size=canvas_size,
                         clamping_mode=clamping_mode)

    def __repr__(self, *, tensor_contents=None) -> str:
        return self._make_repr(format=self.format, canvas_size=self.canvas_size,
                               clamping_mode=self.clamping_mode)


class KeyPoints(TVTensor):
    """Points (..., 2) as (x, y) in an image of ``canvas_size`` (height, width)."""

    @classmethod
    def _wrap(cls, tensor, *, canvas_size, check_dims: bool = True) -> KeyPoints:
        if check_dims:
            if tensor.ndim == 1:
                tensor = tensor.unsqueeze(0)
            elif tensor.shape[-1] != 2:
                raise ValueError(f"Expected a tensor of shape (..., 2), not {tensor.shape}")
        points = _as_subclass(tensor, cls)
        points.canvas_size = canvas_size
        return points

    @classmethod
    def wrap(cls, tensor, like, **kwargs) -> KeyPoints:
        return cls._wrap(tensor, canvas_size=kwargs.get("canvas_size", like.canvas_size))

    @classmethod
    def _wrap_output(cls, tensor, like) -> KeyPoints:
        return cls._wrap(tensor, canvas_size=like.canvas_size, check_dims=False)

    def __new__(cls, data: Any, *, canvas_size, dtype=None, device=None,
                requires_grad=None):
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        return cls._wrap(tensor, canvas_size=canvas_size)

    def __repr__(self, *, tensor_contents=None) -> str:
        return self._make_repr(canvas_size=self.canvas_size)


def wrap(wrappee: Tensor, *, like: TVTensor, **kwargs: Any) -> TVTensor:
    """``wrappee`` as the class of ``like``, with ``like``'s metadata (``kwargs`` override)."""
    return type(like).wrap(wrappee, like, **kwargs)
