"""What runs inside a DataLoader worker process, and what both sides share.

A worker seeds its random streams from the loader's base seed, then loops: take
``(task_id, indices)`` from its index queue, fetch and collate the samples, pickle the
result with big tensors placed in shared memory (``_shared``) and put it on the result
queue. An exception becomes an ``ExceptionWrapper`` carrying the formatted traceback and
the sample index, re-raised in the main process. The loop ends on ``None`` or when the
parent process disappears, so a killed trainer leaves no orphan workers behind.
"""

from __future__ import annotations

import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

import ember as _ember

from . import _shared

# How often a blocked worker or main process wakes to check that the other side lives.
POLL_INTERVAL = 0.1

_worker_info: WorkerInfo | None = None


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: this worker's ``id`` (0 to
    ``num_workers - 1``), ``num_workers``, the ``seed`` its random streams start from and
    its own copy of the ``dataset``."""

    id: int
    num_workers: int
    seed: int
    dataset: Any
    rng: Any = None
    worker_method: str | None = "multiprocessing"


def get_worker_info() -> WorkerInfo | None:
    """This worker's ``WorkerInfo`` inside a DataLoader worker process; None in the main
    process. Use it in ``IterableDataset.__iter__`` or ``worker_init_fn`` to give each
    worker its own share of the data."""
    return _worker_info


class _KeyErrorMessage(str):
    """KeyError shows ``repr`` of its argument; this keeps the traceback readable."""

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception caught in a worker, in picklable form: its type and formatted traceback."""

    def __init__(self, exc_info=None, where: str = "in background", detail: str = ""):
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where
        self.detail = detail

    def reraise(self):
        """Raise the worker's exception (same type when it can be built from a message)."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.detail:
            msg += f"\n{self.detail}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            # exception classes with a ``message`` attribute take it as a keyword
            raise self.exc_type(message=msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exception


class _IterableDatasetStopIteration:
    """A worker's note that its copy of an IterableDataset is exhausted."""

    def __init__(self, worker_id: int):
        self.worker_id = worker_id


class _ResumeIteration:
    """Sent to persistent workers when a new epoch starts, to rebuild their fetchers."""


class _Release:
    """Sent to a worker with the paths of its segments the main process has freed."""

    def __init__(self, paths):
        self.paths = paths


class _MapFetcher:
    """Fetch samples by index from a map-style dataset and collate them."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.current = None  # the index being read, named in error messages

    def fetch(self, index):
        dataset = self.dataset
        if self.auto_collation:
            getitems = getattr(dataset, "__getitems__", None)
            if getitems:
                self.current = ("batch indices", index)
                data = getitems(index)
            else:
                data = []
                for sample_index in index:
                    self.current = ("sample index", sample_index)
                    data.append(dataset[sample_index])
        else:
            self.current = ("sample index", index)
            data = dataset[index]
        self.current = None
        return self.collate_fn(data)

    def describe_failure(self, index) -> str:
        if self.current is None:
            return f"The error happened while collating the batch of indices {index}."
        kind, value = self.current
        return f"The error happened while fetching {kind} {value}."


class _IterableFetcher:
    """Pull samples from an iterable dataset's iterator (one per worker) and collate them."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset_iter = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False
        self.count = 0  # samples read so far, named in error messages

    def fetch(self, possibly_batched_index):
        if self.ended:
            raise StopIteration
        if self.auto_collation:
            data = []
            for _ in possibly_batched_index:
                try:
                    data.append(next(self.dataset_iter))
                except StopIteration:
                    self.ended = True
                    break
                self.count += 1
            if not data or (self.drop_last and len(data) < len(possibly_batched_index)):
                raise StopIteration
        else:
            data = next(self.dataset_iter)
            self.count += 1
        return self.collate_fn(data)

    def describe_failure(self, index) -> str:
        return f"The error happened after {self.count} samples of this worker's iterator."


def make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last):
    fetcher_type = _IterableFetcher if iterable else _MapFetcher
    return fetcher_type(dataset, auto_collation, collate_fn, drop_last)


def _numpy_seed(base_seed: int, worker_id: int):
    """A NumPy legacy-RNG seed mixed from the base seed and worker id (PyTorch mixes the
    same four words with a SeedSequence-style hash)."""
    words = [worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32, 0]
    return np.random.SeedSequence(words).generate_state(4)


def _send(data_queue, task_id, data) -> None:
    """Pickle here (not in the queue's feeder thread) so that an unpicklable result turns
    into an error the main process sees instead of a silently lost batch."""
    try:
        payload = _shared.dumps_batch((task_id, data))
    except Exception:
        wrapper = ExceptionWrapper(where=f"in DataLoader worker process {_worker_info.id}",
                                   detail="The batch could not be pickled for the main process.")
        try:
            pickle.dumps(wrapper.exc_type)
        except Exception:
            wrapper.exc_type = RuntimeError
        payload = _shared.dumps_batch((task_id, wrapper))
    data_queue.put(payload)


def worker_loop(iterable, dataset, index_queue, data_queue, done_event, auto_collation,
                collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers,
                segment_prefix):
    """The body of worker process ``worker_id``."""
    global _worker_info
    parent_pid = os.getppid()  # before any user code runs, so an early parent death shows
    try:
        _shared.set_segment_prefix(f"{segment_prefix}w{worker_id}_")
        seed = base_seed + worker_id
        random.seed(seed)
        _ember.manual_seed(seed)
        np.random.seed(_numpy_seed(base_seed, worker_id))
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        where = f"in DataLoader worker process {worker_id}"

        init_exception = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_exception = ExceptionWrapper(where=where)

        iteration_end = False
        while os.getppid() == parent_pid:  # the parent died: stop instead of lingering
            try:
                task = index_queue.get(timeout=POLL_INTERVAL)
            except queue.Empty:
                continue
            if isinstance(task, _Release):
                _shared.recycle(task.paths)
                continue
            if isinstance(task, _ResumeIteration):
                data_queue.put(_shared.dumps_batch((task, None)))
                iteration_end = False
                fetcher = make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
                continue
            if task is None:
                break
            if done_event.is_set() or iteration_end:
                continue  # draining: the main process no longer wants results
            task_id, index = task
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    if not iterable:
                        data = ExceptionWrapper(where=where, detail=fetcher.describe_failure(index))
                    else:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                except Exception:
                    detail = fetcher.describe_failure(index) if fetcher is not None else ""
                    data = ExceptionWrapper(where=where, detail=detail)
            _send(data_queue, task_id, data)
            del data, task, index  # free the batch before blocking on the next task
        if os.getppid() != parent_pid:  # orphaned: nobody else will remove our segments
            _shared.remove_segments(f"{segment_prefix}w{worker_id}_")
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches the whole process group; the main process reports it
    if done_event.is_set():
        data_queue.cancel_join_thread()
        data_queue.close()
