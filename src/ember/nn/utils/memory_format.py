"""``nn.utils.memory_format``: give the convolution weights of a model a memory format.

Channels-last weights let a channels-last input run its convolutions without converting
layouts on every call; these helpers restride the weights in place (same values, same
Parameter objects) and return the module, as PyTorch's.
"""

from __future__ import annotations

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def _convert(module, memory_format, kinds):
    """Every weight of a ``kinds`` layer in ``module``'s tree, copied into
    ``memory_format``'s layout; the Parameter keeps its identity (only ``.data`` moves)."""
    if isinstance(module, kinds):
        module.weight.data = module.weight.detach().clone(memory_format=memory_format)
    for child in module.children():
        _convert(child, memory_format, kinds)
    return module


def convert_conv2d_weight_memory_format(module, memory_format):
    """Lay out the weight of every ``Conv2d``/``ConvTranspose2d`` in ``module`` (and its
    children) in ``memory_format`` (``ember.channels_last`` or ``contiguous_format``).

    Example::

        >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
        >>> model = nn.utils.convert_conv2d_weight_memory_format(model, torch.channels_last)
    """
    from ..modules.conv import Conv2d, ConvTranspose2d

    return _convert(module, memory_format, (Conv2d, ConvTranspose2d))


def convert_conv3d_weight_memory_format(module, memory_format):
    """``convert_conv2d_weight_memory_format`` for ``Conv3d``/``ConvTranspose3d``
    (``ember.channels_last_3d``)."""
    from ..modules.conv import Conv3d, ConvTranspose3d

    return _convert(module, memory_format, (Conv3d, ConvTranspose3d))
