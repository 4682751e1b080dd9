"""DLPack: zero-copy exchange of tensors with PyTorch, NumPy, CuPy, JAX and friends.

ember's arrays are NumPy's and CuPy's, and both speak DLPack, so a tensor's
``__dlpack__`` is its array's and ``from_dlpack`` hands the capsule to the array library
of its device; memory is shared both ways, as PyTorch's.

bfloat16 is the one dtype NumPy refuses (it knows no bfloat16). DLPack's structs are a
fixed C layout, so the capsule's dtype field is read and rewritten in place: ember
exports a bfloat16 tensor as its uint16 bits relabelled ``kDLBfloat``, and imports a
``kDLBfloat`` capsule relabelled as uint16 bits, viewed back as bfloat16.
"""

from __future__ import annotations

import ctypes
import enum

import numpy as np

from ._backend import dtypes as _dt
from ._tensor import Tensor, _make

__all__ = ["DLDeviceType", "from_dlpack", "to_dlpack"]


class DLDeviceType(enum.IntEnum):
    """DLPack's device codes, as ``torch.utils.dlpack.DLDeviceType``."""

    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLVPI = 9
    kDLROCM = 10
    kDLROCMHost = 11
    kDLExtDev = 12
    kDLCUDAManaged = 13
    kDLOneAPI = 14
    kDLWebGPU = 15
    kDLHexagon = 16
    kDLMAIA = 17


_INVALID = ("from_dlpack received an invalid capsule. Note that DLTensor capsules can be "
            "consumed only once, so you might have already constructed a tensor from it once.")

# -- the capsule's C structs (dlpack.h): where DLTensor and its fields sit ---------------------
_capsule_is_valid = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.c_char_p)(
    ("PyCapsule_IsValid", ctypes.pythonapi))
_capsule_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
    ("PyCapsule_GetPointer", ctypes.pythonapi))
# DLManagedTensor starts with its DLTensor; DLManagedTensorVersioned has version (8 bytes),
# manager_ctx, deleter and flags (8 each) first
_TENSOR_OFFSETS = ((b"dltensor", 0), (b"dltensor_versioned", 32))
_DEVICE_TYPE, _DTYPE_CODE, _DTYPE_BITS = 8, 20, 21  # offsets inside DLTensor
_KDL_UINT, _KDL_BFLOAT = 1, 4


def _dl_tensor(capsule):
    """The address of the capsule's DLTensor, or None for a used or foreign capsule."""
    for name, offset in _TENSOR_OFFSETS:
        if _capsule_is_valid(capsule, name):
            return _capsule_pointer(capsule, name) + offset
    return None


def _relabel(address, old_code, new_code):
    """Rewrite a 16-bit dtype code in place; True when it was ``old_code``."""
    code = ctypes.c_uint8.from_address(address + _DTYPE_CODE)
    bits = ctypes.c_uint8.from_address(address + _DTYPE_BITS)
    if code.value == old_code and bits.value == 16:
        code.value = new_code
        return True
    return False


class _Capsule:
    """A capsule dressed as a DLPack producer, for ``numpy.from_dlpack``."""

    def __init__(self, capsule, device):
        self._capsule, self._device = capsule, device

    def __dlpack__(self, **kwargs):
        return self._capsule

    def __dlpack_device__(self):
        return self._device


# -- export ------------------------------------------------------------------------------------


def _tensor_dlpack(self, *, stream=-1, max_version=None, dl_device=None, copy=None):
    """A DLPack capsule over this tensor's memory (``tensor.__dlpack__``)."""
    if self._requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    array = self._data
    kwargs = {}
    if max_version is not None:
        kwargs["max_version"] = max_version
    if copy is not None:
        kwargs["copy"] = copy
    if type(array) is np.ndarray:
        if stream is not None and stream != -1:
            raise AssertionError("stream should be None on cpu.")
        if dl_device is not None:
            kwargs["dl_device"] = dl_device
        bfloat = array.dtype == _dt.bfloat16.np
        capsule = (array.view(np.uint16) if bfloat else array).__dlpack__(**kwargs)
        if bfloat:
            _relabel(_dl_tensor(capsule), _KDL_UINT, _KDL_BFLOAT)
        return capsule
    if self.device.type == "meta":
        raise ValueError("Unknown device type meta for Dlpack")
    if stream != -1:
        kwargs["stream"] = stream
    return array.__dlpack__(**kwargs)


def _tensor_dlpack_device(self):
    """``(DLDeviceType, device index)`` of this tensor's memory."""
    device = self.device
    if device.type == "cpu":
        return DLDeviceType.kDLCPU, 0
    if device.type == "cuda":
        return DLDeviceType.kDLCUDA, device.index or 0
    raise ValueError(f"Unknown device type {device.type} for Dlpack")


TENSOR_METHODS = {"__dlpack__": _tensor_dlpack, "__dlpack_device__": _tensor_dlpack_device}


def to_dlpack(tensor):
    """A legacy DLPack capsule of ``tensor`` (consumed once, by ``from_dlpack``)."""
    if not isinstance(tensor, Tensor):
        raise TypeError("_to_dlpack(): argument 'data' (position 1) must be Tensor, not "
                        f"{type(tensor).__name__}")
    return tensor.__dlpack__()


# -- import ------------------------------------------------------------------------------------


def _host_array(capsule):
    """A NumPy array over a cpu capsule's memory (bfloat16 relabelled for NumPy)."""
    address = _dl_tensor(capsule)
    if address is None:
        raise RuntimeError(_INVALID)
    device = ctypes.c_int32.from_address(address + _DEVICE_TYPE).value
    if device != DLDeviceType.kDLCPU:
        raise RuntimeError(f"from_dlpack: a DLPack capsule on device type {device} needs a "
                           "producer object (with __dlpack__), not a bare capsule")
    bfloat = _relabel(address, _KDL_BFLOAT, _KDL_UINT)
    array = np.from_dlpack(_Capsule(capsule, (int(DLDeviceType.kDLCPU), 0)))
    return array.view(_dt.bfloat16.np) if bfloat else array


def from_dlpack(ext_tensor, *, device=None, copy=None) -> Tensor:
    """A tensor over the memory of a DLPack producer (anything with ``__dlpack__``: a
    PyTorch tensor, a NumPy or CuPy array, ...) or of a capsule from ``to_dlpack``; writes
    show on both sides. ``copy=True`` copies; ``device`` moves it (copying).

    Example::

        >>> t = ember.from_dlpack(torch_tensor)   # shares torch_tensor's memory
    """
    if hasattr(ext_tensor, "__dlpack__"):
        device_type, index = ext_tensor.__dlpack_device__()
        if int(device_type) in (DLDeviceType.kDLCUDA, DLDeviceType.kDLCUDAManaged):
            from ._backend.device import NO_CUDA, CudaUnavailableError, cupy_module

            cupy = cupy_module()
            if cupy is None:
                raise CudaUnavailableError(NO_CUDA)
            array = cupy.from_dlpack(ext_tensor)
        else:
            try:
                capsule = ext_tensor.__dlpack__(max_version=(1, 0))
            except TypeError:  # a producer from before DLPack 1.0
                capsule = ext_tensor.__dlpack__()
            array = _host_array(capsule)
    elif type(ext_tensor).__name__ == "PyCapsule":
        array = _host_array(ext_tensor)
    else:
        raise RuntimeError(_INVALID)
    result = _make(array)
    if device is not None:
        result = result.to(device)
    if copy and result._data is array:
        result = result.clone()
    return result
