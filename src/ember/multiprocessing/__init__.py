"""``ember.multiprocessing`` (PyTorch's ``torch.multiprocessing``): Python's
``multiprocessing`` under PyTorch's name, plus ``spawn``/``start_processes`` for
launching one function per rank and the sharing-strategy switches.

Tensors cross process boundaries by pickling: a copy, unless ``share_memory_()`` (or
``model.share_memory()``) put them in shared memory first; then the receiving process maps
the same memory, so Hogwild-style training in child processes updates the parent's
parameters as in PyTorch (see ``_shared.py``)."""

from __future__ import annotations

import multiprocessing
import sys
import traceback
from multiprocessing import *  # torch.multiprocessing re-exports it all

from . import _shared

__all__ = [  # noqa: PLE0604 - multiprocessing's names are strings
    *multiprocessing.__all__, "ProcessContext", "ProcessExitedException",
    "ProcessRaisedException", "get_all_sharing_strategies", "get_sharing_strategy",
    "set_sharing_strategy", "spawn", "start_processes",
]

_sharing_strategy = ["file_descriptor"]


def get_all_sharing_strategies() -> set:
    return {"file_descriptor", "file_system"}


def get_sharing_strategy() -> str:
    return _sharing_strategy[0]


def set_sharing_strategy(new_strategy: str) -> None:
    if new_strategy not in get_all_sharing_strategies():
        raise AssertionError
    _sharing_strategy[0] = new_strategy


class ProcessException(Exception):
    def __init__(self, msg: str, error_index: int, pid: int):
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.pid = pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """A spawned process raised; the message carries its traceback."""


class ProcessExitedException(ProcessException):
    """A spawned process exited with a nonzero code without raising."""

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int,
                 signal_name: str | None = None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid, self.exit_code,
                            self.signal_name)


def _wrap(fn, i, args, error_queue):
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass
    except Exception:  # noqa: BLE001 - handed to the parent, which raises it
        error_queue.put(traceback.format_exc())
        sys.exit(1)


class ProcessContext:
    """The processes started by ``start_processes``; ``join()`` waits for them and
    raises the first failure as PyTorch does."""

    def __init__(self, processes, error_queues):
        self.processes = processes
        self.error_queues = error_queues

    def pids(self):
        return [int(process.pid) for process in self.processes]

    def join(self, timeout=None) -> bool:
        """True when every process has finished successfully."""
        for process in self.processes:
            process.join(timeout)
        for index, (process, queue) in enumerate(zip(self.processes, self.error_queues)):
            if process.exitcode is None:
                return False
            if process.exitcode != 0:
                for other in self.processes:
                    if other.is_alive():
                        other.terminate()
                if not queue.empty():
                    original_trace = queue.get()
                    msg = f"\n\n-- Process {index} terminated with the following error:\n"
                    raise ProcessRaisedException(msg + original_trace, index, process.pid)
                raise ProcessExitedException(
                    f"process {index} terminated with exit code {process.exitcode}",
                    error_index=index, error_pid=process.pid, exit_code=process.exitcode)
        return True


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Run ``fn(i, *args)`` in ``nprocs`` processes (i = 0 .. nprocs-1)."""
    context = multiprocessing.get_context(start_method)
    error_queues, processes = [], []
    for i in range(nprocs):
        error_queue = context.SimpleQueue()
        process = context.Process(target=_wrap, args=(fn, i, args, error_queue), daemon=daemon)
        process.start()
        error_queues.append(error_queue)
        processes.append(process)
    process_context = ProcessContext(processes, error_queues)
    if not join:
        return process_context
    while not process_context.join():
        pass
    return None


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """``start_processes`` with the ``spawn`` start method (PyTorch's
    ``torch.multiprocessing.spawn``)."""
    return start_processes(fn, args, nprocs, join, daemon, start_method)


_shared.install()
