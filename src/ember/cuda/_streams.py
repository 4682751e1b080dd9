"""Stream contexts and streams made elsewhere: ``StreamContext``, ``stream()``,
``ExternalStream``, ``get_stream_from_external``.

``StreamContext`` follows PyTorch's: entering makes the stream current (and its device
current when it lives on another one) and leaving restores both; ``None`` or a machine
without a GPU makes it a no-op, so device-agnostic code can wrap its work unconditionally.
"""

from __future__ import annotations

import warnings

from .._backend.device import cupy_module
from .._backend.device import device as _device_type


class StreamContext:
    """``with ember.cuda.StreamContext(s):`` runs the block's kernels on ``s``."""

    def __init__(self, stream):
        self.stream = stream
        self._active = stream is not None and cupy_module() is not None
        self._source_previous = None
        self._target_previous = None

    def __enter__(self):
        from . import current_stream, device

        if not self._active:
            return None
        target = self.stream
        self._source_previous = current_stream(None)
        if self._source_previous.device != target.device:
            with device(target.device):  # the stream current on the target's device
                self._target_previous = current_stream(target.device)
        _use(target)
        return None

    def __exit__(self, *exc):
        if not self._active:
            return
        if self._target_previous is not None:
            _use(self._target_previous)
        _use(self._source_previous)


def _use(stream):
    """Make ``stream`` and its device current (PyTorch's set_stream does both)."""
    from . import current_device, set_device

    index = stream.device.index
    if index is not None and index != current_device():
        set_device(index)
    stream._stream.use()


def stream(stream) -> StreamContext:
    """``with ember.cuda.stream(s):`` runs the block's kernels on ``s`` (None: no-op)."""
    return StreamContext(stream)


def _external_cupy_stream(cp, stream_ptr, index):
    with warnings.catch_warnings():  # CuPy 14 prefers Stream.from_external, same object
        warnings.simplefilter("ignore", DeprecationWarning)
        return cp.cuda.ExternalStream(int(stream_ptr), index)


def _make_external(stream_ptr, device=None):
    from . import Stream, _cupy, _index

    cp = _cupy()
    index = _index(device)
    wrapper = Stream.__new__(ExternalStream)
    wrapper._stream = _external_cupy_stream(cp, stream_ptr, index)
    wrapper.device = _device_type("cuda", index)
    wrapper.priority = 0
    return wrapper


def _external_class():
    from . import Stream

    class ExternalStream(Stream):
        """A stream created outside ember (another library's ``cudaStream_t``); ember
        uses it but never destroys it.

        Args:
            stream_ptr: the ``cudaStream_t`` as an int.
            device: the device the stream was created on (default: the current one).
        """

        def __new__(cls, stream_ptr, device=None, **kwargs):
            return _make_external(stream_ptr, device)

        def __init__(self, stream_ptr, device=None, **kwargs):
            pass

    ExternalStream.__module__ = "ember.cuda"
    return ExternalStream


ExternalStream = _external_class()


def get_stream_from_external(data_ptr: int, device=None):
    """A ``Stream`` for a ``cudaStream_t`` allocated elsewhere (for interop)."""
    return ExternalStream(data_ptr, device)
