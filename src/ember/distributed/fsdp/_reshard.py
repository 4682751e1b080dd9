"""FULL_SHARD's memory saving: the gathered parameters are freed after a unit's forward
and gathered again when its backward needs them.

During the unit's forward, a saved-tensor pack hook replaces every saved tensor that is a
view of the gathered buffer (the parameter views themselves, and views of them such as a
transposed weight) by where it sits in that buffer: byte offset, shape and strides. The
unpack hook gathers the buffer again, once per backward of the unit, and rebuilds the
view from it. After the forward the gathered leaf keeps only its shape (a zero-stride
array) and the modules' parameter names read zeros of the right shape, as PyTorch's
names point at freed storage there.
"""

from __future__ import annotations

from ..._tensor import _make
from ...autograd.graph import saved_tensors_hooks
from ._flat_param import _broadcast_zero


def _address(array) -> int:
    interface = getattr(array, "__array_interface__", None)
    return interface["data"][0] if interface is not None else array.data.ptr


def _as_strided(array, offset_items, shape, strides):
    """A view of ``array`` (1-D) starting ``offset_items`` in, with byte ``strides``."""
    start = array[offset_items:]
    try:
        import numpy as np
        if isinstance(array, np.ndarray):
            return np.lib.stride_tricks.as_strided(start, shape, strides)
    except ImportError:  # pragma: no cover - NumPy is ember's one hard dependency
        pass
    import cupy
    return cupy.lib.stride_tricks.as_strided(start, shape, strides)


class _Location:
    """Where a saved view sits in the unit's gathered buffer."""

    __slots__ = ("offset", "shape", "strides")

    def __init__(self, offset, shape, strides):
        self.offset, self.shape, self.strides = offset, shape, strides


def saving_locations(handle, full):
    """The saved-tensor hooks for ``handle``'s forward over the gathered ``full``."""
    buffer = full._data
    base_address = _address(buffer)
    itemsize = buffer.dtype.itemsize

    def pack(tensor):
        data = tensor._data
        if data is buffer or getattr(data, "base", None) is buffer:
            offset = (_address(data) - base_address) // itemsize
            return _Location(offset, data.shape, data.strides)
        return tensor

    def unpack(saved):
        if not isinstance(saved, _Location):
            return saved
        if handle._regathered is None:
            handle._regathered = handle.gather(handle.param_dtype)._data
        return _make(_as_strided(handle._regathered, saved.offset, saved.shape,
                                 saved.strides))

    return saved_tensors_hooks(pack, unpack)


def free_gathered(handle, full) -> None:
    """Drop the gathered values: the leaf keeps its shape, the names read zeros."""
    array = full._data
    full._data = _broadcast_zero(array)
    for info in handle.infos:
        if info.name in info.module.__dict__:
            info.module.__dict__[info.name] = _make(_broadcast_zero(array, info.shape))
    for submodule, name, _, primary in handle.shared:
        if name in submodule.__dict__:
            submodule.__dict__[name] = _make(_broadcast_zero(array, primary.shape))
