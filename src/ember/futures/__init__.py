"""ember.futures (PyTorch's ``torch.futures``): a value that arrives later.

PyTorch's distributed code hands these around: ``Work.get_future()`` of an asynchronous
collective, and the DDP communication hooks, which return a ``Future`` of the bucket's
reduced gradients and chain their decompression with ``then``.

ember runs no background threads for communication, so a future that stands for a
started collective is *driven*: it carries the function that finishes its work, and
``wait()`` (or ``done()``, which polls) runs it. Futures built with ``then`` or
``collect_all`` drive the futures they depend on. A plain ``Future()`` is completed by
``set_result``/``set_exception``, from this thread or another one (``wait`` blocks on an
event until then).
"""

from __future__ import annotations

import contextlib
import threading
import traceback
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["Future", "collect_all", "wait_all"]

T = TypeVar("T")
S = TypeVar("S")

_COMPLETED_TWICE = ("Attempting to mark a completed Future as complete again. Note that a "
                    "Future can only be marked completed once.")


class Future(Generic[T]):
    """The result of an asynchronous computation, as ``torch.futures.Future``.

    Args:
        devices: accepted for compatibility (ember's futures hold values of any device).

    Example::

        >>> fut = torch.futures.Future()
        >>> doubled = fut.then(lambda f: f.value() * 2)
        >>> fut.set_result(3)
        >>> doubled.wait()
        6
    """

    def __init__(self, *, devices=None):
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._result = None
        self._error = None
        self._callbacks = []
        # Set by the code that owns the work: ``_drive()`` completes this future
        # (blocking), ``_poll()`` completes it if its work has finished.
        self._drive = None
        self._poll = None

    # -- state ---------------------------------------------------------------------------

    def done(self) -> bool:
        """Whether the future holds a value or an error (polls a started collective)."""
        if not self._event.is_set() and self._poll is not None:
            self._poll()
        return self._event.is_set()

    def wait(self) -> T:
        """Block until the future completes; return its value or raise its error."""
        if not self._event.is_set() and self._drive is not None:
            self._drive()
        self._event.wait()
        if self._error is not None:
            raise self._error
        return self._result

    def value(self) -> T:
        """The value of a completed future (raises its error)."""
        if not self.done():
            raise RuntimeError("Future.value() was called on a Future that has not been "
                               "marked completed; call wait() first")
        return self.wait()

    # -- completion ----------------------------------------------------------------------

    def set_result(self, result: T) -> None:
        """Complete the future with ``result`` and run its callbacks."""
        self._complete(result, None)

    def set_exception(self, result: BaseException) -> None:
        """Complete the future with an error that ``wait()``/``value()`` raise."""
        if not isinstance(result, BaseException):
            raise AssertionError(  # noqa: TRY004 - PyTorch's exception type
                f"{result} is of type {type(result)}, not an Exception.")
        self._complete(None, result)

    def _complete(self, result, error) -> None:
        with self._lock:
            if self._event.is_set():
                raise RuntimeError(_COMPLETED_TWICE)
            self._result, self._error = result, error
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            self._run_callback(callback)

    def _run_callback(self, callback) -> None:
        try:
            callback(self)
        except Exception:  # noqa: BLE001 - PyTorch logs a failing done-callback and goes on
            traceback.print_exc()

    # -- chaining ------------------------------------------------------------------------

    def add_done_callback(self, callback: Callable[[Future[T]], None]) -> None:
        """Run ``callback(self)`` once the future completes (now, if it has). Its
        return value is ignored; an error it raises is printed, not propagated."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        self._run_callback(callback)

    def then(self, callback: Callable[[Future[T]], S]) -> Future[S]:
        """A new future holding ``callback(self)`` once this one completes; an error the
        callback raises becomes the new future's error (a RuntimeError naming it)."""
        chained = Future()

        def run(future):
            try:
                value = callback(future)
            except Exception as error:  # noqa: BLE001 - handed to the chained future
                text = "".join(traceback.format_exception_only(type(error), error)).strip()
                trace = "".join(traceback.format_tb(error.__traceback__))
                chained.set_exception(RuntimeError(
                    f"Got the following error when running the callback: {text}\n\nAt:\n"
                    f"{trace}"))
            else:
                chained.set_result(value)

        chained._drive = self._wait_quietly
        chained._poll = self.done
        self.add_done_callback(run)
        return chained

    def _wait_quietly(self) -> None:
        """Drive the future to completion without raising its error (the futures built
        on it report the error their own way)."""
        with contextlib.suppress(Exception):
            self.wait()

    def __repr__(self) -> str:
        return f"<ember.futures.Future object at {hex(id(self))}>"

    @classmethod
    def _driven(cls, drive: Callable[[], Any], poll: Callable[[], bool]):
        """A future that ``drive()`` completes (blocking) and ``poll()`` completes when
        its work has finished; both are given the future to complete."""
        future = cls()
        future._drive = lambda: drive(future)
        future._poll = lambda: poll(future)
        return future


def collect_all(futures: list[Future]) -> Future[list[Future]]:
    """A future that completes, with the list ``futures``, once every one of them has;
    it holds the first error among them if any failed."""
    if not all(isinstance(future, Future) for future in futures):
        raise TypeError("collect_all(): incompatible function arguments: expected a list of "
                        f"ember.futures.Future, got {[type(f).__name__ for f in futures]}")
    futures = list(futures)
    combined = Future()
    remaining = [len(futures)]
    lock = threading.Lock()

    def one_done(_):
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            errors = [future._error for future in futures if future._error is not None]
            if errors:
                combined.set_exception(errors[0])
            else:
                combined.set_result(futures)

    def drive():
        for future in futures:
            future._wait_quietly()

    def poll():
        for future in futures:
            future.done()

    combined._drive, combined._poll = drive, poll
    if not futures:
        combined.set_result([])
    for future in futures:
        future.add_done_callback(one_done)
    return combined


def wait_all(futures: list[Future]) -> list:
    """Wait for every future; return their values (raises the first error)."""
    return [future.value() for future in collect_all(futures).wait()]
