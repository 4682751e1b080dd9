"""Kernel registry: each v2 functional dispatches on the type of its input.

A functional (``F.horizontal_flip``) looks up the kernel registered for the input's
class (walking its MRO, but never from a TVTensor subclass down to the plain-Tensor
kernel), so one call flips an image, a mask or boxes. Kernels registered with the
wrapper get a plain Tensor and their result is wrapped back like the input, which keeps
the kernels themselves free of TVTensor bookkeeping.
"""

from __future__ import annotations

import functools

import ember
from ember.vision import tv_tensors
from ember.vision.tv_tensors import _as_subclass

_KERNEL_REGISTRY: dict = {}


def is_pure_tensor(inpt) -> bool:
    return isinstance(inpt, ember.Tensor) and not isinstance(inpt, tv_tensors.TVTensor)


def unwrap(inpt):
    """The plain Tensor behind a TVTensor (sharing memory and autograd history)."""
    return _as_subclass(inpt, ember.Tensor)


def _kernel_tv_tensor_wrapper(kernel):
    @functools.wraps(kernel)
    def wrapper(inpt, *args, **kwargs):
        output = kernel(unwrap(inpt), *args, **kwargs)
        if isinstance(output, ember.Tensor):
            return tv_tensors.wrap(output, like=inpt)
        if isinstance(output, (tuple, list)):  # five_crop / ten_crop
            return type(output)(tv_tensors.wrap(part, like=inpt)
                                if isinstance(part, ember.Tensor) else part for part in output)
        return output  # sizes and other metadata
    return wrapper


def _register(functional, input_type, kernel, tv_tensor_wrapper: bool):
    registry = _KERNEL_REGISTRY.setdefault(functional, {})
    if input_type in registry:
        raise ValueError(f"Functional {functional} already has a kernel registered for type "
                         f"{input_type}.")
    if tv_tensor_wrapper and issubclass(input_type, tv_tensors.TVTensor):
        kernel = _kernel_tv_tensor_wrapper(kernel)
    registry[input_type] = kernel


def _register_kernel_internal(functional, input_type, *, tv_tensor_wrapper: bool = True):
    def decorator(kernel):
        _register(functional, input_type, kernel, tv_tensor_wrapper)
        return kernel
    return decorator


def register_kernel(functional, tv_tensor_cls):
    """Decorator registering a kernel of ``functional`` for a (custom) TVTensor class."""
    if not (isinstance(tv_tensor_cls, type) and issubclass(tv_tensor_cls, tv_tensors.TVTensor)):
        raise ValueError(f"Kernels can only be registered for subclasses of "  # noqa: TRY004
                         f"torchvision.tv_tensors.TVTensor, but got {tv_tensor_cls}.")
    if tv_tensor_cls in _BUILTIN_TV_TENSOR_TYPES:
        raise ValueError(f"Kernels cannot be registered for the builtin tv_tensor classes, "
                         f"but got {tv_tensor_cls}")

    def decorator(kernel):
        _register(functional, tv_tensor_cls, kernel, tv_tensor_wrapper=False)
        return kernel
    return decorator


_BUILTIN_TV_TENSOR_TYPES = (tv_tensors.Image, tv_tensors.Video, tv_tensors.Mask,
                            tv_tensors.BoundingBoxes, tv_tensors.KeyPoints)


def _identity(inpt, *args, **kwargs):
    return inpt


def _get_kernel(functional, input_type, *, allow_passthrough: bool = False):
    registry = _KERNEL_REGISTRY.get(functional)
    if not registry:
        raise ValueError(f"No kernel registered for functional {functional.__name__}.")
    for cls in input_type.__mro__:
        if cls in registry:
            return registry[cls]
        if cls is tv_tensors.TVTensor:
            # a TVTensor without its own kernel must not fall back to the image kernel
            break
    if allow_passthrough:
        return _identity
    names = ", ".join(f"{t.__module__}.{t.__name__}" for t in registry)
    raise TypeError(f"Functional F.{functional.__name__} supports inputs of type {names}, "
                    f"but got {input_type} instead.")


def dispatcher(functional):
    """Turn a documented signature into a functional that calls the input's kernel."""
    @functools.wraps(functional)
    def call(inpt, *args, **kwargs):
        return _get_kernel(call, type(inpt))(inpt, *args, **kwargs)
    return call


def register_image_kernel(functional, kernel, *, pil_kernel=None, video: bool = True):
    """Register one image kernel for plain tensors, Image (and Video) and PIL images."""
    types = [ember.Tensor, tv_tensors.Image] + ([tv_tensors.Video] if video else [])
    for input_type in types:
        _register(functional, input_type, kernel, tv_tensor_wrapper=True)
    if pil_kernel is not None:
        from ..._functional_pil import Image as _PILImage
        if _PILImage is not None:
            _register(functional, _PILImage.Image, pil_kernel, tv_tensor_wrapper=False)
