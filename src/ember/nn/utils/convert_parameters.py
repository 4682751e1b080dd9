"""parameters_to_vector and vector_to_parameters."""

from __future__ import annotations

from ..._ops._util import xp_of
from ..._tensor import Tensor
from ...autograd.function import Function
from ..modules.module import _typename

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_param_device(param, old_param_device):
    device = param.get_device() if param.device.type == "cuda" else -1
    if old_param_device is None:
        return device
    if device != old_param_device:
        raise TypeError("Found two parameters on different devices, this is currently not "
                        "supported.")
    return old_param_device


class _FlatCat(Function):
    """Concatenation of flattened tensors; the gradient is split back into their shapes."""

    _array_io = True
    _node_name = "CatBackward0"  # parameters_to_vector's cat, as PyTorch's

    @staticmethod
    def forward(ctx, *arrays):
        ctx.shapes = [a.shape for a in arrays]
        return xp_of(arrays[0]).concatenate([a.reshape(-1) for a in arrays])

    @staticmethod
    def backward(ctx, grad):
        pieces = []
        start = 0
        for shape in ctx.shapes:
            count = 1
            for s in shape:
                count *= s
            pieces.append(grad[start:start + count].reshape(shape))
            start += count
        return tuple(pieces)


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one vector (differentiable)."""
    device = None
    params = list(parameters)
    for param in params:
        device = _check_param_device(param, device)
    return _FlatCat.apply(*params)


def vector_to_parameters(vec, parameters):
    """Slices of ``vec`` become the parameters' data (sharing its memory)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {_typename(vec)}")
    device = None
    pointer = 0
    for param in parameters:
        device = _check_param_device(param, device)
        count = param.numel()
        param._data = vec._data[pointer:pointer + count].reshape(param._data.shape)
        pointer += count
