"""The backend layer: dtypes, devices and the array module (NumPy or CuPy) per device.

Nothing here knows about autograd; the tensor layer builds on it.
"""

from .device import CPU, META, array_module, cupy_module, device, device_of, module_for, to_device
from .dtypes import (
    ALL_DTYPES,
    dtype,
    from_numpy_dtype,
    get_default_dtype,
    promote_np,
    result_np,
    set_default_dtype,
    to_dtype,
)

import numpy as _np

# PyTorch returns inf/nan silently (log(0), 1/0, overflow in exp); NumPy would warn on
# every such op, and scoping errstate per op costs more than the op itself on small
# tensors. So ember sets NumPy's floating-point error handling to "ignore" once.
_np.seterr(all="ignore")

from .device import _ever_entered
from .device import _state as _device_state

def get_default_device() -> device:
    """The device factories use when given none: cpu unless ``set_default_device`` or a
    ``with ember.device(...)`` block says otherwise."""
    if not _ever_entered[0]:
        return CPU
    return _device_state.default or CPU


def explicit_default_device():
    """The default device if one was set, else None: some factories (``tensor`` of a
    tensor, ``as_tensor``) keep their source's device unless a default was set."""
    return _device_state.default if _ever_entered[0] else None


def set_default_device(dev) -> None:
    """``torch.set_default_device``: None goes back to cpu."""
    # set_default_device's context is entered and exited like a ``with`` block, so that
    # nesting with ``with device(...)`` restores as PyTorch's does
    if _device_state.global_context is not None:
        _device_state.global_context.__exit__(None, None, None)
        _device_state.global_context = None
    if dev is not None:
        context = to_device(dev)
        context = device(context.type, context.index)  # its own object: entered once
        context.__enter__()
        _device_state.global_context = context


__all__ = [
    "ALL_DTYPES", "CPU", "META", "array_module", "cupy_module", "device", "device_of", "dtype",
    "explicit_default_device",
    "from_numpy_dtype", "get_default_device", "get_default_dtype", "module_for",
    "promote_np", "result_np", "set_default_device", "set_default_dtype", "to_device",
    "to_dtype",
]
