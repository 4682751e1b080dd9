"""``torch.monitor``: events, event handlers and windowed statistics.

PyTorch implements these in C++ (``torch._C._monitor``); ember's are plain Python with
the same behaviour:

- ``log_event(event)`` hands the event to every handler registered with
  ``register_event_handler``, in registration order, synchronously.
- ``Stat(name, aggregations, window_size, max_samples)`` aggregates ``add``-ed values
  over fixed wall-clock windows (window ids are ``now_ms // window_ms + 1`` on a
  monotonic clock, as PyTorch's). When a window closes, or ``max_samples`` values have
  been added, its aggregates become what ``get()`` returns and are logged as a
  ``torch.monitor.Stat`` event whose data keys are ``"<name>.<aggregation>"``; further
  adds in an already-logged window are dropped. A window with no values logs no event.
  A Stat that is garbage-collected logs what it holds, as PyTorch's destructor does.

One deliberate difference: PyTorch's Python binding numbers ``Aggregation.VALUE`` 0 (its
C++ NONE), so a Stat asked for VALUE never reports it; ember reports the last added
value, as the documentation of VALUE describes.
"""

from __future__ import annotations

import datetime
import enum
import math
import threading
import time

__all__ = ["Aggregation", "Event", "EventHandlerHandle", "STAT_EVENT", "Stat",
           "TensorboardEventHandler", "data_value_t", "log_event", "register_event_handler",
           "unregister_event_handler", "VALUE", "MEAN", "COUNT", "SUM", "MAX", "MIN"]

STAT_EVENT = "torch.monitor.Stat"


class Aggregation(enum.Enum):
    """These are types of aggregations that can be used to accumulate stats."""

    VALUE = 0
    MEAN = 2
    COUNT = 3
    SUM = 4
    MAX = 5
    MIN = 6


VALUE, MEAN, COUNT, SUM, MAX, MIN = (Aggregation.VALUE, Aggregation.MEAN, Aggregation.COUNT,
                                     Aggregation.SUM, Aggregation.MAX, Aggregation.MIN)

# The types an Event's data values may take (PyTorch's data_value_t variant).
data_value_t = str | float | int | bool


def _event_value(value):
    """PyTorch stores bools as doubles (its variant converts them), other values as given."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (str, int, float)):
        return value
    raise TypeError(f"Event data values must be str, float, int or bool, got "
                    f"{type(value).__name__}")


class Event:
    """Event represents a specific typed event to be logged: a ``name``, a
    ``timestamp`` (datetime) and ``data``, a dict of str to str/float/int/bool."""

    def __init__(self, name: str, timestamp: datetime.datetime, data: dict) -> None:
        self.name = name
        self.timestamp = timestamp
        self.data = {str(key): _event_value(value) for key, value in data.items()}

    def __repr__(self) -> str:
        return f"Event(name={self.name!r}, timestamp={self.timestamp!r}, data={self.data!r})"


class EventHandlerHandle:
    """Returned by ``register_event_handler``; pass it to ``unregister_event_handler``.
    It cannot be made directly (PyTorch's has no constructor)."""

    def __init__(self, *args, **kwargs) -> None:
        raise TypeError("torch._C._monitor.EventHandlerHandle: No constructor defined!")

    @classmethod
    def _make(cls, handler):
        handle = object.__new__(cls)
        handle._handler = handler
        return handle


_handlers: list = []  # (handle, callback), in registration order
_handlers_lock = threading.Lock()


def register_event_handler(callback) -> EventHandlerHandle:
    """Call ``callback(event)`` for every event logged from now on; returns the handle
    that unregisters it."""
    handle = EventHandlerHandle._make(callback)
    with _handlers_lock:
        _handlers.append((handle, callback))
    return handle


def unregister_event_handler(handler: EventHandlerHandle) -> None:
    """Stop sending events to the handler ``handler`` was returned for."""
    with _handlers_lock:
        _handlers[:] = [(h, cb) for h, cb in _handlers if h is not handler]


def log_event(event: Event) -> None:
    """Send ``event`` to every registered handler (a no-op without handlers)."""
    with _handlers_lock:
        callbacks = [callback for _, callback in _handlers]
    for callback in callbacks:
        callback(event)


_AGGREGATION_NAMES = {Aggregation.VALUE: "value", Aggregation.MEAN: "mean",
                      Aggregation.COUNT: "count", Aggregation.SUM: "sum",
                      Aggregation.MAX: "max", Aggregation.MIN: "min"}


class _Window:
    __slots__ = ("value", "sum", "min", "max", "count")

    def __init__(self) -> None:
        self.value = self.sum = self.min = self.max = 0.0
        self.count = 0


class Stat:
    """Summary statistics of ``add``-ed values over fixed windows of ``window_size``
    (a ``datetime.timedelta``, millisecond precision), logged as ``torch.monitor.Stat``
    events when a window closes. ``max_samples`` caps the values counted per window.
    """

    def __init__(self, name: str, aggregations, window_size: datetime.timedelta,
                 max_samples: int = 2 ** 63 - 1) -> None:
        if not isinstance(window_size, datetime.timedelta):
            raise TypeError("Stat(): window_size must be a datetime.timedelta, got "
                            f"{type(window_size).__name__}")
        self._name = name
        self._aggregations = frozenset(aggregations)
        self._window_ms = max(1, int(window_size / datetime.timedelta(milliseconds=1)))
        self._max_samples = int(max_samples)
        self._lock = threading.Lock()
        self._current = _Window()
        self._previous = _Window()
        self._window_id = 0
        self._last_logged_window_id = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def count(self) -> int:
        """The number of values added to the current, still open window."""
        with self._lock:
            return self._current.count

    def add(self, v: float) -> None:
        """Add ``v`` to the current window (dropped if the window was already logged)."""
        v = float(v)
        with self._lock:
            self._maybe_log()
            if self._already_logged():
                return
            window, wanted = self._current, self._aggregations
            if Aggregation.VALUE in wanted:
                window.value = v
            if Aggregation.MEAN in wanted or Aggregation.SUM in wanted:
                window.sum += v
            if Aggregation.MAX in wanted and (window.max < v or window.count == 0):
                window.max = v
            if Aggregation.MIN in wanted and (window.min > v or window.count == 0):
                window.min = v
            window.count += 1
            self._maybe_log()

    def get(self) -> dict:
        """The aggregates of the last closed window, keyed by Aggregation."""
        with self._lock:
            return self._aggregates()

    def _current_window_id(self) -> int:
        return math.floor(time.monotonic() * 1000) // self._window_ms + 1

    def _already_logged(self) -> bool:
        return self._last_logged_window_id == self._current_window_id()

    def _maybe_log(self) -> None:
        window_id = self._current_window_id()
        closing = self._window_id != window_id or self._current.count >= self._max_samples
        if closing and not self._already_logged():
            self._log()
            self._last_logged_window_id = self._window_id
            self._window_id = window_id

    def _log(self) -> None:
        self._previous, self._current = self._current, _Window()
        if self._previous.count == 0:
            return  # an empty window logs nothing
        data = {f"{self._name}.{_AGGREGATION_NAMES[agg]}": value
                for agg, value in self._aggregates().items()}
        log_event(Event(STAT_EVENT, datetime.datetime.now(), data))

    def _aggregates(self) -> dict:
        window, wanted, out = self._previous, self._aggregations, {}
        if Aggregation.VALUE in wanted:
            out[Aggregation.VALUE] = window.value
        if Aggregation.MEAN in wanted:
            out[Aggregation.MEAN] = window.sum / window.count if window.count else 0.0
        if Aggregation.COUNT in wanted:
            out[Aggregation.COUNT] = float(window.count)
        if Aggregation.SUM in wanted:
            out[Aggregation.SUM] = window.sum
        if Aggregation.MAX in wanted:
            out[Aggregation.MAX] = window.max
        if Aggregation.MIN in wanted:
            out[Aggregation.MIN] = window.min
        return out

    def __del__(self) -> None:
        try:
            with self._lock:
                self._log()
        except Exception:  # noqa: BLE001 - interpreter shutdown: nothing left to log to
            pass


class TensorboardEventHandler:
    """An event handler writing ``torch.monitor.Stat`` events to a SummaryWriter as
    scalars (one per aggregate, at the event's wall time).

    Example::

        >>> from ember.utils.tensorboard import SummaryWriter
        >>> register_event_handler(TensorboardEventHandler(SummaryWriter("log_dir")))
    """

    def __init__(self, writer) -> None:
        self._writer = writer

    def __call__(self, event: Event) -> None:
        if event.name == STAT_EVENT:
            for key, value in event.data.items():
                self._writer.add_scalar(key, value, walltime=event.timestamp.timestamp())
