"""``torch.Stream`` and ``torch.Event``: device-generic streams and events (PyTorch 2.4+).

On the cpu (and meta) device, as in PyTorch, work is never queued: a stream is always
idle (``query()`` is True), waiting is immediate, and recording an event is refused with
PyTorch's "cpu backend doesn't support events." On cuda each object wraps the matching
``ember.cuda.Stream`` / ``ember.cuda.Event`` (CuPy's), so ``torch.Stream("cuda")`` code
runs on ember's GPUs.
"""

from __future__ import annotations

from ._backend.device import device as _device_type

__all__ = ["Event", "Stream"]

# c10::DeviceType values, which PyTorch's ``Stream.device_type`` reports
_DEVICE_TYPE_IDS = {"cpu": 0, "cuda": 1, "xpu": 12, "mps": 13, "meta": 14}
_NO_ACCELERATOR = "Cannot access accelerator device when none is available."


def _resolve_device(device, owner):
    """The device a Stream/Event is for: the current accelerator when ``device`` is None
    (cpu without one), an accelerator index for an int."""
    from . import accelerator

    if device is None:
        return accelerator.current_accelerator() or _device_type("cpu")
    if isinstance(device, int) and not isinstance(device, bool):
        current = accelerator.current_accelerator()
        if current is None:
            raise RuntimeError(_NO_ACCELERATOR)
        return _device_type(current.type, device)
    if not isinstance(device, (str, _device_type)):
        raise TypeError(f"{owner}(): argument 'device' (position 1) must be torch.device, "
                        f"not {type(device).__name__}")
    return _device_type(device)


def _no_events(device_type):
    return RuntimeError(f"{device_type} backend doesn't support events.")


class Stream:
    """An in-order queue of work on one device; also a context manager that makes it the
    current stream of its device."""

    def __init__(self, device=None, *, priority: int = 0, stream_id=None, device_index=None,
                 device_type=None) -> None:
        self._cuda = None
        if stream_id is not None:  # PyTorch's Stream(stream_id=, device_index=, device_type=)
            names = {v: k for k, v in _DEVICE_TYPE_IDS.items()}
            self.device = _device_type(names[int(device_type)])
            self._index, self.stream_id = int(device_index), int(stream_id)
            return
        target = _resolve_device(device, "Stream")
        self.device = _device_type(target.type)
        self._index, self.stream_id = -1, 0
        if target.type == "cuda":
            from . import cuda

            self._cuda = cuda.Stream(target, priority=priority)
            self.device = self._cuda.device
            self._index, self.stream_id = self.device.index, self._cuda.cuda_stream

    @property
    def device_type(self) -> int:
        return _DEVICE_TYPE_IDS.get(self.device.type, -1)

    @property
    def device_index(self) -> int:
        return self._index

    def query(self) -> bool:
        """True when all work queued on the stream has finished."""
        return self._cuda.query() if self._cuda is not None else True

    def synchronize(self) -> None:
        if self._cuda is not None:
            self._cuda.synchronize()

    def wait_event(self, event) -> None:
        """Later work on this stream waits for ``event``."""
        if self._cuda is not None:
            self._cuda.wait_event(event._cuda)

    def wait_stream(self, stream) -> None:
        if self._cuda is None:
            raise _no_events(self.device.type)
        self._cuda.wait_stream(stream._cuda)

    def record_event(self, event=None):
        if self._cuda is None:
            raise _no_events(self.device.type)
        event = event if event is not None else Event(self.device)
        event.record(self)
        return event

    def native_handle(self) -> int:
        if self._cuda is None:
            raise RuntimeError("Backend doesn't support getting stream native handle.")
        return self._cuda.cuda_stream

    def is_capturing(self) -> bool:
        return False

    def __enter__(self):
        if self._cuda is not None:
            self._cuda.__enter__()
        return self

    def __exit__(self, *exc):
        if self._cuda is not None:
            self._cuda.__exit__(*exc)
        return False

    def __eq__(self, other):
        return (isinstance(other, Stream) and self.device.type == other.device.type
                and self._index == other._index and self.stream_id == other.stream_id)

    def __hash__(self):
        return hash((self.device.type, self._index, self.stream_id))

    def __repr__(self):
        return (f"torch.Stream device_type={self.device.type}, device_index={self._index}, "
                f"stream_id={self.stream_id}")


class Event:
    """A marker in a stream's work, for waiting and timing."""

    def __init__(self, device=None, *, enable_timing: bool = False, blocking: bool = False,
                 interprocess: bool = False) -> None:
        target = _resolve_device(device, "Event")
        self.device = _device_type(target.type)
        self._index = -1
        self._timing = bool(enable_timing)
        self._cuda = None
        if target.type == "cuda":
            from . import cuda

            self._cuda = cuda.Event(enable_timing=enable_timing, blocking=blocking,
                                    interprocess=interprocess)
            self.device = target
            self._index = target.index if target.index is not None else cuda.current_device()

    @property
    def event_id(self) -> int:
        return 0 if self._cuda is None else id(self._cuda._event)

    def query(self) -> bool:
        return self._cuda.query() if self._cuda is not None else True

    def record(self, stream=None) -> None:
        if self._cuda is None:
            raise _no_events(self.device.type)
        self._cuda.record(None if stream is None else stream._cuda)

    def wait(self, stream=None) -> None:
        if self._cuda is not None:
            self._cuda.wait(None if stream is None else stream._cuda)

    def synchronize(self) -> None:
        if self._cuda is not None:
            self._cuda.synchronize()

    def elapsed_time(self, end_event) -> float:
        """Milliseconds from this event to ``end_event`` (both recorded, both timing)."""
        if not (self._timing and end_event._timing):
            raise ValueError("Both events must be created with argument 'enable_timing=True'.")
        if not (self._cuda is not None and end_event._cuda is not None
                and self._cuda._recorded and end_event._cuda._recorded):
            raise ValueError("Both events must be recorded before calculating elapsed time.")
        return self._cuda.elapsed_time(end_event._cuda)

    def ipc_handle(self):
        raise NotImplementedError("torch.Event ipc is not supported yet, please open an issue "
                                  "if you need this!")

    @classmethod
    def from_ipc_handle(cls, device, ipc_handle):
        raise NotImplementedError("torch.Event ipc is not supported yet, please open an issue "
                                  "if you need this!")

    def __repr__(self):
        return (f"torch.Event device_type={self.device.type}, device_index={self._index}, "
                f"event_flag={int(self._timing)}, event_id={self.event_id}")


Stream.__module__ = Event.__module__ = "ember"
