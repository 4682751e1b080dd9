"""Page-locked (pinned) host memory: CuPy allocates it, the CUDA runtime tells it apart.

``Tensor.pin_memory()`` copies a cpu tensor into memory from ``cupyx.empty_pinned`` (a
NumPy array over a page-locked block, so host-to-device copies can run asynchronously);
``Tensor.is_pinned()`` asks the runtime what kind of memory the tensor's first element is
in, so views of pinned memory, and arrays pinned by other code, count too.
"""

from __future__ import annotations

import numpy as np

from .._backend.device import cupy_module, device_of

_NO_ACCELERATOR = "Cannot access accelerator device when none is available."
_NO_ALLOCATOR = ("pin_memory=True requires a CUDA or other accelerator backend; no pinned "
                 "memory allocator is available on this system.")


def pin_created(tensor):
    """A factory's ``pin_memory=True``: its new tensor moved into page-locked memory (the
    tensor object is fresh and has no views yet, so its array is swapped in place)."""
    if cupy_module() is None:
        raise RuntimeError(_NO_ALLOCATOR)
    tensor._data = pin(tensor._data)
    return tensor


def pin(array):
    """A page-locked copy of the host ``array`` (the array itself when already pinned)."""
    cp = cupy_module()
    if cp is None:
        raise RuntimeError(_NO_ACCELERATOR)
    if device_of(array).type != "cpu":
        raise RuntimeError(f"cannot pin '{_legacy_name(array)}' only dense CPU tensors can be "
                           "pinned")
    if is_pinned(array):
        return array
    import cupyx

    pinned = cupyx.empty_pinned(array.shape, dtype=array.dtype)
    pinned[...] = array
    return pinned


def is_pinned(array) -> bool:
    """Whether the host ``array``'s memory is page-locked (False for device arrays and
    when there is no GPU)."""
    if not isinstance(array, np.ndarray) or device_of(array).type != "cpu":
        return False
    cp = cupy_module()
    if cp is None or array.size == 0:
        return False
    runtime = cp.cuda.runtime
    try:
        attributes = runtime.pointerGetAttributes(array.__array_interface__["data"][0])
    except Exception:  # noqa: BLE001 - CUDA < 11 reports pageable memory as an error
        return False
    return int(attributes.type) == int(getattr(runtime, "memoryTypeHost", 1))


def _legacy_name(array):
    from .._backend.dtypes import from_numpy_dtype

    names = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
             "bfloat16": "BFloat16Tensor", "int64": "LongTensor", "int32": "IntTensor",
             "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor",
             "bool": "BoolTensor"}
    return "torch.cuda." + names.get(from_numpy_dtype(array.dtype).name, "Tensor")
