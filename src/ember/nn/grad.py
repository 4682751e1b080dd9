"""``nn.grad``: the gradients of a convolution with respect to its input and its weight,
for custom autograd Functions that call a convolution in their forward.

A convolution is linear in its input (and in its weight), so each gradient is the
vector-Jacobian product of that linear map: it is taken through ember's own conv
backward (one conv with a zero tensor of the wanted shape, then autograd.grad), which is
the formula conv_transpose / a correlation of input with grad_output computes, with the
same stride, padding, dilation and groups handling. ``create_graph`` follows grad mode,
so these are differentiable too.
"""

from __future__ import annotations

from ..autograd import grad_mode
from ..autograd.engine import grad as _grad
from . import functional as F

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input",
           "conv3d_weight"]


def _size(size, what):
    """A shape given as a tuple, list or torch.Size."""
    try:
        return tuple(int(s) for s in size)
    except TypeError:
        raise TypeError(f"{what} must be a sequence of ints, got {type(size).__name__}") from None


def _input_grad(conv, input_size, weight, grad_output, stride, padding, dilation, groups):
    from .._ops.creation import zeros

    create_graph = grad_mode.is_grad_enabled() and (weight.requires_grad
                                                    or grad_output.requires_grad)
    with grad_mode.enable_grad():
        probe = zeros(_size(input_size, "input_size"), dtype=grad_output.dtype,
                      device=grad_output.device, requires_grad=True)
        out = conv(probe, weight, None, stride, padding, dilation, groups)
        _check_shape(out, grad_output)
        (result,) = _grad(out, probe, grad_output, create_graph=create_graph)
    return result


def _weight_grad(conv, input, weight_size, grad_output, stride, padding, dilation, groups):
    from .._ops.creation import zeros

    create_graph = grad_mode.is_grad_enabled() and (input.requires_grad
                                                    or grad_output.requires_grad)
    with grad_mode.enable_grad():
        probe = zeros(_size(weight_size, "weight_size"), dtype=grad_output.dtype,
                      device=grad_output.device, requires_grad=True)
        out = conv(input, probe, None, stride, padding, dilation, groups)
        _check_shape(out, grad_output)
        (result,) = _grad(out, probe, grad_output, create_graph=create_graph)
    return result


def _check_shape(out, grad_output):
    if tuple(out.shape) != tuple(grad_output.shape):
        raise RuntimeError(
            f"Mismatch in shape: grad_output has a shape of {tuple(grad_output.shape)} and "
            f"the convolution's output has a shape of {tuple(out.shape)}"
        )


def conv1d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """Gradient of ``conv1d`` with respect to its input, of shape ``input_size``."""
    return _input_grad(F.conv1d, input_size, weight, grad_output, stride, padding, dilation,
                       groups)


def conv1d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """Gradient of ``conv1d`` with respect to its weight, of shape ``weight_size``."""
    return _weight_grad(F.conv1d, input, weight_size, grad_output, stride, padding, dilation,
                        groups)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """Gradient of ``conv2d`` with respect to its input, of shape ``input_size``.

    Example::

        >>> x = torch.randn(1, 1, 3, 3, requires_grad=True)
        >>> w = torch.randn(1, 1, 1, 2, requires_grad=True)
        >>> out = F.conv2d(x, w)
        >>> g = torch.randn(out.shape)
        >>> torch.nn.grad.conv2d_input(x.shape, w, g).shape
        torch.Size([1, 1, 3, 3])
    """
    return _input_grad(F.conv2d, input_size, weight, grad_output, stride, padding, dilation,
                       groups)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """Gradient of ``conv2d`` with respect to its weight, of shape ``weight_size``."""
    return _weight_grad(F.conv2d, input, weight_size, grad_output, stride, padding, dilation,
                        groups)


def conv3d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """Gradient of ``conv3d`` with respect to its input, of shape ``input_size``."""
    return _input_grad(F.conv3d, input_size, weight, grad_output, stride, padding, dilation,
                       groups)


def conv3d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """Gradient of ``conv3d`` with respect to its weight, of shape ``weight_size``."""
    return _weight_grad(F.conv3d, input, weight_size, grad_output, stride, padding, dilation,
                        groups)
