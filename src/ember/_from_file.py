"""``torch.from_file``: a 1-D tensor over a file's bytes, memory-mapped.

``shared=True`` maps the file itself (``MAP_SHARED``): writes to the tensor reach the file,
and the file is created or grown to ``size`` elements first, as PyTorch does. Otherwise the
mapping is private (copy-on-write): the tensor starts with the file's bytes and its writes
stay in this process.
"""

from __future__ import annotations

import mmap
import os

import numpy as np

from ._backend.dtypes import get_default_dtype, to_dtype
from ._tensor import _make

__all__ = ["from_file"]


def _check_args(filename, shared, size):
    if not isinstance(filename, (str, os.PathLike)):
        raise TypeError("from_file(): argument 'filename' (position 1) must be str, not "
                        f"{type(filename).__name__}")
    if shared is not None and not isinstance(shared, bool):
        raise TypeError("from_file(): argument 'shared' (position 2) must be bool, not "
                        f"{type(shared).__name__}")
    if not isinstance(size, int) or isinstance(size, bool):
        raise TypeError(f"from_file(): argument 'size' must be int, not {type(size).__name__}")


def _map(path, shared, nbytes):
    """An mmap of the file's first ``nbytes`` bytes (None for zero bytes)."""
    if os.path.isdir(path):
        raise RuntimeError(f"unable to mmap {nbytes} bytes from file <{path}>: No such device "
                           "(19)")
    mode = "r+b" if shared else "rb"
    try:
        handle = open(path, mode) if os.path.exists(path) or not shared else open(path, "w+b")
    except OSError as error:
        what = "read-write" if shared else "read-only"
        raise RuntimeError(f"unable to open file <{path}> in {what} mode: {error.strerror} "
                           f"({error.errno})") from None
    with handle:
        if nbytes < 0:
            raise RuntimeError(f"unable to mmap {nbytes} bytes from file <{path}>: Cannot "
                               "allocate memory (12)")
        have = os.fstat(handle.fileno()).st_size
        if have < nbytes:
            if not shared:
                raise RuntimeError(f"file <{path}> size <{have}> is smaller than the required "
                                   f"mapping size <{nbytes}>")
            handle.truncate(nbytes)  # PyTorch grows a shared file to the size asked for
        if nbytes == 0:
            return None
        access = mmap.ACCESS_WRITE if shared else mmap.ACCESS_COPY
        return mmap.mmap(handle.fileno(), nbytes, access=access)


def from_file(filename, shared=None, size=0, *, dtype=None, layout=None, device=None,
              pin_memory=False, requires_grad=False):
    """A 1-D tensor of ``size`` elements of ``dtype`` read from ``filename``'s bytes.

    Args:
        filename: the file to map.
        shared: True: writes go to the file (created or grown as needed); False/None: a
            private copy-on-write mapping.
        size: number of elements.
    """
    _check_args(filename, shared, size)
    if pin_memory:
        raise RuntimeError("tensors constructed from a file cannot be pinned")
    if layout is not None and layout is not _strided():
        raise NotImplementedError(f"Could not run 'aten::from_file' with layout {layout}")
    if device is not None and str(device).split(":")[0] == "meta":
        raise NotImplementedError("aten::from_file: attempted to run this operator with Meta "
                                  "tensors, but there was no fake impl or Meta kernel registered.")
    d = get_default_dtype() if dtype is None else to_dtype(dtype)
    path = os.fspath(filename)
    mapping = _map(path, bool(shared), size * d.itemsize)
    if mapping is None:
        array = np.empty(0, d.numpy_dtype)
    else:
        array = np.frombuffer(mapping, dtype=d.numpy_dtype, count=size)
    result = _make(array)
    if device is not None and str(device) != "cpu":
        result = result.to(device)
    if requires_grad:
        result.requires_grad_(True)
    return result


def _strided():
    from .sparse import strided

    return strided

