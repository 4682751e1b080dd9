"""Shared-memory transport for tensors that DataLoader workers send to the main process.

A worker stacks a batch straight into a file on a tmpfs (``/dev/shm``) that it has mapped,
and sends only the file's path, dtype, shape, strides and offset. The main process maps
the file and wraps the mapping in a tensor without copying.

Fresh tmpfs pages are expensive (allocating and zeroing them costs ~20x a plain memcpy),
so segments are recycled: when the last array viewing a segment dies in the main
process, a finalizer queues the path; the iterator sends the paths back to the worker
that made them, and the worker writes its next batch of that size into the same,
still-mapped pages. A finalizer only appends to a list (no locks: it may run inside any
allocation), and the iterator forwards the list at its own safe points.

Segment names are ``<prefix>w<worker>_<n>`` with a per-iterator prefix, so one directory
scan at shutdown removes every segment of an iterator (batches the user still holds stay
valid: unlinking a mapped file keeps its pages until the last mapping closes). Workers
also remove their own segments when they notice the main process died.
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
import re
import sys
import tempfile
import weakref
from multiprocessing.reduction import ForkingPickler

import numpy as np

from ..._tensor import Tensor, _make

_SHM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
# Arrays smaller than this travel inside the pickle: a file + mmap per tiny label tensor
# costs more than copying a few kilobytes through the pipe.
_INLINE_BYTES = 16 * 1024
# Free segments a worker keeps mapped for reuse (beyond this, the oldest are dropped).
_POOL_LIMIT = 8
_SEGMENT_NAME = re.compile(r"^(?P<prefix>.*_)w(?P<worker>\d+)_\d+$")

_counter = itertools.count()
_segment_prefix = None  # this worker's "<iterator prefix>w<id>_", set by set_segment_prefix
_lent: dict[str, _SharedMap] = {}  # worker: sent to the main process, not yet released
_sending: dict[str, _SharedMap] = {}  # worker: named by the pickle being written now
_pool: collections.OrderedDict = collections.OrderedDict()  # worker: path -> free mapping
_receivers: dict[str, list] = {}  # main: iterator prefix -> paths released by finalizers


class _SharedMap(mmap.mmap):
    """An mmap of one shared-memory file, remembering where it came from."""

    path: str
    address: int
    creator_pid: int
    unlinked: bool


# -- naming and cleanup ----------------------------------------------------------------

def new_segment_prefix(tag: str) -> str:
    """A prefix unique to one DataLoader iterator of this process."""
    return os.path.join(_SHM_DIR, f"ember_dl_{os.getpid()}_{tag}_")


def set_segment_prefix(prefix: str | None) -> None:
    """Name this process's segments ``<prefix><n>`` (called once in each worker)."""
    global _segment_prefix
    _segment_prefix = prefix


def remove_segments(prefix: str) -> None:
    """Unlink every segment whose name starts with ``prefix``."""
    for path in glob.glob(glob.escape(prefix) + "*"):
        _unlink(path)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# -- worker side: allocation, recycling ------------------------------------------------

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


def _take_free_segment(nbytes: int):
    for path, mapping in _pool.items():
        if len(mapping) == nbytes:
            del _pool[path]
            return mapping
    return None


def shared_empty(shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array in a shared-memory segment (a recycled one of
    the same size when the main process has released one).

    Outside a worker (no prefix set), or for small arrays, this is a plain ``np.empty``.
    """
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    nbytes = count * dtype.itemsize
    if _segment_prefix is None or nbytes < _INLINE_BYTES:
        return np.empty(shape, dtype=dtype)
    mapping = _take_free_segment(nbytes)
    if mapping is None:
        mapping = _map_file(f"{_segment_prefix}{next(_counter)}", nbytes, create=True)
    return np.frombuffer(mapping, dtype=dtype, count=count).reshape(shape)


def recycle(paths) -> None:
    """Worker: the main process no longer uses these segments; keep them for reuse."""
    for path in paths:
        mapping = _lent.pop(path, None)
        # Only the pool's reference may remain: any other (a view the worker kept, say in
        # a cache) means the pages are still in use here, so the segment is retired.
        if mapping is None or sys.getrefcount(mapping) > 2:
            _unlink(path)
            continue
        _pool[path] = mapping
        while len(_pool) > _POOL_LIMIT:
            old_path, old_mapping = _pool.popitem(last=False)
            old_mapping.close()
            _unlink(old_path)


def release_all() -> None:
    """Worker exit: forget every segment (the main process unlinks what it still holds)."""
    _lent.clear()
    _pool.clear()


# -- main side: attaching, release bookkeeping -----------------------------------------

def open_receiver(prefix: str) -> list:
    """Main: start collecting released segment paths for an iterator's workers."""
    released: list = []
    _receivers[prefix] = released
    return released


def close_receiver(prefix: str) -> None:
    _receivers.pop(prefix, None)


def worker_of(path: str) -> int:
    return int(_SEGMENT_NAME.match(path).group("worker"))


def _attach_segment(path: str, nbytes: int) -> _SharedMap:
    """Main: map a worker's segment; when the mapping dies, hand the path back."""
    mapping = _map_file(path, nbytes, create=False)
    match = _SEGMENT_NAME.match(path)
    released = _receivers.get(match.group("prefix")) if match else None
    if released is None:  # no live iterator to recycle through: free the name now
        _unlink(path)
        mapping.unlinked = True
    else:
        weakref.finalize(mapping, released.append, path)
    return mapping


def _rebuild_tensor(mapping, offset, dtype, shape, strides, requires_grad):
    array = np.ndarray(shape, dtype=np.dtype(dtype), buffer=mapping, offset=offset,
                       strides=strides)
    return _make(array, requires_grad=requires_grad)


# -- pickling ----------------------------------------------------------------------------

def _segment_of(array: np.ndarray):
    """The ``_SharedMap`` an array views, or None."""
    owner = array
    while isinstance(owner, np.ndarray):
        owner = owner.base
    if isinstance(owner, memoryview):
        owner = owner.obj
    return owner if isinstance(owner, _SharedMap) else None


def _reduce_segment(mapping: _SharedMap):
    _sending[mapping.path] = mapping
    return _attach_segment, (mapping.path, len(mapping))


def _reduce_tensor(tensor: Tensor):
    """Send a CPU tensor's array by shared-memory reference instead of by value."""
    array = tensor._data
    if not isinstance(array, np.ndarray) or tensor.grad_fn is not None or tensor.__dict__:
        return tensor.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
    mapping = _segment_of(array)
    if mapping is None or mapping.creator_pid != os.getpid() or mapping.path in _lent:
        # not ours to send (or already lent out in an earlier batch): copy once
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
    """Pickle a worker's result; big tensors become shared-memory references. The
    segments it names stay mapped here (lent) until the main process releases them."""
    buffer = io.BytesIO()
    try:
        _BatchPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
        _lent.update(_sending)
    finally:
        _sending.clear()
    return buffer.getvalue()


loads_batch = pickle.loads
