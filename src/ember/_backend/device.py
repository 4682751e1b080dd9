"""Device objects and the array module (NumPy or CuPy) that serves each device."""

from __future__ import annotations

import re
import threading

import numpy as np

from .meta import META_NUMPY, MetaArray

_cupy = None
_cupy_checked = False


def cupy_module():
    """CuPy if it is installed and sees a GPU, else None (checked once)."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy

            if cupy.cuda.runtime.getDeviceCount() > 0:
                _cupy = cupy
        except Exception:  # noqa: BLE001 - any CuPy failure (no driver, no GPU) means none
            _cupy = None
    return _cupy


# PyTorch's device types, in its order (its error message lists them): a device object of
# any of them can be named; only cpu and cuda have an array module (module_for says so).
_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip",
                 "ve", "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                 "privateuseone")
_DEVICE_STRING = re.compile(r"([a-zA-Z_]+)(?::([1-9]\d*|0))?")


class device:
    """``ember.device('cpu')``, ``ember.device('cuda:0')``, ``ember.device('cuda', 1)``."""

    __slots__ = ("index", "type")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int):
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments: {type!r}")
        if ":" in type and index is not None:
            raise RuntimeError(f"type (string) must not include an index because index was passed explicitly: {type}")
        parsed = _DEVICE_STRING.fullmatch(type)
        if parsed is None:  # 'cuda:', 'cuda:01', 'cuda:-1', ' cuda' as PyTorch parses them
            raise RuntimeError(f"Invalid device string: '{type}'")
        type, digits = parsed.groups()
        if digits is not None:
            index = int(digits)
        if type not in _DEVICE_TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device "
                f"string: {type}"
            )
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        self.type = type
        self.index = index

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        # A string is not a device: torch.device('cpu') == 'cpu' is False in PyTorch.
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self):
        """Factories and module constructors without ``device=`` use this device inside
        the block; leaving it restores the default it found (PyTorch's DeviceContext)."""
        _state.entered.append((self, _state.default))
        _state.default = self
        _ever_entered[0] = True
        return self

    def __exit__(self, *exc):
        entered = _state.entered
        for position in range(len(entered) - 1, -1, -1):
            if entered[position][0] is self:
                _state.default = entered.pop(position)[1]
                return


CPU = device("cpu")
META = device("meta")


class _DefaultDeviceState(threading.local):
    """The default device, per thread as PyTorch's: None until ``set_default_device`` or
    ``with device(...)`` names one (factories then use cpu). ``entered`` holds (device,
    the default it replaced) per active ``with`` block; ``global_context`` is the device
    ``set_default_device`` entered, PyTorch's global DeviceContext."""

    default = None
    global_context = None

    def __init__(self):
        self.entered = []


_state = _DefaultDeviceState()
# whether any thread has named a default device: until then factories skip the
# thread-local lookup (it costs as much as the rest of resolving their device)
_ever_entered = [False]


def to_device(d) -> device:
    if d is None:
        return None
    if isinstance(d, device):
        return d
    return device(d)


def array_module(array):
    """NumPy for NumPy arrays, CuPy for CuPy arrays: one code path serves both."""
    if type(array) is np.ndarray:
        return np
    cp = _cupy
    if cp is not None and isinstance(array, cp.ndarray):
        return cp
    if isinstance(array, MetaArray):
        return META_NUMPY
    return np


def device_of(array) -> device:
    if type(array) is np.ndarray:
        return CPU
    cp = _cupy
    if cp is not None and isinstance(array, cp.ndarray):
        return device("cuda", array.device.id)
    if isinstance(array, MetaArray):
        return META
    return CPU


class CudaUnavailableError(AssertionError, RuntimeError):
    """No CuPy or no GPU. PyTorch's CPU builds raise an AssertionError here ("Torch not
    compiled with CUDA enabled"); it is a RuntimeError too, so ``except RuntimeError``
    written for ember's earlier error, or for other device errors, still catches it."""


NO_CUDA = ("Torch not compiled with CUDA enabled: ember's CUDA backend needs CuPy and an "
           "NVIDIA GPU (pip install 'ember[cuda]')")


def module_for(dev: device):
    """The array module that allocates on ``dev``; a clear error when it cannot."""
    if dev is None or dev.type == "cpu":
        return np
    if dev.type == "cuda":
        cp = cupy_module()
        if cp is None:
            raise CudaUnavailableError(NO_CUDA)
        return cp
    if dev.type == "meta":
        return META_NUMPY
    raise RuntimeError(f"ember has no backend for device type '{dev.type}'")


def host_scalars_to_device(arrays):
    """``arrays`` (a list) with each 0-d NumPy array uploaded to the GPU of the first CuPy
    array among them; None when there is none of either. PyTorch mixes 0-d cpu tensors
    into cuda ops as scalars, where CuPy refuses every host array, 0-d ones included."""
    cp = _cupy
    if cp is None:
        return None
    target = next((a for a in arrays if isinstance(a, cp.ndarray)), None)
    if target is None:
        return None
    moved = None
    for position, array in enumerate(arrays):
        if type(array) is np.ndarray and array.ndim == 0:
            if moved is None:
                moved = list(arrays)
            with cp.cuda.Device(target.device.id):
                moved[position] = cp.asarray(array)
    return moved


def retry_with_host_scalars(fn, arrays, error):
    """After CuPy refused a host array in ``fn(*arrays)`` (``error``, its TypeError):
    PyTorch's error for arrays on two devices, else ``fn`` again with the 0-d host arrays
    uploaded (``host_scalars_to_device``); ``error`` again where none could move. Called
    only from the except branch, so a working op pays nothing."""
    check_same_device(arrays)
    moved = host_scalars_to_device(arrays)
    if moved is None:
        raise error
    return fn(*moved)


def check_same_device(arrays) -> None:
    """Raise PyTorch's error when an op's arrays live on two devices.

    Called only after an op's forward failed (CuPy refuses host arrays with a TypeError),
    so a working op pays nothing. 0-d cpu arrays are scalars and mix with any device, as
    0-d cpu tensors do in PyTorch. The text names the devices as TensorIterator's does:
    the first non-CPU device is the common one, whatever the operands' order.
    """
    array_types = (np.ndarray,) if _cupy is None else (np.ndarray, _cupy.ndarray)
    first = None
    for array in arrays:
        if not isinstance(array, array_types):
            continue  # not an array: a Python scalar, a dtype, a shape, None
        if type(array) is np.ndarray and array.ndim == 0:
            continue
        dev = device_of(array)
        if first is None:
            first = dev
        elif dev != first:
            if "meta" in (dev.type, first.type):  # PyTorch words meta mixes differently
                raise RuntimeError(f"Tensor on device {dev} is not on the expected device "
                                   f"{first}!")
            if first.type == "cpu":
                first, dev = dev, first
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two "
                f"devices, {first} and {dev}!"
            )
