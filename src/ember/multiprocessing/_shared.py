"""Tensors in shared memory: ``Tensor.share_memory_()``, ``Tensor.is_shared()`` and their
pickling between processes, so ``model.share_memory()`` followed by training in child
processes (Hogwild, A3C) updates the parent's parameters, as in PyTorch.

``share_memory_`` moves a CPU tensor's data into a POSIX shared-memory segment
(``multiprocessing.shared_memory``). When a shared tensor is pickled for another process
(``Process`` arguments, queues; any start method), it travels as the segment's name and
its layout, and the receiver maps the same memory. Other tensors that were views of the
old data keep the old data (PyTorch moves the whole storage); share first, then view.
CUDA tensors are left as they are, as PyTorch does."""

from __future__ import annotations

import atexit
import os
import pickle
from multiprocessing import shared_memory
from multiprocessing.reduction import ForkingPickler

import numpy as np

from .._tensor import Tensor

_segments: dict = {}  # name -> SharedMemory, kept open while this process lives
# (name, pid) of the segments made here, unlinked at exit by the process that made them:
# forked children inherit the list (and a process forked after `import ember` starts with
# another pid than the import saw), so the pid is taken per segment.
_created: list = []


def _segment_of(array):
    """The segment holding ``array``'s first byte, with the byte offset, or (None, 0)."""
    if not isinstance(array, np.ndarray) or not _segments:
        return None, 0
    address = array.__array_interface__["data"][0]
    for name, segment in _segments.items():
        start = np.frombuffer(segment.buf, dtype=np.uint8, count=1).__array_interface__["data"][0]
        if start <= address < start + segment.size:
            return name, address - start
    return None, 0


def share_memory_(self):
    """Move this tensor's data into shared memory (no-op if already shared or on CUDA)."""
    array = self._data
    if not isinstance(array, np.ndarray) or _segment_of(array)[0] is not None:
        return self
    segment = shared_memory.SharedMemory(create=True, size=max(array.nbytes, 1))
    _segments[segment.name] = segment
    _created.append((segment.name, os.getpid()))
    shared = np.ndarray(array.shape, dtype=array.dtype, buffer=segment.buf)
    shared[...] = array
    self._data = shared
    return self


def is_shared(self) -> bool:
    return _segment_of(self._data)[0] is not None


def _rebuild(name, offset, shape, strides, dtype, requires_grad, parameter):
    segment = _segments.get(name)
    if segment is None:
        segment = shared_memory.SharedMemory(name=name)
        _segments[name] = segment
    array = np.ndarray(shape, dtype=np.dtype(dtype), buffer=segment.buf, offset=offset,
                       strides=strides)
    from .._ops.from_data import from_numpy
    tensor = from_numpy(array)
    if parameter:
        from ..nn.parameter import Parameter
        return Parameter(tensor, requires_grad=requires_grad)
    return tensor.requires_grad_(requires_grad) if requires_grad else tensor


def _reduce(tensor):
    name, offset = _segment_of(tensor._data)
    if name is None:
        return tensor.__reduce_ex__(pickle.DEFAULT_PROTOCOL)
    from ..nn.parameter import Parameter
    array = tensor._data
    return _rebuild, (name, offset, array.shape, array.strides, array.dtype.str,
                      tensor.requires_grad, isinstance(tensor, Parameter))


@atexit.register
def _unlink_created():
    pid = os.getpid()
    for name, creator in _created:
        if creator != pid:
            continue
        try:
            _segments[name].unlink()
        except (FileNotFoundError, KeyError):
            pass


def install():
    """Bind the methods onto Tensor (where the core has none) and register the pickling
    of tensors between processes."""
    from ..nn.parameter import Parameter

    if not hasattr(Tensor, "share_memory_"):
        Tensor.share_memory_ = share_memory_
    if not hasattr(Tensor, "is_shared"):
        Tensor.is_shared = is_shared
    ForkingPickler.register(Tensor, _reduce)
    ForkingPickler.register(Parameter, _reduce)
