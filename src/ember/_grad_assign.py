"""The checks on ``tensor.grad = value``: PyTorch validates an assigned gradient at once,
so a wrong dtype, device or size fails where it was written, not inside a later backward
or optimizer step. Kept out of ``_tensor.py``, which stays about the tensor itself."""

from __future__ import annotations

# C++ type names PyTorch's grad-assignment error prints for the assigned gradient
_CPP_TYPE_NAMES = {
    "float32": "float", "float64": "double", "float16": "c10::Half",
    "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int", "int16": "short int",
    "int8": "signed char", "uint8": "unsigned char", "uint16": "short unsigned int",
    "uint32": "unsigned int", "uint64": "long unsigned int", "bool": "bool",
    "complex64": "c10::complex<float>", "complex128": "c10::complex<double>",
}


def _check_assigned_grad(tensor, grad):
    """PyTorch's checks on ``tensor.grad = grad``, in its order: type, self, dtype,
    device, size."""
    from ._ops._util import type_name
    from ._tensor import Tensor

    if not isinstance(grad, Tensor):
        raise TypeError("assigned grad expected to be a Tensor or None but got grad of type "
                        f"{_qualified_type_name(grad)}")
    if grad is tensor:
        raise RuntimeError("can't assign Variable as its own grad")
    wanted = tensor._custom_grad_dtype  # set through Tensor.grad_dtype; None: tensor.dtype
    if wanted is None:
        wanted = tensor.dtype
    if not isinstance(wanted, str) and grad.dtype != wanted:  # "any": grad_dtype = None
        name = str(grad.dtype).split(".")[-1]
        own_name = type_name(str(wanted).split(".")[-1])
        raise RuntimeError(
            f"attempting to assign a gradient with dtype '{_CPP_TYPE_NAMES.get(name, name)}' "
            f"to a tensor with grad_dtype '{own_name}'. The gradient "
            "must match the tensor's grad_dtype (defaults to the tensor's dtype). You can set "
            "the tensor's grad_dtype attribute with a specific dtype, or None to allow any "
            "dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor and its "
            "gradient may break downstream systems that assume they match."
        )
    grad_device, own_device = grad.device, tensor.device
    if grad_device.type != own_device.type:
        raise RuntimeError(
            f"attempting to assign a gradient with device type '{grad_device.type}' to a "
            f"tensor with device type '{own_device.type}'. Please ensure that the gradient "
            "and the tensor are on the same device"
        )
    if grad_device.index != own_device.index:
        raise RuntimeError(
            f"attempting to assign a gradient located on device with index "
            f"'{grad_device.index}' to a tensor located on device with index "
            f"'{own_device.index}'. Please ensure that the gradient and the tensor are on the "
            "same device"
        )
    if tuple(grad.shape) != tuple(tensor.shape):
        raise RuntimeError(
            f"attempting to assign a gradient of size '{list(grad.shape)}' to a tensor of size "
            f"'{list(tensor.shape)}'. Please ensure that the gradient and the tensor are the "
            "same size"
        )


def _qualified_type_name(value):
    """``int``, ``numpy.ndarray``: the name Python's C API prints for a type."""
    kind = type(value)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"
