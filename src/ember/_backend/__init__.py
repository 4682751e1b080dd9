"""The backend layer: dtypes, devices and the array module (NumPy or CuPy) per device.

Nothing here knows about autograd; the tensor layer builds on it.
"""

from .device import CPU, array_module, cupy_module, device, device_of, module_for, to_device
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

# `with ember.device('cuda'):` and set_default_device push here.
_default_device_stack: list = []


def get_default_device() -> device:
    return _default_device_stack[-1] if _default_device_stack else CPU


def set_default_device(dev) -> None:
    _default_device_stack.clear()
    if dev is not None:
        _default_device_stack.append(to_device(dev))


__all__ = [
    "ALL_DTYPES", "CPU", "array_module", "cupy_module", "device", "device_of", "dtype",
    "from_numpy_dtype", "get_default_device", "get_default_dtype", "module_for",
    "promote_np", "result_np", "set_default_device", "set_default_dtype", "to_device",
    "to_dtype",
]
