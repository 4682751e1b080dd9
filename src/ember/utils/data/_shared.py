"""Shared-memory transport for tensors that DataLoader workers send to the main process.

A worker allocates a batch straight into a file on a tmpfs (``/dev/shm``) and sends only
the file's path, the dtype, shape, strides and offset. The main process maps the file,
unlinks it at once (the mapping stays valid and the memory goes back to the system when
the last array viewing it dies) and wraps the mapping in a tensor without copying. So a
batch of images costs one ``memcpy`` in the worker (the stack into the segment) and none
in the main process, where a pickled copy would cost two plus the pipe transfer.

Segment names carry a per-iterator prefix, so the main process can remove whatever its
workers left behind (a batch still in flight when the iterator was dropped, a worker
killed mid-write) with one directory scan at shutdown.
"""

from __future__ import annotations

import collections
import copyreg
import glob
import io
import itertools
import mmap
import os
import pickle
import tempfile

import numpy as np
from multiprocessing.reduction import ForkingPickler

from ..._tensor import Tensor, _make

_SHM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
# Arrays smaller than this travel inside the pickle: a file + mmap per tiny label tensor
# costs more than copying a few kilobytes through the pipe.
_INLINE_BYTES = 16 * 1024

_counter = itertools.count()
_segment_prefix = None  # set in each worker by ``set_segment_prefix``


class _SharedMap(mmap.mmap):
    """An mmap of one shared-memory file, remembering where it came from."""

    path: str
    address: int
    creator_pid: int
    unlinked: bool


def set_segment_prefix(prefix: str) -> None:
    """Name this process's segments ``<prefix><n>`` (called once in each worker)."""
    global _segment_prefix
    _segment_prefix = prefix


def new_segment_prefix(tag: str) -> str:
    """A prefix unique to one DataLoader iterator of this process."""
    return os.path.join(_SHM_DIR, f"ember_dl_{os.getpid()}_{tag}_")


def remove_segments(prefix: str) -> None:
    """Unlink every segment whose name starts with ``prefix`` (those never received)."""
    for path in glob.glob(glob.escape(prefix) + "*"):
        try:
            os.unlink(path)
        except OSError:
            pass


def _map_file(path: str, nbytes: int, create: bool) -> _SharedMap:
    flags = os.O_RDWR | (os.O_CREAT | os.O_EXCL if create else 0)
    fd = os.open(path, flags, 0o600)
    try:
        if create:
            os.ftruncate(fd, nbytes)
        mapping = _SharedMap(fd, nbytes)
    finally:
        os.close(fd)
    mapping.path = path
    mapping.address = np.frombuffer(mapping, dtype=np.uint8, count=1).ctypes.data
    mapping.creator_pid = os.getpid()
    mapping.unlinked = False
    return mapping


def shared_empty(shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array living in a fresh shared-memory segment.

    Outside a worker (no prefix set) this is a plain ``np.empty``.
    """
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    nbytes = count * dtype.itemsize
    if _segment_prefix is None or nbytes < _INLINE_BYTES:
        return np.empty(shape, dtype=dtype)
    path = f"{_segment_prefix}{next(_counter)}"
    mapping = _map_file(path, nbytes, create=True)
    return np.frombuffer(mapping, dtype=dtype, count=count).reshape(shape)


def _segment_of(array: np.ndarray):
    """The ``_SharedMap`` an array views, or None."""
    owner = array
    while isinstance(owner, np.ndarray):
        owner = owner.base
    if isinstance(owner, memoryview):
        owner = owner.obj
    return owner if isinstance(owner, _SharedMap) else None


def _attach_segment(path: str, nbytes: int) -> _SharedMap:
    """Main-process side: map a worker's segment and unlink its name at once."""
    mapping = _map_file(path, nbytes, create=False)
    os.unlink(path)
    mapping.unlinked = True
    return mapping


def _rebuild_tensor(mapping, offset, dtype, shape, strides, requires_grad):
    array = np.ndarray(shape, dtype=np.dtype(dtype), buffer=mapping, offset=offset,
                       strides=strides)
    return _make(array, requires_grad=requires_grad)


def _reduce_segment(mapping: _SharedMap):
    return _attach_segment, (mapping.path, len(mapping))


def _reduce_tensor(tensor: Tensor):
    """Send a CPU tensor's array by shared-memory reference instead of by value."""
    array = tensor._data
    if not isinstance(array, np.ndarray) or tensor.grad_fn is not None or tensor.__dict__:
        return tensor.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
    mapping = _segment_of(array)
    if mapping is None or mapping.unlinked or mapping.creator_pid != os.getpid():
        if array.nbytes < _INLINE_BYTES or _segment_prefix is None:
            return tensor.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
        copy = shared_empty(array.shape, array.dtype)
        copy[...] = array
        array, mapping = copy, _segment_of(copy)
    offset = array.__array_interface__["data"][0] - mapping.address
    return _rebuild_tensor, (mapping, offset, array.dtype.str, array.shape, array.strides,
                             tensor._requires_grad)


class _BatchPickler(pickle.Pickler):
    """A pickler that sends ember tensors through shared memory (used in workers only)."""

    # Ours first, then what multiprocessing's own pickler knows (connections, sockets),
    # then the global copyreg table; a ChainMap sees later registrations too.
    dispatch_table = collections.ChainMap(
        {Tensor: _reduce_tensor, _SharedMap: _reduce_segment},
        ForkingPickler._extra_reducers,
        copyreg.dispatch_table,
    )


def dumps_batch(obj) -> bytes:
    """Pickle a worker's result; big tensors become shared-memory references."""
    buffer = io.BytesIO()
    _BatchPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


loads_batch = pickle.loads
